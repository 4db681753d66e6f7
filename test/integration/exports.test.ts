/**
 * Exports end to end through the real handlers, against dynalite and s3rver: partners with each payout
 * method, payouts driven to ready through the API, then every format exported, downloaded from its
 * presigned url, parsed back and compared field by field with what the payouts and partners say
 * (amounts in EUR, JPY, BHD and USD; names with accents and ampersands). SEPA files are validated
 * against the official pain.001.001.09 and .03 XSDs. Refusals (409, 422, 400) must change nothing:
 * no export listed, no object under exports/, payouts at the same version with the same history and
 * the same exports. An export takes its payouts (ready → processing, see exports-lifecycle.test.ts);
 * the fixture payouts are released by voiding each export after its checks. Each payout remembers its
 * exports through a link item (`exportsOfPayout`); links of an export without a record are ignored.
 *
 * The table and bucket are shared with other test files running at the same time: every export here
 * names its payouts, except the "every ready payout" ones, which ask for currencies (CHF, NOK) that no
 * other test uses.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { BatchWriteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { dynamo } from '../../shared/adapters/clients.ts';
import {
  presignExportDownload,
  putExportLinks,
  uploadExportFile,
} from '../../shared/adapters/export-store.ts';
import { payoutIndexKeys } from '../../shared/adapters/payout-store.ts';
import { keys, table } from '../../shared/adapters/table.ts';
import { endToEndIdFor } from '../../shared/domain/end-to-end.ts';
import { NotFound } from '../../shared/domain/errors.ts';
import { newId } from '../../shared/domain/ids.ts';
import { exportsOfPayout } from '../../shared/usecases/exports.ts';
import { parseCsv } from '../support/csv.ts';
import { expectOk, expectProblem, listAll } from '../support/expect.ts';
import { call, manager, partner } from '../support/http.ts';
import { blocks, decodeEntities, text } from '../support/xml-reading.ts';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const SHA256 = /^[0-9a-f]{64}$/;
const EXPORT_BUCKET = 'partner-payouts-exports';
/** Lists the bucket (the code under test has no listing call). */
const s3 = new S3Client({ endpoint: process.env.AWS_ENDPOINT_URL_S3, forcePathStyle: true });
afterAll(() => s3.destroy());

// ------------------------------------------------------------------ helpers

async function newPartner(body: Record<string, unknown>): Promise<any> {
  return expectOk(
    await call(manager, 'POST', '/partners', {
      body: { email: `exports+${randomUUID()}@example.com`, ...body },
    }),
    201,
  );
}

/** A payout of `partnerId` with accepted rewards of `amounts`, taken to `status` through the API. */
async function payoutOf(
  partnerId: string,
  currency: string,
  amounts: number[],
  status: 'draft' | 'pending' | 'ready' = 'ready',
): Promise<any> {
  for (const amount of amounts) {
    expectOk(
      await call(manager, 'POST', '/rewards', {
        body: { partnerId, amount, currency, status: 'accepted' },
      }),
      201,
    );
  }
  const payout = expectOk(await call(manager, 'POST', '/payouts', { body: { partnerId, currency } }), 201);
  if (status !== 'draft') {
    expectOk(await call(manager, 'POST', `/payouts/${payout.id}/validate`, { body: {} }));
    if (status === 'ready') {
      expectOk(
        await call(partner(partnerId), 'POST', `/partner/payouts/${payout.id}/validate`, { body: {} }),
      );
    }
  }
  const read = expectOk(await call(manager, 'GET', `/payouts/${payout.id}`));
  expect(read).toMatchObject({ status, amount: amounts.reduce((sum, amount) => sum + amount, 0) });
  return read;
}

/**
 * POST /exports. An export takes its payouts (ready → processing); the fixture payouts are exported
 * again and again, so a successful export is voided right after (its payouts go back to ready), unless
 * `keep`. The answer is the export as created (active, with its urls).
 */
async function createExport(
  body: Record<string, unknown>,
  headers?: Record<string, string>,
  options: { keep?: boolean } = {},
) {
  const response = await call(manager, 'POST', '/exports', { body, ...(headers ? { headers } : {}) });
  if (response.status === 201 && !options.keep) {
    expectOk(
      await call(manager, 'POST', `/exports/${response.body.id}/void`, {
        body: { reason: 'test: release the fixture payouts' },
      }),
    );
  }
  return response;
}

interface Downloaded {
  text: string;
  contentType: string | null;
  disposition: string | null;
}

/** Downloads a file through its presigned url and checks its size and checksum against the record. */
async function download(file: { url: string; size: number; sha256: string }): Promise<Downloaded> {
  const response = await fetch(file.url);
  expect(response.status).toBe(200);
  const bytes = Buffer.from(await response.arrayBuffer());
  expect(bytes.length).toBe(file.size);
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(file.sha256);
  return {
    text: bytes.toString('utf8'),
    contentType: response.headers.get('content-type'),
    disposition: response.headers.get('content-disposition'),
  };
}

const XSD = {
  'pain.001.001.09': readFileSync(
    new URL('../fixtures/iso20022/pain.001.001.09.xsd', import.meta.url),
    'utf8',
  ),
  'pain.001.001.03': readFileSync(
    new URL('../fixtures/iso20022/pain.001.001.03.xsd', import.meta.url),
    'utf8',
  ),
};

/** Every object key under exports/ in the export bucket. */
async function bucketKeys(): Promise<string[]> {
  const found: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: EXPORT_BUCKET, Prefix: 'exports/', ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key) found.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found.sort();
}

/**
 * What a refused export must leave as it was: the exports, the files, the payouts, their history and
 * the exports each was in.
 */
async function snapshot(payoutIds: string[]) {
  const payouts = [];
  for (const id of payoutIds) {
    const response = await call(manager, 'GET', `/payouts/${id}`);
    payouts.push(
      response.status === 404
        ? { id, missing: true }
        : {
            payout: expectOk(response),
            events: await listAll(manager, `/payouts/${id}/events`),
            exports: await exportsOfPayout(id),
          },
    );
  }
  return {
    exports: (await listAll(manager, '/exports')).map((item) => item.id).sort(),
    objects: await bucketKeys(),
    payouts,
  };
}

/** The ids of the exports a payout remembers, oldest first. */
async function exportIdsOf(payoutId: string): Promise<string[]> {
  return (await exportsOfPayout(payoutId)).map((link) => link.exportId);
}

/** The checks every successful export answer passes. */
function expectExport(body: any, format: string, payoutIds: string[]): void {
  expect(body).toMatchObject({
    id: expect.stringMatching(/^ex_[0-9A-HJKMNP-TV-Z]{26}$/),
    format,
    payoutIds,
    payoutCount: payoutIds.length,
    createdAt: expect.stringMatching(ISO),
    createdBy: 'manager-1',
    expiresAt: expect.stringMatching(ISO),
  });
  expect(body.files.length).toBeGreaterThan(0);
  expect(body.fileName).toBe(body.files[0].fileName);
  expect(body.sha256).toBe(body.files[0].sha256);
  expect(body.url).toBe(body.files[0].url);
  const minutes = (Date.parse(body.expiresAt) - Date.now()) / 60_000;
  expect(minutes).toBeGreaterThan(14);
  expect(minutes).toBeLessThanOrEqual(15);
  for (const file of body.files) {
    expect(file).toMatchObject({ sha256: expect.stringMatching(SHA256), size: expect.any(Number) });
    expect(file.url).toContain(`/exports/${body.id}/${file.fileName}`);
  }
  expect(body.files.reduce((sum: number, file: any) => sum + file.payoutCount, 0)).toBe(payoutIds.length);
}

// ------------------------------------------------------------------ fixture

const IBAN_FR = 'FR7630006000011234567890189';
const IBAN_DE = 'DE89370400440532013000';
const IBAN_NL = 'NL91ABNA0417164300';

interface Fixture {
  sepaFr: any;
  sepaDe: any;
  paypalA: any;
  paypalB: any;
  wiseA: any;
  wiseB: any;
  none: any;
  /** Ready payouts. */
  eurSepaFr: any;
  eurSepaDe: any;
  usdSepaDe: any;
  eurPaypalA: any;
  eurPaypalB: any;
  jpyPaypalA: any;
  eurWiseA: any;
  eurWiseB: any;
  bhdWiseA: any;
  usdNone: any;
  eurNone: any;
}

let fx: Fixture;

beforeAll(async () => {
  const sepaFr = await newPartner({
    name: 'Société Générale & Fils',
    address: { line1: "12 Rue de l'Église", city: 'Paris', postalCode: '75001', country: 'FR' },
    payoutMethod: {
      type: 'sepa',
      accountHolder: 'Zoë Müller & Söhne',
      iban: 'FR76 3000 6000 0112 3456 7890 189',
      bic: 'AGRIFRPP',
    },
  });
  const sepaDe = await newPartner({
    name: 'Jürgen Groß',
    payoutMethod: { type: 'sepa', accountHolder: 'Jürgen Groß', iban: IBAN_DE },
  });
  const paypalA = await newPartner({
    name: 'Ana Müller & Co',
    payoutMethod: { type: 'paypal', email: `ana+${randomUUID()}@example.com` },
  });
  const paypalB = await newPartner({
    name: 'Björn Ærø',
    payoutMethod: { type: 'paypal', email: `bjorn+${randomUUID()}@example.com` },
  });
  const wiseA = await newPartner({
    name: 'Élodie Dupont & Associés',
    payoutMethod: {
      type: 'wise',
      email: `elodie+${randomUUID()}@example.com`,
      accountHolder: 'Élodie Dupont & Associés',
      iban: IBAN_NL,
    },
  });
  const wiseB = await newPartner({
    name: 'Kenji Watanabe',
    payoutMethod: {
      type: 'wise',
      email: `kenji+${randomUUID()}@example.com`,
      accountHolder: 'Kenji Watanabe',
      currency: 'JPY',
    },
  });
  const none = await newPartner({ name: 'No Method & Sons' });
  fx = {
    sepaFr,
    sepaDe,
    paypalA,
    paypalB,
    wiseA,
    wiseB,
    none,
    eurSepaFr: await payoutOf(sepaFr.id, 'EUR', [100_000, 23_456]),
    eurSepaDe: await payoutOf(sepaDe.id, 'EUR', [7]),
    usdSepaDe: await payoutOf(sepaDe.id, 'USD', [30_000]),
    eurPaypalA: await payoutOf(paypalA.id, 'EUR', [2_500]),
    eurPaypalB: await payoutOf(paypalB.id, 'EUR', [1_999]),
    jpyPaypalA: await payoutOf(paypalA.id, 'JPY', [12_345]),
    eurWiseA: await payoutOf(wiseA.id, 'EUR', [10_001]),
    eurWiseB: await payoutOf(wiseB.id, 'EUR', [45_000]),
    bhdWiseA: await payoutOf(wiseA.id, 'BHD', [1_234_567]),
    usdNone: await payoutOf(none.id, 'USD', [4_200]),
    eurNone: await payoutOf(none.id, 'EUR', [800]),
  };
}, 120_000);

// ------------------------------------------------------------------ formats

describe('POST /exports, csv', () => {
  it('writes one row per payout with its partner, its amount in the currency’s exponent and its account', async () => {
    const ids = [fx.eurSepaFr.id, fx.jpyPaypalA.id, fx.bhdWiseA.id, fx.usdNone.id];
    const body = expectOk(await createExport({ format: 'csv', payoutIds: ids }), 201);
    expectExport(body, 'csv', ids);
    expect(body.sepaVersion).toBeUndefined();
    expect(body.totals).toEqual([
      { currency: 'BHD', amount: 1_234_567 },
      { currency: 'EUR', amount: 123_456 },
      { currency: 'JPY', amount: 12_345 },
      { currency: 'USD', amount: 4_200 },
    ]);
    expect(body.files).toHaveLength(1);
    expect(body.fileName).toBe(`${body.id}.csv`);
    expect(body.files[0]).toMatchObject({ payoutCount: 4, totals: body.totals });

    const file = await download(body.files[0]);
    expect(file.contentType).toMatch(/^text\/csv/);
    expect(file.disposition).toBe(`attachment; filename="${body.fileName}"`);
    expect(file.text.startsWith('\ufeff')).toBe(true);
    const [header, ...rows] = parseCsv(file.text.slice(1));
    expect(header).toEqual([
      'payout_id',
      'partner_id',
      'partner_name',
      'partner_email',
      'amount',
      'amount_minor',
      'currency',
      'payout_method',
      'account_holder',
      'iban',
      'bic',
      'account_email',
      'account_currency',
      'payment_reference',
    ]);
    expect(rows).toEqual([
      [
        fx.eurSepaFr.id,
        fx.sepaFr.id,
        'Société Générale & Fils',
        fx.sepaFr.email,
        '1234.56',
        '123456',
        'EUR',
        'sepa',
        'Zoë Müller & Söhne',
        IBAN_FR,
        'AGRIFRPP',
        '',
        '',
        '',
      ],
      [
        fx.jpyPaypalA.id,
        fx.paypalA.id,
        'Ana Müller & Co',
        fx.paypalA.email,
        '12345',
        '12345',
        'JPY',
        'paypal',
        '',
        '',
        '',
        fx.paypalA.payoutMethod.email,
        '',
        '',
      ],
      [
        fx.bhdWiseA.id,
        fx.wiseA.id,
        'Élodie Dupont & Associés',
        fx.wiseA.email,
        '1234.567',
        '1234567',
        'BHD',
        'wise',
        'Élodie Dupont & Associés',
        IBAN_NL,
        '',
        fx.wiseA.payoutMethod.email,
        '',
        '',
      ],
      [
        fx.usdNone.id,
        fx.none.id,
        'No Method & Sons',
        fx.none.email,
        '42.00',
        '4200',
        'USD',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
      ],
    ]);
  });

  it('takes the payouts (processing, one version and one history entry more), each remembering the export', async () => {
    const ids = [fx.eurWiseA.id, fx.eurNone.id];
    const before = await Promise.all(
      ids.map(async (id) => ({
        payout: expectOk(await call(manager, 'GET', `/payouts/${id}`)),
        events: await listAll(manager, `/payouts/${id}/events`),
        exports: await exportsOfPayout(id),
      })),
    );
    const body = expectOk(
      await createExport({ format: 'csv', payoutIds: ids }, undefined, { keep: true }),
      201,
    );
    for (const [index, id] of ids.entries()) {
      const was = before[index];
      const now = expectOk(await call(manager, 'GET', `/payouts/${id}`));
      expect(now).toMatchObject({
        ...was?.payout,
        status: 'processing',
        version: (was?.payout.version ?? 0) + 1,
        exportId: body.id,
        endToEndId: expect.stringMatching(/^po-/),
        updatedAt: expect.any(String),
        processingAt: expect.any(String),
      });
      const events = await listAll(manager, `/payouts/${id}/events`);
      expect(events.slice(0, -1)).toEqual(was?.events);
      expect(events.at(-1)).toMatchObject({
        type: 'payout.processing',
        from: 'ready',
        to: 'processing',
        data: { exportId: body.id },
      });
      expect(await exportsOfPayout(id)).toEqual([
        ...(was?.exports ?? []),
        { exportId: body.id, format: 'csv', fileName: body.fileName, createdAt: body.createdAt },
      ]);
    }
    const endToEndId = expectOk(await call(manager, 'GET', `/payouts/${ids[0]}`)).endToEndId;
    expectOk(await call(manager, 'POST', `/exports/${body.id}/void`, { body: { reason: 'test' } }));
    // The link is an item of its own, outside every index, at the EndToEndId the file carries (the
    // reference a bank report resolves, kept after the void).
    const { Item } = await dynamo().send(
      new GetCommand({ TableName: table(), Key: { PK: `PAYOUT#${ids[0]}`, SK: `E2E#${endToEndId}` } }),
    );
    expect(Item).toEqual({
      PK: `PAYOUT#${ids[0]}`,
      SK: `E2E#${endToEndId}`,
      type: 'payout_export',
      exportId: body.id,
      endToEndId,
      format: 'csv',
      fileName: body.fileName,
      createdAt: body.createdAt,
    });
  });
});

describe('POST /exports, paypal', () => {
  it('writes the PayPal bulk file: e-mail, decimal amount, currency, payout id, note; no header', async () => {
    const ids = [fx.eurPaypalA.id, fx.eurPaypalB.id];
    const body = expectOk(await createExport({ format: 'paypal', payoutIds: ids }), 201);
    expectExport(body, 'paypal', ids);
    expect(body.totals).toEqual([{ currency: 'EUR', amount: 4_499 }]);
    expect(body.fileName).toBe(`${body.id}-paypal-001.csv`);
    const rows = parseCsv((await download(body.files[0])).text);
    expect(rows).toEqual([
      [fx.paypalA.payoutMethod.email, '25.00', 'EUR', fx.eurPaypalA.id, `Payout ${fx.eurPaypalA.id}`],
      [fx.paypalB.payoutMethod.email, '19.99', 'EUR', fx.eurPaypalB.id, `Payout ${fx.eurPaypalB.id}`],
    ]);
  });

  it('writes JPY in whole yen', async () => {
    const body = expectOk(await createExport({ format: 'paypal', payoutIds: [fx.jpyPaypalA.id] }), 201);
    expect(body.totals).toEqual([{ currency: 'JPY', amount: 12_345 }]);
    expect(parseCsv((await download(body.files[0])).text)).toEqual([
      [fx.paypalA.payoutMethod.email, '12345', 'JPY', fx.jpyPaypalA.id, `Payout ${fx.jpyPaypalA.id}`],
    ]);
  });
});

describe('POST /exports, wise', () => {
  it('writes the Wise batch file with its header, paying in the partner’s currency', async () => {
    const ids = [fx.eurWiseA.id, fx.eurWiseB.id];
    const body = expectOk(await createExport({ format: 'wise', payoutIds: ids }), 201);
    expectExport(body, 'wise', ids);
    expect(body.totals).toEqual([{ currency: 'EUR', amount: 55_001 }]);
    expect(body.fileName).toBe(`${body.id}-wise-001.csv`);
    const [header, ...rows] = parseCsv((await download(body.files[0])).text);
    expect(header).toEqual([
      'name',
      'recipientEmail',
      'paymentReference',
      'receiverType',
      'amountCurrency',
      'amount',
      'sourceCurrency',
      'targetCurrency',
      'IBAN',
    ]);
    expect(rows).toEqual([
      [
        'Élodie Dupont & Associés',
        fx.wiseA.payoutMethod.email,
        fx.eurWiseA.id,
        'BUSINESS',
        'target',
        '100.01',
        'EUR',
        'EUR',
        IBAN_NL,
      ],
      [
        'Kenji Watanabe',
        fx.wiseB.payoutMethod.email,
        fx.eurWiseB.id,
        'BUSINESS',
        'source',
        '450.00',
        'EUR',
        'JPY',
        '',
      ],
    ]);
  });

  it('splits at 1,000 transfers per file, each file with its own url, totals and header', async () => {
    // 1,001 ready payouts written straight to the table (shaped as the API writes them): driving that
    // many through the API would only slow the test down.
    const owner = await newPartner({
      name: 'Split & Co',
      payoutMethod: {
        type: 'wise',
        email: `split+${randomUUID()}@example.com`,
        accountHolder: 'Split & Co',
        iban: IBAN_DE,
      },
    });
    const at = new Date().toISOString();
    const ids: string[] = [];
    const items = Array.from({ length: 1_001 }, (_, index) => {
      const id = newId('payout');
      ids.push(id);
      const payout = {
        id,
        partnerId: owner.id,
        currency: 'EUR',
        status: 'ready' as const,
        amount: 100 + index,
        rewardCount: 1,
        requirements: { invoice: false, rewardReview: false },
        createdAt: at,
        updatedAt: at,
        validatedAt: at,
        partnerValidatedAt: at,
        version: 3,
      };
      return {
        ...keys.payout(id),
        type: 'payout',
        ...payoutIndexKeys(payout),
        ...payout,
        seq: 0,
        flushed: 0,
        outbox: [],
        memberCount: 1,
      };
    });
    for (let start = 0; start < items.length; start += 25) {
      let requests = items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const result = await dynamo().send(new BatchWriteCommand({ RequestItems: { [table()]: requests } }));
        requests = (result.UnprocessedItems?.[table()] ?? []) as typeof requests;
      }
    }

    const body = expectOk(await createExport({ format: 'wise', payoutIds: ids }), 201);
    expectExport(body, 'wise', ids);
    const sum = (from: number, to: number) => {
      let total = 0;
      for (let index = from; index < to; index++) total += 100 + index;
      return total;
    };
    expect(body.totals).toEqual([{ currency: 'EUR', amount: sum(0, 1_001) }]);
    expect(body.files.map((file: any) => [file.fileName, file.payoutCount, file.totals])).toEqual([
      [`${body.id}-wise-001.csv`, 1_000, [{ currency: 'EUR', amount: sum(0, 1_000) }]],
      [`${body.id}-wise-002.csv`, 1, [{ currency: 'EUR', amount: sum(1_000, 1_001) }]],
    ]);
    const [first, second] = await Promise.all(body.files.map(download));
    const firstRows = parseCsv(first?.text ?? '');
    const secondRows = parseCsv(second?.text ?? '');
    expect(firstRows[0]).toEqual(secondRows[0]);
    expect(firstRows.slice(1).map((row) => row[2])).toEqual(ids.slice(0, 1_000));
    expect(secondRows.slice(1)).toEqual([
      [
        'Split & Co',
        owner.payoutMethod.email,
        ids[1_000],
        'BUSINESS',
        'target',
        '11.00',
        'EUR',
        'EUR',
        IBAN_DE,
      ],
    ]);
    expect(await bucketKeys()).toEqual(
      expect.arrayContaining(body.files.map((file: any) => `exports/${body.id}/${file.fileName}`)),
    );
    expect(await exportIdsOf(ids[0] ?? '')).toEqual([body.id]);
    expect(await exportIdsOf(ids[1_000] ?? '')).toEqual([body.id]);
  }, 60_000);
});

describe.each(['pain.001.001.09', 'pain.001.001.03'] as const)('POST /exports, sepa %s', (version) => {
  it('writes a schema-valid credit transfer file with exact counts, control sums and creditors', async () => {
    const ids = [fx.eurSepaFr.id, fx.eurSepaDe.id];
    const request =
      version === 'pain.001.001.09'
        ? { format: 'sepa', payoutIds: ids }
        : { format: 'sepa', payoutIds: ids, sepaVersion: version };
    const body = expectOk(await createExport(request), 201);
    expectExport(body, 'sepa', ids);
    expect(body.sepaVersion).toBe(version);
    expect(body.totals).toEqual([{ currency: 'EUR', amount: 123_463 }]);
    expect(body.fileName).toBe(`${body.id}-${version}.xml`);

    const file = await download(body.files[0]);
    expect(file.contentType).toMatch(/^application\/xml/);
    const xml = file.text;
    const validation = await validateXML({
      xml: [{ fileName: body.fileName, contents: xml }],
      schema: [{ fileName: `${version}.xsd`, contents: XSD[version] }],
    });
    expect(validation.errors).toEqual([]);
    expect(validation.valid).toBe(true);
    expect(xml).toContain(`xmlns="urn:iso:std:iso:20022:tech:xsd:${version}"`);

    const groupHeader = blocks(xml, 'GrpHdr')[0] ?? '';
    const paymentInfo = (blocks(xml, 'PmtInf')[0] ?? '').replace(/<CdtTrfTxInf>[\s\S]*/, '');
    expect(text(groupHeader, 'MsgId')).toBe(body.id.replace('_', '-'));
    for (const part of [groupHeader, paymentInfo]) {
      expect(text(part, 'NbOfTxs')).toBe('2');
      expect(text(part, 'CtrlSum')).toBe('1234.63');
    }
    expect(text(paymentInfo, 'ChrgBr')).toBe('SLEV');
    expect(text(blocks(paymentInfo, 'Dbtr')[0] ?? '', 'Nm')).toBe('Example Company');
    expect(text(blocks(paymentInfo, 'DbtrAcct')[0] ?? '', 'IBAN')).toBe(IBAN_DE);
    const bicTag = version === 'pain.001.001.09' ? 'BICFI' : 'BIC';
    expect(text(blocks(paymentInfo, 'DbtrAgt')[0] ?? '', bicTag)).toBe('COBADEFFXXX');

    const transactions = blocks(xml, 'CdtTrfTxInf');
    expect(transactions).toHaveLength(2);
    const [fr, de] = transactions as [string, string];
    expect(text(fr, 'EndToEndId')).toBe(endToEndIdFor(fx.eurSepaFr.id, body.sequence));
    expect(fr).toContain('<InstdAmt Ccy="EUR">1234.56</InstdAmt>');
    expect(text(fr, bicTag)).toBe('AGRIFRPP');
    expect(text(blocks(fr, 'Cdtr')[0] ?? '', 'Nm')).toBe('Zoe Muller + Sohne');
    expect(text(fr, 'IBAN')).toBe(IBAN_FR);
    const address = blocks(fr, 'PstlAdr')[0] ?? '';
    expect(text(address, 'Ctry')).toBe('FR');
    if (version === 'pain.001.001.09') {
      expect(text(address, 'TwnNm')).toBe('Paris');
      expect(text(address, 'PstCd')).toBe('75001');
      expect(blocks(address, 'AdrLine').map(decodeEntities)).toEqual(["12 Rue de l'Eglise"]);
    } else {
      expect(blocks(address, 'AdrLine').map(decodeEntities)).toEqual(["12 Rue de l'Eglise", '75001 Paris']);
    }
    expect(text(fr, 'Ustrd')).toBe(`Payout ${fx.eurSepaFr.id.replace('_', '-')}`);

    expect(text(de, 'EndToEndId')).toBe(endToEndIdFor(fx.eurSepaDe.id, body.sequence));
    expect(de).toContain('<InstdAmt Ccy="EUR">0.07</InstdAmt>');
    expect(blocks(de, 'CdtrAgt')).toEqual([]);
    expect(text(blocks(de, 'Cdtr')[0] ?? '', 'Nm')).toBe('Jurgen Gross');
    expect(blocks(de, 'PstlAdr')).toEqual([]);
    expect(text(de, 'IBAN')).toBe(IBAN_DE);
  });
});

describe('POST /exports without payoutIds', () => {
  it('exports every ready payout of the currency once; again only after a void; each payout remembering every export', async () => {
    const a = await payoutOf(fx.paypalA.id, 'CHF', [5_000]);
    const b = await payoutOf(fx.paypalB.id, 'CHF', [1]);
    const first = expectOk(
      await createExport({ format: 'paypal', currency: 'CHF' }, undefined, { keep: true }),
      201,
    );
    expectExport(first, 'paypal', [a.id, b.id]);
    expect(first.totals).toEqual([{ currency: 'CHF', amount: 5_001 }]);
    expect(parseCsv((await download(first.files[0])).text).map((row) => [row[1], row[2], row[3]])).toEqual([
      ['50.00', 'CHF', a.id],
      ['0.01', 'CHF', b.id],
    ]);
    // Every CHF payout is in the first export now: nothing left to export.
    expectProblem(await createExport({ format: 'csv', currency: 'CHF' }), 422, 'no_eligible_payouts');
    expectOk(await call(manager, 'POST', `/exports/${first.id}/void`, { body: { reason: 'test' } }));
    const second = expectOk(await createExport({ format: 'csv', currency: 'CHF' }), 201);
    expect(second.payoutIds).toEqual([a.id, b.id]);
    for (const payout of [a, b]) {
      expect(await exportIdsOf(payout.id)).toEqual([first.id, second.id]);
      expect(expectOk(await call(manager, 'GET', `/payouts/${payout.id}`))).toMatchObject({
        status: 'ready',
        amount: payout.amount,
        version: payout.version + 4,
      });
    }
  });

  it('answers 422 no_eligible_payouts when no payout of the currency is ready, and writes nothing', async () => {
    const before = await snapshot([]);
    expectProblem(await createExport({ format: 'csv', currency: 'NOK' }), 422, 'no_eligible_payouts');
    expect(await snapshot([])).toEqual(before);
  });
});

// ------------------------------------------------------------------ refusals

describe('refused exports change nothing', () => {
  it('409 invalid_transition lists the payouts that are not ready (draft, pending, unknown)', async () => {
    const draft = await payoutOf(fx.paypalA.id, 'USD', [100], 'draft');
    const pending = await payoutOf(fx.paypalB.id, 'USD', [200], 'pending');
    const unknown = newId('payout');
    const ids = [fx.eurPaypalA.id, draft.id, pending.id, unknown];
    const before = await snapshot(ids);
    const problem = expectProblem(
      await createExport({ format: 'csv', payoutIds: ids }),
      409,
      'invalid_transition',
    );
    expect(problem.data.payoutIds).toEqual([draft.id, pending.id, unknown]);
    expect(problem.errors).toEqual([
      { path: 'payoutIds[1]', message: `${draft.id} is draft, not ready` },
      { path: 'payoutIds[2]', message: `${pending.id} is pending, not ready` },
      { path: 'payoutIds[3]', message: `${unknown} does not exist` },
    ]);
    expect(await snapshot(ids)).toEqual(before);
  });

  it('422 missing_payout_details lists the partners whose payout method the format cannot use', async () => {
    const ids = [fx.eurSepaFr.id, fx.eurPaypalA.id, fx.eurNone.id];
    const before = await snapshot(ids);
    const problem = expectProblem(
      await createExport({ format: 'sepa', payoutIds: ids }),
      422,
      'missing_payout_details',
    );
    expect(problem.data.partnerIds).toEqual([fx.paypalA.id, fx.none.id]);
    expect(problem.data.refusals).toEqual([
      { payoutId: fx.eurPaypalA.id, partnerId: fx.paypalA.id, reason: 'wrong_payout_method' },
      { payoutId: fx.eurNone.id, partnerId: fx.none.id, reason: 'no_payout_method' },
    ]);
    expect(problem.errors.map((error: any) => error.path)).toEqual(['payoutIds[1]', 'payoutIds[2]']);
    expect(problem.detail).toContain(fx.paypalA.id);

    const wise = expectProblem(
      await createExport({ format: 'wise', payoutIds: [fx.eurWiseA.id, fx.eurSepaDe.id] }),
      422,
      'missing_payout_details',
    );
    expect(wise.data.partnerIds).toEqual([fx.sepaDe.id]);
    expect(await snapshot(ids)).toEqual(before);
  });

  it('422 currency_mismatch for a SEPA file with USD, a PayPal file with two currencies, or another currency than asked', async () => {
    const ids = [fx.eurSepaFr.id, fx.usdSepaDe.id, fx.eurPaypalA.id, fx.jpyPaypalA.id];
    const before = await snapshot(ids);
    const sepa = expectProblem(
      await createExport({ format: 'sepa', payoutIds: [fx.eurSepaFr.id, fx.usdSepaDe.id] }),
      422,
      'currency_mismatch',
    );
    expect(sepa.data.currencies).toEqual(['EUR', 'USD']);
    const paypal = expectProblem(
      await createExport({ format: 'paypal', payoutIds: [fx.eurPaypalA.id, fx.jpyPaypalA.id] }),
      422,
      'currency_mismatch',
    );
    expect(paypal.data.currencies).toEqual(['EUR', 'JPY']);
    const asked = expectProblem(
      await createExport({ format: 'csv', currency: 'EUR', payoutIds: [fx.eurSepaFr.id, fx.usdSepaDe.id] }),
      422,
      'currency_mismatch',
    );
    expect(asked.data.payoutIds).toEqual([fx.usdSepaDe.id]);
    expect(await snapshot(ids)).toEqual(before);
  });

  it('400 for a payout named twice, sepaVersion on another format, or an unknown format', async () => {
    const ids = [fx.eurSepaFr.id];
    const before = await snapshot(ids);
    const twice = expectProblem(
      await createExport({ format: 'csv', payoutIds: [fx.eurSepaFr.id, fx.eurSepaDe.id, fx.eurSepaFr.id] }),
      400,
      'validation_failed',
    );
    expect(twice.errors).toEqual([{ path: 'payoutIds[2]', message: 'same payout as payoutIds[0]' }]);
    expectProblem(
      await createExport({ format: 'csv', payoutIds: ids, sepaVersion: 'pain.001.001.03' }),
      400,
      'validation_failed',
    );
    expectProblem(await createExport({ format: 'swift', payoutIds: ids }), 400, 'validation_failed');
    expect(await snapshot(ids)).toEqual(before);
  });
});

// ------------------------------------------------------------------ reading exports

describe('GET /exports and /exports/{id}', () => {
  it('lists exports newest first, page by page, with fresh urls and without payout ids', async () => {
    const made: string[] = [];
    for (const id of [fx.eurSepaDe.id, fx.eurPaypalB.id, fx.usdNone.id]) {
      const keep = id === fx.usdNone.id;
      made.push(
        expectOk(await createExport({ format: 'csv', payoutIds: [id] }, undefined, { keep }), 201).id,
      );
    }
    const seen: any[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 500; pages++) {
      const response = expectOk(
        await call(manager, 'GET', '/exports', { query: { limit: '2', ...(cursor ? { cursor } : {}) } }),
      );
      expect(response.items.length).toBeLessThanOrEqual(2);
      seen.push(...response.items);
      if (response.nextCursor === null) break;
      cursor = response.nextCursor;
    }
    const mine = seen.filter((item) => made.includes(item.id)).map((item) => item.id);
    expect(mine).toEqual([...made].reverse());
    const createdAt = seen.map((item) => item.createdAt);
    expect(createdAt).toEqual([...createdAt].sort().reverse());
    for (const item of seen) {
      expect(item.payoutIds).toBeUndefined();
      expect(item.url).toBe(item.files[0].url);
      // Only an active export can be downloaded.
      expect(item.url === undefined).toBe(item.status !== 'active');
    }
    const newest = seen.find((item) => item.id === made[2]);
    expect(seen.find((item) => item.id === made[0])).toMatchObject({ status: 'voided' });
    expect(newest).toMatchObject({
      status: 'active',
      format: 'csv',
      payoutCount: 1,
      totals: [{ currency: 'USD', amount: 4_200 }],
    });
    await download(newest.files[0]);
    expectOk(await call(manager, 'POST', `/exports/${newest.id}/void`, { body: { reason: 'test' } }));

    expectProblem(
      await call(manager, 'GET', '/exports', { query: { cursor: 'not-a-cursor' } }),
      400,
      'validation_failed',
    );
    expectProblem(
      await call(manager, 'GET', '/exports', { query: { limit: '0' } }),
      400,
      'validation_failed',
    );
  });

  it('gets an export with its payout ids and a freshly signed url', async () => {
    const ids = [fx.eurWiseB.id, fx.eurWiseA.id];
    const created = expectOk(
      await createExport({ format: 'wise', payoutIds: ids }, undefined, { keep: true }),
      201,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const got = expectOk(await call(manager, 'GET', `/exports/${created.id}`));
    const withoutLinks = (body: any) => ({
      ...body,
      url: undefined,
      expiresAt: undefined,
      files: body.files.map((file: any) => ({ ...file, url: undefined, expiresAt: undefined })),
    });
    expect(withoutLinks(got)).toEqual(withoutLinks(created));
    expect(got.payoutIds).toEqual(ids);
    expect(got.url).not.toBe(created.url);
    expect(Date.parse(got.expiresAt)).toBeGreaterThan(Date.parse(created.expiresAt));
    expect((await download(got.files[0])).text).toBe((await download(created.files[0])).text);
    expectOk(await call(manager, 'POST', `/exports/${created.id}/void`, { body: { reason: 'test' } }));

    expectProblem(await call(manager, 'GET', `/exports/${newId('export')}`), 404, 'not_found');
    expectProblem(await call(manager, 'GET', '/exports/not-an-id'), 404, 'not_found');
  });

  it('replays a retried POST with the same Idempotency-Key instead of exporting twice', async () => {
    const key = randomUUID();
    const request = { format: 'csv', payoutIds: [fx.eurSepaDe.id] };
    const first = expectOk(await createExport(request, { 'idempotency-key': key }), 201);
    const again = expectOk(await createExport(request, { 'idempotency-key': key }), 201);
    expect(again).toEqual(first);
    const ids = (await listAll(manager, '/exports')).map((item) => item.id);
    expect(ids.filter((id) => id === first.id)).toHaveLength(1);
    expect((await exportIdsOf(fx.eurSepaDe.id)).filter((id) => id === first.id)).toHaveLength(1);
  });
});

describe('exportsOfPayout', () => {
  it('ignores links to an export without a record (a crash between the links and the record)', async () => {
    const owner = await newPartner({
      name: 'Crash & Co',
      payoutMethod: { type: 'paypal', email: `crash+${randomUUID()}@example.com` },
    });
    const payout = await payoutOf(owner.id, 'EUR', [321]);
    expect(await exportsOfPayout(payout.id)).toEqual([]);
    const crashed = newId('export');
    await putExportLinks([{ payoutId: payout.id, endToEndId: endToEndIdFor(payout.id, 1) }], {
      exportId: crashed,
      format: 'csv',
      fileName: `${crashed}.csv`,
      createdAt: new Date().toISOString(),
    });
    expect(await exportsOfPayout(payout.id)).toEqual([]);
    expectProblem(await call(manager, 'GET', `/exports/${crashed}`), 404, 'not_found');
    expect((await listAll(manager, '/exports')).map((item) => item.id)).not.toContain(crashed);

    const body = expectOk(await createExport({ format: 'paypal', payoutIds: [payout.id] }), 201);
    expect(await exportsOfPayout(payout.id)).toEqual([
      { exportId: body.id, format: 'paypal', fileName: body.fileName, createdAt: body.createdAt },
    ]);
    expect(expectOk(await call(manager, 'GET', `/payouts/${payout.id}`))).toMatchObject({ status: 'ready' });
  });

  it('lists a link of the older layout (EXPORT#<id>, beside an export_ref E2E# item) once', async () => {
    const owner = await newPartner({
      name: 'Legacy & Co',
      payoutMethod: { type: 'paypal', email: `legacy+${randomUUID()}@example.com` },
    });
    const payout = await payoutOf(owner.id, 'EUR', [654]);
    const body = expectOk(await createExport({ format: 'paypal', payoutIds: [payout.id] }), 201);
    const endToEndId = expectOk(await call(manager, 'GET', `/payouts/${payout.id}`)).endToEndId;
    const link = { exportId: body.id, format: 'paypal', fileName: body.fileName, createdAt: body.createdAt };
    // Rewrite this export's link as older code left it: the link at EXPORT#, a bare reference at E2E#.
    await dynamo().send(
      new BatchWriteCommand({
        RequestItems: {
          [table()]: [
            {
              PutRequest: {
                Item: { PK: `PAYOUT#${payout.id}`, SK: `EXPORT#${body.id}`, type: 'payout_export', ...link },
              },
            },
            {
              PutRequest: {
                Item: {
                  PK: `PAYOUT#${payout.id}`,
                  SK: `E2E#${endToEndId}`,
                  type: 'export_ref',
                  endToEndId,
                  exportId: body.id,
                },
              },
            },
          ],
        },
      }),
    );
    expect(await exportsOfPayout(payout.id)).toEqual([link]);
  });

  it('answers 404 for an unknown payout', async () => {
    await expect(exportsOfPayout(newId('payout'))).rejects.toBeInstanceOf(NotFound);
  });
});

describe('authorization', () => {
  it('answers 403 to a partner token on every export route, and exports nothing', async () => {
    const before = await snapshot([fx.eurPaypalA.id]);
    const as = partner(fx.paypalA.id);
    expectProblem(
      await call(as, 'POST', '/exports', { body: { format: 'csv', payoutIds: [fx.eurPaypalA.id] } }),
      403,
      'forbidden',
    );
    expectProblem(await call(as, 'GET', '/exports'), 403, 'forbidden');
    const some = (await listAll(manager, '/exports'))[0];
    expectProblem(await call(as, 'GET', `/exports/${some?.id ?? newId('export')}`), 403, 'forbidden');
    expect(await snapshot([fx.eurPaypalA.id])).toEqual(before);
  });
});

describe('export files in S3', () => {
  /** `count` chunks of about 64 KiB of text, made one at a time; fails after `failAfter` when given. */
  async function* chunks(count: number, failAfter?: number): AsyncGenerator<string> {
    for (let index = 0; index < count; index++) {
      if (index === failAfter) throw new Error('generator failed');
      yield `${String(index).padStart(8, '0')};${'é'.repeat(32_000)}\r\n`;
    }
  }

  it('streams a file larger than a part as a multipart upload, hashed as it goes', async () => {
    const key = `exports/${newId('export')}/big.csv`;
    // 330 chunks of 64,011 bytes: about 20 MiB, three parts of 8 MiB at most.
    const expected = createHash('sha256');
    let size = 0;
    for await (const chunk of chunks(330)) {
      const bytes = Buffer.from(chunk, 'utf8');
      expected.update(bytes);
      size += bytes.length;
    }
    const stored = await uploadExportFile(key, 'text/csv; charset=utf-8', chunks(330));
    expect(stored).toEqual({ size, sha256: expected.digest('hex') });
    expect(size).toBeGreaterThan(16 * 1024 * 1024);
    const link = await presignExportDownload({
      key,
      fileName: 'big.csv',
      contentType: 'text/csv; charset=utf-8',
    });
    await download({ url: link.url, size, sha256: stored.sha256 });
  });

  it('leaves no object when the generator fails after the first part was sent', async () => {
    const key = `exports/${newId('export')}/broken.csv`;
    await expect(uploadExportFile(key, 'text/csv', chunks(330, 200))).rejects.toThrow('generator failed');
    expect(await bucketKeys()).not.toContain(key);
  });
});
