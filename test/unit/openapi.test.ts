import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { matchRoute } from '../../infra/local/api-gateway.ts';
import { docsRoutes } from '../../infra/local/docs.ts';
import * as exportRequests from '../../shared/domain/export-requests.ts';
import * as partnerSchemas from '../../shared/domain/partner-schemas.ts';
import * as payoutRequests from '../../shared/domain/payout-requests.ts';
import * as resources from '../../shared/domain/resources.ts';
import * as rewardRequests from '../../shared/domain/reward-requests.ts';
import { holdersOf } from '../../shared/domain/roles.ts';
import * as requestSchemas from '../../shared/domain/schemas.ts';
import { openApiDocument, pathParams, SchemaCollector } from '../../shared/http/openapi.ts';
import { ROUTES, type RouteSpec, routeKey } from '../../shared/http/routes.ts';

type Json = Record<string, any>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const SCHEMA_REF = '#/components/schemas/';

const doc = openApiDocument() as Json;
const specs = Object.values(ROUTES) as RouteSpec[];

function operations(): { method: string; path: string; operation: Json }[] {
  return Object.entries(doc.paths as Json).flatMap(([path, item]) =>
    Object.entries(item as Json)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]) => ({ method: method.toUpperCase(), path, operation: operation as Json })),
  );
}

function operation(method: string, path: string): Json {
  const found = doc.paths[path]?.[method.toLowerCase()];
  expect(found, `${method} ${path} is documented`).toBeDefined();
  return found;
}

function refsIn(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) refsIn(item, found);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === '$ref' && typeof inner === 'string') found.push(inner);
      else refsIn(inner, found);
    }
  }
  return found;
}

const concrete = (path: string) => path.replace(/\{(\w+)\}/g, (_match, name: string) => `x_${name}_1`);

describe('the OpenAPI document covers exactly the route catalogue', () => {
  it('documents every route of ROUTES, and nothing else', () => {
    const documented = operations().map(({ method, path }) => `${method} ${path}`);
    expect(new Set(documented).size).toBe(documented.length);
    expect(new Set(documented)).toEqual(new Set(specs.map(routeKey)));
  });

  it('the local router resolves each documented path to that very route, with its path params', () => {
    const resolved = operations().map(({ method, path }) => {
      const match = matchRoute(method, concrete(path));
      expect(match, `${method} ${concrete(path)}`).toBeDefined();
      expect(match?.params).toEqual(
        Object.fromEntries(pathParams(path).map((name) => [name, `x_${name}_1`])),
      );
      return match?.route.key;
    });
    expect(new Set(resolved)).toEqual(new Set(operations().map(({ method, path }) => `${method} ${path}`)));
    expect(new Set(resolved)).toEqual(new Set(specs.map(routeKey)));
    expect(matchRoute('GET', '/not-documented')).toBeUndefined();
  });

  it('is built once', () => {
    expect(openApiDocument()).toBe(doc);
    const withServer = openApiDocument({ serverUrl: 'http://127.0.0.1:1234' }) as Json;
    expect(withServer.servers).toEqual([{ url: 'http://127.0.0.1:1234' }]);
    expect(withServer.paths).toBe(doc.paths);
    expect(doc.servers).toBeUndefined();
  });
});

describe('the OpenAPI document is structurally valid OpenAPI 3.1', () => {
  it('declares openapi 3.1.x, info and only known top-level fields', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(typeof doc.info.title).toBe('string');
    expect(typeof doc.info.version).toBe('string');
    for (const key of Object.keys(doc)) {
      expect([
        'openapi',
        'info',
        'jsonSchemaDialect',
        'servers',
        'paths',
        'webhooks',
        'components',
        'security',
        'tags',
        'externalDocs',
      ]).toContain(key);
    }
  });

  it('every $ref resolves to a components.schemas entry, and every component schema is used', () => {
    const schemas = doc.components.schemas as Json;
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref.startsWith(SCHEMA_REF), ref).toBe(true);
      expect(schemas[ref.slice(SCHEMA_REF.length)], ref).toBeDefined();
    }
    expect(new Set(refs.map((ref) => ref.slice(SCHEMA_REF.length)))).toEqual(new Set(Object.keys(schemas)));
    expect(JSON.stringify(doc)).not.toMatch(/"\$defs"|"\$schema"/);
  });

  it('declares every path parameter, required, and no other', () => {
    for (const { method, path, operation } of operations()) {
      const declared = (operation.parameters ?? []).filter((parameter: Json) => parameter.in === 'path');
      expect(declared.map((parameter: Json) => parameter.name).sort(), `${method} ${path}`).toEqual(
        pathParams(path).sort(),
      );
      for (const parameter of declared) expect(parameter.required).toBe(true);
    }
  });

  it('has unique operationIds, a success response, parameters with a schema, known tags and security schemes', () => {
    const ids = operations().map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const tags = new Set((doc.tags as Json[]).map((tag) => tag.name));
    for (const { method, path, operation } of operations()) {
      const where = `${method} ${path}`;
      expect(
        Object.keys(operation.responses).some((status) => /^2\d\d$/.test(status)),
        where,
      ).toBe(true);
      for (const response of Object.values(operation.responses as Json)) {
        expect(typeof response.description, where).toBe('string');
      }
      for (const parameter of operation.parameters ?? []) {
        expect(['query', 'header', 'path', 'cookie']).toContain(parameter.in);
        expect(parameter.schema, `${where} ${parameter.name}`).toBeDefined();
      }
      for (const tag of operation.tags ?? []) expect(tags.has(tag), `${where} tag ${tag}`).toBe(true);
      for (const requirement of operation.security ?? []) {
        for (const scheme of Object.keys(requirement)) {
          expect(doc.components.securitySchemes[scheme], `${where} ${scheme}`).toBeDefined();
        }
      }
    }
  });

  it('documents each route’s status, errors and headers from the catalogue', () => {
    for (const spec of specs) {
      const { responses, parameters = [], requestBody } = operation(spec.method, spec.path);
      const where = routeKey(spec);
      if (spec.status === 204) expect(responses['204']?.content, where).toBeUndefined();
      else expect(responses[String(spec.status)]?.content?.['application/json']?.schema, where).toBeDefined();
      const expected = [400, 413];
      if (spec.access !== 'public') expected.push(401, 403);
      if (pathParams(spec.path).length || spec.access === 'partner') expected.push(404);
      if (spec.method === 'POST' || spec.method === 'PATCH' || spec.moreErrors?.includes(409))
        expected.push(409);
      if (spec.ifMatch) expected.push(412);
      if (spec.body) expected.push(415);
      if (spec.method === 'POST' || spec.rules || spec.moreErrors?.includes(422)) expected.push(422);
      if (spec.moreErrors?.includes(429)) expected.push(429);
      for (const status of Object.keys(spec.otherStatuses ?? {})) {
        expect(responses[status]?.content?.['application/json']?.schema, `${where} ${status}`).toEqual(
          responses[String(spec.status)].content['application/json'].schema,
        );
      }
      const successes = [spec.status, ...Object.keys(spec.otherStatuses ?? {}).map(Number)].map(String);
      const errors = Object.keys(responses).filter((status) => !successes.includes(status));
      expect(errors.map(Number).sort(), where).toEqual(expected.sort());
      for (const status of errors) {
        expect(responses[status].content['application/problem+json'].schema, `${where} ${status}`).toEqual({
          $ref: `${SCHEMA_REF}Problem`,
        });
      }
      const headers = parameters.filter((p: Json) => p.in === 'header').map((p: Json) => p.name);
      expect(headers.includes('Idempotency-Key'), where).toBe(spec.method === 'POST');
      expect(headers.includes('If-Match'), where).toBe(spec.ifMatch === true);
      expect(requestBody !== undefined, where).toBe(spec.body !== undefined);
      if (requestBody) expect(requestBody.content['application/json'].schema, where).toBeDefined();
    }
  });
});

describe('spot checks', () => {
  it('POST /rewards takes a CreateReward and answers 201 with a Reward', () => {
    const createReward = operation('POST', '/rewards');
    expect(createReward.requestBody.required).toBe(true);
    expect(createReward.requestBody.content['application/json'].schema).toEqual({
      $ref: `${SCHEMA_REF}CreateReward`,
    });
    expect(createReward.responses['201'].content['application/json'].schema).toEqual({
      $ref: `${SCHEMA_REF}Reward`,
    });
    const body = doc.components.schemas.CreateReward;
    expect(body.required.sort()).toEqual(['amount', 'currency', 'partnerId']);
    expect(body.additionalProperties).toBe(false);
  });

  it('an empty body is not required where {} is valid', () => {
    expect(operation('POST', '/payouts/{id}/cancel').requestBody.required).toBe(false);
  });

  it('GET /payouts has the query params limit, cursor, status (and partnerId, currency)', () => {
    const parameters = operation('GET', '/payouts').parameters.filter((p: Json) => p.in === 'query');
    const names = parameters.map((p: Json) => p.name);
    expect(names).toEqual(expect.arrayContaining(['limit', 'cursor', 'status', 'partnerId', 'currency']));
    const limit = parameters.find((p: Json) => p.name === 'limit');
    expect(limit.required).toBe(false);
    expect(limit.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100, default: 25 });
    const status = parameters.find((p: Json) => p.name === 'status');
    expect(status.schema.enum).toEqual([
      'draft',
      'pending',
      'ready',
      'processing',
      'paid',
      'failed',
      'cancelled',
    ]);
  });

  it('manager routes need a bearer JWT, /health needs nothing', () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    for (const spec of specs.filter((route) => route.access !== 'public')) {
      expect(operation(spec.method, spec.path).security, routeKey(spec)).toEqual([{ bearerAuth: [] }]);
    }
    const health = operation('GET', '/health');
    expect(health.security ?? []).toEqual([]);
    expect(doc.security).toBeUndefined();
    expect(health.responses['401']).toBeUndefined();
  });

  it('shows each route’s permission and the roles that hold it', () => {
    for (const spec of specs) {
      const op = operation(spec.method, spec.path);
      expect(op['x-permission'], routeKey(spec)).toBe(spec.permission);
      if (spec.access === 'manager') {
        expect(op['x-roles'], routeKey(spec)).toEqual([...holdersOf(spec.permission)]);
        expect(op.description, routeKey(spec)).toContain(`\`${spec.permission}\``);
      }
    }
    expect(operation('POST', '/exports')['x-roles']).toEqual(['finance', 'admin']);
    expect(operation('GET', '/payouts')['x-roles']).toEqual([
      'viewer',
      'program_manager',
      'finance',
      'admin',
    ]);
  });

  it('tags operations by route group', () => {
    for (const spec of specs) expect(operation(spec.method, spec.path).tags).toEqual([spec.group]);
  });

  it('a nullable named schema stays nullable (zod-to-openapi#248)', () => {
    const nullablePayoutMethod = { anyOf: [{ $ref: `${SCHEMA_REF}PayoutMethod` }, { type: 'null' }] };
    expect(doc.components.schemas.Partner.properties.payoutMethod).toEqual(nullablePayoutMethod);
    expect(doc.components.schemas.UpdatePartner.properties.payoutMethod).toEqual(nullablePayoutMethod);
    expect(doc.components.schemas.PayoutMethod.oneOf).toHaveLength(3);
    expect(JSON.stringify(doc.components.schemas.PayoutMethod)).not.toContain('"null"');
    // a transform is documented by its input
    expect(doc.components.schemas.PayoutMethod.oneOf[0].properties.iban).toEqual({ type: 'string' });
  });
});

describe('schema conversion', () => {
  it('converts every schema of the domain modules, used by a route yet or not (refinements, transforms, unions)', () => {
    const collector = new SchemaCollector();
    const exported = Object.entries({
      ...requestSchemas,
      ...partnerSchemas,
      ...rewardRequests,
      ...payoutRequests,
      ...exportRequests,
      ...resources,
    } as Record<string, unknown>).filter(
      (entry): entry is [string, z.ZodMiniType] => entry[1] instanceof z.ZodMiniType,
    );
    expect(exported.length).toBeGreaterThan(30);
    for (const [name, schema] of exported) {
      const converted = collector.convert(schema);
      const id = z.globalRegistry.get(schema)?.id;
      if (typeof id === 'string') {
        expect(converted, name).toEqual({ $ref: `${SCHEMA_REF}${id}` });
        expect(collector.components.has(id), name).toBe(true);
      }
    }
    for (const component of collector.components.values()) {
      expect(JSON.stringify(component)).not.toMatch(/"\$defs"|"\$schema"|#\/\$defs\//);
    }
    expect(collector.components.get('Export')?.properties).toHaveProperty('totals');
  });
});

describe('docsRoutes over node:http', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const docs = docsRoutes();
    server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      docs(request, response, url).then(
        (handled) => {
          if (!handled) {
            response.writeHead(404, { 'content-type': 'text/plain' });
            response.end('not handled');
          }
        },
        (error: unknown) => {
          response.writeHead(500);
          response.end(String(error));
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('serves /openapi.json with this server as its server', async () => {
    const response = await fetch(`${base}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const served = (await response.json()) as Json;
    expect(served.servers).toEqual([{ url: base }]);
    expect(served.paths).toEqual(doc.paths);
  });

  it('serves the Swagger UI page at /docs, whose assets all load from the installed bundle', async () => {
    const page = await fetch(`${base}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? '');
    expect(assets).toEqual(expect.arrayContaining(['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css']));
    for (const asset of assets) {
      expect(asset.startsWith('/docs/'), asset).toBe(true);
      const response = await fetch(`${base}${asset}`);
      expect(response.status, asset).toBe(200);
      expect((await response.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
    }
    const bundle = await fetch(`${base}/docs/swagger-ui-bundle.js`);
    expect(bundle.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await bundle.text()).toContain('SwaggerUIBundle');
    const initializer = await (await fetch(`${base}/docs/swagger-initializer.js`)).text();
    expect(initializer).toContain('"/openapi.json"');
    expect(initializer).not.toContain('petstore');
  });

  it('serves nothing else', async () => {
    for (const path of [
      '/docs/nope.js',
      '/docs/..%2Fpackage.json',
      '/docs/.hidden',
      '/openapi.yaml',
      '/health',
    ]) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(404);
    }
    expect((await fetch(`${base}/openapi.json`, { method: 'POST' })).status).toBe(404);
  });
});
