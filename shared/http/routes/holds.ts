/** The routes of the `holds` function (see ../routes.ts for the whole catalogue). */
import { CreateHold, HoldQuery, ResolveHold } from '../../domain/control-requests.ts';
import { type RouteSpec, route } from '../route-spec.ts';

export const HOLD_ROUTES = {
  createHold: route({
    method: 'POST',
    path: '/holds',
    group: 'holds',
    access: 'manager',
    permission: 'manage_or_finance',
    summary:
      'Hold a partner, a payout or a reward with a reason code; holds stack, and a partner hold covers their payouts and rewards',
    body: CreateHold,
    status: 201,
    response: 'Hold',
  }),
  listHolds: route({
    method: 'GET',
    path: '/holds',
    group: 'holds',
    access: 'manager',
    permission: 'read',
    summary:
      'List holds, newest first (`active`, `scope`, `targetId`, `dueForReview`: active and past reviewBy)',
    query: HoldQuery,
    status: 200,
    response: 'Hold',
    paged: true,
  }),
  getHold: route({
    method: 'GET',
    path: '/holds/{id}',
    group: 'holds',
    access: 'manager',
    permission: 'read',
    summary: 'Get a hold',
    status: 200,
    response: 'Hold',
  }),
  releaseHold: route({
    method: 'POST',
    path: '/holds/{id}/release',
    group: 'holds',
    access: 'manager',
    permission: 'manage_or_finance',
    summary:
      'End a hold (`resolution: "released"`), by someone other than who placed it; everything continues where it stopped',
    body: ResolveHold,
    status: 200,
    response: 'Hold',
  }),
  confirmHold: route({
    method: 'POST',
    path: '/holds/{id}/confirm',
    group: 'holds',
    access: 'manager',
    permission: 'manage_or_finance',
    summary:
      'Confirm a hold (fraud): the held rewards are refused; those in a draft, pending or ready payout leave it (back to draft), those in a processing or paid one are clawed back',
    body: ResolveHold,
    status: 200,
    response: 'Hold',
  }),
} as const satisfies Record<string, RouteSpec>;
