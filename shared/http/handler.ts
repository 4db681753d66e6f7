/**
 * Builds a route group's Lambda handler from the route catalogue: middy with the Powertools
 * middlewares, then for each request: route lookup, authorization, content-type and size checks,
 * schema validation, `Idempotency-Key` replay, one use case, and typed errors → problem+json.
 */
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import type * as z from 'zod/mini';
import { logger } from '../adapters/observability.ts';
import {
  Conflict,
  DomainError,
  IdempotencyKeyReused,
  NotFound,
  PayloadTooLarge,
  UnsupportedMediaType,
  ValidationFailed,
} from '../domain/errors.ts';
import { type IdKind, isId } from '../domain/ids.ts';
import { actorOf, authorize, type Caller, type CallerOf } from './auth.ts';
import { internalErrorResponse, problemResponse, validationError } from './problem.ts';
import { permissionFits, type RouteSpec, type RouteTable, routeKey } from './route-spec.ts';

export const MAX_BODY_BYTES = 256 * 1024;

export type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;

type Out<S> = S extends z.ZodMiniType ? z.output<S> : undefined;

/** The parameter names of a path: `/payouts/{id}/rewards/{rewardId}` → `'id' | 'rewardId'`. */
export type PathParamNames<P extends string> = P extends `${string}{${infer Name}}${infer Rest}`
  ? Name | PathParamNames<Rest>
  : never;

/** A route's path parameters, each a string: API Gateway only matches a route when all are present. */
export type PathParams<P extends string> = { [Name in PathParamNames<P>]: string };

export interface Request<R extends RouteSpec> {
  body: Out<R['body']>;
  query: Out<R['query']>;
  params: PathParams<R['path']>;
  caller: CallerOf<R['access']>;
  actor: R['access'] extends 'public' ? undefined : ReturnType<typeof actorOf>;
  ifMatch: number | undefined;
  /** The request's Idempotency-Key (POST), scoped to its caller and route: for use cases that resume. */
  requestKey: string | undefined;
}

export interface Reply {
  status?: number;
  body: unknown;
}

export type Implementations<R extends RouteTable> = {
  [K in keyof R]: (request: Request<R[K]>) => Promise<Reply>;
};

type AnyImplementation = (request: Request<RouteSpec>) => Promise<Reply>;

function header(event: HttpEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

function readBody(event: HttpEvent, spec: RouteSpec): unknown {
  const raw = event.body
    ? event.isBase64Encoded
      ? Buffer.from(event.body, 'base64').toString('utf8')
      : event.body
    : '';
  if (Buffer.byteLength(raw) > MAX_BODY_BYTES)
    throw new PayloadTooLarge(`The body is over ${MAX_BODY_BYTES} bytes`);
  if (!spec.body) {
    if (raw.trim() !== '')
      throw new ValidationFailed('This route takes no body', {
        errors: [{ path: '(body)', message: 'must be empty' }],
      });
    return undefined;
  }
  if (raw.trim() === '') return {};
  const contentType = header(event, 'content-type') ?? '';
  if (!/^application\/(.+\+)?json\s*(;|$)/i.test(contentType)) {
    throw new UnsupportedMediaType('Send the body as application/json');
  }
  try {
    return JSON.parse(raw);
  } catch {
    throw new ValidationFailed('The body is not valid JSON', {
      errors: [{ path: '(body)', message: 'malformed JSON' }],
    });
  }
}

/** Which id kind a path parameter holds: by the collection segment before it (or its own name). */
const PATH_ID_KINDS: Record<string, IdKind> = {
  partners: 'partner',
  rewards: 'reward',
  payouts: 'payout',
  exports: 'export',
  'payout-runs': 'run',
  'bank-reports': 'bankReport',
};

/**
 * The route's path parameters, each present (API Gateway matches no route without them) and every
 * id matching its kind's pattern: one that cannot exist is a 404 like an unknown one (and never
 * reaches DynamoDB, whose key size limit would make a long one a 500).
 */
export function readPathParams(
  path: string,
  params: Record<string, string | undefined>,
): Record<string, string> {
  const checked: Record<string, string> = {};
  const segments = path.split('/');
  for (const [index, segment] of segments.entries()) {
    const name = /^\{(\w+)\}$/.exec(segment)?.[1];
    if (!name) continue;
    const kind =
      name === 'rewardId' ? 'reward' : name === 'id' ? PATH_ID_KINDS[segments[index - 1] ?? ''] : undefined;
    const value = params[name] ?? '';
    if (kind && !isId(kind, value)) {
      throw new NotFound(`No ${kind} ${value.length > 40 ? `${value.slice(0, 40)}…` : value}`);
    }
    checked[name] = value;
  }
  return checked;
}

/**
 * DynamoDB refusing a write for its size or shape (an item over 400 KB, a key over its limit) is the
 * request's fault, never a 500.
 */
function storageRefusal(error: unknown): DomainError | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'ItemCollectionSizeLimitExceededException') {
    return new PayloadTooLarge('The payout cannot hold more data');
  }
  if (error.name === 'ValidationException' && 'name' in error) {
    return /size/i.test(error.message)
      ? new PayloadTooLarge('The request would make a stored item too large')
      : new ValidationFailed('The request cannot be stored as sent', {
          errors: [{ path: '(request)', message: 'refused by the database' }],
        });
  }
  return undefined;
}

function parseIfMatch(event: HttpEvent, spec: RouteSpec): number | undefined {
  const value = header(event, 'if-match');
  if (value === undefined || !spec.ifMatch) return undefined;
  const version = Number(value.replace(/^W\//, '').replace(/"/g, ''));
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new ValidationFailed('If-Match must be a payout version', {
      errors: [{ path: 'If-Match', message: 'must be a positive integer' }],
    });
  }
  return version;
}

// ------------------------------------------------------------------ idempotency

interface ReplayInput {
  key: string;
  request: unknown;
  run: () => Promise<Reply>;
}

let replayable: ((input: ReplayInput) => Promise<Reply>) | undefined;

/** Powertools idempotency over DynamoDB, built on first use (most requests carry no key). */
let replayConfig: IdempotencyConfig | undefined;

function replayer(context: Context): (input: ReplayInput) => Promise<Reply> {
  replayConfig ??= new IdempotencyConfig({
    eventKeyJmesPath: 'key',
    payloadValidationJmesPath: 'request',
    expiresAfterSeconds: 24 * 60 * 60,
  });
  // With the context, a request that timed out mid-way releases its key instead of holding it.
  replayConfig.registerLambdaContext(context);
  replayable ??= makeIdempotent(async (input: ReplayInput): Promise<Reply> => input.run(), {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: process.env.IDEMPOTENCY_TABLE_NAME ?? 'idempotency',
    }),
    keyPrefix: 'http',
    config: replayConfig,
  });
  return replayable;
}

/** Whose keys these are: `public:`, `partner:<partnerId>` or `manager:<subject>`. */
function callerScope(caller: Caller | undefined): string {
  if (!caller) return 'public:';
  return caller.role === 'partner' ? `partner:${caller.partnerId}` : `manager:${caller.subject}`;
}

function requestKeyOf(event: HttpEvent, spec: RouteSpec, caller: Caller | undefined): string | undefined {
  const key = header(event, 'idempotency-key');
  if (key === undefined || spec.method !== 'POST' || key.length < 1 || key.length > 255) return undefined;
  return `${callerScope(caller)}:${event.routeKey}:${key}`;
}

async function withIdempotency(
  context: Context,
  event: HttpEvent,
  spec: RouteSpec,
  caller: Caller | undefined,
  body: unknown,
  run: () => Promise<Reply>,
): Promise<Reply> {
  const key = header(event, 'idempotency-key');
  if (key === undefined || spec.method !== 'POST') return run();
  if (key.length < 1 || key.length > 255) {
    throw new ValidationFailed('Idempotency-Key must be 1 to 255 characters', {
      errors: [{ path: 'Idempotency-Key', message: 'invalid length' }],
    });
  }
  const scope = `${callerScope(caller)}:${event.routeKey}:${JSON.stringify(event.pathParameters ?? {})}`;
  try {
    return await replayer(context)({ key: `${scope}:${key}`, request: body ?? null, run });
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'IdempotencyValidationError') {
      throw new IdempotencyKeyReused('This Idempotency-Key was used with another request body');
    }
    if (name === 'IdempotencyAlreadyInProgressError') {
      throw new Conflict('A request with this Idempotency-Key is still in progress; retry shortly');
    }
    throw error;
  }
}

// ------------------------------------------------------------------ the handler

export function jsonResponse(status: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  if (status === 204) return { statusCode: 204 };
  return { statusCode: status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The Lambda handler of one function's routes (./routes/<group>.ts). */
export function httpHandler<R extends RouteTable>(routes: R, implementations: Implementations<R>) {
  const table = new Map<string, { spec: RouteSpec; run: AnyImplementation }>();
  for (const [name, spec] of Object.entries(routes)) {
    const run = (implementations as unknown as Record<string, AnyImplementation>)[name];
    if (!run) throw new Error(`Route ${name} of ${spec.group} has no implementation`);
    if (!permissionFits(spec))
      throw new Error(`Route ${name}: permission ${spec.permission} does not fit ${spec.access}`);
    table.set(routeKey(spec), { spec, run });
  }

  const handle = async (event: HttpEvent, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const route = table.get(event.routeKey);
    try {
      if (!route) throw new NotFound(`No route ${event.routeKey}`);
      const { spec, run } = route;
      const caller = authorize(spec, event.requestContext?.authorizer?.jwt?.claims);
      const params = readPathParams(spec.path, event.pathParameters ?? {});
      const rawBody = readBody(event, spec);
      const body = spec.body ? spec.body.safeParse(rawBody) : undefined;
      if (body && !body.success) throw validationError(body.error, 'body');
      const query = spec.query ? spec.query.safeParse(event.queryStringParameters ?? {}) : undefined;
      if (query && !query.success) throw validationError(query.error, 'query');
      if (!spec.query && Object.keys(event.queryStringParameters ?? {}).length > 0) {
        throw new ValidationFailed('This route takes no query parameters', {
          errors: [{ path: 'query', message: 'unexpected' }],
        });
      }
      const request = {
        body: body?.data,
        query: query?.data,
        params,
        caller,
        actor: caller ? actorOf(caller) : undefined,
        ifMatch: parseIfMatch(event, spec),
        requestKey: requestKeyOf(event, spec, caller),
      } as Request<RouteSpec>;
      const reply = await withIdempotency(context, event, spec, caller, rawBody, () => run(request));
      return jsonResponse(reply.status ?? spec.status, reply.body);
    } catch (error) {
      if (error instanceof DomainError) {
        return problemResponse(error);
      }
      const refusal = storageRefusal(error);
      if (refusal) {
        logger.warn('The database refused the request', { error, routeKey: event.routeKey });
        return problemResponse(refusal);
      }
      logger.error('Unhandled error', { error, routeKey: event.routeKey });
      return internalErrorResponse();
    }
  };

  return middy<HttpEvent, APIGatewayProxyStructuredResultV2, Error, Context>(handle).use(
    injectLambdaContext(logger, { resetKeys: true }),
  );
}
