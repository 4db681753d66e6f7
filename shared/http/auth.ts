/** Who is calling: the JWT claims that API Gateway's authorizer (or the local server) verified. */
import { Forbidden, Unauthorized } from '../domain/errors.ts';
import type { Actor } from '../domain/schemas.ts';
import type { Access } from './routes.ts';

export interface Caller {
  role: 'manager' | 'partner';
  /** The token's subject. */
  subject: string;
  /** Set for partners. */
  partnerId?: string;
}

type Claims = Record<string, string | number | boolean | string[] | undefined>;

/** `cognito:groups` reaches a Lambda as an array locally, and as "[a b]" through API Gateway. */
function groups(value: Claims[string]): string[] {
  if (Array.isArray(value)) return value;
  if (typeof value !== 'string') return [];
  return value
    .replace(/^\[|\]$/g, '')
    .split(/[\s,]+/)
    .filter(Boolean);
}

export function callerFromClaims(claims: Claims | undefined): Caller | undefined {
  if (!claims) return undefined;
  const subject = String(claims.sub ?? '');
  if (claims.role === 'manager' || groups(claims['cognito:groups']).includes('managers')) {
    return { role: 'manager', subject };
  }
  const partnerId = claims.partner_id ?? claims['custom:partner_id'];
  if (
    (claims.role === 'partner' || claims['custom:partner_id'] !== undefined) &&
    typeof partnerId === 'string' &&
    partnerId
  ) {
    return { role: 'partner', subject, partnerId };
  }
  return undefined;
}

export function authorize(access: Access, claims: Claims | undefined): Caller | undefined {
  if (access === 'public') return undefined;
  if (!claims) throw new Unauthorized('A bearer token is required');
  const caller = callerFromClaims(claims);
  if (!caller) throw new Forbidden('The token carries no manager or partner role');
  if (caller.role !== access) throw new Forbidden(`This route is for ${access}s`);
  return caller;
}

export function actorOf(caller: Caller): Actor {
  return {
    role: caller.role,
    id: caller.role === 'partner' ? (caller.partnerId ?? caller.subject) : caller.subject,
  };
}
