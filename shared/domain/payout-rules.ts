/**
 * The payout lifecycle as data: `from → action → to` with guards. Pure functions, no I/O.
 *
 *   draft ──validate──▶ pending ──partner_validate──▶ ready ──export──▶ processing ──settle/mark_paid──▶ paid
 *     ▲                    │                          ▲  │                │      │                             │
 *     └──request_changes───┘                          │  └──mark_paid─────┼──────┼────────────▶ paid           │
 *                                                     └──────void─────────┘      └──fail──▶ failed ◀──return───┘
 *   draft | pending | ready | failed (not reissued) ──cancel──▶ cancelled;  failed ──reissue──▶ (a new ready payout)
 */
import { InvalidTransition, RuleViolation } from './errors.ts';
import { sumMinor } from './money.ts';
import type { PayoutStatus, ReviewDecision, RewardStatus } from './schemas.ts';

export type PayoutAction =
  | 'validate'
  | 'partner_validate'
  | 'request_changes'
  | 'export'
  | 'void'
  | 'mark_paid'
  | 'mark_failed'
  | 'reissue'
  | 'cancel';

/**
 * One transition. Who may take it is the route's permission (../http/routes); the workflow only
 * learns that the payout moved and reads where it is (infra/workflow/payout.asl.json, Sync).
 */
export interface Transition {
  from: readonly PayoutStatus[];
  to: PayoutStatus;
  /** The domain event type recorded in the history and published on the bus. */
  event: string;
}

export const TRANSITIONS: Readonly<Record<PayoutAction, Transition>> = {
  validate: {
    from: ['draft'],
    to: 'pending',
    event: 'payout.validated',
  },
  partner_validate: {
    from: ['pending'],
    to: 'ready',
    event: 'payout.partner_validated',
  },
  request_changes: {
    from: ['pending'],
    to: 'draft',
    event: 'payout.changes_requested',
  },
  export: {
    from: ['ready'],
    to: 'processing',
    event: 'payout.processing',
  },
  void: {
    from: ['processing'],
    to: 'ready',
    event: 'payout.export_voided',
  },
  mark_paid: {
    from: ['ready', 'processing'],
    to: 'paid',
    event: 'payout.paid',
  },
  mark_failed: {
    from: ['processing', 'paid'],
    to: 'failed',
    event: 'payout.failed',
  },
  /** The failed payout stays failed (marked `reissuedAs`); a new ready payout takes its rewards. */
  reissue: {
    from: ['failed'],
    to: 'failed',
    event: 'payout.reissued',
  },
  cancel: {
    from: ['draft', 'pending', 'ready', 'failed'],
    to: 'cancelled',
    event: 'payout.cancelled',
  },
};

/** Where a payout's workflow ends (a `failed` payout ends once reissued: see `isFinished`). */
export const TERMINAL_STATUSES: readonly PayoutStatus[] = ['paid', 'cancelled'];

export function isTerminal(status: PayoutStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Whether nothing more is expected of the payout: paid, cancelled, or failed and reissued. */
export function isFinished(payout: { status: PayoutStatus; reissuedAs?: string | undefined }): boolean {
  return isTerminal(payout.status) || (payout.status === 'failed' && payout.reissuedAs !== undefined);
}

export const DEFAULT_RETURN_WINDOW_DAYS = 30;
const DAY_MS = 24 * 3600 * 1000;

/**
 * Guard of a manual `mark_failed`: from `processing` always; from `paid` (a return) only within the
 * return window after it was paid. A return reported by the bank is not limited (see settlement).
 */
export function checkManualFailure(
  payout: { status: PayoutStatus; paidAt?: string | undefined },
  now: number,
  returnWindowDays: number,
): { returned: boolean } {
  const transition = transitionFor('mark_failed', payout.status);
  if (payout.status !== 'paid') return { returned: false };
  const paidAt = payout.paidAt ? Date.parse(payout.paidAt) : Number.NaN;
  if (!Number.isFinite(paidAt) || now - paidAt > returnWindowDays * DAY_MS) {
    throw new InvalidTransition(
      `A paid payout can be marked failed (returned) only within ${returnWindowDays} days of its payment`,
      { data: { status: payout.status, action: 'mark_failed', returnWindowDays, to: transition.to } },
    );
  }
  return { returned: true };
}

/** Guard of `reissue` and of `cancel` on a failed payout: not reissued already. */
export function checkNotReissued(
  payout: { status: PayoutStatus; reissuedAs?: string | undefined },
  action: 'reissue' | 'cancel',
): void {
  transitionFor(action, payout.status);
  if (payout.status === 'failed' && payout.reissuedAs !== undefined) {
    throw new InvalidTransition(`The payout was reissued as ${payout.reissuedAs}`, {
      data: { status: payout.status, action, reissuedAs: payout.reissuedAs },
    });
  }
}

/** The transition for `action` from `status`, or InvalidTransition. */
export function transitionFor(action: PayoutAction, status: PayoutStatus): Transition {
  const transition = TRANSITIONS[action];
  if (!transition.from.includes(status)) {
    throw new InvalidTransition(`Cannot ${action.replace('_', ' ')} a payout that is ${status}`, {
      data: { status, action },
    });
  }
  return transition;
}

export interface RewardLine {
  id: string;
  amount: number;
  status: RewardStatus;
}

/** A payout's amount: the exact sum of its non-refused rewards (clawbacks included). */
export function payoutAmount(rewards: readonly RewardLine[]): number {
  return sumMinor(rewards.filter((reward) => reward.status !== 'refused').map((reward) => reward.amount));
}

export interface Totals {
  amount: number;
  rewardCount: number;
}

export function payoutTotals(rewards: readonly RewardLine[]): Totals {
  return { amount: payoutAmount(rewards), rewardCount: rewards.length };
}

/** Guard of `validate` (draft → pending): every reward decided, a positive total. */
export function checkManagerValidation(rewards: readonly RewardLine[]): Totals {
  const undecided = rewards.filter((reward) => reward.status === 'pending');
  if (undecided.length > 0) {
    throw new RuleViolation(
      'rewards_not_reviewed',
      `${undecided.length} reward(s) still pending a decision`,
      {
        data: { rewardIds: undecided.map((reward) => reward.id) },
      },
    );
  }
  const totals = payoutTotals(rewards);
  if (totals.amount <= 0) {
    throw new RuleViolation(
      'non_positive_amount',
      `The payout amount must be positive (is ${totals.amount})`,
    );
  }
  return totals;
}

export interface PartnerValidationInput {
  rewards: readonly RewardLine[];
  requirements: {
    invoice: boolean;
    invoiceMode?: 'none' | 'upload' | 'self_billed' | undefined;
    rewardReview: boolean;
  };
  hasInvoice: boolean;
  reviews: Readonly<Record<string, { decision: ReviewDecision }>>;
}

/** Guard of `partner_validate` (pending → ready). */
export function checkPartnerValidation(input: PartnerValidationInput): void {
  const counted = input.rewards.filter((reward) => reward.status !== 'refused');
  const disputed = counted.filter((reward) => input.reviews[reward.id]?.decision === 'dispute');
  if (disputed.length > 0) {
    throw new RuleViolation('rewards_disputed', `${disputed.length} reward(s) are disputed`, {
      data: { rewardIds: disputed.map((reward) => reward.id) },
    });
  }
  // An upload is needed in `upload` mode (payouts validated before the modes: `invoice` alone).
  const uploadRequired =
    (input.requirements.invoiceMode ?? (input.requirements.invoice ? 'upload' : 'none')) === 'upload';
  if (uploadRequired && !input.hasInvoice) {
    throw new RuleViolation('invoice_required', 'Upload an invoice before validating this payout');
  }
  if (input.requirements.rewardReview) {
    const unreviewed = counted.filter((reward) => input.reviews[reward.id]?.decision !== 'approve');
    if (unreviewed.length > 0) {
      throw new RuleViolation(
        'rewards_review_required',
        `${unreviewed.length} reward(s) still need your review`,
        {
          data: { rewardIds: unreviewed.map((reward) => reward.id) },
        },
      );
    }
  }
}

/** A manager may accept or refuse a reward that is in no payout, or in a draft one, and not yet paid. */
export function checkRewardDecision(
  reward: { status: RewardStatus },
  payoutStatus: PayoutStatus | null,
): void {
  if (reward.status === 'paid') throw new InvalidTransition('A paid reward cannot change');
  if (payoutStatus !== null && payoutStatus !== 'draft') {
    throw new InvalidTransition(`The reward is in a ${payoutStatus} payout; decisions are taken in draft`);
  }
}

/** A partner reviews the rewards of a pending payout; a refused reward needs no review. */
export function checkPartnerReview(payoutStatus: PayoutStatus, reward: { status: RewardStatus }): void {
  if (payoutStatus !== 'pending')
    throw new InvalidTransition(`Rewards are reviewed while the payout is pending`);
  if (reward.status === 'refused') throw new InvalidTransition('A refused reward cannot be reviewed');
}

/** Rewards that a payout may claim: in no payout, pending or accepted. */
export function isClaimable(reward: { status: RewardStatus; payoutId: string | null }): boolean {
  return reward.payoutId === null && (reward.status === 'pending' || reward.status === 'accepted');
}
