/** Self-billing rules (pure): the invoice mode, the agreement's term, when it is active, what is due, what is paid. */
import { describe, expect, it } from 'vitest';
import { RuleViolation, ValidationFailed } from '../../shared/domain/errors.ts';
import {
  agreementFrom,
  amountsToPay,
  assertSelfBillingActive,
  documentsDue,
  missingBillingDetails,
  resolveInvoiceMode,
  type SelfBillingPartner,
  selfBillingState,
} from '../../shared/domain/self-billing.ts';

const NOW = new Date('2026-11-30T12:00:00.000Z');
const ACTIVE: SelfBillingPartner = {
  id: 'pt_X',
  address: { line1: 'a', city: 'b', country: 'DE' },
  billing: { legalName: 'L', vatId: 'DE136695976', taxRegime: 'reverse_charge' },
  selfBilling: { enabled: true },
  selfBillingAgreement: agreementFrom('2026-01', new Date('2026-06-01T00:00:00.000Z')),
};

describe('invoice mode', () => {
  it.each([
    [{}, true, 'none'],
    [{ requireInvoice: false }, true, 'none'],
    [{ requireInvoice: true }, true, 'self_billed'],
    [{ requireInvoice: true }, false, 'upload'],
    [{ invoiceMode: 'upload' as const }, true, 'upload'],
    [{ invoiceMode: 'self_billed' as const, requireInvoice: true }, true, 'self_billed'],
    [{ invoiceMode: 'none' as const, requireInvoice: false }, true, 'none'],
  ])('%j (active %s) → %s', (body, active, mode) => {
    expect(resolveInvoiceMode(body, active)).toBe(mode);
  });

  it('refuses a contradiction', () => {
    expect(() => resolveInvoiceMode({ invoiceMode: 'none', requireInvoice: true }, true)).toThrow(
      ValidationFailed,
    );
    expect(() => resolveInvoiceMode({ invoiceMode: 'upload', requireInvoice: false }, true)).toThrow(
      ValidationFailed,
    );
  });
});

describe('the agreement', () => {
  it('runs twelve calendar months, a 29 February ending on 28 February', () => {
    expect(agreementFrom('v', new Date('2026-03-15T10:00:00.000Z')).validUntil).toBe(
      '2027-03-15T10:00:00.000Z',
    );
    expect(agreementFrom('v', new Date('2028-02-29T00:00:00.000Z')).validUntil).toBe(
      '2029-02-28T00:00:00.000Z',
    );
  });

  it('is active while enabled, accepted, in force and complete; says why not', () => {
    expect(selfBillingState(ACTIVE, NOW)).toEqual({ active: true });
    expect(selfBillingState({ ...ACTIVE, selfBilling: { enabled: false } }, NOW)).toMatchObject({
      reason: 'not_enabled',
    });
    const { selfBillingAgreement: _, ...noAgreement } = ACTIVE;
    expect(selfBillingState(noAgreement, NOW)).toMatchObject({ reason: 'no_agreement' });
    expect(selfBillingState(ACTIVE, new Date('2027-06-01T00:00:00.000Z'))).toMatchObject({
      reason: 'agreement_expired',
    });
    const noVatId = { ...ACTIVE, billing: { legalName: 'L', taxRegime: 'vat' as const, vatRateBps: 1900 } };
    expect(selfBillingState(noVatId, NOW)).toMatchObject({ reason: 'billing_incomplete' });
    expect(() => assertSelfBillingActive(noVatId, NOW)).toThrow(RuleViolation);
    // BR-E-02: an exempt partner without a VAT id gives a tax registration id instead.
    const exemptNoIds = {
      ...ACTIVE,
      billing: { legalName: 'L', taxRegime: 'exempt' as const, exemptionNote: 'n' },
    };
    expect(selfBillingState(exemptNoIds, NOW)).toMatchObject({ reason: 'billing_incomplete' });
    expect(missingBillingDetails(exemptNoIds)).toEqual(['billing.taxRegistrationId']);
    const exempt = {
      ...exemptNoIds,
      billing: { ...exemptNoIds.billing, taxRegistrationId: '143/123/45678' },
    };
    expect(selfBillingState(exempt, NOW)).toEqual({ active: true });
    const exemptWithVatId = { ...exemptNoIds, billing: { ...exemptNoIds.billing, vatId: 'DE136695976' } };
    expect(selfBillingState(exemptWithVatId, NOW)).toEqual({ active: true });
  });
});

describe('what is due and what is paid', () => {
  const base = {
    status: 'ready',
    requirements: { invoiceMode: 'self_billed' as const },
    partnerValidatedAt: '2026-11-30T12:00:00.000Z',
  };
  it.each([
    [
      { ...base, status: 'pending', partnerValidatedAt: undefined },
      { invoice: false, creditNote: false },
    ],
    [base, { invoice: true, creditNote: false }],
    [
      { ...base, selfBilledInvoice: {} },
      { invoice: false, creditNote: false },
    ],
    [
      { ...base, status: 'cancelled', selfBilledInvoice: {} },
      { invoice: false, creditNote: true },
    ],
    [
      { ...base, status: 'cancelled' },
      { invoice: true, creditNote: true },
    ],
    [
      { ...base, status: 'cancelled', selfBilledInvoice: {}, selfBilledCreditNote: {} },
      { invoice: false, creditNote: false },
    ],
    [
      { ...base, requirements: { invoiceMode: 'upload' as const } },
      { invoice: false, creditNote: false },
    ],
    [
      { ...base, reissueOf: 'po_FAILED' },
      { invoice: false, creditNote: false },
    ],
  ])('%j → %j', (item, due) => {
    expect(documentsDue(item)).toEqual(due);
  });

  it('pays VAT on top only for a self-billed invoice under the vat regime', () => {
    const vat = { legalName: 'L', vatId: 'DE1', taxRegime: 'vat' as const, vatRateBps: 1900 };
    expect(amountsToPay(12001, 'self_billed', vat)).toEqual({ vatAmount: 2280, amountToPay: 14281 });
    expect(amountsToPay(12001, 'upload', vat)).toEqual({ vatAmount: 0, amountToPay: 12001 });
    expect(amountsToPay(12001, 'self_billed', { legalName: 'L', taxRegime: 'reverse_charge' })).toEqual({
      vatAmount: 0,
      amountToPay: 12001,
    });
  });
});
