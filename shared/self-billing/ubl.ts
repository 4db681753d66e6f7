/**
 * The self-billed document as EN 16931 UBL 2.1, written with xmlbuilder2: an `Invoice` with
 * InvoiceTypeCode 389 (self-billed invoice) or a `CreditNote` with CreditNoteTypeCode 261
 * (self-billed credit note) referencing its invoice. Element order follows the UBL 2.1 XSDs (the
 * tests validate against them); amounts carry the currency's exponent.
 *
 * Clawbacks are lines of quantity -1 at a positive price (EN 16931 BR-27: no negative prices).
 */
import { SaxesParser } from 'saxes';
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { formatMinor, parseDecimal } from '../domain/money.ts';
import { formatRate, type Party, type SelfBilledDocument } from './model.ts';

const NS = {
  Invoice: 'urn:oasis:names:specification:ubl:schema:xsd:Invoice-2',
  CreditNote: 'urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2',
  cac: 'urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2',
  cbc: 'urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2',
};

export const CUSTOMIZATION_ID = 'urn:cen.eu:en16931:2017';
export const INVOICE_TYPE_CODE = '389';
export const CREDIT_NOTE_TYPE_CODE = '261';

function party(parent: XMLBuilder, element: string, who: Party): void {
  const p = parent.ele(NS.cac, element).ele(NS.cac, 'Party');
  p.ele(NS.cac, 'PartyName').ele(NS.cbc, 'Name').txt(who.name);
  const address = p.ele(NS.cac, 'PostalAddress');
  address.ele(NS.cbc, 'StreetName').txt(who.address.line1);
  if (who.address.line2) address.ele(NS.cbc, 'AdditionalStreetName').txt(who.address.line2);
  address.ele(NS.cbc, 'CityName').txt(who.address.city);
  if (who.address.postalCode) address.ele(NS.cbc, 'PostalZone').txt(who.address.postalCode);
  if (who.address.region) address.ele(NS.cbc, 'CountrySubentity').txt(who.address.region);
  address.ele(NS.cac, 'Country').ele(NS.cbc, 'IdentificationCode').txt(who.address.country);
  if (who.vatId) {
    const scheme = p.ele(NS.cac, 'PartyTaxScheme');
    scheme.ele(NS.cbc, 'CompanyID').txt(who.vatId);
    scheme.ele(NS.cac, 'TaxScheme').ele(NS.cbc, 'ID').txt('VAT');
  }
  // BT-32, the seller tax registration identifier: a PartyTaxScheme whose scheme is not VAT ("FC",
  // as XRechnung writes a Steuernummer). With an exempt supplier without a VAT id it is what
  // BR-E-02 requires.
  if (who.taxRegistrationId) {
    const scheme = p.ele(NS.cac, 'PartyTaxScheme');
    scheme.ele(NS.cbc, 'CompanyID').txt(who.taxRegistrationId);
    scheme.ele(NS.cac, 'TaxScheme').ele(NS.cbc, 'ID').txt('FC');
  }
  p.ele(NS.cac, 'PartyLegalEntity').ele(NS.cbc, 'RegistrationName').txt(who.name);
}

/** The UBL XML of a document (not of a preview: a preview has no number). */
export function renderUbl(doc: SelfBilledDocument): string {
  if (doc.number === null) throw new Error('A preview has no UBL document');
  const credit = doc.type === 'credit_note';
  const root = credit ? 'CreditNote' : 'Invoice';
  const amount = (parent: XMLBuilder, name: string, value: number) =>
    parent.ele(NS.cbc, name, { currencyID: doc.currency }).txt(formatMinor(value, doc.currency));

  const xml = create({ version: '1.0', encoding: 'UTF-8' }).ele(NS[root], root, {
    'xmlns:cac': NS.cac,
    'xmlns:cbc': NS.cbc,
  });
  xml.ele(NS.cbc, 'UBLVersionID').txt('2.1');
  xml.ele(NS.cbc, 'CustomizationID').txt(CUSTOMIZATION_ID);
  xml.ele(NS.cbc, 'ID').txt(doc.number);
  xml.ele(NS.cbc, 'IssueDate').txt(doc.issueDate);
  xml
    .ele(NS.cbc, credit ? 'CreditNoteTypeCode' : 'InvoiceTypeCode')
    .txt(credit ? CREDIT_NOTE_TYPE_CODE : INVOICE_TYPE_CODE);
  for (const note of doc.notes) xml.ele(NS.cbc, 'Note').txt(note);
  xml.ele(NS.cbc, 'DocumentCurrencyCode').txt(doc.currency);
  xml.ele(NS.cbc, 'BuyerReference').txt(doc.payoutId);
  const period = xml.ele(NS.cac, 'InvoicePeriod');
  period.ele(NS.cbc, 'StartDate').txt(doc.period.start);
  period.ele(NS.cbc, 'EndDate').txt(doc.period.end);
  if (doc.invoiceReference) {
    const reference = xml.ele(NS.cac, 'BillingReference').ele(NS.cac, 'InvoiceDocumentReference');
    reference.ele(NS.cbc, 'ID').txt(doc.invoiceReference.number);
    reference.ele(NS.cbc, 'IssueDate').txt(doc.invoiceReference.issueDate);
  }
  party(xml, 'AccountingSupplierParty', doc.supplier);
  party(xml, 'AccountingCustomerParty', doc.customer);

  const taxTotal = xml.ele(NS.cac, 'TaxTotal');
  amount(taxTotal, 'TaxAmount', doc.vat);
  for (const tax of doc.taxes) {
    const subtotal = taxTotal.ele(NS.cac, 'TaxSubtotal');
    amount(subtotal, 'TaxableAmount', tax.taxableAmount);
    amount(subtotal, 'TaxAmount', tax.taxAmount);
    const category = subtotal.ele(NS.cac, 'TaxCategory');
    category.ele(NS.cbc, 'ID').txt(tax.category);
    if (tax.category !== 'O') category.ele(NS.cbc, 'Percent').txt(formatRate(tax.rateBps));
    if (tax.exemptionReasonCode) category.ele(NS.cbc, 'TaxExemptionReasonCode').txt(tax.exemptionReasonCode);
    if (tax.exemptionReason) category.ele(NS.cbc, 'TaxExemptionReason').txt(tax.exemptionReason);
    category.ele(NS.cac, 'TaxScheme').ele(NS.cbc, 'ID').txt('VAT');
  }

  const totals = xml.ele(NS.cac, 'LegalMonetaryTotal');
  amount(totals, 'LineExtensionAmount', doc.net);
  amount(totals, 'TaxExclusiveAmount', doc.net);
  amount(totals, 'TaxInclusiveAmount', doc.gross);
  amount(totals, 'PayableAmount', doc.gross);

  const tax = doc.taxes[0];
  for (const line of doc.lines) {
    const l = xml.ele(NS.cac, credit ? 'CreditNoteLine' : 'InvoiceLine');
    l.ele(NS.cbc, 'ID').txt(String(line.position));
    l.ele(NS.cbc, credit ? 'CreditedQuantity' : 'InvoicedQuantity', { unitCode: 'C62' }).txt(
      line.amount < 0 ? '-1' : '1',
    );
    amount(l, 'LineExtensionAmount', line.amount);
    const linePeriod = l.ele(NS.cac, 'InvoicePeriod');
    linePeriod.ele(NS.cbc, 'StartDate').txt(line.date);
    linePeriod.ele(NS.cbc, 'EndDate').txt(line.date);
    const item = l.ele(NS.cac, 'Item');
    item.ele(NS.cbc, 'Description').txt(line.description);
    item.ele(NS.cbc, 'Name').txt(line.description.slice(0, 100));
    item.ele(NS.cac, 'SellersItemIdentification').ele(NS.cbc, 'ID').txt(line.rewardId);
    if (tax) {
      const category = item.ele(NS.cac, 'ClassifiedTaxCategory');
      category.ele(NS.cbc, 'ID').txt(tax.category);
      if (tax.category !== 'O') category.ele(NS.cbc, 'Percent').txt(formatRate(tax.rateBps));
      category.ele(NS.cac, 'TaxScheme').ele(NS.cbc, 'ID').txt('VAT');
    }
    amount(l.ele(NS.cac, 'Price'), 'PriceAmount', Math.abs(line.amount));
  }
  return xml.end({ prettyPrint: true });
}

export interface InvoicedLine {
  rewardId: string;
  description: string;
  /** YYYY-MM-DD */
  date: string;
  /** Minor units; a clawback is negative. */
  amount: number;
}

/**
 * What an issued invoice says, read back from its stored UBL (with saxes): its issue date and lines.
 * A credit note credits the invoice as issued (the payout's rewards are released by then), so the
 * stored XML is the record it is made from.
 */
export function readUblInvoice(xml: string): { issueDate: string; currency: string; lines: InvoicedLine[] } {
  const parser = new SaxesParser({ xmlns: true });
  const path: string[] = [];
  let text = '';
  let issueDate = '';
  let currency = '';
  const lines: InvoicedLine[] = [];
  let line: Partial<InvoicedLine> & { amountText?: string } = {};
  const amounts: string[] = [];
  parser.on('opentag', (tag) => {
    path.push(tag.local);
    text = '';
    if (path.length === 2 && tag.local === 'InvoiceLine') line = {};
  });
  parser.on('text', (value) => {
    text += value;
  });
  parser.on('closetag', () => {
    const at = path.join('/');
    if (at === 'Invoice/IssueDate') issueDate = text;
    else if (at === 'Invoice/DocumentCurrencyCode') currency = text;
    else if (at === 'Invoice/InvoiceLine/LineExtensionAmount') line.amountText = text;
    else if (at === 'Invoice/InvoiceLine/InvoicePeriod/StartDate') line.date = text;
    else if (at === 'Invoice/InvoiceLine/Item/Description') line.description = text;
    else if (at === 'Invoice/InvoiceLine/Item/SellersItemIdentification/ID') line.rewardId = text;
    else if (at === 'Invoice/InvoiceLine') {
      if (line.amountText === undefined || !line.date || line.description === undefined || !line.rewardId)
        throw new Error('An invoice line of the stored UBL is incomplete');
      amounts.push(line.amountText);
      lines.push({ rewardId: line.rewardId, description: line.description, date: line.date, amount: 0 });
    }
    path.pop();
    text = '';
  });
  parser.write(xml).close();
  if (!issueDate || !currency) throw new Error('The stored UBL is not an invoice');
  for (const [i, amount] of amounts.entries())
    (lines[i] as InvoicedLine).amount = parseDecimal(amount, currency);
  return { issueDate, currency, lines };
}
