/**
 * Bank reports end to end through the real handlers, against dynalite and s3rver: payouts driven to
 * ready and exported as SEPA through the API (so they are `processing` under the EndToEndIds the file
 * says), then bank reports built as a bank sends them (test/support/iso20022.ts, XSD-checked in the
 * unit tests) uploaded with the presigned POST and checked by the real `bank-report-uploaded`
 * handler. Every assertion reads state back through the API. SES is the local stand-in of
 * `npm start` (e-mails become .eml files); EventBridge is the shared test bus.
 *
 * The table and bucket are shared with other test files: every export names its payouts.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { S3Event } from 'aws-lambda';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as bankReportUploaded } from '../../functions/bank-report-uploaded/handler.ts';
import { lambdaContext } from '../../infra/local/functions.ts';
import { startLocalSes } from '../../infra/local/ses.ts';
import { dynamo } from '../../shared/adapters/clients.ts';
import { table } from '../../shared/adapters/table.ts';
import { expectOk, expectProblem, listAll } from '../support/expect.ts';
import { call, manager, partner } from '../support/http.ts';
import { camt, pain002 } from '../support/iso20022.ts';

const BUCKET = 'partner-payouts-bank-reports';

// ------------------------------------------------------------------ SES stand-in

const mailDir = mkdtempSync(join(tmpdir(), 'bank-report-mail-'));
let ses: Awaited<ReturnType<typeof startLocalSes>>;
const previousSes = process.env.AWS_ENDPOINT_URL_SESV2;

beforeAll(async () => {
  ses = await startLocalSes({ mailDir });
  process.env.AWS_ENDPOINT_URL_SESV2 = ses.endpoint;
});

afterAll(async () => {
  if (previousSes === undefined) delete process.env.AWS_ENDPOINT_URL_SESV2;
  else process.env.AWS_ENDPOINT_URL_SESV2 = previousSes;
  await ses.close();
});

/** E-mails whose body mentions `needle`, parsed (mailparser): `Subject: …` then the text part. */
async function mailsAbout(needle: string): Promise<string[]> {
  if (!existsSync(mailDir)) return [];
  const mails = await Promise.all(
    readdirSync(mailDir).map(async (name) => {
      const parsed = await simpleParser(readFileSync(join(mailDir, name)));
      return `Subject: ${parsed.subject ?? ''}\n${parsed.text ?? ''}`;
    }),
  );
  return mails.filter((text) => text.includes(needle));
}

// ------------------------------------------------------------------ payouts, exports

async function readyPayout(amount: number): Promise<{ partnerId: string; payoutId: string }> {
  const partnerBody = {
    name: 'Ana Müller',
    email: `bank-reports+${randomUUID()}@example.com`,
    payoutMethod: { type: 'sepa', accountHolder: 'Ana Müller', iban: 'DE89370400440532013000' },
  };
  const { id: partnerId } = expectOk(await call(manager, 'POST', '/partners', { body: partnerBody }), 201);
  expectOk(
    await call(manager, 'POST', '/rewards', {
      body: { partnerId, amount, currency: 'EUR', status: 'accepted' },
    }),
    201,
  );
  const payout = expectOk(
    await call(manager, 'POST', '/payouts', { body: { partnerId, currency: 'EUR' } }),
    201,
  );
  expectOk(await call(manager, 'POST', `/payouts/${payout.id}/validate`, { body: {} }));
  expectOk(await call(partner(partnerId), 'POST', `/partner/payouts/${payout.id}/validate`, { body: {} }));
  return { partnerId, payoutId: payout.id };
}

interface Exported {
  id: string;
  file: string;
  messageId: string;
  paymentInfoId: string;
  /** payout id → the EndToEndId the file wrote for it. */
  endToEnd: Map<string, string>;
}

const first = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1] ?? '';

/** Exports these payouts as SEPA and reads back, from the file itself, the ids the bank will quote. */
async function exportSepa(payoutIds: string[]): Promise<Exported> {
  const created = expectOk(
    await call(manager, 'POST', '/exports', { body: { format: 'sepa', payoutIds } }),
    201,
  );
  const response = await fetch(created.url ?? created.files[0].url);
  expect(response.status).toBe(200);
  const file = await response.text();
  const endToEnd = new Map<string, string>();
  for (const [, id] of file.matchAll(/<EndToEndId>([^<]+)<\/EndToEndId>/g)) {
    const payoutId = payoutIds.find((candidate) => id?.startsWith(candidate.replace('_', '-')));
    if (payoutId && id) endToEnd.set(payoutId, id);
  }
  expect(endToEnd.size).toBe(payoutIds.length);
  return {
    id: created.id,
    file,
    messageId: first(file, 'MsgId'),
    paymentInfoId: first(file, 'PmtInfId'),
    endToEnd,
  };
}

const payoutOf = async (id: string) => expectOk(await call(manager, 'GET', `/payouts/${id}`));

// ------------------------------------------------------------------ uploading a report

interface Upload {
  id: string;
  url: string;
  fields: Record<string, string>;
  expiresAt: string;
  maxBytes: number;
}

async function requestUpload(fileName = 'report.xml'): Promise<Upload> {
  return expectOk(await call(manager, 'POST', '/bank-reports', { body: { fileName } }), 201);
}

/** The presigned POST, as a browser sends it, then the ObjectCreated the bucket would send. */
async function uploadReport(content: string | Buffer, fileName?: string): Promise<any> {
  const grant = await requestUpload(fileName);
  const form = new FormData();
  for (const [name, value] of Object.entries(grant.fields)) form.append(name, value);
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  form.append('file', new Blob([new Uint8Array(bytes)], { type: 'application/xml' }), 'report.xml');
  const response = await fetch(grant.url, { method: 'POST', body: form });
  expect([200, 204]).toContain(response.status);
  await notify(grant.fields.key as string, bytes.length);
  return expectOk(await call(manager, 'GET', `/bank-reports/${grant.id}`));
}

/**
 * Stands in for the bucket notification: s3rver's event emitter lives in the global-setup process,
 * where nothing listens, so the checker's real handler gets the event AWS would send.
 */
async function notify(key: string, size: number): Promise<unknown> {
  const event = {
    Records: [
      {
        eventName: 'ObjectCreated:Post',
        eventTime: new Date().toISOString(),
        s3: { bucket: { name: BUCKET }, object: { key, size } },
      },
    ],
  } as unknown as S3Event;
  return bankReportUploaded(event, lambdaContext('test-bank-report-uploaded', 120_000));
}

const linesOf = (reportId: string) => listAll(manager, `/bank-reports/${reportId}/lines`);

/**
 * Runs `action` once, just before the first DynamoDB request that `matches` is sent (a middleware on
 * the shared client, which the handlers use): an interleaving of two writers made deterministic.
 * Returns the remover.
 */
function beforeRequest(
  matches: (input: { Key?: { PK?: string }; UpdateExpression?: string }) => boolean,
  action: () => Promise<unknown>,
): () => void {
  const name = `beforeRequest-${randomUUID()}`;
  let done = false;
  dynamo().middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { Key?: { PK?: string }; UpdateExpression?: string };
      if (!done && matches(input)) {
        done = true;
        await action();
      }
      return next(args);
    },
    { step: 'initialize', name },
  );
  return () => {
    dynamo().middlewareStack.remove(name);
  };
}

/** The settling write of a payout: the UpdateItem that carries its `payout.paid` entry. */
const settlingWriteOf = (payoutId: string) => (input: { Key?: { PK?: string } }) =>
  input.Key?.PK === `PAYOUT#${payoutId}` && JSON.stringify(input).includes('payout.paid');

/** Uploads `xml` as a report, with `action` run just before the payout's settling write goes out. */
async function uploadBeforeSettling(
  payoutId: string,
  xml: string,
  action: () => Promise<unknown>,
): Promise<any> {
  const remove = beforeRequest(settlingWriteOf(payoutId), action);
  try {
    return await uploadReport(xml);
  } finally {
    remove();
  }
}

const zero = {
  lines: 0,
  applied: 0,
  alreadyApplied: 0,
  inProgress: 0,
  unmatched: 0,
  mismatched: 0,
  voidedExport: 0,
};

// ------------------------------------------------------------------ tests

describe('the routes', () => {
  it('POST /bank-reports answers a presigned POST for one XML file of at most 20 MiB, 15 minutes', async () => {
    const before = Date.now();
    const grant = await requestUpload('Statement 2026-11.xml');
    expect(grant.id).toMatch(/^br_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(grant.maxBytes).toBe(20 * 1024 * 1024);
    expect(grant.fields.key).toBe(`bank-reports/${grant.id}.xml`);
    expect(grant.fields['Content-Type']).toBe('application/xml');
    const expires = Date.parse(grant.expiresAt) - before;
    expect(expires).toBeGreaterThan(14 * 60_000);
    expect(expires).toBeLessThanOrEqual(15 * 60_000 + 1000);
    const policy = JSON.parse(Buffer.from(grant.fields.Policy ?? '', 'base64').toString('utf8'));
    expect(policy.conditions).toContainEqual(['content-length-range', 1, 20 * 1024 * 1024]);
    const report = expectOk(await call(manager, 'GET', `/bank-reports/${grant.id}`));
    expect(report).toMatchObject({
      id: grant.id,
      fileName: 'Statement 2026-11.xml',
      status: 'awaiting_file',
      counts: zero,
    });
    const listed = await listAll(manager, '/bank-reports');
    expect(listed.map((item) => item.id)).toContain(grant.id);
    expect(expectOk(await call(manager, 'GET', `/bank-reports/${grant.id}/lines`))).toEqual({
      items: [],
      nextCursor: null,
    });
  });

  it('refuses partners, bad bodies and unknown ids, changing nothing', async () => {
    expectProblem(
      await call(partner('pt_01JF3Z0000000000000000000A'), 'POST', '/bank-reports', {
        body: { fileName: 'x.xml' },
      }),
      403,
      'forbidden',
    );
    expectProblem(await call(manager, 'POST', '/bank-reports', { body: {} }), 400, 'validation_failed');
    expectProblem(
      await call(manager, 'POST', '/bank-reports', { body: { fileName: 'a', extra: 1 } }),
      400,
      'validation_failed',
    );
    expectProblem(
      await call(manager, 'GET', '/bank-reports/br_01JF3Z0000000000000000000A'),
      404,
      'not_found',
    );
    expectProblem(await call(manager, 'GET', '/bank-reports/nonsense'), 404, 'not_found');
    expectProblem(await call(manager, 'GET', `/bank-reports/${'x'.repeat(3000)}/lines`), 404, 'not_found');
    expectProblem(
      await call(manager, 'GET', '/bank-reports', { query: { cursor: 'bogus' } }),
      400,
      'validation_failed',
    );
  });
});

describe('applying reports', () => {
  it('pain.002 with one ACCP and one RJCT AC04, then a camt.054 booking of the accepted one and later its return (MD07)', async () => {
    const a = await readyPayout(12_500);
    const b = await readyPayout(7_550);
    const exported = await exportSepa([a.payoutId, b.payoutId]);
    const e2eA = exported.endToEnd.get(a.payoutId) as string;
    const e2eB = exported.endToEnd.get(b.payoutId) as string;
    expect((await payoutOf(a.payoutId)).status).toBe('processing');

    const status = await uploadReport(
      pain002({
        originalMessageId: exported.messageId,
        groupStatus: 'PART',
        txs: [
          { endToEndId: e2eA, status: 'ACCP' },
          { endToEndId: e2eB, status: 'RJCT', reasonCode: 'AC04', amount: '75.50' },
        ],
      }),
      'status.xml',
    );
    expect(status).toMatchObject({
      status: 'applied',
      message: 'pain.002.001.10',
      messageId: 'STS-0001',
      fileName: 'status.xml',
      counts: { ...zero, lines: 2, applied: 1, inProgress: 1 },
    });
    expect(status.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await linesOf(status.id)).toEqual([
      {
        endToEndId: e2eA,
        payoutId: a.payoutId,
        outcome: 'in_progress',
        amount: 12_500,
        currency: 'EUR',
        result: 'in_progress',
      },
      {
        endToEndId: e2eB,
        payoutId: b.payoutId,
        outcome: 'failed',
        reasonCode: 'AC04',
        reason: expect.stringContaining('closed'),
        amount: 7_550,
        currency: 'EUR',
        result: 'applied',
      },
    ]);
    expect(await payoutOf(a.payoutId)).toMatchObject({ status: 'processing' });
    expect(await payoutOf(b.payoutId)).toMatchObject({
      status: 'failed',
      failure: { code: 'AC04', source: 'bank_report', returned: false },
    });

    const booking = await uploadReport(
      camt({
        messageId: 'CAMT-BOOK-1',
        entries: [
          {
            amount: '125.00',
            creditDebit: 'DBIT',
            acctSvcrRef: 'ENTRY-1',
            txs: [{ endToEndId: e2eA, acctSvcrRef: 'BANK-REF-A', amount: '125.00' }],
          },
        ],
      }),
    );
    expect(booking).toMatchObject({
      status: 'applied',
      message: 'camt.054.001.08',
      counts: { ...zero, lines: 1, applied: 1 },
    });
    expect(await payoutOf(a.payoutId)).toMatchObject({ status: 'paid', paymentReference: 'BANK-REF-A' });

    const returned = await uploadReport(
      camt({
        version: 'camt.054.001.02',
        messageId: 'CAMT-RET-1',
        entries: [
          {
            amount: '125.00',
            creditDebit: 'CRDT',
            acctSvcrRef: 'RET-1',
            txs: [{ endToEndId: e2eA, amount: '125.00', returnCode: 'MD07' }],
          },
        ],
      }),
    );
    expect(returned).toMatchObject({
      status: 'applied',
      message: 'camt.054.001.02',
      counts: { ...zero, lines: 1, applied: 1 },
    });
    expect(await linesOf(returned.id)).toMatchObject([
      { outcome: 'failed', reasonCode: 'MD07', returned: true, result: 'applied' },
    ]);
    expect(await payoutOf(a.payoutId)).toMatchObject({
      status: 'failed',
      failure: { code: 'MD07', source: 'bank_report', returned: true },
    });

    // Reissued (the rewards move to a new ready payout), exported again, booked: paid.
    const reissued = expectOk(await call(manager, 'POST', `/payouts/${a.payoutId}/reissue`), 201);
    expect(reissued).toMatchObject({ status: 'ready', amount: 12_500, reissueOf: a.payoutId });
    const next = await exportSepa([reissued.id]);
    const e2eNew = next.endToEnd.get(reissued.id) as string;
    const paidAgain = await uploadReport(
      camt({
        entries: [
          { amount: '125.00', creditDebit: 'DBIT', acctSvcrRef: 'ENTRY-2', txs: [{ endToEndId: e2eNew }] },
        ],
      }),
    );
    expect(paidAgain.counts).toEqual({ ...zero, lines: 1, applied: 1 });
    expect(await payoutOf(reissued.id)).toMatchObject({ status: 'paid', paymentReference: 'ENTRY-2' });
    // A late booking of the returned transfer's id changes nothing: it is already settled (failed).
    const late = await uploadReport(
      camt({ entries: [{ amount: '125.00', creditDebit: 'DBIT', txs: [{ endToEndId: e2eA }] }] }),
    );
    expect(late.counts).toEqual({ ...zero, lines: 1 });
    expect(await linesOf(late.id)).toMatchObject([{ result: 'invalid_transition' }]);
    expect(await payoutOf(a.payoutId)).toMatchObject({ status: 'failed', reissuedAs: reissued.id });
  });

  it('two deliveries of the same upload at once: one run applies it, once', async () => {
    const a = await readyPayout(2_000);
    const exported = await exportSepa([a.payoutId]);
    const grant = await requestUpload();
    const xml = camt({
      messageId: `CAMT-${randomUUID().slice(0, 8)}`,
      entries: [
        {
          amount: '20.00',
          creditDebit: 'DBIT',
          txs: [{ endToEndId: exported.endToEnd.get(a.payoutId) as string }],
        },
      ],
    });
    const form = new FormData();
    for (const [name, value] of Object.entries(grant.fields)) form.append(name, value);
    form.append('file', new Blob([xml], { type: 'application/xml' }), 'report.xml');
    expect([200, 204]).toContain((await fetch(grant.url, { method: 'POST', body: form })).status);
    const key = grant.fields.key as string;
    const runs = await Promise.allSettled([notify(key, xml.length), notify(key, xml.length)]);
    // The other run found the report leased: it fails (the event is retried) or finds it applied.
    const refused = runs.filter((run) => run.status === 'rejected');
    for (const run of refused)
      expect(String((run as PromiseRejectedResult).reason)).toMatch(/ReportBusy|being applied/);
    expect(runs.filter((run) => run.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
    if (refused.length > 0) await notify(key, xml.length); // the retry
    const report = expectOk(await call(manager, 'GET', `/bank-reports/${grant.id}`));
    expect(report).toMatchObject({ status: 'applied', counts: { ...zero, lines: 1, applied: 1 } });
    const events = expectOk(await call(manager, 'GET', `/payouts/${a.payoutId}/events`));
    expect(events.items.filter((event: { type: string }) => event.type === 'payout.paid')).toHaveLength(1);
  });

  it('the same bytes again are the same report: their own id, applied, duplicateOf the first, nothing applied', async () => {
    const a = await readyPayout(4_200);
    const exported = await exportSepa([a.payoutId]);
    const xml = camt({
      messageId: `CAMT-${randomUUID().slice(0, 8)}`,
      entries: [
        {
          amount: '42.00',
          creditDebit: 'DBIT',
          txs: [{ endToEndId: exported.endToEnd.get(a.payoutId) as string }],
        },
      ],
    });
    const once = await uploadReport(xml);
    expect(once.counts).toEqual({ ...zero, lines: 1, applied: 1 });
    const paid = await payoutOf(a.payoutId);
    const history = expectOk(await call(manager, 'GET', `/payouts/${a.payoutId}/events`));
    const twice = await uploadReport(xml);
    expect(twice).toMatchObject({
      status: 'applied',
      duplicateOf: once.id,
      sha256: once.sha256,
      counts: zero,
    });
    expect(twice.id).not.toBe(once.id);
    expect(await linesOf(twice.id)).toEqual([]);
    expect(await payoutOf(a.payoutId)).toEqual(paid);
    expect(expectOk(await call(manager, 'GET', `/payouts/${a.payoutId}/events`))).toEqual(history);
  });

  it('an amount that differs by one cent is amount_mismatch, an unknown id unmatched: nothing changes, the manager is told', async () => {
    const a = await readyPayout(10_000);
    const exported = await exportSepa([a.payoutId]);
    const before = await payoutOf(a.payoutId);
    const unknown = `po-01JF3Z${randomUUID()
      .replace(/-/g, '')
      .slice(0, 20)
      .toUpperCase()
      .replace(/[ILOU]/g, 'A')}-1`;
    const report = await uploadReport(
      camt({
        entries: [
          {
            amount: '100.01',
            creditDebit: 'DBIT',
            txs: [{ endToEndId: exported.endToEnd.get(a.payoutId) as string }],
          },
          { amount: '5.00', creditDebit: 'DBIT', txs: [{ endToEndId: unknown }] },
        ],
      }),
      'attention.xml',
    );
    expect(report.counts).toEqual({ ...zero, lines: 2, unmatched: 1, mismatched: 1 });
    expect(await linesOf(report.id)).toEqual([
      {
        endToEndId: exported.endToEnd.get(a.payoutId),
        payoutId: a.payoutId,
        outcome: 'paid',
        amount: 10_001,
        currency: 'EUR',
        paymentReference: 'E1',
        result: 'amount_mismatch',
        detail: 'the payout is 10000 EUR',
      },
      {
        endToEndId: unknown,
        outcome: 'paid',
        amount: 500,
        currency: 'EUR',
        paymentReference: 'E2',
        result: 'unmatched',
      },
    ]);
    expect(await payoutOf(a.payoutId)).toEqual(before);
    const [mail] = await mailsAbout(report.id);
    expect(mail).toContain('Subject: Bank report attention.xml: 2 line(s) need your attention');
    expect(mail).toContain(unknown);
  });

  it('a batch booking settles the export only when count and total match exactly', async () => {
    const a = await readyPayout(1_000);
    const b = await readyPayout(2_345);
    const exported = await exportSepa([a.payoutId, b.payoutId]);
    const wrong = await uploadReport(
      camt({
        entries: [
          {
            amount: '33.44',
            creditDebit: 'DBIT',
            batch: { paymentInfoId: exported.paymentInfoId, count: 2 },
          },
        ],
      }),
    );
    expect(wrong.counts).toEqual({ ...zero, lines: 1, mismatched: 1 });
    expect((await payoutOf(a.payoutId)).status).toBe('processing');
    const right = await uploadReport(
      camt({
        entries: [
          {
            amount: '33.45',
            creditDebit: 'DBIT',
            acctSvcrRef: 'BATCH-9',
            batch: { paymentInfoId: exported.paymentInfoId, count: 2, total: '33.45' },
          },
        ],
      }),
    );
    expect(right.counts).toEqual({ ...zero, lines: 2, applied: 2 });
    for (const id of [a.payoutId, b.payoutId]) {
      expect(await payoutOf(id)).toMatchObject({ status: 'paid', paymentReference: 'BATCH-9' });
    }
  });

  it('a group-level RJCT (the bank refused the file) voids the export: its payouts are ready again, the manager is told why', async () => {
    const a = await readyPayout(3_000);
    const exported = await exportSepa([a.payoutId]);
    const report = await uploadReport(
      pain002({
        originalMessageId: exported.messageId,
        groupStatus: 'RJCT',
        groupReasonCode: 'FF01',
        groupText: 'Invalid file format',
      }),
    );
    expect(report).toMatchObject({
      status: 'applied',
      counts: zero,
      exportRejection: {
        exportId: exported.id,
        messageId: exported.messageId,
        reasonCode: 'FF01',
        result: 'applied',
      },
    });
    expect((await payoutOf(a.payoutId)).status).toBe('ready');
    expect(expectOk(await call(manager, 'GET', `/exports/${exported.id}`)).status).toBe('voided');
    expect((await mailsAbout(report.id)).join('\n')).toContain(
      `Subject: The bank refused export ${exported.id}`,
    );

    // The voided file booked anyway: a possible double payment, told at once; nothing changes.
    const again = await exportSepa([a.payoutId]);
    expect(again.endToEnd.get(a.payoutId)).not.toBe(exported.endToEnd.get(a.payoutId));
    const booking = await uploadReport(
      camt({
        entries: [
          {
            amount: '30.00',
            creditDebit: 'DBIT',
            txs: [{ endToEndId: exported.endToEnd.get(a.payoutId) as string }],
          },
        ],
      }),
    );
    expect(booking.counts).toEqual({ ...zero, lines: 1, voidedExport: 1 });
    expect(await linesOf(booking.id)).toMatchObject([{ payoutId: a.payoutId, result: 'voided_export' }]);
    expect((await payoutOf(a.payoutId)).status).toBe('processing');
    expect((await mailsAbout(booking.id)).join('\n')).toContain('Subject: Urgent: bank report');
  });

  it('a run that crashed half-way converges when it runs again: every payout paid exactly once', async () => {
    const payouts = await Promise.all([1, 2, 3, 4].map((n) => readyPayout(n * 100)));
    const exported = await exportSepa(payouts.map((p) => p.payoutId));
    const booked = (n: number) => ({
      amount: `${n + 1}.00`,
      creditDebit: 'DBIT' as const,
      txs: [{ endToEndId: exported.endToEnd.get(payouts[n]?.payoutId ?? '') as string }],
    });
    // Lines are stored 100 a page: two payouts and 98 unknown ids fill page 0, two payouts page 1.
    const unknown = Array.from({ length: 98 }, (_, n) => ({
      amount: '1.00',
      creditDebit: 'DBIT' as const,
      txs: [{ endToEndId: `UNKNOWN-${n}` }],
    }));
    const report = await uploadReport(
      camt({ entries: [booked(0), booked(1), ...unknown, booked(2), booked(3)] }),
    );
    expect(report.counts).toEqual({ ...zero, lines: 102, applied: 4, unmatched: 98 });
    const before = await linesOf(report.id);
    // As if the run had died after settling every payout but recording only the first page.
    const key = { PK: `BANKREPORT#${report.id}` };
    await dynamo().send(new DeleteCommand({ TableName: table(), Key: { ...key, SK: 'LINES#0000001' } }));
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: { ...key, SK: 'REPORT' },
        UpdateExpression: 'SET #s = :received REMOVE appliedAt, leaseUntil, pending',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':received': 'received' },
      }),
    );
    expect(await linesOf(report.id)).toHaveLength(100);
    await notify(`bank-reports/${report.id}.xml`, 1);
    const rerun = expectOk(await call(manager, 'GET', `/bank-reports/${report.id}`));
    expect(rerun).toMatchObject({
      status: 'applied',
      counts: { ...zero, lines: 102, applied: 2, alreadyApplied: 2, unmatched: 98 },
    });
    const after = await linesOf(report.id);
    // The recorded page is kept as it was; the other's lines were applied again.
    expect(after.slice(0, 100)).toEqual(before.slice(0, 100));
    expect(after.map((line) => line.result)).toEqual([
      'applied',
      'applied',
      ...unknown.map(() => 'unmatched'),
      'already_applied',
      'already_applied',
    ]);
    expect(after.map((line) => line.endToEndId)).toEqual([
      ...[0, 1].map((n) => exported.endToEnd.get(payouts[n]?.payoutId ?? '')),
      ...unknown.map((_, n) => `UNKNOWN-${n}`),
      ...[2, 3].map((n) => exported.endToEnd.get(payouts[n]?.payoutId ?? '')),
    ]);
    for (const p of payouts) {
      const events = expectOk(await call(manager, 'GET', `/payouts/${p.payoutId}/events`));
      expect(events.items.filter((event: { type: string }) => event.type === 'payout.paid')).toHaveLength(1);
    }
  });

  it('GET /bank-reports/{id}/lines pages lines, not the page items that store them', async () => {
    const entries = Array.from({ length: 230 }, (_, n) => ({
      amount: '1.00',
      creditDebit: 'DBIT' as const,
      txs: [{ endToEndId: `UNKNOWN-PAGED-${n}` }],
    }));
    const report = await uploadReport(camt({ entries }));
    expect(report.counts).toEqual({ ...zero, lines: 230, unmatched: 230 });
    const all = entries.map((entry) => entry.txs[0]?.endToEndId);
    // Pages of 7 and of 100 cross the stored pages' boundaries (100, 200) at other places.
    for (const limit of [7, 100]) {
      const lines = await listAll(manager, `/bank-reports/${report.id}/lines`, {}, limit);
      expect(lines.map((line) => line.endToEndId)).toEqual(all);
      expect(lines.every((line) => line.result === 'unmatched' && line.index === undefined)).toBe(true);
    }
    const first = expectOk(
      await call(manager, 'GET', `/bank-reports/${report.id}/lines`, { query: { limit: '100' } }),
    );
    expect(first.items).toHaveLength(100);
    const second = expectOk(
      await call(manager, 'GET', `/bank-reports/${report.id}/lines`, {
        query: { limit: '100', cursor: first.nextCursor },
      }),
    );
    expect(second.items[0].endToEndId).toBe('UNKNOWN-PAGED-100');
    // A cursor of another report, or forged, is a 400 that names the cursor.
    const other = await uploadReport(camt({ entries: entries.slice(0, 3) }));
    expectProblem(
      await call(manager, 'GET', `/bank-reports/${other.id}/lines`, { query: { cursor: first.nextCursor } }),
      400,
      'validation_failed',
    );
    expectProblem(
      await call(manager, 'GET', `/bank-reports/${report.id}/lines`, { query: { cursor: 'bogus' } }),
      400,
      'validation_failed',
    );
  });
});

describe('the gaps: block rejections, reversals, the void race, the history flushed later', () => {
  it('a payment block refused as a whole (PmtInfSts RJCT, no transactions) voids the export: payouts ready, manager told', async () => {
    const a = await readyPayout(3_100);
    const b = await readyPayout(3_200);
    const exported = await exportSepa([a.payoutId, b.payoutId]);
    // A block that is not this export's own (`<MsgId>-1`) changes nothing.
    const other = await uploadReport(
      pain002({
        originalMessageId: exported.messageId,
        groupStatus: 'PART',
        paymentInfoId: 'SOME-OTHER-BLOCK',
        paymentStatus: 'RJCT',
        paymentReasonCode: 'AM05',
      }),
    );
    expect(other.exportRejection).toMatchObject({ paymentInfoId: 'SOME-OTHER-BLOCK', result: 'unmatched' });
    expect((await payoutOf(a.payoutId)).status).toBe('processing');
    expect(expectOk(await call(manager, 'GET', `/exports/${exported.id}`)).status).toBe('active');

    const report = await uploadReport(
      pain002({
        originalMessageId: exported.messageId,
        groupStatus: 'PART',
        paymentInfoId: exported.paymentInfoId,
        paymentStatus: 'RJCT',
        paymentReasonCode: 'AM05',
        paymentText: 'Duplicate payment block',
      }),
    );
    expect(report).toMatchObject({
      status: 'applied',
      counts: zero,
      exportRejection: {
        exportId: exported.id,
        messageId: exported.messageId,
        paymentInfoId: exported.paymentInfoId,
        reasonCode: 'AM05',
        result: 'applied',
      },
    });
    expect((await payoutOf(a.payoutId)).status).toBe('ready');
    expect((await payoutOf(b.payoutId)).status).toBe('ready');
    expect(expectOk(await call(manager, 'GET', `/exports/${exported.id}`)).status).toBe('voided');
    const mail = (await mailsAbout(report.id)).join('\n');
    expect(mail).toContain(`Subject: The bank refused export ${exported.id}`);
    expect(mail).toContain(`payment block ${exported.paymentInfoId}`);
    expect(mail).toContain('payouts are ready again');
  });

  it('a credit reversal (RvslInd) of a booking we applied is a return: failed, its line says reversal', async () => {
    const a = await readyPayout(4_200);
    const exported = await exportSepa([a.payoutId]);
    const e2e = exported.endToEnd.get(a.payoutId) as string;
    const booked = await uploadReport(
      camt({
        entries: [
          { amount: '42.00', creditDebit: 'DBIT', acctSvcrRef: 'BOOK-R', txs: [{ endToEndId: e2e }] },
        ],
      }),
    );
    expect(booked.counts).toEqual({ ...zero, lines: 1, applied: 1 });
    expect((await payoutOf(a.payoutId)).status).toBe('paid');
    const reversed = await uploadReport(
      camt({
        messageId: 'CAMT-REV-1',
        entries: [
          {
            amount: '42.00',
            creditDebit: 'CRDT',
            reversal: true,
            acctSvcrRef: 'REV-R',
            txs: [{ endToEndId: e2e, amount: '42.00' }],
          },
        ],
      }),
    );
    expect(reversed.counts).toEqual({ ...zero, lines: 1, applied: 1 });
    expect(await linesOf(reversed.id)).toEqual([
      {
        endToEndId: e2e,
        payoutId: a.payoutId,
        outcome: 'failed',
        reason: 'The bank reversed its booking of this payment',
        amount: 4_200,
        currency: 'EUR',
        paymentReference: 'REV-R',
        returned: true,
        reversal: true,
        result: 'applied',
      },
    ]);
    expect(await payoutOf(a.payoutId)).toMatchObject({
      status: 'failed',
      failure: {
        reason: 'The bank reversed its booking of this payment',
        source: 'bank_report',
        returned: true,
      },
    });
    // A debit reversal (money that came in, undone) is not about payouts: no line.
    const debit = await uploadReport(
      camt({
        messageId: 'CAMT-REV-2',
        entries: [{ amount: '42.00', creditDebit: 'DBIT', reversal: true, txs: [{ endToEndId: e2e }] }],
      }),
    );
    expect(debit.counts).toEqual(zero);
  });

  it('a report’s settlement leaves its history entry in the outbox, shown at once; the workflow sync materializes it', async () => {
    const a = await readyPayout(5_300);
    const exported = await exportSepa([a.payoutId]);
    const e2e = exported.endToEnd.get(a.payoutId) as string;
    const booked = await uploadReport(
      camt({ entries: [{ amount: '53.00', creditDebit: 'DBIT', txs: [{ endToEndId: e2e }] }] }),
    );
    expect(booked.counts).toEqual({ ...zero, lines: 1, applied: 1 });
    const raw = async () =>
      (
        await dynamo().send(
          new GetCommand({
            TableName: table(),
            Key: { PK: `PAYOUT#${a.payoutId}`, SK: 'PAYOUT' },
            ConsistentRead: true,
          }),
        )
      ).Item as { seq: number; flushed: number; outbox: ({ type: string } | string)[] };
    const entry = async (seq: number) =>
      (
        await dynamo().send(
          new GetCommand({
            TableName: table(),
            Key: { PK: `PAYOUT#${a.payoutId}`, SK: `EV#${String(seq).padStart(10, '0')}` },
            ConsistentRead: true,
          }),
        )
      ).Item;
    const before = await raw();
    // The export's take leaves its entry in the outbox too (its workflow's sync materializes it); the
    // settling write stores its entry as JSON text (one value, not a map).
    expect(before.outbox[1]).toBeTypeOf('string');
    expect(
      before.outbox.map((event) => (typeof event === 'string' ? JSON.parse(event) : event).type),
    ).toEqual(['payout.processing', 'payout.paid']);
    expect(before.flushed).toBe(before.seq - 2);
    expect(await entry(before.seq)).toBeUndefined();
    const types = async () =>
      expectOk(await call(manager, 'GET', `/payouts/${a.payoutId}/events`)).items.map(
        (event: { type: string }) => event.type,
      );
    const shown = await types();
    expect(shown.filter((type: string) => type === 'payout.paid')).toHaveLength(1);

    // The signal wakes the payout's workflow, whose Sync task is this use case.
    const { syncPayout } = await import('../../shared/usecases/workflow.ts');
    await syncPayout({
      payoutId: a.payoutId,
      stage: 'processing',
      reminders: 0,
      signal: { decision: 'paid' },
    });
    const after = await raw();
    expect(after.outbox).toEqual([]);
    expect(after.flushed).toBe(after.seq);
    expect(await entry(after.seq)).toMatchObject({ type: 'history', event: { type: 'payout.paid' } });
    expect(await types()).toEqual(shown);
  });

  it('the void loses to a settlement it reads after marking the export: it steps back, 409 export_settled', async () => {
    const a = await readyPayout(6_100);
    const b = await readyPayout(6_200);
    const exported = await exportSepa([a.payoutId, b.payoutId]);
    const e2e = exported.endToEnd.get(a.payoutId) as string;
    // The bank's booking lands between the void's first check and its marking of the export.
    const { settlePaid } = await import('../../shared/usecases/settlement.ts');
    const remove = beforeRequest(
      (input) =>
        input.Key?.PK === `EXPORT#${exported.id}` && String(input.UpdateExpression).includes(':voided'),
      () => settlePaid(a.payoutId, { source: 'bank_report', at: new Date().toISOString(), endToEndId: e2e }),
    );
    try {
      expectProblem(
        await call(manager, 'POST', `/exports/${exported.id}/void`, { body: { reason: 'wrong date' } }),
        409,
        'export_settled',
      );
    } finally {
      remove();
    }
    expect(expectOk(await call(manager, 'GET', `/exports/${exported.id}`)).status).toBe('active');
    expect((await payoutOf(a.payoutId)).status).toBe('paid');
    expect((await payoutOf(b.payoutId)).status).toBe('processing');
  });

  it('a settlement that commits after the void marked the export says voided_export on its line', async () => {
    const a = await readyPayout(7_100);
    const exported = await exportSepa([a.payoutId]);
    const e2e = exported.endToEnd.get(a.payoutId) as string;
    // The report matched the payout while the export was active; the void marks the export (and has
    // read the payout, still processing) just before the report's settling write goes out.
    const { markExportVoided } = await import('../../shared/adapters/export-store.ts');
    const report = await uploadBeforeSettling(
      a.payoutId,
      camt({ entries: [{ amount: '71.00', creditDebit: 'DBIT', txs: [{ endToEndId: e2e }] }] }),
      () => markExportVoided(exported.id, ['active'], 'wrong date', new Date().toISOString()),
    );
    expect(report.counts).toEqual({ ...zero, lines: 1, voidedExport: 1 });
    expect(await linesOf(report.id)).toMatchObject([
      {
        payoutId: a.payoutId,
        result: 'voided_export',
        detail: expect.stringContaining('voided while this report was applied'),
      },
    ]);
    expect((await payoutOf(a.payoutId)).status).toBe('paid');
    expect(expectOk(await call(manager, 'GET', `/exports/${exported.id}`)).status).toBe('voided');
    expect((await mailsAbout(report.id)).join('\n')).toContain('Subject: Urgent: bank report');
  });
});

describe('the settling write checks the payout as read', () => {
  it('a history entry appended after the read without a version bump (a reminder) makes the write read again: paid once, both entries kept', async () => {
    const a = await readyPayout(7_300);
    const exported = await exportSepa([a.payoutId]);
    const e2e = exported.endToEnd.get(a.payoutId) as string;
    // The report read the payout (version, seq); a processing reminder (keepVersion: the version does
    // not move, `seq` does) lands just before the settling write goes out.
    const { remindManagerProcessing } = await import('../../shared/usecases/workflow.ts');
    const settling = settlingWriteOf(a.payoutId);
    let writes = 0;
    const counter = `count-${randomUUID()}`;
    dynamo().middlewareStack.add(
      (next) => async (args) => {
        if (settling(args.input as { Key?: { PK?: string } })) writes += 1;
        return next(args);
      },
      { step: 'initialize', name: counter },
    );
    let report: any;
    try {
      report = await uploadBeforeSettling(
        a.payoutId,
        camt({ entries: [{ amount: '73.00', creditDebit: 'DBIT', txs: [{ endToEndId: e2e }] }] }),
        () => remindManagerProcessing(a.payoutId, 5),
      );
    } finally {
      dynamo().middlewareStack.remove(counter);
    }
    expect(report.counts).toEqual({ ...zero, lines: 1, applied: 1 });
    expect(writes).toBe(2); // the first write refused (seq moved), the second after a fresh read
    expect((await payoutOf(a.payoutId)).status).toBe('paid');
    const events = (await listAll(manager, `/payouts/${a.payoutId}/events`)).map(
      (event: { type: string }) => event.type,
    );
    expect(events.filter((type) => type === 'payout.paid')).toHaveLength(1);
    expect(events.filter((type) => type === 'payout.processing_reminder')).toHaveLength(1);
    expect(events.indexOf('payout.processing_reminder')).toBeLessThan(events.indexOf('payout.paid'));
    const item = (
      await dynamo().send(
        new GetCommand({ TableName: table(), Key: { PK: `PAYOUT#${a.payoutId}`, SK: 'PAYOUT' } }),
      )
    ).Item as { seq: number; flushed: number; outbox: unknown[] };
    expect(item.seq - item.flushed).toBe(item.outbox.length);
  });

  it('a flush of the outbox between the read and the write (seq unchanged, outbox shorter): the entry is appended once, after the flushed ones', async () => {
    const a = await readyPayout(7_400);
    const exported = await exportSepa([a.payoutId]);
    const e2e = exported.endToEnd.get(a.payoutId) as string;
    const raw = async () =>
      (
        await dynamo().send(
          new GetCommand({
            TableName: table(),
            Key: { PK: `PAYOUT#${a.payoutId}`, SK: 'PAYOUT' },
            ConsistentRead: true,
          }),
        )
      ).Item as { seq: number; flushed: number; outbox: unknown[] };
    expect((await raw()).outbox.length).toBeGreaterThan(0); // the export's entry, not yet materialized
    // The write appends at the outbox's length as read; the workflow's sync flushes it just before.
    const { flushHistory } = await import('../../shared/adapters/payout-history.ts');
    const report = await uploadBeforeSettling(
      a.payoutId,
      camt({ entries: [{ amount: '74.00', creditDebit: 'DBIT', txs: [{ endToEndId: e2e }] }] }),
      async () => flushHistory((await raw()) as never),
    );
    expect(report.counts).toEqual({ ...zero, lines: 1, applied: 1 });
    const item = await raw();
    expect(item.outbox).toHaveLength(1);
    expect(item.seq - item.flushed).toBe(1);
    const events = (await listAll(manager, `/payouts/${a.payoutId}/events`)).map(
      (event: { type: string }) => event.type,
    );
    expect(events.filter((type) => type === 'payout.paid')).toHaveLength(1);
    expect(events.at(-1)).toBe('payout.paid');
    expect(events.indexOf('payout.processing')).toBeLessThan(events.indexOf('payout.paid'));
  });
});

describe('bad files are rejected with a clear reason and change nothing', () => {
  it.each([
    ['not XML', () => Buffer.from('%PDF-1.7\nnot a report\n'), /^The file is not well-formed XML/],
    [
      'an unsupported version',
      () => camt({ entries: [] }).replace('camt.054.001.08', 'camt.054.001.04'),
      /^camt\.054\.001\.04 is not a supported version of camt\.054/,
    ],
  ] as const)('%s', async (_name, content, reason) => {
    const report = await uploadReport(content());
    expect(report).toMatchObject({ status: 'rejected', counts: zero });
    expect(report.rejectionReason).toMatch(reason);
    expect(await linesOf(report.id)).toEqual([]);
  });

  it('a pain.001 (an export file) uploaded as a report; the payouts it names are untouched', async () => {
    const a = await readyPayout(900);
    const exported = await exportSepa([a.payoutId]);
    const before = await payoutOf(a.payoutId);
    const report = await uploadReport(exported.file);
    expect(report).toMatchObject({ status: 'rejected', counts: zero });
    expect(report.rejectionReason).toMatch(/^pain\.001\.001\.09 is not a bank report/);
    expect(await payoutOf(a.payoutId)).toEqual(before);
  });

  it('30 MiB (s3rver enforces no POST policy: the checker does), deleted', async () => {
    const big = Buffer.alloc(30 * 1024 * 1024, 0x20);
    const report = await uploadReport(big);
    expect(report).toMatchObject({ status: 'rejected', counts: zero });
    expect(report.rejectionReason).toBe(
      'The file is larger than 20 MiB (20971520 bytes), the most a bank report may be',
    );
  });
});
