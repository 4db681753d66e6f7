/**
 * What the signed-in manager may do: an action is shown only when one of the session's roles may
 * call its route. The roles per route come from the OpenAPI document (`x-roles`, generated from the
 * route catalogue's `permission` into ./api/route-roles.ts at build time), not from a second table.
 */
import { ROUTE_ROLES } from './api/route-roles.ts';
import { type ManagerRole, session } from './session.ts';

export type ManagerRoute = keyof typeof ROUTE_ROLES;

export function allowed(route: ManagerRoute, roles: readonly ManagerRole[]): boolean {
  const holders: readonly string[] = ROUTE_ROLES[route];
  return roles.some((role) => holders.includes(role));
}

/** Whether the signed-in manager may call this route (a partner: never). */
export function can(route: ManagerRoute): boolean {
  const current = session.current;
  return current?.role === 'manager' && allowed(route, current.roles);
}

const ROLE_NAMES: Record<ManagerRole, string> = {
  viewer: 'Viewer',
  program_manager: 'Program manager',
  finance: 'Finance',
  admin: 'Admin',
};

export function roleNames(roles: readonly ManagerRole[]): string {
  return roles.map((role) => ROLE_NAMES[role]).join(', ');
}
