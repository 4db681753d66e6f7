/**
 * Who may do what: the manager roles a token carries, and the permission each route needs. Pure: the
 * route catalogue declares a permission per route (../http/route-spec.ts), the handler checks it
 * (../http/auth.ts), the OpenAPI document shows it.
 */

export const MANAGER_ROLES = ['viewer', 'program_manager', 'finance', 'admin'] as const;
export type ManagerRole = (typeof MANAGER_ROLES)[number];

/**
 * What a route needs. `public`: nobody; `partner`: a partner token. The manager permissions name the
 * roles that hold them; `admin` holds every one.
 */
export const PERMISSIONS = {
  public: [],
  partner: [],
  /** Reads of the console. */
  read: ['viewer', 'program_manager', 'finance', 'admin'],
  /** Partners, rewards, drafts, validation, invoices, drafting runs. */
  manage: ['program_manager', 'admin'],
  /** Cancelling a payout, placing and resolving holds. */
  manage_or_finance: ['program_manager', 'finance', 'admin'],
  /** Approvals, exports, bank reports, mark paid / failed, void, reissue. */
  finance: ['finance', 'admin'],
  /** Webhooks and settings. */
  admin: ['admin'],
} as const satisfies Record<string, readonly ManagerRole[]>;
export type Permission = keyof typeof PERMISSIONS;
export type ManagerPermission = Exclude<Permission, 'public' | 'partner'>;

export function isManagerRole(value: string): value is ManagerRole {
  return (MANAGER_ROLES as readonly string[]).includes(value);
}

/** Whether a manager with these roles holds the permission. */
export function allows(permission: ManagerPermission, roles: readonly ManagerRole[]): boolean {
  const holders: readonly ManagerRole[] = PERMISSIONS[permission];
  return roles.some((role) => holders.includes(role));
}

/** The roles that hold a permission, for documentation ("finance or admin"). */
export function holdersOf(permission: Permission): readonly ManagerRole[] {
  return PERMISSIONS[permission];
}

/** Cognito groups that grant a manager role; `managers` (the original group) means admin. */
export const ROLE_GROUPS: Record<string, ManagerRole> = {
  'payouts-viewer': 'viewer',
  'payouts-program-managers': 'program_manager',
  'payouts-finance': 'finance',
  'payouts-admins': 'admin',
  managers: 'admin',
};

/** Known roles first-seen order, duplicates and unknown names dropped. */
export function normalizeRoles(names: Iterable<string>): ManagerRole[] {
  const seen = new Set<ManagerRole>();
  for (const name of names) if (isManagerRole(name)) seen.add(name);
  return MANAGER_ROLES.filter((role) => seen.has(role));
}
