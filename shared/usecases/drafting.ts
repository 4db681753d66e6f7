/**
 * Scheduled payout drafting: every partner's due rewards become one draft per currency.
 *
 * Eligible rewards are read from the sparse unclaimed index (16 shards by partner, each sorted by
 * partner, currency, creation time), one shard at a time and one partner × currency group at a time,
 * so memory is bounded by the groups in flight. Each group:
 *  1. leases its slot item (`SLOT#partner#currency`, one conditional write): racing runs skip a group
 *     another live run holds; the slot also names the partner's open draft in that currency;
 *  2. claims each reward with one conditional write on the reward's own item;
 *  3. writes a new draft (batched, 25 per request) or updates the open draft's totals.
 * A run that crashes between 2 and 3 leaves claims that point at a payout id recorded in the slot;
 * the next run finds such slots and writes the missing payouts. Nothing is lost or drafted twice.
 */

import {
  BatchWriteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../adapters/clients.ts';
import { logger } from '../adapters/observability.ts';
import { OUTBOX, type OutboxEntry, outboxEntry, publishRecorded } from '../adapters/outbox.ts';
import {
  claimReward,
  findPayoutItem,
  LEASE_MS,
  loadPayoutRewards,
  type NewPayoutItem,
  newEvent,
  newPayoutRecord,
  type PayoutItem,
  putNewPayout,
  toReward,
  updatePayout,
} from '../adapters/payout-store.ts';
import {
  isConditionalCheckFailed,
  keys,
  queryAll,
  table,
  UNCLAIMED_SHARDS,
  unclaimedShard,
} from '../adapters/table.ts';
import { startPayoutWorkflow } from '../adapters/workflow.ts';
import { decideGroup, holdingCutoff, type SkipReason } from '../domain/drafting.ts';
import { Conflict, InvalidTransition, NotFound } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { payoutTotals } from '../domain/payout-rules.ts';
import type { Actor, PayoutRun, Reward } from '../domain/schemas.ts';
import { activeHoldsByPartner, unheldRewards } from './hold-checks.ts';
import { MAX_REWARDS_PER_PAYOUT } from './payouts.ts';

const RUN_ACTOR: Actor = { role: 'system', id: 'payout-run' };
/** Stored skipped entries per run (the count is always exact). */
export const MAX_SKIPPED_STORED = 1000;

export interface DraftingSettings {
  holdingPeriodDays: number;
  minimums: ReadonlyMap<string, number>;
  /** Concurrent DynamoDB writes. */
  concurrency: number;
  /** Called between groups: true when the run should stop and continue later. */
  shouldPause?: () => boolean;
  /** Test hook: called after each claim (inject a crash). */
  afterClaim?: (rewardId: string) => void;
}

export interface RunState extends PayoutRun {
  skippedCount: number;
  /** Next shard to read: shards before it are done. */
  nextShard: number;
  /**
   * Within `nextShard`, the first group (`partnerId#currency#`, a GSI3SK prefix) not drafted yet: a
   * run pauses between groups, so one large shard cannot hold it past its time budget.
   */
  shardFrom?: string;
}

// ------------------------------------------------------------------ a small write limiter

class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

// ------------------------------------------------------------------ runs

export async function createRun(input: {
  asOf?: string;
  partnerId?: string;
  currency?: string;
}): Promise<RunState> {
  const at = new Date().toISOString();
  const run: RunState = {
    id: newId('run'),
    status: 'running',
    asOf: input.asOf ?? at,
    ...(input.partnerId ? { partnerId: input.partnerId } : {}),
    ...(input.currency ? { currency: input.currency } : {}),
    payoutsCreated: 0,
    payoutsUpdated: 0,
    rewardsClaimed: 0,
    skipped: [],
    skippedCount: 0,
    nextShard: 0,
    createdAt: at,
    version: 1,
  };
  await dynamo().send(
    new PutCommand({ TableName: table(), Item: { ...keys.run(run.id), type: 'run', ...run } }),
  );
  return run;
}

export async function getRun(id: string): Promise<RunState> {
  const result = await dynamo().send(
    new GetCommand({ TableName: table(), Key: keys.run(id), ConsistentRead: true }),
  );
  if (!result.Item) throw new NotFound(`No payout run ${id}`);
  // Runs written before versions existed count as version 1.
  return { version: 1, ...result.Item } as RunState;
}

export function toPayoutRun(run: RunState): PayoutRun {
  const {
    nextShard: _next,
    skippedCount: _count,
    shardFrom: _from,
    outbox: _outbox,
    ...rest
  } = run as RunState & { outbox?: unknown };
  const {
    PK: _pk,
    SK: _sk,
    type: _type,
    GSI4PK: _gsi4pk,
    GSI4SK: _gsi4sk,
    ...visible
  } = rest as RunState & { PK?: string; SK?: string; type?: string; GSI4PK?: string; GSI4SK?: string };
  return visible;
}

/**
 * Writes the run's new state (its version one more than the state it was computed from), refusing to
 * go back to an older version: a stale invocation fails and is retried from the stored state.
 */
async function saveRun(run: RunState, outbox: readonly OutboxEntry[] = []): Promise<void> {
  await dynamo().send(
    new PutCommand({
      ConditionExpression: 'attribute_not_exists(#version) OR #version <= :version',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':version': run.version },
      TableName: table(),
      Item: {
        ...keys.run(run.id),
        type: 'run',
        // By creation time, for the outbox sweep (../adapters/outbox.ts).
        GSI4PK: RUNS,
        GSI4SK: `${run.createdAt}#${run.id}`,
        ...run,
        ...(outbox.length > 0 ? { [OUTBOX]: outbox } : {}),
      },
    }),
  );
}

export const RUNS = 'RUNS';

const completedRuns = new Map<string, boolean>();
async function runIsOver(runId: string): Promise<boolean> {
  if (completedRuns.get(runId)) return true;
  const result = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.run(runId) }));
  const over = !result.Item || result.Item.status === 'completed';
  if (over) completedRuns.set(runId, true);
  return over;
}

// ------------------------------------------------------------------ slots (lease + open draft)

interface Slot {
  payoutId: string;
  runId: string;
}

/** Takes the group's lease for this run; undefined when another live run holds it. */
async function leaseSlot(
  partnerId: string,
  currency: string,
  runId: string,
  candidateId: string,
): Promise<Slot | undefined> {
  const now = Date.now();
  let staleRun = '';
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const result = await dynamo().send(
        new UpdateCommand({
          TableName: table(),
          Key: keys.slot(partnerId, currency),
          UpdateExpression:
            'SET runId = :run, leaseUntil = :until, payoutId = if_not_exists(payoutId, :candidate), #type = :type, GSI4PK = :slots, GSI4SK = :sk',
          ConditionExpression:
            'attribute_not_exists(leaseUntil) OR leaseUntil < :now OR runId = :run' +
            (attempt > 0 ? ' OR runId = :stale' : ''),
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: {
            ':run': runId,
            ':until': now + LEASE_MS * 2,
            ':candidate': candidateId,
            ':type': 'slot',
            ':slots': 'SLOTS',
            ':sk': `${partnerId}#${currency}`,
            ':now': now,
            ...(attempt > 0 ? { ':stale': staleRun } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { payoutId: String(result.Attributes?.payoutId), runId };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    // Held by another run: free only if that run is over.
    const held = await dynamo().send(
      new GetCommand({ TableName: table(), Key: keys.slot(partnerId, currency), ConsistentRead: true }),
    );
    staleRun = String(held.Item?.runId ?? '');
    if (!staleRun || !(await runIsOver(staleRun))) return undefined;
  }
  return undefined;
}

async function pointSlotAt(
  partnerId: string,
  currency: string,
  runId: string,
  payoutId: string,
): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: table(),
      Key: keys.slot(partnerId, currency),
      UpdateExpression: 'SET payoutId = :po',
      ConditionExpression: 'runId = :run',
      ExpressionAttributeValues: { ':po': payoutId, ':run': runId },
    }),
  );
}

// ------------------------------------------------------------------ batched payout writes

class PayoutWriter {
  private buffer: NewPayoutItem[] = [];
  private readonly flushes: Promise<void>[] = [];
  constructor(private readonly limiter: Limiter) {}

  add(item: NewPayoutItem): void {
    this.buffer.push(item);
    if (this.buffer.length >= 25) {
      const flush = this.flush();
      // Awaited in close(); until then a failure must not be an unhandled rejection.
      flush.catch(() => undefined);
      this.flushes.push(flush);
    }
  }

  private async flush(): Promise<void> {
    const items = this.buffer;
    this.buffer = [];
    if (items.length === 0) return;
    let requests = items.map((item) => ({
      PutRequest: { Item: newPayoutRecord(item) },
    }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 8) throw new Error('BatchWriteItem left payouts unprocessed');
      const result = await this.limiter.run(() =>
        dynamo().send(new BatchWriteCommand({ RequestItems: { [table()]: requests } })),
      );
      requests = (result.UnprocessedItems?.[table()] ?? []) as typeof requests;
      if (requests.length) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
    }
    for (const item of items) await startPayoutWorkflow(item.id, 'draft');
  }

  async close(): Promise<void> {
    this.flushes.push(this.flush());
    await Promise.all(this.flushes);
  }
}

// ------------------------------------------------------------------ groups

interface Group {
  partnerId: string;
  currency: string;
  rewards: Reward[];
}

interface Tally {
  payoutsCreated: number;
  payoutsUpdated: number;
  rewardsClaimed: number;
  skipped: PayoutRun['skipped'];
  skippedCount: number;
}

function newPayoutItem(id: string, group: Group, claimed: readonly Reward[], at: string): NewPayoutItem {
  const totals = payoutTotals(claimed);
  return {
    id,
    partnerId: group.partnerId,
    currency: group.currency,
    status: 'draft',
    amount: totals.amount,
    rewardCount: totals.rewardCount,
    requirements: { invoice: false, rewardReview: false },
    createdAt: at,
    updatedAt: at,
    version: 1,
    events: [
      newEvent('payout.drafted', RUN_ACTOR, at, { to: 'draft', data: { rewardCount: totals.rewardCount } }),
    ],
    memberCount: claimed.length,
  };
}

async function draftGroup(
  group: Group,
  run: RunState,
  settings: DraftingSettings,
  limiter: Limiter,
  writer: PayoutWriter,
  tally: Tally,
): Promise<void> {
  const decision = decideGroup(
    group.rewards.map((reward) => reward.amount),
    group.currency,
    settings.minimums,
  );
  if (!decision.draft) {
    skip(tally, group, decision.amount, decision.reason);
    return;
  }
  const candidateId = newId('payout');
  const slot = await limiter.run(() => leaseSlot(group.partnerId, group.currency, run.id, candidateId));
  if (!slot) return; // another live run drafts this group
  const at = new Date().toISOString();
  let payoutId = slot.payoutId;
  let existing: PayoutItem | undefined;
  if (payoutId !== candidateId) {
    existing = await findPayoutItem(payoutId);
    if (existing && existing.status !== 'draft') {
      existing = undefined;
      payoutId = candidateId;
      await limiter.run(() => pointSlotAt(group.partnerId, group.currency, run.id, payoutId));
    }
  }
  if (existing) {
    try {
      await updatePayout(payoutId, {
        from: ['draft'],
        respectLease: true,
        set: { leaseUntil: Date.now() + LEASE_MS },
        events: [],
        at,
      });
    } catch (error) {
      if (error instanceof Conflict) return; // a manager is changing it right now: next run
      throw error;
    }
  }
  const room = MAX_REWARDS_PER_PAYOUT - (existing?.memberCount ?? 0);
  const claimed: Reward[] = [];
  await Promise.all(
    group.rewards.slice(0, Math.max(0, room)).map((reward) =>
      limiter.run(async () => {
        if (await claimReward(reward.id, payoutId, group, at)) {
          claimed.push(reward);
          settings.afterClaim?.(reward.id);
        }
      }),
    ),
  );
  tally.rewardsClaimed += claimed.length;
  if (existing) {
    const rewards = await loadPayoutRewards({
      id: payoutId,
      memberCount: (existing.memberCount ?? 0) + claimed.length,
    });
    const totals = payoutTotals(rewards);
    await updatePayout(payoutId, {
      from: ['draft'],
      set: { amount: totals.amount, rewardCount: totals.rewardCount, memberCount: rewards.length },
      remove: ['leaseUntil'],
      events: claimed.length
        ? [
            newEvent('payout.rewards_added', RUN_ACTOR, at, {
              data: { runId: run.id, rewardIds: claimed.map((r) => r.id) },
            }),
          ]
        : [],
      at,
    });
    if (claimed.length) tally.payoutsUpdated++;
    return;
  }
  // A slot naming a payout that was never written: a crashed run's claims; adopt them (read from
  // the rewards' own items: a reward is in a payout when its item says so, not an index copy).
  const earlier = payoutId !== candidateId ? await claimedBy(payoutId) : [];
  const all = [...earlier.filter((reward) => !claimed.some((c) => c.id === reward.id)), ...claimed];
  if (all.length === 0) return;
  writer.add(newPayoutItem(payoutId, group, all, at));
  tally.payoutsCreated++;
}

/** The rewards whose own items name this payout (found through the index, confirmed by a read). */
function claimedBy(payoutId: string): Promise<Reward[]> {
  return loadPayoutRewards({ id: payoutId });
}

function skip(tally: Tally, group: Group, amount: number, reason: SkipReason): void {
  tally.skippedCount++;
  if (tally.skipped.length < MAX_SKIPPED_STORED) {
    tally.skipped.push({ partnerId: group.partnerId, currency: group.currency, amount, reason });
  }
}

// ------------------------------------------------------------------ streaming a shard

/** Where a group's rewards start in GSI3 (the sort key is `partnerId#currency#createdAt#id`). */
function groupKey(group: Pick<Group, 'partnerId' | 'currency'>): string {
  return `${group.partnerId}#${group.currency}#`;
}

async function* eligibleGroups(
  shard: number,
  cutoff: string,
  filter: { partnerId?: string | undefined; currency?: string | undefined },
  from?: string,
): AsyncGenerator<Group> {
  const prefix = filter.partnerId
    ? `${filter.partnerId}#${filter.currency ? `${filter.currency}#` : ''}`
    : undefined;
  // A paused run resumes at its first undrafted group: by key condition, or (one partner's run,
  // already a key prefix) by skipping the groups before it.
  const keyCondition = prefix
    ? 'GSI3PK = :pk AND begins_with(GSI3SK, :prefix)'
    : from
      ? 'GSI3PK = :pk AND GSI3SK >= :from'
      : 'GSI3PK = :pk';
  let startKey: Record<string, unknown> | undefined;
  let current: Group | undefined;
  do {
    const page = await dynamo().send(
      new QueryCommand({
        TableName: table(),
        IndexName: 'GSI3',
        KeyConditionExpression: keyCondition,
        FilterExpression: `createdAt <= :cutoff${filter.currency ? ' AND currency = :currency' : ''}`,
        ExpressionAttributeValues: {
          ':pk': `UNCLAIMED#${shard}`,
          ':cutoff': cutoff,
          ...(prefix ? { ':prefix': prefix } : {}),
          ...(!prefix && from ? { ':from': from } : {}),
          ...(filter.currency ? { ':currency': filter.currency } : {}),
        },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const reward = toReward(item);
      if (from && groupKey(reward) < from) continue;
      if (current && (current.partnerId !== reward.partnerId || current.currency !== reward.currency)) {
        yield current;
        current = undefined;
      }
      current ??= { partnerId: reward.partnerId, currency: reward.currency, rewards: [] };
      current.rewards.push(reward);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  if (current) yield current;
}

/**
 * Writes the payouts that a crashed run claimed rewards for but never wrote. Written at once, not
 * buffered: a group of the same slot drafted later in this run must find the payout and add to it
 * (a second buffered put of the same payout would be a duplicate key in one BatchWriteItem).
 */
async function recoverOrphanClaims(run: RunState, tally: Tally): Promise<void> {
  const slots = await queryAll({ index: 'GSI4', partition: { name: 'GSI4PK', value: 'SLOTS' } });
  const now = Date.now();
  for (const slot of slots) {
    if (typeof slot.leaseUntil === 'number' && slot.leaseUntil >= now && slot.runId !== run.id) continue;
    const payoutId = String(slot.payoutId);
    const payout = await findPayoutItem(payoutId);
    if (payout) {
      // A draft whose lease outlived the run adding to it: claims its totals do not count yet.
      if (payout.status === 'draft' && typeof payout.leaseUntil === 'number' && payout.leaseUntil < now) {
        if (await repairDraft(payout, run)) tally.payoutsUpdated++;
      }
      continue;
    }
    const claimed = await claimedBy(payoutId);
    if (claimed.length === 0) continue;
    const group = {
      partnerId: String(slot.partnerId ?? claimed[0]?.partnerId),
      currency: String(slot.currency ?? claimed[0]?.currency),
      rewards: claimed,
    };
    try {
      await putNewPayout(newPayoutItem(payoutId, group, claimed, new Date().toISOString()));
    } catch (error) {
      if (isConditionalCheckFailed(error)) continue; // written meanwhile by the run that claimed them
      throw error;
    }
    await startPayoutWorkflow(payoutId, 'draft');
    tally.payoutsCreated++;
    logger.warn('Recovered claims of an interrupted run', { payoutId, rewards: claimed.length });
  }
}

/**
 * Recounts a draft from the rewards that name it (a run died between claiming rewards for it and
 * updating its totals) and frees its lease. True when it gained rewards.
 */
async function repairDraft(payout: PayoutItem, run: RunState): Promise<boolean> {
  const rewards = await loadPayoutRewards(payout);
  // The payout keeps a count, not a list, of its rewards: the repair records how many it gained.
  const added = Math.max(0, rewards.length - (payout.memberCount ?? 0));
  const totals = payoutTotals(rewards);
  const at = new Date().toISOString();
  try {
    await updatePayout(payout.id, {
      from: ['draft'],
      version: payout.version,
      respectLease: true,
      set: { amount: totals.amount, rewardCount: totals.rewardCount, memberCount: rewards.length },
      remove: ['leaseUntil'],
      events: added
        ? [newEvent('payout.rewards_added', RUN_ACTOR, at, { data: { runId: run.id, added } })]
        : [],
      at,
    });
  } catch (error) {
    // Changed meanwhile (a manager, another run): whoever changed it counted from the rewards too.
    if (error instanceof Conflict || error instanceof InvalidTransition) return false;
    throw error;
  }
  if (added) logger.warn('Repaired a draft of an interrupted run', { payoutId: payout.id, added });
  return added > 0;
}

/**
 * Runs (or continues) a drafting run until it is done or `shouldPause` says stop; the state it
 * returns is saved, so a paused run continues from its next shard.
 */
export async function executeRun(run: RunState, settings: DraftingSettings): Promise<RunState> {
  const limiter = new Limiter(settings.concurrency);
  const writer = new PayoutWriter(limiter);
  const tally: Tally = {
    payoutsCreated: run.payoutsCreated,
    payoutsUpdated: run.payoutsUpdated,
    rewardsClaimed: run.rewardsClaimed,
    skipped: [...run.skipped],
    skippedCount: run.skippedCount,
  };
  const cutoff = holdingCutoff(run.asOf, settings.holdingPeriodDays);
  // Held rewards (a reward or partner hold) stay undrafted; holds are few, read once per run.
  const holds = await activeHoldsByPartner();
  if (run.nextShard === 0 && run.shardFrom === undefined) await recoverOrphanClaims(run, tally);
  const shards = run.partnerId
    ? [unclaimedShard(run.partnerId)]
    : Array.from({ length: UNCLAIMED_SHARDS }, (_, i) => i);
  let nextShard = run.nextShard;
  let shardFrom = run.shardFrom;
  let paused = false;
  for (const shard of shards.filter(
    (s, index) => (run.partnerId ? run.nextShard === 0 : index >= run.nextShard) && s >= 0,
  )) {
    const inFlight = new Set<Promise<void>>();
    // A group that fails fails the run, once the groups in flight have settled: its error is kept
    // here (a task that settles while no one awaits it would otherwise drop it from the set unseen).
    let failure: { error: unknown } | undefined;
    try {
      for await (const group of eligibleGroups(
        shard,
        cutoff,
        { partnerId: run.partnerId, currency: run.currency },
        shardFrom,
      )) {
        if (settings.shouldPause?.()) {
          // Stop before this group: the groups in flight finish, and the run resumes here.
          paused = true;
          shardFrom = groupKey(group);
          break;
        }
        const partnerHolds = holds.get(group.partnerId);
        if (partnerHolds) {
          group.rewards = unheldRewards(group.rewards, partnerHolds);
          if (group.rewards.length === 0) continue;
        }
        const task: Promise<void> = draftGroup(group, run, settings, limiter, writer, tally)
          .catch((error: unknown) => {
            failure ??= { error };
          })
          .finally(() => inFlight.delete(task));
        inFlight.add(task);
        // Enough groups in flight to keep every write slot busy; bounded memory.
        if (inFlight.size >= settings.concurrency) await Promise.race(inFlight);
        if (failure) break;
      }
    } finally {
      await Promise.all(inFlight);
    }
    if (failure) throw failure.error;
    if (paused) break;
    nextShard = run.partnerId ? 1 : shard + 1;
    shardFrom = undefined;
  }
  await writer.close();
  const done = !paused;
  const { shardFrom: _previous, ...rest } = run;
  const next: RunState = {
    ...rest,
    ...tally,
    nextShard,
    ...(paused && shardFrom !== undefined ? { shardFrom } : {}),
    status: done ? 'completed' : 'running',
    ...(done ? { completedAt: new Date().toISOString() } : {}),
    version: (run.version ?? 1) + 1,
  };
  // The run's `payout_run.completed`, recorded with the completion and published after it.
  const completed = next.completedAt ? [outboxEntry('payout_run.completed', next.completedAt)] : [];
  await saveRun(next, completed);
  await publishRecorded(keys.run(next.id), toPayoutRun(next), completed);
  return next;
}

// ------------------------------------------------------------------ triggers

export interface StartedRun {
  run: RunState;
  finished: boolean;
}

/**
 * Runs now, within a time budget; a run that does not finish in time continues in the drafting
 * function (`handOff`), and the caller answers 202 with the run id.
 */
export async function runWithinBudget(
  run: RunState,
  settings: Omit<DraftingSettings, 'shouldPause'>,
  budgetMs: number,
  handOff: (runId: string) => Promise<void>,
): Promise<StartedRun> {
  const deadline = Date.now() + budgetMs;
  const next = await executeRun(run, { ...settings, shouldPause: () => Date.now() > deadline });
  if (next.status === 'completed') return { run: next, finished: true };
  await handOff(next.id);
  return { run: next, finished: false };
}
