/**
 * Per-payout caps on the partner routes (issue 13 §7): reviews and invoice upload grants are counted
 * per payout and per minute in a DynamoDB item (dynalite here, the real handler through `call`);
 * over the cap the answer is 429 `rate_limited` with `Retry-After`, and nothing changes. The caps are
 * lowered for this file so a test stays short; the defaults are 60 reviews and 10 upload grants.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { dynamo } from '../../shared/adapters/clients.ts';
import { RATE_WINDOW_SECONDS, rateKeys, takeRate } from '../../shared/adapters/rate-limit.ts';
import { table } from '../../shared/adapters/table.ts';
import { rateLimits } from '../../shared/config/rate-limits.ts';
import { newId } from '../../shared/domain/ids.ts';
import { openApiDocument } from '../../shared/http/openapi.ts';
import { expectOk, expectProblem, listAll } from '../support/expect.ts';
import { call, manager, partner } from '../support/http.ts';

const REVIEWS = 3;
const UPLOADS = 2;

beforeAll(() => {
  process.env.PARTNER_REVIEWS_PER_MINUTE = String(REVIEWS);
  process.env.INVOICE_UPLOADS_PER_MINUTE = String(UPLOADS);
});

/** Starts a test early enough in a minute that its requests share one window. */
async function freshWindow(needSeconds = 15): Promise<void> {
  const left = RATE_WINDOW_SECONDS - ((Date.now() / 1000) % RATE_WINDOW_SECONDS);
  if (left < needSeconds) await new Promise((resolve) => setTimeout(resolve, left * 1000 + 50));
}

/** A fresh partner's pending payout of `rewards` accepted rewards. */
async function pendingPayout(rewards: number) {
  const partnerId = expectOk(
    await call(manager, 'POST', '/partners', {
      body: { name: 'Rate Partner', email: `rate+${newId('reward')}@example.com` },
    }),
    201,
  ).id as string;
  const rewardIds: string[] = [];
  for (let index = 0; index < rewards; index++) {
    rewardIds.push(
      expectOk(
        await call(manager, 'POST', '/rewards', {
          body: { partnerId, amount: 1000 + index, currency: 'EUR', status: 'accepted' },
        }),
        201,
      ).id,
    );
  }
  const payoutId = expectOk(
    await call(manager, 'POST', '/payouts', { body: { partnerId, currency: 'EUR' } }),
    201,
  ).id as string;
  expectOk(
    await call(manager, 'POST', `/payouts/${payoutId}/validate`, { body: { requireRewardReview: true } }),
  );
  return { partnerId, payoutId, rewardIds };
}

const review = (partnerId: string, payoutId: string, rewardId: string) =>
  call(partner(partnerId), 'POST', `/partner/payouts/${payoutId}/rewards/${rewardId}/review`, {
    body: { decision: 'approve' },
  });

describe('per-payout rate limits on the partner routes', () => {
  it('reads its caps from the environment, with 60 reviews and 10 upload grants per minute by default', () => {
    const saved = { ...process.env };
    delete process.env.PARTNER_REVIEWS_PER_MINUTE;
    delete process.env.INVOICE_UPLOADS_PER_MINUTE;
    try {
      expect(rateLimits()).toEqual({ reviewsPerMinute: 60, uploadsPerMinute: 10 });
    } finally {
      process.env.PARTNER_REVIEWS_PER_MINUTE = saved.PARTNER_REVIEWS_PER_MINUTE;
      process.env.INVOICE_UPLOADS_PER_MINUTE = saved.INVOICE_UPLOADS_PER_MINUTE;
    }
    expect(rateLimits()).toEqual({ reviewsPerMinute: REVIEWS, uploadsPerMinute: UPLOADS });
  });

  it('answers 429 rate_limited with Retry-After past the review cap, records nothing, and counts per payout', async () => {
    const first = await pendingPayout(REVIEWS + 2);
    const other = await pendingPayout(1);
    await freshWindow();
    for (const rewardId of first.rewardIds.slice(0, REVIEWS)) {
      expect(expectOk(await review(first.partnerId, first.payoutId, rewardId)).review).toMatchObject({
        decision: 'approve',
      });
    }
    const eventsBefore = await listAll(manager, `/payouts/${first.payoutId}/events`);
    const refused = await review(first.partnerId, first.payoutId, first.rewardIds[REVIEWS] as string);
    expectProblem(refused, 429, 'rate_limited');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(RATE_WINDOW_SECONDS);
    // Nothing recorded: no review entry, the reward still unreviewed.
    expect(await listAll(manager, `/payouts/${first.payoutId}/events`)).toEqual(eventsBefore);
    const rewards = await listAll(partner(first.partnerId), `/partner/payouts/${first.payoutId}/rewards`);
    expect(rewards.find((reward) => reward.id === first.rewardIds[REVIEWS])?.review).toBeUndefined();
    // Another payout has its own counter.
    expectOk(await review(other.partnerId, other.payoutId, other.rewardIds[0] as string));
    // The manager's routes are not capped: cancelling the payout still works.
    expect(
      expectOk(await call(manager, 'POST', `/payouts/${first.payoutId}/cancel`, { body: { reason: 'test' } }))
        .status,
    ).toBe('cancelled');
  });

  it('caps invoice upload grants per payout and minute', async () => {
    const { partnerId, payoutId } = await pendingPayout(1);
    await freshWindow();
    for (let index = 0; index < UPLOADS; index++) {
      expectOk(
        await call(partner(partnerId), 'POST', `/partner/payouts/${payoutId}/invoice`, { body: {} }),
        201,
      );
    }
    const refused = await call(partner(partnerId), 'POST', `/partner/payouts/${payoutId}/invoice`, {
      body: {},
    });
    expectProblem(refused, 429, 'rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // A foreign payout is a 404 before anything is counted.
    const stranger = await pendingPayout(1);
    expectProblem(
      await call(partner(stranger.partnerId), 'POST', `/partner/payouts/${payoutId}/invoice`, { body: {} }),
      404,
      'not_found',
    );
  });

  it('is documented: 429 with Retry-After on the two capped routes, and on no other', () => {
    const document = openApiDocument() as any;
    const limited: string[] = [];
    for (const [path, operations] of Object.entries<any>(document.paths)) {
      for (const [method, operation] of Object.entries<any>(operations)) {
        const response = operation?.responses?.['429'];
        if (!response) continue;
        limited.push(`${method.toUpperCase()} ${path}`);
        expect(response.headers?.['Retry-After']?.schema).toMatchObject({ type: 'integer' });
      }
    }
    expect(limited.sort()).toEqual([
      'POST /partner/payouts/{id}/invoice',
      'POST /partner/payouts/{id}/rewards/{rewardId}/review',
    ]);
  });

  it('counts in fixed one-minute windows whose items expire (TTL), and opens the next window', async () => {
    const subject = newId('payout');
    const start = Date.UTC(2026, 10, 30, 3, 0, 0);
    expect(await takeRate('test', subject, 2, start + 1_000)).toEqual({ allowed: true, count: 1 });
    expect(await takeRate('test', subject, 2, start + 30_000)).toEqual({ allowed: true, count: 2 });
    expect(await takeRate('test', subject, 2, start + 59_200)).toEqual({
      allowed: false,
      retryAfterSeconds: 1,
    });
    expect(await takeRate('test', subject, 2, start + 20_000)).toEqual({
      allowed: false,
      retryAfterSeconds: 40,
    });
    // The refused requests counted nothing.
    const stored = await dynamo().send(
      new GetCommand({
        TableName: table(),
        Key: rateKeys('test', subject, start / 1000),
        ConsistentRead: true,
      }),
    );
    expect(stored.Item?.count).toBe(2);
    expect(stored.Item?.expiresAt).toBeGreaterThanOrEqual(start / 1000 + RATE_WINDOW_SECONDS);
    // The next minute is a new window.
    expect(await takeRate('test', subject, 2, start + 60_000)).toEqual({ allowed: true, count: 1 });
    // A cap of 0 is no cap.
    expect(await takeRate('test', subject, 0, start + 60_500)).toEqual({ allowed: true, count: 0 });
  });
});
