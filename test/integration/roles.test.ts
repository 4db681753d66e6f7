/**
 * Roles end to end through the real handlers: each step of a payout by the role that may take it,
 * the actor (user and roles) on every history entry, and the refusals of the roles that may not.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectOk, expectProblem, listAll } from '../support/expect.ts';
import { call, cognito, managerAs, partner } from '../support/http.ts';

const pm = managerAs(['program_manager'], 'pm-ana');
const fin = managerAs(['finance'], 'fin-bo');
const viewer = managerAs(['viewer'], 'viewer-cy');

describe('roles on a payout’s way', () => {
  it('each role does its part; every history entry names the user and their roles', async () => {
    const created = await call(pm, 'POST', '/partners', {
      body: {
        name: 'Roles Partner',
        email: `roles+${randomUUID()}@example.com`,
        payoutMethod: { type: 'paypal', email: 'roles@example.com' },
      },
    });
    const p = expectOk(created, 201);
    expectProblem(
      await call(viewer, 'POST', '/rewards', { body: { partnerId: p.id, amount: 100, currency: 'EUR' } }),
      403,
      'forbidden',
    );
    expectOk(
      await call(pm, 'POST', '/rewards', {
        body: { partnerId: p.id, amount: 4200, currency: 'EUR', status: 'accepted' },
      }),
      201,
    );
    const payout = expectOk(
      await call(pm, 'POST', '/payouts', { body: { partnerId: p.id, currency: 'EUR' } }),
      201,
    );
    // Finance may not validate, a viewer may read but not act.
    expectProblem(await call(fin, 'POST', `/payouts/${payout.id}/validate`, { body: {} }), 403, 'forbidden');
    expect(expectOk(await call(viewer, 'GET', `/payouts/${payout.id}`)).status).toBe('draft');
    expectOk(await call(pm, 'POST', `/payouts/${payout.id}/validate`, { body: {} }));
    expectOk(await call(partner(p.id), 'POST', `/partner/payouts/${payout.id}/validate`, { body: {} }));
    // A program manager may not pay; finance (here through its Cognito group) may.
    expectProblem(await call(pm, 'POST', `/payouts/${payout.id}/mark-paid`, { body: {} }), 403, 'forbidden');
    const finCognito = cognito('fin-cognito', { groups: ['payouts-finance'] });
    expect(
      expectOk(await call(finCognito, 'POST', `/payouts/${payout.id}/mark-paid`, { body: {} })).status,
    ).toBe('paid');

    const events = await listAll(viewer, `/payouts/${payout.id}/events`);
    const actors = events.map((event: any) => [event.type, event.actor]);
    expect(actors).toEqual(
      expect.arrayContaining([
        ['payout.drafted', { role: 'manager', id: 'pm-ana', roles: ['program_manager'] }],
        ['payout.validated', { role: 'manager', id: 'pm-ana', roles: ['program_manager'] }],
        ['payout.partner_validated', { role: 'partner', id: p.id }],
        ['payout.paid', { role: 'manager', id: 'fin-cognito', roles: ['finance'] }],
      ]),
    );
    // The refusals left no trace.
    expect(
      events.filter((event: any) => event.actor.id === 'fin-bo' || event.actor.id === 'viewer-cy'),
    ).toEqual([]);
  });
});
