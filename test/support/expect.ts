/** Assertions and reads shared by the handler tests (through `call`, the real Lambda handlers). */
import { expect } from 'vitest';
import { type As, type CallResult, call } from './http.ts';

/** The status, or a failure that shows the problem body the handler answered instead. */
export function expectOk(response: CallResult, status = 200): any {
  expect({ status: response.status, body: response.status === status ? undefined : response.body }).toEqual({
    status,
    body: undefined,
  });
  return response.body;
}

/** A problem+json answer with this status and code (api.md "Errors"), field errors as `{ path, message }`. */
export function expectProblem(response: CallResult, status: number, code: string): any {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
  expect(response.headers['content-type']).toBe('application/problem+json');
  const body = response.body;
  expect(typeof body.type).toBe('string');
  expect(typeof body.title).toBe('string');
  expect(body.status).toBe(status);
  expect(typeof body.detail).toBe('string');
  expect(body.detail.length).toBeGreaterThan(0);
  if (body.errors !== undefined) {
    expect(Array.isArray(body.errors)).toBe(true);
    for (const error of body.errors) {
      expect(error).toEqual({ path: expect.any(String), message: expect.any(String) });
    }
  }
  return body;
}

/** Every item of a list route, following `nextCursor` page by page (`limit` items a page). */
export async function listAll(
  as: As,
  path: string,
  query: Record<string, string> = {},
  limit = 100,
): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 500; pages++) {
    const response = await call(as, 'GET', path, {
      query: { ...query, limit: String(limit), ...(cursor ? { cursor } : {}) },
    });
    expectOk(response);
    items.push(...response.body.items);
    if (response.body.nextCursor === null) return items;
    cursor = response.body.nextCursor;
  }
  throw new Error('too many pages');
}
