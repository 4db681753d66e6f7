/**
 * `GET /payouts/summary` through the real payouts handler against dynalite: counts and sums per
 * status and currency follow drafts, validations and cancellations. Other test files share the
 * table, so this one works in a currency no other test uses (ISK) and compares before/after.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { expectOk, expectProblem } from '../support/expect.ts';
import { call, manager, partner } from '../support/http.ts';

vi.setConfig({ testTimeout: 60_000 });

const CURRENCY = 'ISK';

async function summaryOf(currency: string): Promise<Record<string, { count: number; amount: number }>> {
  const body = expectOk(await call(manager, 'GET', '/payouts/summary'));
  expect(Array.isArray(body.items)).toBe(true);
  const rows: Record<string, { count: number; amount: number }> = {};
  for (const item of body.items) {
    expect(Object.keys(item).sort()).toEqual(['amount', 'count', 'currency', 'status']);
    if (item.currency === currency) rows[item.status] = { count: item.count, amount: item.amount };
  }
  return rows;
}

async function draftPayout(amounts: number[]): Promise<any> {
  const partnerId = expectOk(
    await call(manager, 'POST', '/partners', {
      body: { name: 'Summary Partner', email: `sum+${randomUUID()}@example.com` },
    }),
    201,
  ).id;
  for (const amount of amounts) {
    expectOk(
      await call(manager, 'POST', '/rewards', {
        body: { partnerId, amount, currency: CURRENCY, status: 'accepted' },
      }),
      201,
    );
  }
  return expectOk(await call(manager, 'POST', '/payouts', { body: { partnerId, currency: CURRENCY } }), 201);
}

describe('GET /payouts/summary', () => {
  it('counts and sums payouts per status and currency as they move', async () => {
    const before = await summaryOf(CURRENCY);
    const a = await draftPayout([1000, 2500]);
    const b = await draftPayout([700]);
    const c = await draftPayout([300, -100]);

    const drafted = await summaryOf(CURRENCY);
    expect(drafted.draft).toEqual({
      count: (before.draft?.count ?? 0) + 3,
      amount: (before.draft?.amount ?? 0) + 3500 + 700 + 200,
    });

    expectOk(await call(manager, 'POST', `/payouts/${a.id}/validate`, { body: {} }));
    expectOk(await call(manager, 'POST', `/payouts/${b.id}/cancel`, { body: {} }));

    const after = await summaryOf(CURRENCY);
    expect(after.draft).toEqual({
      count: (before.draft?.count ?? 0) + 1,
      amount: (before.draft?.amount ?? 0) + 200,
    });
    expect(after.pending).toEqual({
      count: (before.pending?.count ?? 0) + 1,
      amount: (before.pending?.amount ?? 0) + 3500,
    });
    expect(after.cancelled).toEqual({
      count: (before.cancelled?.count ?? 0) + 1,
      amount: (before.cancelled?.amount ?? 0) + 700,
    });
    expect(c.amount).toBe(200);
  });

  it('is for managers only', async () => {
    expectProblem(
      await call(partner('pt_01JZ0000000000000000000000'), 'GET', '/payouts/summary'),
      403,
      'forbidden',
    );
  });
});
