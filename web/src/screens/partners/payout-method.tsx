/**
 * The payout method fields (SEPA, PayPal, Wise), shared by the manager's partner form and the
 * partner's profile. The IBAN is checked as it is typed (ibantools, as the API checks it).
 */
import {
  electronicFormatIBAN,
  friendlyFormatIBAN,
  isValidBIC,
  ValidationErrorsIBAN,
  validateIBAN,
} from 'ibantools';
import { useState } from 'preact/hooks';
import type { PayoutMethod } from '../../api/client.ts';
import { Field, fieldError, Select, text } from '../../ui/kit.tsx';

type MethodType = PayoutMethod['type'] | 'none';

const IBAN_PROBLEMS: Partial<Record<ValidationErrorsIBAN, string>> = {
  [ValidationErrorsIBAN.NoIBANCountry]: 'It must start with a country code, such as DE or FR.',
  [ValidationErrorsIBAN.WrongBBANLength]: 'It has the wrong number of characters for its country.',
  [ValidationErrorsIBAN.WrongBBANFormat]: 'Some characters are not allowed for its country.',
  [ValidationErrorsIBAN.ChecksumNotNumber]: 'The two digits after the country code must be numbers.',
  [ValidationErrorsIBAN.WrongIBANChecksum]: 'Its check digits do not match: a character may be mistyped.',
  [ValidationErrorsIBAN.WrongAccountBankBranchChecksum]: 'The bank or account number does not check out.',
  [ValidationErrorsIBAN.QRIBANNotAllowed]: 'A QR-IBAN cannot receive transfers.',
};

/** Plain words about an IBAN as typed, or undefined when it is valid (or still empty). */
export function ibanProblem(typed: string): string | undefined {
  const iban = electronicFormatIBAN(typed) ?? '';
  if (!iban) return undefined;
  const result = validateIBAN(iban);
  if (result.valid) return undefined;
  return IBAN_PROBLEMS[result.errorCodes[0] as ValidationErrorsIBAN] ?? 'This is not a valid IBAN.';
}

function IbanField({ initial, error, id }: { initial: string; error: string | undefined; id: string }) {
  const [value, setValue] = useState(initial);
  const [touched, setTouched] = useState(false);
  const problem = value.replace(/\s/g, '').length >= 4 ? ibanProblem(value) : undefined;
  const valid = value.trim() !== '' && !ibanProblem(value);
  return (
    <Field
      label="IBAN"
      name="iban"
      id={id}
      value={value}
      required={id.endsWith('sepa-iban')}
      autocomplete="off"
      spellcheck={false}
      onInput={(event) => {
        setValue(event.currentTarget.value);
        setTouched(true);
      }}
      onBlur={() => valid && setValue(friendlyFormatIBAN(electronicFormatIBAN(value) ?? value) ?? value)}
      error={(touched ? problem : undefined) ?? error}
      hint={valid ? 'Valid IBAN ✓' : 'Checked as you type'}
    />
  );
}

export function PayoutMethodFields({
  method,
  error,
  prefix = 'pm',
}: {
  method: PayoutMethod | null | undefined;
  error: unknown;
  prefix?: string;
}) {
  const [type, setType] = useState<MethodType>(method?.type ?? 'none');
  const err = (field: string) => fieldError(error, `payoutMethod.${field}`, 'payoutMethod');
  return (
    <fieldset>
      <legend>Payout method</legend>
      <Select
        label="Paid by"
        name="methodType"
        id={`${prefix}-type`}
        value={type}
        onChange={(event) => setType(event.currentTarget.value as MethodType)}
        options={[
          { value: 'none', label: 'Not set yet' },
          { value: 'sepa', label: 'SEPA bank transfer' },
          { value: 'paypal', label: 'PayPal' },
          { value: 'wise', label: 'Wise' },
        ]}
      />
      {(type === 'sepa' || type === 'wise') && (
        <Field
          label="Account holder"
          name="accountHolder"
          id={`${prefix}-holder`}
          required
          defaultValue={method && 'accountHolder' in method ? method.accountHolder : ''}
          error={err('accountHolder')}
        />
      )}
      {type === 'sepa' && (
        <>
          <IbanField
            key="sepa"
            id={`${prefix}-sepa-iban`}
            initial={method && 'iban' in method ? (method.iban ?? '') : ''}
            error={err('iban')}
          />
          <Field
            label="BIC (optional)"
            name="bic"
            id={`${prefix}-bic`}
            defaultValue={method?.type === 'sepa' ? (method.bic ?? '') : ''}
            error={err('bic')}
          />
        </>
      )}
      {(type === 'paypal' || type === 'wise') && (
        <Field
          label={type === 'paypal' ? 'PayPal e-mail' : 'Wise e-mail'}
          name="methodEmail"
          id={`${prefix}-email`}
          type="email"
          required
          defaultValue={method && 'email' in method ? method.email : ''}
          error={err('email')}
        />
      )}
      {type === 'wise' && (
        <IbanField
          key="wise"
          id={`${prefix}-wise-iban`}
          initial={method?.type === 'wise' ? (method.iban ?? '') : ''}
          error={err('iban')}
        />
      )}
    </fieldset>
  );
}

/** The payout method the fields describe (null: none), or a message when the IBAN or BIC is wrong. */
export function readPayoutMethod(form: FormData): { method: PayoutMethod | null } | { problem: string } {
  const type = text(form, 'methodType') ?? 'none';
  const iban = text(form, 'iban');
  const bic = text(form, 'bic');
  if (iban && ibanProblem(iban)) return { problem: `The IBAN is not valid: ${ibanProblem(iban)}` };
  if (bic && !isValidBIC(bic.replace(/\s/g, '').toUpperCase())) return { problem: 'The BIC is not valid.' };
  const holder = text(form, 'accountHolder') ?? '';
  const email = text(form, 'methodEmail') ?? '';
  const electronic = iban ? (electronicFormatIBAN(iban) ?? iban) : undefined;
  switch (type) {
    case 'sepa':
      return {
        method: { type: 'sepa', accountHolder: holder, iban: electronic ?? '', ...(bic ? { bic } : {}) },
      };
    case 'paypal':
      return { method: { type: 'paypal', email } };
    case 'wise':
      return {
        method: { type: 'wise', accountHolder: holder, email, ...(electronic ? { iban: electronic } : {}) },
      };
    default:
      return { method: null };
  }
}
