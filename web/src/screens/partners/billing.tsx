/**
 * Billing details (legal name, VAT id, tax regime, VAT rate, exemption note), the fields shared by the
 * partner's profile and the manager's partner page, and the self-billing state in words.
 */
import type { Partner, Schemas } from '../../api/client.ts';
import { Field, fieldError, Select, Time, text } from '../../ui/kit.tsx';

type BillingDetails = Schemas['BillingDetails'];
type TaxRegime = BillingDetails['taxRegime'];

const REGIMES: Record<TaxRegime, string> = {
  reverse_charge: 'Reverse charge (VAT id)',
  vat: 'VAT charged on top',
  exempt: 'Exempt (with a note why)',
  outside_scope: 'Outside the scope of VAT',
};

export function BillingFields({
  billing,
  error,
  prefix,
}: {
  billing?: BillingDetails | undefined;
  error: unknown;
  prefix: string;
}) {
  const err = (field: string) => fieldError(error, `billing.${field}`);
  return (
    <fieldset>
      <legend>Billing details</legend>
      <Field
        label="Legal name"
        name="legalName"
        id={`${prefix}-legal-name`}
        defaultValue={billing?.legalName ?? ''}
        error={err('legalName')}
        hint="Leave empty to keep no billing details."
      />
      <Select
        label="Tax regime"
        name="taxRegime"
        id={`${prefix}-tax-regime`}
        defaultValue={billing?.taxRegime ?? 'reverse_charge'}
        options={Object.entries(REGIMES).map(([value, label]) => ({ value, label }))}
        error={err('taxRegime')}
      />
      <Field
        label="VAT id (reverse charge and VAT)"
        name="vatId"
        id={`${prefix}-vat-id`}
        defaultValue={billing?.vatId ?? ''}
        error={err('vatId')}
      />
      <Field
        label="VAT rate in % (VAT only)"
        name="vatRate"
        id={`${prefix}-vat-rate`}
        inputMode="decimal"
        defaultValue={billing?.vatRateBps !== undefined ? String(billing.vatRateBps / 100) : ''}
        error={err('vatRateBps')}
      />
      <Field
        label="Exemption note (exempt only)"
        name="exemptionNote"
        id={`${prefix}-exemption`}
        defaultValue={billing?.exemptionNote ?? ''}
        error={err('exemptionNote')}
      />
    </fieldset>
  );
}

/** The billing details a form holds (null when it holds no legal name: none kept). */
export function readBilling(form: FormData): BillingDetails | null {
  const legalName = text(form, 'legalName');
  if (!legalName) return null;
  const vatId = text(form, 'vatId')?.replace(/\s+/g, '').toUpperCase();
  const rate = text(form, 'vatRate');
  const exemptionNote = text(form, 'exemptionNote');
  const bps = rate ? Math.round(Number(rate.replace(',', '.')) * 100) : undefined;
  return {
    legalName,
    taxRegime: (text(form, 'taxRegime') ?? 'reverse_charge') as TaxRegime,
    ...(vatId ? { vatId } : {}),
    ...(bps !== undefined && Number.isFinite(bps) ? { vatRateBps: bps } : {}),
    ...(exemptionNote ? { exemptionNote } : {}),
  };
}

const INACTIVE: Record<string, string> = {
  not_enabled: 'not enabled',
  no_agreement: 'waiting for the partner to accept the agreement',
  agreement_expired: 'the agreement has expired and must be accepted again',
  billing_incomplete: 'the billing details (and address) are incomplete',
};

/** Self-billing in words: active, or why not; the agreement in force. */
export function SelfBillingState({ partner }: { partner: Partner }) {
  const state = partner.selfBilling;
  if (!state) return <p class="muted">Self-billing: not enabled.</p>;
  return (
    <p>
      Self-billing:{' '}
      <strong>{state.active ? 'active' : INACTIVE[state.inactiveReason ?? 'not_enabled']}</strong>
      {state.enabled && ` (series ${state.seriesPrefix})`}
      {state.agreement && (
        <>
          . Agreement {state.agreement.version} accepted <Time at={state.agreement.acceptedAt} />, valid until{' '}
          <Time at={state.agreement.validUntil} />
        </>
      )}
      .
    </p>
  );
}
