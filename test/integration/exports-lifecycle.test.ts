/**
 * The lifecycle after `ready`, through the real handlers against dynalite and s3rver: an export takes
 * its payouts (ready → processing), a second export cannot include them, racing exports split them,
 * a crash half-way converges (same Idempotency-Key → same export; recovery rolls back an abandoned
 * one), void returns them to ready and a re-export writes new EndToEndIds; settlement (the functions a
 * bank report calls) is idempotent; mark-failed, the return window, reissue and cancel of a failed
 * payout.
 *
 * The table is shared with other test files running at the same time: exports that take "every ready
 * payout" ask for currencies no other test uses (SEK, DKK, PLN, CZK).
 */
import { createHash, randomUUID } from 'node:crypto';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { dynamo } from '../../shared/adapters/clients.ts';
import {
  claimExportRequestKey,
  type ExportRecord,
  nextExportSequence,
  putBuildingExport,
  takePayout,
} from '../../shared/adapters/export-store.ts';
import { newEvent } from '../../shared/adapters/payout-store.ts';
import { keys, table } from '../../shared/adapters/table.ts';
import { endToEndIdFor } from '../../shared/domain/end-to-end.ts';
import { newId } from '../../shared/domain/ids.ts';
import { createExport as createExportUseCase, recoverExports } from '../../shared/usecases/exports.ts';
import { RECOVERERS } from '../../shared/usecases/recoverers.ts';
import {
  exportSettlementView,
  findByEndToEndId,
  settleFailed,
  settlePaid,
  voidExportForRejection,
} from '../../shared/usecases/settlement.ts';
import { expectOk, expectProblem } from '../support/expect.ts';
import { call, manager, managerAs, partner } from '../support/http.ts';

const IBANS = ['DE89370400440532013000', 'FR1420041010050500013M02606', 'NL91ABNA0417164300'];

async function newPartner(): Promise<string> {
  const created = expectOk(
    await call(manager, 'POST', '/partners', {
      body: {
        name: `Partner ${randomUUID().slice(0, 8)}`,
        email: `lifecycle+${randomUUID()}@example.com`,
        payoutMethod: {
          type: 'sepa',
          accountHolder: 'Ana Müller',
          iban: IBANS[Math.floor(Math.random() * IBANS.length)],
        },
      },
    }),
    201,
  );
  return created.id;
}

/** A ready payout of a new partner, with accepted rewards of `amounts`. */
async function readyPayout(currency = 'EUR', amounts: number[] = [12_500, 2_500]): Promise<any> {
  const partnerId = await newPartner();
  for (const amount of amounts) {
    expectOk(
      await call(manager, 'POST', '/rewards', { body: { partnerId, amount, currency, status: 'accepted' } }),
      201,
    );
  }
  const payout = expectOk(await call(manager, 'POST', '/payouts', { body: { partnerId, currency } }), 201);
  expectOk(await call(manager, 'POST', `/payouts/${payout.id}/validate`, { body: {} }));
  expectOk(await call(partner(partnerId), 'POST', `/partner/payouts/${payout.id}/validate`, { body: {} }));
  return getPayout(payout.id);
}

const getPayout = async (id: string) => expectOk(await call(manager, 'GET', `/payouts/${id}`));
const getExport = async (id: string) => expectOk(await call(manager, 'GET', `/exports/${id}`));
const rewardsOf = async (id: string) =>
  expectOk(await call(manager, 'GET', `/payouts/${id}/rewards`, { query: { limit: '100' } })).items;
const historyOf = async (id: string) =>
  expectOk(await call(manager, 'GET', `/payouts/${id}/events`, { query: { limit: '100' } })).items;
const exportOf = (body: Record<string, unknown>, headers?: Record<string, string>) =>
  call(manager, 'POST', '/exports', { body, ...(headers ? { headers } : {}) });

async function download(file: { url: string; sha256: string }): Promise<string> {
  const response = await fetch(file.url);
  expect(response.status).toBe(200);
  const bytes = Buffer.from(await response.arrayBuffer());
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(file.sha256);
  return bytes.toString('utf8');
}

/** The EndToEndIds of a pain.001 file, in order. */
const endToEndIds = (xml: string) => [...xml.matchAll(/<EndToEndId>([^<]*)<\/EndToEndId>/g)].map((m) => m[1]);

describe('an export takes its payouts', () => {
  it('moves each payout to processing with its export and EndToEndId, written in the file', async () => {
    const payouts = [await readyPayout(), await readyPayout()];
    const ids = payouts.map((payout) => payout.id);
    const exported = expectOk(await exportOf({ format: 'sepa', payoutIds: ids }), 201);
    expect(exported).toMatchObject({ status: 'active', payoutIds: ids, payoutCount: 2 });
    expect(exported.url).toEqual(expect.any(String));
    const xml = await download(exported.files[0]);
    const written = endToEndIds(xml);
    for (const [index, payout] of payouts.entries()) {
      const read = await getPayout(payout.id);
      const endToEndId = endToEndIdFor(payout.id, exported.sequence);
      expect(read).toMatchObject({
        status: 'processing',
        exportId: exported.id,
        endToEndId,
        version: payout.version + 1,
      });
      expect(endToEndId.length).toBeLessThanOrEqual(35);
      expect(endToEndId).toMatch(/^[A-Za-z0-9-]+$/);
      expect(written[index]).toBe(endToEndId);
      const history = await historyOf(payout.id);
      expect(history.at(-1)).toMatchObject({
        type: 'payout.processing',
        from: 'ready',
        to: 'processing',
        data: { exportId: exported.id, endToEndId },
      });
      expect(await findByEndToEndId(endToEndId)).toEqual({
        found: 'payout',
        endToEndId,
        exportId: exported.id,
        exportStatus: 'active',
        payoutId: payout.id,
        payoutStatus: 'processing',
        amount: payout.amount,
        currency: 'EUR',
      });
    }
    // The status list shows them as processing.
    const processing = expectOk(
      await call(manager, 'GET', '/payouts', { query: { status: 'processing', limit: '100' } }),
    );
    expect(processing.items.map((item: any) => item.id)).toEqual(expect.arrayContaining(ids));
    // Re-download is not re-export: a fresh url to the same bytes.
    const again = await getExport(exported.id);
    expect(again.files[0].sha256).toBe(exported.files[0].sha256);
    expect(await download(again.files[0])).toBe(xml);
    expect(await findByEndToEndId('po-01ARZ3NDEKTSV4RRFFQ69G5FAV-1')).toEqual({
      found: 'unmatched',
      endToEndId: 'po-01ARZ3NDEKTSV4RRFFQ69G5FAV-1',
    });
  });

  it('refuses a second export of the same payouts: 409 by ids, 422 nothing ready by currency', async () => {
    const payouts = [await readyPayout('SEK'), await readyPayout('SEK')];
    const ids = payouts.map((payout) => payout.id);
    const first = expectOk(await exportOf({ format: 'csv', currency: 'SEK' }), 201);
    expect(first.payoutIds).toEqual(expect.arrayContaining(ids));
    const before = await Promise.all(ids.map(getPayout));
    const second = expectProblem(
      await exportOf({ format: 'csv', payoutIds: ids }),
      409,
      'invalid_transition',
    );
    expect(second.detail).toContain(ids[0]);
    expectProblem(await exportOf({ format: 'csv', currency: 'SEK' }), 422, 'no_eligible_payouts');
    expect(await Promise.all(ids.map(getPayout))).toEqual(before);
  });

  it('409 when a named payout is not ready, and nothing changes', async () => {
    const ready = await readyPayout();
    const partnerId = await newPartner();
    expectOk(
      await call(manager, 'POST', '/rewards', {
        body: { partnerId, amount: 1000, currency: 'EUR', status: 'accepted' },
      }),
      201,
    );
    const draft = expectOk(
      await call(manager, 'POST', '/payouts', { body: { partnerId, currency: 'EUR' } }),
      201,
    );
    const problem = expectProblem(
      await exportOf({ format: 'sepa', payoutIds: [ready.id, draft.id] }),
      409,
      'invalid_transition',
    );
    expect(problem.errors).toEqual([{ path: 'payoutIds[1]', message: `${draft.id} is draft, not ready` }]);
    expect(await getPayout(ready.id)).toEqual(ready);
  });

  it('two exports racing over the same payouts: each payout in exactly one file', async () => {
    const ids = (await Promise.all([1, 2, 3, 4, 5, 6].map(() => readyPayout('DKK', [700])))).map((p) => p.id);
    const [a, b] = await Promise.all([
      exportOf({ format: 'csv', currency: 'DKK' }),
      exportOf({ format: 'csv', currency: 'DKK' }),
    ]);
    const exported = [a, b].filter((response) => response.status === 201).map((response) => response.body);
    for (const response of [a, b]) {
      if (response.status !== 201) expectProblem(response, 422, 'no_eligible_payouts');
    }
    const taken = exported.flatMap((item) => item.payoutIds as string[]);
    expect(taken.filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
    expect(new Set(taken).size).toBe(taken.length);
    for (const id of ids) {
      const payout = await getPayout(id);
      const holder = exported.find((item) => item.payoutIds.includes(id));
      expect(payout).toMatchObject({ status: 'processing', exportId: holder.id });
    }

    // Named exports racing for the same payouts: one wins them all, the other is a 409 and changes nothing.
    const named = (await Promise.all([1, 2, 3].map(() => readyPayout('EUR', [900])))).map((p) => p.id);
    const results = await Promise.all([
      exportOf({ format: 'sepa', payoutIds: named }),
      exportOf({ format: 'sepa', payoutIds: [...named].reverse() }),
    ]);
    const winners = results.filter((response) => response.status === 201);
    expect(winners).toHaveLength(1);
    const loser = results.find((response) => response.status !== 201);
    expectProblem(loser as any, 409, 'invalid_transition');
    for (const id of named) {
      expect(await getPayout(id)).toMatchObject({ status: 'processing', exportId: winners[0]?.body.id });
    }
  });
});

describe('a crash half-way converges', () => {
  /** Steps 1–2 of an export for `ids`, taking only `taken` of them, then "crashing". */
  async function crashedExport(
    ids: string[],
    taken: string[],
    options: { requestKey?: string; createdAt?: string } = {},
  ): Promise<ExportRecord> {
    const { requestKey } = options;
    const id = newId('export');
    if (requestKey) await claimExportRequestKey(requestKey, id);
    const record: ExportRecord = {
      id,
      status: 'building',
      sequence: await nextExportSequence(),
      format: 'sepa',
      sepaVersion: 'pain.001.001.09',
      payoutCount: 0,
      totals: [],
      files: [],
      fileName: '',
      sha256: '',
      createdAt: options.createdAt ?? new Date().toISOString(),
      createdBy: 'manager-1',
    };
    await putBuildingExport(record, ids);
    for (const payoutId of taken) {
      const at = new Date().toISOString();
      const endToEndId = endToEndIdFor(payoutId, record.sequence);
      expect(
        await takePayout(payoutId, {
          exportId: id,
          endToEndId,
          at,
          event: newEvent('payout.processing', { role: 'manager', id: 'manager-1' }, at, {
            from: 'ready',
            to: 'processing',
            data: { exportId: id, endToEndId },
          }),
        }),
      ).toBe(true);
    }
    return record;
  }

  it('recovery rolls an abandoned building export back: voided, its payouts ready again', async () => {
    const ids = [(await readyPayout()).id, (await readyPayout()).id];
    // Crashed 10 minutes ago (other test files' export requests run recovery too: the assertions
    // below hold whoever rolled it back).
    const createdAt = new Date(Date.now() - 10 * 60 * 1000).toISOString();
    const record = await crashedExport(ids, [ids[0] as string], { createdAt });
    const building = await getExport(record.id);
    expect(building).toMatchObject({ status: 'building' });
    expect(building.url).toBeUndefined();
    expect(await getPayout(ids[0] as string)).toMatchObject({ status: 'processing', exportId: record.id });
    // Not yet stale six minutes ago: left alone then.
    expect(await recoverExports({ now: Date.now() - 6 * 60 * 1000 })).not.toContain(record.id);
    await recoverExports();
    expect(await getExport(record.id)).toMatchObject({ status: 'voided' });
    for (const id of ids) {
      const payout = await getPayout(id);
      expect(payout.status).toBe('ready');
      expect(payout.exportId).toBeUndefined();
    }
    expect((await historyOf(ids[0] as string)).at(-1)).toMatchObject({
      type: 'payout.export_rolled_back',
      from: 'processing',
      to: 'ready',
    });
    // Idempotent.
    expect(await recoverExports()).not.toContain(record.id);
    // The payouts can be exported again.
    expectOk(await exportOf({ format: 'sepa', payoutIds: ids }), 201);
  });

  it('the scheduled reconciler runs the same recovery (exports recoverer), once per stale export', async () => {
    expect(RECOVERERS.map((recoverer) => recoverer.name)).toContain('exports');
    const recoverer = RECOVERERS.find(
      (candidate) => candidate.name === 'exports',
    ) as (typeof RECOVERERS)[number];
    const ids = [(await readyPayout()).id];
    const createdAt = new Date(Date.now() - 10 * 60 * 1000).toISOString();
    const record = await crashedExport(ids, ids, { createdAt });
    expect(await getPayout(ids[0] as string)).toMatchObject({ status: 'processing', exportId: record.id });
    const context = { now: new Date(), checkAll: false, deadline: Date.now() + 60_000 };
    const report = await recoverer.recover(context);
    // Other files' exports may be recovered by this run too; this one surely is.
    expect(report.failed).toBe(0);
    expect(await getExport(record.id)).toMatchObject({ status: 'voided' });
    expect(await getPayout(ids[0] as string)).toMatchObject({ status: 'ready' });
    expect((await historyOf(ids[0] as string)).at(-1)).toMatchObject({ type: 'payout.export_rolled_back' });
    // A second run finds nothing of it left.
    const history = await historyOf(ids[0] as string);
    await recoverer.recover({ ...context, deadline: Date.now() + 60_000 });
    expect(await historyOf(ids[0] as string)).toEqual(history);
  });

  it('the same Idempotency-Key resumes the same export and completes it', async () => {
    const ids = [(await readyPayout()).id, (await readyPayout()).id, (await readyPayout()).id];
    const key = randomUUID();
    // The key as the handler scopes it: role, subject, route, key.
    const requestKey = `manager:manager-1:POST /exports:${key}`;
    const record = await crashedExport(ids, [ids[0] as string], { requestKey });
    const resumed = expectOk(
      await exportOf({ format: 'sepa', payoutIds: ids }, { 'idempotency-key': key }),
      201,
    );
    expect(resumed).toMatchObject({ id: record.id, status: 'active', payoutIds: ids, payoutCount: 3 });
    const xml = await download(resumed.files[0]);
    expect(endToEndIds(xml)).toEqual(ids.map((id) => endToEndIdFor(id, record.sequence)));
    for (const id of ids) {
      expect(await getPayout(id)).toMatchObject({ status: 'processing', exportId: record.id });
      // Taken once: one processing entry each.
      expect((await historyOf(id)).filter((event: any) => event.type === 'payout.processing')).toHaveLength(
        1,
      );
    }
    // Once more with the key: the same export (replayed), nothing taken twice.
    const replay = expectOk(
      await exportOf({ format: 'sepa', payoutIds: ids }, { 'idempotency-key': key }),
      201,
    );
    expect(replay.id).toBe(record.id);
    // The use case alone (as after a lost idempotency record) answers the same export too.
    const direct = await createExportUseCase(
      { format: 'sepa', payoutIds: ids },
      { role: 'manager', id: 'manager-1' },
      { requestKey },
    );
    expect(direct).toMatchObject({ id: record.id, status: 'active', sha256: resumed.sha256 });
  });
});

describe('void', () => {
  it('returns the payouts to ready, blocks the download; a re-export writes new EndToEndIds', async () => {
    const ids = [(await readyPayout()).id, (await readyPayout()).id];
    const first = expectOk(await exportOf({ format: 'sepa', payoutIds: ids }), 201);
    const oldIds = ids.map((id) => endToEndIdFor(id, first.sequence));
    expectProblem(
      await call(manager, 'POST', `/exports/${first.id}/void`, { body: {} }),
      400,
      'validation_failed',
    );
    const voided = expectOk(
      await call(manager, 'POST', `/exports/${first.id}/void`, { body: { reason: 'wrong execution date' } }),
    );
    expect(voided).toMatchObject({ status: 'voided', voidReason: 'wrong execution date' });
    expect(voided.url).toBeUndefined();
    expect(voided.files[0].url).toBeUndefined();
    for (const id of ids) {
      const payout = await getPayout(id);
      expect(payout.status).toBe('ready');
      expect((await historyOf(id)).at(-1)).toMatchObject({ type: 'payout.export_voided', to: 'ready' });
    }
    // Voiding again changes nothing.
    expectOk(await call(manager, 'POST', `/exports/${first.id}/void`, { body: { reason: 'again' } }));
    const second = expectOk(await exportOf({ format: 'sepa', payoutIds: ids }), 201);
    expect(second.sequence).not.toBe(first.sequence);
    const newIds = endToEndIds(await download(second.files[0]));
    expect(newIds).toEqual(ids.map((id) => endToEndIdFor(id, second.sequence)));
    for (const oldId of oldIds) expect(newIds).not.toContain(oldId);
    // A booking of the voided file is recognised as such.
    expect(await findByEndToEndId(oldIds[0] as string)).toMatchObject({
      found: 'voided_export',
      exportId: first.id,
      payoutId: ids[0],
    });
    expect(await findByEndToEndId(newIds[0] as string)).toMatchObject({
      found: 'payout',
      exportId: second.id,
    });
    // Nothing grows on the payout item per export: each EndToEndId is its own small item in the
    // payout's partition (the voided one found above through it, the current one on the item).
    for (const [index, id] of ids.entries()) {
      const raw = await dynamo().send(
        new GetCommand({ TableName: table(), Key: keys.payout(id), ConsistentRead: true }),
      );
      expect(raw.Item).toBeDefined();
      expect(raw.Item).not.toHaveProperty('exportRefs');
      const refs = await dynamo().send(
        new QueryCommand({
          TableName: table(),
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :e2e)',
          ExpressionAttributeValues: { ':pk': keys.payout(id).PK, ':e2e': 'E2E#' },
          ConsistentRead: true,
        }),
      );
      expect((refs.Items ?? []).map((item) => [item.endToEndId, item.exportId]).sort()).toEqual(
        [
          [oldIds[index], first.id],
          [newIds[index], second.id],
        ].sort(),
      );
    }
    // Once a payout has an outcome the export cannot be voided.
    expect(
      await settlePaid(ids[0] as string, {
        source: 'bank_report',
        at: new Date().toISOString(),
        endToEndId: newIds[0] as string,
      }),
    ).toMatchObject({ result: 'applied' });
    expectProblem(
      await call(manager, 'POST', `/exports/${second.id}/void`, { body: { reason: 'too late' } }),
      409,
      'export_settled',
    );
    expect(await voidExportForRejection(second.id, 'file refused')).toMatchObject({
      result: 'export_settled',
    });
    expect(await getPayout(ids[1] as string)).toMatchObject({ status: 'processing', exportId: second.id });
    expectProblem(
      await call(manager, 'POST', `/exports/ex_01ARZ3NDEKTSV4RRFFQ69G5FAV/void`, { body: { reason: 'x' } }),
      404,
      'not_found',
    );
  });

  it('a rejection of the whole file voids the export (idempotent)', async () => {
    const ids = [(await readyPayout()).id];
    const exported = expectOk(await exportOf({ format: 'sepa', payoutIds: ids }), 201);
    expect(await voidExportForRejection(exported.id, 'bank refused the file')).toEqual({
      result: 'applied',
      exportId: exported.id,
      payoutIds: ids,
    });
    expect(await voidExportForRejection(exported.id, 'bank refused the file')).toMatchObject({
      result: 'already_applied',
    });
    expect(await getPayout(ids[0] as string)).toMatchObject({ status: 'ready' });
  });
});

describe('settlement', () => {
  it('paid by a report once; the same outcome again is already_applied; view by export', async () => {
    const payout = await readyPayout();
    const exported = expectOk(await exportOf({ format: 'sepa', payoutIds: [payout.id] }), 201);
    const endToEndId = endToEndIdFor(payout.id, exported.sequence);
    expect(await exportSettlementView(exported.id)).toEqual({
      exportId: exported.id,
      status: 'active',
      sequence: exported.sequence,
      payouts: [
        { payoutId: payout.id, endToEndId, amount: payout.amount, currency: 'EUR', status: 'processing' },
      ],
    });
    // A wrong EndToEndId is refused.
    expect(
      await settlePaid(payout.id, { source: 'bank_report', at: new Date().toISOString(), endToEndId: 'x' }),
    ).toMatchObject({ result: 'invalid_transition' });
    const at = '2026-11-20T10:00:00.000Z';
    const paid = await settlePaid(payout.id, {
      source: 'bank_report',
      at,
      endToEndId,
      paymentReference: 'BANKREF-1',
    });
    expect(paid).toMatchObject({
      result: 'applied',
      payout: { status: 'paid', paidAt: at, paidSource: 'bank_report', paymentReference: 'BANKREF-1' },
    });
    expect(await settlePaid(payout.id, { source: 'bank_report', at, endToEndId })).toMatchObject({
      result: 'already_applied',
    });
    const rewards = await rewardsOf(payout.id);
    expect(rewards.map((reward: any) => reward.status)).toEqual(['paid', 'paid']);
    expect((await historyOf(payout.id)).at(-1)).toMatchObject({
      type: 'payout.paid',
      data: { source: 'bank_report', exportId: exported.id, endToEndId },
    });
    // A rejection after the booking is not a return: refused.
    expect(
      await settleFailed(payout.id, { source: 'bank_report', code: 'AC04', returned: false, at, endToEndId }),
    ).toMatchObject({ result: 'invalid_transition' });
    // A return reported by the bank applies whenever it arrives.
    const returned = await settleFailed(payout.id, {
      source: 'bank_report',
      code: 'MD07',
      returned: true,
      at,
      endToEndId,
    });
    expect(returned).toMatchObject({
      result: 'applied',
      payout: {
        status: 'failed',
        failure: { code: 'MD07', source: 'bank_report', returned: true, at },
      },
    });
    expect(returned.result === 'applied' && returned.payout.failure?.reason).toMatch(/deceased/);
    expect((await rewardsOf(payout.id)).map((reward: any) => reward.status)).toEqual([
      'accepted',
      'accepted',
    ]);
    expect(
      await settleFailed(payout.id, { source: 'bank_report', code: 'MD07', returned: true, at, endToEndId }),
    ).toMatchObject({ result: 'already_applied' });
    expect(await settlePaid('po_01ARZ3NDEKTSV4RRFFQ69G5FAV', { source: 'bank_report', at })).toEqual({
      result: 'not_found',
      payoutId: 'po_01ARZ3NDEKTSV4RRFFQ69G5FAV',
    });
  });

  it('a rejection with an unknown code keeps the code with a generic text', async () => {
    const payout = await readyPayout();
    const exported = expectOk(await exportOf({ format: 'sepa', payoutIds: [payout.id] }), 201);
    const result = await settleFailed(payout.id, {
      source: 'bank_report',
      code: 'ZZ99',
      returned: false,
      at: new Date().toISOString(),
      endToEndId: endToEndIdFor(payout.id, exported.sequence),
    });
    expect(result).toMatchObject({
      result: 'applied',
      payout: { status: 'failed', failure: { code: 'ZZ99', returned: false } },
    });
    expect(result.result === 'applied' && result.payout.failure?.reason).toContain('ZZ99');
  });
});

describe('mark-paid, mark-failed, reissue, cancel', () => {
  it('mark-paid from processing; mark-failed from ready is a 409', async () => {
    const payout = await readyPayout();
    expectProblem(
      await call(manager, 'POST', `/payouts/${payout.id}/mark-failed`, { body: { reason: 'x' } }),
      409,
      'invalid_transition',
    );
    expectOk(await exportOf({ format: 'sepa', payoutIds: [payout.id] }), 201);
    const paid = expectOk(
      await call(manager, 'POST', `/payouts/${payout.id}/mark-paid`, { body: { paymentReference: 'R-1' } }),
    );
    expect(paid).toMatchObject({ status: 'paid', paidSource: 'manual', paymentReference: 'R-1' });
  });

  it('mark-failed from processing, reissue moves the rewards, once', async () => {
    const payout = await readyPayout();
    const rewardIds = (await rewardsOf(payout.id)).map((reward: any) => reward.id).sort();
    expectOk(await exportOf({ format: 'sepa', payoutIds: [payout.id] }), 201);
    expectProblem(
      await call(manager, 'POST', `/payouts/${payout.id}/mark-failed`, {
        body: { reason: 'x', code: 'ac04' },
      }),
      400,
      'validation_failed',
    );
    const failed = expectOk(
      await call(manager, 'POST', `/payouts/${payout.id}/mark-failed`, {
        body: { reason: 'The bank says the account is closed', code: 'AC04' },
      }),
    );
    expect(failed).toMatchObject({
      status: 'failed',
      failure: {
        code: 'AC04',
        reason: 'The bank says the account is closed',
        source: 'manual',
        returned: false,
      },
    });
    const reissued = expectOk(await call(manager, 'POST', `/payouts/${payout.id}/reissue`), 201);
    expect(reissued).toMatchObject({
      status: 'ready',
      reissueOf: payout.id,
      amount: payout.amount,
      partnerId: payout.partnerId,
      rewardCount: payout.rewardCount,
    });
    const original = await getPayout(payout.id);
    expect(original).toMatchObject({ status: 'failed', reissuedAs: reissued.id, amount: payout.amount });
    expect((await rewardsOf(reissued.id)).map((reward: any) => reward.id).sort()).toEqual(rewardIds);
    expect(await rewardsOf(payout.id)).toEqual([]);
    expectProblem(await call(manager, 'POST', `/payouts/${payout.id}/reissue`), 409, 'invalid_transition');
    expectProblem(
      await call(manager, 'POST', `/payouts/${payout.id}/cancel`, { body: {} }),
      409,
      'invalid_transition',
    );
    // The bad account held the partner (PAYOUT_METHOD_INVALID) until their payout method changes; the
    // change, with the reissue ready, is itself held (PAYOUT_METHOD_CHANGED) until another user releases it.
    const held = async () =>
      expectOk(
        await call(manager, 'GET', '/holds', { query: { targetId: payout.partnerId, active: 'true' } }),
      ).items;
    expect((await held()).map((hold: any) => hold.reasonCode)).toEqual(['PAYOUT_METHOD_INVALID']);
    // An IBAN none of the fixtures start with: the change must be a change.
    expectOk(
      await call(partner(payout.partnerId), 'PATCH', '/partner/profile', {
        body: { payoutMethod: { type: 'sepa', accountHolder: 'Ana Müller', iban: 'BE68539007547034' } },
      }),
    );
    const [changed] = await held();
    expect(changed.reasonCode).toBe('PAYOUT_METHOD_CHANGED');
    expectOk(
      await call(managerAs(['finance'], 'finance-2'), 'POST', `/holds/${changed.id}/release`, {
        body: { note: 'Confirmed with the partner by phone' },
      }),
    );
    // The reissue is exported and paid like any payout.
    const exported = expectOk(await exportOf({ format: 'sepa', payoutIds: [reissued.id] }), 201);
    expect(
      await settlePaid(reissued.id, {
        source: 'bank_report',
        at: new Date().toISOString(),
        endToEndId: endToEndIdFor(reissued.id, exported.sequence),
      }),
    ).toMatchObject({ result: 'applied' });
    expect((await rewardsOf(reissued.id)).every((reward: any) => reward.status === 'paid')).toBe(true);
  });

  it('a return by hand only within RETURN_WINDOW_DAYS of the payment; paid rewards go back to accepted', async () => {
    const recent = await readyPayout();
    expectOk(await call(manager, 'POST', `/payouts/${recent.id}/mark-paid`, { body: {} }));
    expect((await rewardsOf(recent.id)).map((reward: any) => reward.status)).toEqual(['paid', 'paid']);
    const failed = expectOk(
      await call(manager, 'POST', `/payouts/${recent.id}/mark-failed`, {
        body: { reason: 'Returned by the bank', code: 'MD07' },
      }),
    );
    expect(failed).toMatchObject({ status: 'failed', failure: { returned: true, code: 'MD07' } });
    expect((await rewardsOf(recent.id)).map((reward: any) => reward.status)).toEqual([
      'accepted',
      'accepted',
    ]);

    const old = await readyPayout();
    const paidAt = new Date(Date.now() - 31 * 24 * 3600 * 1000).toISOString();
    expectOk(await call(manager, 'POST', `/payouts/${old.id}/mark-paid`, { body: { paidAt } }));
    const before = await getPayout(old.id);
    expectProblem(
      await call(manager, 'POST', `/payouts/${old.id}/mark-failed`, { body: { reason: 'too late' } }),
      409,
      'invalid_transition',
    );
    expect(await getPayout(old.id)).toEqual(before);
    // The bank's own return is not limited by the window.
    expect(
      await settleFailed(old.id, {
        source: 'bank_report',
        code: 'AC04',
        returned: true,
        at: new Date().toISOString(),
      }),
    ).toMatchObject({ result: 'applied', payout: { status: 'failed' } });
  });

  it('cancel of a failed payout that was not reissued releases its rewards', async () => {
    const payout = await readyPayout();
    expectOk(await exportOf({ format: 'sepa', payoutIds: [payout.id] }), 201);
    expectOk(
      await call(manager, 'POST', `/payouts/${payout.id}/mark-failed`, { body: { reason: 'closed' } }),
    );
    const rewardIds = (await rewardsOf(payout.id)).map((reward: any) => reward.id);
    const cancelled = expectOk(await call(manager, 'POST', `/payouts/${payout.id}/cancel`, { body: {} }));
    expect(cancelled.status).toBe('cancelled');
    for (const rewardId of rewardIds) {
      const reward = expectOk(await call(manager, 'GET', `/rewards/${rewardId}`));
      expect(reward).toMatchObject({ payoutId: null, status: 'accepted' });
    }
    expectProblem(await call(manager, 'POST', `/payouts/${payout.id}/reissue`), 409, 'invalid_transition');
  });
});
