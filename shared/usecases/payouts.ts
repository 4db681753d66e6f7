/** The payout lifecycle: drafting, transitions, partner review, history, follow-ups. */

import { findExport } from '../adapters/export-store.ts';
import { logger } from '../adapters/observability.ts';
import { findPartnerItem as findPartner, findPartnerItem } from '../adapters/partner-store.ts';
import { findReviews, loadReviews, readHistory, toEvent } from '../adapters/payout-history.ts';
import {
  findPayoutItem,
  findPayoutView,
  forEachLimited,
  getPayoutItem,
  getRewardItems,
  loadPayoutRewards,
  markRewardPaid,
  moveReward,
  type NewPayoutItem,
  newEvent,
  PAYOUT_VIEW,
  type PayoutItem,
  putNewPayout,
  releaseReward,
  toPayout,
  toReward,
  unpayReward,
  updatePayout,
} from '../adapters/payout-store.ts';
import {
  decodeCursor,
  encodeCursor,
  isConditionalCheckFailed,
  type Page,
  queryPage,
  unclaimedShard,
} from '../adapters/table.ts';
import { signalPayoutWorkflow, startPayoutWorkflow } from '../adapters/workflow.ts';
import { returnWindowDays } from '../config/lifecycle.ts';
import { rewardsDigest } from '../domain/controls.ts';
import { Conflict, InvalidTransition, NotFound, RuleViolation, ValidationFailed } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import {
  checkManagerValidation,
  checkManualFailure,
  checkNotReissued,
  checkPartnerReview,
  checkPartnerValidation,
  transitionFor,
} from '../domain/payout-rules.ts';
import type {
  Actor,
  CreatePayout,
  MarkFailed,
  MarkPaid,
  Payout,
  PayoutEvent,
  PayoutStatus,
  ReviewReward,
  Reward,
  ValidatePayout,
} from '../domain/schemas.ts';
import {
  amountsToPay,
  assertSelfBillingActive,
  documentsDue,
  resolveInvoiceMode,
  selfBillingState,
  seriesPrefixOf,
} from '../domain/self-billing.ts';
import { checkManualPayment, listPayoutsNeedingApproval } from './approvals.ts';
import { draftNewPayout, MAX_REWARDS_PER_PAYOUT } from './draft-writer.ts';
import {
  activeHoldsOfPartner,
  assertPayoutNotHeld,
  assertRewardsNotHeld,
  holdMarkers,
  showHolds,
  unheldRewards,
  withHolds,
} from './hold-checks.ts';
import { enforcePayoutRate } from './rate-limits.ts';
import { type SettleResult, settleFailed, settlePaid } from './settlement.ts';

const nowIso = () => new Date().toISOString();
const CLAIM_CONCURRENCY = 16;

export { MAX_REWARDS_PER_PAYOUT };

// ------------------------------------------------------------------ drafting

/** Unclaimed pending/accepted rewards of one partner and currency, from the sparse index. */
export async function eligibleRewards(partnerId: string, currency: string, limit: number): Promise<Reward[]> {
  const page = await queryPage({
    index: 'GSI3',
    partition: { name: 'GSI3PK', value: `UNCLAIMED#${unclaimedShard(partnerId)}` },
    sortPrefix: { name: 'GSI3SK', value: `${partnerId}#${currency}#` },
    limit,
  });
  return page.items.map(toReward);
}

async function explicitRewards(input: CreatePayout & { rewardIds: string[] }): Promise<Reward[]> {
  const rewards = (await getRewardItems(input.rewardIds))
    .filter((item) => item.type === 'reward')
    .map(toReward);
  const found = new Set(rewards.map((reward) => reward.id));
  const missing = input.rewardIds.filter((id) => !found.has(id));
  const fieldErrors = (ids: string[], message: string) =>
    ids.map((id) => ({ path: `rewardIds[${input.rewardIds.indexOf(id)}]`, message }));
  if (missing.length > 0) {
    throw new RuleViolation('unknown_reward', `Unknown reward(s): ${missing.join(', ')}`, {
      errors: fieldErrors(missing, 'unknown reward'),
    });
  }
  const foreign = rewards.filter((reward) => reward.partnerId !== input.partnerId).map((reward) => reward.id);
  if (foreign.length > 0) {
    throw new RuleViolation('partner_mismatch', 'Rewards of another partner cannot join this payout', {
      errors: fieldErrors(foreign, 'belongs to another partner'),
    });
  }
  const otherCurrency = rewards
    .filter((reward) => reward.currency !== input.currency)
    .map((reward) => reward.id);
  if (otherCurrency.length > 0) {
    throw new RuleViolation('currency_mismatch', `Rewards must be in ${input.currency}`, {
      errors: fieldErrors(otherCurrency, `not in ${input.currency}`),
    });
  }
  const claimed = rewards.filter((reward) => reward.payoutId !== null).map((reward) => reward.id);
  if (claimed.length > 0) {
    throw new Conflict('Reward(s) already belong to a payout', {
      errors: fieldErrors(claimed, 'already in a payout'),
    });
  }
  const ineligible = rewards
    .filter((reward) => reward.status !== 'pending' && reward.status !== 'accepted')
    .map((reward) => reward.id);
  if (ineligible.length > 0) {
    throw new RuleViolation('reward_not_eligible', 'Only pending or accepted rewards can be paid out', {
      errors: fieldErrors(ineligible, 'not pending or accepted'),
    });
  }
  return rewards;
}

/**
 * Drafts a payout of the partner's unclaimed rewards in that currency (or of the rewards named), by
 * the one draft-writing protocol (./draft-writer.ts). With explicit reward ids, a lost race rolls the
 * claims back and answers 409.
 */
export async function createPayout(input: CreatePayout, actor: Actor): Promise<Payout> {
  if (!(await findPartner(input.partnerId))) {
    throw new RuleViolation('unknown_partner', `No partner ${input.partnerId}`, {
      errors: [{ path: 'partnerId', message: 'unknown partner' }],
    });
  }
  const holds = await activeHoldsOfPartner(input.partnerId);
  const candidates = input.rewardIds
    ? assertRewardsNotHeld(await explicitRewards({ ...input, rewardIds: input.rewardIds }), holds)
    : unheldRewards(await eligibleRewards(input.partnerId, input.currency, MAX_REWARDS_PER_PAYOUT), holds);
  if (candidates.length === 0) {
    throw new RuleViolation(
      'no_eligible_rewards',
      `No unclaimed ${input.currency} rewards for ${input.partnerId}`,
    );
  }
  return toPayout(
    await draftNewPayout({
      partnerId: input.partnerId,
      currency: input.currency,
      candidates,
      allOrNothing: input.rewardIds !== undefined,
      actor,
    }),
  );
}

// ------------------------------------------------------------------ reads

/**
 * A payout as a manager sees it. Its partner is known only once it is read, so every active hold
 * marker is read beside it (holds are exceptions: one short Query), and only its partner's are
 * confirmed.
 */
export async function getPayout(id: string): Promise<Payout> {
  const [item, markers] = await Promise.all([findPayoutView(id), holdMarkers()]);
  if (!item) throw new NotFound(`No payout ${id}`);
  return (await showHolds([toPayout(item)], markers))[0] as Payout;
}

/** A partner sees only its own payouts, and never a draft: anything else is a 404 like an unknown id. */
export async function getPartnerPayoutItem(partnerId: string, id: string): Promise<PayoutItem> {
  const item = await findPayoutItem(id);
  if (!item || item.partnerId !== partnerId || item.status === 'draft') throw new NotFound(`No payout ${id}`);
  return item;
}

export interface PayoutFilter {
  status?: PayoutStatus | undefined;
  needsApproval?: boolean | undefined;
  partnerId?: string | undefined;
  currency?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

export async function listPayouts(filter: PayoutFilter): Promise<Page<Payout>> {
  if (filter.needsApproval) {
    const page = await listPayoutsNeedingApproval(filter);
    return { items: await withHolds(page.items), nextCursor: page.nextCursor };
  }
  const conditions: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const add = (field: string, value: string | undefined) => {
    if (value === undefined) return;
    conditions.push(`#${field} = :${field}`);
    names[`#${field}`] = field;
    values[`:${field}`] = value;
  };
  add('currency', filter.currency);
  let page: Page<Record<string, unknown>>;
  if (filter.status) {
    add('partnerId', filter.partnerId);
    page = await queryPage({
      index: 'GSI2',
      partition: { name: 'GSI2PK', value: `PAYOUT_STATUS#${filter.status}` },
      filter: conditions.length ? { expression: conditions.join(' AND '), names, values } : undefined,
      limit: filter.limit,
      cursor: filter.cursor,
      projection: PAYOUT_VIEW,
    });
  } else if (filter.partnerId) {
    page = await queryPage({
      index: 'GSI1',
      partition: { name: 'GSI1PK', value: `PARTNER#${filter.partnerId}` },
      sortPrefix: { name: 'GSI1SK', value: 'PO#' },
      filter: conditions.length ? { expression: conditions.join(' AND '), names, values } : undefined,
      limit: filter.limit,
      cursor: filter.cursor,
      projection: PAYOUT_VIEW,
    });
  } else {
    page = await queryPage({
      index: 'GSI4',
      partition: { name: 'GSI4PK', value: 'PAYOUTS' },
      filter: conditions.length ? { expression: conditions.join(' AND '), names, values } : undefined,
      limit: filter.limit,
      cursor: filter.cursor,
      projection: PAYOUT_VIEW,
    });
  }
  return { items: await withHolds(page.items.map(toPayout)), nextCursor: page.nextCursor };
}

export async function listPartnerPayouts(
  partnerId: string,
  filter: { status?: PayoutStatus | undefined; limit: number; cursor?: string | undefined },
): Promise<Page<Payout>> {
  const names: Record<string, string> = { '#status': 'status' };
  const values: Record<string, unknown> = { ':draft': 'draft' };
  let expression = '#status <> :draft';
  if (filter.status) {
    expression += ' AND #status = :status';
    values[':status'] = filter.status;
  }
  const [page, markers] = await Promise.all([
    queryPage({
      index: 'GSI1',
      partition: { name: 'GSI1PK', value: `PARTNER#${partnerId}` },
      sortPrefix: { name: 'GSI1SK', value: 'PO#' },
      filter: { expression, names, values },
      limit: filter.limit,
      cursor: filter.cursor,
      projection: PAYOUT_VIEW,
    }),
    holdMarkers(partnerId),
  ]);
  return { items: await showHolds(page.items.map(toPayout), markers), nextCursor: page.nextCursor };
}

/** A partner's own payout, with the holds it shows (both read at once). */
export async function getPartnerPayout(partnerId: string, id: string): Promise<Payout> {
  const [item, markers] = await Promise.all([getPartnerPayoutItem(partnerId, id), holdMarkers(partnerId)]);
  return (await showHolds([toPayout(item)], markers))[0] as Payout;
}

/** The rewards of a payout, with the partner's review decisions of the current review round. */
export async function listPayoutRewards(
  item: PayoutItem,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<Reward>> {
  const result = await queryPage({
    index: 'GSI2',
    partition: { name: 'GSI2PK', value: `PAYOUT#${item.id}` },
    limit: page.limit,
    cursor: page.cursor,
  });
  const rewards = result.items.map(toReward);
  const reviews = await findReviews(
    item,
    rewards.map((reward) => reward.id),
  );
  const items = rewards.map((reward) => {
    const review = reviews.get(reward.id);
    return review ? { ...reward, review } : reward;
  });
  return { items, nextCursor: result.nextCursor };
}

/** The payout's history, oldest first, paged by entry number (see ../adapters/payout-history.ts). */
export async function listPayoutEvents(
  item: PayoutItem,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<PayoutEvent>> {
  const identity = { events: item.id };
  const after = page.cursor ? Number(decodeCursor(page.cursor, ['after'], identity).after) : 0;
  if (!Number.isSafeInteger(after) || after < 0 || after > (item.seq ?? 0)) {
    throw new ValidationFailed('The cursor is invalid', {
      errors: [{ path: 'cursor', message: 'invalid cursor' }],
    });
  }
  const entries = await readHistory(item, { afterSeq: after, limit: page.limit });
  const last = entries.at(-1)?.seq ?? after;
  return {
    items: entries.map(toEvent),
    nextCursor: last < (item.seq ?? 0) ? encodeCursor({ after: String(last) }, identity) : null,
  };
}

// ------------------------------------------------------------------ transitions

interface TransitionOptions {
  ifMatch?: number | undefined;
}

function assertNoLease(item: PayoutItem, at: string): void {
  if (item.leaseUntil !== undefined && item.leaseUntil >= Date.parse(at)) {
    throw new Conflict('The payout is being changed by another request; retry in a moment');
  }
}

/** draft → pending: every reward decided, a positive total; starts a fresh partner review. */
export async function validatePayout(
  id: string,
  body: ValidatePayout,
  actor: Actor,
  options: TransitionOptions = {},
): Promise<Payout> {
  const item = await getPayoutItem(id);
  const transition = transitionFor('validate', item.status);
  const at = nowIso();
  assertNoLease(item, at);
  const rewards = await loadPayoutRewards(item);
  await assertPayoutNotHeld(item, rewards);
  const totals = checkManagerValidation(rewards);
  const partner = await findPartnerItem(item.partnerId);
  const now = new Date(at);
  const invoiceMode = resolveInvoiceMode(body, partner ? selfBillingState(partner, now).active : false);
  if (invoiceMode === 'self_billed') assertSelfBillingActive(partner ?? { id: item.partnerId }, now);
  const requirements = {
    invoice: invoiceMode !== 'none',
    invoiceMode,
    rewardReview: body.requireRewardReview ?? false,
  };
  // The partner's billing details as validated: the preview, the invoice and the VAT follow them.
  const snapshot =
    invoiceMode === 'self_billed' && partner?.billing && partner.address
      ? { billing: partner.billing, address: partner.address, seriesPrefix: seriesPrefixOf(partner) }
      : undefined;
  const { vatAmount, amountToPay } = amountsToPay(totals.amount, invoiceMode, snapshot?.billing);
  const updated = await updatePayout(id, {
    from: transition.from,
    version: item.version,
    ifMatch: options.ifMatch,
    respectLease: true,
    to: transition.to,
    set: {
      amount: totals.amount,
      rewardCount: totals.rewardCount,
      memberCount: rewards.length,
      // The approval binds these rewards (../usecases/approvals.ts); the validator may not approve.
      rewardsDigest: rewardsDigest(rewards.map((reward) => reward.id)),
      validatedBy: actor.id,
      requirements,
      validatedAt: at,
      // A fresh partner review: reviews of earlier rounds no longer count, reminders start again.
      reviewRound: (item.reviewRound ?? 0) + 1,
      reminders: 0,
      amountToPay,
      ...(vatAmount ? { vatAmount } : {}),
      ...(snapshot ? { selfBillingSnapshot: snapshot } : {}),
      ...(body.message ? { message: body.message } : {}),
    },
    remove: [
      ...(body.message ? [] : ['message']),
      ...(vatAmount ? [] : ['vatAmount']),
      ...(snapshot ? [] : ['selfBillingSnapshot']),
      'approval',
      'approvalHash',
    ],
    events: [
      newEvent(transition.event, actor, at, {
        from: item.status,
        to: transition.to,
        data: { amount: totals.amount, rewardCount: totals.rewardCount, requirements },
      }),
    ],
    at,
  });
  await signalPayoutWorkflow(updated, item.status);
  return toPayout(updated);
}

/** pending → ready, by the partner: invoice if required, every counted reward approved if required, no dispute. */
export async function partnerValidatePayout(
  partnerId: string,
  id: string,
  actor: Actor,
  options: TransitionOptions = {},
): Promise<Payout> {
  const item = await getPartnerPayoutItem(partnerId, id);
  const transition = transitionFor('partner_validate', item.status);
  if (item.requirements.invoiceMode === 'self_billed') {
    // Validating is the partner's acceptance of the self-billed invoice: their agreement must hold.
    assertSelfBillingActive((await findPartnerItem(partnerId)) ?? { id: partnerId }, new Date());
  }
  const rewards = await loadPayoutRewards(item);
  await assertPayoutNotHeld(item, rewards);
  checkPartnerValidation({
    rewards,
    requirements: item.requirements,
    hasInvoice: item.invoice !== undefined,
    reviews: Object.fromEntries(await loadReviews(item)),
  });
  const payoutMethod = (await findPartner(partnerId))?.payoutMethod;
  const at = nowIso();
  const updated = await updatePayout(id, {
    from: transition.from,
    version: item.version,
    ifMatch: options.ifMatch,
    to: transition.to,
    // What was validated includes where the money goes: exports pay this snapshot.
    set: { partnerValidatedAt: at, ...(payoutMethod ? { payoutMethod } : {}) },
    events: [newEvent(transition.event, actor, at, { from: item.status, to: transition.to })],
    at,
  });
  await signalPayoutWorkflow(updated, item.status);
  return toPayout(updated);
}

/** pending → draft, by the partner, with a comment for the manager. */
export async function requestChanges(
  partnerId: string,
  id: string,
  comment: string,
  actor: Actor,
  options: TransitionOptions = {},
): Promise<Payout> {
  const item = await getPartnerPayoutItem(partnerId, id);
  const transition = transitionFor('request_changes', item.status);
  const at = nowIso();
  const updated = await updatePayout(id, {
    from: transition.from,
    version: item.version,
    ifMatch: options.ifMatch,
    to: transition.to,
    events: [
      newEvent(transition.event, actor, at, { from: item.status, to: transition.to, data: { comment } }),
    ],
    at,
  });
  await signalPayoutWorkflow(updated, item.status);
  return toPayout(updated);
}

/**
 * ready | processing → paid by hand (ready: paid outside any file); then its rewards become paid
 * (idempotent follow-up, retried by the workflow). See settlement.ts.
 */
export async function markPayoutPaid(
  id: string,
  body: MarkPaid,
  actor: Actor,
  options: TransitionOptions = {},
): Promise<Payout> {
  const item = await getPayoutItem(id);
  transitionFor('mark_paid', item.status);
  await assertPayoutNotHeld(item);
  checkManualPayment(item, actor, await exporterOf(item));
  const result = await settlePaid(id, {
    source: 'manual',
    at: body.paidAt ?? nowIso(),
    paymentReference: body.paymentReference,
    actor,
    ifMatch: options.ifMatch,
  });
  return settled(result);
}

/**
 * processing → failed by hand, or paid → failed (a return) within RETURN_WINDOW_DAYS of the payment.
 * The partner is told why in plain words; rewards that were paid go back to accepted.
 */
export async function markPayoutFailed(
  id: string,
  body: MarkFailed,
  actor: Actor,
  options: TransitionOptions & { returnWindowDays?: number } = {},
): Promise<Payout> {
  const item = await getPayoutItem(id);
  const { returned } = checkManualFailure(item, Date.now(), options.returnWindowDays ?? returnWindowDays());
  const result = await settleFailed(id, {
    source: 'manual',
    code: body.code,
    reason: body.reason,
    returned,
    at: nowIso(),
    actor,
    ifMatch: options.ifMatch,
  });
  return settled(result);
}

function settled(result: SettleResult): Payout {
  switch (result.result) {
    case 'not_found':
      throw new NotFound(`No payout ${result.payoutId}`);
    case 'invalid_transition':
      throw new InvalidTransition(result.detail, { data: { status: result.payout.status } });
    case 'already_applied':
      throw new InvalidTransition(`The payout is already ${result.payout.status}`, {
        data: { status: result.payout.status },
      });
    default:
      return result.payout;
  }
}

/**
 * failed → reissued: a new payout in `ready` (the partner's current payout method is read at its
 * export) takes the failed one's rewards; both are linked (`reissueOf` / `reissuedAs`). The failed
 * payout keeps its amount and history. 409 once reissued.
 *
 * Order (a crash after any step converges): the failed payout names its reissue first (conditional:
 * failed and not reissued), then the new payout is written, then the rewards move one conditional
 * write each (the workflow of the failed payout moves any left, see `moveReissuedRewards`).
 */
export async function reissuePayout(
  id: string,
  actor: Actor,
  options: TransitionOptions = {},
): Promise<Payout> {
  const item = await getPayoutItem(id);
  checkNotReissued(item, 'reissue');
  const transition = transitionFor('reissue', item.status);
  const at = nowIso();
  const newPayoutId = newId('payout');
  const marked = await updatePayout(id, {
    from: transition.from,
    version: item.version,
    ifMatch: options.ifMatch,
    set: { reissuedAs: newPayoutId, reissuedAt: at },
    condition: {
      expression: 'attribute_not_exists(reissuedAs)',
      error: () => new InvalidTransition('The payout was reissued meanwhile'),
    },
    events: [newEvent(transition.event, actor, at, { data: { reissuedAs: newPayoutId } })],
    at,
  });
  const reissued = await writeReissue(marked, actor, at);
  await followUp(() => moveReissuedRewards(id), id, 'move rewards to the reissue');
  await signalPayoutWorkflow(marked, 'failed');
  await startPayoutWorkflow(reissued.id, 'ready');
  return toPayout((await findPayoutItem(reissued.id)) ?? reissued);
}

/** The new payout of a reissue (idempotent: an existing one is kept). */
async function writeReissue(failed: PayoutItem, actor: Actor, at: string): Promise<PayoutItem> {
  const id = failed.reissuedAs as string;
  const existing = await findPayoutItem(id);
  if (existing) return existing;
  const item: NewPayoutItem = {
    id,
    partnerId: failed.partnerId,
    currency: failed.currency,
    status: 'ready',
    amount: failed.amount,
    rewardCount: failed.rewardCount,
    requirements: failed.requirements,
    // The same supply: the reissue keeps what to pay and the self-billed invoice already issued.
    ...(failed.amountToPay !== undefined ? { amountToPay: failed.amountToPay } : {}),
    ...(failed.vatAmount !== undefined ? { vatAmount: failed.vatAmount } : {}),
    ...(failed.selfBillingSnapshot ? { selfBillingSnapshot: failed.selfBillingSnapshot } : {}),
    ...(failed.selfBilledInvoice ? { selfBilledInvoice: failed.selfBilledInvoice } : {}),
    reissueOf: failed.id,
    createdAt: at,
    updatedAt: at,
    validatedAt: at,
    partnerValidatedAt: at,
    version: 1,
    events: [newEvent('payout.drafted', actor, at, { to: 'ready', data: { reissueOf: failed.id } })],
    // The rewards move over after this write; until then the count says how many to expect.
    memberCount: failed.memberCount ?? 0,
  };
  try {
    await putNewPayout(item);
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
  return (await findPayoutItem(id)) ?? (item as unknown as PayoutItem);
}

/** Moves every reward still on a reissued failed payout to its reissue. Safe to run again. */
export async function moveReissuedRewards(id: string): Promise<number> {
  const item = await getPayoutItem(id);
  if (item.status !== 'failed' || !item.reissuedAs) return 0;
  const target = item.reissuedAs;
  await writeReissue(item, { role: 'system', id: 'workflow' }, item.updatedAt);
  const rewards = await loadPayoutRewards(item);
  const at = nowIso();
  await forEachLimited(rewards, CLAIM_CONCURRENCY, (reward) => moveReward(reward.id, id, target, at));
  return rewards.length;
}

/** draft | pending | ready | failed (not reissued) → cancelled; its rewards are released and can be drafted again. */
export async function cancelPayout(
  id: string,
  reason: string | undefined,
  actor: Actor,
  options: TransitionOptions = {},
): Promise<Payout> {
  const item = await getPayoutItem(id);
  checkNotReissued(item, 'cancel');
  const transition = transitionFor('cancel', item.status);
  const at = nowIso();
  const updated = await updatePayout(id, {
    from: transition.from,
    version: item.version,
    ifMatch: options.ifMatch,
    to: transition.to,
    set: { cancelledAt: at, ...(reason ? { cancelReason: reason } : {}) },
    condition: {
      expression: 'attribute_not_exists(reissuedAs)',
      error: () => new InvalidTransition('The payout was reissued meanwhile'),
    },
    events: [
      newEvent(transition.event, actor, at, {
        from: item.status,
        to: transition.to,
        data: reason ? { reason } : {},
      }),
    ],
    at,
  });
  await followUp(() => releasePayoutRewards(id), id, 'release rewards');
  await signalPayoutWorkflow(updated, item.status);
  return toPayout(updated);
}

/** The partner approves or disputes one reward of a pending payout; recorded on the payout with its history. */
export async function reviewReward(
  partnerId: string,
  id: string,
  rewardId: string,
  body: ReviewReward,
  actor: Actor,
): Promise<Reward> {
  const item = await getPartnerPayoutItem(partnerId, id);
  await enforcePayoutRate('review', id);
  const [rewardItem] = await getRewardItems([rewardId]);
  if (!rewardItem || rewardItem.payoutId !== id) throw new NotFound(`No reward ${rewardId} in payout ${id}`);
  const reward = toReward(rewardItem);
  checkPartnerReview(item.status, reward);
  const at = nowIso();
  const review = { decision: body.decision, ...(body.comment ? { comment: body.comment } : {}), at };
  // The review is its history entry; its own item (the latest decision per reward) is written from
  // the entry once committed. `round` ties it to this review round.
  await updatePayout(id, {
    from: ['pending'],
    events: [
      {
        ...newEvent(`reward.${body.decision === 'approve' ? 'approved' : 'disputed'}`, actor, at, {
          data: { rewardId, ...review },
        }),
        round: item.reviewRound ?? 0,
      },
    ],
    at,
  });
  return { ...reward, review };
}

// ------------------------------------------------------------------ follow-ups (idempotent)

async function followUp(work: () => Promise<unknown>, payoutId: string, what: string): Promise<void> {
  try {
    await work();
  } catch (error) {
    // The transition is committed; the workflow retries the follow-up until it is done.
    logger.warn(`Follow-up failed: ${what}; the workflow will retry`, { payoutId, error });
  }
}

/**
 * Clears the payoutId of every reward of a cancelled payout. Safe to run again.
 *
 * Not while the payout's self-billed invoice is still due (the partner validated it, the cancel came
 * before the workflow issued it): the invoice is made from the payout's rewards, so they stay on it
 * until it is issued. The workflow issues it (and its credit note) before it releases the rewards.
 */
export async function releasePayoutRewards(id: string): Promise<number> {
  const item = await getPayoutItem(id);
  if (item.status !== 'cancelled') return 0;
  if (documentsDue(item).invoice) return 0;
  const rewards = await loadPayoutRewards(item);
  const at = nowIso();
  await forEachLimited(rewards, CLAIM_CONCURRENCY, async (reward) => {
    // A failed payout's rewards went back to accepted; one left paid by a crash goes back now.
    if (reward.status === 'paid' && item.failedAt !== undefined) {
      await unpayReward(reward.id, id, at);
      await releaseReward({ ...reward, status: 'accepted' }, id, at);
      return;
    }
    await releaseReward(reward, id, at);
  });
  return rewards.length;
}

/** Marks every counted reward of a paid payout paid. Safe to run again. */
export async function markPayoutRewardsPaid(id: string): Promise<number> {
  const item = await getPayoutItem(id);
  if (item.status !== 'paid') return 0;
  const rewards = (await loadPayoutRewards(item)).filter(
    (reward) => reward.status !== 'refused' && reward.status !== 'paid',
  );
  const at = item.paidAt ?? nowIso();
  await forEachLimited(rewards, CLAIM_CONCURRENCY, (reward) => markRewardPaid(reward.id, id, at));
  return rewards.length;
}

/** Who exported the payout last (its latest export), if it was exported. */
async function exporterOf(item: PayoutItem): Promise<string | undefined> {
  if (!item.exportId) return undefined;
  return (await findExport(item.exportId))?.record.createdBy;
}
