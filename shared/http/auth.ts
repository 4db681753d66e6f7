/**
 * Who is calling: the JWT claims that API Gateway's authorizer (or the local server) verified, read
 * per issuer. A Cognito user pool token is read by its own claims only (`cognito:groups`,
 * `custom:partner_id`); a token of an external issuer by the claim names its configuration gives
 * (../config/auth.ts: `role`, `roles`, `partner_id` by default). Then the route's permission
 * (../domain/roles.ts) decides.
 */
import { type ExternalClaimNames, externalClaimNames } from '../config/auth.ts';
import { Forbidden, Unauthorized } from '../domain/errors.ts';
import {
  allows,
  holdersOf,
  type ManagerRole,
  normalizeRoles,
  type Permission,
  ROLE_GROUPS,
} from '../domain/roles.ts';
import type { Actor } from '../domain/schemas.ts';
import type { Access } from './route-spec.ts';

/** A manager: the token's subject (the user) and their roles (at least one). */
export interface ManagerCaller {
  role: 'manager';
  subject: string;
  roles: ManagerRole[];
  partnerId?: undefined;
}

/** A partner user: the token's subject and the partner they act for. */
export interface PartnerCaller {
  role: 'partner';
  subject: string;
  roles: [];
  partnerId: string;
}

export type Caller = ManagerCaller | PartnerCaller;

/** The caller a route of this access is called by (authorize() refuses every other). */
export type CallerOf<A extends Access> = A extends 'partner'
  ? PartnerCaller
  : A extends 'manager'
    ? ManagerCaller
    : undefined;

type ClaimValue = string | number | boolean | string[] | undefined;
export type Claims = Record<string, ClaimValue>;

/** `https://cognito-idp.<region>.amazonaws.com/<poolId>` */
const COGNITO_ISSUER = /^https:\/\/cognito-idp\.[a-z0-9-]+\.amazonaws\.com\/[\w-]+$/;

/**
 * An array claim: an array locally, and `[a b]` through API Gateway's HTTP API, which renders arrays
 * space-separated in brackets. Split on whitespace only: a comma belongs to the name.
 */
export function arrayClaim(value: ClaimValue): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string' || value === '') return [];
  const bracketed = /^\[(.*)\]$/s.exec(value);
  if (!bracketed) return [value];
  return (bracketed[1] ?? '').split(/\s+/).filter(Boolean);
}

function stringClaim(value: ClaimValue): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function isCognitoIssuer(claims: Claims): boolean {
  return typeof claims.iss === 'string' && COGNITO_ISSUER.test(claims.iss);
}

/** The caller a token describes, or undefined when it names no known role. */
export function callerFromClaims(
  claims: Claims | undefined,
  names: ExternalClaimNames = externalClaimNames,
): Caller | undefined {
  if (!claims) return undefined;
  const subject = stringClaim(claims.sub) ?? '';
  let roles: ManagerRole[];
  let partnerId: string | undefined;
  let isPartner: boolean;
  if (isCognitoIssuer(claims)) {
    roles = normalizeRoles(
      arrayClaim(claims['cognito:groups']).flatMap((group) => {
        const role = ROLE_GROUPS[group];
        return role ? [role] : [];
      }),
    );
    partnerId = stringClaim(claims['custom:partner_id']);
    isPartner = partnerId !== undefined;
  } else {
    const role = stringClaim(claims[names.role]);
    roles = normalizeRoles([...arrayClaim(claims[names.roles]), ...(role === 'manager' ? ['admin'] : [])]);
    partnerId = stringClaim(claims[names.partnerId]);
    isPartner = role === 'partner' && partnerId !== undefined;
  }
  if (roles.length > 0) return { role: 'manager', subject, roles };
  if (isPartner && partnerId) return { role: 'partner', subject, roles: [], partnerId };
  return undefined;
}

function describe(permission: Permission): string {
  return holdersOf(permission).join(' or ');
}

export function authorize(
  spec: { access: Access; permission: Permission },
  claims: Claims | undefined,
): Caller | undefined {
  if (spec.access === 'public') return undefined;
  if (!claims) throw new Unauthorized('A bearer token is required');
  const caller = callerFromClaims(claims);
  if (!caller) throw new Forbidden('The token carries no manager or partner role');
  if (!caller.subject) throw new Unauthorized('The token names no user (sub)');
  if (caller.role !== spec.access) throw new Forbidden(`This route is for ${spec.access}s`);
  if (caller.role === 'manager') {
    const permission = spec.permission;
    if (permission === 'public' || permission === 'partner' || !allows(permission, caller.roles)) {
      throw new Forbidden(`This route needs the role ${describe(permission)}`);
    }
  }
  return caller;
}

export function actorOf(caller: Caller): Actor {
  return caller.role === 'partner'
    ? { role: 'partner', id: caller.partnerId }
    : { role: 'manager', id: caller.subject, roles: caller.roles };
}
