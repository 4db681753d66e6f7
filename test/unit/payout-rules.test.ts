import { describe, expect, it } from 'vitest';
import { DomainError, InvalidTransition, RuleViolation } from '../../shared/domain/errors.ts';
import {
  checkManagerValidation,
  checkPartnerReview,
  checkPartnerValidation,
  checkRewardDecision,
  isClaimable,
  isTerminal,
  type PartnerValidationInput,
  type PayoutAction,
  payoutAmount,
  payoutTotals,
  type RewardLine,
  TRANSITIONS,
  transitionFor,
} from '../../shared/domain/payout-rules.ts';
import { PAYOUT_STATUSES, type PayoutStatus, REWARD_STATUSES } from '../../shared/domain/schemas.ts';

/** What api.md allows, written out by hand: action → from → to. Every other pair is refused. */
const ALLOWED: Record<PayoutAction, Partial<Record<PayoutStatus, PayoutStatus>>> = {
  validate: { draft: 'pending' },
  partner_validate: { pending: 'ready' },
  request_changes: { pending: 'draft' },
  export: { ready: 'processing' },
  void: { processing: 'ready' },
  mark_paid: { ready: 'paid', processing: 'paid' },
  mark_failed: { processing: 'failed', paid: 'failed' },
  reissue: { failed: 'failed' },
  cancel: { draft: 'cancelled', pending: 'cancelled', ready: 'cancelled', failed: 'cancelled' },
};
const ACTIONS = Object.keys(ALLOWED) as PayoutAction[];

const PAIRS = ACTIONS.flatMap((action) =>
  PAYOUT_STATUSES.map((status) => [action, status, ALLOWED[action][status] ?? null] as const),
);

/** Runs `fn` and returns what it threw (failing the test if it did not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function expectRule(fn: () => unknown, code: string): RuleViolation {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(RuleViolation);
  const rule = error as RuleViolation;
  expect(rule.code).toBe(code);
  expect(rule.status).toBe(422);
  expect(rule.name).toBe('RuleViolation');
  return rule;
}

function expectInvalidTransition(fn: () => unknown): InvalidTransition {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(InvalidTransition);
  expect(error).toBeInstanceOf(DomainError);
  const invalid = error as InvalidTransition;
  expect(invalid.code).toBe('invalid_transition');
  expect(invalid.status).toBe(409);
  expect(invalid.name).toBe('InvalidTransition');
  return invalid;
}

const line = (id: string, amount: number, status: RewardLine['status'] = 'accepted'): RewardLine => ({
  id,
  amount,
  status,
});

describe('the transition table', () => {
  it('has 63 (action × status) pairs to check', () => {
    expect(PAIRS).toHaveLength(ACTIONS.length * PAYOUT_STATUSES.length);
    expect(PAIRS).toHaveLength(9 * 7);
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...ACTIONS].sort());
  });

  it.each(PAIRS.filter(([, , to]) => to !== null))('%s from %s → %s', (action, status, to) => {
    const transition = transitionFor(action, status);
    expect(transition.to).toBe(to);
    expect(transition.event).toMatch(/^payout\.[a-z_]+$/);
  });

  it.each(PAIRS.filter(([, , to]) => to === null))('%s from %s is refused', (action, status) => {
    const error = expectInvalidTransition(() => transitionFor(action, status));
    expect(error.data).toEqual({ status, action });
    expect(error.message).toContain(status);
  });

  it('names distinct events', () => {
    const events = ACTIONS.map((action) => TRANSITIONS[action].event);
    expect(new Set(events).size).toBe(ACTIONS.length);
  });

  it.each<[PayoutStatus, boolean]>([
    ['draft', false],
    ['pending', false],
    ['ready', false],
    ['processing', false],
    ['paid', true],
    ['failed', false],
    ['cancelled', true],
  ])('%s is terminal: %s', (status, terminal) => {
    expect(isTerminal(status)).toBe(terminal);
    // A terminal status has no way out but a return (paid → failed, by the bank or within the
    // return window); a non-terminal one at least can be cancelled, voided, settled or reissued.
    const exits = ACTIONS.filter(
      (action) => ALLOWED[action][status] !== undefined && !(status === 'paid' && action === 'mark_failed'),
    );
    expect(exits.length === 0).toBe(terminal);
  });
});

describe('payoutAmount / payoutTotals', () => {
  it.each<[string, RewardLine[], number, number]>([
    ['empty', [], 0, 0],
    ['accepted rewards', [line('a', 1000), line('b', 250)], 1250, 2],
    ['pending rewards count', [line('a', 1000, 'pending'), line('b', 1)], 1001, 2],
    ['refused rewards do not count', [line('a', 1000), line('b', 5000, 'refused')], 1000, 2],
    ['clawbacks are netted', [line('a', 1000), line('b', -300)], 700, 2],
    ['a refused clawback does not count', [line('a', 1000), line('b', -300, 'refused')], 1000, 2],
  ])('%s', (_name, rewards, amount, count) => {
    expect(payoutAmount(rewards)).toBe(amount);
    expect(payoutTotals(rewards)).toEqual({ amount, rewardCount: count });
  });
});

describe('checkManagerValidation (draft → pending)', () => {
  it('returns the totals of decided rewards with a positive net', () => {
    expect(checkManagerValidation([line('a', 1000), line('b', -400), line('c', 99, 'refused')])).toEqual({
      amount: 600,
      rewardCount: 3,
    });
  });

  it('refuses while a reward is still pending, naming it', () => {
    const error = expectRule(
      () => checkManagerValidation([line('a', 1000), line('b', 500, 'pending'), line('c', 1, 'pending')]),
      'rewards_not_reviewed',
    );
    expect(error.data).toEqual({ rewardIds: ['b', 'c'] });
  });

  it('checks pending rewards before the amount', () => {
    expectRule(() => checkManagerValidation([line('a', -1000, 'pending')]), 'rewards_not_reviewed');
  });

  it.each<[string, RewardLine[]]>([
    ['no rewards', []],
    ['a zero total', [line('a', 500), line('b', -500)]],
    ['a negative total', [line('a', 500), line('b', -501)]],
    ['only a clawback', [line('a', -1)]],
    ['only refused rewards', [line('a', 500, 'refused')]],
    ['a positive reward refused, a clawback accepted', [line('a', 1000, 'refused'), line('b', -10)]],
  ])('refuses %s with non_positive_amount', (_name, rewards) => {
    expectRule(() => checkManagerValidation(rewards), 'non_positive_amount');
  });

  it('does not count a refused clawback against the total', () => {
    expect(checkManagerValidation([line('a', 100), line('b', -1000, 'refused')]).amount).toBe(100);
  });

  it('accepts a total of one minor unit', () => {
    expect(checkManagerValidation([line('a', 1001), line('b', -1000)]).amount).toBe(1);
  });
});

describe('checkPartnerValidation (pending → ready)', () => {
  const rewards = [line('a', 1000), line('b', 500), line('r', 200, 'refused')];
  const input = (overrides: Partial<PartnerValidationInput>): PartnerValidationInput => ({
    rewards,
    requirements: { invoice: false, rewardReview: false },
    hasInvoice: false,
    reviews: {},
    ...overrides,
  });

  it('passes with no requirements', () => {
    expect(() => checkPartnerValidation(input({}))).not.toThrow();
  });

  it('requires an invoice when asked', () => {
    expectRule(
      () => checkPartnerValidation(input({ requirements: { invoice: true, rewardReview: false } })),
      'invoice_required',
    );
    expect(() =>
      checkPartnerValidation(
        input({ requirements: { invoice: true, rewardReview: false }, hasInvoice: true }),
      ),
    ).not.toThrow();
  });

  it('requires every counted reward to be approved when asked, naming the others', () => {
    const error = expectRule(
      () =>
        checkPartnerValidation(
          input({
            requirements: { invoice: false, rewardReview: true },
            reviews: { a: { decision: 'approve' } },
          }),
        ),
      'rewards_review_required',
    );
    expect(error.data).toEqual({ rewardIds: ['b'] });
  });

  it('needs no review of a refused reward', () => {
    expect(() =>
      checkPartnerValidation(
        input({
          requirements: { invoice: false, rewardReview: true },
          reviews: { a: { decision: 'approve' }, b: { decision: 'approve' } },
        }),
      ),
    ).not.toThrow();
  });

  it('refuses a disputed reward, even when no review was required', () => {
    const error = expectRule(
      () =>
        checkPartnerValidation(
          input({ reviews: { a: { decision: 'approve' }, b: { decision: 'dispute' } } }),
        ),
      'rewards_disputed',
    );
    expect(error.data).toEqual({ rewardIds: ['b'] });
  });

  it('ignores a dispute on a refused reward', () => {
    expect(() =>
      checkPartnerValidation(
        input({
          requirements: { invoice: false, rewardReview: true },
          reviews: { a: { decision: 'approve' }, b: { decision: 'approve' }, r: { decision: 'dispute' } },
        }),
      ),
    ).not.toThrow();
  });

  it('reports a dispute before a missing invoice or review', () => {
    expectRule(
      () =>
        checkPartnerValidation(
          input({
            requirements: { invoice: true, rewardReview: true },
            reviews: { a: { decision: 'dispute' } },
          }),
        ),
      'rewards_disputed',
    );
  });

  it('reports a missing invoice before missing reviews', () => {
    expectRule(
      () => checkPartnerValidation(input({ requirements: { invoice: true, rewardReview: true } })),
      'invoice_required',
    );
  });

  it('passes with an invoice and every counted reward approved', () => {
    expect(() =>
      checkPartnerValidation(
        input({
          requirements: { invoice: true, rewardReview: true },
          hasInvoice: true,
          reviews: { a: { decision: 'approve' }, b: { decision: 'approve' } },
        }),
      ),
    ).not.toThrow();
  });
});

describe('checkRewardDecision (manager accept / refuse)', () => {
  const REWARD_CASES = REWARD_STATUSES.flatMap((rewardStatus) =>
    ([null, ...PAYOUT_STATUSES] as const).map((payoutStatus) => {
      const allowed = rewardStatus !== 'paid' && (payoutStatus === null || payoutStatus === 'draft');
      return [rewardStatus, payoutStatus, allowed] as const;
    }),
  );

  it('covers every (reward status × payout status) pair', () => {
    expect(REWARD_CASES).toHaveLength(4 * 8);
    expect(REWARD_CASES.filter(([, , allowed]) => allowed)).toHaveLength(6);
  });

  it.each(REWARD_CASES)('a %s reward in a %s payout: allowed %s', (rewardStatus, payoutStatus, allowed) => {
    if (allowed) {
      expect(() => checkRewardDecision({ status: rewardStatus }, payoutStatus)).not.toThrow();
    } else {
      expectInvalidTransition(() => checkRewardDecision({ status: rewardStatus }, payoutStatus));
    }
  });
});

describe('checkPartnerReview', () => {
  it.each(PAYOUT_STATUSES.flatMap((payout) => REWARD_STATUSES.map((reward) => [payout, reward] as const)))(
    'a %s payout, a %s reward',
    (payoutStatus, rewardStatus) => {
      const allowed = payoutStatus === 'pending' && rewardStatus !== 'refused';
      if (allowed) expect(() => checkPartnerReview(payoutStatus, { status: rewardStatus })).not.toThrow();
      else expectInvalidTransition(() => checkPartnerReview(payoutStatus, { status: rewardStatus }));
    },
  );
});

describe('isClaimable', () => {
  it.each<[RewardLine['status'], string | null, boolean]>([
    ['pending', null, true],
    ['accepted', null, true],
    ['refused', null, false],
    ['paid', null, false],
    ['pending', 'po_01JF3Z0000000000000000000A', false],
    ['accepted', 'po_01JF3Z0000000000000000000A', false],
    ['refused', 'po_01JF3Z0000000000000000000A', false],
    ['paid', 'po_01JF3Z0000000000000000000A', false],
  ])('a %s reward in payout %s: %s', (status, payoutId, expected) => {
    expect(isClaimable({ status, payoutId })).toBe(expected);
  });
});
