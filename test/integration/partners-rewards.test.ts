/**
 * Partners and rewards through the real Lambda handlers, against dynalite. The table is shared with
 * other test files running at the same time, so every test makes its own partners and only asserts
 * on what it created.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeCursor } from '../../shared/adapters/table.ts';
import { newId } from '../../shared/domain/ids.ts';
import { expectProblem, listAll } from '../support/expect.ts';
import { anonymous, type CallResult, call, cognito, manager, partner } from '../support/http.ts';

const SEPA = { type: 'sepa', accountHolder: 'Ada Lovelace', iban: 'DE89 3704 0044 0532 0130 00' };
const ADDRESS = { line1: '1 Analytical Way', city: 'London', postalCode: 'N1 9GU', country: 'GB' };

function errorPaths(response: CallResult): string[] {
  return ((response.body?.errors ?? []) as { path: string }[]).map((error) => error.path);
}

async function createPartner(overrides: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const response = await call(manager, 'POST', '/partners', {
    body: { name: 'Ada Lovelace', email: `ada+${randomUUID()}@example.com`, ...overrides },
  });
  expect(response.status).toBe(201);
  return response.body;
}

async function createReward(body: Record<string, unknown>): Promise<CallResult> {
  return call(manager, 'POST', '/rewards', { body: { amount: 1250, currency: 'EUR', ...body } });
}

describe('partners', () => {
  it('creates a partner (201) and reads it back', async () => {
    const email = `grace+${randomUUID()}@example.com`;
    const created = await call(manager, 'POST', '/partners', {
      body: { name: 'Grace Hopper', email, country: 'US', address: ADDRESS, payoutMethod: SEPA },
    });
    expect(created.status).toBe(201);
    expect(created.headers['content-type']).toBe('application/json');
    expect(created.body.id).toMatch(/^pt_[0-9A-HJKMNP-TV-Z]{26}$/);

    const read = await call(manager, 'GET', `/partners/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual({
      id: created.body.id,
      name: 'Grace Hopper',
      email,
      country: 'US',
      address: ADDRESS,
      payoutMethod: { ...SEPA, iban: 'DE89370400440532013000' },
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: created.body.createdAt,
    });
  });

  it('answers 400 for an invalid partner, and stores nothing', async () => {
    const email = `bad+${randomUUID()}@example.com`;
    const response = await call(manager, 'POST', '/partners', {
      body: { name: 'Bad', email, payoutMethod: { ...SEPA, iban: 'DE88370400440532013000' } },
    });
    expectProblem(response, 400, 'validation_failed');
    expect(errorPaths(response)).toEqual(['payoutMethod.iban']);
    const all = await listAll(manager, '/partners', {});
    expect(all.some((p) => p.email === email)).toBe(false);
  });

  it('pages through every partner with limit=1, each seen once', async () => {
    const mine = [await createPartner(), await createPartner(), await createPartner()];
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; ; pages++) {
      expect(pages).toBeLessThan(5000);
      const response = await call(manager, 'GET', '/partners', {
        query: { limit: '1', ...(cursor ? { cursor } : {}) },
      });
      expect(response.status).toBe(200);
      expect(response.body.items.length).toBeLessThanOrEqual(1);
      seen.push(...response.body.items.map((item: { id: string }) => item.id));
      if (response.body.nextCursor === null) break;
      expect(typeof response.body.nextCursor).toBe('string');
      cursor = response.body.nextCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const created of mine) expect(seen).toContain(created.id);
    // Oldest first: my three partners appear in creation order.
    const positions = mine.map((created) => seen.indexOf(created.id));
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('answers 400 validation_failed (never 500) for a tampered cursor', async () => {
    await createPartner();
    await createPartner();
    const first = await call(manager, 'GET', '/partners', { query: { limit: '1' } });
    expect(first.status).toBe(200);
    const cursor: string = first.body.nextCursor;
    expect(cursor).toEqual(expect.any(String));

    const flipped = `${cursor.slice(0, 10)}${cursor[10] === 'A' ? 'B' : 'A'}${cursor.slice(11)}`;
    const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const reencode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const rewardCursor = (await call(manager, 'GET', '/rewards', { query: { limit: '1' } })).body;
    const partnersIdentity = { i: 'GSI2', p: 'PARTNERS', s: null, f: null, a: true };
    const tampered: [string, string][] = [
      ['a flipped character', flipped],
      ['a truncated cursor', cursor.slice(0, cursor.length - 5)],
      ['not base64url', `${cursor}!!`],
      ['plain text', 'hello'],
      ['base64 of garbage', Buffer.from('{{{').toString('base64url')],
      ['JSON that is not an object', reencode([1, 2])],
      ['another fingerprint', reencode({ ...decoded, f: 'AAAAAAAAAAAAAAAA' })],
      ['a number in the key', reencode({ ...decoded, k: { ...decoded.k, GSI2SK: 42 } })],
      ['an extra key field', reencode({ ...decoded, k: { ...decoded.k, GSI1PK: 'x' } })],
      ['a missing key field', reencode({ ...decoded, k: { PK: decoded.k.PK } })],
      [
        'a key of another partition, correctly fingerprinted',
        encodeCursor(
          { PK: 'PARTNER#x', SK: 'PARTNER', GSI2PK: 'REWARDS', GSI2SK: '2020-01-01T00:00:00.000Z#x' },
          partnersIdentity,
        ),
      ],
    ];
    if (typeof rewardCursor?.nextCursor === 'string') {
      tampered.push(['a cursor of another list', rewardCursor.nextCursor]);
    }
    for (const [name, bad] of tampered) {
      const response = await call(manager, 'GET', '/partners', { query: { limit: '1', cursor: bad } });
      expect({ name, status: response.status }).toEqual({ name, status: 400 });
      expectProblem(response, 400, 'validation_failed');
    }
    // The genuine cursor still works.
    expect((await call(manager, 'GET', '/partners', { query: { limit: '1', cursor } })).status).toBe(200);
  });

  it.each([
    ['limit=0', { limit: '0' }, 'query.limit'],
    ['limit=101', { limit: '101' }, 'query.limit'],
    ['limit=abc', { limit: 'abc' }, 'query.limit'],
    ['limit=1.5', { limit: '1.5' }, 'query.limit'],
    ['an unknown parameter', { sort: 'name' }, 'query'],
  ])('answers 400 for %s', async (_name, query, path) => {
    const response = await call(manager, 'GET', '/partners', { query });
    expectProblem(response, 400, 'validation_failed');
    expect(errorPaths(response)).toContain(path);
  });

  it('accepts limit=100 and defaults to 25', async () => {
    expect((await call(manager, 'GET', '/partners', { query: { limit: '100' } })).status).toBe(200);
    const response = await call(manager, 'GET', '/partners');
    expect(response.status).toBe(200);
    expect(response.body.items.length).toBeLessThanOrEqual(25);
    expect(Object.keys(response.body).sort()).toEqual(['items', 'nextCursor']);
  });

  it('PATCHes a partner: set fields change, null removes, absent fields stay', async () => {
    const created = await createPartner({ country: 'DE', address: ADDRESS, payoutMethod: SEPA });
    const patched = await call(manager, 'PATCH', `/partners/${created.id}`, {
      body: { name: 'Ada King', address: null, payoutMethod: { type: 'paypal', email: 'ada@example.com' } },
    });
    expect(patched.status).toBe(200);

    const read = await call(manager, 'GET', `/partners/${created.id}`);
    expect(read.status).toBe(200);
    expect(read.body.name).toBe('Ada King');
    expect(read.body).not.toHaveProperty('address');
    expect(read.body.country).toBe('DE');
    expect(read.body.email).toBe(created.email);
    expect(read.body.payoutMethod).toEqual({ type: 'paypal', email: 'ada@example.com' });
    expect(read.body.createdAt).toBe(created.createdAt);
    expect(read.body.updatedAt >= created.updatedAt).toBe(true);
    expect(patched.body).toEqual(read.body);

    const cleared = await call(manager, 'PATCH', `/partners/${created.id}`, {
      body: { payoutMethod: null, country: null },
    });
    expect(cleared.status).toBe(200);
    const again = await call(manager, 'GET', `/partners/${created.id}`);
    expect(again.body.payoutMethod).toBeNull();
    expect(again.body).not.toHaveProperty('country');
    expect(again.body.name).toBe('Ada King');
  });

  it('answers 400 for a bad PATCH and changes nothing', async () => {
    const created = await createPartner({ address: ADDRESS });
    for (const body of [
      { email: 'nope' },
      { id: newId('partner') },
      { name: '' },
      { address: { city: 'X' } },
    ]) {
      const response = await call(manager, 'PATCH', `/partners/${created.id}`, { body });
      expectProblem(response, 400, 'validation_failed');
    }
    const read = await call(manager, 'GET', `/partners/${created.id}`);
    expect(read.body).toEqual(created);
  });

  it('answers 404 for an unknown partner, on GET and PATCH, without creating it', async () => {
    const id = newId('partner');
    expectProblem(await call(manager, 'GET', `/partners/${id}`), 404, 'not_found');
    expectProblem(await call(manager, 'PATCH', `/partners/${id}`, { body: { name: 'X' } }), 404, 'not_found');
    expectProblem(await call(manager, 'GET', `/partners/${id}`), 404, 'not_found');
    expectProblem(await call(manager, 'GET', '/partners/not-an-id'), 404, 'not_found');
  });
});

describe('the partner profile', () => {
  it('shows a partner its own profile', async () => {
    const created = await createPartner({ address: ADDRESS });
    const response = await call(partner(created.id), 'GET', '/partner/profile');
    expect(response.status).toBe(200);
    expect(response.body).toEqual(created);
  });

  it('lets a partner change its payout method and address', async () => {
    const created = await createPartner({ address: ADDRESS });
    const newAddress = { line1: '2 Rue de Rivoli', city: 'Paris', postalCode: '75001', country: 'FR' };
    const response = await call(partner(created.id), 'PATCH', '/partner/profile', {
      body: {
        address: newAddress,
        payoutMethod: { type: 'sepa', accountHolder: 'Ada', iban: 'FR14 2004 1010 0505 0001 3M02 606' },
      },
    });
    expect(response.status).toBe(200);

    const read = await call(manager, 'GET', `/partners/${created.id}`);
    expect(read.body.address).toEqual(newAddress);
    expect(read.body.payoutMethod).toEqual({
      type: 'sepa',
      accountHolder: 'Ada',
      iban: 'FR1420041010050500013M02606',
    });
    expect(read.body.name).toBe(created.name);
    expect(read.body.email).toBe(created.email);

    const removed = await call(partner(created.id), 'PATCH', '/partner/profile', { body: { address: null } });
    expect(removed.status).toBe(200);
    const after = await call(partner(created.id), 'GET', '/partner/profile');
    expect(after.body).not.toHaveProperty('address');
    expect(after.body.payoutMethod.iban).toBe('FR1420041010050500013M02606');
  });

  it.each([
    ['name', { name: 'Evil Corp' }],
    ['email', { email: 'evil@example.com' }],
    ['country', { country: 'FR' }],
  ])('refuses a change of %s with 400 (unknown field) and changes nothing', async (field, body) => {
    const created = await createPartner({ country: 'DE' });
    const response = await call(partner(created.id), 'PATCH', '/partner/profile', { body });
    expectProblem(response, 400, 'validation_failed');
    expect(JSON.stringify(response.body.errors)).toContain(field);
    const read = await call(manager, 'GET', `/partners/${created.id}`);
    expect(read.body).toEqual(created);
  });

  it('answers 404 to a partner token whose partner does not exist', async () => {
    const ghost = newId('partner');
    expectProblem(await call(partner(ghost), 'GET', '/partner/profile'), 404, 'not_found');
    expectProblem(
      await call(partner(ghost), 'PATCH', '/partner/profile', { body: { address: ADDRESS } }),
      404,
      'not_found',
    );
    expectProblem(await call(manager, 'GET', `/partners/${ghost}`), 404, 'not_found');
  });
});

describe('rewards', () => {
  it('creates a reward (201) and reads it back', async () => {
    const owner = await createPartner();
    const created = await createReward({ partnerId: owner.id, amount: 4200, description: 'Referral' });
    expect(created.status).toBe(201);
    const read = await call(manager, 'GET', `/rewards/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual({
      id: expect.stringMatching(/^rw_[0-9A-HJKMNP-TV-Z]{26}$/),
      partnerId: owner.id,
      amount: 4200,
      currency: 'EUR',
      status: 'pending',
      description: 'Referral',
      payoutId: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      version: 1,
    });
    expect(read.body).toEqual(created.body);
  });

  it('de-duplicates on externalId: same fields → 200 with the same reward, other fields → 409', async () => {
    const owner = await createPartner();
    const externalId = `order-${randomUUID()}`;
    const body = { partnerId: owner.id, amount: 999, currency: 'EUR', externalId };
    const first = await createReward(body);
    expect(first.status).toBe(201);
    const again = await createReward(body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);

    const other = await createReward({ ...body, amount: 1000 });
    expectProblem(other, 409, 'conflict');
    const otherCurrency = await createReward({ ...body, currency: 'USD' });
    expectProblem(otherCurrency, 409, 'conflict');

    const listed = await listAll(manager, '/rewards', { partnerId: owner.id });
    expect(listed.map((reward) => [reward.id, reward.amount, reward.externalId])).toEqual([
      [first.body.id, 999, externalId],
    ]);
  });

  it('answers 422 for an unknown partner and stores nothing', async () => {
    const ghost = newId('partner');
    const response = await createReward({ partnerId: ghost, externalId: `order-${randomUUID()}` });
    expectProblem(response, 422, 'unknown_partner');
    expect(await listAll(manager, '/rewards', { partnerId: ghost })).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['amount 0', { amount: 0 }, 'amount'],
    ['amount 1.5', { amount: 1.5 }, 'amount'],
    ['amount "100"', { amount: '100' }, 'amount'],
    ['currency XXX', { currency: 'XXX' }, 'currency'],
    ['an unknown field', { payoutId: null }, '(body)'],
    ['status paid', { status: 'paid' }, 'status'],
  ])('answers 400 for %s', async (_name, override, path) => {
    const owner = await createPartner();
    const response = await createReward({ partnerId: owner.id, ...override });
    expectProblem(response, 400, 'validation_failed');
    expect(errorPaths(response)).toContain(path);
    expect(await listAll(manager, '/rewards', { partnerId: owner.id })).toEqual([]);
  });

  it('filters lists by partner and status', async () => {
    const owner = await createPartner();
    const other = await createPartner();
    const pending = await createReward({ partnerId: owner.id, amount: 100 });
    const accepted = await createReward({ partnerId: owner.id, amount: 200, status: 'accepted' });
    const accepted2 = await createReward({ partnerId: owner.id, amount: -50, status: 'accepted' });
    const foreign = await createReward({ partnerId: other.id, amount: 300, status: 'accepted' });
    for (const response of [pending, accepted, accepted2, foreign]) expect(response.status).toBe(201);

    const ofOwner = await listAll(manager, '/rewards', { partnerId: owner.id });
    expect(ofOwner.map((reward) => reward.id).sort()).toEqual(
      [pending.body.id, accepted.body.id, accepted2.body.id].sort(),
    );

    const acceptedOfOwner = await listAll(manager, '/rewards', { partnerId: owner.id, status: 'accepted' });
    expect(acceptedOfOwner.map((reward) => reward.id).sort()).toEqual(
      [accepted.body.id, accepted2.body.id].sort(),
    );

    const pendingOfOwner = await listAll(manager, '/rewards', { partnerId: owner.id, status: 'pending' }, 1);
    expect(pendingOfOwner.map((reward) => reward.id)).toEqual([pending.body.id]);

    const allAccepted = await listAll(manager, '/rewards', { status: 'accepted' });
    expect(allAccepted.every((reward) => reward.status === 'accepted')).toBe(true);
    const ids = allAccepted.map((reward) => reward.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of [accepted.body.id, accepted2.body.id, foreign.body.id]) expect(ids).toContain(id);
    expect(ids).not.toContain(pending.body.id);

    const pagedOwner = await listAll(manager, '/rewards', { partnerId: owner.id }, 1);
    expect(pagedOwner.map((reward) => reward.id).sort()).toEqual(ofOwner.map((reward) => reward.id).sort());

    expectProblem(
      await call(manager, 'GET', '/rewards', { query: { status: 'lost' } }),
      400,
      'validation_failed',
    );
  });

  it('accepts and refuses rewards; refusing needs a reason', async () => {
    const owner = await createPartner();
    const a = (await createReward({ partnerId: owner.id, amount: 100 })).body;
    const b = (await createReward({ partnerId: owner.id, amount: 200 })).body;

    const accepted = await call(manager, 'POST', `/rewards/${a.id}/accept`, { body: {} });
    expect(accepted.status).toBe(200);
    expect((await call(manager, 'GET', `/rewards/${a.id}`)).body.status).toBe('accepted');

    for (const body of [{}, { reason: '' }, { reason: '   ' }]) {
      const response = await call(manager, 'POST', `/rewards/${b.id}/refuse`, { body });
      expectProblem(response, 400, 'validation_failed');
      expect(errorPaths(response)).toContain('reason');
    }
    const noBody = await call(manager, 'POST', `/rewards/${b.id}/refuse`);
    expectProblem(noBody, 400, 'validation_failed');
    expect((await call(manager, 'GET', `/rewards/${b.id}`)).body.status).toBe('pending');

    const refused = await call(manager, 'POST', `/rewards/${b.id}/refuse`, { body: { reason: 'Duplicate' } });
    expect(refused.status).toBe(200);
    const readB = await call(manager, 'GET', `/rewards/${b.id}`);
    expect(readB.body).toMatchObject({ status: 'refused', refusalReason: 'Duplicate', amount: 200 });

    // A refused reward may be accepted again; the refusal reason goes.
    expect((await call(manager, 'POST', `/rewards/${b.id}/accept`, { body: {} })).status).toBe(200);
    const reaccepted = await call(manager, 'GET', `/rewards/${b.id}`);
    expect(reaccepted.body.status).toBe('accepted');
    expect(reaccepted.body).not.toHaveProperty('refusalReason');

    const statuses = await listAll(manager, '/rewards', { partnerId: owner.id, status: 'accepted' });
    expect(statuses.map((reward) => reward.id).sort()).toEqual([a.id, b.id].sort());
  });

  it('answers 400 (never 500) for forged or foreign cursors on reward lists', async () => {
    const owner = await createPartner();
    const other = await createPartner();
    for (const amount of [1, 2, 3]) {
      expect((await createReward({ partnerId: owner.id, amount })).status).toBe(201);
      expect((await createReward({ partnerId: other.id, amount })).status).toBe(201);
    }
    const ofOther = await call(manager, 'GET', '/rewards', { query: { partnerId: other.id, limit: '1' } });
    expect(ofOther.body.nextCursor).toEqual(expect.any(String));
    const identity = { i: 'GSI1', p: `PARTNER#${owner.id}`, s: 'RW#', f: null, a: true };
    const forged: [string, Record<string, string>, string][] = [
      ['a cursor of another partner', { partnerId: owner.id }, ofOther.body.nextCursor],
      [
        'a cursor of the same partner with a status filter',
        { partnerId: other.id, status: 'pending' },
        ofOther.body.nextCursor,
      ],
      [
        'a forged key outside the sort prefix',
        { partnerId: owner.id },
        encodeCursor(
          { PK: 'REWARD#x', SK: 'REWARD', GSI1PK: `PARTNER#${owner.id}`, GSI1SK: 'PO#x' },
          identity,
        ),
      ],
      [
        'a forged key of another partition',
        { partnerId: owner.id },
        encodeCursor(
          { PK: 'REWARD#x', SK: 'REWARD', GSI1PK: `PARTNER#${other.id}`, GSI1SK: 'RW#x' },
          identity,
        ),
      ],
    ];
    for (const [name, query, cursor] of forged) {
      const response = await call(manager, 'GET', '/rewards', { query: { ...query, limit: '1', cursor } });
      expect({ name, status: response.status }).toEqual({ name, status: 400 });
      expectProblem(response, 400, 'validation_failed');
    }
    // A well-formed key inside the range still pages on.
    const inRange = encodeCursor(
      { PK: 'REWARD#x', SK: 'REWARD', GSI1PK: `PARTNER#${owner.id}`, GSI1SK: 'RW#0' },
      identity,
    );
    const page = await call(manager, 'GET', '/rewards', {
      query: { partnerId: owner.id, limit: '10', cursor: inRange },
    });
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(3);
  });

  it('answers 404 for an unknown reward', async () => {
    const id = newId('reward');
    expectProblem(await call(manager, 'GET', `/rewards/${id}`), 404, 'not_found');
    expectProblem(await call(manager, 'POST', `/rewards/${id}/accept`, { body: {} }), 404, 'not_found');
    expectProblem(
      await call(manager, 'POST', `/rewards/${id}/refuse`, { body: { reason: 'x' } }),
      404,
      'not_found',
    );
    expectProblem(await call(manager, 'GET', '/rewards/whatever'), 404, 'not_found');
    const owner = await createPartner();
    // A partner id is not a reward id.
    expectProblem(await call(manager, 'GET', `/rewards/${owner.id}`), 404, 'not_found');
  });
});

describe('auth', () => {
  it('answers 401 without claims', async () => {
    expectProblem(await call(anonymous, 'GET', '/partners'), 401, 'unauthorized');
    expectProblem(await call(anonymous, 'POST', '/partners', { body: { name: 'X' } }), 401, 'unauthorized');
    expectProblem(await call(anonymous, 'GET', '/partner/profile'), 401, 'unauthorized');
    expectProblem(await call(anonymous, 'GET', `/rewards/${newId('reward')}`), 401, 'unauthorized');
  });

  it('answers 403 to a partner token on manager routes, and creates nothing', async () => {
    const owner = await createPartner();
    const as = partner(owner.id);
    expectProblem(await call(as, 'GET', '/partners'), 403, 'forbidden');
    expectProblem(await call(as, 'GET', `/partners/${owner.id}`), 403, 'forbidden');
    expectProblem(
      await call(as, 'PATCH', `/partners/${owner.id}`, { body: { name: 'Me' } }),
      403,
      'forbidden',
    );
    expectProblem(
      await call(as, 'POST', '/rewards', { body: { partnerId: owner.id, amount: 100, currency: 'EUR' } }),
      403,
      'forbidden',
    );
    expect(await listAll(manager, '/rewards', { partnerId: owner.id })).toEqual([]);
    expect((await call(manager, 'GET', `/partners/${owner.id}`)).body.name).toBe(owner.name);
  });

  it('answers 403 to a manager token on partner routes', async () => {
    expectProblem(await call(manager, 'GET', '/partner/profile'), 403, 'forbidden');
    expectProblem(
      await call(manager, 'PATCH', '/partner/profile', { body: { address: ADDRESS } }),
      403,
      'forbidden',
    );
  });

  it('answers 403 to a token with no known role', async () => {
    expectProblem(await call({ claims: { sub: 'someone' } }, 'GET', '/partners'), 403, 'forbidden');
    expectProblem(
      await call({ claims: { sub: 'x', role: 'partner' } }, 'GET', '/partner/profile'),
      403,
      'forbidden',
    );
  });

  it('accepts Cognito-style claims', async () => {
    const owner = await createPartner();
    const asManager = cognito('m', { groups: ['managers'] });
    expect((await call(asManager, 'GET', `/partners/${owner.id}`)).status).toBe(200);
    const asPartner = cognito('p', { partnerId: owner.id });
    expect((await call(asPartner, 'GET', '/partner/profile')).body.id).toBe(owner.id);
  });
});

describe('request bodies', () => {
  it('answers 400 for malformed JSON', async () => {
    const response = await call(manager, 'POST', '/partners', {
      rawBody: '{"name": "Ada", "email": ',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(response, 400, 'validation_failed');
  });

  it('answers 415 for a text/plain body, and creates nothing', async () => {
    const owner = await createPartner();
    const response = await call(manager, 'POST', '/rewards', {
      rawBody: JSON.stringify({ partnerId: owner.id, amount: 100, currency: 'EUR' }),
      headers: { 'content-type': 'text/plain' },
    });
    expectProblem(response, 415, 'unsupported_media_type');
    expect(await listAll(manager, '/rewards', { partnerId: owner.id })).toEqual([]);
  });

  it('accepts application/json with a charset', async () => {
    const owner = await createPartner();
    const response = await call(manager, 'POST', '/rewards', {
      rawBody: JSON.stringify({ partnerId: owner.id, amount: 100, currency: 'EUR' }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(response.status).toBe(201);
  });

  it('answers 413 for a body over 256 KiB, and creates nothing', async () => {
    const owner = await createPartner();
    const response = await call(manager, 'POST', '/rewards', {
      body: { partnerId: owner.id, amount: 100, currency: 'EUR', description: 'x'.repeat(257 * 1024) },
    });
    expectProblem(response, 413, 'payload_too_large');
    expect(await listAll(manager, '/rewards', { partnerId: owner.id })).toEqual([]);
  });
});

describe('Idempotency-Key', () => {
  it('replays the first response for the same key and body, acting once', async () => {
    const owner = await createPartner();
    const headers = { 'idempotency-key': randomUUID() };
    const body = { partnerId: owner.id, amount: 777, currency: 'EUR' };
    const first = await call(manager, 'POST', '/rewards', { body, headers });
    expect(first.status).toBe(201);
    const second = await call(manager, 'POST', '/rewards', { body, headers });
    expect(second.status).toBe(first.status);
    expect(second.body).toEqual(first.body);

    const listed = await listAll(manager, '/rewards', { partnerId: owner.id });
    expect(listed.map((reward) => reward.id)).toEqual([first.body.id]);

    // Without the key, the same body creates another reward.
    const third = await call(manager, 'POST', '/rewards', { body });
    expect(third.status).toBe(201);
    expect(third.body.id).not.toBe(first.body.id);
    expect(await listAll(manager, '/rewards', { partnerId: owner.id })).toHaveLength(2);
  });

  it('replays a partner creation too', async () => {
    const headers = { 'Idempotency-Key': randomUUID() };
    const body = { name: 'Once', email: `once+${randomUUID()}@example.com` };
    const first = await call(manager, 'POST', '/partners', { body, headers });
    const second = await call(manager, 'POST', '/partners', { body, headers });
    expect(first.status).toBe(201);
    expect(second).toEqual(first);
    const all = await listAll(manager, '/partners', {});
    expect(all.filter((p) => p.email === body.email)).toHaveLength(1);
  });

  it('answers 409 idempotency_key_reused for the same key with another body', async () => {
    const owner = await createPartner();
    const headers = { 'idempotency-key': randomUUID() };
    const first = await call(manager, 'POST', '/rewards', {
      body: { partnerId: owner.id, amount: 100, currency: 'EUR' },
      headers,
    });
    expect(first.status).toBe(201);
    const reused = await call(manager, 'POST', '/rewards', {
      body: { partnerId: owner.id, amount: 200, currency: 'EUR' },
      headers,
    });
    expectProblem(reused, 409, 'idempotency_key_reused');
    const listed = await listAll(manager, '/rewards', { partnerId: owner.id });
    expect(listed.map((reward) => [reward.id, reward.amount])).toEqual([[first.body.id, 100]]);
  });
});
