/**
 * Scheduled drafting rules: MIN_PAYOUT_AMOUNTS parsing, the holding-period cutoff, the group decision
 * (netted clawbacks, zero / negative groups, per-currency minimums), and the local cron translation.
 */
import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import { toCronerPattern } from '../../infra/local/schedule.ts';
import { DEFAULT_PAYOUT_SCHEDULE } from '../../shared/config/drafting.ts';
import { decideGroup, holdingCutoff, parseMinimums } from '../../shared/domain/drafting.ts';

describe('parseMinimums', () => {
  it('reads CUR:minorUnits pairs, tolerating spaces', () => {
    expect([...parseMinimums('EUR:5000,USD:2500')]).toEqual([
      ['EUR', 5000],
      ['USD', 2500],
    ]);
    expect([...parseMinimums(' JPY : 1000 , , EUR:0 ')]).toEqual([
      ['JPY', 1000],
      ['EUR', 0],
    ]);
  });

  it('is empty when unset or blank', () => {
    expect(parseMinimums(undefined).size).toBe(0);
    expect(parseMinimums('').size).toBe(0);
    expect(parseMinimums(' , ').size).toBe(0);
  });

  it.each([
    'EUR',
    'EUR:',
    'EUR=5000',
    'eur:5000',
    'EURO:5000',
    'XXY:5000',
    'EUR:-5',
    'EUR:50.5',
    'EUR:5000;USD:5000',
    'EUR:99999999999999999999',
  ])('refuses %j', (text) => {
    expect(() => parseMinimums(text)).toThrow(/MIN_PAYOUT_AMOUNTS/);
  });
});

describe('holdingCutoff', () => {
  it('is asOf itself without a holding period', () => {
    expect(holdingCutoff('2025-03-01T02:00:00.000Z', 0)).toBe('2025-03-01T02:00:00.000Z');
  });

  it('goes back whole days, across month and year boundaries', () => {
    expect(holdingCutoff('2025-03-01T02:00:00.000Z', 14)).toBe('2025-02-15T02:00:00.000Z');
    expect(holdingCutoff('2025-01-05T00:00:00.000Z', 30)).toBe('2024-12-06T00:00:00.000Z');
    expect(holdingCutoff('2024-03-01T00:00:00.000Z', 1)).toBe('2024-02-29T00:00:00.000Z');
  });

  it('sorts as text like the createdAt values it is compared with', () => {
    const cutoff = holdingCutoff('2025-03-01T02:00:00.000Z', 7);
    expect('2025-02-22T01:59:59.999Z' <= cutoff).toBe(true);
    expect('2025-02-22T02:00:00.000Z' <= cutoff).toBe(true);
    expect('2025-02-22T02:00:00.001Z' <= cutoff).toBe(false);
  });
});

describe('decideGroup', () => {
  const minimums = parseMinimums('EUR:5000,USD:2000');
  it.each([
    { name: 'positive, no minimum for the currency', amounts: [1], currency: 'GBP', draft: true, amount: 1 },
    { name: 'positive above the minimum', amounts: [3000, 2500], currency: 'EUR', draft: true, amount: 5500 },
    { name: 'exactly the minimum', amounts: [5000], currency: 'EUR', draft: true, amount: 5000 },
    {
      name: 'one below the minimum',
      amounts: [4999],
      currency: 'EUR',
      draft: false,
      amount: 4999,
      reason: 'below_minimum',
    },
    {
      name: 'below EUR minimum but above USD minimum',
      amounts: [2500],
      currency: 'USD',
      draft: true,
      amount: 2500,
    },
    {
      name: 'below the USD minimum',
      amounts: [1999],
      currency: 'USD',
      draft: false,
      amount: 1999,
      reason: 'below_minimum',
    },
    {
      name: 'clawbacks netted, still positive',
      amounts: [9000, -2000, -1500],
      currency: 'EUR',
      draft: true,
      amount: 5500,
    },
    {
      name: 'clawbacks netted below the minimum',
      amounts: [6000, -1500],
      currency: 'EUR',
      draft: false,
      amount: 4500,
      reason: 'below_minimum',
    },
    {
      name: 'nets to zero',
      amounts: [700, -700],
      currency: 'GBP',
      draft: false,
      amount: 0,
      reason: 'non_positive_amount',
    },
    {
      name: 'clawbacks only',
      amounts: [-100, -250],
      currency: 'EUR',
      draft: false,
      amount: -350,
      reason: 'non_positive_amount',
    },
    {
      name: 'negative with no minimum for the currency',
      amounts: [100, -101],
      currency: 'GBP',
      draft: false,
      amount: -1,
      reason: 'non_positive_amount',
    },
    {
      name: 'empty group',
      amounts: [],
      currency: 'EUR',
      draft: false,
      amount: 0,
      reason: 'non_positive_amount',
    },
  ])('$name', ({ amounts, currency, draft, amount, reason }) => {
    expect(decideGroup(amounts, currency, minimums)).toEqual(
      draft ? { draft: true, amount } : { draft: false, amount, reason },
    );
  });

  it('applies no minimum when none is configured', () => {
    expect(decideGroup([1], 'EUR', new Map())).toEqual({ draft: true, amount: 1 });
  });

  it('a zero minimum changes nothing for positive amounts', () => {
    expect(decideGroup([1], 'EUR', parseMinimums('EUR:0'))).toEqual({ draft: true, amount: 1 });
  });

  it('refuses sums outside the safe-integer range', () => {
    expect(() => decideGroup([Number.MAX_SAFE_INTEGER, 1], 'EUR', minimums)).toThrow();
  });
});

describe('toCronerPattern', () => {
  it('translates the EventBridge Scheduler default to five croner fields', () => {
    expect(DEFAULT_PAYOUT_SCHEDULE).toBe('cron(0 2 1 * ? *)');
    expect(toCronerPattern('cron(0 2 1 * ? *)')).toBe('0 2 1 * *');
  });

  it('maps ? to * in either day field and drops the year', () => {
    expect(toCronerPattern('cron(30 6 ? * MON-FRI *)')).toBe('30 6 * * MON-FRI');
    expect(toCronerPattern('cron(0 0 L * ? 2030)')).toBe('0 0 L * *');
  });

  it('accepts a bare expression', () => {
    expect(toCronerPattern('0 2 1 * ? *')).toBe('0 2 1 * *');
    expect(toCronerPattern(' 15 3 * * * ')).toBe('15 3 * * *');
  });

  it('refuses what is not a cron expression', () => {
    expect(() => toCronerPattern('rate(1 day)')).toThrow(/Not a cron expression/);
    expect(() => toCronerPattern('cron(0 2 1)')).toThrow(/Not a cron expression/);
  });

  it('fires on the 1st of the next month at 02:00 UTC', () => {
    const cron = new Cron(toCronerPattern(DEFAULT_PAYOUT_SCHEDULE), { timezone: 'UTC', paused: true });
    try {
      expect(cron.nextRun(new Date('2025-01-15T10:00:00Z'))?.toISOString()).toBe('2025-02-01T02:00:00.000Z');
      // Past 02:00 on the 1st: the next month.
      expect(cron.nextRun(new Date('2025-02-01T02:00:00Z'))?.toISOString()).toBe('2025-03-01T02:00:00.000Z');
      // Before 02:00 on the 1st: the same day.
      expect(cron.nextRun(new Date('2025-03-01T01:59:00Z'))?.toISOString()).toBe('2025-03-01T02:00:00.000Z');
      // Across the year.
      expect(cron.nextRun(new Date('2025-12-20T00:00:00Z'))?.toISOString()).toBe('2026-01-01T02:00:00.000Z');
    } finally {
      cron.stop();
    }
  });

  it('honours the time zone', () => {
    const cron = new Cron(toCronerPattern(DEFAULT_PAYOUT_SCHEDULE), {
      timezone: 'Europe/Paris',
      paused: true,
    });
    try {
      // 02:00 in Paris is 01:00 UTC in winter, 00:00 UTC in summer.
      expect(cron.nextRun(new Date('2025-01-15T10:00:00Z'))?.toISOString()).toBe('2025-02-01T01:00:00.000Z');
      expect(cron.nextRun(new Date('2025-06-15T10:00:00Z'))?.toISOString()).toBe('2025-07-01T00:00:00.000Z');
    } finally {
      cron.stop();
    }
  });
});
