/**
 * The API contract, checked on every response the tests see: each response is validated against the
 * OpenAPI document the server serves at `/openapi.json` (shared/http/openapi.ts), keyed by method,
 * route path and status. An undocumented status, a content type other than the documented one, or a
 * body that does not match its schema is a violation. `test/support/http.ts` checks every call of
 * the integration suites (it throws at the call, and `test/support/env.ts` fails the test in
 * `afterEach` if a violation was swallowed, e.g. by `Promise.allSettled`); the smoke test checks
 * every response of the local server over HTTP.
 *
 * Ajv's 2020-12 dialect (the document is OpenAPI 3.1, whose schemas are JSON Schema 2020-12) with
 * ajv-formats; the document's components are added once, so `$ref`s resolve as they do in the
 * document itself.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { openApiDocument } from '../../shared/http/openapi.ts';

type Json = Record<string, any>;

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const DOCUMENT_ID = 'openapi.json';

export interface ResponseToCheck {
  method: string;
  /** The route's path as documented, e.g. `/payouts/{id}`. */
  route: string;
  status: number;
  headers: Record<string, string | undefined>;
  body: unknown;
}

export class ContractValidator {
  readonly #document: Json;
  readonly #ajv: Ajv2020;
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor(document: object = openApiDocument()) {
    this.#document = document as Json;
    this.#ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.#ajv);
    // The whole document under one id, so `#/components/schemas/X` resolves inside it.
    this.#ajv.addSchema({ $id: DOCUMENT_ID, components: this.#document.components ?? {} });
  }

  /** The documented route path a concrete path matches (`/payouts/po_1` → `/payouts/{id}`). */
  routeOf(method: string, path: string): string | undefined {
    const wanted = method.toLowerCase();
    const pathname = path.split('?')[0] ?? path;
    for (const [route, item] of Object.entries(this.#document.paths as Json)) {
      if (!(item as Json)[wanted]) continue;
      const pattern = new RegExp(`^${route.replace(/\{\w+\}/g, '[^/]+')}$`);
      if (pattern.test(pathname)) return route;
    }
    return undefined;
  }

  /** The violations of one response, empty when it keeps the contract. */
  check(response: ResponseToCheck): string[] {
    const where = `${response.method.toUpperCase()} ${response.route} → ${response.status}`;
    const operation = (this.#document.paths as Json)[response.route]?.[response.method.toLowerCase()] as
      | Json
      | undefined;
    if (!operation) return [`${where}: the route is not in the OpenAPI document`];
    const documented = operation.responses?.[String(response.status)] as Json | undefined;
    if (!documented) {
      return [
        `${where}: status ${response.status} is not documented (documented: ${Object.keys(operation.responses ?? {}).join(', ')})${describeBody(response.body)}`,
      ];
    }
    const content = (documented.content ?? {}) as Json;
    const mediaTypes = Object.keys(content);
    if (mediaTypes.length === 0) {
      return response.body === undefined ? [] : [`${where}: documented without a body, but has one`];
    }
    const contentType = headerOf(response.headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    const mediaType = mediaTypes.find((type) => type === contentType);
    if (!mediaType) {
      return [
        `${where}: content-type ${contentType ?? '(none)'} is not documented (${mediaTypes.join(', ')})`,
      ];
    }
    const validate = this.#validator(response.route, response.method, response.status, mediaType);
    if (validate(response.body)) return [];
    return [
      `${where}: the body does not match its schema: ${this.#ajv.errorsText(validate.errors, { dataVar: 'body' })}${describeBody(response.body)}`,
    ];
  }

  #validator(route: string, method: string, status: number, mediaType: string): ValidateFunction {
    const key = `${method} ${route} ${status} ${mediaType}`;
    let validate = this.#compiled.get(key);
    if (!validate) {
      const pointer = [
        'paths',
        route,
        method.toLowerCase(),
        'responses',
        String(status),
        'content',
        mediaType,
        'schema',
      ]
        .map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1'))
        .join('/');
      const schema = pointerGet(this.#document, pointer);
      validate = this.#ajv.compile(rebase(schema) as Json);
      this.#compiled.set(key, validate);
    }
    return validate;
  }
}

/** Points every local `#/components/...` reference at the document added under DOCUMENT_ID. */
function rebase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rebase);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === '$ref' && typeof inner === 'string' && inner.startsWith('#/')
        ? `${DOCUMENT_ID}${inner}`
        : rebase(inner),
    ]),
  );
}

function pointerGet(document: Json, pointer: string): unknown {
  return pointer
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, part) => (node as Json | undefined)?.[part], document);
}

function headerOf(headers: Record<string, string | undefined>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

function describeBody(body: unknown): string {
  const text = JSON.stringify(body);
  return text === undefined ? '' : `; body ${text.length > 400 ? `${text.slice(0, 400)}…` : text}`;
}

let shared: ContractValidator | undefined;
/** One validator per test worker, built on first use from the served document. */
export const contract = (): ContractValidator => {
  shared ??= new ContractValidator();
  return shared;
};

/** Violations seen in this test file that no test has reported yet (see test/support/env.ts). */
export const pendingViolations: string[] = [];
