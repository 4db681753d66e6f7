/**
 * Authorization over the whole route catalogue: the cases are generated from ROUTES, so a new route
 * is covered the day it is added. A partner never tells a foreign or draft payout from an unknown
 * id (the same 404); manager routes refuse partner tokens (403); every non-public route refuses a
 * request without claims (401); and none of these refusals changes anything.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { newId } from '../../shared/domain/ids.ts';
import { allows, MANAGER_ROLES, type ManagerPermission } from '../../shared/domain/roles.ts';
import { ROUTES, type RouteSpec } from '../../shared/http/routes.ts';
import { expectOk, expectProblem, listAll } from '../support/expect.ts';
import { anonymous, call, cognito, manager, managerAs, partner } from '../support/http.ts';

// Many requests per test; leave room for a busy 2-core machine.
vi.setConfig({ testTimeout: 60_000 });

const ALL = Object.entries(ROUTES) as [string, RouteSpec][];
const PARTNER_ID_ROUTES = ALL.filter(([, spec]) => spec.access === 'partner' && spec.path.includes('{id}'));
const MANAGER_ROUTES = ALL.filter(([, spec]) => spec.access === 'manager');
const PROTECTED_ROUTES = ALL.filter(([, spec]) => spec.access !== 'public');
const PARTNER_ROUTES = ALL.filter(([, spec]) => spec.access === 'partner');
/** One row per manager role and route: the role holds the route's permission or is refused. */
const ROLE_ROWS = MANAGER_ROLES.flatMap((role) =>
  MANAGER_ROUTES.map(([name, spec]) => [role, name, spec] as const),
);
/** Cognito groups that grant each role (`managers` is the original group: admin). */
const ROLE_GROUP: Record<(typeof MANAGER_ROLES)[number], string> = {
  viewer: 'payouts-viewer',
  program_manager: 'payouts-program-managers',
  finance: 'payouts-finance',
  admin: 'payouts-admins',
};

// ------------------------------------------------------------------ helpers

async function newPartner(): Promise<any> {
  const response = await call(manager, 'POST', '/partners', {
    body: {
      name: 'Authz Partner',
      email: `authz+${randomUUID()}@example.com`,
      payoutMethod: { type: 'paypal', email: 'authz@example.com' },
    },
  });
  return expectOk(response, 201);
}

async function newReward(partnerId: string, amount = 1000, status: 'pending' | 'accepted' = 'accepted') {
  const response = await call(manager, 'POST', '/rewards', {
    body: { partnerId, amount, currency: 'EUR', status },
  });
  return expectOk(response, 201);
}

async function newPayout(
  partnerId: string,
  status: 'draft' | 'pending',
): Promise<{ id: string; rewardId: string }> {
  const reward = await newReward(partnerId);
  const created = expectOk(
    await call(manager, 'POST', '/payouts', { body: { partnerId, currency: 'EUR', rewardIds: [reward.id] } }),
    201,
  );
  if (status === 'pending')
    expectOk(await call(manager, 'POST', `/payouts/${created.id}/validate`, { body: {} }));
  return { id: created.id, rewardId: reward.id };
}

/**
 * A valid body for a route: the first candidate its schema accepts. Generic on purpose: a new route
 * whose body none of these satisfies fails loudly here rather than being tested with a 400.
 */
function validBody(spec: RouteSpec, partnerId: string, rewardIds: string[] = []): unknown {
  if (!spec.body) return undefined;
  // Scoped bodies first: should authorization ever let one through, it acts on this test's partner
  // only (an empty POST /payout-runs body would draft for every partner in the shared table).
  const candidates: unknown[] = [
    ...(rewardIds.length ? [{ partnerId, currency: 'EUR', rewardIds }] : []),
    { partnerId, currency: 'EUR' },
    { partnerId, amount: 1234, currency: 'EUR' },
    { decision: 'approve' },
    { comment: 'Please check' },
    { reason: 'Because' },
    { name: 'Someone', email: `someone+${randomUUID()}@example.com` },
    { format: 'csv', payoutIds: [newId('payout')] },
    { scope: 'partner', targetId: partnerId, reasonCode: 'OTHER' },
    { note: 'Checked' },
    { url: 'http://127.0.0.1:9/hooks', eventTypes: ['webhook.test'] },
    { fileName: 'report.xml' },
    { eventIds: [newId('event')] },
    {},
  ];
  const body = candidates.find((candidate) => spec.body?.safeParse(candidate).success);
  if (body === undefined) throw new Error(`No valid sample body for ${spec.method} ${spec.path}`);
  return body;
}

function fill(path: string, params: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`No value for {${name}} in ${path}`);
    return value;
  });
}

/** Real ids for a manager path: a call that slipped through authorization would act on them. */
function managerParams(path: string, ids: { partnerId: string; rewardId: string; payoutId: string }) {
  const first = path.split('/')[1];
  const id =
    first === 'partners'
      ? ids.partnerId
      : first === 'rewards'
        ? ids.rewardId
        : first === 'payouts'
          ? ids.payoutId
          : `${first}_${randomUUID()}`;
  return { id, rewardId: ids.rewardId };
}

async function partnerState(partnerId: string) {
  const payouts = await listAll(manager, '/payouts', { partnerId });
  const events: Record<string, unknown> = {};
  for (const payout of payouts) events[payout.id] = await listAll(manager, `/payouts/${payout.id}/events`);
  return {
    partner: expectOk(await call(manager, 'GET', `/partners/${partnerId}`)),
    rewards: await listAll(manager, '/rewards', { partnerId }),
    payouts,
    events,
  };
}

// ------------------------------------------------------------------ the catalogue itself

describe('the generated cases', () => {
  it('cover the routes of the catalogue', () => {
    expect(PARTNER_ID_ROUTES.length).toBeGreaterThanOrEqual(6);
    for (const path of [
      '/partner/payouts/{id}',
      '/partner/payouts/{id}/rewards',
      '/partner/payouts/{id}/validate',
      '/partner/payouts/{id}/request-changes',
      '/partner/payouts/{id}/rewards/{rewardId}/review',
    ]) {
      expect(PARTNER_ID_ROUTES.map(([, spec]) => spec.path)).toContain(path);
    }
    expect(MANAGER_ROUTES.length).toBeGreaterThanOrEqual(15);
    expect(ALL.filter(([, spec]) => spec.access === 'public').map(([, spec]) => spec.path)).toEqual([
      '/health',
    ]);
  });
});

// ------------------------------------------------------------------ partner: 404 for anything not its own

describe('a partner cannot tell a foreign or draft payout from an unknown id', () => {
  let me: any;
  let other: any;
  let foreignPending: { id: string; rewardId: string };
  let foreignDraft: { id: string; rewardId: string };
  let ownDraft: { id: string; rewardId: string };
  let ownPending: { id: string; rewardId: string };

  beforeAll(async () => {
    me = await newPartner();
    other = await newPartner();
    foreignPending = await newPayout(other.id, 'pending');
    foreignDraft = await newPayout(other.id, 'draft');
    ownDraft = await newPayout(me.id, 'draft');
    ownPending = await newPayout(me.id, 'pending');
  });

  it.each(PARTNER_ID_ROUTES)(
    '%s answers the same 404 for foreign, draft and unknown ids',
    async (name, spec) => {
      const as = partner(me.id);
      const cases: [string, Record<string, string>][] = [
        ['unknown payout', { id: newId('payout'), rewardId: newId('reward') }],
        ['foreign pending payout', { id: foreignPending.id, rewardId: foreignPending.rewardId }],
        ['foreign draft payout', { id: foreignDraft.id, rewardId: foreignDraft.rewardId }],
        ['own draft payout', { id: ownDraft.id, rewardId: ownDraft.rewardId }],
        [
          'a reward of a foreign payout in an own pending payout',
          { id: ownPending.id, rewardId: foreignPending.rewardId },
        ],
        ['not an id at all', { id: 'nope', rewardId: 'nope' }],
      ];
      const before = { me: await partnerState(me.id), other: await partnerState(other.id) };
      const seen: { name: string; status: number; code: string; title: string; type: string }[] = [];
      for (const [label, params] of cases) {
        // The own-pending case only makes sense for routes that name a reward.
        if (label.startsWith('a reward') && !spec.path.includes('{rewardId}')) continue;
        const response = await call(as, spec.method, fill(spec.path, params), {
          ...(spec.body ? { body: validBody(spec, me.id) } : {}),
        });
        expect(response.headers['content-type']).toBe('application/problem+json');
        seen.push({
          name: `${name}: ${label}`,
          status: response.status,
          code: response.body?.code,
          title: response.body?.title,
          type: response.body?.type,
        });
      }
      const reference = seen[0] as (typeof seen)[number];
      expect(reference).toMatchObject({ status: 404, code: 'not_found' });
      for (const entry of seen) {
        expect(entry).toEqual({ ...reference, name: entry.name });
      }
      // Nothing happened to either partner's data.
      expect({ me: await partnerState(me.id), other: await partnerState(other.id) }).toEqual(before);
    },
  );

  it.each(PARTNER_ID_ROUTES)(
    '%s does answer for an own pending payout (positive control)',
    async (name, spec) => {
      const mine = await newPayout(me.id, 'pending');
      const response = await call(
        partner(me.id),
        spec.method,
        fill(spec.path, { id: mine.id, rewardId: mine.rewardId }),
        {
          ...(spec.body ? { body: validBody(spec, me.id) } : {}),
        },
      );
      // The self-billed invoice routes answer for an own payout with 409 while it has no self-billed
      // invoice (this pending payout is not in self_billed mode): an answer, not the 404 of a stranger.
      const selfBilling = name === 'getOwnSelfBilledInvoice' || name === 'previewOwnSelfBilledInvoice';
      const expected = selfBilling ? 409 : spec.status;
      expect({
        name,
        status: response.status,
        body: response.status < 300 || (selfBilling && response.status === 409) ? null : response.body,
      }).toEqual({
        name,
        status: expected,
        body: null,
      });
    },
  );
});

// ------------------------------------------------------------------ wrong role, no claims

describe('roles', () => {
  let owner: any;
  let ids: { partnerId: string; rewardId: string; payoutId: string };

  beforeAll(async () => {
    owner = await newPartner();
    const draft = await newPayout(owner.id, 'draft');
    // An unclaimed reward, so that a POST /payouts that slipped through would claim it.
    const loose = await newReward(owner.id, 500, 'pending');
    ids = { partnerId: owner.id, rewardId: loose.id, payoutId: draft.id };
    expect(draft.rewardId).not.toBe(loose.id);
  });

  it.each(MANAGER_ROUTES)('%s answers 403 to a partner token and changes nothing', async (name, spec) => {
    const before = await partnerState(owner.id);
    const response = await call(
      partner(owner.id),
      spec.method,
      fill(spec.path, managerParams(spec.path, ids)),
      {
        ...(spec.body ? { body: validBody(spec, owner.id, [ids.rewardId]) } : {}),
      },
    );
    expect({ name, status: response.status, code: response.body?.code }).toEqual({
      name,
      status: 403,
      code: 'forbidden',
    });
    expectProblem(response, 403, 'forbidden');
    expect(await partnerState(owner.id)).toEqual(before);
  });

  it.each(PARTNER_ROUTES)('%s answers 403 to a manager token', async (name, spec) => {
    const pending = await newPayout(owner.id, 'pending');
    const before = await partnerState(owner.id);
    const response = await call(
      manager,
      spec.method,
      fill(spec.path, { id: pending.id, rewardId: pending.rewardId }),
      {
        ...(spec.body ? { body: validBody(spec, owner.id) } : {}),
      },
    );
    expect({ name, status: response.status, code: response.body?.code }).toEqual({
      name,
      status: 403,
      code: 'forbidden',
    });
    expect(await partnerState(owner.id)).toEqual(before);
  });

  it.each(PROTECTED_ROUTES)('%s answers 401 without claims and changes nothing', async (name, spec) => {
    const before = await partnerState(owner.id);
    const params =
      spec.access === 'partner'
        ? { id: ids.payoutId, rewardId: ids.rewardId }
        : managerParams(spec.path, ids);
    const response = await call(anonymous, spec.method, fill(spec.path, params), {
      ...(spec.body ? { body: validBody(spec, owner.id, [ids.rewardId]) } : {}),
    });
    expect({ name, status: response.status, code: response.body?.code }).toEqual({
      name,
      status: 401,
      code: 'unauthorized',
    });
    expectProblem(response, 401, 'unauthorized');
    expect(await partnerState(owner.id)).toEqual(before);
  });

  it.each(PROTECTED_ROUTES)('%s answers 403 to a token with no known role', async (name, spec) => {
    const params =
      spec.access === 'partner'
        ? { id: ids.payoutId, rewardId: ids.rewardId }
        : managerParams(spec.path, ids);
    const response = await call({ claims: { sub: 'nobody' } }, spec.method, fill(spec.path, params), {
      ...(spec.body ? { body: validBody(spec, owner.id, [ids.rewardId]) } : {}),
    });
    expect({ name, status: response.status, code: response.body?.code }).toEqual({
      name,
      status: 403,
      code: 'forbidden',
    });
  });

  it.each(ROLE_ROWS)(
    '%s on %s: allowed by its permission, else 403 and nothing changes',
    async (role, name, spec) => {
      const permission = spec.permission as ManagerPermission;
      const allowed = allows(permission, [role]);
      const before = await partnerState(owner.id);
      // Alternately a `roles` array claim and the Cognito group of the role: both read the same.
      const as =
        name.length % 2 === 0
          ? managerAs([role], `matrix-${role}`)
          : cognito(`matrix-${role}`, { groups: [ROLE_GROUP[role]] });
      const response = await call(as, spec.method, fill(spec.path, managerParams(spec.path, ids)), {
        ...(spec.body ? { body: validBody(spec, owner.id, [ids.rewardId]) } : {}),
      });
      if (allowed) {
        expect({ role, name, status: response.status }).not.toEqual({ role, name, status: 403 });
        expect(response.status).toBeLessThan(500);
      } else {
        expect({ role, name, status: response.status, code: response.body?.code }).toEqual({
          role,
          name,
          status: 403,
          code: 'forbidden',
        });
        expect(response.body.detail).toContain(spec.permission === 'admin' ? 'admin' : 'or admin');
        expect(await partnerState(owner.id)).toEqual(before);
      }
    },
  );

  it('gives every manager route a manager permission, and admin every one of them', () => {
    for (const [name, spec] of MANAGER_ROUTES) {
      expect([name, allows(spec.permission as ManagerPermission, ['admin'])]).toEqual([name, true]);
    }
    // The matrix is not trivial: each non-admin role is refused somewhere.
    for (const role of ['viewer', 'program_manager', 'finance'] as const) {
      expect(MANAGER_ROUTES.some(([, spec]) => !allows(spec.permission as ManagerPermission, [role]))).toBe(
        true,
      );
    }
  });

  it('refuses a token that names no user (sub), even an admin one', async () => {
    const response = await call({ claims: { role: 'manager' } }, 'GET', `/partners/${owner.id}`);
    expectProblem(response, 401, 'unauthorized');
  });

  it('lets anyone read /health', async () => {
    for (const [, spec] of ALL.filter(([, route]) => route.access === 'public')) {
      expect((await call(anonymous, spec.method, spec.path)).status).toBe(spec.status);
    }
  });
});
