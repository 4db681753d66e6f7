/**
 * The contract check every integration call goes through (test/support/contract.ts): it must be able
 * to fail, on each kind of violation, against the real document.
 */
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../shared/http/openapi.ts';
import { ContractValidator } from '../support/contract.ts';

const validator = new ContractValidator(openApiDocument());
const json = { 'content-type': 'application/json' };
const problemJson = { 'content-type': 'application/problem+json' };
const reward = {
  id: 'rw_01M8MXY57GDYYWQV3QHENF1J8R',
  partnerId: 'pt_01M8MXY579FJQ81YD6AP2XJBD6',
  amount: 999,
  currency: 'EUR',
  status: 'pending',
  externalId: 'order-1',
  createdAt: '2026-11-30T00:33:35.469Z',
  updatedAt: '2026-11-30T00:33:35.469Z',
  payoutId: null,
  version: 1,
};
const problem = {
  type: 'https://partner-payouts.dev/problems/not_found',
  title: 'Not found',
  status: 404,
  code: 'not_found',
  detail: 'No reward rw_1',
};

describe('the contract check', () => {
  it('maps concrete paths to documented routes', () => {
    expect(validator.routeOf('GET', '/rewards/rw_1')).toBe('/rewards/{id}');
    expect(validator.routeOf('POST', '/rewards/rw_1/accept?x=1')).toBe('/rewards/{id}/accept');
    expect(validator.routeOf('GET', '/nowhere')).toBeUndefined();
  });

  it('accepts documented responses: both statuses of POST /rewards, a problem', () => {
    for (const status of [200, 201]) {
      expect(
        validator.check({ method: 'POST', route: '/rewards', status, headers: json, body: reward }),
      ).toEqual([]);
    }
    expect(
      validator.check({
        method: 'GET',
        route: '/rewards/{id}',
        status: 404,
        headers: problemJson,
        body: problem,
      }),
    ).toEqual([]);
  });

  it('refuses an undocumented status, a 500, an unknown route', () => {
    expect(
      validator.check({ method: 'GET', route: '/rewards/{id}', status: 202, headers: json, body: reward })[0],
    ).toMatch(/status 202 is not documented/);
    expect(
      validator.check({
        method: 'GET',
        route: '/rewards/{id}',
        status: 500,
        headers: problemJson,
        body: problem,
      })[0],
    ).toMatch(/status 500 is not documented/);
    expect(
      validator.check({ method: 'GET', route: '/nowhere', status: 200, headers: json, body: {} })[0],
    ).toMatch(/not in the OpenAPI document/);
  });

  it('refuses the wrong content type and a body off its schema', () => {
    expect(
      validator.check({
        method: 'GET',
        route: '/rewards/{id}',
        status: 404,
        headers: json,
        body: problem,
      })[0],
    ).toMatch(/content-type application\/json is not documented/);
    expect(
      validator.check({
        method: 'GET',
        route: '/rewards/{id}',
        status: 200,
        headers: json,
        body: { ...reward, amount: '9.99' },
      })[0],
    ).toMatch(/does not match its schema: body\/amount/);
    expect(
      validator.check({
        method: 'GET',
        route: '/rewards/{id}',
        status: 200,
        headers: json,
        body: { ...reward, createdAt: 'yesterday' },
      })[0],
    ).toMatch(/format/);
  });
});
