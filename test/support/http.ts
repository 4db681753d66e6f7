/**
 * Calls a route group's real Lambda handler with an HTTP API v2 event, as API Gateway would after
 * its JWT authorizer accepted the token.
 */
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { matchRoute } from '../../infra/local/api-gateway.ts';
import { httpHandlerOf, lambdaContext } from '../../infra/local/functions.ts';
import { callingGroup, recordTableAccess } from './access.ts';
import { contract, pendingViolations } from './contract.ts';

export type As =
  | { role: 'manager'; roles?: readonly string[]; user?: string }
  | { role: 'partner'; partnerId: string }
  | { role: 'none' }
  | { claims: Record<string, string> };

/** `role: "manager"`: an admin, as every manager was before roles. */
export const manager: As = { role: 'manager' };
/** A manager with these roles (a `roles` array claim) and user id. */
export const managerAs = (roles: readonly string[], user = `user-${roles.join('-')}`): As => ({
  role: 'manager',
  roles,
  user,
});
/** A Cognito user pool token: only `cognito:groups` (rendered "[a b]") and `custom:partner_id` count. */
export const COGNITO_ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example1';
export const cognito = (sub: string, claims: { groups?: string[]; partnerId?: string }): As => ({
  claims: {
    iss: COGNITO_ISSUER,
    sub,
    token_use: 'id',
    ...(claims.groups ? { 'cognito:groups': `[${claims.groups.join(' ')}]` } : {}),
    ...(claims.partnerId ? { 'custom:partner_id': claims.partnerId } : {}),
  },
});
export const partner = (partnerId: string): As => ({ role: 'partner', partnerId });
export const anonymous: As = { role: 'none' };

export interface CallOptions {
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  /** The invocation's time budget (the Lambda context's deadline); 30 s like API Gateway by default. */
  timeoutMs?: number;
}

export interface CallResult {
  status: number;
  headers: Record<string, string>;
  body: any;
}

function claimsOf(as: As): Record<string, string> | undefined {
  if ('claims' in as) return as.claims;
  if (as.role === 'manager') {
    // Arrays reach the Lambda as API Gateway renders them: "[a b]".
    return as.roles
      ? { sub: as.user ?? 'manager-1', roles: `[${as.roles.join(' ')}]` }
      : { sub: as.user ?? 'manager-1', role: 'manager' };
  }
  if (as.role === 'partner')
    return { sub: `partner:${as.partnerId}`, role: 'partner', partner_id: as.partnerId };
  return undefined;
}

export async function call(
  as: As,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<CallResult> {
  const matched = matchRoute(method, path);
  if (!matched) throw new Error(`No route for ${method} ${path}`);
  const claims = claimsOf(as);
  const headers: Record<string, string> = {
    ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...options.headers,
  };
  const event = {
    version: '2.0',
    routeKey: matched.route.key,
    rawPath: path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers,
    queryStringParameters: options.query,
    pathParameters: Object.keys(matched.params).length ? matched.params : undefined,
    requestContext: {
      routeKey: matched.route.key,
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      ...(claims ? { authorizer: { jwt: { claims, scopes: [] } } } : {}),
    },
    body: options.rawBody ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
  const handler = await httpHandlerOf(matched.route.spec.group);
  recordTableAccess();
  const result = (await callingGroup.run(matched.route.spec.group, () =>
    handler(event, lambdaContext(`test-${matched.route.spec.group}`, options.timeoutMs)),
  )) as APIGatewayProxyStructuredResultV2;
  const text = result.body ?? '';
  const response = {
    status: result.statusCode ?? 200,
    headers: (result.headers ?? {}) as Record<string, string>,
    body: text ? JSON.parse(text) : undefined,
  };
  // Every response keeps the OpenAPI contract (test/support/contract.ts), or the test fails here.
  const violations = contract().check({ method, route: matched.route.spec.path, ...response });
  if (violations.length > 0) {
    pendingViolations.push(...violations);
    throw new Error(`The response breaks the OpenAPI contract:\n${violations.join('\n')}`);
  }
  return response;
}
