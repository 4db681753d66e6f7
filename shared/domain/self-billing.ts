/**
 * Self-billing rules (pure): when a partner's self-billing is active, which invoice mode a payout
 * gets, the agreement's validity, the series a payout's documents are numbered in, and what a
 * payout pays with VAT. EU law: Directive 2006/112/EC Art. 224 (prior agreement, acceptance of each
 * invoice), Art. 226 (sequential number, both VAT ids, "Self-billing", the reverse-charge mention).
 */
import { type BillingDetails, defaultSeriesPrefix, vatAmountFor } from '../self-billing/model.ts';
import { RuleViolation, ValidationFailed } from './errors.ts';
import type { Address } from './partner-schemas.ts';

export const INVOICE_MODES = ['none', 'upload', 'self_billed'] as const;
export type InvoiceMode = (typeof INVOICE_MODES)[number];

export const AGREEMENT_MONTHS = 12;
export const SELF_BILLING_PREFIX = 'self-billing/';
export const SELF_BILLING_DOWNLOAD_EXPIRES_SECONDS = 5 * 60;

export interface SelfBillingSettings {
  enabled: boolean;
  seriesPrefix?: string;
}

export interface Agreement {
  version: string;
  acceptedAt: string;
  validUntil: string;
}

export interface SelfBillingPartner {
  id: string;
  address?: Address;
  billing?: BillingDetails;
  selfBilling?: SelfBillingSettings;
  selfBillingAgreement?: Agreement;
}

/** The agreement accepted at `acceptedAt` runs twelve calendar months (a 29 February ends on 28/29 February). */
export function agreementFrom(version: string, acceptedAt: Date): Agreement {
  const until = new Date(acceptedAt.getTime());
  const day = until.getUTCDate();
  until.setUTCDate(1);
  until.setUTCMonth(until.getUTCMonth() + AGREEMENT_MONTHS);
  const lastDay = new Date(Date.UTC(until.getUTCFullYear(), until.getUTCMonth() + 1, 0)).getUTCDate();
  until.setUTCDate(Math.min(day, lastDay));
  return { version, acceptedAt: acceptedAt.toISOString(), validUntil: until.toISOString() };
}

/** What is missing for the billing details to be complete (empty when complete). */
export function missingBillingDetails(partner: SelfBillingPartner): string[] {
  const missing: string[] = [];
  if (!partner.billing?.legalName) missing.push('billing.legalName');
  if (!partner.address) missing.push('address');
  const regime = partner.billing?.taxRegime;
  if ((regime === 'reverse_charge' || regime === 'vat') && !partner.billing?.vatId)
    missing.push('billing.vatId');
  if (regime === 'vat' && !partner.billing?.vatRateBps) missing.push('billing.vatRateBps');
  if (regime === 'exempt' && !partner.billing?.exemptionNote) missing.push('billing.exemptionNote');
  // EN 16931 BR-E-02: an exempt invoice names the seller by a VAT id or a tax registration id.
  if (regime === 'exempt' && !partner.billing?.vatId && !partner.billing?.taxRegistrationId)
    missing.push('billing.taxRegistrationId');
  return missing;
}

export type SelfBillingState =
  | { active: true }
  | { active: false; reason: 'not_enabled' | 'no_agreement' | 'agreement_expired' | 'billing_incomplete' };

/** Active while the manager enabled it, the partner's agreement is in force and the billing details are complete. */
export function selfBillingState(partner: SelfBillingPartner, now: Date): SelfBillingState {
  if (!partner.selfBilling?.enabled) return { active: false, reason: 'not_enabled' };
  const agreement = partner.selfBillingAgreement;
  if (!agreement) return { active: false, reason: 'no_agreement' };
  if (Date.parse(agreement.validUntil) <= now.getTime())
    return { active: false, reason: 'agreement_expired' };
  if (missingBillingDetails(partner).length > 0) return { active: false, reason: 'billing_incomplete' };
  return { active: true };
}

const REASONS = {
  not_enabled: 'self-billing is not enabled for this partner',
  no_agreement: 'the partner has not accepted the self-billing agreement',
  agreement_expired: 'the partner’s self-billing agreement has expired; they must accept it again',
  billing_incomplete: 'the partner’s billing details are incomplete',
} as const;

export function assertSelfBillingActive(partner: SelfBillingPartner, now: Date): void {
  const state = selfBillingState(partner, now);
  if (!state.active) {
    throw new RuleViolation('self_billing_inactive', `Self-billing is not active: ${REASONS[state.reason]}`, {
      data: {
        reason: state.reason,
        ...(state.reason === 'billing_incomplete' ? { missing: missingBillingDetails(partner) } : {}),
      },
    });
  }
}

/**
 * The invoice mode of a validation. `invoiceMode` wins; `requireInvoice` is its older form
 * (`true` → the default mode, `false` → `none`). The default, when an invoice is required, is
 * `self_billed` if the partner's self-billing is active, else `upload`.
 */
export function resolveInvoiceMode(
  body: { invoiceMode?: InvoiceMode | undefined; requireInvoice?: boolean | undefined },
  selfBillingActive: boolean,
): InvoiceMode {
  if (body.invoiceMode !== undefined) {
    if (body.requireInvoice !== undefined && body.requireInvoice !== (body.invoiceMode !== 'none')) {
      throw new ValidationFailed('requireInvoice contradicts invoiceMode', {
        errors: [{ path: 'requireInvoice', message: `contradicts invoiceMode "${body.invoiceMode}"` }],
      });
    }
    return body.invoiceMode;
  }
  if (!body.requireInvoice) return 'none';
  return selfBillingActive ? 'self_billed' : 'upload';
}

/** What a payout pays: its amount, plus the VAT of a self-billed invoice under the `vat` regime. */
export function amountsToPay(
  amount: number,
  mode: InvoiceMode,
  billing: BillingDetails | undefined,
): { vatAmount: number; amountToPay: number } {
  const vatAmount = mode === 'self_billed' && billing ? vatAmountFor(amount, billing) : 0;
  return { vatAmount, amountToPay: amount + vatAmount };
}

export function seriesPrefixOf(partner: Pick<SelfBillingPartner, 'id' | 'selfBilling'>): string {
  return partner.selfBilling?.seriesPrefix ?? defaultSeriesPrefix(partner.id);
}

/** Where an issued document is stored: write-once, one key per document number. */
export function documentKey(partnerId: string, number: string, extension: 'pdf' | 'xml'): string {
  return `${SELF_BILLING_PREFIX}documents/${partnerId}/${number}.${extension}`;
}

/** A preview, per payout version (a new version may change what it says). */
export function previewKey(payoutId: string, version: number): string {
  return `${SELF_BILLING_PREFIX}previews/${payoutId}/v${version}.pdf`;
}

/** What a self-billed payout still needs issued: the invoice once validated by the partner, the credit note once cancelled. */
export function documentsDue(item: {
  status: string;
  requirements?: { invoiceMode?: InvoiceMode | undefined } | undefined;
  partnerValidatedAt?: string | undefined;
  selfBilledInvoice?: unknown;
  selfBilledCreditNote?: unknown;
  reissueOf?: string | undefined;
}): { invoice: boolean; creditNote: boolean } {
  const selfBilled =
    item.requirements?.invoiceMode === 'self_billed' && item.partnerValidatedAt !== undefined;
  return {
    // A reissue is the same supply: it keeps the invoice of the payout it reissues, never a new one.
    invoice: selfBilled && item.selfBilledInvoice === undefined && item.reissueOf === undefined,
    creditNote: selfBilled && item.status === 'cancelled' && item.selfBilledCreditNote === undefined,
  };
}
