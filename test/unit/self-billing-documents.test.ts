/**
 * Self-billed documents: the model (lines, period, VAT per regime, exponents), the PDF read back
 * with poppler's pdftotext field by field, and the UBL 2.1 validated against the OASIS XSDs and
 * checked against the EN 16931 totals rules BR-CO-10 … BR-CO-16 (no maintained EN 16931 runner is
 * on npm: the CEN Schematron is XSLT 2.0, which needs Saxon).
 */
import { describe, expect, it } from 'vitest';
import { currencyExponent, formatMinor } from '../../shared/domain/money.ts';
import {
  buildDocument,
  type DocumentInput,
  defaultSeriesPrefix,
  formatDocumentNumber,
  formatRate,
  localTitle,
  percentOfMinor,
  REVERSE_CHARGE_NOTE,
  type SelfBilledDocument,
  SelfBillingInputError,
} from '../../shared/self-billing/model.ts';
import { renderPdf } from '../../shared/self-billing/pdf.ts';
import { readUblInvoice, renderUbl } from '../../shared/self-billing/ubl.ts';
import {
  all,
  embeddedGlyphs,
  one,
  parseXml,
  pdfFonts,
  pdfText,
  sampleInput,
  validateUbl,
  type XmlNode,
} from '../support/self-billing.ts';

const NAMES = ['Müller', 'Søren', 'Łukasz', 'Zoë', 'Ñuñez', 'Παπαδόπουλος', 'Иванов'];

function withBilling(billing: DocumentInput['partner']['billing'], extra: Partial<DocumentInput> = {}) {
  const input = sampleInput(extra);
  return { ...input, partner: { ...input.partner, billing } };
}

describe('VAT arithmetic', () => {
  it.each([
    [30000, 1900, 5700],
    [1, 1900, 0], // 0.19 → 0
    [3, 1900, 1], // 0.57 → 1
    [1, 5000, 1], // 0.5 → 1 (half-up)
    [-1, 5000, -1], // half away from zero
    [12345, 2000, 2469],
    [999_999_999_999, 2500, 250_000_000_000], // exact beyond float precision of the product
    [105, 1000, 11], // 10.5 → 11
    [104, 1000, 10],
  ])('%i × %i bps = %i', (net, bps, vat) => {
    expect(percentOfMinor(net, bps)).toBe(vat);
  });

  it.each([
    [1900, '19'],
    [550, '5.5'],
    [2050, '20.5'],
    [5, '0.05'],
    [0, '0'],
  ])('rate %i bps prints %s', (bps, text) => {
    expect(formatRate(bps)).toBe(text);
  });
});

describe('the document model', () => {
  it('orders lines by date, keeps clawbacks negative and derives the supply period', () => {
    const doc = buildDocument(sampleInput());
    expect(doc.lines.map((l) => [l.position, l.date, l.amount])).toEqual([
      [1, '2026-10-02', 12500],
      [2, '2026-10-15', 20000],
      [3, '2026-10-30', -2500],
    ]);
    expect(doc.period).toEqual({ start: '2026-10-02', end: '2026-10-30' });
    expect([doc.net, doc.vat, doc.gross]).toEqual([30000, 0, 30000]);
    expect(doc.localTitle).toBe('Gutschrift');
    expect(doc.notes).toContain(REVERSE_CHARGE_NOTE);
  });

  it('computes VAT once on the net total, not per line', () => {
    // Three lines of 0.05 at 19 %: per line 0.0095 → 0.01 each (0.03), on the total 0.15 × 19 % = 0.0285 → 0.03.
    // Lines of 0.03: per line 0.0057 → 0.01 each (0.03); on the total 0.09 × 19 % = 0.0171 → 0.02.
    const input = withBilling(
      { legalName: 'Zoë Ñuñez', vatId: 'DE123456789', taxRegime: 'vat', vatRateBps: 1900 },
      {
        payout: { id: 'po_01JD8X4ZC0M3N6QF9KQ2XW7T5B', currency: 'EUR', amount: 9 },
        rewards: [1, 2, 3].map((i) => ({
          id: `rw_${i}`,
          amount: 3,
          createdAt: `2026-10-0${i}T00:00:00.000Z`,
        })),
      },
    );
    const doc = buildDocument(input);
    expect(doc.taxes).toEqual([{ category: 'S', rateBps: 1900, taxableAmount: 9, taxAmount: 2 }]);
    expect(doc.gross).toBe(11);
  });

  it('refuses parts that do not add up to the payout, and incomplete regimes', () => {
    const input = sampleInput();
    expect(() => buildDocument({ ...input, payout: { ...input.payout, amount: 30001 } })).toThrow(
      SelfBillingInputError,
    );
    expect(() => buildDocument(withBilling({ legalName: 'X', taxRegime: 'vat' }))).toThrow(/vatRateBps/);
    expect(() => buildDocument(withBilling({ legalName: 'X', taxRegime: 'exempt' }))).toThrow(
      /exemptionNote/,
    );
    expect(() =>
      buildDocument(withBilling({ legalName: 'X', taxRegime: 'exempt', exemptionNote: 'Art. 132' })),
    ).toThrow(/BR-E-02/);
    expect(() => buildDocument({ ...input, rewards: [] })).toThrow(SelfBillingInputError);
    expect(() => buildDocument({ ...input, type: 'credit_note' })).toThrow(/references its invoice/);
  });

  it('prints the title in the partner country language', () => {
    expect(localTitle('FR', 'invoice')).toBe('Autofacturation');
    expect(localTitle('ES', 'invoice')).toBe('Autofacturación');
    expect(localTitle('IT', 'invoice')).toBe('Autofatturazione');
    expect(localTitle('AT', 'invoice')).toBe('Gutschrift');
    expect(localTitle('US', 'invoice')).toBeUndefined();
  });

  it('numbers documents {prefix}-{YYYY}-{seq:05} with a default prefix from the partner id', () => {
    expect(formatDocumentNumber('SB', 2026, 7)).toBe('SB-2026-00007');
    expect(formatDocumentNumber('ACME', 2027, 123456)).toBe('ACME-2027-123456');
    expect(defaultSeriesPrefix('pt_01JD8X4ZC0M3N6QF9KQ2XW7T9z')).toBe('SBXW7T9Z');
  });
});

// ---------------------------------------------------------------- PDF

/** The value printed after a label on the same line. */
function field(lines: string[], label: string): string | undefined {
  const line = lines.find((l) => l.trimStart().startsWith(`${label} `));
  return line?.trimStart().slice(label.length).trim();
}

describe('the PDF', () => {
  it('says everything the invoice must, in Latin, Greek and Cyrillic, with the font embedded', async () => {
    const input = withBilling({
      legalName: 'Müller Søren Łukasz GmbH',
      vatId: 'DE123456789',
      taxRegime: 'vat',
      vatRateBps: 1900,
    });
    const doc = buildDocument(input);
    const pdf = await renderPdf(doc);
    const lines = pdfText(pdf);
    const text = lines.join('\n');

    expect(lines[0]?.trim()).toBe('Self-billing invoice · Gutschrift');
    expect(field(lines, 'Number')).toBe('SBF9KQ2X-2026-00001');
    expect(field(lines, 'Issue date')).toBe('2026-11-29');
    expect(field(lines, 'Supply period')).toBe('2026-10-02 to 2026-10-30');
    expect(field(lines, 'Payout')).toBe(input.payout.id);
    expect(field(lines, 'Currency')).toBe('EUR');
    // Supplier (the partner) on the left, customer (the company) on the right.
    const header = lines.findIndex((l) => l.includes('SUPPLIER'));
    const [supplierName, companyName] = (lines[header + 1] ?? '').trim().split(/\s{2,}/);
    expect([supplierName, companyName]).toEqual(['Müller Søren Łukasz GmbH', 'Acme Partner Programs B.V.']);
    expect((lines[header + 2] ?? '').trim().split(/\s{2,}/)).toEqual(['Hauptstraße 5', 'Keizersgracht 1']);
    expect((lines[header + 3] ?? '').trim().split(/\s{2,}/)).toEqual(['80331 München', '1015 CJ Amsterdam']);
    expect((lines[header + 5] ?? '').trim().split(/\s{2,}/)).toEqual([
      'VAT ID: DE123456789',
      'VAT ID: NL123456789B01',
    ]);
    // One line per reward: position, description, date, amount.
    const rows = lines.filter((l) => /^\d+\s{2,}/.test(l)).map((l) => l.trim().split(/\s{2,}/));
    expect(rows).toEqual(
      doc.lines.map((l) => [String(l.position), l.description, l.date, formatMinor(l.amount, 'EUR')]),
    );
    for (const name of NAMES) expect(text).toContain(name);
    expect(field(lines, 'Net total')).toBe('300.00');
    expect(field(lines, 'VAT 19% on 300.00')).toBe('57.00');
    expect(field(lines, 'Total due')).toBe('EUR 357.00');
    expect(text).toContain('Self-billing: issued by the customer');
    expect(text).not.toContain('Reverse charge');

    // Every embedded glyph has its outline but the space: the names print, not only extract.
    // One face (DejaVu Sans): bold is drawn filled and outlined, not embedded as a second font.
    const glyphs = await embeddedGlyphs(pdf);
    expect(glyphs).toHaveLength(1);
    for (const font of glyphs) {
      expect(font.glyphs).toBeGreaterThan(20);
      expect(font.broken).toBe(0);
      expect(font.empty).toBeLessThanOrEqual(1); // the space
    }

    const fonts = pdfFonts(pdf);
    expect(fonts.length).toBeGreaterThan(0);
    for (const font of fonts) {
      expect(font).toMatchObject({ embedded: true, unicode: true });
      expect(font.name).toMatch(/DejaVuSans/);
    }
  });

  it('carries the reverse-charge mention, or the exemption note', async () => {
    const reverse = pdfText(await renderPdf(buildDocument(sampleInput())))
      .join(' ')
      .replace(/\s+/g, ' ');
    expect(reverse).toContain(REVERSE_CHARGE_NOTE);
    expect(reverse).toContain('VAT 0% (reverse charge) on 300.00 0.00');

    const note = 'Steuerfrei nach § 4 Nr. 8 UStG';
    const exempt = buildDocument(
      withBilling({
        legalName: 'Zoë Ñuñez',
        taxRegime: 'exempt',
        exemptionNote: note,
        taxRegistrationId: '143/123/45678',
      }),
    );
    const text = pdfText(await renderPdf(exempt))
      .join(' ')
      .replace(/\s+/g, ' ');
    expect(text).toContain(note);
    expect(text).not.toContain('Reverse charge');
    expect(text).not.toContain('VAT ID: DE'); // the partner has none
    expect(text).toContain('Tax number: 143/123/45678'); // BR-E-02 instead
    expect(text).toContain('Total due EUR 300.00');
  });

  it('marks a preview, without a number', async () => {
    const doc = buildDocument(sampleInput({ number: null }));
    expect(doc.preview).toBe(true);
    const lines = pdfText(await renderPdf(doc));
    expect(lines.join('\n')).toContain('PREVIEW — not an invoice');
    expect(field(lines, 'Number')).toBe('(assigned on validation)');
    expect(lines.join('\n')).not.toMatch(/SB[A-Z0-9]*-\d{4}-\d{5}/);
    expect(() => renderUbl(doc)).toThrow(/preview/);
  });

  it('prints amounts with the currency exponent (JPY 0, BHD 3)', async () => {
    for (const [currency, amounts, total] of [
      ['JPY', [125000, -5000], 'JPY 120000'],
      ['BHD', [12345, 5], 'BHD 12.350'],
    ] as const) {
      const input = sampleInput({
        payout: { id: 'po_01JD8X4ZC0M3N6QF9KQ2XW7T5B', currency, amount: amounts[0] + amounts[1] },
        rewards: amounts.map((amount, i) => ({
          id: `rw_${i}`,
          amount,
          createdAt: `2026-10-1${i}T00:00:00.000Z`,
        })),
      });
      const doc = buildDocument(input);
      const lines = pdfText(await renderPdf(doc));
      expect(field(lines, 'Total due')).toBe(total);
      // Every line's amount and the net total with the currency's decimals.
      const rows = lines
        .filter((l) => /^\d+\s{2,}/.test(l))
        .map((l) =>
          l
            .trim()
            .split(/\s{2,}/)
            .at(-1),
        );
      expect(rows).toEqual(doc.lines.map((l) => formatMinor(l.amount, currency)));
      expect(rows).toEqual(currency === 'JPY' ? ['125000', '-5000'] : ['12.345', '0.005']);
      expect(field(lines, 'Net total')).toBe(currency === 'JPY' ? '120000' : '12.350');
      expect(lines.some((l) => l.includes(`Amount (${currency})`))).toBe(true);
    }
  });

  it('continues long documents on further pages, every line printed', async () => {
    const rewards = Array.from({ length: 120 }, (_, i) => ({
      id: `rw_${String(i).padStart(3, '0')}`,
      amount: 100 + i,
      description: `Commission for order ${i} — a long description that has to wrap over more than one line of the table`,
      createdAt: `2026-10-${String(1 + (i % 28)).padStart(2, '0')}T00:00:00.000Z`,
    }));
    const amount = rewards.reduce((sum, r) => sum + r.amount, 0);
    const doc = buildDocument(sampleInput({ rewards, payout: { id: 'po_x', currency: 'EUR', amount } }));
    const lines = pdfText(await renderPdf(doc));
    const pages = lines.filter((l) => /page \d+ of \d+/.test(l));
    expect(pages.length).toBeGreaterThan(2);
    const rows = lines.filter((l) => /^\d+\s{2,}/.test(l));
    expect(rows).toHaveLength(120);
    expect(field(lines, 'Net total')).toBe(formatMinor(amount, 'EUR'));
  });
});

// ---------------------------------------------------------------- UBL

const amountOf = (node: XmlNode) => node.text;

/** EN 16931 BR-CO-10 … BR-CO-16 on a UBL document, in minor units of its currency. */
function checkTotals(root: XmlNode, doc: SelfBilledDocument): void {
  const minor = (node: XmlNode) => {
    expect(node.attributes.currencyID).toBe(doc.currency);
    const [units = '', fraction = ''] = node.text.replace('-', '').split('.');
    expect(fraction.length).toBe(doc.exponent);
    return (node.text.startsWith('-') ? -1 : 1) * Number(units + fraction);
  };
  const lineName = root.name === 'Invoice' ? 'InvoiceLine' : 'CreditNoteLine';
  const lines = all(root, lineName, 'LineExtensionAmount').map(minor);
  const total = (name: string) => all(root, 'LegalMonetaryTotal', name).map(minor);
  const [lineExtension = NaN] = total('LineExtensionAmount');
  const allowances = total('AllowanceTotalAmount')[0] ?? 0;
  const charges = total('ChargeTotalAmount')[0] ?? 0;
  const [taxExclusive = NaN] = total('TaxExclusiveAmount');
  const [taxInclusive = NaN] = total('TaxInclusiveAmount');
  const prepaid = total('PrepaidAmount')[0] ?? 0;
  const rounding = total('PayableRoundingAmount')[0] ?? 0;
  const [payable = NaN] = total('PayableAmount');
  const documentAllowances = all(root, 'AllowanceCharge').filter(
    (n) => one(n, 'ChargeIndicator').text === 'false',
  );
  const documentCharges = all(root, 'AllowanceCharge').filter(
    (n) => one(n, 'ChargeIndicator').text === 'true',
  );
  const taxTotals = all(root, 'TaxTotal');
  const vat = minor(one(root, 'TaxTotal', 'TaxAmount'));
  const subtotalVat = all(root, 'TaxTotal', 'TaxSubtotal', 'TaxAmount').map(minor);

  // BR-CO-10: sum of line net amounts = LineExtensionAmount.
  expect(lines.reduce((a, b) => a + b, 0)).toBe(lineExtension);
  // BR-CO-11 / 12: document allowances / charges sum to their totals (none here).
  expect(documentAllowances.map((n) => minor(one(n, 'Amount'))).reduce((a, b) => a + b, 0)).toBe(allowances);
  expect(documentCharges.map((n) => minor(one(n, 'Amount'))).reduce((a, b) => a + b, 0)).toBe(charges);
  // BR-CO-13: TaxExclusive = LineExtension − allowances + charges.
  expect(taxExclusive).toBe(lineExtension - allowances + charges);
  // BR-CO-14: the VAT total = sum of the breakdown's VAT amounts.
  expect(taxTotals).toHaveLength(1);
  expect(subtotalVat.reduce((a, b) => a + b, 0)).toBe(vat);
  // BR-CO-15: TaxInclusive = TaxExclusive + VAT.
  expect(taxInclusive).toBe(taxExclusive + vat);
  // BR-CO-16: Payable = TaxInclusive − prepaid + rounding.
  expect(payable).toBe(taxInclusive - prepaid + rounding);
  // And the payout's own figures.
  expect([lineExtension, vat, payable]).toEqual([doc.net, doc.vat, doc.gross]);
}

describe('the UBL 2.1 XML', () => {
  const cases: Array<[string, DocumentInput]> = [
    ['reverse charge, EUR', sampleInput()],
    [
      'VAT 19 %, EUR',
      withBilling({
        legalName: 'Müller Søren Łukasz GmbH',
        vatId: 'DE123456789',
        taxRegime: 'vat',
        vatRateBps: 1900,
      }),
    ],
    [
      'exempt, no VAT id (a tax registration id, BR-E-02)',
      withBilling({
        legalName: 'Zoë Ñuñez',
        taxRegime: 'exempt',
        exemptionNote: 'Exento art. 20 Ley 37/1992',
        taxRegistrationId: '143/123/45678',
      }),
    ],
    [
      'outside the scope of VAT',
      withBilling({ legalName: 'Иванов ИП', vatId: 'X', taxRegime: 'outside_scope' }),
    ],
    [
      'JPY (exponent 0), VAT 10 %',
      withBilling(
        { legalName: 'Παπαδόπουλος', vatId: 'EL123456789', taxRegime: 'vat', vatRateBps: 1000 },
        {
          payout: { id: 'po_jpy', currency: 'JPY', amount: 12345 },
          rewards: [{ id: 'rw_jpy', amount: 12345, createdAt: '2026-10-01T00:00:00.000Z' }],
        },
      ),
    ],
    [
      'BHD (exponent 3), VAT 10 %',
      withBilling(
        { legalName: 'Søren', vatId: 'DK12345678', taxRegime: 'vat', vatRateBps: 1000 },
        {
          payout: { id: 'po_bhd', currency: 'BHD', amount: 12345 },
          rewards: [
            { id: 'rw_b1', amount: 12500, createdAt: '2026-10-01T00:00:00.000Z' },
            { id: 'rw_b2', amount: -155, createdAt: '2026-10-02T00:00:00.000Z' },
          ],
        },
      ),
    ],
  ];

  it.each(cases)(
    '%s: a valid self-billed Invoice (389) whose totals follow BR-CO-10…16',
    async (_, input) => {
      const doc = buildDocument(input);
      const xml = renderUbl(doc);
      const result = await validateUbl(xml, 'Invoice');
      expect(result.errors).toEqual([]);
      expect(result.valid).toBe(true);
      const root = parseXml(xml);
      expect(root.name).toBe('Invoice');
      expect(one(root, 'InvoiceTypeCode').text).toBe('389');
      expect(one(root, 'CustomizationID').text).toBe('urn:cen.eu:en16931:2017');
      expect(one(root, 'ID').text).toBe(input.number);
      expect(one(root, 'DocumentCurrencyCode').text).toBe(input.payout.currency);
      expect(one(root, 'InvoicePeriod', 'StartDate').text).toBe(doc.period.start);
      expect(one(root, 'InvoicePeriod', 'EndDate').text).toBe(doc.period.end);
      expect(one(root, 'AccountingSupplierParty', 'Party', 'PartyLegalEntity', 'RegistrationName').text).toBe(
        input.partner.billing.legalName,
      );
      expect(one(root, 'AccountingCustomerParty', 'Party', 'PartyLegalEntity', 'RegistrationName').text).toBe(
        input.company.name,
      );
      checkTotals(root, doc);
      // Every amount in the currency's exponent (JPY 0 decimals, BHD 3, EUR 2), its currencyID set.
      const exponent = currencyExponent(input.payout.currency);
      const amounts: XmlNode[] = [];
      const walk = (node: XmlNode) => {
        if (node.attributes.currencyID !== undefined) amounts.push(node);
        node.children.forEach(walk);
      };
      walk(root);
      expect(amounts.length).toBeGreaterThan(8);
      for (const node of amounts) {
        expect(node.attributes.currencyID).toBe(input.payout.currency);
        expect(node.text).toMatch(exponent === 0 ? /^-?\d+$/ : new RegExp(`^-?\\d+\\.\\d{${exponent}}$`));
      }
      expect(amountOf(one(root, 'LegalMonetaryTotal', 'LineExtensionAmount'))).toBe(
        formatMinor(input.payout.amount, input.payout.currency),
      );
      // The VAT category of each regime, with its mandatory reason where EN 16931 wants one.
      const category = one(root, 'TaxTotal', 'TaxSubtotal', 'TaxCategory');
      const regime = input.partner.billing.taxRegime;
      expect(one(category, 'ID').text).toBe(
        { vat: 'S', reverse_charge: 'AE', exempt: 'E', outside_scope: 'O' }[regime],
      );
      if (regime !== 'vat') expect(one(category, 'TaxExemptionReason').text).not.toBe('');
      // BR-AE-02 / BR-S-02: both VAT ids; BR-O-02: none.
      const vatIds = all(root, 'AccountingSupplierParty', 'Party', 'PartyTaxScheme', 'CompanyID').concat(
        all(root, 'AccountingCustomerParty', 'Party', 'PartyTaxScheme', 'CompanyID'),
      );
      if (regime === 'reverse_charge' || regime === 'vat') expect(vatIds).toHaveLength(2);
      if (regime === 'outside_scope') expect(vatIds).toHaveLength(0);
      // BR-E-02 (as the CEN schematron tests it): an exempt invoice has the seller's VAT id (a
      // PartyTaxScheme of scheme VAT) or their tax registration id (of another scheme).
      if (regime === 'exempt') {
        const schemes = all(root, 'AccountingSupplierParty', 'Party', 'PartyTaxScheme');
        expect(schemes.length).toBeGreaterThan(0);
        const billing = input.partner.billing;
        const byScheme = Object.fromEntries(
          schemes.map((s) => [one(s, 'TaxScheme', 'ID').text, one(s, 'CompanyID').text]),
        );
        if (billing.vatId) expect(byScheme.VAT).toBe(billing.vatId);
        if (billing.taxRegistrationId) expect(byScheme.FC).toBe(billing.taxRegistrationId);
      }
      // Clawbacks: quantity −1 at a positive price (BR-27).
      for (const line of all(root, 'InvoiceLine')) {
        const amount = one(line, 'LineExtensionAmount').text;
        expect(one(line, 'InvoicedQuantity').text).toBe(amount.startsWith('-') ? '-1' : '1');
        expect(one(line, 'Price', 'PriceAmount').text).toBe(amount.replace('-', ''));
      }
    },
  );

  it('a credit note is a valid CreditNote (261) referencing the invoice, with the same totals', async () => {
    const input = sampleInput({
      type: 'credit_note',
      number: 'SBF9KQ2X-2026-00002',
      issueDate: '2026-12-03',
      invoiceReference: { number: 'SBF9KQ2X-2026-00001', issueDate: '2026-11-29' },
    });
    const doc = buildDocument(input);
    const xml = renderUbl(doc);
    const result = await validateUbl(xml, 'CreditNote');
    expect(result.errors).toEqual([]);
    const root = parseXml(xml);
    expect(root.name).toBe('CreditNote');
    expect(one(root, 'CreditNoteTypeCode').text).toBe('261');
    expect(one(root, 'BillingReference', 'InvoiceDocumentReference', 'ID').text).toBe('SBF9KQ2X-2026-00001');
    checkTotals(root, doc);
    expect(all(root, 'CreditNoteLine')).toHaveLength(3);

    const lines = pdfText(await renderPdf(doc));
    expect(lines[0]?.trim()).toBe('Self-billing credit note · Storno der Gutschrift');
    expect(field(lines, 'Credited invoice')).toBe('SBF9KQ2X-2026-00001 of 2026-11-29');
    expect(field(lines, 'Total credited')).toBe('EUR 300.00');
  });

  it('an issued invoice reads back from its XML as issued (what its credit note credits), in any exponent', () => {
    for (const currency of ['EUR', 'JPY', 'BHD']) {
      const input = sampleInput({
        payout: { id: 'po_x', currency, amount: 12345 + 20000 - 2500 },
        rewards: [
          { id: 'rw_1', amount: 12345, description: 'A & B <Müller>', createdAt: '2026-10-02T10:00:00.000Z' },
          {
            id: 'rw_2',
            amount: 20000,
            description: 'Παπαδόπουλος / Иванов',
            createdAt: '2026-10-15T00:00:00Z',
          },
          { id: 'rw_3', amount: -2500, description: 'Clawback', createdAt: '2026-10-30T16:45:00.000Z' },
        ],
      });
      const doc = buildDocument(input);
      const read = readUblInvoice(renderUbl(doc));
      expect(read.issueDate).toBe(doc.issueDate);
      expect(read.currency).toBe(currency);
      expect(read.lines).toEqual(
        doc.lines.map((l) => ({
          rewardId: l.rewardId,
          description: l.description,
          date: l.date,
          amount: l.amount,
        })),
      );
    }
  });

  it('renders the same bytes for the same document (PDF and XML)', async () => {
    const doc = buildDocument(sampleInput());
    const [a, b] = [await renderPdf(doc), await renderPdf(buildDocument(sampleInput()))];
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(renderUbl(doc)).toBe(renderUbl(buildDocument(sampleInput())));
  });

  it('the XSD check can fail: elements out of order are refused', async () => {
    const xml = renderUbl(buildDocument(sampleInput())).replace(
      /(<cbc:IssueDate>[^<]*<\/cbc:IssueDate>)(\s*)(<cbc:InvoiceTypeCode>[^<]*<\/cbc:InvoiceTypeCode>)/,
      '$3$2$1',
    );
    const result = await validateUbl(xml, 'Invoice');
    expect(result.valid).toBe(false);
  });
});
