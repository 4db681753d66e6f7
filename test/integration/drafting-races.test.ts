/**
 * Drafting runs over the whole table, racing and crashing. Whole-table runs would claim every other
 * test file's rewards in the shared table, so this file points TABLE_NAME at a fresh table of its own
 * (before anything reads it: the table adapter keeps the first name it sees) and reads every item
 * back to check the invariants:
 *   - every eligible reward is claimed exactly once, refused ones never;
 *   - one payout per partner × currency, holding exactly the rewards that name it, amount = their sum;
 *   - each run's counts add up to that.
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTables } from '../../infra/local/emulators.ts';
import { invokeLocal } from '../../infra/local/functions.ts';
import { scheduleDrafting } from '../../infra/local/schedule.ts';

const suffix = randomUUID().slice(0, 8);
process.env.TABLE_NAME = `drafting-${suffix}`;
process.env.IDEMPOTENCY_TABLE_NAME = `idem-${suffix}`;

// Loaded after TABLE_NAME is set (none of them reads it at load, but keep it obvious).
const { dynamo } = await import('../../shared/adapters/clients.ts');
const { LEASE_MS } = await import('../../shared/adapters/payout-store.ts');
const { table } = await import('../../shared/adapters/table.ts');
const { newId } = await import('../../shared/domain/ids.ts');
const { createRun, executeRun, getRun, runWithinBudget, toPayoutRun } = await import(
  '../../shared/usecases/drafting.ts'
);
const { rewardItem } = await import('../../shared/usecases/rewards.ts');
type DraftingSettings = import('../../shared/usecases/drafting.ts').DraftingSettings;
type RunState = import('../../shared/usecases/drafting.ts').RunState;

const settings = (extra: Partial<DraftingSettings> = {}): DraftingSettings => ({
  holdingPeriodDays: 0,
  minimums: new Map(),
  concurrency: 8,
  ...extra,
});

// ------------------------------------------------------------------ seeding and reading back

interface Seeded {
  partners: string[];
  /** Rewards a run must claim. */
  eligible: Map<string, { partnerId: string; currency: string; amount: number }>;
  refused: string[];
}

let createdAt = Date.now() - 86_400_000;

/**
 * `partners` partners with rewards in EUR and USD: commissions and a few clawbacks (every group stays
 * positive), pending and accepted, plus refused rewards that must never be claimed.
 */
async function seed(partnerCount: number, rewardCount: number): Promise<Seeded> {
  const partners = Array.from({ length: partnerCount }, () => newId('partner'));
  const seeded: Seeded = { partners, eligible: new Map(), refused: [] };
  const items: Record<string, unknown>[] = [];
  for (let index = 0; index < rewardCount; index++) {
    const partnerId = partners[index % partnerCount] as string;
    const round = Math.floor(index / partnerCount);
    const currency = round % 3 === 2 ? 'USD' : 'EUR';
    const clawback = round % 4 === 3;
    const refused = round % 5 === 4;
    const amount = clawback ? -((index % 5) + 1) * 10 : ((index * 7919) % 9000) + 500;
    const at = new Date(createdAt++).toISOString();
    const id = newId('reward');
    items.push(
      rewardItem({
        id,
        partnerId,
        amount,
        currency,
        status: refused ? 'refused' : index % 2 ? 'pending' : 'accepted',
        payoutId: null,
        createdAt: at,
        updatedAt: at,
      }),
    );
    if (refused) seeded.refused.push(id);
    else seeded.eligible.set(id, { partnerId, currency, amount });
  }
  for (let start = 0; start < items.length; start += 25) {
    let requests = items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
    while (requests.length) {
      const result = await dynamo().send(new BatchWriteCommand({ RequestItems: { [table()]: requests } }));
      requests = (result.UnprocessedItems?.[table()] ?? []) as typeof requests;
    }
  }
  return seeded;
}

async function scanAll(): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo().send(
      new ScanCommand({ TableName: table(), ConsistentRead: true, ExclusiveStartKey: startKey }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/**
 * Checks the invariants over the seeded partners and returns what it saw. `complete`: converged, every
 * eligible reward counted in its partner × currency payout. Otherwise (mid-crash) only what must hold
 * at every instant: one payout per group, a payout counts only rewards that name it, amount = their
 * sum; claims may not be counted yet (`uncounted`) or have no payout yet (`orphans`).
 */
async function verify(seeded: Seeded, complete = true) {
  const items = await scanAll();
  const partners = new Set(seeded.partners);
  const rewards = new Map(
    items.filter((item) => item.type === 'reward' && partners.has(item.partnerId)).map((r) => [r.id, r]),
  );
  const payouts = items.filter((item) => item.type === 'payout' && partners.has(item.partnerId));
  expect(rewards.size).toBe(seeded.eligible.size + seeded.refused.length);

  for (const id of seeded.refused) {
    const reward = rewards.get(id);
    expect(reward?.payoutId, id).toBeUndefined();
    expect(reward?.status).toBe('refused');
  }
  // Claimed rewards have left the unclaimed index; unclaimed eligible ones are still in it.
  const claimed = [...seeded.eligible.keys()].filter((id) => rewards.get(id)?.payoutId);
  for (const id of seeded.eligible.keys()) {
    const reward = rewards.get(id) as Record<string, any>;
    if (reward.payoutId) expect(reward.GSI3PK, id).toBeUndefined();
    else expect(reward.GSI3PK, id).toMatch(/^UNCLAIMED#/);
  }
  if (complete) expect(claimed.length).toBe(seeded.eligible.size);

  // One payout per partner × currency; each holds exactly the rewards that name it.
  const byGroup = new Map<string, Record<string, any>[]>();
  for (const payout of payouts) {
    const key = `${payout.partnerId}#${payout.currency}`;
    byGroup.set(key, [...(byGroup.get(key) ?? []), payout]);
  }
  for (const [key, group] of byGroup)
    expect(
      group.map((p) => p.id),
      key,
    ).toHaveLength(1);
  const payoutIds = new Set(payouts.map((payout) => payout.id));
  let uncounted = 0;
  for (const payout of payouts) {
    const own = [...rewards.values()].filter((reward) => reward.payoutId === payout.id);
    // The payout keeps a count of its rewards, not their ids (the rewards name their payout).
    const members = Number(payout.memberCount);
    uncounted += own.length - members;
    expect(payout.status).toBe('draft');
    // Mid-crash a draft may not count claims made for it yet; once converged it counts exactly them.
    if (complete) expect(members, payout.id).toBe(own.length);
    else expect(members, payout.id).toBeLessThanOrEqual(own.length);
    expect(payout.rewardCount).toBe(members);
    if (members === own.length) {
      expect(payout.amount, payout.id).toBe(own.reduce((sum, reward) => sum + Number(reward.amount), 0));
    }
    for (const reward of own) {
      expect(`${reward.partnerId}#${reward.currency}`).toBe(`${payout.partnerId}#${payout.currency}`);
    }
  }
  const orphans = claimed.filter((id) => !payoutIds.has(rewards.get(id)?.payoutId));
  if (complete) {
    expect(orphans).toEqual([]);
    const groups = new Set([...seeded.eligible.values()].map((r) => `${r.partnerId}#${r.currency}`));
    expect([...byGroup.keys()].sort()).toEqual([...groups].sort());
  }
  return { rewards, payouts, claimed, orphans, uncounted };
}

const totals = (runs: RunState[]) => ({
  payoutsCreated: runs.reduce((sum, run) => sum + run.payoutsCreated, 0),
  payoutsUpdated: runs.reduce((sum, run) => sum + run.payoutsUpdated, 0),
  rewardsClaimed: runs.reduce((sum, run) => sum + run.rewardsClaimed, 0),
});

/**
 * A crash: from the `after`-th claim on, every DynamoDB request of this process fails (the run dies
 * where it stands: later claims, the payout writes and the run's own record never happen). Returns
 * how many claims the run made, once its stragglers have stopped.
 */
async function crashAfterClaims(
  after: number,
  concurrency: number,
): Promise<{ run: RunState; claims: number }> {
  let claims = 0;
  let dead = false;
  let refused = 0;
  const client = dynamo();
  const name = `crash-${randomUUID()}`;
  client.middlewareStack.add(
    (next) => async (args) => {
      if (dead) {
        refused++;
        throw Object.assign(new Error('process killed'), { name: 'Killed' });
      }
      return next(args);
    },
    { step: 'initialize', name },
  );
  const run = await createRun({});
  try {
    await expect(
      executeRun(
        run,
        settings({
          concurrency,
          afterClaim: () => {
            claims++;
            if (claims >= after) {
              dead = true;
              throw new Error('injected crash');
            }
          },
        }),
      ),
    ).rejects.toThrow();
    // Let whatever was in flight fail against the dead client.
    let seen = -1;
    while (seen !== refused) {
      seen = refused;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    client.middlewareStack.remove(name);
  }
  return { run, claims };
}

/** Moves the clock forward past the leases the crashed run still holds (only `Date`; timers stay real). */
function afterLeasesExpire(): void {
  const later = Date.now() + LEASE_MS * 2 + 1000;
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
  vi.setSystemTime(later);
}

// ------------------------------------------------------------------ tests

beforeAll(async () => {
  await createTables(process.env.AWS_ENDPOINT_URL_DYNAMODB as string, {
    table: process.env.TABLE_NAME as string,
    idempotencyTable: process.env.IDEMPOTENCY_TABLE_NAME as string,
  });
  expect(table()).toBe(`drafting-${suffix}`);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('drafting runs over the whole table', () => {
  it('six racing runs claim every reward once, with one draft per partner and currency', async () => {
    const seeded = await seed(30, 240);
    const runs = await Promise.all(Array.from({ length: 6 }, () => createRun({})));
    const results = await Promise.all(runs.map((run) => executeRun(run, settings())));
    for (const result of results) expect(result.status).toBe('completed');

    const { payouts } = await verify(seeded);
    const groups = new Set([...seeded.eligible.values()].map((r) => `${r.partnerId}#${r.currency}`));
    expect(payouts).toHaveLength(groups.size);
    // Together, the runs did what one run would have done.
    expect(totals(results)).toEqual({
      payoutsCreated: groups.size,
      payoutsUpdated: 0,
      rewardsClaimed: seeded.eligible.size,
    });
    for (const result of results) {
      const stored = await getRun(result.id);
      expect(stored).toMatchObject({
        status: 'completed',
        payoutsCreated: result.payoutsCreated,
        rewardsClaimed: result.rewardsClaimed,
      });
    }

    // Another run finds nothing left.
    const again = await executeRun(await createRun({}), settings());
    expect(again).toMatchObject({ payoutsCreated: 0, payoutsUpdated: 0, rewardsClaimed: 0, skipped: [] });
    await verify(seeded);
  });

  it('racing runs add new rewards to the open drafts, once', async () => {
    const seeded = await seed(12, 120);
    await executeRun(await createRun({}), settings());
    const first = await verify(seeded);
    // New rewards for the same partners.
    const extra = await seedFor(seeded.partners, 96);
    const runs = await Promise.all(Array.from({ length: 6 }, () => createRun({})));
    const results = await Promise.all(runs.map((run) => executeRun(run, settings())));
    const merged: Seeded = {
      partners: seeded.partners,
      eligible: new Map([...seeded.eligible, ...extra.eligible]),
      refused: [...seeded.refused, ...extra.refused],
    };
    const { payouts } = await verify(merged);
    // Still the same payouts: the new rewards joined them.
    expect(payouts.map((p) => p.id).sort()).toEqual(first.payouts.map((p) => p.id).sort());
    const total = totals(results);
    expect(total.rewardsClaimed).toBe(extra.eligible.size);
    expect(total.payoutsCreated).toBe(0);
    const touched = new Set([...extra.eligible.values()].map((r) => `${r.partnerId}#${r.currency}`));
    expect(total.payoutsUpdated).toBe(touched.size);
  });

  it('a run killed after its first claims, resumed, converges', async () => {
    const seeded = await seed(20, 200);
    const { run, claims } = await crashAfterClaims(40, 4);
    expect(claims).toBeGreaterThanOrEqual(40);
    const crashed = await verify(seeded, false);
    expect(crashed.claimed.length).toBeGreaterThanOrEqual(40);
    expect(crashed.claimed.length).toBeLessThan(seeded.eligible.size);
    // The crash came before any payout was written.
    expect(crashed.orphans.length).toBe(crashed.claimed.length);
    expect((await getRun(run.id)).status).toBe('running');

    // The same run again (Lambda retrying the continuation event): its own leases are no obstacle.
    const resumed = await executeRun(await getRun(run.id), settings());
    expect(resumed.status).toBe('completed');
    const { payouts, rewards } = await verify(seeded);
    expect(resumed.rewardsClaimed).toBe(seeded.eligible.size - crashed.claimed.length);
    // The crash's claims stand, in the payouts they named (written by recovery).
    for (const id of crashed.claimed)
      expect(rewards.get(id)?.payoutId).toBe(crashed.rewards.get(id)?.payoutId);
    // Every payout written once: recovered (the crash's claims) or drafted, never both.
    expect(resumed.payoutsCreated).toBe(payouts.length);
  });

  it('a run killed after its first claims, then a new run, converges once its leases expire', async () => {
    const seeded = await seed(20, 200);
    const { claims } = await crashAfterClaims(30, 4);
    expect(claims).toBeGreaterThanOrEqual(30);
    const crashed = await verify(seeded, false);
    expect(crashed.orphans.length).toBe(crashed.claimed.length);

    // At once: the crashed run's groups are still leased to it, so this run leaves them alone
    // (it cannot tell a dead run from a slow one) but drafts everything else, and duplicates nothing.
    const early = await executeRun(await createRun({}), settings());
    expect(early.status).toBe('completed');
    const between = await verify(seeded, false);
    expect(between.orphans).toEqual(crashed.orphans);

    // Past the leases: the next run writes the payouts the crashed run claimed for, and drafts the rest.
    afterLeasesExpire();
    const late = await executeRun(await createRun({}), settings());
    expect(late.status).toBe('completed');
    const { payouts, rewards } = await verify(seeded);
    expect(early.rewardsClaimed + late.rewardsClaimed).toBe(seeded.eligible.size - crashed.claimed.length);
    for (const id of crashed.claimed)
      expect(rewards.get(id)?.payoutId).toBe(crashed.rewards.get(id)?.payoutId);
    // Each payout written once: by the early run, or recovered (or drafted) by the late one.
    expect(early.payoutsCreated + late.payoutsCreated).toBe(payouts.length);
  });

  it('a run killed while adding to open drafts, then a new run, converges', async () => {
    const seeded = await seed(16, 96);
    await executeRun(await createRun({}), settings());
    const drafted = await verify(seeded);
    const extra = await seedFor(seeded.partners, 160);
    const merged: Seeded = {
      partners: seeded.partners,
      eligible: new Map([...seeded.eligible, ...extra.eligible]),
      refused: seeded.refused,
    };
    // Claims land on the open drafts; the drafts' totals are updated after a group's claims.
    await crashAfterClaims(50, 4);
    const crashed = await verify(merged, false);
    expect(crashed.claimed.length).toBeGreaterThanOrEqual(drafted.claimed.length + 50);
    expect(crashed.uncounted).toBeGreaterThan(0);
    expect(crashed.orphans).toEqual([]);

    afterLeasesExpire();
    const late = await executeRun(await createRun({}), settings());
    expect(late.status).toBe('completed');
    const { payouts } = await verify(merged);
    expect(payouts.map((p) => p.id).sort()).toEqual(drafted.payouts.map((p) => p.id).sort());
  });

  it('a paused run continues from its checkpoint, which can be inside a shard', async () => {
    const seeded = await seed(16, 96);
    let checks = 0;
    const run = await createRun({});
    // Asked before each group: five groups are drafted, the sixth is where the run resumes.
    const paused = await executeRun(run, settings({ shouldPause: () => ++checks > 5 }));
    expect(paused.status).toBe('running');
    expect(paused.payoutsCreated + paused.payoutsUpdated + paused.skippedCount).toBe(5);
    const saved = await getRun(run.id);
    expect(saved.nextShard).toBe(paused.nextShard);
    expect(saved.shardFrom).toMatch(/^pt_[0-9A-HJKMNP-TV-Z]{26}#[A-Z]{3}#$/);
    expect(toPayoutRun(saved)).not.toHaveProperty('shardFrom');
    const handedOff: string[] = [];
    const finished = await runWithinBudget(await getRun(run.id), settings(), 60_000, async (id) => {
      handedOff.push(id);
    });
    expect(finished.finished).toBe(true);
    expect(handedOff).toEqual([]);
    expect(finished.run.status).toBe('completed');
    expect(finished.run.rewardsClaimed).toBe(seeded.eligible.size);
    expect(finished.run).not.toHaveProperty('shardFrom');
    await verify(seeded);

    // Out of budget at once, with groups to draft: the run is handed off, unfinished.
    const more = await seed(2, 12);
    const next = await runWithinBudget(await createRun({}), settings(), -1, async (id) => {
      handedOff.push(id);
    });
    expect(next.finished).toBe(false);
    expect(handedOff).toEqual([next.run.id]);
    expect((await getRun(next.run.id)).status).toBe('running');
    // The continuation drafts from there.
    const continued = await executeRun(await getRun(next.run.id), settings());
    expect(continued).toMatchObject({ status: 'completed', rewardsClaimed: more.eligible.size });
    await verify(more);
  });

  it('the local schedule fires the drafting handler, which drafts the whole table', async () => {
    const seeded = await seed(10, 60);
    const { handler } = await import('../../functions/drafting/handler.ts');
    const results: unknown[] = [];
    let fired!: () => void;
    const done = new Promise<void>((resolve) => {
      fired = resolve;
    });
    const schedule = scheduleDrafting('cron(0 2 1 * ? *)', 'UTC', async () => {
      results.push(await invokeLocal('partner-payouts-drafting', handler, {}, 900_000));
      fired();
    });
    try {
      expect(schedule.getPattern()).toBe('0 2 1 * *');
      expect(schedule.nextRun()?.getUTCDate()).toBe(1);
      schedule.trigger();
      await done;
    } finally {
      schedule.stop();
    }
    expect(results).toEqual([{ runId: expect.stringMatching(/^run_/), status: 'completed' }]);
    await verify(seeded);
    const stored = await getRun((results[0] as { runId: string }).runId);
    expect(stored.rewardsClaimed).toBe(seeded.eligible.size);
  });
});

/** More rewards for existing partners. */
async function seedFor(partners: string[], count: number): Promise<Seeded> {
  const seeded: Seeded = { partners, eligible: new Map(), refused: [] };
  const items: Record<string, unknown>[] = [];
  for (let index = 0; index < count; index++) {
    const partnerId = partners[index % partners.length] as string;
    const currency = index % 3 === 0 ? 'USD' : 'EUR';
    const amount = ((index * 31) % 5000) + 100;
    const at = new Date(createdAt++).toISOString();
    const id = newId('reward');
    items.push(
      rewardItem({
        id,
        partnerId,
        amount,
        currency,
        status: 'accepted',
        payoutId: null,
        createdAt: at,
        updatedAt: at,
      }),
    );
    seeded.eligible.set(id, { partnerId, currency, amount });
  }
  for (let start = 0; start < items.length; start += 25) {
    await dynamo().send(
      new BatchWriteCommand({
        RequestItems: { [table()]: items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } })) },
      }),
    );
  }
  return seeded;
}
