/** The routes of the `health` function (see ../routes.ts for the whole catalogue). */
import { type RouteSpec, route } from '../route-spec.ts';

export const HEALTH_ROUTES = {
  health: route({
    method: 'GET',
    path: '/health',
    group: 'health',
    access: 'public',
    permission: 'public',
    summary: 'Liveness',
    status: 200,
    response: 'Health',
  }),
} as const satisfies Record<string, RouteSpec>;
