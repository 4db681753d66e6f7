/**
 * Scheduled payout drafting: every partner's due rewards become one draft per currency.
 *
 * Eligible rewards are read from the sparse unclaimed index (16 shards by partner, each sorted by
 * partner, currency, creation time), one shard at a time and one partner × currency group at a time,
 * so memory is bounded by the groups in flight. Each group is drafted by ./draft-writer.ts (the one
 * draft-writing protocol, with its crash-recovery rules, which every run applies first).
 */

import { findRunItem, putRunItem, RUNS, saveRunItem, unclaimedRewards } from '../adapters/draft-store.ts';
import { outboxEntry, publishRecorded } from '../adapters/outbox.ts';
import { keys, limiter, UNCLAIMED_SHARDS, unclaimedShard } from '../adapters/table.ts';
import { decideGroup, holdingCutoff, type SkipReason } from '../domain/drafting.ts';
import { NotFound } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import type { PayoutRun } from '../domain/schemas.ts';
import { type DraftGroup, draftGroup, NewPayoutWriter, recoverSlots } from './draft-writer.ts';
import { activeHoldsByPartner, unheldRewards } from './hold-checks.ts';

export { RUNS };

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
  /** Test hook: awaited before each batch of new payouts is written (inject a pause). */
  beforeFlush?: () => Promise<void>;
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
  await putRunItem(run);
  return run;
}

export async function getRun(id: string): Promise<RunState> {
  const item = await findRunItem(id);
  if (!item) throw new NotFound(`No payout run ${id}`);
  // Runs written before versions existed count as version 1.
  return { version: 1, ...item } as unknown as RunState;
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

// ------------------------------------------------------------------ groups

type Group = DraftGroup;

interface Tally {
  payoutsCreated: number;
  payoutsUpdated: number;
  rewardsClaimed: number;
  skipped: PayoutRun['skipped'];
  skippedCount: number;
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
  let current: Group | undefined;
  // A paused run resumes at its first undrafted group: by key condition, or (one partner's run,
  // already a key prefix) by skipping the groups before it.
  for await (const reward of unclaimedRewards(shard, cutoff, filter, from)) {
    if (from && groupKey(reward) < from) continue;
    if (current && (current.partnerId !== reward.partnerId || current.currency !== reward.currency)) {
      yield current;
      current = undefined;
    }
    current ??= { partnerId: reward.partnerId, currency: reward.currency, rewards: [] };
    current.rewards.push(reward);
  }
  if (current) yield current;
}

/**
 * Runs (or continues) a drafting run until it is done or `shouldPause` says stop; the state it
 * returns is saved, so a paused run continues from its next shard.
 */
export async function executeRun(run: RunState, settings: DraftingSettings): Promise<RunState> {
  const run_ = limiter(settings.concurrency);
  const tally: Tally = {
    payoutsCreated: run.payoutsCreated,
    payoutsUpdated: run.payoutsUpdated,
    rewardsClaimed: run.rewardsClaimed,
    skipped: [...run.skipped],
    skippedCount: run.skippedCount,
  };
  const writer = new NewPayoutWriter(run_, run.id, tally, settings.beforeFlush);
  const cutoff = holdingCutoff(run.asOf, settings.holdingPeriodDays);
  // Held rewards (a reward or partner hold) stay undrafted; holds are few, read once per run.
  const holds = await activeHoldsByPartner();
  if (run.nextShard === 0 && run.shardFrom === undefined) await recoverSlots(run.id, tally);
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
        const decision = decideGroup(
          group.rewards.map((reward) => reward.amount),
          group.currency,
          settings.minimums,
        );
        if (!decision.draft) {
          skip(tally, group, decision.amount, decision.reason);
          continue;
        }
        const task: Promise<void> = draftGroup(group, {
          runId: run.id,
          run: run_,
          writer,
          tally,
          afterClaim: settings.afterClaim,
        })
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
  await saveRunItem(next, completed);
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
