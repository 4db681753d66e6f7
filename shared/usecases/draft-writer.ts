/**
 * Writing drafts: the one way rewards join payouts in `draft`. A manager's `POST /payouts`
 * (./payouts.ts `createPayout` → `draftNewPayout`) and a scheduled run (./drafting.ts → `draftGroup`)
 * both go through here; data access is in ../adapters/draft-store.ts and ../adapters/payout-store.ts.
 *
 * ## The protocol (one partner × currency group)
 *  1. **Lease a slot.** A slot item names the payout its holder writes or adds to *before* any reward
 *     names that payout, so whatever a crash leaves can be found from the slots alone. A run leases
 *     the group's slot (`SLOT#partner#currency`, kept: it names the group's open draft; a group
 *     another live run holds is skipped); a manager's draft leases a slot of its own
 *     (`SLOT#<payoutId>`, deleted once the payout is written). The lease is 2 × `LEASE_MS`.
 *  2. **Lease the open draft**, if the slot names one (a run only): the draft's own `leaseUntil`, so
 *     no one validates it while rewards join it. A slot naming a payout that is no longer a draft is
 *     pointed at a fresh id; one naming a payout that was never written is adopted first (rule A).
 *  3. **Claim** each reward: one conditional write on the reward's own item (pending or accepted,
 *     unclaimed, same partner and currency). A reward names at most one payout, ever.
 *  4. **Write** the payout: a new one with totals from what was claimed, or the open draft's totals
 *     recounted from the rewards that name it (its lease freed in the same write).
 *  5. A manager's draft then deletes its slot and names itself the group's open draft (unless a run
 *     holds the group's slot). With explicit reward ids it is all or nothing: a lost claim releases
 *     the others and deletes the slot (a crash half-way is rule A's).
 *
 * ## Writes that outlive their lease (a holder paused for longer than its lease)
 *  - Claims are sent only while the holder's leases have at least `LEASE_MS` left by its own clock
 *    (`Lease.fresh`); later claims are left undone for the next run.
 *  - A new payout is put with BatchWriteItem (which cannot be conditional) only when its id is the
 *    holder's own fresh id and the slot lease is still fresh when the batch is sent. Otherwise it is
 *    one conditional PutItem (`attribute_not_exists`); when that payout exists meanwhile (rule A ran,
 *    or the next holder adopted it), it is recounted (rule B), never written over.
 *
 * ## Recovery (`recoverSlots`, at the start of every scheduled run; each rule idempotent)
 *  - **A. Orphan claims.** A slot whose lease has expired names a payout that does not exist: the
 *    rewards that name it (read from their own items) are adopted into a new draft with one
 *    conditional put. No such reward: a manager's slot is deleted, a run's slot is left.
 *  - **B. Repair.** A slot names a draft whose own lease has expired (its holder died between claims
 *    and the totals): the draft's totals are recounted from the rewards that name it and the lease
 *    removed, conditional on its version (a concurrent change means someone else counted).
 *  - **C. Done.** A manager's slot whose payout exists (after A or B) is deleted.
 * Together: every claimed reward ends in exactly one payout whose amount and count are the sum of the
 * rewards that name it; re-running converges. Tested in test/integration/draft-writer.test.ts.
 */

import {
  deleteSlot,
  findRunItem,
  leaseSlot,
  listSlots,
  nameOpenDraft,
  pointSlotAt,
  putNewPayoutsUnconditionally,
  readSlot,
  type SlotRecord,
  type SlotScope,
  slotKeyOf,
} from '../adapters/draft-store.ts';
import { logger } from '../adapters/observability.ts';
import { flushHistoryQuietly } from '../adapters/payout-history.ts';
import {
  claimReward,
  findPayoutItem,
  LEASE_MS,
  loadPayoutRewards,
  type NewPayoutItem,
  newEvent,
  newPayoutRecord,
  type PayoutItem,
  putNewPayoutIfAbsent,
  releaseReward,
  updatePayout,
} from '../adapters/payout-store.ts';
import { forEachLimited, type Limiter, limiter } from '../adapters/table.ts';
import { startPayoutWorkflow } from '../adapters/workflow.ts';
import { Conflict, InvalidTransition, RuleViolation } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { payoutTotals } from '../domain/payout-rules.ts';
import type { Actor, PayoutEvent, Reward } from '../domain/schemas.ts';

/** The most rewards one payout holds (one export row each; the payout item itself lists none). */
export const MAX_REWARDS_PER_PAYOUT = 5000;
const CLAIM_CONCURRENCY = 16;
const RUN_ACTOR: Actor = { role: 'system', id: 'payout-run' };

export interface DraftGroup {
  partnerId: string;
  currency: string;
  rewards: Reward[];
}

/** What a group's drafting did, for a run's counts. */
export interface DraftTally {
  payoutsCreated: number;
  payoutsUpdated: number;
  rewardsClaimed: number;
}

// ------------------------------------------------------------------ leases and the payout item

/** A lease this process holds, judged by its own clock. */
class Lease {
  constructor(readonly until: number) {}
  /** At least `LEASE_MS` left: claims and unconditional puts may still be sent. */
  fresh(now = Date.now()): boolean {
    return this.until - now >= LEASE_MS;
  }
}

/** The one builder of a new draft: totals derived from the rewards it holds. */
function newDraftItem(
  id: string,
  scope: { partnerId: string; currency: string },
  rewards: readonly Reward[],
  at: string,
  drafted: PayoutEvent,
): NewPayoutItem {
  const totals = payoutTotals(rewards);
  return {
    id,
    partnerId: scope.partnerId,
    currency: scope.currency,
    status: 'draft',
    amount: totals.amount,
    rewardCount: totals.rewardCount,
    requirements: { invoice: false, rewardReview: false },
    createdAt: at,
    updatedAt: at,
    version: 1,
    events: [drafted],
    memberCount: rewards.length,
  };
}

function runDrafted(rewards: readonly Reward[], at: string): PayoutEvent {
  return newEvent('payout.drafted', RUN_ACTOR, at, {
    to: 'draft',
    data: { rewardCount: payoutTotals(rewards).rewardCount },
  });
}

/** Claims rewards for `payoutId` while `lease` is fresh; returns the ones claimed and the ones lost. */
async function claimAll(
  rewards: readonly Reward[],
  payoutId: string,
  scope: { partnerId: string; currency: string },
  at: string,
  lease: Lease,
  options: { run?: Limiter; afterClaim?: ((rewardId: string) => void) | undefined } = {},
): Promise<{ claimed: Reward[]; lost: string[] }> {
  const claimed: Reward[] = [];
  const lost: string[] = [];
  const run = options.run ?? limiter(CLAIM_CONCURRENCY);
  await Promise.all(
    rewards.map((reward) =>
      run(async () => {
        if (!lease.fresh()) return; // left unclaimed: the next run drafts it
        if (await claimReward(reward.id, payoutId, scope, at)) {
          claimed.push(reward);
          options.afterClaim?.(reward.id);
        } else lost.push(reward.id);
      }),
    ),
  );
  return { claimed, lost };
}

/**
 * Rule B: recounts a draft from the rewards that name it and frees its lease. Conditional on the
 * version read and on no live lease; returns how many rewards it gained (0 when changed meanwhile).
 */
async function recountDraft(payout: PayoutItem, runId: string): Promise<number> {
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
      events: added ? [newEvent('payout.rewards_added', RUN_ACTOR, at, { data: { runId, added } })] : [],
      at,
    });
  } catch (error) {
    // Changed meanwhile (a manager, another run): whoever changed it counted from the rewards too.
    if (error instanceof Conflict || error instanceof InvalidTransition) return 0;
    throw error;
  }
  if (added) logger.warn('Repaired a draft of an interrupted writer', { payoutId: payout.id, added });
  return added;
}

/**
 * Rule A: adopts the rewards that name a payout never written into a new draft (conditional put).
 * `leaseUntil` leaves it leased to the adopter. Returns the payout now stored (adopted or written by
 * someone else meanwhile), or undefined when no reward names it.
 */
async function adoptOrphanClaims(
  payoutId: string,
  scope: { partnerId: string; currency: string },
  leaseUntil?: number,
): Promise<{ payout: PayoutItem; adopted: boolean } | undefined> {
  const claimed = await loadPayoutRewards({ id: payoutId });
  if (claimed.length === 0) return undefined;
  const at = new Date().toISOString();
  const item = newDraftItem(payoutId, scope, claimed, at, runDrafted(claimed, at));
  if (leaseUntil !== undefined) item.leaseUntil = leaseUntil;
  const adopted = await putNewPayoutIfAbsent(item);
  if (adopted) {
    await startPayoutWorkflow(payoutId, 'draft');
    logger.warn('Adopted the claims of an interrupted writer', { payoutId, rewards: claimed.length });
  }
  const payout = await findPayoutItem(payoutId);
  return payout ? { payout, adopted } : undefined;
}

// ------------------------------------------------------------------ new payouts of a run, batched

/**
 * A run's new payouts, put 25 a BatchWriteItem when that is safe, else one conditional PutItem each
 * (see "Writes that outlive their lease"). Counts what it wrote into the run's tally.
 */
export class NewPayoutWriter {
  private buffer: { item: NewPayoutItem; lease: Lease; own: boolean; bufferedAt: number }[] = [];
  private readonly flushes: Promise<void>[] = [];
  constructor(
    private readonly run: Limiter,
    private readonly runId: string,
    private readonly tally: DraftTally,
    /** Test hook: awaited before each flush decides how to write (inject a pause). */
    private readonly beforeFlush?: () => Promise<void>,
  ) {}

  add(item: NewPayoutItem, lease: Lease, own: boolean): void {
    const now = Date.now();
    this.buffer.push({ item, lease, own, bufferedAt: now });
    const oldest = this.buffer[0]?.bufferedAt ?? now;
    // Full, or its oldest entry has waited long enough that its lease may stop being fresh.
    if (this.buffer.length >= 25 || now - oldest >= LEASE_MS / 4) {
      const flush = this.flush();
      // Awaited in close(); until then a failure must not be an unhandled rejection.
      flush.catch(() => undefined);
      this.flushes.push(flush);
    }
  }

  private async flush(): Promise<void> {
    const entries = this.buffer;
    this.buffer = [];
    if (entries.length === 0) return;
    await this.beforeFlush?.();
    const now = Date.now();
    const batched = entries.filter((entry) => entry.own && entry.lease.fresh(now));
    const single = entries.filter((entry) => !batched.includes(entry));
    if (batched.length) {
      await putNewPayoutsUnconditionally(
        batched.map((entry) => entry.item),
        this.run,
      );
      this.tally.payoutsCreated += batched.length;
    }
    await Promise.all(single.map((entry) => this.run(() => this.putOne(entry.item))));
    for (const entry of batched) await startPayoutWorkflow(entry.item.id, 'draft');
  }

  /** Conditional put; a payout written meanwhile is recounted instead (rule B). */
  private async putOne(item: NewPayoutItem): Promise<void> {
    if (await putNewPayoutIfAbsent(item)) {
      this.tally.payoutsCreated++;
      await startPayoutWorkflow(item.id, 'draft');
      return;
    }
    const existing = await findPayoutItem(item.id);
    if (existing?.status === 'draft' && (await recountDraft(existing, this.runId)) > 0) {
      this.tally.payoutsUpdated++;
    }
  }

  async close(): Promise<void> {
    this.flushes.push(this.flush());
    await Promise.all(this.flushes);
  }
}

// ------------------------------------------------------------------ a run's group

export interface GroupContext {
  runId: string;
  run: Limiter;
  writer: NewPayoutWriter;
  tally: DraftTally;
  afterClaim?: ((rewardId: string) => void) | undefined;
}

/**
 * Drafts a group's rewards into its open draft, or a new one (steps 1–4). Returns without drafting
 * when another live run holds the group, or a manager holds its open draft.
 */
export async function draftGroup(group: DraftGroup, context: GroupContext): Promise<void> {
  const { runId, run, tally } = context;
  const scope: SlotScope = { partnerId: group.partnerId, currency: group.currency };
  const candidateId = newId('payout');
  const slotLease = await leaseGroupSlot(scope, runId, candidateId, run);
  if (!slotLease) return; // another live run drafts this group
  const { lease } = slotLease;
  let payoutId = slotLease.payoutId;
  const at = new Date().toISOString();
  let existing: PayoutItem | undefined;
  let adopted = false;
  if (payoutId !== candidateId) {
    existing = await findPayoutItem(payoutId);
    if (!existing) {
      // Rule A first: a payout another holder claimed for but never wrote becomes a draft leased to us.
      const found = await adoptOrphanClaims(payoutId, scope, Date.now() + LEASE_MS);
      existing = found?.payout;
      adopted = found?.adopted ?? false;
      if (adopted) tally.payoutsCreated++;
    }
    if (existing?.status !== 'draft') {
      existing = undefined;
      payoutId = candidateId;
      await run(() => pointSlotAt(scope, runId, payoutId));
    }
  }
  if (existing && !adopted) {
    try {
      existing = await updatePayout(payoutId, {
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
  // Claims stop while the draft's own lease still has half its length left.
  const claimLease = existing
    ? new Lease(Math.min(lease.until, (existing.leaseUntil ?? 0) + LEASE_MS / 2))
    : lease;
  const room = MAX_REWARDS_PER_PAYOUT - (existing?.memberCount ?? 0);
  const { claimed } = await claimAll(
    group.rewards.slice(0, Math.max(0, room)),
    payoutId,
    scope,
    at,
    claimLease,
    {
      run,
      afterClaim: context.afterClaim,
    },
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
              data: { runId, rewardIds: claimed.map((r) => r.id) },
            }),
          ]
        : [],
      at,
    });
    if (claimed.length && !adopted) tally.payoutsUpdated++;
    return;
  }
  if (claimed.length === 0) return;
  context.writer.add(newDraftItem(payoutId, scope, claimed, at, runDrafted(claimed, at)), lease, true);
}

const completedRuns = new Map<string, boolean>();

/** Step 1 for a run: the group's slot, taken over from a run that is over. */
async function leaseGroupSlot(
  scope: SlotScope,
  runId: string,
  candidateId: string,
  run: Limiter,
): Promise<{ payoutId: string; lease: Lease } | undefined> {
  const until = Date.now() + LEASE_MS * 2;
  const first = await run(() => leaseSlot(scope, runId, candidateId, until));
  if (first) return { payoutId: first.payoutId, lease: new Lease(until) };
  // Held by another run: free only if that run is over.
  const held = await readSlot(scope);
  const staleRun = held?.runId ?? '';
  if (!staleRun || !(await runIsOver(staleRun))) return undefined;
  const again = await run(() => leaseSlot(scope, runId, candidateId, until, staleRun));
  return again ? { payoutId: again.payoutId, lease: new Lease(until) } : undefined;
}

async function runIsOver(runId: string): Promise<boolean> {
  if (completedRuns.get(runId)) return true;
  const item = await findRunItem(runId, false);
  const over = !item || item.status === 'completed';
  if (over) completedRuns.set(runId, true);
  return over;
}

// ------------------------------------------------------------------ a manager's new draft

export interface NewDraftInput {
  partnerId: string;
  currency: string;
  /** Unclaimed, unheld rewards of that partner and currency. */
  candidates: readonly Reward[];
  /** Explicit reward ids: every one is claimed, or none (409). */
  allOrNothing: boolean;
  actor: Actor;
  /** Test hook: called after each claim (inject a crash). */
  afterClaim?: (rewardId: string) => void;
}

/** A manager's draft (steps 1, 3, 4, 5): a new payout holding the candidates it could claim. */
export async function draftNewPayout(input: NewDraftInput): Promise<PayoutItem> {
  const at = new Date().toISOString();
  const id = newId('payout');
  const scope: SlotScope = { partnerId: input.partnerId, currency: input.currency, own: id };
  const holder = `api:${id}`;
  const until = Date.parse(at) + LEASE_MS * 2;
  await leaseSlot(scope, holder, id, until); // a slot of its own: always free
  const lease = new Lease(until);
  const slot = { key: slotKeyOf(scope), runId: holder, leaseUntil: until };
  let rest = input.candidates;
  const claimed: Reward[] = [];
  const lost: string[] = [];
  const claim = async (rewards: readonly Reward[]) => {
    const result = await claimAll(rewards, id, input, at, lease, { afterClaim: input.afterClaim });
    claimed.push(...result.claimed);
    lost.push(...result.lost);
  };
  if (input.allOrNothing) {
    // Claim the lowest id alone first, so concurrent requests for the same rewards meet on it and
    // only one goes on (else each may lose some claims and every one rolls back).
    const [first, ...others] = [...input.candidates].sort((a, b) => a.id.localeCompare(b.id));
    if (first) await claim([first]);
    rest = lost.length > 0 ? [] : others;
  }
  await claim(rest);
  const incomplete = input.allOrNothing && claimed.length < input.candidates.length;
  if (claimed.length === 0 || incomplete) {
    await forEachLimited(claimed, CLAIM_CONCURRENCY, (reward) => releaseReward(reward, id, at));
    await deleteSlot(slot);
    if (input.allOrNothing) {
      throw new Conflict('Reward(s) were claimed by another payout meanwhile', { data: { rewardIds: lost } });
    }
    throw new RuleViolation(
      'no_eligible_rewards',
      'Every eligible reward was claimed by another payout meanwhile',
    );
  }
  const item: NewPayoutItem = {
    ...newDraftItem(id, input, claimed, at, newEvent('payout.drafted', input.actor, at, { to: 'draft' })),
    // A manager's draft has always answered at version 2 (it was written, then counted): clients'
    // If-Match values stay as they were.
    version: 2,
  };
  if (!(await putNewPayoutIfAbsent(item))) throw new Error(`Payout ${id} exists already`);
  const record = newPayoutRecord(item) as PayoutItem;
  await flushHistoryQuietly(record, item.events.length);
  await deleteSlot(slot);
  await nameOpenDraft(input.partnerId, input.currency, id);
  await startPayoutWorkflow(id, 'draft');
  return record;
}

// ------------------------------------------------------------------ recovery

/** Rules A, B and C over every slot not held by a live lease (this run's own slots included). */
export async function recoverSlots(runId: string, tally: DraftTally): Promise<void> {
  const now = Date.now();
  for (const slot of await listSlots()) {
    if (slot.leaseUntil !== undefined && slot.leaseUntil >= now && slot.runId !== runId) continue;
    await recoverSlot(slot, runId, tally, now);
  }
}

async function recoverSlot(slot: SlotRecord, runId: string, tally: DraftTally, now: number): Promise<void> {
  const payout = await findPayoutItem(slot.payoutId);
  if (payout) {
    // B: a draft whose lease outlived its holder: claims its totals do not count yet.
    if (payout.status === 'draft' && typeof payout.leaseUntil === 'number' && payout.leaseUntil < now) {
      if ((await recountDraft(payout, runId)) > 0) tally.payoutsUpdated++;
    }
  } else {
    // A
    const adopted = await adoptOrphanClaims(slot.payoutId, slot);
    if (adopted?.adopted) tally.payoutsCreated++;
  }
  // C
  if (slot.own) await deleteSlot(slot);
}
