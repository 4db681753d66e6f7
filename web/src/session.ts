/**
 * Who is signed in: the bearer token (locally minted, or the Cognito ID token) and what it says —
 * manager (`role: manager`, a `roles` claim, or a Cognito group `managers` / `payouts-*`) or partner
 * (`partner_id` / `custom:partner_id`), and a manager's roles (viewer, program_manager, finance,
 * admin), which decide what the console shows (../roles.ts); the API decides what is allowed (403).
 * Kept in sessionStorage: closing the tab signs out.
 */
import { decodeJwt } from 'jose';

export type Role = 'manager' | 'partner';

export const MANAGER_ROLES = ['viewer', 'program_manager', 'finance', 'admin'] as const;
export type ManagerRole = (typeof MANAGER_ROLES)[number];

/** The Cognito groups that grant a role (as the API reads them); `managers` is the original group: admin. */
const ROLE_GROUPS: Record<string, ManagerRole> = {
  'payouts-viewer': 'viewer',
  'payouts-program-managers': 'program_manager',
  'payouts-finance': 'finance',
  'payouts-admins': 'admin',
  managers: 'admin',
};

export interface Session {
  token: string;
  role: Role;
  /** A manager's roles; empty for a partner. */
  roles: ManagerRole[];
  /** The token's subject (the user). */
  user: string;
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
  const named = new Set<string>([
    ...(Array.isArray(claims.roles) ? claims.roles.map(String) : []),
    ...(claims.role === 'manager' ? ['admin'] : []),
    ...(Array.isArray(groups) ? groups.flatMap((group) => ROLE_GROUPS[String(group)] ?? []) : []),
  ]);
  const roles = MANAGER_ROLES.filter((role) => named.has(role));
  const isManager = roles.length > 0;
  const user = typeof claims.sub === 'string' ? claims.sub : '';
  const partnerId = claims.partner_id ?? claims['custom:partner_id'];
  const expiresAt = typeof claims.exp === 'number' ? claims.exp * 1000 : Date.now() + 3_600_000;
  const display = name ?? (typeof claims.email === 'string' ? claims.email : undefined);
  if (isManager) return { token, role: 'manager', roles, user, name: display ?? 'Manager', expiresAt };
  if (typeof partnerId === 'string' && partnerId)
    return { token, role: 'partner', roles: [], user, partnerId, name: display ?? partnerId, expiresAt };
  return undefined;
}

function load(): Session | undefined {
  try {
    const stored = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null;
    // What the token says is read again: the stored fields are only the name.
    return stored && stored.expiresAt > Date.now() ? sessionFromToken(stored.token, stored.name) : undefined;
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
