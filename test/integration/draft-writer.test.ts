/**
 * The draft writer's crash-recovery rules (shared/usecases/draft-writer.ts, rules A–C) and its writes
 * that outlive their lease, against dynalite. Recovery walks every slot of the table, so this file
 * uses a fresh table of its own (TABLE_NAME set before anything reads it). Crashes are real failures
 * thrown from the writer's own test hook; lease expiry moves only `Date` forward (timers stay real).
 * Every check reads the items back: each claimed reward in exactly one payout, whose amount and count
 * are the sum of the rewards that name it.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTables } from '../../infra/local/emulators.ts';

const suffix = randomUUID().slice(0, 8);
process.env.TABLE_NAME = `draftwriter-${suffix}`;
process.env.IDEMPOTENCY_TABLE_NAME = `idem-dw-${suffix}`;

const { listSlots } = await import('../../shared/adapters/draft-store.ts');
const { findPayoutItem, LEASE_MS, loadPayoutRewards, claimReward, getRewardItems, updatePayout, newEvent } =
  await import('../../shared/adapters/payout-store.ts');
const { batchWrite, table } = await import('../../shared/adapters/table.ts');
const { newId } = await import('../../shared/domain/ids.ts');
const { draftNewPayout } = await import('../../shared/usecases/draft-writer.ts');
const { createRun, executeRun } = await import('../../shared/usecases/drafting.ts');
const { rewardItem } = await import('../../shared/usecases/rewards.ts');
type Reward = import('../../shared/domain/schemas.ts').Reward;

const settings = { holdingPeriodDays: 0, minimums: new Map<string, number>(), concurrency: 8 };
const actor = { role: 'manager' as const, id: 'manager-test' };
let clock = Date.now() - 86_400_000;

/** A new partner with `count` unclaimed EUR rewards. */
async function seedPartner(count: number): Promise<{ partnerId: string; rewards: Reward[] }> {
  const partnerId = newId('partner');
  return { partnerId, rewards: await seedPartnerRewards(partnerId, count) };
}

/** Every seeded reward named by exactly one payout, whose totals are the sum of those that name it. */
async function expectConverged(rewards: readonly Reward[]): Promise<Set<string>> {
  const stored = await getRewardItems(rewards.map((reward) => reward.id));
  const payoutIds = new Set(stored.map((item) => String(item.payoutId)));
  expect(stored.every((item) => typeof item.payoutId === 'string')).toBe(true);
  for (const id of payoutIds) {
    const payout = await findPayoutItem(id);
    expect(payout, `payout ${id} is written`).toBeDefined();
    const members = await loadPayoutRewards({ id });
    expect(payout?.memberCount).toBe(members.length);
    expect(payout?.rewardCount).toBe(members.length);
    expect(payout?.amount).toBe(members.reduce((sum, reward) => sum + reward.amount, 0));
    expect(payout?.leaseUntil).toBeUndefined();
  }
  return payoutIds;
}

function afterLeasesExpire(): void {
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
  vi.setSystemTime(Date.now() + LEASE_MS * 2 + 1000);
}

beforeAll(async () => {
  await createTables(process.env.AWS_ENDPOINT_URL_DYNAMODB as string, {
    table: process.env.TABLE_NAME as string,
    idempotencyTable: process.env.IDEMPOTENCY_TABLE_NAME as string,
  });
  expect(table()).toBe(`draftwriter-${suffix}`);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('the draft writer', () => {
  it('A: a manager draft that dies after its claims is adopted by the next run once its lease expires, then its slot goes', async () => {
    const { partnerId, rewards } = await seedPartner(6);
    let claims = 0;
    await expect(
      draftNewPayout({
        partnerId,
        currency: 'EUR',
        candidates: rewards.slice(0, 4),
        allOrNothing: false,
        actor,
        afterClaim: () => {
          if (++claims === 2) throw new Error('injected crash');
        },
      }),
    ).rejects.toThrow('injected crash');
    await new Promise((resolve) => setTimeout(resolve, 200)); // claims in flight settle
    const named = (await getRewardItems(rewards.map((r) => r.id))).filter((item) => item.payoutId);
    expect(named.length).toBeGreaterThanOrEqual(2);
    const orphanId = String(named[0]?.payoutId);
    expect(await findPayoutItem(orphanId)).toBeUndefined();
    expect((await listSlots()).filter((slot) => slot.own)).toHaveLength(1);

    // While its lease is live, a run leaves it alone (the holder may still be writing).
    const early = await executeRun(await createRun({}), settings);
    expect(await findPayoutItem(orphanId)).toBeUndefined();
    expect(early.rewardsClaimed).toBe(rewards.length - named.length);

    afterLeasesExpire();
    const late = await executeRun(await createRun({}), settings);
    expect(late).toMatchObject({ payoutsCreated: 1, rewardsClaimed: 0 });
    const adopted = await findPayoutItem(orphanId);
    expect(adopted).toMatchObject({ status: 'draft', memberCount: named.length });
    expect((await listSlots()).filter((slot) => slot.own)).toHaveLength(0);
    expect((await expectConverged(rewards)).size).toBe(2);

    // Re-running converges: nothing more to do.
    const again = await executeRun(await createRun({}), settings);
    expect(again).toMatchObject({ payoutsCreated: 0, payoutsUpdated: 0, rewardsClaimed: 0 });
    expect(await findPayoutItem(orphanId)).toMatchObject({ version: adopted?.version });
  });

  it('B: a draft whose holder died between claims and totals is recounted, once its lease expires', async () => {
    const { partnerId, rewards } = await seedPartner(5);
    await executeRun(await createRun({ partnerId }), settings);
    const [draftId] = await expectConverged(rewards);
    const draft = await findPayoutItem(draftId as string);
    // A writer leased the draft and claimed two more rewards for it, then died.
    const extra = await seedPartnerRewards(partnerId, 2);
    await updatePayout(draftId as string, {
      from: ['draft'],
      respectLease: true,
      set: { leaseUntil: Date.now() + LEASE_MS },
      events: [],
      at: new Date().toISOString(),
    });
    for (const reward of extra) {
      expect(
        await claimReward(reward.id, draftId as string, { partnerId, currency: 'EUR' }, reward.createdAt),
      ).toBe(true);
    }
    expect((await findPayoutItem(draftId as string))?.memberCount).toBe(draft?.memberCount);

    afterLeasesExpire();
    const run = await executeRun(await createRun({}), settings);
    expect(run).toMatchObject({ payoutsCreated: 0, payoutsUpdated: 1, rewardsClaimed: 0 });
    const ids = await expectConverged([...rewards, ...extra]);
    expect([...ids]).toEqual([draftId]);
  });

  it('a buffered payout whose slot lease expired during a long run is never written over', async () => {
    const { partnerId, rewards } = await seedPartner(3);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let paused: () => void = () => undefined;
    const reachedFlush = new Promise<void>((resolve) => {
      paused = resolve;
    });
    // Run A claims, buffers its new payout and stalls before writing it, past its slot lease.
    const slow = executeRun(await createRun({ partnerId }), {
      ...settings,
      beforeFlush: async () => {
        paused();
        await gate;
      },
    });
    await reachedFlush;
    afterLeasesExpire();
    // Meanwhile run B adopts A's claims (rule A) and a manager sends the draft on (draft → pending).
    const other = await executeRun(await createRun({}), settings);
    expect(other.payoutsCreated).toBe(1);
    const [payoutId] = await expectConverged(rewards);
    const moved = await updatePayout(payoutId as string, {
      from: ['draft'],
      to: 'pending',
      events: [
        newEvent('payout.validated', actor, new Date().toISOString(), { from: 'draft', to: 'pending' }),
      ],
      at: new Date().toISOString(),
    });
    expect(moved.status).toBe('pending');

    // A wakes up: its batch must not put the payout back to a fresh draft.
    release();
    const done = await slow;
    expect(done.status).toBe('completed');
    expect(done.payoutsCreated).toBe(0);
    const after = await findPayoutItem(payoutId as string);
    expect(after).toMatchObject({ status: 'pending', version: moved.version, seq: moved.seq });
    expect([...(await expectConverged(rewards))]).toEqual([payoutId]);
  });

  it('a buffered payout past its lease that no one took over is still written, by a conditional put', async () => {
    const { partnerId, rewards } = await seedPartner(2);
    const done = await executeRun(await createRun({ partnerId }), {
      ...settings,
      beforeFlush: async () => afterLeasesExpire(),
    });
    expect(done).toMatchObject({ status: 'completed', payoutsCreated: 1, rewardsClaimed: 2 });
    const [payoutId] = await expectConverged(rewards);
    expect(await findPayoutItem(payoutId as string)).toMatchObject({ status: 'draft', version: 1 });
  });

  it('a manager draft that loses its all-or-nothing race releases its claims and leaves no slot', async () => {
    const { partnerId, rewards } = await seedPartner(3);
    // Another payout holds the last reward.
    const taken = rewards[2] as Reward;
    expect(await claimReward(taken.id, 'po_other', { partnerId, currency: 'EUR' }, taken.createdAt)).toBe(
      true,
    );
    await expect(
      draftNewPayout({ partnerId, currency: 'EUR', candidates: rewards, allOrNothing: true, actor }),
    ).rejects.toMatchObject({ name: 'Conflict' });
    const stored = await getRewardItems(rewards.map((r) => r.id));
    expect(stored.map((item) => item.payoutId ?? null)).toEqual([null, null, 'po_other']);
    expect((await listSlots()).filter((slot) => slot.own && slot.partnerId === partnerId)).toHaveLength(0);
  });
});

async function seedPartnerRewards(partnerId: string, count: number): Promise<Reward[]> {
  const rewards: Reward[] = Array.from({ length: count }, (_, index) => {
    const at = new Date(clock++).toISOString();
    return {
      id: newId('reward'),
      partnerId,
      amount: 500 + index,
      currency: 'EUR',
      status: 'pending',
      payoutId: null,
      createdAt: at,
      updatedAt: at,
    } as Reward;
  });
  await batchWrite(rewards.map((reward) => ({ PutRequest: { Item: rewardItem(reward) } })));
  return rewards;
}
