/**
 * What a route is: its method and path, the function (group) that serves it, who may call it, the
 * schemas of its input and the name of the resource it answers with. Each function's routes are in
 * ./routes/<group>.ts, which is all its bundle carries; ./routes.ts joins them into the catalogue the
 * CDK API, the local server and the OpenAPI document are built from.
 */
import type { ResourceName } from '../domain/resources.ts';
import type { Permission } from '../domain/roles.ts';
import type { Schema } from '../domain/schemas.ts';

export const FUNCTION_GROUPS = [
  'health',
  'partners',
  'rewards',
  'payouts',
  'partner-payouts',
  'payout-runs',
  'exports',
  'holds',
  'bank-reports',
  'webhooks',
] as const;
export type FunctionGroup = (typeof FUNCTION_GROUPS)[number];

export type Access = 'public' | 'manager' | 'partner';
export type { Permission } from '../domain/roles.ts';
export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RouteSpec {
  method: Method;
  path: string;
  group: FunctionGroup;
  access: Access;
  /**
   * What the caller needs (../domain/roles.ts): `public`, `partner`, or the manager permission
   * (`read`, `manage`, `manage_or_finance`, `finance`, `admin`). Required: a route that does not say
   * who may call it does not type-check.
   */
  permission: Permission;
  summary: string;
  body?: Schema;
  query?: Schema;
  status: number;
  /** Other success statuses it answers with the same resource, and when (documented like `status`). */
  otherStatuses?: Record<number, string>;
  /**
   * Error statuses it can answer beyond the defaults of its method (../http/openapi.ts `ERRORS`):
   * e.g. 409 for a GET whose answer depends on the payout's status, 429 where it is rate limited.
   */
  moreErrors?: readonly (409 | 422 | 429)[];
  /**
   * The resource it answers with (`paged`: a page of them), by name: responses are documented, not
   * parsed, so no function bundles their schemas (../domain/resources.ts).
   */
  response: ResourceName;
  paged?: boolean;
  /** Answers 422 business-rule codes though it is not a POST (POSTs always may). */
  rules?: boolean;
  /** Transitions accept `If-Match: <version>`. */
  ifMatch?: boolean;
}

/** The routes of one function, by operation name. */
export type RouteTable = Record<string, RouteSpec>;

export const route = <const R extends RouteSpec>(spec: R): R => spec;

/** `public` routes need `public`, partner routes `partner`, manager routes a manager permission. */
export function permissionFits(spec: Pick<RouteSpec, 'access' | 'permission'>): boolean {
  if (spec.access === 'public' || spec.access === 'partner') return spec.permission === spec.access;
  return spec.permission !== 'public' && spec.permission !== 'partner';
}

export function routeKey(spec: Pick<RouteSpec, 'method' | 'path'>): string {
  return `${spec.method} ${spec.path}`;
}
