import { describe, expect, it } from 'vitest';
import { RESOURCES } from '../../shared/domain/resources.ts';
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
