/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route catalogue (./routes.ts) and the
 * zod schemas (../domain/schemas.ts). Nothing here names a route: a route added to ROUTES shows up in
 * the document as it is.
 *
 * zod-to-openapi (`OpenAPIRegistry` + `OpenApiGeneratorV31`) assembles the document: paths,
 * operations, parameters, responses, components, security. The JSON Schemas of bodies, responses and
 * query parameters come from zod's own `z.toJSONSchema` with `io: 'input'`, because zod-to-openapi 9
 * mistranslates `.nullable()` on a named schema (`PayoutMethod.nullable()` becomes a bare `$ref`, or
 * an `allOf` that rejects `null`; see asteasolutions/zod-to-openapi#248 and #387), which would
 * document `Partner.payoutMethod` as never null. `io: 'input'` describes what a request may send:
 * transforms by their input (an IBAN is a string), defaults as optional, strict objects closed.
 */
import {
  OpenAPIRegistry,
  OpenApiGeneratorV31,
  type ResponseConfig,
  type RouteConfig,
  type ZodMediaTypeObject,
} from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { Problem, page, RESOURCES } from '../domain/resources.ts';
import { holdersOf } from '../domain/roles.ts';
import { PROBLEM_CONTENT_TYPE } from './problem.ts';
import { FUNCTION_GROUPS, type FunctionGroup, ROUTES, type RouteSpec } from './routes.ts';

export const OPENAPI_VERSION = '3.1.0';
export const SECURITY_SCHEME = 'bearerAuth';
const SCHEMA_REF_PREFIX = '#/components/schemas/';

type SchemaObject = Exclude<ZodMediaTypeObject['schema'], z.ZodType | undefined>;
/** zod-to-openapi types parameters as a union over OpenAPI 3.0/3.1/3.2; ours are 3.1. */
type Parameters = RouteConfig['parameters'];
type Json = Record<string, unknown>;

const GROUP_DESCRIPTIONS: Record<FunctionGroup, string> = {
  health: 'Liveness',
  partners: 'Partners, and the calling partner’s own profile',
  rewards: 'Rewards (commissions and clawbacks) of partners',
  payouts: 'Payouts as the manager drafts, validates, pays or cancels them',
  'partner-payouts': 'A partner’s own payouts: invoice, reward review, validation',
  'payout-runs': 'Drafting runs: every partner’s due rewards become draft payouts',
  exports: 'Exports of ready payouts as payment files (CSV, PayPal, Wise, SEPA pain.001)',
  holds: 'Holds on partners, payouts and rewards: money stopped before it leaves',
  'bank-reports':
    'Bank reports (pain.002, camt.054, camt.053) that settle exported payouts as paid or failed',
  webhooks: 'Signed webhooks (Standard Webhooks) to integrators: endpoints, delivery log, replay',
};

/** Which error statuses a route can answer, and what they mean (api.md "Errors"). */
const ERRORS: { status: number; applies: (spec: RouteSpec) => boolean; description: string }[] = [
  {
    status: 400,
    applies: () => true,
    description:
      '`validation_failed`: malformed JSON, wrong types, unknown fields, bad query parameters or cursor; `errors` lists each field',
  },
  {
    status: 401,
    applies: (spec) => spec.access !== 'public',
    description: '`unauthorized`: no or invalid bearer token',
  },
  {
    status: 403,
    applies: (spec) => spec.access !== 'public',
    description: '`forbidden`: the token’s role may not call this route (see `x-roles`)',
  },
  {
    status: 404,
    applies: (spec) => pathParams(spec.path).length > 0 || spec.access === 'partner',
    description:
      '`not_found`: unknown id, or not visible to this caller (for a partner token: also a partner that does not exist)',
  },
  {
    status: 409,
    applies: (spec) => spec.method === 'POST' || spec.method === 'PATCH' || !!spec.moreErrors?.includes(409),
    description:
      '`invalid_transition` (not allowed in the current status), `conflict` (a concurrent change won), `on_hold` (a hold covers the target) or `idempotency_key_reused` (same key, other request)',
  },
  {
    status: 412,
    applies: (spec) => spec.ifMatch === true,
    description: '`precondition_failed`: `If-Match` names another version than the current one',
  },
  {
    status: 413,
    applies: () => true,
    description: '`payload_too_large`: body over 256 KiB',
  },
  {
    status: 415,
    applies: (spec) => spec.body !== undefined,
    description: '`unsupported_media_type`: a body that is not `application/json`',
  },
  {
    status: 422,
    applies: (spec) => spec.method === 'POST' || spec.rules === true || !!spec.moreErrors?.includes(422),
    description:
      'A business rule code, e.g. `rewards_not_reviewed`, `non_positive_amount`, `invoice_required`, `rewards_review_required`, `rewards_disputed`, `currency_mismatch`, `no_eligible_rewards`, `missing_payout_details`, `approval_required`, `same_user`',
  },
  {
    status: 429,
    applies: (spec) => !!spec.moreErrors?.includes(429),
    description: '`rate_limited`: too many such requests; retry after the `Retry-After` header’s seconds',
  },
];

const IdempotencyKey = z.string().min(1).max(255).optional().meta({
  description:
    'A retry with the same key and body gets the first response again (status and body), without acting twice',
  example: '6f1c2d9e-3b7a-4c1e-9a55-0d2f8e7b4c10',
});

const IfMatch = z.string().optional().meta({
  description: 'The payout `version` the change is based on (`3`, `"3"` or `W/"3"`); another one answers 412',
  example: '3',
});

/** `/payouts/{id}/rewards/{rewardId}` → `['id', 'rewardId']`. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] ?? '');
}

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep copy with every `#/$defs/X` reference pointing at `#/components/schemas/X`. */
function relocateRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(relocateRefs);
  if (!isJson(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === '$ref' && typeof inner === 'string'
        ? inner.replace(/^#\/\$defs\//, SCHEMA_REF_PREFIX)
        : relocateRefs(inner),
    ]),
  );
}

/**
 * Converts zod schemas to OpenAPI 3.1 schemas; every named schema (`.meta({ id })`) lands once in
 * `components` and is referenced from everywhere else.
 */
export class SchemaCollector {
  readonly components = new Map<string, Json>();

  convert(schema: z.core.$ZodType): Json {
    const generated = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io: 'input',
      unrepresentable: 'any',
      reused: 'inline',
      cycles: 'ref',
    }) as Json;
    const { $schema: _dialect, $defs, ...root } = generated;
    if (isJson($defs)) {
      for (const [id, definition] of Object.entries($defs)) {
        const relocated = relocateRefs(definition) as Json;
        const known = this.components.get(id);
        if (known && JSON.stringify(known) !== JSON.stringify(relocated)) {
          throw new Error(`Two different schemas are named ${id}`);
        }
        this.components.set(id, relocated);
      }
    }
    return relocateRefs(root) as Json;
  }

  resolve(schema: Json): Json {
    const ref = schema.$ref;
    if (typeof ref !== 'string' || !ref.startsWith(SCHEMA_REF_PREFIX)) return schema;
    return this.components.get(ref.slice(SCHEMA_REF_PREFIX.length)) ?? schema;
  }
}

/** One query parameter per property of the (object) query schema. */
function queryParameters(name: string, query: z.core.$ZodType, schemas: SchemaCollector): Parameters {
  const object = schemas.resolve(schemas.convert(query));
  if (!isJson(object.properties)) throw new Error(`The query schema of ${name} is not an object`);
  const required = Array.isArray(object.required) ? object.required : [];
  const parameters: Json[] = Object.entries(object.properties).map(([param, schema]) => {
    const description = isJson(schema) && typeof schema.description === 'string' ? schema.description : '';
    return {
      name: param,
      in: 'query',
      required: required.includes(param),
      ...(description ? { description } : {}),
      schema,
    };
  });
  return parameters as unknown as Parameters;
}

function jsonContent(schema: Json, mediaType = 'application/json'): ResponseConfig['content'] {
  return { [mediaType]: { schema: schema as SchemaObject } };
}

/** Who may call a route, in words (the operation's description). */
function permissionText(spec: RouteSpec): string {
  if (spec.access !== 'manager') return `Requires a **${spec.access}** token.`;
  const roles = holdersOf(spec.permission).map((role) => `\`${role}\``);
  return `Requires a **manager** token with the role ${roles.join(' or ')} (permission \`${spec.permission}\`).`;
}

function operationOf(name: string, spec: RouteSpec, schemas: SchemaCollector, problem: Json): RouteConfig {
  const params = pathParams(spec.path);
  const headers: Record<string, z.ZodType> = {};
  if (spec.method === 'POST') headers['Idempotency-Key'] = IdempotencyKey;
  if (spec.ifMatch) headers['If-Match'] = IfMatch;

  const resource = schemas.convert(spec.paged ? page(RESOURCES[spec.response]) : RESOURCES[spec.response]);
  const responses: RouteConfig['responses'] = {
    [String(spec.status)]: {
      description: spec.summary,
      ...(spec.status === 204 ? {} : { content: jsonContent(resource) }),
    },
  };
  for (const [status, description] of Object.entries(spec.otherStatuses ?? {})) {
    responses[status] = { description, content: jsonContent(resource) };
  }
  for (const error of ERRORS) {
    if (!error.applies(spec)) continue;
    responses[String(error.status)] = {
      description: error.description,
      content: jsonContent(problem, PROBLEM_CONTENT_TYPE),
      ...(error.status === 429
        ? {
            headers: {
              'Retry-After': {
                description: 'Seconds until the current one-minute window ends',
                schema: { type: 'integer', minimum: 1 },
              },
            },
          }
        : {}),
    };
  }

  return {
    method: spec.method.toLowerCase() as RouteConfig['method'],
    path: spec.path,
    operationId: name,
    summary: spec.summary,
    tags: [spec.group],
    ...(spec.access === 'public'
      ? { security: [] }
      : { security: [{ [SECURITY_SCHEME]: [] }], description: permissionText(spec) }),
    'x-permission': spec.permission,
    ...(spec.access === 'manager' ? { 'x-roles': [...holdersOf(spec.permission)] } : {}),
    ...(spec.query ? { parameters: queryParameters(name, spec.query, schemas) } : {}),
    request: {
      ...(params.length
        ? {
            params: z.object(
              Object.fromEntries(
                params.map((param) => [
                  param,
                  z
                    .string()
                    .min(1)
                    .meta({ description: `The ${param}` }),
                ]),
              ),
            ),
          }
        : {}),
      ...(Object.keys(headers).length ? { headers: z.object(headers) } : {}),
      ...(spec.body
        ? {
            body: {
              // An empty body counts as `{}`: it is only required when `{}` is not valid.
              required: !spec.body.safeParse({}).success,
              content: jsonContent(schemas.convert(spec.body)) ?? {},
            },
          }
        : {}),
    },
    responses,
  };
}

function build(): Json {
  const schemas = new SchemaCollector();
  const problem = schemas.convert(Problem);
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', SECURITY_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A JWT naming its user (`sub`). Managers: a `roles` array claim (`viewer`, `program_manager`, `finance`, `admin`; `role: "manager"` means `admin`), or Cognito groups `payouts-viewer`, `payouts-program-managers`, `payouts-finance`, `payouts-admins` (`managers` means `admin`). Partners: `role: "partner"` and `partner_id`, or Cognito `custom:partner_id`. Each operation names the roles it needs (`x-roles`).',
  });
  for (const [name, spec] of Object.entries(ROUTES) as [string, RouteSpec][]) {
    registry.registerPath(operationOf(name, spec, schemas, problem));
  }
  for (const id of [...schemas.components.keys()].sort()) {
    registry.registerComponent('schemas', id, schemas.components.get(id) as SchemaObject);
  }
  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: OPENAPI_VERSION,
    info: {
      title: 'Partner payouts',
      version: '0.1.0',
      description:
        'Partner program payouts: rewards, payout drafts, reviews, invoices, exports and payments. Money is an integer `amount` in minor units of an ISO 4217 `currency`; errors are `application/problem+json`.',
    },
    tags: FUNCTION_GROUPS.map((group) => ({ name: group, description: GROUP_DESCRIPTIONS[group] })),
  }) as unknown as Json;
  if (isJson(document.webhooks) && Object.keys(document.webhooks).length === 0) delete document.webhooks;
  const components = document.components;
  if (isJson(components)) {
    for (const [kind, entries] of Object.entries(components)) {
      if (isJson(entries) && Object.keys(entries).length === 0) delete components[kind];
    }
  }
  return document;
}

let cached: Json | undefined;

/**
 * The OpenAPI 3.1 document, built on first use and cached. With `serverUrl`, the copy returned lists
 * that server. The cached document is shared: do not mutate what this returns.
 */
export function openApiDocument(options: { serverUrl?: string } = {}): object {
  cached ??= build();
  return options.serverUrl ? { ...cached, servers: [{ url: options.serverUrl }] } : cached;
}
