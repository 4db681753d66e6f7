/**
 * A corpus of bad input over every POST/PATCH route and every list route of ROUTES (generated from
 * the catalogue): wrong types, unknown fields, bad amounts and currencies, oversized bodies, wrong
 * content types, malformed JSON, bad limits and cursors. Every answer must be a 4xx problem+json
 * (never a 5xx), and nothing may change: the partner's rewards, payouts (with their versions), the
 * partner itself and the target are read back and compared after every request.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import type * as z from 'zod/mini';
import { newId } from '../../shared/domain/ids.ts';
import { ROUTES, type RouteSpec } from '../../shared/http/routes.ts';
import { expectOk, listAll } from '../support/expect.ts';
import {
  type As,
  type CallOptions,
  type CallResult,
  call,
  manager,
  managerAs,
  partner,
} from '../support/http.ts';

// Many requests per test; leave room for a busy 2-core machine.
vi.setConfig({ testTimeout: 120_000 });

const ALL = Object.entries(ROUTES) as [string, RouteSpec][];
const WRITE_ROUTES = ALL.filter(([, spec]) => spec.method === 'POST' || spec.method === 'PATCH');
const LIST_ROUTES = ALL.filter(
  ([, spec]) => spec.method === 'GET' && spec.query !== undefined && shapeOf(spec.query).includes('limit'),
);
const BIG = 'x'.repeat(257 * 1024);

// ------------------------------------------------------------------ helpers

function shapeOf(schema: z.ZodMiniType | undefined): string[] {
  const shape = (schema as unknown as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

interface Fixture {
  partnerId: string;
  marker: string;
  looseReward: string;
  payouts: Record<'draft' | 'pending' | 'ready', { id: string; rewardId: string }> &
    Partial<Record<'processing' | 'failed', { id: string; rewardId: string }>>;
  /** An active export of the processing payout (routes on /exports/{id}). */
  exportId?: string;
  /** An active hold on the partner, placed by another user (routes on /holds/{id}). */
  holdId?: string;
  /** A bank report awaiting its file (routes on /bank-reports/{id}). */
  bankReportId?: string;
  webhookEndpointId: string;
}

/** A loopback receiver nothing listens on (test/support/env.ts allows private receivers). */
const WEBHOOK_ENDPOINT = { url: 'http://127.0.0.1:9/hooks', eventTypes: ['webhook.test'] };

/**
 * A partner with an unclaimed reward and a payout in draft, pending and ready; for the routes that act
 * on them, a processing payout (in an active export) and a failed one too.
 */
async function fixture(spec?: RouteSpec): Promise<Fixture> {
  const marker = randomUUID();
  const created = expectOk(
    await call(manager, 'POST', '/partners', {
      body: {
        name: 'Bad Input Partner',
        email: `bad-input+${marker}@example.com`,
        payoutMethod: { type: 'sepa', accountHolder: 'Bad Input', iban: 'DE89370400440532013000' },
        // Offered, not accepted: not active (invoices stay uploads), but the partner may accept it.
        selfBilling: { enabled: true },
      },
    }),
    201,
  );
  const partnerId: string = created.id;
  const reward = async (status: 'pending' | 'accepted') =>
    expectOk(
      await call(manager, 'POST', '/rewards', { body: { partnerId, amount: 1000, currency: 'EUR', status } }),
      201,
    ).id as string;
  const payout = async () => {
    const rewardId = await reward('accepted');
    const body = { partnerId, currency: 'EUR', rewardIds: [rewardId] };
    const id = expectOk(await call(manager, 'POST', '/payouts', { body }), 201).id as string;
    return { id, rewardId };
  };
  const draft = await payout();
  const pending = await payout();
  expectOk(await call(manager, 'POST', `/payouts/${pending.id}/validate`, { body: {} }));
  const ready = await payout();
  expectOk(await call(manager, 'POST', `/payouts/${ready.id}/validate`, { body: {} }));
  expectOk(await call(partner(partnerId), 'POST', `/partner/payouts/${ready.id}/validate`, { body: {} }));
  // Pending, unclaimed: a POST /payouts, a payout run or an accept/refuse that slipped through acts on it.
  const looseReward = await reward('pending');
  const webhookEndpointId = expectOk(
    await call(manager, 'POST', '/webhook-endpoints', { body: WEBHOOK_ENDPOINT }),
    201,
  ).id as string;
  const fx: Fixture = {
    partnerId,
    marker,
    looseReward,
    payouts: { draft, pending, ready },
    webhookEndpointId,
  };
  if (spec && /\/(mark-failed|reissue|void)$/.test(spec.path)) {
    const exported = async () => {
      const made = await payout();
      expectOk(await call(manager, 'POST', `/payouts/${made.id}/validate`, { body: {} }));
      expectOk(await call(partner(partnerId), 'POST', `/partner/payouts/${made.id}/validate`, { body: {} }));
      const body = { format: 'csv', payoutIds: [made.id] };
      return {
        made,
        exportId: expectOk(await call(manager, 'POST', '/exports', { body }), 201).id as string,
      };
    };
    const processing = await exported();
    fx.payouts.processing = processing.made;
    fx.exportId = processing.exportId;
    const failed = (await exported()).made;
    expectOk(
      await call(manager, 'POST', `/payouts/${failed.id}/mark-failed`, { body: { reason: 'closed' } }),
    );
    fx.payouts.failed = failed;
  }
  if (spec?.path.startsWith('/holds/{id}')) {
    const placer = managerAs(['admin'], 'bad-input-placer');
    const body = { scope: 'partner', targetId: partnerId, reasonCode: 'OTHER' };
    fx.holdId = expectOk(await call(placer, 'POST', '/holds', { body }), 201).id as string;
  }
  if (spec?.path.startsWith('/bank-reports/')) {
    const report = await call(manager, 'POST', '/bank-reports', { body: { fileName: 'report.xml' } });
    fx.bankReportId = expectOk(report, 201).id as string;
  }
  return fx;
}

/** The route's path with ids that a valid request would act on. */
function targetPath(spec: RouteSpec, fx: Fixture): string {
  const status = /^\/payouts\/\{id\}\/(validate|cancel)$/.test(spec.path)
    ? 'draft'
    : spec.path.endsWith('/mark-paid') || spec.path.endsWith('/approve')
      ? 'ready'
      : spec.path.endsWith('/mark-failed')
        ? 'processing'
        : spec.path.endsWith('/reissue')
          ? 'failed'
          : 'pending';
  const payout = fx.payouts[status] ?? fx.payouts.pending;
  return spec.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (name === 'rewardId') return payout.rewardId;
    if (spec.path.startsWith('/exports/')) return fx.exportId ?? newId('export');
    if (spec.path.startsWith('/holds/')) return fx.holdId ?? newId('hold');
    if (spec.path.startsWith('/partners/')) return fx.partnerId;
    if (spec.path.startsWith('/bank-reports/')) return fx.bankReportId ?? newId('bankReport');
    if (spec.path.startsWith('/rewards/')) return fx.looseReward;
    if (spec.path.startsWith('/webhook-endpoints/')) return fx.webhookEndpointId;
    if (spec.path.startsWith('/payouts/') || spec.path.startsWith('/partner/payouts/')) return payout.id;
    return newId('run');
  });
}

/** A valid body for the route (so each mutation below changes exactly one thing). */
function validBody(spec: RouteSpec, fx: Fixture): Record<string, unknown> {
  const candidates: Record<string, unknown>[] = [
    { partnerId: fx.partnerId, amount: 1234, currency: 'EUR' },
    { partnerId: fx.partnerId, currency: 'EUR' },
    { name: 'Someone', email: `someone+${fx.marker}@example.com` },
    { decision: 'approve' },
    { comment: 'Please check' },
    { reason: 'Because' },
    // Scoped to this fixture's ready payout: an unscoped export would touch every ready payout.
    { format: 'csv', payoutIds: [fx.payouts.ready.id] },
    { scope: 'partner', targetId: fx.partnerId, reasonCode: 'OTHER' },
    { note: 'Checked' },
    WEBHOOK_ENDPOINT,
    { fileName: 'report.xml' },
    { eventIds: [newId('event')] },
    {},
  ];
  const body = candidates.find((candidate) => spec.body?.safeParse(candidate).success);
  if (body === undefined) throw new Error(`No valid sample body for ${spec.method} ${spec.path}`);
  return body;
}

interface BadCase {
  name: string;
  options: CallOptions;
  status: number;
  code: string;
}

const WRONG_TYPES: unknown[] = [123, -1.5, 'text', '', true, null, [], {}, ['a'], { nested: 1 }];

/** Every bad variant of a valid body: each one must be refused. */
function corpus(spec: RouteSpec, base: Record<string, unknown>): BadCase[] {
  const cases: BadCase[] = [];
  const schema = spec.body as z.ZodMiniType;
  const json = (name: string, body: unknown) => {
    // A "mutation" that the schema accepts is not bad input: leave it out.
    if (schema.safeParse(body).success) return;
    cases.push({ name, options: { body }, status: 400, code: 'validation_failed' });
  };
  const raw = (
    name: string,
    rawBody: string,
    status: number,
    code: string,
    contentType = 'application/json',
  ) => cases.push({ name, options: { rawBody, headers: { 'content-type': contentType } }, status, code });

  json('an unknown field', { ...base, unexpected: 1 });
  json('an unknown field named like an internal one', { ...base, status: 'paid', version: 1, id: 'x' });
  for (const field of shapeOf(schema)) {
    for (const value of WRONG_TYPES) json(`${field} = ${JSON.stringify(value)}`, { ...base, [field]: value });
    json(`${field} = a 5000-character string`, { ...base, [field]: 'y'.repeat(5000) });
  }
  const fields = shapeOf(schema);
  if (fields.includes('amount')) {
    for (const amount of [0, 1.5, '100', 2 ** 53, -(2 ** 53), 1e300, '']) {
      json(`amount ${JSON.stringify(amount)}`, { ...base, amount });
    }
    const text = JSON.stringify(base);
    raw('amount -0', text.replace(/"amount":-?\d+/, '"amount":-0'), 400, 'validation_failed');
    raw(
      'amount 1e400 (Infinity)',
      text.replace(/"amount":-?\d+/, '"amount":1e400'),
      400,
      'validation_failed',
    );
    raw('amount 100.0e0', text.replace(/"amount":-?\d+/, '"amount":1.005e2'), 400, 'validation_failed');
  }
  if (fields.includes('currency')) {
    for (const currency of ['XXX', 'eur', 'EURO', 'E', '€', 'XTS', ' EUR']) {
      json(`currency ${currency}`, { ...base, currency });
    }
  }
  for (const field of fields.filter((name) => name.endsWith('Id'))) {
    json(`${field} malformed`, { ...base, [field]: 'pt_123' });
    json(`${field} of another kind`, { ...base, [field]: newId('export') });
  }
  if (fields.includes('rewardIds')) {
    json('rewardIds empty', { ...base, rewardIds: [] });
    json('rewardIds of another kind', { ...base, rewardIds: [newId('payout')] });
    json('rewardIds too many', { ...base, rewardIds: Array.from({ length: 1001 }, () => newId('reward')) });
  }
  if (fields.includes('address')) {
    const address = { line1: '1 Main St', city: 'Berlin', country: 'DE' };
    json('address with an unknown field', { ...base, address: { ...address, planet: 'Mars' } });
    json('address with a lower-case country', { ...base, address: { ...address, country: 'de' } });
    json('address without line1', { ...base, address: { city: 'Berlin', country: 'DE' } });
  }
  if (fields.includes('payoutMethod')) {
    json('payoutMethod with a bad IBAN', {
      ...base,
      payoutMethod: { type: 'sepa', accountHolder: 'X', iban: 'DE00370400440532013000' },
    });
    json('payoutMethod of an unknown type', { ...base, payoutMethod: { type: 'cash' } });
    json('payoutMethod with an unknown field', {
      ...base,
      payoutMethod: { type: 'paypal', email: 'a@example.com', iban: 'DE89370400440532013000' },
    });
  }
  if (fields.includes('decision')) json('decision dispute without comment', { ...base, decision: 'dispute' });

  // Whole bodies.
  for (const body of [[], 'text', 42, true, null, [base]]) json(`a body of ${JSON.stringify(body)}`, body);
  for (const text of ['{', '{"a":}', "{'a':1}", `${JSON.stringify(base)}}`, '{"a":1,}', 'nul', '\u0000']) {
    raw(`malformed JSON ${JSON.stringify(text)}`, text, 400, 'validation_failed');
  }
  raw('text/plain', JSON.stringify(base), 415, 'unsupported_media_type', 'text/plain');
  raw('form-encoded', 'a=1', 415, 'unsupported_media_type', 'application/x-www-form-urlencoded');
  raw('application/jsonp', JSON.stringify(base), 415, 'unsupported_media_type', 'application/jsonp');
  cases.push({
    name: 'a body without a content type',
    options: { rawBody: JSON.stringify(base), headers: {} },
    status: 415,
    code: 'unsupported_media_type',
  });
  cases.push({
    name: 'a body over 256 KiB',
    options: { body: { ...base, padding: BIG } },
    status: 413,
    code: 'payload_too_large',
  });
  raw('a body over 256 KiB as text/plain', BIG, 413, 'payload_too_large', 'text/plain');
  raw('a malformed body over 256 KiB', `{${BIG}`, 413, 'payload_too_large');
  return cases;
}

async function state(fx: Fixture) {
  const payouts = await listAll(manager, '/payouts', { partnerId: fx.partnerId });
  return {
    partner: expectOk(await call(manager, 'GET', `/partners/${fx.partnerId}`)),
    rewards: await listAll(manager, '/rewards', { partnerId: fx.partnerId }),
    payouts,
  };
}

function expectRefused(label: string, response: CallResult, status: number, code: string): void {
  expect({
    label,
    status: response.status,
    code: response.body?.code,
    contentType: response.headers['content-type'],
  }).toEqual({ label, status, code, contentType: 'application/problem+json' });
  expect(response.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
  expect(typeof response.body.detail).toBe('string');
  if (status === 400) {
    expect(response.body.errors.length).toBeGreaterThan(0);
    for (const error of response.body.errors) {
      expect(error).toEqual({ path: expect.any(String), message: expect.any(String) });
    }
  }
}

// ------------------------------------------------------------------ the corpus

describe('the generated routes', () => {
  it('cover the writing and listing routes of the catalogue', () => {
    expect(WRITE_ROUTES.length).toBeGreaterThanOrEqual(14);
    expect(WRITE_ROUTES.every(([, spec]) => spec.body !== undefined)).toBe(true);
    expect(LIST_ROUTES.map(([, spec]) => spec.path)).toEqual(
      expect.arrayContaining([
        '/partners',
        '/rewards',
        '/payouts',
        '/payouts/{id}/rewards',
        '/payouts/{id}/events',
        '/partner/payouts',
        '/partner/payouts/{id}/rewards',
      ]),
    );
  });
});

describe('bad bodies change nothing', () => {
  it.each(WRITE_ROUTES)('%s refuses every bad body with a 4xx problem', async (name, spec) => {
    const fx = await fixture(spec);
    const as: As = spec.access === 'partner' ? partner(fx.partnerId) : manager;
    const path = targetPath(spec, fx);
    const cases = corpus(spec, validBody(spec, fx));
    expect(cases.length).toBeGreaterThan(20);
    let before = await state(fx);
    for (const badCase of cases) {
      const response = await call(as, spec.method, path, badCase.options);
      expectRefused(`${name}: ${badCase.name}`, response, badCase.status, badCase.code);
      const after = await state(fx);
      expect({ label: `${name}: ${badCase.name}`, after }).toEqual({
        label: `${name}: ${badCase.name}`,
        after: before,
      });
      before = after;
    }
    // No partner was created by any of them (their e-mails carry the fixture's marker).
    const partners = await listAll(manager, '/partners');
    expect(partners.filter((p) => String(p.email).includes(fx.marker)).map((p) => p.id)).toEqual([
      fx.partnerId,
    ]);
    // And the valid body itself is accepted (so the refusals above were about the mutation). The
    // fixture's pending payout has no invoice, so rejecting one can only be a 404.
    const accepted = await call(as, spec.method, path, { body: validBody(spec, fx) });
    // No APPROVAL_THRESHOLDS here: approving is refused as not required (422), after every check.
    const expected = name === 'rejectInvoice' ? 404 : name === 'approvePayout' ? 422 : spec.status;
    expect({
      name,
      status: accepted.status,
      body: accepted.status === expected ? null : accepted.body,
    }).toEqual({
      name,
      status: expected,
      body: null,
    });
  });
});

describe('bad list queries', () => {
  it.each(LIST_ROUTES)('%s answers 400 for bad limits, cursors and parameters', async (name, spec) => {
    const fx = await fixture(spec);
    const as: As = spec.access === 'partner' ? partner(fx.partnerId) : manager;
    const path = targetPath(spec, fx);
    // Genuine cursors of other lists.
    const rewardsCursor = expectOk(
      await call(manager, 'GET', '/rewards', { query: { partnerId: fx.partnerId, limit: '1' } }),
    ).nextCursor;
    const payoutsCursor = expectOk(
      await call(manager, 'GET', '/payouts', { query: { partnerId: fx.partnerId, limit: '1' } }),
    ).nextCursor;
    expect(rewardsCursor).toEqual(expect.any(String));
    expect(payoutsCursor).toEqual(expect.any(String));
    const foreignCursor = spec.path === '/rewards' ? payoutsCursor : rewardsCursor;

    const schema = spec.query as z.ZodMiniType;
    const queries: [string, Record<string, string>][] = [];
    for (const limit of [
      '0',
      '101',
      '-1',
      'abc',
      '1.5',
      '',
      ' ',
      '1,2',
      '1e9',
      'NaN',
      'Infinity',
      '0x10',
      '99999999999999999999',
    ]) {
      if (!schema.safeParse({ limit }).success) queries.push([`limit=${JSON.stringify(limit)}`, { limit }]);
    }
    const base64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const [label, cursor] of [
      ['empty', ''],
      ['not base64url', 'hello world!'],
      ['plain word', 'hello'],
      ['base64 of {}', base64({})],
      ['base64 of null', base64(null)],
      ['base64 of a list', base64([1, 2])],
      ['a forged key without fingerprint', base64({ k: { PK: 'x', SK: 'y' } })],
      ['a forged offset', base64({ k: { offset: '-5' }, f: 'AAAAAAAAAAAAAAAA' })],
      ['too long', 'A'.repeat(3000)],
      ['of another list', foreignCursor],
      ['of another list, truncated', foreignCursor.slice(0, -3)],
    ] as [string, string][]) {
      queries.push([`cursor ${label}`, { cursor }]);
      queries.push([`cursor ${label} with limit=1`, { cursor, limit: '1' }]);
    }
    queries.push(['an unknown parameter', { sort: 'desc' }]);
    queries.push(['an unknown parameter with a valid one', { limit: '5', offset: '10' }]);
    const fields = shapeOf(schema);
    if (fields.includes('status')) queries.push(['status=bogus', { status: 'bogus' }]);
    if (fields.includes('currency')) queries.push(['currency=XXX', { currency: 'XXX' }]);

    const before = await state(fx);
    for (const [label, query] of queries) {
      const response = await call(as, 'GET', path, { query });
      expectRefused(`${name}: ${label}`, response, 400, 'validation_failed');
    }
    expect(await state(fx)).toEqual(before);
    // The route itself answers a plain request (so the 400s above were about the query).
    expectOk(await call(as, 'GET', path, { query: { limit: '2' } }));
  });
});
