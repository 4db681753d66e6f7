/**
 * Who is signed in: the bearer token (locally minted, or the Cognito ID token) and what it says —
 * manager (`role: manager`, a `roles` claim, or a Cognito group `managers` / `payouts-*`) or partner
 * (`partner_id` / `custom:partner_id`). What a manager may do is the API's to decide (403).
 * Kept in sessionStorage: closing the tab signs out.
 */
import { decodeJwt } from 'jose';

export type Role = 'manager' | 'partner';

export interface Session {
  token: string;
  role: Role;
  partnerId?: string;
  name: string;
  expiresAt: number;
}

const KEY = 'partner-payouts.session';
type Listener = () => void;
const listeners = new Set<Listener>();

export function sessionFromToken(token: string, name?: string): Session | undefined {
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(token) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const groups = claims['cognito:groups'];
  const managerGroup = (group: unknown) =>
    group === 'managers' || (typeof group === 'string' && group.startsWith('payouts-'));
  const isManager =
    claims.role === 'manager' ||
    (Array.isArray(claims.roles) && claims.roles.length > 0) ||
    (Array.isArray(groups) && groups.some(managerGroup));
  const partnerId = claims.partner_id ?? claims['custom:partner_id'];
  const expiresAt = typeof claims.exp === 'number' ? claims.exp * 1000 : Date.now() + 3_600_000;
  const display = name ?? (typeof claims.email === 'string' ? claims.email : undefined);
  if (isManager) return { token, role: 'manager', name: display ?? 'Manager', expiresAt };
  if (typeof partnerId === 'string' && partnerId)
    return { token, role: 'partner', partnerId, name: display ?? partnerId, expiresAt };
  return undefined;
}

function load(): Session | undefined {
  try {
    const stored = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null;
    return stored && stored.expiresAt > Date.now() ? stored : undefined;
  } catch {
    return undefined;
  }
}

export const session: { current: Session | undefined; notice: string | undefined } = {
  current: load(),
  notice: undefined,
};

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function changed(): void {
  for (const listener of listeners) listener();
}

export function signIn(next: Session): void {
  session.current = next;
  session.notice = undefined;
  sessionStorage.setItem(KEY, JSON.stringify(next));
  changed();
}

export function signOut(notice?: string): void {
  if (!session.current) return;
  session.current = undefined;
  session.notice = notice;
  sessionStorage.removeItem(KEY);
  changed();
}
