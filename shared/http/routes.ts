/**
 * The route catalogue: every HTTP route of every function. The CDK API, the local server and the
 * OpenAPI document are all built from this one table, so they cannot disagree; each function's
 * handler is built from its own part (./routes/<group>.ts), so its bundle carries no other route.
 */

import type { FunctionGroup, RouteSpec } from './route-spec.ts';
import { BANK_REPORT_ROUTES } from './routes/bank-reports.ts';
import { EXPORT_ROUTES } from './routes/exports.ts';
import { HEALTH_ROUTES } from './routes/health.ts';
import { HOLD_ROUTES } from './routes/holds.ts';
import { PARTNER_PAYOUT_ROUTES } from './routes/partner-payouts.ts';
import { PARTNER_ROUTES } from './routes/partners.ts';
import { PAYOUT_RUN_ROUTES } from './routes/payout-runs.ts';
import { PAYOUT_ROUTES } from './routes/payouts.ts';
import { REWARD_ROUTES } from './routes/rewards.ts';
import { WEBHOOK_ROUTES } from './routes/webhooks.ts';

export {
  type Access,
  FUNCTION_GROUPS,
  type FunctionGroup,
  type Method,
  type RouteSpec,
  type RouteTable,
  routeKey,
} from './route-spec.ts';

export const ROUTES = {
  ...HEALTH_ROUTES,
  ...PARTNER_ROUTES,
  ...REWARD_ROUTES,
  ...PAYOUT_ROUTES,
  ...PARTNER_PAYOUT_ROUTES,
  ...EXPORT_ROUTES,
  ...PAYOUT_RUN_ROUTES,
  ...HOLD_ROUTES,
  ...BANK_REPORT_ROUTES,
  ...WEBHOOK_ROUTES,
} as const satisfies Record<string, RouteSpec>;

export type RouteName = keyof typeof ROUTES;
export type Routes = typeof ROUTES;

export function routesOf(group: FunctionGroup): [RouteName, RouteSpec][] {
  return (Object.entries(ROUTES) as [RouteName, RouteSpec][]).filter(([, spec]) => spec.group === group);
}
