/**
 * Four-eyes approval: a payout at or above its currency's threshold is approved, while ready, by a
 * finance user other than the one who validated it; the approval is bound to a hash of the amount,
 * the rewards and the payout-method snapshot, so any change of those voids it. Exports and manual
 * mark-paid ask here.
 */
import {
  getPayoutItem,
  newEvent,
  type PayoutItem,
  toPayout,
  updatePayout,
} from '../adapters/payout-store.ts';
import { type Page, queryPage } from '../adapters/table.ts';
import { signalPayoutWorkflow } from '../adapters/workflow.ts';
import { approvalThresholds } from '../config/controls.ts';
import { type ApprovedContent, approvalHash, isApproved, needsApproval } from '../domain/controls.ts';
import { InvalidTransition, RuleViolation } from '../domain/errors.ts';
import type { Actor, Payout } from '../domain/schemas.ts';
import { assertPayoutNotHeld } from './hold-checks.ts';

const nowIso = () => new Date().toISOString();

/**
 * The payout keeps no list of its rewards (see ../adapters/payout-history.ts): validation records a
 * digest of the ids it validated (`rewardsDigest`), and the approval is bound to that.
 */
export function approvedContent(
  item: Pick<PayoutItem, 'amount' | 'currency' | 'rewardsDigest' | 'payoutMethod'>,
): ApprovedContent {
  return {
    amount: item.amount,
    currency: item.currency,
    rewardIds: item.rewardsDigest ? [item.rewardsDigest] : [],
    payoutMethod: item.payoutMethod ?? null,
  };
}

/** Whether the payout needs an approval it does not hold (a valid one, bound to what it is now). */
export function lacksApproval(
  item: Pick<
    PayoutItem,
    'amount' | 'currency' | 'rewardsDigest' | 'payoutMethod' | 'approval' | 'approvalHash'
  >,
): boolean {
  if (!needsApproval(item, approvalThresholds())) return false;
  const approval =
    item.approval && item.approvalHash ? { ...item.approval, hash: item.approvalHash } : undefined;
  return !isApproved(approval, approvedContent(item));
}

/** Whether a payout of this amount needs an approval at all. */
export function aboveThreshold(payout: Pick<Payout, 'amount' | 'currency'>): boolean {
  return needsApproval(payout, approvalThresholds());
}

/** The user who validated the payout (draft → pending) last (recorded by the validation). */
export function validatorOf(item: Pick<PayoutItem, 'validatedBy'>): string | undefined {
  return item.validatedBy;
}

export async function approvePayout(id: string, note: string | undefined, actor: Actor): Promise<Payout> {
  const item = await getPayoutItem(id);
  if (item.status !== 'ready') {
    throw new InvalidTransition(`A payout is approved while ready; this one is ${item.status}`, {
      data: { status: item.status, action: 'approve' },
    });
  }
  if (!aboveThreshold(item)) {
    throw new RuleViolation(
      'approval_not_required',
      'This payout is below the approval threshold of its currency',
    );
  }
  await assertPayoutNotHeld(item);
  if (validatorOf(item) === actor.id) {
    throw new RuleViolation('same_user', 'The user who validated a payout cannot approve it', {
      data: { user: actor.id },
    });
  }
  const at = nowIso();
  const hash = approvalHash(approvedContent(item));
  const approval = {
    by: actor.id,
    ...(actor.roles ? { roles: actor.roles } : {}),
    at,
    ...(note ? { note } : {}),
  };
  const updated = await updatePayout(id, {
    from: ['ready'],
    version: item.version,
    set: { approval, approvalHash: hash },
    events: [
      newEvent('payout.approved', actor, at, { data: { ...(note ? { note } : {}), amount: item.amount } }),
    ],
    at,
  });
  // Wakes the workflow parked on `ready`: its sync publishes `payout.approved` and parks again.
  await signalPayoutWorkflow(updated, 'ready');
  return toPayout(updated);
}

/**
 * Manual mark-paid of a payout above the threshold: it must hold a valid approval, and the one who
 * exported it may not also confirm it paid. (A matched bank report is exempt: it does not come here.)
 */
export function checkManualPayment(item: PayoutItem, actor: Actor, exporter: string | undefined): void {
  if (item.methodReleasedBy !== undefined && item.methodReleasedBy === actor.id) {
    throw new RuleViolation(
      'same_user',
      'The user who released the payout-method-change hold cannot mark this payout paid',
      { data: { user: actor.id } },
    );
  }
  if (!aboveThreshold(item)) return;
  if (lacksApproval(item)) {
    throw new RuleViolation('approval_required', `Payout ${item.id} needs an approval before it is paid`, {
      data: { payoutIds: [item.id] },
    });
  }
  if (exporter !== undefined && exporter === actor.id) {
    throw new RuleViolation('same_user', 'The user who exported this payout cannot also mark it paid', {
      data: { user: actor.id },
    });
  }
}

/**
 * `GET /payouts?needsApproval=true`: ready payouts at or above their currency's threshold (a filter
 * on the status index) that lack a valid approval (checked on the full item: a page may come short).
 */
export async function listPayoutsNeedingApproval(filter: {
  partnerId?: string | undefined;
  currency?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}): Promise<Page<Payout>> {
  const thresholds = [...approvalThresholds()].filter(
    ([currency]) => filter.currency === undefined || currency === filter.currency,
  );
  if (thresholds.length === 0) return { items: [], nextCursor: null };
  const names: Record<string, string> = { '#currency': 'currency', '#amount': 'amount' };
  const values: Record<string, unknown> = {};
  const clauses = thresholds.map(([currency, threshold], index) => {
    values[`:c${index}`] = currency;
    values[`:t${index}`] = threshold;
    return `(#currency = :c${index} AND #amount >= :t${index})`;
  });
  // One threshold needs no outer parentheses: DynamoDB refuses redundant ones (a 400 otherwise).
  let expression = clauses.length === 1 ? (clauses[0] ?? '') : `(${clauses.join(' OR ')})`;
  if (filter.partnerId) {
    expression += ' AND #partnerId = :partnerId';
    names['#partnerId'] = 'partnerId';
    values[':partnerId'] = filter.partnerId;
  }
  const page = await queryPage({
    index: 'GSI2',
    partition: { name: 'GSI2PK', value: 'PAYOUT_STATUS#ready' },
    filter: { expression, names, values },
    limit: filter.limit,
    cursor: filter.cursor,
  });
  const items = (page.items as unknown as PayoutItem[]).filter((item) => lacksApproval(item)).map(toPayout);
  return { items, nextCursor: page.nextCursor };
}
