/**
 * Model-based test of the payout lifecycle: fast-check generates random sequences of manager and
 * partner actions on a small universe (2 fresh partners per run, 2 currencies, at most 8 rewards),
 * runs each through the real Lambda handlers (against dynalite) AND a small reference model here,
 * and after every step checks that
 *   - the answer (status and problem code) is the one the model predicts;
 *   - the observable state (GET payouts, rewards, a payout's rewards, the partner's view) matches
 *     the model;
 *   - the invariants hold: a reward is in at most one non-cancelled payout, every payout's amount is
 *     the sum of its non-refused rewards, and a refused request (4xx) changed nothing at all.
 *
 * `MODEL_RUNS=1000 npx vitest run test/integration/payouts-model.test.ts` soaks it; `MODEL_SEED`
 * replays a reported seed; `MODEL_SHRINK=1` shrinks a failure (slow: every try replays against
 * dynalite; a failure already prints every step of its run); `MODEL_COMMANDS` sets the longest
 * sequence; `MODEL_STATS=1` prints each run's length and the kinds of action that succeeded.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type As, type CallResult, call, manager, partner } from '../support/http.ts';

const RUNS = Number(process.env.MODEL_RUNS) || 100;
const SEED = process.env.MODEL_SEED ? Number(process.env.MODEL_SEED) : undefined;
const MAX_COMMANDS = Number(process.env.MODEL_COMMANDS) || 20;
const MAX_REWARDS = 8;
const CURRENCIES = ['EUR', 'USD'] as const;

// ------------------------------------------------------------------ the reference model

type RewardStatus = 'pending' | 'accepted' | 'refused' | 'paid';
type PayoutStatus = 'draft' | 'pending' | 'ready' | 'paid' | 'cancelled';
type Decision = 'approve' | 'dispute';

interface MReward {
  id: string;
  partner: number;
  currency: string;
  amount: number;
  status: RewardStatus;
  payoutId: string | null;
}

interface MPayout {
  id: string;
  partner: number;
  currency: string;
  status: PayoutStatus;
  requirements: { invoice: boolean; rewardReview: boolean };
  reviews: Record<string, Decision>;
  /** Amount and count as they were when the payout was cancelled (its rewards are released). */
  frozen?: { amount: number; rewardCount: number };
}

interface Model {
  partners: string[];
  rewards: MReward[];
  payouts: MPayout[];
  /** What the API showed after the previous step: a refused request must leave it as it was. */
  observed: unknown;
  steps: string[];
  /** Kinds of action that succeeded in this run (coverage of the generated sequences). */
  succeeded: Set<string>;
}

interface Real {
  run: number;
}

interface Outcome {
  status: number;
  code?: string;
}

const ok = (status = 200): Outcome => ({ status });
const problem = (status: number, code: string): Outcome => ({ status, code });

const rewardsOf = (m: Model, payout: MPayout) => m.rewards.filter((reward) => reward.payoutId === payout.id);
const counted = (rewards: MReward[]) => rewards.filter((reward) => reward.status !== 'refused');
const sum = (rewards: { amount: number }[]) => rewards.reduce((total, reward) => total + reward.amount, 0);
const pick = <T>(items: T[], index: number): T => items[index % items.length] as T;
/** Payouts are picked newest first, so that sequences carry one payout through its lifecycle. */
const pickPayout = (m: Model, index: number): MPayout => pick([...m.payouts].reverse(), index);

function expectedAmount(m: Model, payout: MPayout): { amount: number; rewardCount: number } {
  if (payout.frozen) return payout.frozen;
  const rewards = rewardsOf(m, payout);
  return { amount: sum(counted(rewards)), rewardCount: rewards.length };
}

// ------------------------------------------------------------------ talking to the real system

function expectOk(response: CallResult, status = 200): any {
  expect({ status: response.status, body: response.status === status ? undefined : response.body }).toEqual({
    status,
    body: undefined,
  });
  return response.body;
}

async function list(as: As, path: string, query: Record<string, string> = {}): Promise<any[]> {
  const response = await call(as, 'GET', path, { query: { ...query, limit: '100' } });
  expectOk(response);
  expect(response.body.nextCursor).toBeNull();
  return response.body.items;
}

/** Everything observable about the run's data, read through the API. */
async function observe(m: Model) {
  const byPartner = [];
  for (const partnerId of m.partners) {
    const payouts = await list(manager, '/payouts', { partnerId });
    const rewards = await list(manager, '/rewards', { partnerId });
    const partnerView = await list(partner(partnerId), '/partner/payouts');
    const payoutRewards: Record<string, any[]> = {};
    for (const payout of payouts) {
      if (payout.status !== 'cancelled')
        payoutRewards[payout.id] = await list(manager, `/payouts/${payout.id}/rewards`);
    }
    byPartner.push({ payouts, rewards, partnerView, payoutRewards });
  }
  return byPartner;
}

type Observed = Awaited<ReturnType<typeof observe>>;

/** Compares what the API shows with the model, and checks the invariants on what the API shows. */
function compare(m: Model, observed: Observed): void {
  const where = m.steps.join('\n  ');
  const claimedBy = new Map<string, string>();
  for (const [index, seen] of observed.entries()) {
    // Payouts.
    const modelPayouts = m.payouts.filter((payout) => payout.partner === index);
    expect({ where, payouts: seen.payouts.map((p) => p.id).sort() }).toEqual({
      where,
      payouts: modelPayouts.map((p) => p.id).sort(),
    });
    for (const payout of seen.payouts) {
      const model = modelPayouts.find((candidate) => candidate.id === payout.id) as MPayout;
      // The invoice mode follows `requireInvoice` here: the model's partners have no self-billing.
      const { invoiceMode, ...requirements } = payout.requirements;
      if (invoiceMode !== undefined) {
        expect(invoiceMode, where).toBe(requirements.invoice ? 'upload' : 'none');
      }
      expect({
        where,
        id: payout.id,
        status: payout.status,
        currency: payout.currency,
        requirements,
        amount: payout.amount,
        rewardCount: payout.rewardCount,
      }).toEqual({
        where,
        id: model.id,
        status: model.status,
        currency: model.currency,
        requirements: model.requirements,
        ...expectedAmount(m, model),
      });
      if (payout.status === 'cancelled') continue;
      // Its rewards, with the partner's current review decisions.
      const listed = seen.payoutRewards[payout.id] ?? [];
      expect({
        where,
        payout: payout.id,
        rewards: listed.map((r) => [r.id, r.status, r.review?.decision ?? null]).sort(),
      }).toEqual({
        where,
        payout: payout.id,
        rewards: rewardsOf(m, model)
          .map((r) => [r.id, r.status, model.reviews[r.id] ?? null])
          .sort(),
      });
      // Invariants, on the API's own data: one non-cancelled payout per reward; amount = sum.
      for (const reward of listed) {
        expect({ where, reward: reward.id, alsoIn: claimedBy.get(reward.id) }).toEqual({
          where,
          reward: reward.id,
          alsoIn: undefined,
        });
        claimedBy.set(reward.id, payout.id);
        expect(reward.payoutId).toBe(payout.id);
      }
      expect({ where, payout: payout.id, amount: payout.amount, rewardCount: payout.rewardCount }).toEqual({
        where,
        payout: payout.id,
        amount: sum(counted(listed)),
        rewardCount: listed.length,
      });
    }
    // The partner sees its own payouts except drafts.
    expect({ where, partnerView: seen.partnerView.map((p) => p.id).sort() }).toEqual({
      where,
      partnerView: modelPayouts
        .filter((p) => p.status !== 'draft')
        .map((p) => p.id)
        .sort(),
    });
    // Rewards.
    const modelRewards = m.rewards.filter((reward) => reward.partner === index);
    expect({
      where,
      rewards: seen.rewards.map((r) => [r.id, r.currency, r.amount, r.status, r.payoutId]).sort(),
    }).toEqual({
      where,
      rewards: modelRewards.map((r) => [r.id, r.currency, r.amount, r.status, r.payoutId]).sort(),
    });
  }
}

/** One step: predict, call, compare the answer, apply to the model, observe and compare the state. */
async function step(
  m: Model,
  label: string,
  expected: Outcome,
  send: () => Promise<CallResult>,
  apply: (response: CallResult) => void,
): Promise<void> {
  m.steps.push(`${label} → ${expected.status}${expected.code ? ` ${expected.code}` : ''}`);
  const where = m.steps.join('\n  ');
  const response = await send();
  expect({
    where,
    status: response.status,
    code: response.status >= 400 ? response.body?.code : undefined,
  }).toEqual({
    where,
    status: expected.status,
    code: expected.code,
  });
  if (response.status >= 400) {
    expect(response.headers['content-type']).toBe('application/problem+json');
  } else {
    m.succeeded.add(label.slice(0, label.indexOf('(')));
    apply(response);
  }
  const observed = await observe(m);
  if (response.status >= 400) {
    // A refused request changed nothing: not a version, not a timestamp, not a review.
    expect({ where, observed }).toEqual({ where, observed: m.observed });
  }
  compare(m, observed);
  m.observed = observed;
}

// ------------------------------------------------------------------ commands

type Cmd = fc.AsyncCommand<Model, Real>;

class CreateReward implements Cmd {
  constructor(
    readonly partner: number,
    readonly currency: string,
    readonly amount: number,
    readonly accepted: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.rewards.length < MAX_REWARDS;
  async run(m: Model) {
    const partnerId = m.partners[this.partner] as string;
    const status = this.accepted ? 'accepted' : 'pending';
    await step(
      m,
      this.toString(),
      ok(201),
      () =>
        call(manager, 'POST', '/rewards', {
          body: { partnerId, amount: this.amount, currency: this.currency, status },
        }),
      (response) => {
        m.rewards.push({
          id: response.body.id,
          partner: this.partner,
          currency: this.currency,
          amount: this.amount,
          status,
          payoutId: null,
        });
      },
    );
  }
  toString = () =>
    `createReward(p${this.partner}, ${this.amount} ${this.currency}, ${this.accepted ? 'accepted' : 'pending'})`;
}

class Draft implements Cmd {
  constructor(
    readonly partner: number,
    readonly currency: string,
    /** Indexes into the rewards, or null for "every unclaimed reward". */
    readonly explicit: number[] | null,
  ) {}
  check = (m: Readonly<Model>) => this.explicit === null || m.rewards.length > 0;
  async run(m: Model) {
    const partnerId = m.partners[this.partner] as string;
    let claim: MReward[];
    let expected: Outcome;
    let rewardIds: string[] | undefined;
    if (this.explicit) {
      claim = [...new Set(this.explicit.map((index) => pick(m.rewards, index)))];
      rewardIds = claim.map((reward) => reward.id);
      if (claim.some((reward) => reward.partner !== this.partner))
        expected = problem(422, 'partner_mismatch');
      else if (claim.some((reward) => reward.currency !== this.currency))
        expected = problem(422, 'currency_mismatch');
      else if (claim.some((reward) => reward.payoutId !== null)) expected = problem(409, 'conflict');
      else if (claim.some((reward) => reward.status !== 'pending' && reward.status !== 'accepted')) {
        expected = problem(422, 'reward_not_eligible');
      } else expected = ok(201);
    } else {
      claim = m.rewards.filter(
        (reward) =>
          reward.partner === this.partner &&
          reward.currency === this.currency &&
          reward.payoutId === null &&
          (reward.status === 'pending' || reward.status === 'accepted'),
      );
      expected = claim.length ? ok(201) : problem(422, 'no_eligible_rewards');
    }
    await step(
      m,
      `${this.toString()} [${rewardIds?.join(',') ?? 'all'}]`,
      expected,
      () =>
        call(manager, 'POST', '/payouts', {
          body: { partnerId, currency: this.currency, ...(rewardIds ? { rewardIds } : {}) },
        }),
      (response) => {
        const id: string = response.body.id;
        m.payouts.push({
          id,
          partner: this.partner,
          currency: this.currency,
          status: 'draft',
          requirements: { invoice: false, rewardReview: false },
          reviews: {},
        });
        for (const reward of claim) reward.payoutId = id;
      },
    );
  }
  toString = () =>
    `draft(p${this.partner}, ${this.currency}${this.explicit ? `, rewards #${this.explicit.join(',#')}` : ''})`;
}

class Decide implements Cmd {
  constructor(
    readonly reward: number,
    readonly decision: 'accept' | 'refuse',
  ) {}
  check = (m: Readonly<Model>) => m.rewards.length > 0;
  async run(m: Model) {
    // Every other time, a reward of the newest payout (where decisions unblock a validation).
    const newest = m.payouts.at(-1);
    const ofNewest = newest ? rewardsOf(m, newest) : [];
    const reward =
      this.reward % 2 === 0 && ofNewest.length
        ? pick(ofNewest, this.reward >> 1)
        : pick(m.rewards, this.reward);
    const payout = m.payouts.find((candidate) => candidate.id === reward.payoutId);
    const expected =
      reward.status === 'paid' || (payout && payout.status !== 'draft')
        ? problem(409, 'invalid_transition')
        : ok();
    await step(
      m,
      `${this.decision}(${reward.id})`,
      expected,
      () =>
        call(manager, 'POST', `/rewards/${reward.id}/${this.decision}`, {
          body: this.decision === 'refuse' ? { reason: 'Model says no' } : {},
        }),
      () => {
        reward.status = this.decision === 'accept' ? 'accepted' : 'refused';
      },
    );
  }
  toString = () => `${this.decision}(#${this.reward})`;
}

class Validate implements Cmd {
  constructor(
    readonly payout: number,
    readonly requireRewardReview: boolean,
    readonly requireInvoice: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.payouts.length > 0;
  async run(m: Model) {
    const payout = pickPayout(m, this.payout);
    const rewards = rewardsOf(m, payout);
    const expected =
      payout.status !== 'draft'
        ? problem(409, 'invalid_transition')
        : rewards.some((reward) => reward.status === 'pending')
          ? problem(422, 'rewards_not_reviewed')
          : sum(counted(rewards)) <= 0
            ? problem(422, 'non_positive_amount')
            : ok();
    const body = {
      ...(this.requireRewardReview ? { requireRewardReview: true } : {}),
      ...(this.requireInvoice ? { requireInvoice: true } : {}),
    };
    await step(
      m,
      `validate(${payout.id}, ${JSON.stringify(body)})`,
      expected,
      () => call(manager, 'POST', `/payouts/${payout.id}/validate`, { body }),
      () => {
        payout.status = 'pending';
        payout.requirements = { invoice: this.requireInvoice, rewardReview: this.requireRewardReview };
        payout.reviews = {};
      },
    );
  }
  toString = () =>
    `validate(po#${this.payout}${this.requireRewardReview ? ', review' : ''}${this.requireInvoice ? ', invoice' : ''})`;
}

class Review implements Cmd {
  constructor(
    readonly payout: number,
    readonly reward: number,
    readonly decision: Decision,
    readonly variant: 'own' | 'other-partner' | 'no-comment',
    /** A given reward (from Advance) instead of one picked by index. */
    readonly rewardId?: string,
  ) {}
  check = (m: Readonly<Model>) => m.payouts.length > 0 && m.rewards.length > 0;
  async run(m: Model) {
    const payout = pickPayout(m, this.payout);
    const inPayout = rewardsOf(m, payout);
    // Mostly a reward of this payout; any reward when it has none (or by the index's parity).
    const reward =
      m.rewards.find((candidate) => candidate.id === this.rewardId) ??
      (inPayout.length && this.reward % 4 !== 3 ? pick(inPayout, this.reward) : pick(m.rewards, this.reward));
    const asPartner = this.variant === 'other-partner' ? 1 - payout.partner : payout.partner;
    const body =
      this.decision === 'dispute' && this.variant !== 'no-comment'
        ? { decision: 'dispute', comment: 'Not mine' }
        : { decision: this.decision };
    const expected =
      this.decision === 'dispute' && this.variant === 'no-comment'
        ? problem(400, 'validation_failed')
        : asPartner !== payout.partner || payout.status === 'draft' || reward.payoutId !== payout.id
          ? problem(404, 'not_found')
          : payout.status !== 'pending' || reward.status === 'refused'
            ? problem(409, 'invalid_transition')
            : ok();
    await step(
      m,
      `review(${payout.id}, ${reward.id}, ${JSON.stringify(body)}, as p${asPartner})`,
      expected,
      () =>
        call(
          partner(m.partners[asPartner] as string),
          'POST',
          `/partner/payouts/${payout.id}/rewards/${reward.id}/review`,
          {
            body,
          },
        ),
      () => {
        payout.reviews[reward.id] = this.decision;
      },
    );
  }
  toString = () => `review(po#${this.payout}, #${this.reward}, ${this.decision}, ${this.variant})`;
}

class PartnerAction implements Cmd {
  constructor(
    readonly payout: number,
    readonly action: 'validate' | 'request-changes',
    readonly otherPartner: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.payouts.length > 0;
  async run(m: Model) {
    const payout = pickPayout(m, this.payout);
    const asPartner = this.otherPartner ? 1 - payout.partner : payout.partner;
    let expected: Outcome;
    if (this.otherPartner || payout.status === 'draft') expected = problem(404, 'not_found');
    else if (payout.status !== 'pending') expected = problem(409, 'invalid_transition');
    else if (this.action === 'request-changes') expected = ok();
    else {
      const live = counted(rewardsOf(m, payout));
      expected = live.some((reward) => payout.reviews[reward.id] === 'dispute')
        ? problem(422, 'rewards_disputed')
        : payout.requirements.invoice
          ? problem(422, 'invoice_required')
          : payout.requirements.rewardReview && live.some((reward) => payout.reviews[reward.id] !== 'approve')
            ? problem(422, 'rewards_review_required')
            : ok();
    }
    await step(
      m,
      `partner ${this.action}(${payout.id}, as p${asPartner})`,
      expected,
      () =>
        call(
          partner(m.partners[asPartner] as string),
          'POST',
          `/partner/payouts/${payout.id}/${this.action}`,
          {
            body: this.action === 'validate' ? {} : { comment: 'Please change' },
          },
        ),
      () => {
        payout.status = this.action === 'validate' ? 'ready' : 'draft';
      },
    );
  }
  toString = () => `partner-${this.action}(po#${this.payout}${this.otherPartner ? ', other partner' : ''})`;
}

class MarkPaid implements Cmd {
  constructor(readonly payout: number) {}
  check = (m: Readonly<Model>) => m.payouts.length > 0;
  async run(m: Model) {
    const payout = pickPayout(m, this.payout);
    await step(
      m,
      `markPaid(${payout.id})`,
      payout.status === 'ready' ? ok() : problem(409, 'invalid_transition'),
      () => call(manager, 'POST', `/payouts/${payout.id}/mark-paid`, { body: { paymentReference: 'MODEL' } }),
      () => {
        payout.status = 'paid';
        for (const reward of counted(rewardsOf(m, payout))) reward.status = 'paid';
      },
    );
  }
  toString = () => `markPaid(po#${this.payout})`;
}

class Cancel implements Cmd {
  constructor(readonly payout: number) {}
  check = (m: Readonly<Model>) => m.payouts.length > 0;
  async run(m: Model) {
    const payout = pickPayout(m, this.payout);
    const cancellable = payout.status === 'draft' || payout.status === 'pending' || payout.status === 'ready';
    await step(
      m,
      `cancel(${payout.id})`,
      cancellable ? ok() : problem(409, 'invalid_transition'),
      () => call(manager, 'POST', `/payouts/${payout.id}/cancel`, { body: { reason: 'Model' } }),
      () => {
        payout.frozen = expectedAmount(m, payout);
        payout.status = 'cancelled';
        for (const reward of rewardsOf(m, payout)) reward.payoutId = null;
      },
    );
  }
  toString = () => `cancel(po#${this.payout})`;
}

/**
 * The next step of a payout's happy path (validate, partner validate, mark paid), chosen from the
 * model's state and run as that command: predicted and checked like any other.
 */
class Advance implements Cmd {
  constructor(readonly payout: number) {}
  check = (m: Readonly<Model>) => m.payouts.length > 0;
  async run(m: Model, r: Real) {
    const payout = pickPayout(m, this.payout);
    const next =
      payout.status === 'draft'
        ? new Validate(this.payout, false, false)
        : payout.status === 'pending'
          ? this.reviewFirst(m, payout)
          : payout.status === 'ready'
            ? new MarkPaid(this.payout)
            : new Cancel(this.payout);
    await next.run(m, r);
  }
  /** While a required review is incomplete, approve the next reward; then validate as the partner. */
  private reviewFirst(m: Model, payout: MPayout): Cmd {
    const rewards = rewardsOf(m, payout);
    const next = counted(rewards).find((reward) => payout.reviews[reward.id] !== 'approve');
    if (!payout.requirements.rewardReview || !next) return new PartnerAction(this.payout, 'validate', false);
    return new Review(this.payout, 0, 'approve', 'own', next.id);
  }
  toString = () => `advance(po#${this.payout})`;
}

// ------------------------------------------------------------------ arbitraries

const partnerIndex = fc.integer({ min: 0, max: 1 });
const currency = fc.constantFrom(...CURRENCIES);
const amount = fc.constantFrom(500, 1000, 2500, 700, -300, -1500);
const index = fc.nat(31);
/** Mostly the newest payout or the one before it. */
const payoutIndex = fc.oneof(
  { arbitrary: fc.constantFrom(0, 0, 1), weight: 3 },
  { arbitrary: index, weight: 1 },
);

/** `n` copies of an arbitrary: fc.commands picks uniformly among its arbitraries. */
const weight = <T>(n: number, arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T>[] => Array(n).fill(arbitrary);
const sometimes = (outOf: number) => fc.integer({ min: 1, max: outOf }).map((value) => value === 1);

// Weighted so that sequences often carry a payout all the way to paid, not only into refusals.
const commands = [
  ...weight(
    2,
    fc
      .tuple(partnerIndex, currency, amount, fc.boolean())
      .map(([p, c, a, acc]) => new CreateReward(p, c, a, acc)),
  ),
  ...weight(
    3,
    fc.tuple(partnerIndex, currency).map(([p, c]) => new Draft(p, c, null)),
  ),
  fc
    .tuple(partnerIndex, currency, fc.array(index, { minLength: 1, maxLength: 3 }))
    .map(([p, c, ids]) => new Draft(p, c, ids)),
  ...weight(
    2,
    index.map((r) => new Decide(r, 'accept')),
  ),
  index.map((r) => new Decide(r, 'refuse')),
  ...weight(
    3,
    fc
      .tuple(payoutIndex, sometimes(3), sometimes(25))
      .map(([po, review, invoice]) => new Validate(po, review, invoice)),
  ),
  ...weight(
    2,
    fc
      .tuple(
        payoutIndex,
        index,
        fc.constantFrom<Decision>('approve', 'approve', 'dispute'),
        fc.constantFrom('own', 'own', 'own', 'own', 'other-partner', 'no-comment'),
      )
      .map(([po, r, d, v]) => new Review(po, r, d, v as Review['variant'])),
  ),
  ...weight(
    4,
    fc.tuple(payoutIndex, sometimes(8)).map(([po, other]) => new PartnerAction(po, 'validate', other)),
  ),
  ...weight(
    2,
    fc.tuple(payoutIndex, sometimes(8)).map(([po, other]) => new PartnerAction(po, 'request-changes', other)),
  ),
  ...weight(
    3,
    payoutIndex.map((po) => new MarkPaid(po)),
  ),
  payoutIndex.map((po) => new Cancel(po)),
  ...weight(
    3,
    payoutIndex.map((po) => new Advance(po)),
  ),
];

const initialRewards = fc.array(
  fc.record({
    partner: partnerIndex,
    currency,
    amount: fc.constantFrom(500, 1000, 2500, 1200, -300),
    accepted: fc.constantFrom(true, true, true, true, false),
  }),
  { minLength: 2, maxLength: 5 },
);

// ------------------------------------------------------------------ the property

async function setup(
  initial: { partner: number; currency: string; amount: number; accepted: boolean }[],
  run: number,
) {
  const partners: string[] = [];
  for (const label of ['a', 'b']) {
    const response = await call(manager, 'POST', '/partners', {
      body: { name: `Model ${run}${label}`, email: `model+${randomUUID()}@example.com` },
    });
    partners.push(expectOk(response, 201).id);
  }
  const m: Model = {
    partners,
    rewards: [],
    payouts: [],
    observed: undefined,
    steps: [],
    succeeded: new Set(),
  };
  for (const spec of initial) {
    const status = spec.accepted ? 'accepted' : 'pending';
    const created = expectOk(
      await call(manager, 'POST', '/rewards', {
        body: { partnerId: partners[spec.partner], amount: spec.amount, currency: spec.currency, status },
      }),
      201,
    );
    m.rewards.push({
      id: created.id,
      partner: spec.partner,
      currency: spec.currency,
      amount: spec.amount,
      status,
      payoutId: null,
    });
    m.steps.push(`setup: reward ${created.id} p${spec.partner} ${spec.amount} ${spec.currency} ${status}`);
  }
  // Start with a draft of the first reward's partner and currency, so payout actions have a target.
  const first = m.rewards[0] as MReward;
  const drafted = expectOk(
    await call(manager, 'POST', '/payouts', {
      body: { partnerId: partners[first.partner], currency: first.currency },
    }),
    201,
  );
  m.payouts.push({
    id: drafted.id,
    partner: first.partner,
    currency: first.currency,
    status: 'draft',
    requirements: { invoice: false, rewardReview: false },
    reviews: {},
  });
  for (const reward of m.rewards) {
    if (reward.partner === first.partner && reward.currency === first.currency) reward.payoutId = drafted.id;
  }
  m.steps.push(`setup: draft ${drafted.id} of p${first.partner} ${first.currency}`);
  m.observed = await observe(m);
  compare(m, m.observed as Observed);
  return m;
}

describe('the payout lifecycle against a reference model', () => {
  it(
    `matches the model over ${RUNS} random action sequences`,
    async () => {
      let run = 0;
      const reached = new Set<string>();
      const succeeded = new Set<string>();
      await fc.assert(
        fc.asyncProperty(
          initialRewards,
          fc.commands(commands, { maxCommands: MAX_COMMANDS, size: 'max' }),
          async (initial, cmds) => {
            run += 1;
            const model = await setup(initial, run);
            await fc.asyncModelRun(async () => ({ model, real: { run } }), cmds);
            for (const payout of model.payouts) reached.add(payout.status);
            for (const kind of model.succeeded) succeeded.add(kind);
            if (process.env.MODEL_STATS)
              console.log(
                model.steps.filter((line) => !line.startsWith('setup')).length,
                [...model.succeeded].join(' '),
              );
          },
        ),
        {
          numRuns: RUNS,
          ...(SEED !== undefined ? { seed: SEED } : {}),
          endOnFailure: process.env.MODEL_SHRINK !== '1',
        },
      );
      // The generated sequences must actually exercise the lifecycle, not only its refusals.
      if (RUNS >= 100) {
        expect([...reached].sort()).toEqual(['cancelled', 'draft', 'paid', 'pending', 'ready']);
        expect([...succeeded].sort()).toEqual(
          [
            'accept',
            'cancel',
            'createReward',
            'draft',
            'markPaid',
            'partner request-changes',
            'partner validate',
            'refuse',
            'review',
            'validate',
          ].sort(),
        );
      }
    },
    Math.max(180_000, RUNS * 3_000),
  );
});
