/**
 * The one API client: openapi-fetch typed by the paths generated from the OpenAPI document
 * (./openapi.d.ts, generated at build time), with the bearer token and an Idempotency-Key on every
 * POST. `ok()` turns an answer into its data, or throws its problem+json as an ApiProblem.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { session, signOut } from '../session.ts';
import type { components, paths } from './openapi';

export type Schemas = components['schemas'];
export type Payout = Schemas['Payout'];
export type Reward = Schemas['Reward'];
export type Partner = Schemas['Partner'];
export type PayoutEvent = Schemas['PayoutEvent'];
export type PayoutStatus = Payout['status'];
export type Problem = Schemas['Problem'];
export type PayoutMethod = NonNullable<Partner['payoutMethod']>;

let client: Client<paths> | undefined;

const auth: Middleware = {
  onRequest({ request }) {
    const token = session.current?.token;
    if (token) request.headers.set('authorization', `Bearer ${token}`);
    if (request.method === 'POST' && !request.headers.has('idempotency-key')) {
      request.headers.set('idempotency-key', crypto.randomUUID());
    }
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) signOut('Your session has ended. Please sign in again.');
    return response;
  },
};

export function initApi(baseUrl: string): void {
  client = createClient<paths>({ baseUrl });
  client.use(auth);
}

export function api(): Client<paths> {
  if (!client) throw new Error('initApi() first');
  return client;
}

/** A problem+json answer of the API, as an Error whose message is its `detail`. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail || problem.title);
    this.name = 'ApiProblem';
  }

  /** Field errors by path ("payoutMethod.iban" → message). */
  fieldErrors(): Record<string, string> {
    const fields: Record<string, string> = {};
    for (const error of this.problem.errors ?? []) fields[error.path] ??= error.message;
    return fields;
  }
}

function isProblem(value: unknown): value is Problem {
  return typeof value === 'object' && value !== null && 'detail' in value && 'status' in value;
}

export async function ok<T>(answer: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await answer;
  } catch {
    throw new ApiProblem(0, {
      type: 'about:blank',
      title: 'Network error',
      status: 0,
      code: 'network_error',
      detail: 'The server could not be reached. Check your connection and try again.',
    });
  }
  const { data, error, response } = result;
  if (response.ok) return data as T;
  throw new ApiProblem(
    response.status,
    isProblem(error)
      ? error
      : {
          type: 'about:blank',
          title: response.statusText || 'Error',
          status: response.status,
          code: 'unknown',
          detail: `The server answered ${response.status}.`,
        },
  );
}

/** Every page of a list (for bounded collections: the rewards and history of one payout). */
export async function all<T>(
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const answer = await fetchPage(cursor);
    items.push(...answer.items);
    if (!answer.nextCursor) break;
    cursor = answer.nextCursor;
  }
  return items;
}
