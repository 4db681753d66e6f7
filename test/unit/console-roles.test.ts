/**
 * What the console shows each role (web/src/roles.ts): the roles per route are generated from the
 * OpenAPI document's `x-roles` (infra/local/console-build.ts), so they equal the route catalogue's
 * permissions; the session reads a manager's roles from the token as the API does (a `roles` claim,
 * `role: manager` → admin, Cognito groups).
 */
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateApiTypes } from '../../infra/local/console-build.ts';
import { holdersOf } from '../../shared/domain/roles.ts';
import { ROUTES } from '../../shared/http/routes.ts';

// The console's modules use the DOM (sessionStorage): loaded by a path the server's type-check does
// not follow (the console is type-checked on its own, `tsc -p web`), and typed here by what is used.
type ManagerRole = 'viewer' | 'program_manager' | 'finance' | 'admin';
interface RolesModule {
  allowed(route: string, roles: readonly ManagerRole[]): boolean;
}
interface SessionModule {
  sessionFromToken(token: string): { role: string; roles: ManagerRole[]; user: string } | undefined;
}
const WEB = '../../web/src';
let roles: RolesModule;
let session: SessionModule;

const token = (claims: Record<string, unknown>) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('user-1')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode('a key for a test, never verified here'));

beforeAll(async () => {
  await generateApiTypes();
  roles = (await import(`${WEB}/roles.ts`)) as RolesModule;
  session = (await import(`${WEB}/session.ts`)) as SessionModule;
});

describe('the console’s roles', () => {
  it('has, for every manager route of the catalogue, exactly the roles its permission names', async () => {
    const { ROUTE_ROLES } = (await import(`${WEB}/api/route-roles.ts`)) as {
      ROUTE_ROLES: Record<string, readonly string[]>;
    };
    const managerRoutes = Object.values(ROUTES).filter((spec) => spec.access === 'manager');
    expect(Object.keys(ROUTE_ROLES).sort()).toEqual(
      managerRoutes.map((spec) => `${spec.method} ${spec.path}`).sort(),
    );
    for (const spec of managerRoutes) {
      expect([...(ROUTE_ROLES[`${spec.method} ${spec.path}`] ?? [])]).toEqual([
        ...holdersOf(spec.permission),
      ]);
    }
  });

  it('lets a viewer read and nothing else; finance approve and export; a program manager hold but not pay', () => {
    const { allowed } = roles;
    const writes = Object.values(ROUTES).filter((spec) => spec.access === 'manager' && spec.method !== 'GET');
    expect(writes.length).toBeGreaterThan(20);
    for (const spec of writes) {
      expect(allowed(`${spec.method} ${spec.path}`, ['viewer'])).toBe(false);
    }
    expect(allowed('GET /payouts', ['viewer'])).toBe(true);
    expect(allowed('POST /payouts/{id}/approve', ['finance'])).toBe(true);
    expect(allowed('POST /exports', ['finance'])).toBe(true);
    expect(allowed('POST /payouts/{id}/approve', ['program_manager'])).toBe(false);
    expect(allowed('POST /payouts/{id}/mark-paid', ['program_manager'])).toBe(false);
    expect(allowed('POST /holds', ['program_manager'])).toBe(true);
    expect(allowed('POST /webhook-endpoints', ['finance'])).toBe(false);
    expect(allowed('POST /webhook-endpoints', ['admin'])).toBe(true);
  });

  it('reads a manager’s roles from the token as the API does', async () => {
    const read = async (claims: Record<string, unknown>) => session.sessionFromToken(await token(claims));
    expect(await read({ roles: ['finance', 'viewer'] })).toMatchObject({
      role: 'manager',
      roles: ['viewer', 'finance'],
      user: 'user-1',
    });
    expect(await read({ role: 'manager' })).toMatchObject({ role: 'manager', roles: ['admin'] });
    expect(await read({ 'cognito:groups': ['payouts-viewer', 'managers'] })).toMatchObject({
      roles: ['viewer', 'admin'],
    });
    expect(await read({ 'cognito:groups': ['payouts-finance,payouts-admins'] })).toBeUndefined();
    expect(await read({ role: 'partner', partner_id: 'pt_1' })).toMatchObject({
      role: 'partner',
      roles: [],
      partnerId: 'pt_1',
    });
    expect(await read({ roles: ['superuser'] })).toBeUndefined();
  });
});
