/**
 * The payout lifecycle end to end through the real Lambda handlers (against dynalite): drafting,
 * manager decisions, validation, partner review, request changes, payment, cancellation, history,
 * If-Match and Idempotency-Key. Every assertion reads state back through GET routes. The table is
 * shared with other test files running at the same time, so each test makes its own partners.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { newId } from '../../shared/domain/ids.ts';
import { expectOk, expectProblem, listAll } from '../support/expect.ts';
import { type CallResult, call, manager, partner } from '../support/http.ts';

// Many requests per test; leave room for a busy 2-core machine.
vi.setConfig({ testTimeout: 60_000 });

const MANAGER_ACTOR = { role: 'manager', id: 'manager-1', roles: ['admin'] };
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

// ------------------------------------------------------------------ helpers

async function newPartner(): Promise<string> {
  const response = await call(manager, 'POST', '/partners', {
    body: { name: 'Lifecycle Partner', email: `lc+${randomUUID()}@example.com` },
  });
  return expectOk(response, 201).id;
}

async function newReward(
  partnerId: string,
  amount: number,
  options: { currency?: string; status?: 'pending' | 'accepted' } = {},
): Promise<any> {
  const response = await call(manager, 'POST', '/rewards', {
    body: {
      partnerId,
      amount,
      currency: options.currency ?? 'EUR',
      ...(options.status ? { status: options.status } : {}),
    },
  });
  return expectOk(response, 201);
}

async function draft(partnerId: string, currency = 'EUR', rewardIds?: string[]): Promise<any> {
  const response = await call(manager, 'POST', '/payouts', {
    body: { partnerId, currency, ...(rewardIds ? { rewardIds } : {}) },
  });
  return expectOk(response, 201);
}

const getPayout = async (id: string) => expectOk(await call(manager, 'GET', `/payouts/${id}`));
const getReward = async (id: string) => expectOk(await call(manager, 'GET', `/rewards/${id}`));
const eventsOf = (id: string) => listAll(manager, `/payouts/${id}/events`);
const rewardsOf = (id: string) => listAll(manager, `/payouts/${id}/rewards`);
const sortedIds = (items: { id: string }[]) => items.map((item) => item.id).sort();

const validate = (id: string, body: Record<string, unknown> = {}, headers?: Record<string, string>) =>
  call(manager, 'POST', `/payouts/${id}/validate`, { body, ...(headers ? { headers } : {}) });
const accept = (rewardId: string) => call(manager, 'POST', `/rewards/${rewardId}/accept`, { body: {} });
const refuse = (rewardId: string, reason = 'Not eligible') =>
  call(manager, 'POST', `/rewards/${rewardId}/refuse`, { body: { reason } });
const review = (partnerId: string, id: string, rewardId: string, body: Record<string, unknown>) =>
  call(partner(partnerId), 'POST', `/partner/payouts/${id}/rewards/${rewardId}/review`, { body });
const partnerValidate = (partnerId: string, id: string, headers?: Record<string, string>) =>
  call(partner(partnerId), 'POST', `/partner/payouts/${id}/validate`, {
    body: {},
    ...(headers ? { headers } : {}),
  });
const requestChanges = (partnerId: string, id: string, comment = 'Please fix') =>
  call(partner(partnerId), 'POST', `/partner/payouts/${id}/request-changes`, { body: { comment } });
const markPaid = (id: string, body: Record<string, unknown> = {}, headers?: Record<string, string>) =>
  call(manager, 'POST', `/payouts/${id}/mark-paid`, { body, ...(headers ? { headers } : {}) });
const cancel = (id: string, body: Record<string, unknown> = {}, headers?: Record<string, string>) =>
  call(manager, 'POST', `/payouts/${id}/cancel`, { body, ...(headers ? { headers } : {}) });

/** Everything a refused request must leave untouched, read back through the API. */
async function snapshot(payoutId: string, partnerId: string) {
  return {
    payout: await getPayout(payoutId),
    events: await eventsOf(payoutId),
    payoutRewards: await rewardsOf(payoutId),
    rewards: await listAll(manager, '/rewards', { partnerId }),
    payouts: await listAll(manager, '/payouts', { partnerId }),
    partnerView: await listAll(partner(partnerId), '/partner/payouts'),
  };
}

/** A payout of a fresh partner with two accepted rewards and one refused, brought to `status`. */
async function payoutIn(status: 'draft' | 'pending' | 'ready' | 'paid' | 'cancelled') {
  const partnerId = await newPartner();
  const a = await newReward(partnerId, 1000, { status: 'accepted' });
  const b = await newReward(partnerId, 500, { status: 'accepted' });
  const c = await newReward(partnerId, 200, { status: 'accepted' });
  const payout = await draft(partnerId);
  expectOk(await refuse(c.id));
  if (status !== 'draft' && status !== 'cancelled') {
    expectOk(await validate(payout.id));
    if (status !== 'pending') {
      expectOk(await partnerValidate(partnerId, payout.id));
      if (status === 'paid') expectOk(await markPaid(payout.id, { paymentReference: 'REF-1' }));
    }
  }
  if (status === 'cancelled') expectOk(await cancel(payout.id));
  expect((await getPayout(payout.id)).status).toBe(status);
  return { partnerId, payoutId: payout.id as string, rewards: [a.id, b.id, c.id] as string[] };
}

// ------------------------------------------------------------------ the whole lifecycle

describe('the payout lifecycle', () => {
  it('drafts, decides, validates, is reviewed, goes back to draft, is validated again and paid', async () => {
    const partnerId = await newPartner();
    const other = await newPartner();
    const me = partner(partnerId);
    const partnerActor = { role: 'partner', id: partnerId };

    const r1 = await newReward(partnerId, 1000);
    const r2 = await newReward(partnerId, 2500);
    const clawback = await newReward(partnerId, -300);
    const r4 = await newReward(partnerId, 700, { status: 'accepted' });
    const usd = await newReward(partnerId, 400, { currency: 'USD', status: 'accepted' });
    const foreign = await newReward(other, 900, { status: 'accepted' });

    // ---- draft: every unclaimed reward of the partner in EUR, nothing else
    const created = await draft(partnerId);
    const id: string = created.id;
    expect(id).toMatch(/^po_[0-9A-HJKMNP-TV-Z]{26}$/);
    let payout = await getPayout(id);
    expect(payout).toMatchObject({
      id,
      partnerId,
      currency: 'EUR',
      status: 'draft',
      amount: 1000 + 2500 - 300 + 700,
      rewardCount: 4,
      requirements: { invoice: false, rewardReview: false },
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    expect(payout).toEqual(created);
    expect(sortedIds(await rewardsOf(id))).toEqual([r1.id, r2.id, clawback.id, r4.id].sort());
    for (const reward of [r1, r2, clawback, r4]) expect((await getReward(reward.id)).payoutId).toBe(id);
    expect((await getReward(usd.id)).payoutId).toBeNull();
    expect((await getReward(foreign.id)).payoutId).toBeNull();
    expect(sortedIds(await listAll(manager, '/payouts', { partnerId }))).toEqual([id]);
    expect(sortedIds(await listAll(manager, '/rewards', { payoutId: id }))).toEqual(
      [r1.id, r2.id, clawback.id, r4.id].sort(),
    );

    // ---- a partner never sees a draft
    expectProblem(await call(me, 'GET', `/partner/payouts/${id}`), 404, 'not_found');
    expectProblem(await call(me, 'GET', `/partner/payouts/${id}/rewards`), 404, 'not_found');
    expect(await listAll(me, '/partner/payouts')).toEqual([]);
    expectProblem(await partnerValidate(partnerId, id), 404, 'not_found');

    // ---- validate refuses while a reward is pending, and changes nothing
    const beforeRefusedValidate = await snapshot(id, partnerId);
    const notReviewed = await validate(id);
    expectProblem(notReviewed, 422, 'rewards_not_reviewed');
    expect(await snapshot(id, partnerId)).toEqual(beforeRefusedValidate);

    // ---- the manager decides in draft: the amount is the sum of the non-refused rewards
    expectOk(await accept(r1.id));
    expectOk(await accept(clawback.id));
    expectOk(await refuse(r2.id, 'Duplicate order'));
    payout = await getPayout(id);
    expect(payout).toMatchObject({ status: 'draft', amount: 1000 - 300 + 700, rewardCount: 4 });
    expect(await getReward(r2.id)).toMatchObject({
      status: 'refused',
      refusalReason: 'Duplicate order',
      payoutId: id,
    });

    // ---- a non-positive total cannot be validated
    expectOk(await refuse(r1.id, 'Fraud'));
    expectOk(await refuse(r4.id, 'Fraud'));
    expect((await getPayout(id)).amount).toBe(-300);
    const beforeNonPositive = await snapshot(id, partnerId);
    expectProblem(await validate(id), 422, 'non_positive_amount');
    expect(await snapshot(id, partnerId)).toEqual(beforeNonPositive);
    expectOk(await accept(r1.id));
    expectOk(await accept(r4.id));
    payout = await getPayout(id);
    expect(payout.amount).toBe(1000 - 300 + 700);
    expect((await getReward(r1.id)).refusalReason).toBeUndefined();

    // ---- validate: draft → pending
    const validated = await validate(id, { requireRewardReview: true, message: 'Please check March' });
    expectOk(validated);
    const versionBefore = payout.version;
    payout = await getPayout(id);
    expect(payout).toMatchObject({
      status: 'pending',
      amount: 1400,
      rewardCount: 4,
      requirements: { invoice: false, rewardReview: true },
      message: 'Please check March',
      validatedAt: expect.stringMatching(ISO),
      version: versionBefore + 1,
    });
    expect(validated.body).toEqual(payout);

    // ---- the partner sees it now, with its rewards (refusal reason included)
    expect(expectOk(await call(me, 'GET', `/partner/payouts/${id}`))).toEqual(payout);
    expect(sortedIds(await listAll(me, '/partner/payouts'))).toEqual([id]);
    expect(sortedIds(await listAll(me, '/partner/payouts', { status: 'pending' }))).toEqual([id]);
    expect(await listAll(me, '/partner/payouts', { status: 'draft' })).toEqual([]);
    const seen = await listAll(me, `/partner/payouts/${id}/rewards`);
    expect(sortedIds(seen)).toEqual([r1.id, r2.id, clawback.id, r4.id].sort());
    expect(seen.find((reward) => reward.id === r2.id)).toMatchObject({
      status: 'refused',
      refusalReason: 'Duplicate order',
    });
    // Another partner sees none of it.
    expectProblem(await call(partner(other), 'GET', `/partner/payouts/${id}`), 404, 'not_found');
    expect(await listAll(partner(other), '/partner/payouts')).toEqual([]);

    // ---- a review is required: nothing approved yet
    const beforeReviewRequired = await snapshot(id, partnerId);
    expectProblem(await partnerValidate(partnerId, id), 422, 'rewards_review_required');
    expect(await snapshot(id, partnerId)).toEqual(beforeReviewRequired);

    // ---- reviews: approve, dispute (comment required), a refused reward cannot be reviewed
    expectOk(await review(partnerId, id, r1.id, { decision: 'approve' }));
    const noComment = await review(partnerId, id, clawback.id, { decision: 'dispute' });
    expectProblem(noComment, 400, 'validation_failed');
    expect(noComment.body.errors.map((error: { path: string }) => error.path)).toContain('comment');
    expect((await getReward(clawback.id)).review).toBeUndefined();
    expectOk(
      await review(partnerId, id, clawback.id, { decision: 'dispute', comment: 'I never had this refund' }),
    );
    expectProblem(await review(partnerId, id, r2.id, { decision: 'approve' }), 409, 'invalid_transition');
    expectProblem(await review(partnerId, id, usd.id, { decision: 'approve' }), 404, 'not_found');
    expectProblem(await review(other, id, r1.id, { decision: 'approve' }), 404, 'not_found');

    const reviewed = await listAll(me, `/partner/payouts/${id}/rewards`);
    const byId = new Map(reviewed.map((reward) => [reward.id, reward]));
    expect(byId.get(r1.id).review).toEqual({ decision: 'approve', at: expect.stringMatching(ISO) });
    expect(byId.get(clawback.id).review).toEqual({
      decision: 'dispute',
      comment: 'I never had this refund',
      at: expect.stringMatching(ISO),
    });
    expect(byId.get(r4.id).review).toBeUndefined();
    expect((await getReward(clawback.id)).review).toMatchObject({ decision: 'dispute' });

    // ---- a dispute blocks the partner's validation
    const beforeDisputed = await snapshot(id, partnerId);
    expectProblem(await partnerValidate(partnerId, id), 422, 'rewards_disputed');
    expect(await snapshot(id, partnerId)).toEqual(beforeDisputed);

    // ---- request changes: back to draft, invisible to the partner again
    expectProblem(
      await call(me, 'POST', `/partner/payouts/${id}/request-changes`, { body: {} }),
      400,
      'validation_failed',
    );
    expect((await getPayout(id)).status).toBe('pending');
    expectOk(await requestChanges(partnerId, id, 'The refund is not mine'));
    payout = await getPayout(id);
    expect(payout.status).toBe('draft');
    expectProblem(await call(me, 'GET', `/partner/payouts/${id}`), 404, 'not_found');
    expect(await listAll(me, '/partner/payouts')).toEqual([]);

    // ---- the manager refuses the disputed clawback and validates again: earlier reviews are gone
    expectOk(await refuse(clawback.id, 'Refund was reversed'));
    expect((await getPayout(id)).amount).toBe(1700);
    expectOk(await validate(id, { requireRewardReview: true }));
    payout = await getPayout(id);
    expect(payout).toMatchObject({ status: 'pending', amount: 1700, requirements: { rewardReview: true } });
    expect(payout.message).toBeUndefined();
    const fresh = await listAll(me, `/partner/payouts/${id}/rewards`);
    expect(fresh.filter((reward) => reward.review !== undefined)).toEqual([]);
    expect((await getReward(r1.id)).review).toBeUndefined();
    expectProblem(await partnerValidate(partnerId, id), 422, 'rewards_review_required');

    // ---- approve every counted reward, then the partner validates: pending → ready
    expectOk(await review(partnerId, id, r1.id, { decision: 'approve' }));
    expectProblem(await partnerValidate(partnerId, id), 422, 'rewards_review_required');
    expectOk(await review(partnerId, id, r4.id, { decision: 'approve', comment: 'Thanks' }));
    expectOk(await partnerValidate(partnerId, id));
    payout = await getPayout(id);
    expect(payout).toMatchObject({ status: 'ready', partnerValidatedAt: expect.stringMatching(ISO) });
    expect(expectOk(await call(me, 'GET', `/partner/payouts/${id}`)).status).toBe('ready');

    // ---- mark paid: its counted rewards become paid, refused ones stay refused
    expectOk(await markPaid(id, { paymentReference: 'SEPA-2026-03' }));
    payout = await getPayout(id);
    expect(payout).toMatchObject({
      status: 'paid',
      amount: 1700,
      paymentReference: 'SEPA-2026-03',
      paidAt: expect.stringMatching(ISO),
    });
    for (const reward of [r1, r4])
      expect(await getReward(reward.id)).toMatchObject({ status: 'paid', payoutId: id });
    for (const reward of [r2, clawback]) {
      expect(await getReward(reward.id)).toMatchObject({ status: 'refused', payoutId: id });
    }
    expect(await getReward(usd.id)).toMatchObject({ status: 'accepted', payoutId: null });
    expect(sortedIds(await listAll(manager, '/rewards', { partnerId, status: 'paid' }))).toEqual(
      [r1.id, r4.id].sort(),
    );

    // ---- paid is final
    const beforeCancelPaid = await snapshot(id, partnerId);
    expectProblem(await cancel(id), 409, 'invalid_transition');
    expect(await snapshot(id, partnerId)).toEqual(beforeCancelPaid);

    // ---- the history: every transition and review decision, oldest first
    const events = await eventsOf(id);
    const summary = events.map((event) => ({
      type: event.type,
      actor: event.actor,
      ...(event.from !== undefined ? { from: event.from } : {}),
      ...(event.to !== undefined ? { to: event.to } : {}),
      ...(event.data?.rewardId !== undefined ? { rewardId: event.data.rewardId } : {}),
    }));
    const m = MANAGER_ACTOR;
    const p = partnerActor;
    expect(summary).toEqual([
      { type: 'payout.drafted', actor: m, to: 'draft' },
      { type: 'reward.accepted', actor: m, rewardId: r1.id },
      { type: 'reward.accepted', actor: m, rewardId: clawback.id },
      { type: 'reward.refused', actor: m, rewardId: r2.id },
      { type: 'reward.refused', actor: m, rewardId: r1.id },
      { type: 'reward.refused', actor: m, rewardId: r4.id },
      { type: 'reward.accepted', actor: m, rewardId: r1.id },
      { type: 'reward.accepted', actor: m, rewardId: r4.id },
      { type: 'payout.validated', actor: m, from: 'draft', to: 'pending' },
      { type: 'reward.approved', actor: p, rewardId: r1.id },
      { type: 'reward.disputed', actor: p, rewardId: clawback.id },
      { type: 'payout.changes_requested', actor: p, from: 'pending', to: 'draft' },
      { type: 'reward.refused', actor: m, rewardId: clawback.id },
      { type: 'payout.validated', actor: m, from: 'draft', to: 'pending' },
      { type: 'reward.approved', actor: p, rewardId: r1.id },
      { type: 'reward.approved', actor: p, rewardId: r4.id },
      { type: 'payout.partner_validated', actor: p, from: 'pending', to: 'ready' },
      { type: 'payout.paid', actor: m, from: 'ready', to: 'paid' },
    ]);
    for (const event of events) {
      expect(event.id).toEqual(expect.any(String));
      expect(event.at).toMatch(ISO);
    }
    const times = events.map((event) => event.at);
    expect([...times].sort()).toEqual(times);
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
    expect(events.find((event) => event.type === 'payout.changes_requested').data).toEqual({
      comment: 'The refund is not mine',
    });
    expect(events.find((event) => event.type === 'reward.refused').data).toMatchObject({
      reason: 'Duplicate order',
    });

    // Paging the history with limit=2 yields the same list, in the same order.
    const paged: any[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 50; pages++) {
      const response = await call(manager, 'GET', `/payouts/${id}/events`, {
        query: { limit: '2', ...(cursor ? { cursor } : {}) },
      });
      expectOk(response);
      expect(response.body.items.length).toBeLessThanOrEqual(2);
      paged.push(...response.body.items);
      if (response.body.nextCursor === null) break;
      cursor = response.body.nextCursor;
    }
    expect(paged).toEqual(events);
  });

  it('drafts a payout from explicit rewardIds, leaving the others unclaimed', async () => {
    const partnerId = await newPartner();
    const a = await newReward(partnerId, 1000, { status: 'accepted' });
    const b = await newReward(partnerId, -250, { status: 'accepted' });
    const c = await newReward(partnerId, 4000, { status: 'accepted' });
    const created = await draft(partnerId, 'EUR', [a.id, b.id]);
    expect(await getPayout(created.id)).toMatchObject({ status: 'draft', amount: 750, rewardCount: 2 });
    expect(sortedIds(await rewardsOf(created.id))).toEqual([a.id, b.id].sort());
    expect((await getReward(c.id)).payoutId).toBeNull();

    // The rest: a second draft takes every still-unclaimed reward, i.e. only c.
    const second = await draft(partnerId);
    expect(await getPayout(second.id)).toMatchObject({ amount: 4000, rewardCount: 1 });
    expect((await getReward(c.id)).payoutId).toBe(second.id);
    expect((await getReward(a.id)).payoutId).toBe(created.id);
  });

  it('requires an invoice when asked to (an upload is not possible yet, so it is refused)', async () => {
    const partnerId = await newPartner();
    await newReward(partnerId, 1000, { status: 'accepted' });
    const { id } = await draft(partnerId);
    expectOk(await validate(id, { requireInvoice: true }));
    expect((await getPayout(id)).requirements).toEqual({
      invoice: true,
      invoiceMode: 'upload',
      rewardReview: false,
    });
    const before = await snapshot(id, partnerId);
    expectProblem(await partnerValidate(partnerId, id), 422, 'invoice_required');
    expect(await snapshot(id, partnerId)).toEqual(before);
  });
});

// ------------------------------------------------------------------ cancel

describe('cancel', () => {
  it.each(['draft', 'pending', 'ready'] as const)(
    'cancels from %s: rewards are released and a new draft can claim them',
    async (status) => {
      const { partnerId, payoutId, rewards } = await payoutIn(status);
      const [a, b, c] = rewards as [string, string, string];
      const before = await getPayout(payoutId);
      expectOk(await cancel(payoutId, { reason: 'Wrong period' }));

      const cancelled = await getPayout(payoutId);
      expect(cancelled).toMatchObject({
        status: 'cancelled',
        cancelledAt: expect.stringMatching(ISO),
        version: before.version + 1,
      });
      for (const rewardId of [a, b]) {
        expect(await getReward(rewardId)).toMatchObject({ status: 'accepted', payoutId: null });
      }
      // The refused reward is released too, and stays refused.
      expect(await getReward(c)).toMatchObject({ status: 'refused', payoutId: null });
      expect(await rewardsOf(payoutId)).toEqual([]);
      const last = (await eventsOf(payoutId)).at(-1);
      expect(last).toMatchObject({
        type: 'payout.cancelled',
        actor: MANAGER_ACTOR,
        from: status,
        to: 'cancelled',
        data: { reason: 'Wrong period' },
      });

      // A new draft claims the released (eligible) rewards.
      const again = await draft(partnerId);
      expect(await getPayout(again.id)).toMatchObject({ status: 'draft', amount: 1500, rewardCount: 2 });
      expect(sortedIds(await rewardsOf(again.id))).toEqual([a, b].sort());
      for (const rewardId of [a, b]) expect((await getReward(rewardId)).payoutId).toBe(again.id);
      expect((await getReward(c)).payoutId).toBeNull();
      // And the cancelled one is still cancelled.
      expect((await getPayout(payoutId)).status).toBe('cancelled');
    },
  );
});

// ------------------------------------------------------------------ invalid transitions

type Action = {
  name: string;
  /** Statuses in which the action is allowed (in every other one it must be refused). */
  allowed: readonly string[];
  /** Answer for a partner action on a draft: the partner cannot see it. */
  partner?: boolean;
  run: (ctx: { partnerId: string; payoutId: string; rewards: string[] }) => Promise<CallResult>;
};

const ACTIONS: Action[] = [
  { name: 'validate', allowed: ['draft'], run: ({ payoutId }) => validate(payoutId) },
  { name: 'mark-paid', allowed: ['ready'], run: ({ payoutId }) => markPaid(payoutId) },
  { name: 'cancel', allowed: ['draft', 'pending', 'ready'], run: ({ payoutId }) => cancel(payoutId) },
  {
    name: 'accept a reward',
    allowed: ['draft', 'cancelled'],
    run: ({ rewards }) => accept(rewards[2] as string),
  },
  {
    name: 'refuse a reward',
    allowed: ['draft', 'cancelled'],
    run: ({ rewards }) => refuse(rewards[0] as string),
  },
  {
    name: 'partner validate',
    allowed: ['pending'],
    partner: true,
    run: ({ partnerId, payoutId }) => partnerValidate(partnerId, payoutId),
  },
  {
    name: 'request changes',
    allowed: ['pending'],
    partner: true,
    run: ({ partnerId, payoutId }) => requestChanges(partnerId, payoutId),
  },
  {
    name: 'review a reward',
    allowed: ['pending'],
    partner: true,
    run: ({ partnerId, payoutId, rewards }) =>
      review(partnerId, payoutId, rewards[0] as string, { decision: 'approve' }),
  },
];

describe('actions not allowed in a status', () => {
  it.each(['draft', 'pending', 'ready', 'paid', 'cancelled'] as const)(
    'answers 409 invalid_transition in %s and changes nothing',
    async (status) => {
      const ctx = await payoutIn(status);
      const refused = ACTIONS.filter((action) => !action.allowed.includes(status));
      expect(refused.length).toBeGreaterThan(0);
      for (const action of refused) {
        const before = await snapshot(ctx.payoutId, ctx.partnerId);
        const response = await action.run(ctx);
        if (status === 'cancelled' && action.name === 'review a reward') {
          // Its rewards were released: the reward is no longer in this payout.
          expectProblem(response, 404, 'not_found');
        } else if (status === 'draft' && action.partner) {
          // A partner never sees a draft: the same 404 as an unknown id.
          expectProblem(response, 404, 'not_found');
        } else {
          expect({ action: action.name, status: response.status, code: response.body?.code }).toEqual({
            action: action.name,
            status: 409,
            code: 'invalid_transition',
          });
          expectProblem(response, 409, 'invalid_transition');
        }
        expect({ action: action.name, after: await snapshot(ctx.payoutId, ctx.partnerId) }).toEqual({
          action: action.name,
          after: before,
        });
      }
    },
  );
});

// ------------------------------------------------------------------ If-Match

describe('If-Match', () => {
  it('answers 412 for a stale version and changes nothing; the current version succeeds', async () => {
    const partnerId = await newPartner();
    await newReward(partnerId, 1000, { status: 'accepted' });
    const { id } = await draft(partnerId);
    let current = await getPayout(id);

    // validate
    let before = await snapshot(id, partnerId);
    expectProblem(
      await validate(id, {}, { 'If-Match': String(current.version - 1) }),
      412,
      'precondition_failed',
    );
    expectProblem(
      await validate(id, {}, { 'If-Match': String(current.version + 1) }),
      412,
      'precondition_failed',
    );
    expect(await snapshot(id, partnerId)).toEqual(before);
    expectProblem(await validate(id, {}, { 'If-Match': 'abc' }), 400, 'validation_failed');
    expect(await snapshot(id, partnerId)).toEqual(before);
    expectOk(await validate(id, {}, { 'If-Match': `"${current.version}"` }));
    current = await getPayout(id);
    expect(current.status).toBe('pending');

    // partner validate
    before = await snapshot(id, partnerId);
    expectProblem(
      await partnerValidate(partnerId, id, { 'If-Match': String(current.version - 1) }),
      412,
      'precondition_failed',
    );
    expect(await snapshot(id, partnerId)).toEqual(before);
    expectOk(await partnerValidate(partnerId, id, { 'if-match': String(current.version) }));
    current = await getPayout(id);
    expect(current.status).toBe('ready');

    // mark paid
    before = await snapshot(id, partnerId);
    expectProblem(
      await markPaid(id, {}, { 'If-Match': String(current.version - 1) }),
      412,
      'precondition_failed',
    );
    expect(await snapshot(id, partnerId)).toEqual(before);
    expectOk(await markPaid(id, {}, { 'If-Match': `W/"${current.version}"` }));
    expect((await getPayout(id)).status).toBe('paid');
  });

  it('guards cancel and request-changes too', async () => {
    const partnerId = await newPartner();
    await newReward(partnerId, 1000, { status: 'accepted' });
    const { id } = await draft(partnerId);
    expectOk(await validate(id));
    let current = await getPayout(id);
    let before = await snapshot(id, partnerId);
    const stale = { 'If-Match': String(current.version - 1) };
    expectProblem(
      await call(partner(partnerId), 'POST', `/partner/payouts/${id}/request-changes`, {
        body: { comment: 'x' },
        headers: stale,
      }),
      412,
      'precondition_failed',
    );
    expectProblem(await cancel(id, {}, stale), 412, 'precondition_failed');
    expect(await snapshot(id, partnerId)).toEqual(before);
    expectOk(
      await call(partner(partnerId), 'POST', `/partner/payouts/${id}/request-changes`, {
        body: { comment: 'x' },
        headers: { 'If-Match': String(current.version) },
      }),
    );
    current = await getPayout(id);
    expect(current.status).toBe('draft');
    before = await snapshot(id, partnerId);
    expectProblem(
      await cancel(id, {}, { 'If-Match': String(current.version - 1) }),
      412,
      'precondition_failed',
    );
    expect(await snapshot(id, partnerId)).toEqual(before);
    expectOk(await cancel(id, {}, { 'If-Match': String(current.version) }));
    expect((await getPayout(id)).status).toBe('cancelled');
  });
});

// ------------------------------------------------------------------ drafting errors

describe('POST /payouts errors', () => {
  async function state(partnerIds: string[]) {
    const out: Record<string, unknown> = {};
    for (const partnerId of partnerIds) {
      out[`payouts:${partnerId}`] = await listAll(manager, '/payouts', { partnerId });
      out[`rewards:${partnerId}`] = await listAll(manager, '/rewards', { partnerId });
    }
    return out;
  }

  it('refuses foreign, other-currency, claimed, ineligible and unknown rewards, and unknown partners', async () => {
    const partnerId = await newPartner();
    const other = await newPartner();
    const empty = await newPartner();
    const mine = await newReward(partnerId, 1000, { status: 'accepted' });
    const mine2 = await newReward(partnerId, 300);
    const theirs = await newReward(other, 1000, { status: 'accepted' });
    const dollars = await newReward(partnerId, 1000, { currency: 'USD', status: 'accepted' });
    const refusedOne = await newReward(partnerId, 700);
    expectOk(await refuse(refusedOne.id));
    const claimedBy = await draft(other);
    expect((await getReward(theirs.id)).payoutId).toBe(claimedBy.id);
    const theirs2 = await newReward(other, 50);

    const all = [partnerId, other, empty];
    const before = await state(all);
    const post = (body: Record<string, unknown>) => call(manager, 'POST', '/payouts', { body });

    const foreignResponse = await post({ partnerId, currency: 'EUR', rewardIds: [mine.id, theirs2.id] });
    expectProblem(foreignResponse, 422, 'partner_mismatch');
    expect(foreignResponse.body.errors).toEqual([{ path: 'rewardIds[1]', message: expect.any(String) }]);
    expectProblem(
      await post({ partnerId, currency: 'EUR', rewardIds: [mine.id, dollars.id] }),
      422,
      'currency_mismatch',
    );
    expectProblem(await post({ partnerId, currency: 'USD', rewardIds: [mine.id] }), 422, 'currency_mismatch');
    // Already claimed (by another partner's payout here, so it is also foreign: use the owner).
    expectProblem(await post({ partnerId: other, currency: 'EUR', rewardIds: [theirs.id] }), 409, 'conflict');
    expectProblem(
      await post({ partnerId, currency: 'EUR', rewardIds: [refusedOne.id] }),
      422,
      'reward_not_eligible',
    );
    expectProblem(
      await post({ partnerId, currency: 'EUR', rewardIds: [mine.id, newId('reward')] }),
      422,
      'unknown_reward',
    );
    expectProblem(await post({ partnerId: empty, currency: 'EUR' }), 422, 'no_eligible_rewards');
    expectProblem(await post({ partnerId, currency: 'GBP' }), 422, 'no_eligible_rewards');
    const ghost = await post({ partnerId: newId('partner'), currency: 'EUR' });
    expectProblem(ghost, 422, 'unknown_partner');
    expect(await state(all)).toEqual(before);

    // Once drafted, the same rewards are claimed: explicit → 409, implicit → nothing eligible.
    const first = await draft(partnerId, 'EUR', [mine.id, mine2.id]);
    expect((await getPayout(first.id)).amount).toBe(1300);
    const afterFirst = await state(all);
    expectProblem(await post({ partnerId, currency: 'EUR', rewardIds: [mine2.id] }), 409, 'conflict');
    expectProblem(await post({ partnerId, currency: 'EUR' }), 422, 'no_eligible_rewards');
    expect(await state(all)).toEqual(afterFirst);
    expect((await getPayout(first.id)).rewardCount).toBe(2);
  });
});

// ------------------------------------------------------------------ Idempotency-Key

describe('Idempotency-Key on POST /payouts/{id}/validate', () => {
  it('replays the first answer without acting twice, and refuses another body under the same key', async () => {
    const partnerId = await newPartner();
    await newReward(partnerId, 1000, { status: 'accepted' });
    const { id } = await draft(partnerId);
    const headers = { 'Idempotency-Key': randomUUID() };
    const body = { message: 'First' };

    const first = await validate(id, body, headers);
    expectOk(first);
    const afterFirst = await snapshot(id, partnerId);
    expect(afterFirst.payout.status).toBe('pending');

    const replay = await validate(id, body, headers);
    expect({ status: replay.status, body: replay.body }).toEqual({ status: first.status, body: first.body });
    expect(await snapshot(id, partnerId)).toEqual(afterFirst);
    expect((await eventsOf(id)).filter((event) => event.type === 'payout.validated')).toHaveLength(1);

    const reused = await validate(id, { message: 'Second' }, headers);
    expectProblem(reused, 409, 'idempotency_key_reused');
    expect(await snapshot(id, partnerId)).toEqual(afterFirst);

    // Without the key, the same request is a real second attempt: the payout is no longer a draft.
    expectProblem(await validate(id, body), 409, 'invalid_transition');
    expect(await snapshot(id, partnerId)).toEqual(afterFirst);
  });
});
