/** The routes of the `payout-runs` function (see ../routes.ts for the whole catalogue). */
import { CreatePayoutRun } from '../../domain/payout-requests.ts';
import { type RouteSpec, route } from '../route-spec.ts';

export const PAYOUT_RUN_ROUTES = {
  createPayoutRun: route({
    method: 'POST',
    path: '/payout-runs',
    group: 'payout-runs',
    access: 'manager',
    permission: 'manage',
    summary: 'Run the scheduled drafting now (201 when done; 202 when it continues asynchronously)',
    body: CreatePayoutRun,
    status: 201,
    otherStatuses: {
      202: 'The run did not finish within its time budget: the drafting function carries on; poll GET /payout-runs/{id}',
    },
    response: 'PayoutRun',
  }),
  getPayoutRun: route({
    method: 'GET',
    path: '/payout-runs/{id}',
    group: 'payout-runs',
    access: 'manager',
    permission: 'read',
    summary: 'A drafting run’s result',
    status: 200,
    response: 'PayoutRun',
  }),
} as const satisfies Record<string, RouteSpec>;
