/** Rewards: creation with externalId de-duplication, lists, and the manager's accept / refuse. */
import { outboxEntry, publishRecorded } from '../adapters/outbox.ts';
import { findPartnerItem as findPartner } from '../adapters/partner-store.ts';
import { findReviews } from '../adapters/payout-history.ts';
import {
  findPayoutItem,
  findRewardItem,
  LEASE_MS,
  loadPayoutRewards,
  newEvent,
  toReward,
  updatePayout,
} from '../adapters/payout-store.ts';
import {
  findExternalIdLock,
  lockExternalId,
  putNewReward,
  writeRewardDecision,
} from '../adapters/reward-store.ts';
import { keys, type Page, queryPage, unclaimedKeys } from '../adapters/table.ts';
import { Conflict, InvalidTransition, NotFound, RuleViolation } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { checkRewardDecision, payoutTotals } from '../domain/payout-rules.ts';
import type { Actor, CreateReward, Reward, RewardStatus } from '../domain/schemas.ts';
import { assertRewardNotHeld } from './hold-checks.ts';

const nowIso = () => new Date().toISOString();

export function rewardItem(reward: Omit<Reward, 'version'> & { version?: number }): Record<string, unknown> {
  const claimable = reward.payoutId === null && (reward.status === 'pending' || reward.status === 'accepted');
  const { payoutId: _payoutId, ...fields } = reward;
  return {
    ...keys.reward(reward.id),
    type: 'reward',
    GSI1PK: `PARTNER#${reward.partnerId}`,
    GSI1SK: `RW#${reward.createdAt}#${reward.id}`,
    GSI4PK: 'REWARDS',
    GSI4SK: `${reward.createdAt}#${reward.id}`,
    ...(claimable ? unclaimedKeys(reward) : {}),
    ...fields,
    version: reward.version ?? 1,
  };
}

const SAME_FIELDS = ['partnerId', 'amount', 'currency', 'description'] as const;

function sameRequest(a: Partial<CreateReward>, b: Partial<CreateReward>): boolean {
  return (
    SAME_FIELDS.every((field) => a[field] === b[field]) && (a.status ?? 'pending') === (b.status ?? 'pending')
  );
}

export interface CreatedReward {
  reward: Reward;
  created: boolean;
}

/** Writes a new reward with its `reward.created` event (see ../adapters/outbox.ts), then publishes it. */
async function putReward(reward: Reward): Promise<void> {
  const created = outboxEntry('reward.created', reward.createdAt);
  // Written before, with its own event: published then, or by the sweep.
  if (!(await putNewReward(rewardItem(reward), [created]))) return;
  await publishRecorded(keys.reward(reward.id), reward, [created]);
}

/**
 * Creates a reward. With an `externalId`, a lock item claims the id first and names the reward id,
 * so a retry (or a crash between the two writes) converges on one reward.
 */
export async function createReward(input: CreateReward, at = nowIso()): Promise<CreatedReward> {
  const partner = await findPartner(input.partnerId);
  if (!partner) {
    throw new RuleViolation('unknown_partner', `No partner ${input.partnerId}`, {
      errors: [{ path: 'partnerId', message: 'unknown partner' }],
    });
  }
  const reward: Reward = {
    id: newId('reward'),
    partnerId: input.partnerId,
    amount: input.amount,
    currency: input.currency,
    status: input.status ?? 'pending',
    ...(input.description ? { description: input.description } : {}),
    ...(input.externalId ? { externalId: input.externalId } : {}),
    payoutId: null,
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
  if (input.externalId) {
    if (!(await lockExternalId(input.externalId, reward.id, input))) {
      const { request, rewardId } = await findExternalIdLock<CreateReward>(input.externalId);
      if (!sameRequest(request, input)) {
        throw new Conflict(`A reward with externalId ${input.externalId} exists with other fields`, {
          data: { rewardId },
        });
      }
      const existing = await findRewardItem(rewardId);
      if (existing) return { reward: toReward(existing), created: false };
      // The first attempt crashed after taking the lock: finish it, with the id it chose.
      const recovered: Reward = { ...reward, id: rewardId };
      await putReward(recovered);
      return { reward: recovered, created: true };
    }
  }
  await putReward(reward);
  return { reward, created: true };
}

/** A reward as the API shows it: the partner's review decision comes from its payout. */
export async function getReward(id: string): Promise<Reward> {
  const item = await findRewardItem(id);
  if (item?.type !== 'reward') throw new NotFound(`No reward ${id}`);
  const reward = toReward(item);
  if (reward.payoutId) {
    const payout = await findPayoutItem(reward.payoutId);
    const review = payout ? (await findReviews(payout, [reward.id])).get(reward.id) : undefined;
    if (review) return { ...reward, review };
  }
  return reward;
}

export interface RewardFilter {
  partnerId?: string | undefined;
  status?: RewardStatus | undefined;
  payoutId?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

export async function listRewards(filter: RewardFilter): Promise<Page<Reward>> {
  const conditions: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  if (filter.status) {
    conditions.push('#status = :status');
    names['#status'] = 'status';
    values[':status'] = filter.status;
  }
  let page: Page<Record<string, unknown>>;
  if (filter.payoutId) {
    if (filter.partnerId) {
      conditions.push('partnerId = :partnerId');
      values[':partnerId'] = filter.partnerId;
    }
    page = await queryPage({
      index: 'GSI2',
      partition: { name: 'GSI2PK', value: `PAYOUT#${filter.payoutId}` },
      filter: conditions.length ? { expression: conditions.join(' AND '), names, values } : undefined,
      limit: filter.limit,
      cursor: filter.cursor,
    });
  } else if (filter.partnerId) {
    page = await queryPage({
      index: 'GSI1',
      partition: { name: 'GSI1PK', value: `PARTNER#${filter.partnerId}` },
      sortPrefix: { name: 'GSI1SK', value: 'RW#' },
      filter: conditions.length ? { expression: conditions.join(' AND '), names, values } : undefined,
      limit: filter.limit,
      cursor: filter.cursor,
    });
  } else {
    page = await queryPage({
      index: 'GSI4',
      partition: { name: 'GSI4PK', value: 'REWARDS' },
      filter: conditions.length ? { expression: conditions.join(' AND '), names, values } : undefined,
      limit: filter.limit,
      cursor: filter.cursor,
    });
  }
  return { items: page.items.map(toReward), nextCursor: page.nextCursor };
}

export type RewardDecision = { decision: 'accept' } | { decision: 'refuse'; reason: string };

/**
 * Accepts or refuses a reward. In a draft payout the payout is leased first (its version bumped and
 * the decision recorded in its history), then the reward changes, then the payout's totals are
 * recomputed and the lease released, so no validation can slip between the two writes.
 */
export async function decideReward(id: string, decision: RewardDecision, actor: Actor): Promise<Reward> {
  const item = await findRewardItem(id);
  if (item?.type !== 'reward') throw new NotFound(`No reward ${id}`);
  const reward = toReward(item);
  const payout = reward.payoutId ? await findPayoutItem(reward.payoutId) : undefined;
  checkRewardDecision(reward, payout ? payout.status : null);
  if (decision.decision === 'accept') await assertRewardNotHeld(reward);
  const at = nowIso();
  const status: RewardStatus = decision.decision === 'accept' ? 'accepted' : 'refused';
  if (payout) {
    await updatePayout(payout.id, {
      from: ['draft'],
      version: payout.version,
      respectLease: true,
      set: { leaseUntil: Date.parse(at) + LEASE_MS },
      events: [
        newEvent(`reward.${status}`, actor, at, {
          data: { rewardId: id, ...(decision.decision === 'refuse' ? { reason: decision.reason } : {}) },
        }),
      ],
      at,
    });
  }
  const claimable = !reward.payoutId && status === 'accepted';
  const unclaimed = unclaimedKeys(reward);
  const updated = await writeRewardDecision(id, {
    status,
    reason: decision.decision === 'refuse' ? decision.reason : undefined,
    payoutId: reward.payoutId,
    unclaimed: claimable ? unclaimed : undefined,
    at,
  });
  if (!updated) throw new Conflict('The reward was changed by another request; read it again and retry');
  if (payout) await recomputeDraftTotals(payout.id, { releaseLease: true });
  return updated;
}

/** Recomputes a draft payout's amount and count from its rewards' own items. */
export async function recomputeDraftTotals(
  payoutId: string,
  options: { releaseLease: boolean },
): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const payout = await findPayoutItem(payoutId);
    if (payout?.status !== 'draft') return;
    const rewards = await loadPayoutRewards(payout);
    const totals = payoutTotals(rewards);
    try {
      await updatePayout(payoutId, {
        from: ['draft'],
        version: payout.version,
        set: { amount: totals.amount, rewardCount: totals.rewardCount, memberCount: rewards.length },
        remove: options.releaseLease ? ['leaseUntil'] : [],
        events: [],
        at: nowIso(),
      });
      return;
    } catch (error) {
      if (error instanceof InvalidTransition || error instanceof NotFound) return;
      if (!(error instanceof Conflict)) throw error;
    }
  }
}
