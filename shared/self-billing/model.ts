/**
 * The self-billed invoice (and credit note) as data: built once from a payout, its rewards, the
 * partner's billing details and the company's details, then rendered twice — as a PDF (./pdf.ts)
 * and as EN 16931 UBL 2.1 (./ubl.ts) — so both documents say exactly the same thing.
 *
 * Pure: no AWS, no I/O. Money is integer minor units of the payout's currency throughout; the VAT
 * of the `vat` regime is computed once, on the net total, rounded half-up in minor units.
 */

import { currencyExponent, sumMinor } from '../domain/money.ts';
import type { Address } from '../domain/partner-schemas.ts';

export const TAX_REGIMES = ['reverse_charge', 'vat', 'exempt', 'outside_scope'] as const;
export type TaxRegime = (typeof TAX_REGIMES)[number];

/** The partner's billing details (the supplier of a self-billed invoice). */
export interface BillingDetails {
  legalName: string;
  vatId?: string;
  taxRegime: TaxRegime;
  /** Basis points: 1900 = 19 %. Required for `vat`. */
  vatRateBps?: number;
  /** Required for `exempt`: the legal basis printed on the invoice. */
  exemptionNote?: string;
  /**
   * The seller tax registration identifier (EN 16931 BT-32, e.g. a German Steuernummer): an exempt
   * partner without a VAT id must have one (BR-E-02).
   */
  taxRegistrationId?: string;
}

export interface CompanyDetails {
  name: string;
  address: Address;
  vatId: string;
}

export interface RewardLineInput {
  id: string;
  amount: number;
  description?: string;
  createdAt: string;
}

export type DocumentType = 'invoice' | 'credit_note';

export interface DocumentInput {
  type: DocumentType;
  /** The series number; `null` renders a preview (no number, marked as such). */
  number: string | null;
  /** YYYY-MM-DD. */
  issueDate: string;
  payout: { id: string; currency: string; amount: number };
  rewards: readonly RewardLineInput[];
  partner: { id: string; address: Address; billing: BillingDetails };
  company: CompanyDetails;
  /** A credit note's invoice. */
  invoiceReference?: { number: string; issueDate: string };
}

/** UNCL 5305 VAT category codes used by EN 16931. */
export type VatCategory = 'S' | 'AE' | 'E' | 'O';

export interface TaxBreakdown {
  category: VatCategory;
  /** Basis points; 0 for AE, E and O. */
  rateBps: number;
  taxableAmount: number;
  taxAmount: number;
  exemptionReason?: string;
  /** CEF VATEX code. */
  exemptionReasonCode?: string;
}

export interface DocumentLine {
  position: number;
  rewardId: string;
  description: string;
  /** YYYY-MM-DD */
  date: string;
  /** Minor units; a clawback is negative. */
  amount: number;
}

export interface Party {
  name: string;
  address: Address;
  vatId?: string;
  /** BT-32, the seller's national tax number (the supplier only). */
  taxRegistrationId?: string;
}

export interface SelfBilledDocument {
  type: DocumentType;
  preview: boolean;
  number: string | null;
  issueDate: string;
  currency: string;
  exponent: number;
  payoutId: string;
  /** English title and the label in the partner's country language (when it has one). */
  title: string;
  localTitle?: string;
  supplier: Party;
  customer: Party;
  period: { start: string; end: string };
  lines: DocumentLine[];
  taxes: TaxBreakdown[];
  net: number;
  vat: number;
  gross: number;
  notes: string[];
  invoiceReference?: { number: string; issueDate: string };
}

export const REVERSE_CHARGE_NOTE =
  'Reverse charge — VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)';
export const SELF_BILLING_NOTE =
  'Self-billing: issued by the customer in the name and on behalf of the supplier (Art. 224 Directive 2006/112/EC)';
export const OUTSIDE_SCOPE_NOTE = 'Not subject to VAT';

const TITLES: Record<DocumentType, string> = {
  invoice: 'Self-billing invoice',
  credit_note: 'Self-billing credit note',
};

/** The title in the partner's country language, beside the English one (by ISO 3166 country). */
const LANGUAGES: ReadonlyArray<[countries: string, invoice: string, creditNote: string]> = [
  ['DE AT LI', 'Gutschrift', 'Storno der Gutschrift'],
  ['FR LU MC', 'Autofacturation', 'Avoir d’autofacturation'],
  ['ES', 'Autofacturación', 'Factura rectificativa (autofacturación)'],
  ['IT SM', 'Autofatturazione', 'Nota di credito (autofatturazione)'],
  ['PT', 'Autofaturação', 'Nota de crédito (autofaturação)'],
  ['NL', 'Factuur uitgereikt door afnemer', 'Creditnota uitgereikt door afnemer'],
  ['PL', 'Samofakturowanie', 'Faktura korygująca (samofakturowanie)'],
  ['GR CY', 'Αυτοτιμολόγηση', 'Πιστωτικό αυτοτιμολόγησης'],
  ['BG', 'Самофактуриране', 'Кредитно известие (самофактуриране)'],
  ['CZ', 'Vystaveno zákazníkem', 'Opravný daňový doklad (vystaveno zákazníkem)'],
  ['SE', 'Självfakturering', 'Kreditnota (självfakturering)'],
  ['DK', 'Selvfakturering', 'Kreditnota (selvfakturering)'],
];

export function localTitle(country: string, type: DocumentType): string | undefined {
  const entry = LANGUAGES.find(([countries]) => countries.split(' ').includes(country));
  return entry ? entry[type === 'invoice' ? 1 : 2] : undefined;
}

/** `value × bps / 10000` rounded half-up (half away from zero for a negative value), exactly. */
export function percentOfMinor(value: number, bps: number): number {
  const sign = value < 0 ? -1n : 1n;
  const magnitude = BigInt(Math.abs(value)) * BigInt(bps);
  const rounded = (magnitude * 2n + 10000n) / 20000n;
  return Number(sign * rounded);
}

/** 1900 → "19", 550 → "5.5", 2050 → "20.5" (exact). */
export function formatRate(bps: number): string {
  const whole = Math.trunc(bps / 100);
  const fraction = String(bps % 100)
    .padStart(2, '0')
    .replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}

export class SelfBillingInputError extends Error {
  override name = 'SelfBillingInputError';
}

/** The tax breakdown (one rate per partner) and VAT of a net total. */
export function taxFor(net: number, billing: BillingDetails): TaxBreakdown {
  switch (billing.taxRegime) {
    case 'vat': {
      const rate = billing.vatRateBps;
      if (rate === undefined || !Number.isSafeInteger(rate) || rate <= 0) {
        throw new SelfBillingInputError('vatRateBps is required for the vat regime');
      }
      return { category: 'S', rateBps: rate, taxableAmount: net, taxAmount: percentOfMinor(net, rate) };
    }
    case 'reverse_charge':
      return {
        category: 'AE',
        rateBps: 0,
        taxableAmount: net,
        taxAmount: 0,
        exemptionReason: REVERSE_CHARGE_NOTE,
        exemptionReasonCode: 'VATEX-EU-AE',
      };
    case 'exempt': {
      if (!billing.exemptionNote)
        throw new SelfBillingInputError('exemptionNote is required for the exempt regime');
      return {
        category: 'E',
        rateBps: 0,
        taxableAmount: net,
        taxAmount: 0,
        exemptionReason: billing.exemptionNote,
      };
    }
    case 'outside_scope':
      return {
        category: 'O',
        rateBps: 0,
        taxableAmount: net,
        taxAmount: 0,
        exemptionReason: OUTSIDE_SCOPE_NOTE,
        exemptionReasonCode: 'VATEX-EU-O',
      };
  }
}

/** VAT the payout pays on top of its amount (0 for every regime but `vat`). */
export function vatAmountFor(amount: number, billing: BillingDetails): number {
  return taxFor(amount, billing).taxAmount;
}

const day = (timestamp: string) => timestamp.slice(0, 10);

/** Builds the document; throws SelfBillingInputError when the parts do not add up to the payout. */
export function buildDocument(input: DocumentInput): SelfBilledDocument {
  const { payout, partner, company, rewards, type } = input;
  if (rewards.length === 0)
    throw new SelfBillingInputError('A self-billed document needs at least one reward');
  if (type === 'credit_note' && !input.invoiceReference) {
    throw new SelfBillingInputError('A credit note references its invoice');
  }
  const exponent = currencyExponent(payout.currency);
  const lines: DocumentLine[] = [...rewards]
    .sort((a, b) =>
      a.createdAt === b.createdAt ? a.id.localeCompare(b.id) : a.createdAt.localeCompare(b.createdAt),
    )
    .map((reward, index) => ({
      position: index + 1,
      rewardId: reward.id,
      description:
        reward.description?.trim() || (reward.amount < 0 ? `Clawback ${reward.id}` : `Reward ${reward.id}`),
      date: day(reward.createdAt),
      amount: reward.amount,
    }));
  const net = sumMinor(lines.map((line) => line.amount));
  if (net !== payout.amount) {
    throw new SelfBillingInputError(`The rewards add up to ${net}, the payout is ${payout.amount}`);
  }
  const { billing } = partner;
  const tax = taxFor(net, billing);
  const taxes = [tax];
  const vat = sumMinor(taxes.map((t) => t.taxAmount));
  const notes = [SELF_BILLING_NOTE];
  if (tax.exemptionReason) notes.push(tax.exemptionReason);
  if (type === 'credit_note' && input.invoiceReference) {
    notes.push(
      `Credits invoice ${input.invoiceReference.number} of ${input.invoiceReference.issueDate} in full`,
    );
  }
  // BR-E-02: an exempt invoice names the seller's VAT id or tax registration id (BT-31 / BT-32).
  if (tax.category === 'E' && !billing.vatId && !billing.taxRegistrationId) {
    throw new SelfBillingInputError(
      'An exempt invoice needs the supplier’s VAT id or tax registration id (EN 16931 BR-E-02)',
    );
  }
  const dates = lines.map((line) => line.date).sort();
  // BR-O-02: a "not subject to VAT" invoice carries no VAT identifiers.
  const withVatIds = tax.category !== 'O';
  return {
    type,
    preview: input.number === null,
    number: input.number,
    issueDate: input.issueDate,
    currency: payout.currency,
    exponent,
    payoutId: payout.id,
    title: TITLES[type],
    ...optional('localTitle', localTitle(partner.address.country, type)),
    supplier: {
      name: billing.legalName,
      address: partner.address,
      ...optional('vatId', withVatIds ? billing.vatId : undefined),
      ...optional('taxRegistrationId', billing.taxRegistrationId),
    },
    customer: {
      name: company.name,
      address: company.address,
      ...optional('vatId', withVatIds ? company.vatId : undefined),
    },
    period: { start: dates[0] as string, end: dates[dates.length - 1] as string },
    lines,
    taxes,
    net,
    vat,
    gross: net + vat,
    notes,
    ...optional('invoiceReference', input.invoiceReference),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

// ---------------------------------------------------------------- numbering

/** `{seriesPrefix}-{YYYY}-{seq:05}`. */
export function formatDocumentNumber(prefix: string, year: number, seq: number): string {
  return `${prefix}-${year}-${String(seq).padStart(5, '0')}`;
}

/** The default series prefix: `SB` and the last six characters of the partner id. */
export function defaultSeriesPrefix(partnerId: string): string {
  return `SB${partnerId.slice(-6).toUpperCase()}`;
}
