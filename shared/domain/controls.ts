/**
 * Controls before money leaves: holds (reason codes, what a hold covers) and four-eyes approval
 * (thresholds, what an approval is bound to). Pure: the use cases read holds and payouts and ask here.
 */
import { createHash } from 'node:crypto';
import { isCurrency } from './money.ts';

// ---------------------------------------------------------------- holds

export const HOLD_SCOPES = ['partner', 'payout', 'reward'] as const;
export type HoldScope = (typeof HOLD_SCOPES)[number];

export const HOLD_REASON_CODES = [
  'SELF_REFERRAL',
  'DUPLICATE_ACCOUNT',
  'DUPLICATE_PAYOUT_METHOD',
  'PAID_TRAFFIC',
  'BRAND_BIDDING',
  'REFUND_RISK',
  'CHARGEBACK',
  'KYC_INCOMPLETE',
  'TAX_FORM_MISSING',
  'SANCTIONS',
  'PAYOUT_METHOD_INVALID',
  'PAYOUT_METHOD_CHANGED',
  'INVOICE_DISPUTE',
  'OTHER',
] as const;
export type HoldReasonCode = (typeof HOLD_REASON_CODES)[number];

export type HoldResolution = 'released' | 'confirmed';

/** What the rules need of a hold. */
export interface HoldFacts {
  id: string;
  scope: HoldScope;
  targetId: string;
  partnerId: string;
  reasonCode: HoldReasonCode;
  partnerMessage?: string | undefined;
  createdAt: string;
  /** Absent while active. */
  resolution?: HoldResolution | undefined;
}

export function isActive(hold: Pick<HoldFacts, 'resolution'>): boolean {
  return hold.resolution === undefined;
}

/** Active holds that cover a payout: on it, or on its partner. */
export function holdsOnPayout<H extends HoldFacts>(
  holds: readonly H[],
  payout: { id: string; partnerId: string },
): H[] {
  return holds.filter(
    (hold) =>
      isActive(hold) &&
      ((hold.scope === 'payout' && hold.targetId === payout.id) ||
        (hold.scope === 'partner' && hold.targetId === payout.partnerId)),
  );
}

/** Active holds that cover a reward: on it, or on its partner. */
export function holdsOnReward<H extends HoldFacts>(
  holds: readonly H[],
  reward: { id: string; partnerId: string },
): H[] {
  return holds.filter(
    (hold) =>
      isActive(hold) &&
      ((hold.scope === 'reward' && hold.targetId === reward.id) ||
        (hold.scope === 'partner' && hold.targetId === reward.partnerId)),
  );
}

/**
 * What a held payout shows (`hold: { partnerMessage? }`): the newest partner message of the holds
 * that cover it; never the reason code or note. Undefined when nothing holds it.
 */
export function holdView(holds: readonly HoldFacts[]): { partnerMessage?: string } | undefined {
  if (holds.length === 0) return undefined;
  const withMessage = holds
    .filter((hold) => hold.partnerMessage)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
  return withMessage?.partnerMessage ? { partnerMessage: withMessage.partnerMessage } : {};
}

/**
 * Bank reason codes that say the account itself is wrong (ISO 20022 external status reason codes):
 * closed, blocked, invalid or unknown account, wrong name/IBAN. A payout failing for one of these
 * holds the partner until their payout method changes.
 */
export const BAD_ACCOUNT_CODES: ReadonlySet<string> = new Set([
  'AC01', // incorrect account number
  'AC03', // invalid creditor account number
  'AC04', // closed account number
  'AC06', // blocked account
  'AC13', // invalid debtor account type
  'AG01', // transaction forbidden on this account
  'BE01', // inconsistent with end customer (name/account mismatch)
  'RC01', // bank identifier incorrect
]);

export function isBadAccountFailure(code: string | undefined): boolean {
  return code !== undefined && BAD_ACCOUNT_CODES.has(code.trim().toUpperCase());
}

// ---------------------------------------------------------------- four-eyes approval

/** `EUR:100000,USD:100000` → thresholds in minor units per currency (none by default). */
export function parseThresholds(text: string | undefined, name = 'APPROVAL_THRESHOLDS'): Map<string, number> {
  const thresholds = new Map<string, number>();
  for (const part of (text ?? '').split(',')) {
    const entry = part.trim();
    if (!entry) continue;
    const match = /^([A-Z]{3})\s*:\s*(\d+)$/.exec(entry);
    if (!match?.[1] || !match[2] || !isCurrency(match[1])) {
      throw new Error(`${name}: "${entry}" is not CUR:minorUnits`);
    }
    const amount = Number(match[2]);
    if (!Number.isSafeInteger(amount)) throw new Error(`${name}: ${entry} is out of range`);
    thresholds.set(match[1], amount);
  }
  return thresholds;
}

/** A payout at or above its currency's threshold needs an approval. */
export function needsApproval(
  payout: { amount: number; currency: string },
  thresholds: ReadonlyMap<string, number>,
): boolean {
  const threshold = thresholds.get(payout.currency);
  return threshold !== undefined && payout.amount >= threshold;
}

/** What an approval approved: the amount, the rewards and the payout-method snapshot. */
export interface ApprovedContent {
  amount: number;
  currency: string;
  rewardIds: readonly string[];
  payoutMethod: unknown;
}

/** A digest of a set of reward ids (order does not matter): what the payout item keeps of its rewards. */
export function rewardsDigest(rewardIds: readonly string[]): string {
  return createHash('sha256')
    .update([...new Set(rewardIds)].sort().join('\n'))
    .digest('hex');
}

/** Canonical JSON (sorted keys), so the same content always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonical(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The hash an approval is bound to; any change of amount, rewards or payout method changes it. */
export function approvalHash(content: ApprovedContent): string {
  return createHash('sha256')
    .update(
      canonical({
        amount: content.amount,
        currency: content.currency,
        rewardIds: [...content.rewardIds].sort(),
        payoutMethod: content.payoutMethod ?? null,
      }),
    )
    .digest('hex');
}

export interface Approval {
  by: string;
  roles?: readonly string[] | undefined;
  at: string;
  note?: string | undefined;
  hash: string;
}

/** Whether the payout holds a valid approval for what it now is. */
export function isApproved(approval: Approval | undefined, content: ApprovedContent): boolean {
  return approval !== undefined && approval.hash === approvalHash(content);
}
