/**
 * ISO 20022 external status / return reason codes (ExternalStatusReason1Code, ExternalReturnReason1Code)
 * as short texts a partner can act on. Pure data. An unknown code keeps the code and gets a generic text.
 */
export interface ReasonText {
  code?: string;
  /** What happened, in plain words, for the partner and the manager. */
  text: string;
  /** Whether the partner's payout details are the likely cause (they are asked to check them). */
  checkDetails: boolean;
}

const REASONS: Readonly<Record<string, { text: string; checkDetails: boolean }>> = {
  AC01: { text: 'The account number (IBAN) is incorrect.', checkDetails: true },
  AC04: { text: 'The account has been closed.', checkDetails: true },
  AC06: { text: 'The account is blocked.', checkDetails: true },
  AC13: { text: 'The account type does not accept this payment.', checkDetails: true },
  AG01: { text: 'Your bank does not allow this kind of transfer to this account.', checkDetails: true },
  AG02: { text: 'The bank refused the payment for an operational reason.', checkDetails: false },
  AM04: { text: 'The paying account had insufficient funds; we will try again.', checkDetails: false },
  AM05: { text: 'The bank saw this payment as a duplicate.', checkDetails: false },
  BE04: { text: 'The address of the account holder is missing or incorrect.', checkDetails: true },
  BE05: { text: 'The party that initiated the payment is not recognised by the bank.', checkDetails: false },
  MD07: { text: 'The account holder is reported deceased.', checkDetails: true },
  MS02: { text: 'The receiving bank or account holder refused the payment.', checkDetails: true },
  MS03: { text: 'The bank refused the payment without giving a reason.', checkDetails: true },
  RC01: { text: 'The bank identifier (BIC) is incorrect.', checkDetails: true },
  RR01: {
    text: 'The bank needs the account holder’s identification or account details.',
    checkDetails: true,
  },
  RR02: { text: 'The bank needs the account holder’s full name and address.', checkDetails: true },
  RR03: { text: 'The bank needs the name and address of the payer.', checkDetails: false },
  RR04: { text: 'The payment was stopped for regulatory reasons.', checkDetails: true },
  FOCR: { text: 'The payment was returned after a cancellation request.', checkDetails: false },
  CUST: { text: 'The payment was cancelled at the request of the account holder.', checkDetails: true },
  DUPL: { text: 'The bank saw this payment as a duplicate.', checkDetails: false },
  TECH: { text: 'The bank could not process the payment for a technical reason.', checkDetails: false },
  FRAD: { text: 'The payment was stopped as possibly fraudulent.', checkDetails: true },
  NARR: { text: 'The bank gave a reason in words (see the details).', checkDetails: true },
};

const GENERIC = 'The bank could not complete the payment.';

/** The plain text for a reason code; an unknown or missing code keeps the code and a generic text. */
export function reasonText(code: string | undefined): ReasonText {
  const normalized = code?.trim().toUpperCase() || undefined;
  const known = normalized ? REASONS[normalized] : undefined;
  if (known) return { code: normalized, ...known };
  return {
    ...(normalized ? { code: normalized } : {}),
    text: normalized ? `${GENERIC} (reason code ${normalized})` : GENERIC,
    checkDetails: true,
  };
}

export const KNOWN_REASON_CODES: readonly string[] = Object.keys(REASONS);
