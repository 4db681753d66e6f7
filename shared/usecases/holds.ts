/**
 * Holds: placing, listing, releasing and confirming them; what they stop (drafting, accepting,
 * validation, partner validation, approval, export, mark paid: 409 `on_hold`); what a held payout
 * shows; and the two automatic holds (a bad account, a changed payout method).
 *
 * Effects before facts: a release or confirmation does its (idempotent) work first and ends the hold
 * last, so a crash half-way leaves the hold active and a retry converges.
 */
import { publishEvents } from '../adapters/events.ts';
import {
  getHold,
  type HoldItem,
  listHoldItems,
  putHold,
  resolveHold,
  toHold,
} from '../adapters/hold-store.ts';
import { logger } from '../adapters/observability.ts';
import {
  findPayoutItem,
  findRewardItem,
  forEachLimited,
  loadPayoutRewards,
  newEvent,
  type PayoutItem,
  refuseReward,
  toReward,
  updatePayout,
} from '../adapters/payout-store.ts';
import { type Page, queryAll } from '../adapters/table.ts';
import { signalPayoutWorkflow } from '../adapters/workflow.ts';
import type { CreateHold } from '../domain/control-requests.ts';
import type { HoldReasonCode } from '../domain/controls.ts';
import { Conflict, NotFound, RuleViolation } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import type { Actor, Hold, PayoutMethod, Reward } from '../domain/schemas.ts';
import { activeHoldsOfPartner } from './hold-checks.ts';
import { findPartner } from './partners.ts';
import { createReward, recomputeDraftTotals } from './rewards.ts';

const nowIso = () => new Date().toISOString();
export const SYSTEM_ACTOR: Actor = { role: 'system', id: 'controls' };

// ------------------------------------------------------------------ events

async function publishHoldEvent(
  type: string,
  hold: Hold,
  extra: Record<string, unknown> = {},
): Promise<void> {
  try {
    await publishEvents([{ type, detail: { ...hold, hold, ...extra }, resources: [`${hold.id}:${type}`] }]);
  } catch (error) {
    // The hold is committed; the event is best effort like every post-commit publish.
    logger.error('Publishing a hold event failed', { holdId: hold.id, type, error });
  }
}

// ------------------------------------------------------------------ placing

/** The partner a target belongs to, or undefined for an unknown target. */
async function partnerOfTarget(scope: Hold['scope'], targetId: string): Promise<string | undefined> {
  if (scope === 'partner') return (await findPartner(targetId))?.id;
  if (scope === 'payout') {
    const payout = (await findPayoutItem(targetId)) as (PayoutItem & { type?: string }) | undefined;
    return payout?.type === 'payout' ? payout.partnerId : undefined;
  }
  const reward = await findRewardItem(targetId);
  return reward?.type === 'reward' ? String(reward.partnerId) : undefined;
}

export async function placeHold(
  input: CreateHold,
  actor: Actor,
  options: { automatic?: boolean } = {},
): Promise<Hold> {
  const partnerId = await partnerOfTarget(input.scope, input.targetId);
  if (!partnerId) {
    throw new RuleViolation('unknown_target', `No ${input.scope} ${input.targetId}`, {
      errors: [{ path: 'targetId', message: `unknown ${input.scope}` }],
    });
  }
  const at = nowIso();
  const hold: HoldItem = {
    id: newId('hold'),
    scope: input.scope,
    targetId: input.targetId,
    partnerId,
    reasonCode: input.reasonCode,
    ...(input.note ? { note: input.note } : {}),
    ...(input.partnerMessage ? { partnerMessage: input.partnerMessage } : {}),
    ...(input.reviewBy ? { reviewBy: input.reviewBy } : {}),
    ...(options.automatic ? { automatic: true } : {}),
    createdAt: at,
    createdBy: actor,
  };
  await putHold(hold);
  const placed = toHold(hold as unknown as Record<string, unknown>);
  await publishHoldEvent('hold.placed', placed);
  return placed;
}

// ------------------------------------------------------------------ reading

export async function getHoldById(id: string): Promise<Hold> {
  return getHold(id);
}

export async function listHolds(query: {
  active?: boolean | undefined;
  scope?: Hold['scope'] | undefined;
  targetId?: string | undefined;
  dueForReview?: boolean | undefined;
  limit: number;
  cursor?: string | undefined;
}): Promise<Page<Hold>> {
  let partnerId: string | undefined;
  if (query.targetId) {
    const scopes: Hold['scope'][] = query.scope ? [query.scope] : ['partner', 'payout', 'reward'];
    for (const scope of scopes) {
      partnerId = await partnerOfTarget(scope, query.targetId);
      if (partnerId) break;
    }
    if (!partnerId) return { items: [], nextCursor: null };
  }
  const active = query.dueForReview ? true : query.active;
  const page = await listHoldItems({ ...query, active, partnerId });
  return query.dueForReview ? { ...page, items: page.items.filter((hold) => hold.dueForReview) } : page;
}

// ------------------------------------------------------------------ release

function assertOtherUser(hold: Hold, actor: Actor, what: string): void {
  if (hold.createdBy.role !== 'system' && hold.createdBy.id === actor.id) {
    throw new RuleViolation('same_user', `The user who placed a hold cannot ${what} it`, {
      data: { holdId: hold.id, user: actor.id },
    });
  }
}

export async function releaseHold(id: string, note: string, actor: Actor): Promise<Hold> {
  const hold = await getHold(id);
  if (hold.status !== 'active') throw new Conflict(`The hold was already ${hold.status}`);
  assertOtherUser(hold, actor, 'release');
  if (hold.reasonCode === 'PAYOUT_METHOD_CHANGED' && hold.scope === 'partner') {
    await adoptNewPayoutMethod(hold, actor);
  }
  const released = await resolveHold(id, 'released', actor, note, nowIso());
  await publishHoldEvent('hold.released', released);
  return released;
}

/** Open payouts of a partner in some statuses (GSI1, the partner's payouts). */
async function partnerPayouts(partnerId: string, statuses: readonly string[]): Promise<PayoutItem[]> {
  const items = await queryAll({
    index: 'GSI1',
    partition: { name: 'GSI1PK', value: `PARTNER#${partnerId}` },
    sortPrefix: { name: 'GSI1SK', value: 'PO#' },
  });
  const ids = items.filter((item) => statuses.includes(String(item.status))).map((item) => String(item.id));
  const full = await Promise.all(ids.map((payoutId) => findPayoutItem(payoutId)));
  return full.filter((item): item is PayoutItem => item !== undefined && statuses.includes(item.status));
}

/**
 * The release of a PAYOUT_METHOD_CHANGED hold: the partner's ready payouts take the new payout method
 * (a new snapshot voids their approval), and their ready and processing payouts remember who released
 * it, who may then neither export nor mark them paid.
 */
async function adoptNewPayoutMethod(hold: Hold, actor: Actor): Promise<void> {
  const partner = await findPartner(hold.partnerId);
  const payouts = await partnerPayouts(hold.partnerId, ['ready', 'processing']);
  const at = nowIso();
  await forEachLimited(payouts, 4, async (payout) => {
    const resnapshot = payout.status === 'ready' && partner?.payoutMethod;
    try {
      await updatePayout(payout.id, {
        from: [payout.status],
        set: {
          methodReleasedBy: actor.id,
          ...(resnapshot ? { payoutMethod: partner.payoutMethod } : {}),
        },
        remove: resnapshot ? ['approval', 'approvalHash'] : [],
        events: [
          newEvent('payout.payout_method_released', actor, at, {
            data: { holdId: hold.id, resnapshotted: Boolean(resnapshot) },
          }),
        ],
        at,
      });
    } catch (error) {
      // It moved on meanwhile (exported, paid, cancelled): nothing to re-snapshot.
      if (!(error instanceof Conflict) && !(error instanceof NotFound) && !isTransition(error)) throw error;
    }
  });
}

function isTransition(error: unknown): boolean {
  return error instanceof Error && error.name === 'InvalidTransition';
}

// ------------------------------------------------------------------ confirm

/** The rewards a confirmed hold refuses: the reward; the payout's; the partner's unpaid ones. */
async function heldRewards(hold: Hold): Promise<Reward[]> {
  if (hold.scope === 'reward') {
    const item = await findRewardItem(hold.targetId);
    return item ? [toReward(item)] : [];
  }
  if (hold.scope === 'payout') {
    const payout = await findPayoutItem(hold.targetId);
    return payout ? loadPayoutRewards(payout) : [];
  }
  const items = await queryAll({
    index: 'GSI1',
    partition: { name: 'GSI1PK', value: `PARTNER#${hold.partnerId}` },
    sortPrefix: { name: 'GSI1SK', value: 'RW#' },
  });
  return items.map(toReward).filter((reward) => reward.status === 'pending' || reward.status === 'accepted');
}

export interface ConfirmOutcome {
  refused: string[];
  clawbacks: string[];
  payoutsBackToDraft: string[];
}

export async function confirmHold(
  id: string,
  note: string,
  actor: Actor,
): Promise<Hold & { effects: ConfirmOutcome }> {
  const hold = await getHold(id);
  if (hold.status !== 'active') throw new Conflict(`The hold was already ${hold.status}`);
  assertOtherUser(hold, actor, 'confirm');
  const reason = `Hold confirmed (${hold.reasonCode}): ${note}`;
  const rewards = (await heldRewards(hold)).filter((reward) => reward.status !== 'refused');
  const outcome: ConfirmOutcome = { refused: [], clawbacks: [], payoutsBackToDraft: [] };
  const byPayout = new Map<string, Reward[]>();
  for (const reward of rewards) {
    const key = reward.payoutId ?? '';
    byPayout.set(key, [...(byPayout.get(key) ?? []), reward]);
  }
  for (const [payoutId, group] of byPayout) {
    const payout = payoutId ? await findPayoutItem(payoutId) : undefined;
    // `processing` arrives with the export lifecycle; compared as a string until then.
    const status: string | undefined = payout?.status;
    if (!payout || status === 'cancelled') {
      for (const reward of group) if (await refuseLoose(reward, reason)) outcome.refused.push(reward.id);
    } else if (status === 'draft' || status === 'pending' || status === 'ready') {
      await removeFromPayout(payout, group, reason, hold, actor);
      outcome.refused.push(...group.map((reward) => reward.id));
      if (status !== 'draft') outcome.payoutsBackToDraft.push(payout.id);
    } else if (status === 'processing' || status === 'paid') {
      for (const reward of group) {
        const { reward: clawback } = await createReward({
          partnerId: reward.partnerId,
          amount: -reward.amount,
          currency: reward.currency,
          status: 'accepted',
          description: `Clawback of ${reward.id}: hold ${hold.id} confirmed (${hold.reasonCode})`,
          externalId: `clawback:${hold.id}:${reward.id}`,
        });
        outcome.clawbacks.push(clawback.id);
      }
    }
    // A failed payout's rewards stay with it: its reissue or cancellation decides.
  }
  const confirmed = await resolveHold(id, 'confirmed', actor, note, nowIso());
  await publishHoldEvent('hold.confirmed', confirmed, { effects: outcome });
  return { ...confirmed, effects: outcome };
}

/** Refuses a reward in no payout (or a cancelled one). Idempotent. */
async function refuseLoose(reward: Reward, reason: string): Promise<boolean> {
  return refuseReward(reward.id, reason, nowIso());
}

/**
 * Takes refused rewards out of a draft, pending or ready payout: the payout goes back to draft first
 * (leased, its approval voided, a history entry), then each reward is refused and released, then
 * the totals are recomputed from what is left and the lease ends.
 */
async function removeFromPayout(
  payout: PayoutItem,
  rewards: readonly Reward[],
  reason: string,
  hold: Hold,
  actor: Actor,
): Promise<void> {
  const at = nowIso();
  const updated = await updatePayout(payout.id, {
    from: [payout.status],
    version: payout.version,
    to: 'draft',
    // Reviews of earlier rounds no longer count (see ../adapters/payout-history.ts).
    set: { leaseUntil: Date.parse(at) + 30_000, reviewRound: (payout.reviewRound ?? 0) + 1 },
    remove: ['approval', 'approvalHash'],
    events: [
      newEvent('payout.hold_confirmed', actor, at, {
        from: payout.status,
        to: 'draft',
        data: { holdId: hold.id, reasonCode: hold.reasonCode, rewardIds: rewards.map((reward) => reward.id) },
      }),
    ],
    at,
  });
  await forEachLimited(rewards, 8, async (reward) => {
    await refuseReward(reward.id, reason, at, payout.id);
  });
  await recomputeDraftTotals(payout.id, { releaseLease: true });
  if (payout.status !== 'draft') await signalPayoutWorkflow(updated, payout.status);
}

// ------------------------------------------------------------------ automatic holds

/** A payout failed for a bad account: hold the partner until their payout method changes. */
export async function holdForInvalidPayoutMethod(
  partnerId: string,
  payoutId: string,
  code: string,
): Promise<void> {
  const existing = (await activeHoldsOfPartner(partnerId)).find(
    (hold) => hold.scope === 'partner' && hold.reasonCode === 'PAYOUT_METHOD_INVALID',
  );
  if (existing) return;
  await placeHold(
    {
      scope: 'partner',
      targetId: partnerId,
      reasonCode: 'PAYOUT_METHOD_INVALID',
      note: `Payout ${payoutId} failed with ${code}`,
      partnerMessage: 'A payment to your account was rejected by the bank. Please check your payout details.',
    },
    SYSTEM_ACTOR,
    { automatic: true },
  );
}

/**
 * Before a payout method changes: while a payout is ready or processing, a PAYOUT_METHOD_CHANGED
 * hold (an account-takeover signal), placed by whoever made the change, who therefore cannot release
 * it. Placed before the change is written: a crash in between leaves a hold, never an unheld change.
 */
export async function holdForPayoutMethodChange(partnerId: string, actor: Actor): Promise<Hold | undefined> {
  const open = await partnerPayouts(partnerId, ['ready', 'processing']);
  if (open.length === 0) return undefined;
  return placeHold(
    {
      scope: 'partner',
      targetId: partnerId,
      reasonCode: 'PAYOUT_METHOD_CHANGED' satisfies HoldReasonCode,
      note: `Payout method changed by ${actor.role} ${actor.id} while ${open.map((payout) => `${payout.id} (${payout.status})`).join(', ')} awaited payment`,
    },
    actor,
    { automatic: true },
  );
}

/** After a payout method changed: the PAYOUT_METHOD_INVALID holds of the partner release themselves. */
export async function releaseInvalidMethodHolds(
  partnerId: string,
  method: PayoutMethod | null,
): Promise<void> {
  if (!method) return;
  const holds = (await activeHoldsOfPartner(partnerId)).filter(
    (hold) => hold.reasonCode === 'PAYOUT_METHOD_INVALID',
  );
  for (const hold of holds) {
    try {
      const released = await resolveHold(
        hold.id,
        'released',
        SYSTEM_ACTOR,
        'The payout method was changed',
        nowIso(),
      );
      await publishHoldEvent('hold.released', released);
    } catch (error) {
      if (!(error instanceof Conflict)) throw error;
    }
  }
}
