/**
 * A loopback stand-in for API Gateway (HTTP API) with its JWT authorizer: it matches the route
 * catalogue, verifies the bearer token, builds the HTTP API v2 event and calls the route group's
 * real Lambda handler.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  DomainError,
  NotFound,
  PayloadTooLarge,
  Unauthorized,
  ValidationFailed,
} from '#shared/domain/errors.ts';
import { problemResponse } from '#shared/http/problem.ts';
import { ROUTES, type RouteSpec, routeKey } from '#shared/http/routes.ts';
import { httpHandlerOf, invokeLocal } from './functions.ts';
import { type LoopbackHandler, listenLoopback } from './loopback.ts';
import type { Verifier } from './tokens.ts';

/** API Gateway accepts up to 10 MB; the handlers answer 413 above 256 KiB. Locally we stop reading at 1 MiB. */
const MAX_READ_BYTES = 1024 * 1024;

interface CompiledRoute {
  spec: RouteSpec;
  key: string;
  pattern: RegExp;
  params: string[];
}

const compiled: CompiledRoute[] = Object.values(ROUTES).map((spec: RouteSpec) => {
  const params: string[] = [];
  const source = spec.path
    .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
    .replace(/\\?\{(\w+)\\?\}|\{(\w+)\}/g, (_match, a, b) => {
      params.push(a ?? b);
      return '([^/]+)';
    });
  return { spec, key: routeKey(spec), pattern: new RegExp(`^${source}$`), params };
});

export function matchRoute(
  method: string,
  path: string,
): { route: CompiledRoute; params: Record<string, string> } | undefined {
  for (const route of compiled) {
    if (route.spec.method !== method) continue;
    const match = route.pattern.exec(path);
    if (!match) continue;
    const params: Record<string, string> = {};
    for (const [index, name] of route.params.entries()) {
      try {
        params[name] = decodeURIComponent(match[index + 1] ?? '');
      } catch {
        // A malformed % escape: API Gateway answers 400 before any function runs.
        throw new ValidationFailed('The path has a malformed percent-encoding', {
          errors: [{ path: name, message: 'malformed percent-encoding' }],
        });
      }
    }
    return { route, params };
  }
  return undefined;
}

export type ExtraRoute = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<boolean>;

function send(response: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  response.writeHead(result.statusCode ?? 200, { ...(result.headers as Record<string, string> | undefined) });
  response.end(result.body ?? '');
}

function sendProblem(response: ServerResponse, error: DomainError): void {
  send(response, problemResponse(error));
}

async function readBody(request: IncomingMessage): Promise<Buffer | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_READ_BYTES) return 'too_large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Claims as API Gateway hands them to a Lambda: strings, arrays as "[a b]". */
function gatewayClaims(payload: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(payload).map(([name, value]) => [
      name,
      Array.isArray(value) ? `[${value.join(' ')}]` : String(value),
    ]),
  );
}

export interface LocalApiGateway {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startApiGateway(options: {
  port: number;
  verify: Verifier;
  extraRoutes?: ExtraRoute[];
  log?: (line: string) => void;
}): Promise<LocalApiGateway> {
  const handle: LoopbackHandler = async (request, response) => {
    const started = Date.now();
    try {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      for (const extra of options.extraRoutes ?? []) {
        if (await extra(request, response, url)) return;
      }
      const method = request.method ?? 'GET';
      let matched: ReturnType<typeof matchRoute>;
      try {
        matched = matchRoute(method, url.pathname);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        sendProblem(response, error);
        return;
      }
      if (!matched) {
        sendProblem(response, new NotFound(`No route ${method} ${url.pathname}`));
        return;
      }
      const { route, params } = matched;
      let claims: Record<string, string> | undefined;
      if (route.spec.access !== 'public') {
        const authorization = request.headers.authorization ?? '';
        const token = /^Bearer\s+(.+)$/i.exec(authorization)?.[1];
        const payload = token ? await options.verify(token.trim()) : undefined;
        if (!payload) {
          sendProblem(response, new Unauthorized('A valid bearer token is required'));
          return;
        }
        claims = gatewayClaims(payload as Record<string, unknown>);
      }
      const body = await readBody(request);
      if (body === 'too_large') {
        sendProblem(response, new PayloadTooLarge('The body is too large'));
        request.destroy();
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
      }
      const query: Record<string, string> = {};
      for (const [name, value] of url.searchParams)
        query[name] = name in query ? `${query[name]},${value}` : value;
      const now = new Date();
      const event: APIGatewayProxyEventV2WithJWTAuthorizer = {
        version: '2.0',
        routeKey: route.key,
        rawPath: url.pathname,
        rawQueryString: url.search.replace(/^\?/, ''),
        headers,
        ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
        ...(Object.keys(params).length ? { pathParameters: params } : {}),
        requestContext: {
          accountId: '000000000000',
          apiId: 'local',
          domainName: '127.0.0.1',
          domainPrefix: 'local',
          http: {
            method,
            path: url.pathname,
            protocol: 'HTTP/1.1',
            sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
            userAgent: headers['user-agent'] ?? '',
          },
          requestId: randomUUID(),
          routeKey: route.key,
          stage: '$default',
          time: now.toUTCString(),
          timeEpoch: now.getTime(),
          authorizer: { principalId: '', integrationLatency: 0, jwt: { claims: claims ?? {}, scopes: [] } },
        },
        ...(body.length ? { body: body.toString('utf8') } : {}),
        isBase64Encoded: false,
      };
      if (!claims) (event.requestContext as { authorizer?: unknown }).authorizer = undefined;
      const handler = await httpHandlerOf(route.spec.group);
      const result = (await invokeLocal(
        `partner-payouts-${route.spec.group}`,
        handler,
        event,
      )) as APIGatewayProxyStructuredResultV2;
      send(response, result);
      options.log?.(`${method} ${url.pathname} ${result.statusCode} ${Date.now() - started}ms`);
    } catch (error) {
      // Only a bug of the local server itself lands here.
      console.error(error);
      if (!response.headersSent) {
        response.writeHead(500, { 'content-type': 'application/problem+json' });
        response.end(
          JSON.stringify({
            type: 'about:blank',
            title: 'Internal error',
            status: 500,
            code: 'internal_error',
            detail: 'local server error',
          }),
        );
      }
    }
  };
  const loopback = await listenLoopback('the API', handle, { port: options.port });
  loopback.server.keepAliveTimeout = 5_000;
  return { url: loopback.endpoint, server: loopback.server, close: loopback.close };
}
