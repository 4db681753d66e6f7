/**
 * Signed webhooks end to end: the real webhooks and webhook-delivery handlers against dynalite, the
 * local bus and queue stand-ins, and loopback receivers (127.0.0.1) that verify every delivery with
 * the `standardwebhooks` package. Payout events are published by the workflow's own Sync step
 * (`syncPayout`), as on AWS; nothing is mocked. Retries use a millisecond schedule.
 */
import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dynamo } from '../../shared/adapters/clients.ts';
import { OUTBOX, outboxEntry } from '../../shared/adapters/outbox.ts';
import { table } from '../../shared/adapters/table.ts';
import { resetWebhookSettings } from '../../shared/config/webhooks.ts';
import { newId } from '../../shared/domain/ids.ts';
import { sweepRecordedEvents } from '../../shared/usecases/outbox-sweep.ts';
import { rewardItem } from '../../shared/usecases/rewards.ts';
import { fanOut } from '../../shared/usecases/webhook-delivery.ts';
import { syncPayout } from '../../shared/usecases/workflow.ts';
import { expectOk, expectProblem, listAll } from '../support/expect.ts';
import { call, manager, partner } from '../support/http.ts';
import {
  eventually,
  type Pipeline,
  type Received,
  type Receiver,
  sleep,
  startPipeline,
  startReceiver,
} from '../support/webhooks.ts';

vi.setConfig({ testTimeout: 60_000 });

let pipeline: Pipeline;
const receivers: Receiver[] = [];

beforeAll(async () => {
  pipeline = await startPipeline({
    WEBHOOKS_ALLOW_PRIVATE: 'true',
    WEBHOOK_RETRY_SCHEDULE: '10ms,10ms,10ms,10ms,10ms',
    WEBHOOK_ROTATION_OVERLAP_SECONDS: '2',
    WEBHOOK_DISABLE_AFTER_DAYS: '5',
  });
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.close();
  await pipeline?.close();
});

async function receiver(behave?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const started = await startReceiver(behave);
  receivers.push(started);
  return started;
}

/** Registers the receiver; it verifies with the secret the API answered (shown only here). */
async function register(target: Receiver, body: Record<string, unknown> = {}): Promise<any> {
  const created = expectOk(
    await call(manager, 'POST', '/webhook-endpoints', { body: { url: target.url, ...body } }),
    201,
  );
  expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
  target.secrets = [created.secret];
  return created;
}

const deliveriesOf = (id: string, query: Record<string, string> = {}) =>
  listAll(manager, `/webhook-endpoints/${id}/deliveries`, query);

const signedOnly = (items: Received[]) => items.every((item) => item.verifiedBy.length > 0);

// ------------------------------------------------------------------ lifecycle

async function payoutLifecycle(): Promise<{ payoutId: string; partnerId: string }> {
  const partnerId = expectOk(
    await call(manager, 'POST', '/partners', {
      body: {
        name: 'Webhook Partner',
        email: `wh+${randomUUID()}@example.com`,
        payoutMethod: { type: 'paypal', email: 'wh-paypal@example.com' },
      },
    }),
    201,
  ).id;
  expectOk(
    await call(manager, 'POST', '/rewards', {
      body: { partnerId, amount: 12_500, currency: 'EUR', status: 'accepted' },
    }),
    201,
  );
  const payout = expectOk(
    await call(manager, 'POST', '/payouts', { body: { partnerId, currency: 'EUR' } }),
    201,
  );
  const sync = () => syncPayout({ payoutId: payout.id, stage: 'start', reminders: 0 });
  await sync();
  expectOk(await call(manager, 'POST', `/payouts/${payout.id}/validate`, { body: {} }));
  await sync();
  expectOk(await call(partner(partnerId), 'POST', `/partner/payouts/${payout.id}/validate`, { body: {} }));
  await sync();
  expectOk(
    await call(manager, 'POST', `/payouts/${payout.id}/mark-paid`, { body: { paymentReference: 'REF-1' } }),
  );
  await sync();
  await sync(); // a second Sync publishes nothing again
  return { payoutId: payout.id, partnerId };
}

describe('delivery of the payout lifecycle', () => {
  it('delivers each event, signed, once per subscribed endpoint, filters respected', async () => {
    const all = await receiver();
    const paidOnly = await receiver();
    const family = await receiver();
    const disabled = await receiver();
    const a = await register(all);
    await register(paidOnly, { eventTypes: ['payout.paid'] });
    await register(family, { eventTypes: ['payout.*'] });
    const d = await register(disabled);
    expectOk(await call(manager, 'PATCH', `/webhook-endpoints/${d.id}`, { body: { enabled: false } }));

    const { payoutId } = await payoutLifecycle();
    const history = await listAll(manager, `/payouts/${payoutId}/events`);
    const expected = history.map((event: any) => ({
      id: event.id,
      type: event.type.startsWith('payout.') ? event.type : `payout.${event.type}`,
    }));
    expect(expected.map((event) => event.type)).toContain('payout.paid');

    const ofPayout = (r: Receiver) => r.received.filter((item) => item.data?.id === payoutId);
    await eventually('every event at the catch-all endpoint', () => ofPayout(all).length >= expected.length);
    await eventually('payout.paid at the filtered endpoint', () => ofPayout(paidOnly).length >= 1);
    await eventually('the family endpoint', () => ofPayout(family).length >= expected.length);
    await sleep(300); // nothing more may arrive

    for (const r of [all, family]) {
      const got = ofPayout(r);
      expect(got.map((item) => ({ id: item.id, type: item.type }))).toEqual(expect.arrayContaining(expected));
      expect(new Set(got.map((item) => item.id)).size).toBe(got.length); // once each
      expect(got).toHaveLength(expected.length);
      expect(signedOnly(got)).toBe(true);
    }
    const paid = ofPayout(paidOnly);
    expect(paid.map((item) => item.type)).toEqual(['payout.paid']);
    expect(signedOnly(paid)).toBe(true);
    expect(paid[0]?.data).toMatchObject({ id: payoutId, status: 'paid', version: expect.any(Number) });
    expect(JSON.parse(paid[0]?.body ?? '{}')).toEqual({
      type: 'payout.paid',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: expect.objectContaining({ id: payoutId }),
    });
    expect(disabled.received).toHaveLength(0);

    // The log shows one delivered attempt per event.
    const log = await deliveriesOf(a.id, { eventType: 'payout.paid' });
    expect(log.filter((entry: any) => entry.status === 'delivered').length).toBeGreaterThanOrEqual(1);
    expect(log[0]).toMatchObject({ id: expect.stringMatching(/^wd_/), attempt: 1, responseStatus: 204 });
  });
});

// ------------------------------------------------------------------ retries, Retry-After, 410

describe('retries', () => {
  it('a receiver failing three times then succeeding gets the same webhook-id each time', async () => {
    const flaky = await receiver((count) => ({ status: count <= 3 ? 500 : 200 }));
    const endpoint = await register(flaky, { eventTypes: ['webhook.test', 'payout.validated'] });
    const { payoutId } = await payoutLifecycle();
    const got = await eventually('four attempts', () => {
      const items = flaky.received.filter(
        (item) => item.type === 'payout.validated' && item.data?.id === payoutId,
      );
      return items.length >= 4 ? items : undefined;
    });
    await sleep(200);
    const attempts = flaky.received.filter(
      (item) => item.type === 'payout.validated' && item.data?.id === payoutId,
    );
    expect(attempts).toHaveLength(4);
    expect(new Set(attempts.map((item) => item.id)).size).toBe(1);
    expect(got.map((item) => item.answered)).toEqual([500, 500, 500, 200]);
    expect(signedOnly(attempts)).toBe(true);
    const log = await deliveriesOf(endpoint.id, { eventType: 'payout.validated' });
    expect(log.map((entry: any) => [entry.attempt, entry.status, entry.responseStatus]).reverse()).toEqual([
      [1, 'retrying', 500],
      [2, 'retrying', 500],
      [3, 'retrying', 500],
      [4, 'delivered', 200],
    ]);
    expect(log.every((entry: any) => entry.eventId === attempts[0]?.id)).toBe(true);
    expect((await deliveriesOf(endpoint.id, { status: 'retrying' })).length).toBe(3);
    // Recovered: not failing any more; the manager was told once that it started failing.
    const current = expectOk(await call(manager, 'GET', `/webhook-endpoints/${endpoint.id}`));
    expect(current.failingSince).toBeUndefined();
    expect(current.enabled).toBe(true);
    expect(
      pipeline.mails().filter((mail) => mail.includes(endpoint.id) && /started failing/.test(mail)),
    ).toHaveLength(1);
  });

  it('honours Retry-After', async () => {
    const busy = await receiver((count) =>
      count === 1 ? { status: 503, headers: { 'retry-after': '2' } } : { status: 200 },
    );
    const endpoint = await register(busy, { eventTypes: ['payout.paid'] });
    await payoutLifecycle();
    const [first, second] = await eventually('the retry', () =>
      busy.received.length >= 2 ? busy.received : undefined,
    );
    expect(second?.id).toBe(first?.id);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1_900);
    const log = await deliveriesOf(endpoint.id);
    const retrying = log.find((entry: any) => entry.status === 'retrying');
    expect(Date.parse(retrying.nextAttemptAt) - Date.parse(retrying.at)).toBeGreaterThanOrEqual(2_000);
  });

  it('a 410 disables the endpoint: no retry, nothing more delivered', async () => {
    const gone = await receiver(() => ({ status: 410 }));
    const endpoint = await register(gone, { eventTypes: ['payout.paid'] });
    await payoutLifecycle();
    await eventually('the 410', () => gone.received.length >= 1);
    const disabled = await eventually('the endpoint disabled', async () => {
      const current = expectOk(await call(manager, 'GET', `/webhook-endpoints/${endpoint.id}`));
      return current.enabled === false ? current : undefined;
    });
    expect(disabled.disabledReason).toBe('gone');
    await payoutLifecycle();
    await sleep(500);
    expect(gone.received).toHaveLength(1);
    const log = await deliveriesOf(endpoint.id);
    expect(log.map((entry: any) => [entry.status, entry.responseStatus])).toEqual([['failed', 410]]);
    await eventually('the manager e-mailed', () =>
      pipeline.mails().some((mail) => mail.includes(endpoint.id) && /disabled/.test(mail)),
    );
    // Enabled again, it receives again.
    gone.behave = () => ({ status: 200 });
    expectOk(await call(manager, 'PATCH', `/webhook-endpoints/${endpoint.id}`, { body: { enabled: true } }));
    await payoutLifecycle();
    await eventually('a delivery after re-enabling', () => gone.received.length >= 2);
  });
});

// ------------------------------------------------------------------ rotation, test, replay

describe('secrets, test events and replay', () => {
  it('rotation signs with both secrets for the window, then with the new one only', async () => {
    const target = await receiver();
    const endpoint = await register(target, { eventTypes: ['webhook.test'] });
    const oldSecret = endpoint.secret;
    const rotated = expectOk(
      await call(manager, 'POST', `/webhook-endpoints/${endpoint.id}/rotate-secret`, { body: {} }),
    );
    expect(rotated.secret).not.toBe(oldSecret);
    target.secrets = [oldSecret, rotated.secret];

    const during = expectOk(
      await call(manager, 'POST', `/webhook-endpoints/${endpoint.id}/test`, { body: {} }),
    );
    expect(during).toMatchObject({ status: 'delivered', responseStatus: 204, eventType: 'webhook.test' });
    const first = target.received.at(-1);
    expect(first?.verifiedBy).toEqual([0, 1]);
    expect(first?.signature.split(' ')).toHaveLength(2);

    await sleep(2_100); // WEBHOOK_ROTATION_OVERLAP_SECONDS=2
    expectOk(await call(manager, 'POST', `/webhook-endpoints/${endpoint.id}/test`, { body: {} }));
    const after = target.received.at(-1);
    expect(after?.verifiedBy).toEqual([1]);
    expect(after?.signature.split(' ')).toHaveLength(1);
    // GET never shows a secret.
    const shown = expectOk(await call(manager, 'GET', `/webhook-endpoints/${endpoint.id}`));
    expect(JSON.stringify(shown)).not.toContain('whsec_');
  });

  it('test answers a failed delivery as it went (not retried)', async () => {
    const down = await receiver(() => ({ status: 500 }));
    const endpoint = await register(down, { eventTypes: ['webhook.test'] });
    const result = expectOk(
      await call(manager, 'POST', `/webhook-endpoints/${endpoint.id}/test`, { body: {} }),
    );
    expect(result).toMatchObject({ status: 'failed', responseStatus: 500, attempt: 1 });
    await sleep(200);
    expect(down.received).toHaveLength(1);
  });

  it('replay re-sends events with their original webhook-id, by id and since a time', async () => {
    const target = await receiver();
    const endpoint = await register(target, { eventTypes: ['payout.*'] });
    const since = new Date().toISOString();
    const { payoutId } = await payoutLifecycle();
    const history = await listAll(manager, `/payouts/${payoutId}/events`);
    await eventually('the lifecycle', () => target.received.length >= history.length);
    const firstRound = [...target.received];

    const paid = firstRound.find((item) => item.type === 'payout.paid');
    const byId = await call(manager, 'POST', `/webhook-endpoints/${endpoint.id}/replay`, {
      body: { eventIds: [paid?.id] },
    });
    expect(expectOk(byId, 202)).toEqual({ status: 'accepted', events: 1 });
    await eventually('the replayed event', () => target.received.length >= firstRound.length + 1);
    const replayed = target.received.at(-1);
    expect(replayed?.id).toBe(paid?.id);
    expect(replayed?.body).toBe(paid?.body);
    expect(replayed?.verifiedBy).toEqual([0]);

    const sinceReplay = expectOk(
      await call(manager, 'POST', `/webhook-endpoints/${endpoint.id}/replay`, { body: { since } }),
      202,
    );
    expect(sinceReplay.events).toBeGreaterThanOrEqual(history.length);
    await eventually('every event again', () => target.received.length >= firstRound.length * 2 + 1);
    const again = target.received.slice(firstRound.length + 1).filter((item) => item.data?.id === payoutId);
    expect(new Set(again.map((item) => item.id))).toEqual(
      new Set(firstRound.filter((item) => item.data?.id === payoutId).map((item) => item.id)),
    );
    const log = await deliveriesOf(endpoint.id);
    expect(log.some((entry: any) => entry.replay === true)).toBe(true);
  });
});

// ------------------------------------------------------------------ the API

describe('endpoints API', () => {
  it('creates, lists, reads, changes and deletes; bad input is a 4xx that changes nothing', async () => {
    const target = await receiver();
    const created = await register(target, { description: 'CRM sync', eventTypes: ['export.created'] });
    expect(created).toMatchObject({
      id: expect.stringMatching(/^we_/),
      url: target.url,
      description: 'CRM sync',
      eventTypes: ['export.created'],
      enabled: true,
      version: 1,
    });
    const listed = await listAll(manager, '/webhook-endpoints');
    expect(listed.find((item: any) => item.id === created.id)).not.toHaveProperty('secret');
    const patched = expectOk(
      await call(manager, 'PATCH', `/webhook-endpoints/${created.id}`, {
        body: { description: null, eventTypes: null },
      }),
    );
    expect(patched).toMatchObject({ eventTypes: null, version: 2 });
    expect(patched).not.toHaveProperty('description');

    expectProblem(
      await call(manager, 'POST', '/webhook-endpoints', { body: { url: 'not a url' } }),
      400,
      'validation_failed',
    );
    expectProblem(
      await call(manager, 'POST', '/webhook-endpoints', {
        body: { url: target.url, eventTypes: ['Bad Type'] },
      }),
      400,
      'validation_failed',
    );
    expectProblem(
      await call(manager, 'PATCH', `/webhook-endpoints/${created.id}`, {
        body: { url: 'ftp://example.com/' },
      }),
      422,
      'webhook_url_not_allowed',
    );
    expectProblem(
      await call(manager, 'GET', '/webhook-endpoints/we_01JF3Z0000000000000000000A'),
      404,
      'not_found',
    );
    expectProblem(await call(manager, 'GET', '/webhook-endpoints/nope'), 404, 'not_found');
    expectProblem(
      await call(manager, 'POST', `/webhook-endpoints/${created.id}/replay`, { body: {} }),
      400,
      'validation_failed',
    );
    expectProblem(
      await call(partner('pt_01JF3Z0000000000000000000A'), 'GET', '/webhook-endpoints'),
      403,
      'forbidden',
    );
    expect(expectOk(await call(manager, 'GET', `/webhook-endpoints/${created.id}`))).toEqual(patched);

    const deleted = await call(manager, 'DELETE', `/webhook-endpoints/${created.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expectProblem(await call(manager, 'GET', `/webhook-endpoints/${created.id}`), 404, 'not_found');
    expectProblem(await call(manager, 'DELETE', `/webhook-endpoints/${created.id}`), 404, 'not_found');
  });
});

// ------------------------------------------------------------------ SSRF

describe('unsafe URLs', () => {
  const refuse = async (url: string) =>
    expectProblem(
      await call(manager, 'POST', '/webhook-endpoints', { body: { url } }),
      422,
      'webhook_url_not_allowed',
    );

  it('refuses http, private, loopback, link-local, metadata and mapped addresses, and names resolving to them', async () => {
    process.env.WEBHOOKS_ALLOW_PRIVATE = 'false';
    resetWebhookSettings();
    try {
      await refuse('http://example.com/hooks'); // https only
      for (const host of [
        '10.1.2.3',
        '172.16.0.1',
        '192.168.1.1',
        '127.0.0.1',
        '169.254.169.254',
        '100.64.0.1',
        '0.0.0.0',
        '[::1]',
        '[fd00:ec2::254]',
        '[fe80::1]',
        '[::ffff:127.0.0.1]',
        '[::ffff:a9fe:a9fe]',
      ]) {
        await refuse(`https://${host}/hooks`);
      }
      // A name that resolves to 127.0.0.1.
      const problem = await refuse('https://localhost:8443/hooks');
      expect(problem.detail).toMatch(/127\.0\.0\.1|::1/);
      await refuse('https://user:pass@example.com/hooks');
      // None of them was registered.
      const urls = (await listAll(manager, '/webhook-endpoints')).map((item: any) => item.url);
      expect(urls.filter((url: string) => !url.startsWith('http://127.0.0.1:'))).toEqual([]);
    } finally {
      process.env.WEBHOOKS_ALLOW_PRIVATE = 'true';
      resetWebhookSettings();
    }
  });

  it('checks again at each delivery: an address that became private is not contacted', async () => {
    const target = await receiver();
    // Created while private receivers are allowed: an https URL whose name resolves to 127.0.0.1.
    const endpoint = await register(target, {
      eventTypes: ['webhook.test'],
      url: target.url.replace('http://127.0.0.1', 'https://localhost'),
    });
    process.env.WEBHOOKS_ALLOW_PRIVATE = 'false';
    resetWebhookSettings();
    try {
      const result = expectOk(
        await call(manager, 'POST', `/webhook-endpoints/${endpoint.id}/test`, { body: {} }),
      );
      expect(result.status).toBe('failed');
      expect(result.responseStatus).toBeUndefined();
      expect(result.error).toMatch(/not a public address/);
    } finally {
      process.env.WEBHOOKS_ALLOW_PRIVATE = 'true';
      resetWebhookSettings();
    }
    expect(target.received).toHaveLength(0);
  });

  it('does not follow a redirect (302 to another address)', async () => {
    const elsewhere = await receiver();
    const redirecting = await receiver(() => ({ status: 302, headers: { location: elsewhere.url } }));
    const endpoint = await register(redirecting, { eventTypes: ['webhook.test'] });
    const result = expectOk(
      await call(manager, 'POST', `/webhook-endpoints/${endpoint.id}/test`, { body: {} }),
    );
    expect(result).toMatchObject({ status: 'failed', responseStatus: 302 });
    expect(result.error).toMatch(/redirect/);
    expect(redirecting.received).toHaveLength(1);
    expect(elsewhere.received).toHaveLength(0);
  });
});

// ------------------------------------------------------------------ events of rewards, exports and runs

describe('reward.created, export.created, payout_run.completed', () => {
  it('are delivered like payout events, with the resource and its version', async () => {
    const target = await receiver();
    await register(target, { eventTypes: ['reward.created', 'export.created', 'payout_run.completed'] });
    const { partnerId } = await payoutLifecycle();
    const reward = expectOk(
      await call(manager, 'POST', '/rewards', {
        body: { partnerId, amount: 700, currency: 'EUR', status: 'accepted' },
      }),
      201,
    );
    const got = await eventually('reward.created', () =>
      target.received.find((item) => item.type === 'reward.created' && item.data?.id === reward.id),
    );
    expect(got.data).toMatchObject({ id: reward.id, amount: 700, partnerId, version: 1 });
    expect(got.data).not.toHaveProperty('outbox');
    expect(got.id).toMatch(/^evt_/);
    expect(got.verifiedBy).toEqual([0]);

    // A ready payout, exported.
    expectOk(
      await call(manager, 'POST', '/rewards', {
        body: { partnerId, amount: 300, currency: 'EUR', status: 'accepted' },
      }),
      201,
    );
    const payout = expectOk(
      await call(manager, 'POST', '/payouts', { body: { partnerId, currency: 'EUR' } }),
      201,
    );
    expectOk(await call(manager, 'POST', `/payouts/${payout.id}/validate`, { body: {} }));
    expectOk(await call(partner(partnerId), 'POST', `/partner/payouts/${payout.id}/validate`, { body: {} }));
    const exported = expectOk(
      await call(manager, 'POST', '/exports', { body: { format: 'csv', payoutIds: [payout.id] } }),
      201,
    );
    const exportEvent = await eventually('export.created', () =>
      target.received.find((item) => item.type === 'export.created' && item.data?.id === exported.id),
    );
    expect(exportEvent.data).toMatchObject({
      id: exported.id,
      format: 'csv',
      payoutIds: [payout.id],
      version: 2, // written building (1), then activated
    });
    expect(exportEvent.data).not.toHaveProperty('url');

    const run = await call(manager, 'POST', '/payout-runs', { body: { partnerId, currency: 'USD' } });
    expect([201, 202]).toContain(run.status);
    const runEvent = await eventually('payout_run.completed', () =>
      target.received.find((item) => item.type === 'payout_run.completed' && item.data?.id === run.body.id),
    );
    expect(runEvent.data).toMatchObject({ id: run.body.id, status: 'completed' });
    expect(runEvent.data).not.toHaveProperty('GSI4PK');
    expect(expectOk(await call(manager, 'GET', `/payout-runs/${run.body.id}`))).not.toHaveProperty('outbox');
  });

  it('every change of a reward, an export or a run raises its version, in the API and in the webhooks', async () => {
    const target = await receiver();
    await register(target, { eventTypes: ['reward.created', 'export.*', 'payout_run.completed'] });
    const { partnerId } = await payoutLifecycle();

    // A reward: created (1), accepted (2), refused (3); the API shows each; its event carries 1.
    const reward = expectOk(
      await call(manager, 'POST', '/rewards', { body: { partnerId, amount: 400, currency: 'EUR' } }),
      201,
    );
    expect(reward.version).toBe(1);
    const accepted = expectOk(await call(manager, 'POST', `/rewards/${reward.id}/accept`, { body: {} }));
    const refused = expectOk(
      await call(manager, 'POST', `/rewards/${reward.id}/refuse`, { body: { reason: 'duplicate order' } }),
    );
    expect([accepted.version, refused.version]).toEqual([2, 3]);
    expect(expectOk(await call(manager, 'GET', `/rewards/${reward.id}`)).version).toBe(3);
    const created = await eventually('reward.created', () =>
      target.received.find((item) => item.type === 'reward.created' && item.data?.id === reward.id),
    );
    expect(created.data?.version).toBe(1);

    // An export: created, then voided; each webhook carries the version the API shows after it.
    expectOk(
      await call(manager, 'POST', '/rewards', {
        body: { partnerId, amount: 300, currency: 'EUR', status: 'accepted' },
      }),
      201,
    );
    const payout = expectOk(
      await call(manager, 'POST', '/payouts', { body: { partnerId, currency: 'EUR' } }),
      201,
    );
    expectOk(await call(manager, 'POST', `/payouts/${payout.id}/validate`, { body: {} }));
    expectOk(await call(partner(partnerId), 'POST', `/partner/payouts/${payout.id}/validate`, { body: {} }));
    const exported = expectOk(
      await call(manager, 'POST', '/exports', { body: { format: 'csv', payoutIds: [payout.id] } }),
      201,
    );
    const voided = expectOk(
      await call(manager, 'POST', `/exports/${exported.id}/void`, { body: { reason: 'wrong bank' } }),
    );
    expect(voided.version).toBeGreaterThan(exported.version);
    expect(expectOk(await call(manager, 'GET', `/exports/${exported.id}`)).version).toBe(voided.version);
    const onCreate = await eventually('export.created', () =>
      target.received.find((item) => item.type === 'export.created' && item.data?.id === exported.id),
    );
    const onVoid = await eventually('export.voided', () =>
      target.received.find((item) => item.type === 'export.voided' && item.data?.id === exported.id),
    );
    expect(onCreate.data?.version).toBe(exported.version);
    expect(onVoid.data).toMatchObject({
      status: 'voided',
      version: voided.version,
      voidReason: 'wrong bank',
    });
    expect(Number(onVoid.data?.version)).toBeGreaterThan(Number(onCreate.data?.version));

    // A run: written running (1), then completed (2), in the API and in payout_run.completed.
    const run = await call(manager, 'POST', '/payout-runs', { body: { partnerId, currency: 'USD' } });
    expect([201, 202]).toContain(run.status);
    const done = await eventually('payout_run.completed', () =>
      target.received.find((item) => item.type === 'payout_run.completed' && item.data?.id === run.body.id),
    );
    expect(run.body.version).toBe(2);
    expect(done.data?.version).toBe(2);
    expect(expectOk(await call(manager, 'GET', `/payout-runs/${run.body.id}`)).version).toBe(2);
  });

  it('an event recorded with its change but not published (a crash in between) goes out with the sweep', async () => {
    const target = await receiver();
    await register(target, { eventTypes: ['reward.created'] });
    const { partnerId } = await payoutLifecycle();
    // What a crash right after the commit leaves: the reward written with its event, nothing published.
    const at = new Date(Date.now() - 120_000).toISOString();
    const reward = {
      id: newId('reward'),
      partnerId,
      amount: 900,
      currency: 'EUR',
      status: 'pending' as const,
      payoutId: null,
      createdAt: at,
      updatedAt: at,
    };
    const recorded = outboxEntry('reward.created', at);
    await dynamo().send(
      new PutCommand({ TableName: table(), Item: { ...rewardItem(reward), [OUTBOX]: [recorded] } }),
    );
    await sleep(200);
    expect(target.received.filter((item) => item.data?.id === reward.id)).toHaveLength(0);
    expect(await sweepRecordedEvents()).toBeGreaterThanOrEqual(1);
    const got = await eventually('the swept event', () =>
      target.received.find((item) => item.data?.id === reward.id),
    );
    expect(got).toMatchObject({ id: recorded.id, type: 'reward.created' });
    expect(got.data).toMatchObject({ id: reward.id, amount: 900, version: 1 });
    expect(got.data).not.toHaveProperty('outbox');
    // Swept once: the item no longer carries it, a second sweep sends nothing.
    await sweepRecordedEvents();
    await sleep(300);
    expect(target.received.filter((item) => item.data?.id === reward.id)).toHaveLength(1);
    expect(expectOk(await call(manager, 'GET', `/rewards/${reward.id}`))).not.toHaveProperty('outbox');
  });
});

describe('an event published twice', () => {
  it('fans out once; the same queue message handled again fans out again', async () => {
    const target = await receiver();
    await register(target, { eventTypes: ['dedupe.check'] });
    const eventId = newId('event');
    const bus = {
      id: randomUUID(),
      'detail-type': 'dedupe.check',
      source: 'partner-payouts',
      time: new Date().toISOString(),
      resources: [eventId],
      detail: { id: 'x_1', version: 1, eventId, eventAt: new Date().toISOString() },
    };
    const event = (messageId: string) => [{ messageId, event: bus as never }];
    expect(await fanOut(event('message-1'))).toBeGreaterThanOrEqual(1);
    expect(await fanOut(event('message-2'))).toBe(0); // another publication of it: skipped
    expect(await fanOut([...event('message-3'), ...event('message-4')])).toBe(0);
    expect(await fanOut(event('message-1'))).toBeGreaterThanOrEqual(1); // handled again
    await sleep(200);
    const got = target.received.filter((item) => item.id === eventId);
    expect(got).toHaveLength(2);
    expect(got.every((item) => item.verifiedBy.length === 1)).toBe(true);
  });
});

// ------------------------------------------------------------------ failing for too long

describe('an endpoint failing for WEBHOOK_DISABLE_AFTER_DAYS', () => {
  it('is disabled and the manager e-mailed (once when it started failing, once when disabled)', async () => {
    process.env.WEBHOOK_DISABLE_AFTER_DAYS = String(1 / 86_400); // one second
    resetWebhookSettings();
    try {
      const down = await receiver(() => ({ status: 503 }));
      const endpoint = await register(down, { eventTypes: ['payout.validated', 'payout.paid'] });
      await payoutLifecycle();
      await eventually('the first failure', () => down.received.length >= 1);
      await sleep(1_100);
      // Failing for longer than the limit now: the next failure (if the retries have not) disables it.
      await payoutLifecycle();
      const disabled = await eventually(
        'the endpoint disabled',
        async () => {
          const current = expectOk(await call(manager, 'GET', `/webhook-endpoints/${endpoint.id}`));
          return current.enabled === false ? current : undefined;
        },
        20_000,
      );
      expect(disabled.disabledReason).toBe('failing');
      const mails = await eventually('both e-mails', () => {
        const mine = pipeline.mails().filter((mail) => mail.includes(endpoint.id));
        return mine.length >= 2 ? mine : undefined;
      });
      expect(mails.filter((mail) => /started failing/.test(mail))).toHaveLength(1);
      expect(mails.filter((mail) => /was disabled/.test(mail))).toHaveLength(1);
      // Nothing more reaches it while disabled.
      await sleep(300);
      const count = down.received.length;
      await payoutLifecycle();
      await sleep(500);
      expect(down.received).toHaveLength(count);
    } finally {
      process.env.WEBHOOK_DISABLE_AFTER_DAYS = '5';
      resetWebhookSettings();
    }
  });
});
