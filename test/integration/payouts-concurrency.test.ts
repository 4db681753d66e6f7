/**
 * Races through the real handlers against dynalite: the conditional writes of design.md
 * ("Transitions and consistency") must keep every invariant when requests overlap. Each scenario is
 * repeated a few times so real interleavings happen; all state is read back through GET routes.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { expectOk, listAll } from '../support/expect.ts';
import { type CallResult, call, manager, partner } from '../support/http.ts';

// Many requests per test; leave room for a busy 2-core machine.
vi.setConfig({ testTimeout: 120_000 });

// ------------------------------------------------------------------ helpers

function expectProblemJson(response: CallResult): void {
  expect(response.headers['content-type']).toBe('application/problem+json');
  expect(response.body.status).toBe(response.status);
}

async function newPartner(): Promise<string> {
  const response = await call(manager, 'POST', '/partners', {
    body: { name: 'Racer', email: `race+${randomUUID()}@example.com` },
  });
  return expectOk(response, 201).id;
}

async function newReward(partnerId: string, amount: number, status: 'pending' | 'accepted' = 'accepted') {
  const response = await call(manager, 'POST', '/rewards', {
    body: { partnerId, amount, currency: 'EUR', status },
  });
  return expectOk(response, 201) as { id: string; amount: number };
}

async function draft(partnerId: string, rewardIds?: string[]) {
  const response = await call(manager, 'POST', '/payouts', {
    body: { partnerId, currency: 'EUR', ...(rewardIds ? { rewardIds } : {}) },
  });
  return expectOk(response, 201) as { id: string };
}

const getPayout = async (id: string) => expectOk(await call(manager, 'GET', `/payouts/${id}`));
const getReward = async (id: string) => expectOk(await call(manager, 'GET', `/rewards/${id}`));
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/** Every reward of a payout, read back reward by reward (not from the payout's own totals). */
async function payoutRewardItems(payoutId: string): Promise<any[]> {
  const listed = await listAll(manager, `/payouts/${payoutId}/rewards`);
  const items = [];
  for (const reward of listed) items.push(await getReward(reward.id));
  for (const item of items) expect(item.payoutId).toBe(payoutId);
  return items;
}

/** A payout's amount must be the sum of its non-refused rewards, as read from each reward. */
async function expectConsistent(payoutId: string): Promise<any> {
  const payout = await getPayout(payoutId);
  const rewards = await payoutRewardItems(payoutId);
  if (payout.status !== 'cancelled') {
    expect({
      id: payoutId,
      status: payout.status,
      amount: payout.amount,
      rewardCount: payout.rewardCount,
    }).toEqual({
      id: payoutId,
      status: payout.status,
      amount: sum(rewards.filter((reward) => reward.status !== 'refused').map((reward) => reward.amount)),
      rewardCount: rewards.length,
    });
  }
  return payout;
}

// ------------------------------------------------------------------ races

describe('concurrent transitions', () => {
  it('two concurrent validations: exactly one 200 and one 409, one payout.validated event', async () => {
    for (let round = 0; round < 8; round++) {
      const partnerId = await newPartner();
      await newReward(partnerId, 1000);
      await newReward(partnerId, 250);
      const { id } = await draft(partnerId);
      const before = await getPayout(id);

      const responses = await Promise.all([
        call(manager, 'POST', `/payouts/${id}/validate`, { body: {} }),
        call(manager, 'POST', `/payouts/${id}/validate`, { body: { requireRewardReview: true } }),
      ]);
      const statuses = responses.map((response) => response.status).sort();
      expect({ round, statuses }).toEqual({ round, statuses: [200, 409] });
      const loser = responses.find((response) => response.status === 409) as CallResult;
      expectProblemJson(loser);
      expect(['conflict', 'invalid_transition']).toContain(loser.body.code);

      const after = await getPayout(id);
      expect(after).toMatchObject({ status: 'pending', amount: 1250, version: before.version + 1 });
      const winner = responses.find((response) => response.status === 200) as CallResult;
      expect(after.requirements).toEqual(winner.body.requirements);
      const events = await listAll(manager, `/payouts/${id}/events`);
      expect(events.filter((event) => event.type === 'payout.validated')).toHaveLength(1);
    }
  });

  it('two concurrent partner validations and a request-changes: exactly one wins', async () => {
    for (let round = 0; round < 5; round++) {
      const partnerId = await newPartner();
      await newReward(partnerId, 1000);
      const { id } = await draft(partnerId);
      expectOk(await call(manager, 'POST', `/payouts/${id}/validate`, { body: {} }));
      const as = partner(partnerId);
      const responses = await Promise.all([
        call(as, 'POST', `/partner/payouts/${id}/validate`, { body: {} }),
        call(as, 'POST', `/partner/payouts/${id}/validate`, { body: {} }),
        call(as, 'POST', `/partner/payouts/${id}/request-changes`, { body: { comment: 'no' } }),
      ]);
      const winners = responses.filter((response) => response.status === 200);
      expect({ round, winners: winners.length }).toEqual({ round, winners: 1 });
      for (const response of responses.filter((r) => r.status !== 200)) {
        expect(response.status).toBe(409);
        expectProblemJson(response);
      }
      const after = await getPayout(id);
      expect(after.status).toBe((winners[0] as CallResult).body.status);
      const events = await listAll(manager, `/payouts/${id}/events`);
      expect(
        events.filter((e) => e.type === 'payout.partner_validated' || e.type === 'payout.changes_requested'),
      ).toHaveLength(1);
    }
  });
});

describe('concurrent drafting over the same rewards', () => {
  type Mode = 'implicit' | 'explicit' | 'mixed';

  async function race(mode: Mode) {
    const partnerId = await newPartner();
    const rewards: { id: string; amount: number }[] = [];
    for (let index = 0; index < 50; index++) {
      // Some clawbacks among them; the total stays positive.
      rewards.push(await newReward(partnerId, index % 7 === 3 ? -(100 + index) : 1000 + index * 13));
    }
    const ids = rewards.map((reward) => reward.id);
    const bodies = Array.from({ length: 6 }, (_, index) => {
      const explicit = mode === 'explicit' || (mode === 'mixed' && index % 2 === 0);
      return { partnerId, currency: 'EUR', ...(explicit ? { rewardIds: ids } : {}) };
    });
    const responses = await Promise.all(bodies.map((body) => call(manager, 'POST', '/payouts', { body })));
    return { partnerId, rewards, bodies, responses };
  }

  it.each(['implicit', 'explicit', 'mixed'] as Mode[])(
    '6 concurrent POST /payouts (%s) over 50 rewards: each reward in exactly one payout, nothing left behind',
    async (mode) => {
      const { partnerId, rewards, bodies, responses } = await race(mode);
      const winners = responses.filter((response) => response.status === 201);
      const losers = responses.filter((response) => response.status !== 201);
      for (const [index, response] of responses.entries()) {
        if (response.status === 201) continue;
        expectProblemJson(response);
        // An explicit request that lost a claim is a 409; an implicit one that claimed nothing a 422.
        const expected = bodies[index]?.rewardIds
          ? { status: 409, code: 'conflict' }
          : { status: 422, code: 'no_eligible_rewards' };
        expect({ index, status: response.status, code: response.body.code }).toEqual({ index, ...expected });
      }
      expect(winners.length + losers.length).toBe(6);
      expect(winners.length).toBeGreaterThanOrEqual(1);

      // The partner's payouts are exactly the winners: a loser leaves no (empty) payout behind.
      const payouts = await listAll(manager, '/payouts', { partnerId });
      expect(payouts.map((payout) => payout.id).sort()).toEqual(winners.map((w) => w.body.id).sort());
      for (const payout of payouts) {
        expect(payout.status).toBe('draft');
        expect(payout.rewardCount).toBeGreaterThan(0);
      }

      // Every reward, read back, is in exactly one of them. Only in the mixed race may a reward be
      // left over: an explicit request that lost rolls its claims back after an implicit one had
      // already passed those rewards by; such a reward must be unclaimed and eligible again.
      const owner = new Map<string, string>();
      const leftovers: { id: string; amount: number }[] = [];
      for (const reward of rewards) {
        const read = await getReward(reward.id);
        if (mode === 'mixed' && read.payoutId === null) {
          leftovers.push(reward);
          continue;
        }
        expect({ id: reward.id, claimed: payouts.some((payout) => payout.id === read.payoutId) }).toEqual({
          id: reward.id,
          claimed: true,
        });
        owner.set(reward.id, read.payoutId);
      }
      let claimed = 0;
      for (const payout of payouts) {
        const items = await payoutRewardItems(payout.id);
        claimed += items.length;
        for (const item of items) expect(owner.get(item.id)).toBe(payout.id);
        await expectConsistent(payout.id);
      }
      expect(claimed + leftovers.length).toBe(50);
      const totals = (await Promise.all(payouts.map((payout) => getPayout(payout.id)))).map((p) => p.amount);
      expect(sum(totals) + sum(leftovers.map((reward) => reward.amount))).toBe(
        sum(rewards.map((reward) => reward.amount)),
      );
      expect(sum(payouts.map((payout) => payout.rewardCount))).toBe(claimed);

      // A further draft takes exactly what is left, if anything.
      const again = await call(manager, 'POST', '/payouts', { body: { partnerId, currency: 'EUR' } });
      if (leftovers.length === 0) {
        expect({ status: again.status, code: again.body.code }).toEqual({
          status: 422,
          code: 'no_eligible_rewards',
        });
      } else {
        expectOk(again, 201);
        expect((await listAll(manager, `/payouts/${again.body.id}/rewards`)).map((r) => r.id).sort()).toEqual(
          leftovers.map((reward) => reward.id).sort(),
        );
        await expectConsistent(again.body.id);
      }
    },
  );
});

describe('decisions racing transitions', () => {
  it('refuse vs validate on a draft never yields a pending payout whose amount is not its rewards’ sum', async () => {
    for (let round = 0; round < 12; round++) {
      const partnerId = await newPartner();
      const a = await newReward(partnerId, 1000);
      const b = await newReward(partnerId, 400);
      const { id } = await draft(partnerId);
      const [refused, validated] = await Promise.all([
        call(manager, 'POST', `/rewards/${round % 2 === 0 ? a.id : b.id}/refuse`, {
          body: { reason: 'race' },
        }),
        call(manager, 'POST', `/payouts/${id}/validate`, { body: {} }),
      ]);
      for (const response of [refused, validated]) {
        expect([200, 409]).toContain(response.status);
        if (response.status !== 200) expectProblemJson(response);
      }
      const payout = await expectConsistent(id);
      if (payout.status === 'pending') {
        expect(validated.status).toBe(200);
      } else {
        expect(payout.status).toBe('draft');
        expect(validated.status).toBe(409);
      }
      // Neither request may leave a stale lease or a half-done change: the draft can still move on.
      if (payout.status === 'draft') {
        const retried = await call(manager, 'POST', `/payouts/${id}/validate`, { body: {} });
        expect({ round, status: retried.status, body: retried.status === 200 ? null : retried.body }).toEqual(
          {
            round,
            status: 200,
            body: null,
          },
        );
        await expectConsistent(id);
      }
      const events = await listAll(manager, `/payouts/${id}/events`);
      expect(events.filter((event) => event.type === 'payout.validated')).toHaveLength(1);
    }
  });

  it('accept vs validate on a draft with a pending reward: validated only once every reward is decided', async () => {
    for (let round = 0; round < 8; round++) {
      const partnerId = await newPartner();
      await newReward(partnerId, 1000);
      const undecided = await newReward(partnerId, 300, 'pending');
      const { id } = await draft(partnerId);
      const [accepted, validated] = await Promise.all([
        call(manager, 'POST', `/rewards/${undecided.id}/accept`, { body: {} }),
        call(manager, 'POST', `/payouts/${id}/validate`, { body: {} }),
      ]);
      expect([200, 409]).toContain(accepted.status);
      expect([200, 409, 422]).toContain(validated.status);
      const payout = await expectConsistent(id);
      const reward = await getReward(undecided.id);
      if (payout.status === 'pending') {
        expect(reward.status).toBe('accepted');
        expect(payout.amount).toBe(1300);
      }
    }
  });

  it('cancel vs refuse on a draft: every reward of the cancelled payout is released', async () => {
    for (let round = 0; round < 12; round++) {
      const partnerId = await newPartner();
      const a = await newReward(partnerId, 1000);
      const b = await newReward(partnerId, 400);
      const { id } = await draft(partnerId);
      const [cancelled] = await Promise.all([
        call(manager, 'POST', `/payouts/${id}/cancel`, { body: {} }),
        call(manager, 'POST', `/rewards/${a.id}/refuse`, { body: { reason: 'race' } }),
      ]);
      expectOk(cancelled);
      expect((await getPayout(id)).status).toBe('cancelled');
      for (const reward of [a, b]) {
        const read = await getReward(reward.id);
        expect({ round, reward: reward.id, payoutId: read.payoutId }).toEqual({
          round,
          reward: reward.id,
          payoutId: null,
        });
      }
      // The eligible reward can be drafted again.
      const again = await draft(partnerId);
      await expectConsistent(again.id);
      expect((await getReward(b.id)).payoutId).toBe(again.id);
    }
  });
});
