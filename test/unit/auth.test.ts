/**
 * Claims are read per issuer: a Cognito user pool token by `cognito:groups` (as API Gateway renders
 * an array claim, "[a b]", never split on commas) and `custom:partner_id` only; an external issuer's
 * token by its configured claim names. Then the route's permission decides.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CLAIM_NAMES } from '../../shared/config/auth.ts';
import { allows, MANAGER_ROLES, PERMISSIONS } from '../../shared/domain/roles.ts';
import { actorOf, arrayClaim, authorize, callerFromClaims } from '../../shared/http/auth.ts';
import { permissionFits } from '../../shared/http/route-spec.ts';
import { ROUTES, type RouteSpec } from '../../shared/http/routes.ts';

const ISS = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc123';
const cognito = (claims: Record<string, string | string[]>) => ({ iss: ISS, sub: 'u-1', ...claims });
const external = (claims: Record<string, string | string[]>) => ({
  iss: 'https://idp.example.com/',
  sub: 'u-2',
  ...claims,
});

describe('array claims', () => {
  it.each([
    ['[a b]', ['a', 'b']],
    ['[payouts-finance]', ['payouts-finance']],
    ['[a,b c]', ['a,b', 'c']],
    ['[]', []],
    ['finance', ['finance']],
    ['', []],
  ])('%j → %j', (value, expected) => {
    expect(arrayClaim(value)).toEqual(expected);
  });
  it('takes arrays as they are', () => {
    expect(arrayClaim(['x', 'y z'])).toEqual(['x', 'y z']);
  });
});

describe('Cognito user pool tokens', () => {
  it.each([
    ['[managers]', ['admin']],
    ['[payouts-admins]', ['admin']],
    ['[payouts-viewer]', ['viewer']],
    ['[payouts-finance payouts-viewer]', ['viewer', 'finance']],
    ['[payouts-program-managers payouts-finance]', ['program_manager', 'finance']],
    ['[payouts-finance,payouts-admins]', undefined],
    ['[payouts-finance, managers]', ['admin']],
    ['[other-group]', undefined],
  ])('groups %s → roles %j', (groups, roles) => {
    const caller = callerFromClaims(cognito({ 'cognito:groups': groups }));
    expect(caller?.roles).toEqual(roles);
    if (roles) expect(caller).toMatchObject({ role: 'manager', subject: 'u-1' });
  });

  it('ignores the external claims (role, roles, partner_id) and reads custom:partner_id', () => {
    expect(callerFromClaims(cognito({ role: 'manager' }))).toBeUndefined();
    expect(callerFromClaims(cognito({ roles: '[admin]' }))).toBeUndefined();
    expect(callerFromClaims(cognito({ role: 'partner', partner_id: 'pt_1' }))).toBeUndefined();
    expect(callerFromClaims(cognito({ 'custom:partner_id': 'pt_1' }))).toEqual({
      role: 'partner',
      subject: 'u-1',
      roles: [],
      partnerId: 'pt_1',
    });
  });
});

describe('external issuer tokens', () => {
  it('role manager means admin; roles name the roles; unknown roles are dropped', () => {
    expect(callerFromClaims(external({ role: 'manager' }))?.roles).toEqual(['admin']);
    expect(callerFromClaims(external({ roles: '[finance viewer]' }))?.roles).toEqual(['viewer', 'finance']);
    expect(callerFromClaims(external({ roles: ['program_manager'] }))?.roles).toEqual(['program_manager']);
    expect(callerFromClaims(external({ roles: '[root]' }))).toBeUndefined();
    expect(callerFromClaims(external({ roles: '[finance,admin]' }))).toBeUndefined();
  });

  it('ignores Cognito claims', () => {
    expect(callerFromClaims(external({ 'cognito:groups': '[managers]' }))).toBeUndefined();
    expect(callerFromClaims(external({ 'custom:partner_id': 'pt_1' }))).toBeUndefined();
    expect(callerFromClaims(external({ role: 'partner', partner_id: 'pt_1' }))).toMatchObject({
      role: 'partner',
      partnerId: 'pt_1',
    });
  });

  it('reads the configured claim names', () => {
    const names = { role: 'https://example.com/role', roles: 'groups', partnerId: 'https://example.com/pid' };
    expect(callerFromClaims(external({ groups: '[finance]' }), names)?.roles).toEqual(['finance']);
    expect(callerFromClaims(external({ roles: '[finance]' }), names)).toBeUndefined();
    expect(
      callerFromClaims(
        external({ 'https://example.com/role': 'partner', 'https://example.com/pid': 'pt_9' }),
        names,
      ),
    ).toMatchObject({ role: 'partner', partnerId: 'pt_9' });
    expect(DEFAULT_CLAIM_NAMES).toEqual({ role: 'role', roles: 'roles', partnerId: 'partner_id' });
  });
});

describe('authorize', () => {
  const spec = (permission: RouteSpec['permission'], access: RouteSpec['access'] = 'manager') => ({
    access,
    permission,
  });
  it('checks the permission against the roles', () => {
    expect(authorize(spec('finance'), external({ roles: '[finance]' }))?.roles).toEqual(['finance']);
    expect(() => authorize(spec('manage'), external({ roles: '[finance]' }))).toThrow(
      /program_manager or admin/,
    );
    expect(() => authorize(spec('read'), external({ role: 'partner', partner_id: 'p' }))).toThrow(/managers/);
    expect(() => authorize(spec('partner', 'partner'), external({ role: 'manager' }))).toThrow(/partners/);
    expect(() => authorize(spec('read'), { role: 'manager' })).toThrow(
      expect.objectContaining({ status: 401 }),
    );
    expect(() => authorize(spec('read'), undefined)).toThrow(expect.objectContaining({ status: 401 }));
  });

  it('puts the user and roles on the actor', () => {
    const caller = authorize(spec('read'), external({ roles: '[viewer finance]' }));
    expect(caller && actorOf(caller)).toEqual({ role: 'manager', id: 'u-2', roles: ['viewer', 'finance'] });
  });

  it('admin holds every permission; each other role is refused somewhere', () => {
    for (const permission of ['read', 'manage', 'manage_or_finance', 'finance', 'admin'] as const) {
      expect(allows(permission, ['admin'])).toBe(true);
    }
    expect(allows('finance', ['program_manager'])).toBe(false);
    expect(allows('manage_or_finance', ['finance'])).toBe(true);
    expect(allows('read', ['viewer'])).toBe(true);
    expect(allows('manage', ['viewer'])).toBe(false);
    expect(Object.keys(PERMISSIONS)).toContain('admin');
    expect(MANAGER_ROLES).toEqual(['viewer', 'program_manager', 'finance', 'admin']);
  });

  it('every route of the catalogue declares a permission that fits its access', () => {
    for (const [name, route] of Object.entries(ROUTES) as [string, RouteSpec][]) {
      expect([name, permissionFits(route)]).toEqual([name, true]);
    }
  });
});
