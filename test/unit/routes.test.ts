import { describe, expect, expectTypeOf, it } from 'vitest';
import { NotFound } from '../../shared/domain/errors.ts';
import { newId } from '../../shared/domain/ids.ts';
import { RESOURCES } from '../../shared/domain/resources.ts';
import type { ManagerCaller, PartnerCaller } from '../../shared/http/auth.ts';
import { type PathParamNames, type Request, readPathParams } from '../../shared/http/handler.ts';
import { BANK_REPORT_ROUTES } from '../../shared/http/routes/bank-reports.ts';
import { EXPORT_ROUTES } from '../../shared/http/routes/exports.ts';
import { HEALTH_ROUTES } from '../../shared/http/routes/health.ts';
import { HOLD_ROUTES } from '../../shared/http/routes/holds.ts';
import { PARTNER_PAYOUT_ROUTES } from '../../shared/http/routes/partner-payouts.ts';
import { PARTNER_ROUTES } from '../../shared/http/routes/partners.ts';
import { PAYOUT_RUN_ROUTES } from '../../shared/http/routes/payout-runs.ts';
import { PAYOUT_ROUTES } from '../../shared/http/routes/payouts.ts';
import { REWARD_ROUTES } from '../../shared/http/routes/rewards.ts';
import { WEBHOOK_ROUTES } from '../../shared/http/routes/webhooks.ts';
import { type FUNCTION_GROUPS, ROUTES, type RouteSpec, routeKey } from '../../shared/http/routes.ts';

const PARTS: Record<(typeof FUNCTION_GROUPS)[number], Record<string, RouteSpec>> = {
  health: HEALTH_ROUTES,
  partners: PARTNER_ROUTES,
  rewards: REWARD_ROUTES,
  payouts: PAYOUT_ROUTES,
  'partner-payouts': PARTNER_PAYOUT_ROUTES,
  'payout-runs': PAYOUT_RUN_ROUTES,
  exports: EXPORT_ROUTES,
  holds: HOLD_ROUTES,
  'bank-reports': BANK_REPORT_ROUTES,
  webhooks: WEBHOOK_ROUTES,
};

describe('route catalogue', () => {
  it('is exactly the union of the per-function tables: no operation name or route key twice', () => {
    const names = Object.values(PARTS).flatMap((part) => Object.keys(part));
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual(Object.keys(ROUTES).sort());
    const keys = Object.values(ROUTES).map(routeKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it.each(Object.entries(PARTS))('the %s table only holds routes of that function', (group, part) => {
    expect(Object.keys(part).length).toBeGreaterThan(0);
    for (const spec of Object.values(part)) expect(spec.group).toBe(group);
  });

  it('names a documented resource for every response', () => {
    for (const spec of Object.values(ROUTES) as RouteSpec[]) {
      expect(Object.keys(RESOURCES)).toContain(spec.response);
    }
  });
});

describe('typed requests (checked by tsc)', () => {
  it('derive path parameters from the path and narrow the caller by the access', () => {
    type OwnReview = Request<(typeof PARTNER_PAYOUT_ROUTES)['reviewReward']>;
    expectTypeOf<OwnReview['params']>().toEqualTypeOf<{ id: string; rewardId: string }>();
    expectTypeOf<OwnReview['caller']>().toEqualTypeOf<PartnerCaller>();
    expectTypeOf<OwnReview['caller']['partnerId']>().toEqualTypeOf<string>();
    type Payout = Request<(typeof PAYOUT_ROUTES)['getPayout']>;
    expectTypeOf<Payout['params']>().toEqualTypeOf<{ id: string }>();
    expectTypeOf<Payout['caller']>().toEqualTypeOf<ManagerCaller>();
    type Health = Request<(typeof HEALTH_ROUTES)[keyof typeof HEALTH_ROUTES]>;
    expectTypeOf<Health['params']>().toEqualTypeOf<Record<never, string>>();
    expectTypeOf<Health['caller']>().toEqualTypeOf<undefined>();
    expectTypeOf<PathParamNames<'/a/{x}/b/{y}/c'>>().toEqualTypeOf<'x' | 'y'>();
  });

  it('hand every path parameter over, and answer 404 for an id that cannot exist', () => {
    const id = newId('payout');
    const rewardId = newId('reward');
    expect(readPathParams('/payouts/{id}/rewards/{rewardId}', { id, rewardId })).toEqual({ id, rewardId });
    expect(() => readPathParams('/payouts/{id}/rewards/{rewardId}', { id, rewardId: id })).toThrow(NotFound);
    expect(() => readPathParams('/payouts/{id}', { id: 'nope' })).toThrow(NotFound);
    expect(() => readPathParams('/payouts/{id}', {})).toThrow(NotFound);
    expect(readPathParams('/webhooks/{id}', { id: 'wh-1', other: 'x' })).toEqual({ id: 'wh-1' });
  });
});
