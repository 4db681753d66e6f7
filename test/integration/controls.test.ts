/**
 * Controls before money leaves, through the real handlers against dynalite and s3rver: four-eyes
 * approval above APPROVAL_THRESHOLDS (refused to the validator, voided by a change of amount or of
 * payout method, required by exports and manual mark-paid), holds of each scope and their effects,
 * confirmation (refusals and clawbacks), the two automatic holds, the payout-method snapshot and the
 * partner's history. Every refusal is checked to change nothing.
 *
 * The table is shared with other test files running at the same time: exports of "every ready
 * payout" ask for currencies no other test uses (RON, BGN).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventBridgeEvent, startLocalEventBridge } from '../../infra/local/eventbridge.ts';
import { startLocalSes } from '../../infra/local/ses.ts';
import { dynamo } from '../../shared/adapters/clients.ts';
import { table } from '../../shared/adapters/table.ts';
import { sendControlsDigest } from '../../shared/usecases/digest.ts';
import { notify } from '../../shared/usecases/notifications.ts';
import { expectOk, expectProblem, listAll } from '../support/expect.ts';
import { type As, call, managerAs, partner } from '../support/http.ts';

// Read on first use by the handlers (shared/config/controls.ts): set before any call.
process.env.APPROVAL_THRESHOLDS = 'EUR:100000,RON:100000,BGN:100000';

const pm = managerAs(['program_manager'], 'pm-ana');
const pm2 = managerAs(['program_manager'], 'pm-ben');
const finA = managerAs(['finance'], 'fin-ada');
const finB = managerAs(['finance'], 'fin-bob');
const finC = managerAs(['finance'], 'fin-cat');
const viewer = managerAs(['viewer'], 'viewer-vic');

const IBAN = 'DE89370400440532013000';
const ATTACKER_IBAN = 'GB33BUKB20201555555555';

async function newPartner(): Promise<string> {
  return expectOk(
    await call(pm, 'POST', '/partners', {
      body: {
        name: 'Ana Müller',
        email: `controls+${randomUUID()}@example.com`,
        payoutMethod: { type: 'sepa', accountHolder: 'Ana Müller', iban: IBAN },
      },
    }),
    201,
  ).id;
}

async function reward(partnerId: string, amount: number, currency = 'EUR'): Promise<any> {
  return expectOk(
    await call(pm, 'POST', '/rewards', { body: { partnerId, amount, currency, status: 'accepted' } }),
    201,
  );
}

async function draft(partnerId: string, currency = 'EUR', rewardIds?: string[]): Promise<any> {
  return expectOk(
    await call(pm, 'POST', '/payouts', {
      body: { partnerId, currency, ...(rewardIds ? { rewardIds } : {}) },
    }),
    201,
  );
}

/** A ready payout validated by `pm` (so pm-ana is its validator). */
async function readyPayout(amounts = [150_000], currency = 'EUR', partnerId?: string) {
  const pid = partnerId ?? (await newPartner());
  const rewards = [];
  for (const amount of amounts) rewards.push(await reward(pid, amount, currency));
  const payout = await draft(
    pid,
    currency,
    rewards.map((r) => r.id),
  );
  expectOk(await call(pm, 'POST', `/payouts/${payout.id}/validate`, { body: {} }));
  expectOk(await call(partner(pid), 'POST', `/partner/payouts/${payout.id}/validate`, { body: {} }));
  return { partnerId: pid, payoutId: payout.id as string, rewardIds: rewards.map((r) => r.id as string) };
}

const getPayout = async (id: string) => expectOk(await call(viewer, 'GET', `/payouts/${id}`));
const history = (id: string) => listAll(viewer, `/payouts/${id}/events`);
const place = (as: As, body: Record<string, unknown>) => call(as, 'POST', '/holds', { body });
const release = (as: As, id: string) =>
  call(as, 'POST', `/holds/${id}/release`, { body: { note: 'Checked' } });

/** Everything a refusal must leave as it was: the payout, its history and rewards, the partner's holds. */
async function state(payoutId: string, partnerId: string) {
  return {
    payout: await getPayout(payoutId),
    events: await history(payoutId),
    rewards: await listAll(viewer, `/payouts/${payoutId}/rewards`),
    holds: await listAll(viewer, '/holds', { targetId: partnerId }),
    partner: expectOk(await call(viewer, 'GET', `/partners/${partnerId}`)),
  };
}

async function download(file: { url: string; sha256: string }): Promise<string> {
  const response = await fetch(file.url);
  expect(response.status).toBe(200);
  const bytes = Buffer.from(await response.arrayBuffer());
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(file.sha256);
  return bytes.toString('utf8');
}

// Every event of this file goes to a bus of its own (the SDK client is bound to the endpoint it was
// created with, at the first publish), and every e-mail to a local SES writing .eml files.
let bus: Awaited<ReturnType<typeof startLocalEventBridge>>;
let ses: Awaited<ReturnType<typeof startLocalSes>>;
let mailDir: string;
const seen: EventBridgeEvent[] = [];
const previous = {
  eventbridge: process.env.AWS_ENDPOINT_URL_EVENTBRIDGE,
  ses: process.env.AWS_ENDPOINT_URL_SESV2,
};

beforeAll(async () => {
  mailDir = mkdtempSync(join(tmpdir(), 'controls-mail-'));
  ses = await startLocalSes({ mailDir });
  bus = await startLocalEventBridge({
    rules: [
      {
        name: 'capture',
        eventBusName: process.env.EVENT_BUS_NAME ?? 'default',
        pattern: { source: ['partner-payouts'] },
        target: async (event) => {
          seen.push(event);
        },
      },
    ],
  });
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = bus.endpoint;
  process.env.AWS_ENDPOINT_URL_SESV2 = ses.endpoint;
});

afterAll(async () => {
  for (const [name, value] of [
    ['AWS_ENDPOINT_URL_EVENTBRIDGE', previous.eventbridge],
    ['AWS_ENDPOINT_URL_SESV2', previous.ses],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await bus.close();
  await ses.close();
  rmSync(mailDir, { recursive: true, force: true });
});

// ------------------------------------------------------------------ four-eyes approval

describe('four-eyes approval', () => {
  it('is refused to the validator and to other roles, accepted from another finance user, only while ready', async () => {
    const { payoutId, partnerId } = await readyPayout();
    // The validator (program manager pm-ana) may not approve; here an admin token with the same user.
    const before = await state(payoutId, partnerId);
    expectProblem(
      await call(managerAs(['admin'], 'pm-ana'), 'POST', `/payouts/${payoutId}/approve`, { body: {} }),
      422,
      'same_user',
    );
    expectProblem(await call(pm2, 'POST', `/payouts/${payoutId}/approve`, { body: {} }), 403, 'forbidden');
    expectProblem(await call(viewer, 'POST', `/payouts/${payoutId}/approve`, { body: {} }), 403, 'forbidden');
    expect(await state(payoutId, partnerId)).toEqual(before);

    const waiting = await listAll(viewer, '/payouts', { needsApproval: 'true', partnerId });
    expect(waiting.map((payout) => payout.id)).toEqual([payoutId]);
    // One currency leaves one threshold clause: DynamoDB refuses it in redundant parentheses (was a 400).
    const inEur = await listAll(viewer, '/payouts', { needsApproval: 'true', currency: 'EUR', partnerId });
    expect(inEur.map((payout) => payout.id)).toEqual([payoutId]);

    const approved = expectOk(
      await call(finA, 'POST', `/payouts/${payoutId}/approve`, { body: { note: 'Checked the contract' } }),
    );
    expect(approved.approval).toMatchObject({
      by: 'fin-ada',
      roles: ['finance'],
      note: 'Checked the contract',
    });
    expect((await history(payoutId)).at(-1)).toMatchObject({
      type: 'payout.approved',
      actor: { role: 'manager', id: 'fin-ada', roles: ['finance'] },
    });
    expect(await listAll(viewer, '/payouts', { needsApproval: 'true', partnerId })).toEqual([]);

    // Below the threshold there is nothing to approve; a draft is not approved.
    const small = await readyPayout([5_000]);
    expectProblem(
      await call(finA, 'POST', `/payouts/${small.payoutId}/approve`, { body: {} }),
      422,
      'approval_not_required',
    );
    const pid = await newPartner();
    const drafted = await draft(pid, 'EUR', [(await reward(pid, 200_000)).id]);
    expectProblem(
      await call(finA, 'POST', `/payouts/${drafted.id}/approve`, { body: {} }),
      409,
      'invalid_transition',
    );
  });

  it('gates manual mark-paid: an approval first, then someone other than the exporter', async () => {
    const { payoutId, partnerId } = await readyPayout();
    let before = await state(payoutId, partnerId);
    expectProblem(
      await call(finA, 'POST', `/payouts/${payoutId}/mark-paid`, { body: {} }),
      422,
      'approval_required',
    );
    expect(await state(payoutId, partnerId)).toEqual(before);
    expectOk(await call(finB, 'POST', `/payouts/${payoutId}/approve`, { body: {} }));
    const exported = expectOk(
      await call(finA, 'POST', '/exports', { body: { format: 'csv', payoutIds: [payoutId] } }),
      201,
    );
    expect(exported.payoutIds).toEqual([payoutId]);
    before = await state(payoutId, partnerId);
    expectProblem(await call(finA, 'POST', `/payouts/${payoutId}/mark-paid`, { body: {} }), 422, 'same_user');
    expect(await state(payoutId, partnerId)).toEqual(before);
    expect(expectOk(await call(finC, 'POST', `/payouts/${payoutId}/mark-paid`, { body: {} })).status).toBe(
      'paid',
    );
  });

  it('gates exports: named payouts lacking an approval are refused by name, every-ready exports skip them', async () => {
    const big = await readyPayout([150_000], 'RON');
    const small = await readyPayout([20_000], 'RON');
    const before = await state(big.payoutId, big.partnerId);
    const refused = expectProblem(
      await call(finA, 'POST', '/exports', {
        body: { format: 'csv', payoutIds: [small.payoutId, big.payoutId] },
      }),
      422,
      'approval_required',
    );
    expect(refused.data.payoutIds).toEqual([big.payoutId]);
    expect(refused.detail).toContain(big.payoutId);
    expect(await state(big.payoutId, big.partnerId)).toEqual(before);
    expect((await getPayout(small.payoutId)).status).toBe('ready');

    const all = expectOk(
      await call(finA, 'POST', '/exports', { body: { format: 'csv', currency: 'RON' } }),
      201,
    );
    expect(all.payoutIds).toEqual([small.payoutId]);
    expect(all.skipped).toEqual([{ payoutId: big.payoutId, reason: 'approval_required' }]);
    expect((await getPayout(big.payoutId)).status).toBe('ready');
  });

  it('is voided by a change of amount (a confirmed reward hold sends the payout back to draft)', async () => {
    const { payoutId, partnerId, rewardIds } = await readyPayout([150_000, 30_000]);
    expectOk(await call(finA, 'POST', `/payouts/${payoutId}/approve`, { body: {} }));
    const hold = expectOk(
      await place(pm, {
        scope: 'reward',
        targetId: rewardIds[1],
        reasonCode: 'SELF_REFERRAL',
        note: 'Own link',
      }),
      201,
    );
    const confirmed = expectOk(
      await call(finA, 'POST', `/holds/${hold.id}/confirm`, { body: { note: 'Confirmed self-referral' } }),
    );
    expect(confirmed).toMatchObject({ status: 'confirmed', resolution: 'confirmed' });
    const back = await getPayout(payoutId);
    expect(back).toMatchObject({ status: 'draft', amount: 150_000, rewardCount: 1 });
    expect(back.approval).toBeUndefined();
    expectOk(await call(pm, 'POST', `/payouts/${payoutId}/validate`, { body: {} }));
    expectOk(await call(partner(partnerId), 'POST', `/partner/payouts/${payoutId}/validate`, { body: {} }));
    expect(
      (await listAll(viewer, '/payouts', { needsApproval: 'true', partnerId })).map((p) => p.id),
    ).toEqual([payoutId]);
    expectProblem(
      await call(finB, 'POST', '/exports', { body: { format: 'csv', payoutIds: [payoutId] } }),
      422,
      'approval_required',
    );
  });
});

// ------------------------------------------------------------------ the payout method

describe('the payout method is part of what was validated', () => {
  it('a change after validation holds the partner, is in their history, and the export pays the snapshot only after release', async () => {
    const { payoutId, partnerId } = await readyPayout([150_000]);
    expectOk(await call(finA, 'POST', `/payouts/${payoutId}/approve`, { body: {} }));
    expect((await getPayout(payoutId)).payoutMethod).toMatchObject({
      iban: IBAN,
      accountHolder: 'Ana Müller',
    });

    // The attacker's change, through the partner's own profile.
    expectOk(
      await call(partner(partnerId), 'PATCH', '/partner/profile', {
        body: { payoutMethod: { type: 'sepa', accountHolder: 'Someone Else', iban: ATTACKER_IBAN } },
      }),
    );
    const events = await listAll(viewer, `/partners/${partnerId}/events`);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'partner.payout_method_changed',
        actor: { role: 'partner', id: partnerId },
        data: {
          from: { type: 'sepa', accountHolder: 'Ana Müller', iban: '…3000' },
          to: { type: 'sepa', accountHolder: 'Someone Else', iban: '…5555' },
        },
      }),
    ]);
    const [held] = await listAll(viewer, '/holds', { targetId: partnerId, active: 'true' });
    expect(held).toMatchObject({ scope: 'partner', reasonCode: 'PAYOUT_METHOD_CHANGED', automatic: true });
    // The validated payout is unchanged, held, and cannot be exported.
    const payout = await getPayout(payoutId);
    expect(payout.payoutMethod.iban).toBe(IBAN);
    expect(payout.hold).toEqual({});
    expectProblem(
      await call(finB, 'POST', '/exports', { body: { format: 'csv', payoutIds: [payoutId] } }),
      409,
      'on_hold',
    );
    // The partner who changed it cannot release it (partners have no manager route at all).
    expectProblem(await release(partner(partnerId), held.id), 403, 'forbidden');

    // finB releases: the payout takes the new method, its approval is void, and finB may not export it.
    expectOk(await release(finB, held.id));
    const resnapshotted = await getPayout(payoutId);
    expect(resnapshotted.payoutMethod).toMatchObject({ iban: ATTACKER_IBAN, accountHolder: 'Someone Else' });
    expect(resnapshotted.approval).toBeUndefined();
    expectProblem(
      await call(finC, 'POST', '/exports', { body: { format: 'csv', payoutIds: [payoutId] } }),
      422,
      'approval_required',
    );
    expectOk(await call(finC, 'POST', `/payouts/${payoutId}/approve`, { body: {} }));
    const before = await state(payoutId, partnerId);
    expectProblem(
      await call(finB, 'POST', '/exports', { body: { format: 'csv', payoutIds: [payoutId] } }),
      422,
      'same_user',
    );
    expectProblem(await call(finB, 'POST', `/payouts/${payoutId}/mark-paid`, { body: {} }), 422, 'same_user');
    expect(await state(payoutId, partnerId)).toEqual(before);
    const exported = expectOk(
      await call(finA, 'POST', '/exports', { body: { format: 'sepa', payoutIds: [payoutId] } }),
      201,
    );
    const xml = await download(exported.files[0]);
    expect(xml).toContain(ATTACKER_IBAN);
  });

  it('pays the snapshot: a change while no payout is ready or processing takes no hold, and the next validation snapshots the new method', async () => {
    const partnerId = await newPartner();
    const r = await reward(partnerId, 9_000);
    const payout = await draft(partnerId, 'EUR', [r.id]);
    expectOk(await call(pm, 'POST', `/payouts/${payout.id}/validate`, { body: {} }));
    // Pending: no hold, but a history entry and the next validation takes the new method.
    expectOk(
      await call(pm2, 'PATCH', `/partners/${partnerId}`, {
        body: { payoutMethod: { type: 'paypal', email: 'ana@example.com' } },
      }),
    );
    expect(await listAll(viewer, '/holds', { targetId: partnerId })).toEqual([]);
    expect((await listAll(viewer, `/partners/${partnerId}/events`))[0]).toMatchObject({
      actor: { role: 'manager', id: 'pm-ben', roles: ['program_manager'] },
      data: { to: { type: 'paypal', email: 'a…@example.com' } },
    });
    expectOk(await call(partner(partnerId), 'POST', `/partner/payouts/${payout.id}/validate`, { body: {} }));
    expect((await getPayout(payout.id)).payoutMethod).toEqual({ type: 'paypal', email: 'ana@example.com' });
  });

  it('keeps the partner history as items of its own, paged oldest first (after any legacy list)', async () => {
    const partnerId = await newPartner();
    // A partner written before entries were items keeps its list: it comes first.
    const legacy = {
      id: 'evt_legacy',
      type: 'partner.payout_method_changed',
      at: '2026-01-01T00:00:00.000Z',
      actor: { role: 'manager', id: 'pm-old' },
      data: { from: null, to: { type: 'paypal', email: 'o…@example.com' } },
    };
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: { PK: `PARTNER#${partnerId}`, SK: 'PARTNER' },
        UpdateExpression: 'SET events = :events',
        ExpressionAttributeValues: { ':events': [legacy] },
      }),
    );
    const emails = ['ada', 'bo', 'cy', 'di', 'ed'].map((name) => `${name}@example.com`);
    for (const email of emails) {
      expectOk(
        await call(pm, 'PATCH', `/partners/${partnerId}`, {
          body: { payoutMethod: { type: 'paypal', email } },
        }),
      );
    }
    const pages = [];
    let cursor: string | undefined;
    do {
      const page = expectOk(
        await call(viewer, 'GET', `/partners/${partnerId}/events`, {
          query: { limit: '2', ...(cursor ? { cursor } : {}) },
        }),
      );
      pages.push(page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(pages.map((items) => items.length)).toEqual([2, 2, 2]);
    const entries = pages.flat();
    expect(entries[0]).toEqual(legacy);
    expect(entries.slice(1).map((entry) => entry.data.to.email)).toEqual(
      emails.map((email) => `${email.slice(0, 1)}…@example.com`),
    );
    expect(new Set(entries.map((entry) => entry.id)).size).toBe(6);
    expect(entries.slice(2).map((entry) => entry.data.from.type)).toEqual([
      'paypal',
      'paypal',
      'paypal',
      'paypal',
    ]);
    // The entries are items in the partner's partition; the partner item carries no list of them.
    const stored = await dynamo().send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :ev)',
        ExpressionAttributeValues: { ':pk': `PARTNER#${partnerId}`, ':ev': 'EV#' },
        ConsistentRead: true,
      }),
    );
    expect(stored.Items?.map((item) => item.seq)).toEqual([1, 2, 3, 4, 5]);
    const item = await dynamo().send(
      new GetCommand({
        TableName: table(),
        Key: { PK: `PARTNER#${partnerId}`, SK: 'PARTNER' },
        ConsistentRead: true,
      }),
    );
    expect(item.Item).toMatchObject({ historySeq: 5, historyFlushed: 5, historyOutbox: [] });
    expect(expectOk(await call(viewer, 'GET', `/partners/${partnerId}`))).not.toHaveProperty('historySeq');
    // A tampered cursor is a 400.
    expectProblem(
      await call(viewer, 'GET', `/partners/${partnerId}/events`, { query: { cursor: 'bm90LWEtY3Vyc29y' } }),
      400,
      'validation_failed',
    );
  });
});

// ------------------------------------------------------------------ holds

describe('holds', () => {
  it('a reward hold: not drafted, not accepted, and a draft holding it is not validated', async () => {
    const partnerId = await newPartner();
    const held = await reward(partnerId, 5_000);
    const free = await reward(partnerId, 7_000);
    const hold = expectOk(
      await place(pm, { scope: 'reward', targetId: held.id, reasonCode: 'REFUND_RISK' }),
      201,
    );
    expect(hold).toMatchObject({ status: 'active', partnerId, createdBy: { id: 'pm-ana' } });
    expectProblem(
      await call(pm, 'POST', '/payouts', { body: { partnerId, currency: 'EUR', rewardIds: [held.id] } }),
      409,
      'on_hold',
    );
    expectProblem(await call(pm, 'POST', `/rewards/${held.id}/accept`, { body: {} }), 409, 'on_hold');
    const payout = await draft(partnerId);
    const rewards = await listAll(viewer, `/payouts/${payout.id}/rewards`);
    expect(rewards.map((r) => r.id)).toEqual([free.id]);
    // A hold placed on a reward already in a draft stops the draft's validation.
    const later = expectOk(
      await place(finA, { scope: 'reward', targetId: free.id, reasonCode: 'CHARGEBACK' }),
      201,
    );
    const before = await state(payout.id, partnerId);
    const refused = expectProblem(
      await call(pm, 'POST', `/payouts/${payout.id}/validate`, { body: {} }),
      409,
      'on_hold',
    );
    expect(refused.data.rewardIds).toEqual([free.id]);
    expect(await state(payout.id, partnerId)).toEqual(before);
    // Whoever placed it may not release it; someone else may, and validation goes on.
    expectProblem(await release(finA, later.id), 422, 'same_user');
    expectOk(await release(pm, later.id));
    expect(expectOk(await call(pm, 'POST', `/payouts/${payout.id}/validate`, { body: {} })).status).toBe(
      'pending',
    );
  });

  it('a payout hold stops every step forward, shows the partner its message only, and stacks with a partner hold', async () => {
    const { payoutId, partnerId } = await readyPayout([150_000], 'BGN');
    const payoutHold = expectOk(
      await place(pm, {
        scope: 'payout',
        targetId: payoutId,
        reasonCode: 'KYC_INCOMPLETE',
        note: 'Passport expired',
        partnerMessage: 'Please upload a valid ID.',
        reviewBy: '2020-01-01T00:00:00.000Z',
      }),
      201,
    );
    expect(payoutHold.dueForReview).toBe(true);
    const partnerHold = expectOk(
      await place(finA, { scope: 'partner', targetId: partnerId, reasonCode: 'SANCTIONS' }),
      201,
    );
    const before = await state(payoutId, partnerId);
    expectProblem(await call(finB, 'POST', `/payouts/${payoutId}/approve`, { body: {} }), 409, 'on_hold');
    expectProblem(
      await call(finB, 'POST', '/exports', { body: { format: 'csv', payoutIds: [payoutId] } }),
      409,
      'on_hold',
    );
    expectProblem(await call(finB, 'POST', `/payouts/${payoutId}/mark-paid`, { body: {} }), 409, 'on_hold');
    expect(await state(payoutId, partnerId)).toEqual(before);
    const other = await readyPayout([10_000], 'BGN');
    const all = expectOk(
      await call(finB, 'POST', '/exports', { body: { format: 'csv', currency: 'BGN' } }),
      201,
    );
    expect(all.payoutIds).toEqual([other.payoutId]);
    expect(all.skipped).toEqual([{ payoutId, reason: 'on_hold' }]);

    // The partner sees the message, never the reason code or note; the status is unchanged.
    const seen = expectOk(await call(partner(partnerId), 'GET', `/partner/payouts/${payoutId}`));
    expect(seen).toMatchObject({ status: 'ready', hold: { partnerMessage: 'Please upload a valid ID.' } });
    expect(JSON.stringify(seen)).not.toMatch(/KYC_INCOMPLETE|SANCTIONS|Passport/);
    const listed = expectOk(await call(partner(partnerId), 'GET', '/partner/payouts'));
    expect(listed.items[0].hold).toEqual({ partnerMessage: 'Please upload a valid ID.' });
    expect((await listAll(viewer, '/holds', { dueForReview: 'true' })).map((h) => h.id)).toContain(
      payoutHold.id,
    );

    // Stacked: releasing one leaves the payout held by the other.
    expectOk(await release(finA, payoutHold.id));
    expect((await getPayout(payoutId)).hold).toEqual({});
    expectProblem(await call(finB, 'POST', `/payouts/${payoutId}/approve`, { body: {} }), 409, 'on_hold');
    expectOk(await release(pm, partnerHold.id));
    const free = await getPayout(payoutId);
    expect(free.hold).toBeUndefined();
    expect(free.status).toBe('ready');
    expectOk(await call(finB, 'POST', `/payouts/${payoutId}/approve`, { body: {} }));
    expectProblem(await release(pm, partnerHold.id), 409, 'conflict');
  });

  it('a partner hold covers their rewards (drafting, scheduled runs) and pending payouts (partner validation)', async () => {
    const partnerId = await newPartner();
    const r = await reward(partnerId, 8_000);
    const payout = await draft(partnerId, 'EUR', [r.id]);
    expectOk(await call(pm, 'POST', `/payouts/${payout.id}/validate`, { body: {} }));
    await reward(partnerId, 3_000);
    const hold = expectOk(
      await place(pm, { scope: 'partner', targetId: partnerId, reasonCode: 'DUPLICATE_ACCOUNT' }),
      201,
    );
    const before = await state(payout.id, partnerId);
    expectProblem(
      await call(partner(partnerId), 'POST', `/partner/payouts/${payout.id}/validate`, { body: {} }),
      409,
      'on_hold',
    );
    expectProblem(
      await call(pm, 'POST', '/payouts', { body: { partnerId, currency: 'EUR' } }),
      422,
      'no_eligible_rewards',
    );
    const run = expectOk(
      await call(pm, 'POST', '/payout-runs', { body: { partnerId, currency: 'EUR' } }),
      201,
    );
    expect(run.payoutsCreated).toBe(0);
    expect(await state(payout.id, partnerId)).toEqual(before);
    expectOk(await release(finA, hold.id));
    expectOk(await call(partner(partnerId), 'POST', `/partner/payouts/${payout.id}/validate`, { body: {} }));
    expect((await draft(partnerId)).amount).toBe(3_000);
  });

  it('refuses bad holds with a 4xx that changes nothing', async () => {
    const partnerId = await newPartner();
    expectProblem(
      await place(pm, { scope: 'payout', targetId: 'po_nope', reasonCode: 'OTHER' }),
      422,
      'unknown_target',
    );
    expectProblem(
      await place(pm, { scope: 'partner', targetId: partnerId, reasonCode: 'BAD' }),
      400,
      'validation_failed',
    );
    expectProblem(
      await place(viewer, { scope: 'partner', targetId: partnerId, reasonCode: 'OTHER' }),
      403,
      'forbidden',
    );
    expect(await listAll(viewer, '/holds', { targetId: partnerId })).toEqual([]);
  });
});

// ------------------------------------------------------------------ confirm

describe('holds are read consistently where money is gated', () => {
  const holdKey = (id: string) => ({ PK: `HOLD#${id}`, SK: 'HOLD' });
  const markerKey = (partnerId: string, id: string) => ({ PK: 'HOLD_MARKERS', SK: `${partnerId}#${id}` });
  /** What a reader of a lagging index sees (AWS's indexes are eventually consistent): no entry yet. */
  const hideFromIndexes = (id: string) =>
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: holdKey(id),
        UpdateExpression: 'REMOVE GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI4PK, GSI4SK',
      }),
    );

  it('a hold placed a moment before an export stops it, though the indexes do not show it yet', async () => {
    const { payoutId, partnerId } = await readyPayout([20_000], 'HUF');
    const hold = expectOk(
      await place(pm, { scope: 'partner', targetId: partnerId, reasonCode: 'SANCTIONS' }),
      201,
    );
    await hideFromIndexes(hold.id);
    expect(await listAll(viewer, '/holds', { active: 'true', targetId: partnerId })).toEqual([]);
    const before = await state(payoutId, partnerId);
    expectProblem(
      await call(finA, 'POST', '/exports', { body: { format: 'csv', payoutIds: [payoutId] } }),
      409,
      'on_hold',
    );
    expectProblem(
      await call(finA, 'POST', '/exports', { body: { format: 'csv', currency: 'HUF' } }),
      422,
      'no_eligible_payouts',
    );
    expectProblem(await call(finA, 'POST', `/payouts/${payoutId}/mark-paid`, { body: {} }), 409, 'on_hold');
    expect(await state(payoutId, partnerId)).toEqual(before);

    // Released: the export goes through at once, and the hold's marker is retired (the TTL deletes it).
    expectOk(await release(finA, hold.id));
    const exported = expectOk(
      await call(finB, 'POST', '/exports', { body: { format: 'csv', currency: 'HUF' } }),
      201,
    );
    expect(exported.payoutIds).toEqual([payoutId]);
    const marker = await dynamo().send(
      new GetCommand({ TableName: table(), Key: markerKey(partnerId, hold.id), ConsistentRead: true }),
    );
    expect(marker.Item).toMatchObject({ retired: true, expiresAt: expect.any(Number) });
  });

  it("a payout's views show a hold placed a moment before, from its marker, though the indexes do not show it yet", async () => {
    const { payoutId, partnerId } = await readyPayout([20_000], 'ISK');
    const other = await readyPayout([10_000], 'ISK');
    const hold = expectOk(
      await place(pm, {
        scope: 'payout',
        targetId: payoutId,
        reasonCode: 'REFUND_RISK',
        partnerMessage: 'We are checking a refund.',
      }),
      201,
    );
    await hideFromIndexes(hold.id);
    const shown = { partnerMessage: 'We are checking a refund.' };
    expect((await getPayout(payoutId)).hold).toEqual(shown);
    expect(expectOk(await call(partner(partnerId), 'GET', '/partner/payouts')).items[0].hold).toEqual(shown);
    // The manager's list spans partners: one read of the markers, each payout shown with its own holds.
    const listed = await listAll(viewer, '/payouts', { status: 'ready', currency: 'ISK' });
    expect(listed.find((payout) => payout.id === payoutId)?.hold).toEqual(shown);
    expect(listed.find((payout) => payout.id === other.payoutId)).toMatchObject({ status: 'ready' });
    expect(listed.find((payout) => payout.id === other.payoutId)?.hold).toBeUndefined();
    // Another partner's payout reads every marker but confirms none of this partner's holds.
    const holdReads: string[] = [];
    const spy = `hold-reads-${randomUUID()}`;
    dynamo().middlewareStack.add(
      (next) => async (args) => {
        const key = (args.input as { Key?: { PK?: string } }).Key?.PK;
        if (key?.startsWith('HOLD#')) holdReads.push(key);
        return next(args);
      },
      { step: 'initialize', name: spy },
    );
    try {
      expect((await getPayout(other.payoutId)).hold).toBeUndefined();
      expect(holdReads).toEqual([]);
      expect((await getPayout(payoutId)).hold).toEqual(shown);
      expect(holdReads).toEqual([`HOLD#${hold.id}`]);
    } finally {
      dynamo().middlewareStack.remove(spy);
    }

    expectOk(await release(finA, hold.id));
    expect((await getPayout(payoutId)).hold).toBeUndefined();
    expect(
      expectOk(await call(partner(partnerId), 'GET', `/partner/payouts/${payoutId}`)).hold,
    ).toBeUndefined();
  });

  it('converges after a crash between a hold and its marker, either way', async () => {
    const { payoutId, partnerId } = await readyPayout([20_000], 'HUF');
    // Placed, then a crash before its marker was written: the index finds it, and it is marked again.
    const hold = expectOk(
      await place(pm, { scope: 'payout', targetId: payoutId, reasonCode: 'REFUND_RISK' }),
      201,
    );
    await dynamo().send(new DeleteCommand({ TableName: table(), Key: markerKey(partnerId, hold.id) }));
    expectProblem(
      await call(finA, 'POST', '/exports', { body: { format: 'csv', payoutIds: [payoutId] } }),
      409,
      'on_hold',
    );
    const remarked = await dynamo().send(
      new GetCommand({ TableName: table(), Key: markerKey(partnerId, hold.id), ConsistentRead: true }),
    );
    expect(remarked.Item).toMatchObject({ id: hold.id, scope: 'payout', targetId: payoutId });

    // Released, then a crash before its marker was retired: the hold item decides, the marker is retired.
    const marker = remarked.Item ?? {};
    expectOk(await release(finA, hold.id));
    await dynamo().send(new PutCommand({ TableName: table(), Item: marker }));
    const exported = expectOk(
      await call(finB, 'POST', '/exports', { body: { format: 'csv', payoutIds: [payoutId] } }),
      201,
    );
    expect(exported.payoutIds).toEqual([payoutId]);
    const gone = await dynamo().send(
      new GetCommand({ TableName: table(), Key: markerKey(partnerId, hold.id), ConsistentRead: true }),
    );
    expect(gone.Item).toMatchObject({ retired: true });
  });
});

describe('confirming a hold', () => {
  it('refuses the held rewards: out of draft, pending and ready payouts (back to draft), clawed back from processing ones', async () => {
    const partnerId = await newPartner();
    const processing = await readyPayout([20_000], 'EUR', partnerId);
    expectOk(
      await call(finA, 'POST', '/exports', { body: { format: 'csv', payoutIds: [processing.payoutId] } }),
      201,
    );
    const ready = await readyPayout([30_000], 'EUR', partnerId);
    const loose = await reward(partnerId, 4_000);
    const hold = expectOk(
      await place(finA, {
        scope: 'partner',
        targetId: partnerId,
        reasonCode: 'SELF_REFERRAL',
        note: 'Fraud ring',
      }),
      201,
    );
    expectProblem(
      await call(finA, 'POST', `/holds/${hold.id}/confirm`, { body: { note: 'x' } }),
      422,
      'same_user',
    );
    const confirmed = expectOk(
      await call(pm, 'POST', `/holds/${hold.id}/confirm`, { body: { note: 'Confirmed fraud' } }),
    );
    expect(confirmed).toMatchObject({ status: 'confirmed', resolvedBy: { id: 'pm-ana' } });

    const back = await getPayout(ready.payoutId);
    expect(back).toMatchObject({ status: 'draft', amount: 0, rewardCount: 0 });
    expect((await history(ready.payoutId)).at(-1)).toMatchObject({
      type: 'payout.hold_confirmed',
      from: 'ready',
      to: 'draft',
      data: { holdId: hold.id, rewardIds: ready.rewardIds },
    });
    const refused = expectOk(await call(viewer, 'GET', `/rewards/${ready.rewardIds[0]}`));
    expect(refused).toMatchObject({ status: 'refused', payoutId: null });
    expect(refused.refusalReason).toContain('SELF_REFERRAL');
    expect(expectOk(await call(viewer, 'GET', `/rewards/${loose.id}`)).status).toBe('refused');

    const rewards = await listAll(viewer, '/rewards', { partnerId });
    const clawbacks = rewards.filter((r) => r.amount < 0);
    expect(clawbacks).toEqual([
      expect.objectContaining({
        amount: -20_000,
        status: 'accepted',
        externalId: `clawback:${hold.id}:${processing.rewardIds[0]}`,
      }),
    ]);
    expect((await getPayout(processing.payoutId)).status).toBe('processing');
    expectProblem(
      await call(finB, 'POST', `/holds/${hold.id}/confirm`, { body: { note: 'again' } }),
      409,
      'conflict',
    );
  });
});

// ------------------------------------------------------------------ automatic holds

describe('automatic holds', () => {
  it('a bad-account failure holds the partner until their payout method changes', async () => {
    const { payoutId, partnerId } = await readyPayout([10_000]);
    expectOk(await call(finA, 'POST', '/exports', { body: { format: 'csv', payoutIds: [payoutId] } }), 201);
    expectOk(
      await call(finB, 'POST', `/payouts/${payoutId}/mark-failed`, {
        body: { reason: 'Account closed', code: 'AC04' },
      }),
    );
    const [hold] = await listAll(viewer, '/holds', { targetId: partnerId, active: 'true' });
    expect(hold).toMatchObject({ reasonCode: 'PAYOUT_METHOD_INVALID', scope: 'partner', automatic: true });
    expect(hold.partnerMessage).toEqual(expect.any(String));
    // No payout is ready or processing any more: the change takes no new hold and releases this one.
    expectOk(
      await call(partner(partnerId), 'PATCH', '/partner/profile', {
        body: {
          payoutMethod: { type: 'sepa', accountHolder: 'Ana Müller', iban: 'FR1420041010050500013M02606' },
        },
      }),
    );
    expect(await listAll(viewer, '/holds', { targetId: partnerId, active: 'true' })).toEqual([]);
    expect(expectOk(await call(viewer, 'GET', `/holds/${hold.id}`))).toMatchObject({
      status: 'released',
      resolvedBy: { role: 'system' },
    });
  });

  it('another failure (not the account) takes no hold', async () => {
    const { payoutId, partnerId } = await readyPayout([10_000]);
    expectOk(await call(finA, 'POST', '/exports', { body: { format: 'csv', payoutIds: [payoutId] } }), 201);
    expectOk(
      await call(finB, 'POST', `/payouts/${payoutId}/mark-failed`, {
        body: { reason: 'Timeout', code: 'MS03' },
      }),
    );
    expect(await listAll(viewer, '/holds', { targetId: partnerId })).toEqual([]);
  });
});

// ------------------------------------------------------------------ events and e-mails

describe('events and e-mails', () => {
  const waitFor = async (predicate: () => boolean) => {
    for (let i = 0; i < 100 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(predicate()).toBe(true);
  };
  const ofType = (type: string, id: string) =>
    seen.filter((event) => event['detail-type'] === type && JSON.stringify(event.detail).includes(id));

  it('publishes hold.placed / released / confirmed; the partner is e-mailed the message and any payout-method change', async () => {
    const partnerId = await newPartner();
    const r = await reward(partnerId, 1_000);
    const placed = expectOk(
      await place(pm, {
        scope: 'partner',
        targetId: partnerId,
        reasonCode: 'TAX_FORM_MISSING',
        note: 'internal',
        partnerMessage: 'Please send your W-8BEN.',
      }),
      201,
    );
    const second = expectOk(await place(pm, { scope: 'reward', targetId: r.id, reasonCode: 'OTHER' }), 201);
    expectOk(await release(finA, placed.id));
    expectOk(await call(finA, 'POST', `/holds/${second.id}/confirm`, { body: { note: 'Confirmed' } }));
    await waitFor(() => ofType('hold.confirmed', second.id).length === 1);
    expect(ofType('hold.placed', placed.id)).toHaveLength(1);
    expect(ofType('hold.released', placed.id)).toHaveLength(1);
    expect(ofType('hold.placed', placed.id)[0]?.detail).toMatchObject({
      partnerId,
      reasonCode: 'TAX_FORM_MISSING',
    });

    // The notifier turns the two partner-facing events into e-mails (the local SES writes .eml files).
    expectOk(
      await call(partner(partnerId), 'PATCH', '/partner/profile', {
        body: { payoutMethod: { type: 'paypal', email: 'ana@example.com' } },
      }),
    );
    await waitFor(() => ofType('partner.payout_method_changed', partnerId).length === 1);
    const settings = {
      mailFrom: 'payouts@example.com',
      managerEmail: 'finance@example.com',
      portalUrl: 'https://p',
    };
    for (const event of [
      ...ofType('hold.placed', placed.id),
      ...ofType('partner.payout_method_changed', partnerId),
    ]) {
      expect(await notify(event['detail-type'], event.detail as never, settings)).toBe('sent');
    }
    expect(await notify('hold.placed', ofType('hold.placed', second.id)[0]?.detail as never, settings)).toBe(
      'skipped',
    );
    const mails = readdirSync(mailDir).map((file) => readFileSync(join(mailDir, file), 'utf8'));
    const onHold = mails.find((mail) => mail.includes('Your payouts are on hold'));
    expect(onHold).toContain('Please send your W-8BEN.');
    expect(onHold).not.toContain('TAX_FORM_MISSING');
    expect(onHold).not.toContain('internal');
    expect(mails.some((mail) => mail.includes('Your payout details were changed'))).toBe(true);
  });

  it('e-mails finance the approvals waiting and program managers the holds past review, once a day', async () => {
    const { payoutId } = await readyPayout([250_000]);
    const partnerId = await newPartner();
    const due = expectOk(
      await place(pm, {
        scope: 'partner',
        targetId: partnerId,
        reasonCode: 'OTHER',
        reviewBy: '2021-01-01T00:00:00.000Z',
      }),
      201,
    );
    const before = new Set(readdirSync(mailDir));
    const result = await sendControlsDigest({
      mailFrom: 'payouts@example.com',
      financeEmail: 'finance-team@example.com',
      programManagersEmail: 'pm-team@example.com',
      portalUrl: 'https://p',
    });
    expect(result.sent).toBe(2);
    // The .eml files are MIME (text and HTML parts, encoded): read them as a mail client would.
    const mails = await Promise.all(
      readdirSync(mailDir)
        .filter((file) => !before.has(file))
        .map(async (file) => {
          const parsed = await simpleParser(readFileSync(join(mailDir, file)));
          return `To: ${parsed.to && !Array.isArray(parsed.to) ? parsed.to.text : ''}\n${parsed.text ?? ''}`;
        }),
    );
    const finance = mails.find((mail) => mail.includes('To: finance-team@example.com'));
    expect(finance).toContain(payoutId);
    const managers = mails.find((mail) => mail.includes('To: pm-team@example.com'));
    expect(managers).toContain(due.id);
    // Approved, it no longer waits.
    expectOk(await call(finA, 'POST', `/payouts/${payoutId}/approve`, { body: {} }));
    expect((await listAll(viewer, '/payouts', { needsApproval: 'true' })).map((p) => p.id)).not.toContain(
      payoutId,
    );
  });
});
