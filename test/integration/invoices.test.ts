/**
 * Partner invoices end to end: the presigned POST from the API, a real multipart upload to s3rver,
 * the ObjectCreated check (attach, or delete and record why), the manager's download and rejection,
 * and how an invoice gates the partner's validation. Every assertion reads state back through the
 * API or S3 itself. The table and bucket are shared with other test files running at the same time,
 * so each test makes its own partner and payout.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as invoiceUploaded } from '../../functions/invoice-uploaded/handler.ts';
import { lambdaContext } from '../../infra/local/functions.ts';
import { newId } from '../../shared/domain/ids.ts';
import { expectOk, expectProblem, listAll } from '../support/expect.ts';
import { call, manager, partner } from '../support/http.ts';

const MAX_BYTES = 10 * 1024 * 1024;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const KEY = /^invoices\/po_[0-9A-HJKMNP-TV-Z]{26}\/[A-Za-z0-9_-]+\.pdf$/;

/** A small but well-formed PDF. */
const PDF = Buffer.from(
  [
    '%PDF-1.4',
    '1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj',
    '2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj',
    'trailer << /Root 1 0 R >>',
    '%%EOF',
    '',
  ].join('\n'),
  'latin1',
);

/** Another PDF (different bytes, so a different sha256). */
const pdfNumbered = (n: number) =>
  Buffer.concat([PDF, Buffer.from(`% upload ${n} ${randomUUID()}\n`, 'latin1')]);

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

// Configured like shared/adapters/clients.ts: s3rver corrupts streamed bodies with default checksums.
const s3 = new S3Client({
  endpoint: process.env.AWS_ENDPOINT_URL_S3,
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const BUCKET = process.env.INVOICE_BUCKET ?? '';

afterAll(() => s3.destroy());

// ------------------------------------------------------------------ a PutEvents stub

/**
 * The invoice use cases publish the payout history to EventBridge (the partner is told about a
 * rejection). The shared test setup points no endpoint at EventBridge, so this file answers
 * `AWSEvents.PutEvents` itself: it records what is published and can fail every entry on demand.
 */
const bus = {
  published: [] as { DetailType: string; Detail: string; Resources?: string[] }[],
  failing: false,
};
let busServer: Server;
const previousEndpoint = process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;

beforeAll(async () => {
  busServer = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entries = (JSON.parse(Buffer.concat(chunks).toString('utf8')).Entries ??
        []) as typeof bus.published;
      const failing = bus.failing;
      if (!failing) bus.published.push(...entries);
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify({
          FailedEntryCount: failing ? entries.length : 0,
          Entries: entries.map(() =>
            failing
              ? { ErrorCode: 'InternalFailure', ErrorMessage: 'stub outage' }
              : { EventId: randomUUID() },
          ),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => busServer.listen(0, '127.0.0.1', resolve));
  // Read when the handlers create their EventBridge client, on first use.
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = `http://127.0.0.1:${(busServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (previousEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
  else process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = previousEndpoint;
  await new Promise<void>((resolve) => busServer.close(() => resolve()));
});

/** The history entries of one payout published on the bus, as `{ type, data }`. */
const publishedFor = (payoutId: string) =>
  bus.published
    .map((entry) => ({ type: entry.DetailType, detail: JSON.parse(entry.Detail) }))
    .filter((entry) => entry.detail.id === payoutId)
    .map((entry) => ({ type: entry.type, eventId: entry.detail.event?.id, data: entry.detail.event?.data }));

// ------------------------------------------------------------------ helpers

async function newPartner(): Promise<string> {
  const response = await call(manager, 'POST', '/partners', {
    body: { name: 'Invoice Partner', email: `inv+${randomUUID()}@example.com` },
  });
  return expectOk(response, 201).id;
}

/** A fresh partner's payout of one accepted reward, validated by the manager when `pending`. */
async function payoutIn(
  status: 'draft' | 'pending',
  options: { requireInvoice?: boolean } = {},
): Promise<{ partnerId: string; payoutId: string }> {
  const partnerId = await newPartner();
  expectOk(
    await call(manager, 'POST', '/rewards', {
      body: { partnerId, amount: 4200, currency: 'EUR', status: 'accepted' },
    }),
    201,
  );
  const payout = expectOk(
    await call(manager, 'POST', '/payouts', { body: { partnerId, currency: 'EUR' } }),
    201,
  );
  if (status === 'pending') {
    const validated = expectOk(
      await call(manager, 'POST', `/payouts/${payout.id}/validate`, {
        body: { requireInvoice: options.requireInvoice ?? true },
      }),
    );
    expect(validated.status).toBe('pending');
  }
  return { partnerId, payoutId: payout.id };
}

interface UploadGrant {
  url: string;
  fields: Record<string, string>;
  expiresAt: string;
  maxBytes: number;
}

async function requestUpload(partnerId: string, payoutId: string, fileName?: string): Promise<UploadGrant> {
  const response = await call(partner(partnerId), 'POST', `/partner/payouts/${payoutId}/invoice`, {
    body: fileName === undefined ? {} : { fileName },
  });
  return expectOk(response, 201);
}

/** What a browser form does: every returned field, then the file last. */
async function upload(grant: UploadGrant, bytes: Buffer, clientFileName = 'invoice.pdf'): Promise<Response> {
  const form = new FormData();
  for (const [name, value] of Object.entries(grant.fields)) form.append(name, value);
  form.append('file', new Blob([new Uint8Array(bytes)], { type: 'application/pdf' }), clientFileName);
  return fetch(grant.url, { method: 'POST', body: form });
}

/** S3 encodes keys in notifications like a form: percent-encoding, spaces as '+', slashes kept. */
const eventKey = (key: string) =>
  key
    .split('/')
    .map((part) => encodeURIComponent(part).replace(/%20/g, '+'))
    .join('/');

/**
 * Stands in for the S3 bucket notification. s3rver's `event` emitter lives in the global-setup
 * process, where nothing listens to it; here the checker's real handler gets the event AWS would
 * send for a browser POST.
 */
async function notifyUploaded(
  key: string,
  size: number,
  eventTime = new Date().toISOString(),
): Promise<{ key: string; outcome: string }[]> {
  const event = {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: process.env.AWS_REGION ?? 'us-east-1',
        eventTime,
        eventName: 'ObjectCreated:Post',
        s3: {
          s3SchemaVersion: '1.0',
          bucket: { name: BUCKET, arn: `arn:aws:s3:::${BUCKET}` },
          object: { key: eventKey(key), size },
        },
      },
    ],
  } as unknown as S3Event;
  const result = (await invoiceUploaded(event, lambdaContext('partner-payouts-invoice-uploaded'))) as {
    outcomes: { key: string; outcome: string }[];
  };
  return result.outcomes;
}

/** Upload through the presigned POST, then let the checker see it. */
async function uploadAndCheck(grant: UploadGrant, bytes: Buffer): Promise<string> {
  const response = await upload(grant, bytes);
  expect([200, 204]).toContain(response.status);
  const key = grant.fields.key as string;
  const outcomes = await notifyUploaded(key, bytes.length);
  expect(outcomes).toHaveLength(1);
  expect(outcomes[0]?.key).toBe(key);
  return outcomes[0]?.outcome as string;
}

async function objectExists(key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch (error) {
    if (error instanceof Error && (error.name === 'NotFound' || error.name === 'NoSuchKey')) return false;
    throw error;
  }
}

const getPayout = async (id: string) => expectOk(await call(manager, 'GET', `/payouts/${id}`));
const eventsOf = (id: string) => listAll(manager, `/payouts/${id}/events`);
const eventsOfType = async (id: string, type: string) =>
  (await eventsOf(id)).filter((event) => event.type === type);

function decodePolicy(grant: UploadGrant): { expiration: string; conditions: unknown[] } {
  const encoded = grant.fields.Policy ?? grant.fields.policy;
  expect(typeof encoded).toBe('string');
  return JSON.parse(Buffer.from(encoded as string, 'base64').toString('utf8'));
}

/** A condition on a form field, in either of the two policy spellings ({name: v} or ['eq', '$name', v]). */
function pinnedValue(conditions: unknown[], field: string): unknown {
  for (const condition of conditions) {
    if (Array.isArray(condition)) {
      if (condition[0] === 'eq' && String(condition[1]).toLowerCase() === `$${field.toLowerCase()}`)
        return condition[2];
    } else if (condition && typeof condition === 'object') {
      for (const [name, value] of Object.entries(condition)) {
        if (name.toLowerCase() === field.toLowerCase()) return value;
      }
    }
  }
  return undefined;
}

// ------------------------------------------------------------------ upload, check, download

describe('uploading an invoice', () => {
  it('signs a POST that pins the key, the type, the size and a short expiry', async () => {
    const { partnerId, payoutId } = await payoutIn('pending');
    const before = Date.now();
    const grant = await requestUpload(partnerId, payoutId, '../../etc/passwd INV-2026-001.pdf');

    expect(grant.maxBytes).toBe(MAX_BYTES);
    expect(grant.url).toMatch(new RegExp(`/${BUCKET}/?$`));
    expect(grant.expiresAt).toMatch(ISO);
    const expiresIn = Date.parse(grant.expiresAt) - before;
    expect(expiresIn).toBeGreaterThan(14 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(15 * 60_000 + 5_000);

    // The server chooses the key, under the payout's prefix; the client's name is only a label.
    const key = grant.fields.key as string;
    expect(key.startsWith(`invoices/${payoutId}/`)).toBe(true);
    expect(key).toMatch(KEY);
    expect(key).not.toMatch(/INV|passwd|\.\./);
    expect(grant.fields['Content-Type']).toBe('application/pdf');

    const policy = decodePolicy(grant);
    const expiration = Date.parse(policy.expiration);
    expect(expiration).toBeGreaterThan(before);
    expect(expiration - before).toBeLessThanOrEqual(15 * 60_000 + 5_000);
    expect(pinnedValue(policy.conditions, 'bucket')).toBe(BUCKET);
    expect(pinnedValue(policy.conditions, 'key')).toBe(key);
    expect(pinnedValue(policy.conditions, 'Content-Type')).toBe('application/pdf');
    expect(policy.conditions).toContainEqual(['content-length-range', 1, MAX_BYTES]);
    // No starts-with loophole on the key or the type.
    for (const condition of policy.conditions) {
      if (Array.isArray(condition) && condition[0] === 'starts-with') {
        expect(String(condition[1]).toLowerCase()).not.toMatch(/^\$(key|content-type)$/);
      }
    }

    // Two requests, two keys: an upload never overwrites another.
    const again = await requestUpload(partnerId, payoutId);
    expect(again.fields.key).not.toBe(key);
    expect(again.fields.key?.startsWith(`invoices/${payoutId}/`)).toBe(true);
  });

  it('attaches an uploaded PDF (size, sha256, file name) and serves it back through a 5-minute link', async () => {
    const { partnerId, payoutId } = await payoutIn('pending');
    const grant = await requestUpload(partnerId, payoutId, 'INV-2026-001.pdf');
    const key = grant.fields.key as string;
    const bytes = pdfNumbered(1);

    const response = await upload(grant, bytes, 'whatever-the-browser-says.pdf');
    expect([200, 204]).toContain(response.status);
    expect(await objectExists(key)).toBe(true);
    // Nothing is attached until the object has been checked.
    expect((await getPayout(payoutId)).invoice).toBeUndefined();

    expect(await notifyUploaded(key, bytes.length)).toEqual([{ key, outcome: 'attached' }]);

    const payout = await getPayout(payoutId);
    expect(payout.status).toBe('pending');
    expect(payout.invoice).toEqual({
      fileName: 'INV-2026-001.pdf',
      size: bytes.length,
      sha256: sha256(bytes),
      uploadedAt: expect.stringMatching(ISO),
    });
    expect(payout).not.toHaveProperty('invoiceKey');
    // The partner sees the same invoice on its own payout.
    const own = expectOk(await call(partner(partnerId), 'GET', `/partner/payouts/${payoutId}`));
    expect(own.invoice).toEqual(payout.invoice);

    const uploaded = await eventsOfType(payoutId, 'payout.invoice_uploaded');
    expect(uploaded).toHaveLength(1);
    expect(uploaded[0]).toMatchObject({
      at: expect.stringMatching(ISO),
      actor: { role: 'system' },
      data: expect.objectContaining({ sha256: sha256(bytes), size: bytes.length }),
    });

    const before = Date.now();
    const download = expectOk(await call(manager, 'GET', `/payouts/${payoutId}/invoice`));
    expect(download).toEqual({
      url: expect.any(String),
      expiresAt: expect.stringMatching(ISO),
      ...payout.invoice,
    });
    const expiresIn = Date.parse(download.expiresAt) - before;
    expect(expiresIn).toBeGreaterThan(4 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(5 * 60_000 + 5_000);
    expect(new URL(download.url).searchParams.get('X-Amz-Expires')).toBe('300');

    const fetched = await fetch(download.url);
    expect(fetched.status).toBe(200);
    const body = Buffer.from(await fetched.arrayBuffer());
    expect(body.equals(bytes)).toBe(true);
    expect(sha256(body)).toBe(payout.invoice.sha256);
  });

  it('rejects and deletes a file that is not a PDF, whatever its declared type', async () => {
    const { partnerId, payoutId } = await payoutIn('pending');
    const grant = await requestUpload(partnerId, payoutId, 'invoice.pdf');
    const key = grant.fields.key as string;
    const before = await getPayout(payoutId);

    const bytes = Buffer.from('PK\u0003\u0004 this is a zip, not a PDF', 'latin1');
    expect(await uploadAndCheck(grant, bytes)).toBe('rejected');

    expect(await objectExists(key)).toBe(false);
    const payout = await getPayout(payoutId);
    expect(payout.invoice).toBeUndefined();
    expect(payout.status).toBe('pending');
    const rejected = await eventsOfType(payoutId, 'payout.invoice_rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({
      actor: { role: 'system' },
      data: expect.objectContaining({ key, reason: expect.stringMatching(/not a PDF/i) }),
    });
    expect(await eventsOfType(payoutId, 'payout.invoice_uploaded')).toEqual([]);
    expectProblem(await call(manager, 'GET', `/payouts/${payoutId}/invoice`), 404, 'not_found');
    // The partner sees why on the payout itself (the console shows it), until an upload is attached.
    const seen = expectOk(await call(partner(partnerId), 'GET', `/partner/payouts/${payoutId}`));
    expect(seen.invoiceRejection).toEqual({
      reason: rejected[0]?.data.reason,
      fileName: 'invoice.pdf',
      by: 'check',
      at: rejected[0]?.at,
    });
    const retry = await requestUpload(partnerId, payoutId, 'invoice.pdf');
    expect(await uploadAndCheck(retry, pdfNumbered(3))).toBe('attached');
    const attached = expectOk(await call(partner(partnerId), 'GET', `/partner/payouts/${payoutId}`));
    expect(attached.invoiceRejection).toBeUndefined();
    expect(attached.invoice?.fileName).toBe('invoice.pdf');
    // The partner is told (the notifier subscribes to this event on the bus).
    expect(publishedFor(payoutId)).toContainEqual({
      type: 'payout.invoice_rejected',
      eventId: rejected[0]?.id,
      data: expect.objectContaining({ reason: rejected[0]?.data.reason }),
    });
    // The payout's business state did not move.
    expect(payout).toMatchObject({
      status: before.status,
      amount: before.amount,
      requirements: before.requirements,
    });
  });

  it('rejects and deletes a file over 10 MiB (s3rver does not enforce the policy; the checker does)', async () => {
    const { partnerId, payoutId } = await payoutIn('pending');
    const grant = await requestUpload(partnerId, payoutId);
    const key = grant.fields.key as string;

    // A real PDF header, so that only the size is wrong.
    const bytes = Buffer.alloc(MAX_BYTES + 1, 0x20);
    PDF.copy(bytes);
    expect(await uploadAndCheck(grant, bytes)).toBe('rejected');

    expect(await objectExists(key)).toBe(false);
    expect((await getPayout(payoutId)).invoice).toBeUndefined();
    const rejected = await eventsOfType(payoutId, 'payout.invoice_rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.data).toMatchObject({ key, reason: expect.stringContaining(String(MAX_BYTES)) });
    expectProblem(await call(manager, 'GET', `/payouts/${payoutId}/invoice`), 404, 'not_found');
  });

  it('accepts a file of exactly 10 MiB', async () => {
    const { partnerId, payoutId } = await payoutIn('pending');
    const grant = await requestUpload(partnerId, payoutId);
    const bytes = Buffer.alloc(MAX_BYTES, 0x20);
    PDF.copy(bytes);
    expect(await uploadAndCheck(grant, bytes)).toBe('attached');
    expect((await getPayout(payoutId)).invoice).toMatchObject({ size: MAX_BYTES, sha256: sha256(bytes) });
  });

  it('rejects and deletes an upload for a payout that moved on after the presign (cancelled)', async () => {
    const { partnerId, payoutId } = await payoutIn('pending');
    const grant = await requestUpload(partnerId, payoutId);
    const key = grant.fields.key as string;
    expectOk(await call(manager, 'POST', `/payouts/${payoutId}/cancel`, { body: { reason: 'Duplicate' } }));

    // The presigned POST is still valid at S3 for 15 minutes: the checker has to refuse it.
    expect(await uploadAndCheck(grant, pdfNumbered(2))).toBe('rejected');

    expect(await objectExists(key)).toBe(false);
    const payout = await getPayout(payoutId);
    expect(payout.status).toBe('cancelled');
    expect(payout.invoice).toBeUndefined();
    const rejected = await eventsOfType(payoutId, 'payout.invoice_rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.data).toMatchObject({ key, reason: expect.stringContaining('cancelled') });
    expect(await eventsOfType(payoutId, 'payout.invoice_uploaded')).toEqual([]);
  });

  it('deletes an object for an unknown payout, and one outside the invoice layout', async () => {
    const { partnerId, payoutId } = await payoutIn('pending');
    const grant = await requestUpload(partnerId, payoutId);
    // Same form, another key: what a tampered form would store at S3 (s3rver checks no policy).
    const strays = [
      `invoices/${newId('payout')}/${randomUUID().replace(/-/g, '')}.pdf`,
      `invoices/${payoutId}/x y.txt`,
    ];
    for (const key of strays) {
      const response = await upload({ ...grant, fields: { ...grant.fields, key } }, pdfNumbered(3));
      expect([200, 204]).toContain(response.status);
      expect(await objectExists(key)).toBe(true);
      expect(await notifyUploaded(key, 10)).toEqual([{ key, outcome: 'ignored' }]);
      expect(await objectExists(key)).toBe(false);
    }
    expect((await getPayout(payoutId)).invoice).toBeUndefined();
  });

  it('changes nothing when the same event is delivered twice (attached or rejected)', async () => {
    const { partnerId, payoutId } = await payoutIn('pending');

    const good = await requestUpload(partnerId, payoutId);
    const goodBytes = pdfNumbered(4);
    expect(await uploadAndCheck(good, goodBytes)).toBe('attached');
    const afterFirst = { payout: await getPayout(payoutId), events: await eventsOf(payoutId) };
    expect(await notifyUploaded(good.fields.key as string, goodBytes.length)).toEqual([
      { key: good.fields.key, outcome: 'duplicate' },
    ]);
    const afterSecond = { payout: await getPayout(payoutId), events: await eventsOf(payoutId) };
    expect(afterSecond.events).toHaveLength(afterFirst.events.length);
    expect(afterSecond.payout.version).toBe(afterFirst.payout.version);
    expect(afterSecond).toEqual(afterFirst);
    expect(await objectExists(good.fields.key as string)).toBe(true);

    const bad = await requestUpload(partnerId, payoutId);
    expect(await uploadAndCheck(bad, Buffer.from('not a pdf at all'))).toBe('rejected');
    const afterReject = { payout: await getPayout(payoutId), events: await eventsOf(payoutId) };
    expect(afterReject.events).toHaveLength(afterFirst.events.length + 1);
    expect(afterReject.payout.invoice).toEqual(afterFirst.payout.invoice);
    expect(await notifyUploaded(bad.fields.key as string, 16)).toEqual([
      { key: bad.fields.key, outcome: 'duplicate' },
    ]);
    const afterRejectAgain = { payout: await getPayout(payoutId), events: await eventsOf(payoutId) };
    expect(afterRejectAgain.payout.version).toBe(afterReject.payout.version);
    expect(afterRejectAgain).toEqual(afterReject);
  });

  it('replaces an older invoice with a newer upload, and keeps both in the history', async () => {
    const { partnerId, payoutId } = await payoutIn('pending');
    const first = await requestUpload(partnerId, payoutId, 'first.pdf');
    const firstBytes = pdfNumbered(5);
    expect(await uploadAndCheck(first, firstBytes)).toBe('attached');
    expect((await getPayout(payoutId)).invoice).toMatchObject({
      fileName: 'first.pdf',
      sha256: sha256(firstBytes),
    });

    const second = await requestUpload(partnerId, payoutId, 'second.pdf');
    const secondBytes = pdfNumbered(6);
    expect(await uploadAndCheck(second, secondBytes)).toBe('attached');

    const payout = await getPayout(payoutId);
    expect(payout.invoice).toEqual({
      fileName: 'second.pdf',
      size: secondBytes.length,
      sha256: sha256(secondBytes),
      uploadedAt: expect.stringMatching(ISO),
    });
    const uploaded = await eventsOfType(payoutId, 'payout.invoice_uploaded');
    expect(uploaded.map((event) => event.data?.sha256)).toEqual([sha256(firstBytes), sha256(secondBytes)]);
    expect(uploaded.map((event) => event.data?.key)).toEqual([first.fields.key, second.fields.key]);

    const download = expectOk(await call(manager, 'GET', `/payouts/${payoutId}/invoice`));
    expect(download.sha256).toBe(sha256(secondBytes));
    expect(Buffer.from(await (await fetch(download.url)).arrayBuffer()).equals(secondBytes)).toBe(true);

    // A late redelivery of the first upload's event does not bring the older file back.
    expect(await notifyUploaded(first.fields.key as string, firstBytes.length)).toEqual([
      { key: first.fields.key, outcome: 'duplicate' },
    ]);
    expect((await getPayout(payoutId)).invoice).toEqual(payout.invoice);
  });
});

describe('a checked invoice cannot be swapped (a presigned POST can be replayed until it expires)', () => {
  const downloaded = async (payoutId: string) => {
    const download = expectOk(await call(manager, 'GET', `/payouts/${payoutId}/invoice`));
    expect(new URL(download.url).pathname).toMatch(
      /\/checked\/po_[0-9A-HJKMNP-TV-Z]{26}\/[0-9a-f]{64}\.pdf$/,
    );
    return { ...download, bytes: Buffer.from(await (await fetch(download.url)).arrayBuffer()) };
  };

  it('serves the checked bytes after a replayed POST of another file to the same key; the new object is checked and recorded', async () => {
    const { partnerId, payoutId } = await payoutIn('pending', { requireInvoice: true });
    const grant = await requestUpload(partnerId, payoutId, 'real.pdf');
    const key = grant.fields.key as string;
    const checked = pdfNumbered(11);
    expect(await uploadAndCheck(grant, checked)).toBe('attached');
    const validated = expectOk(
      await call(partner(partnerId), 'POST', `/partner/payouts/${payoutId}/validate`, { body: {} }),
    );
    expect(validated.status).toBe('ready');
    expect((await downloaded(payoutId)).bytes.equals(checked)).toBe(true);

    // The attacker replays the same form with an HTML file: s3rver (like S3 within the expiry) takes it.
    const html = Buffer.from('<html><script>alert(1)</script></html>', 'utf8');
    expect([200, 204]).toContain((await upload(grant, html)).status);
    const later = new Date(Date.now() + 1000).toISOString();
    expect(await notifyUploaded(key, html.length, later)).toEqual([{ key, outcome: 'rejected' }]);

    // The download still serves exactly the checked bytes, and the payout still names them.
    const after = await downloaded(payoutId);
    expect(after.bytes.equals(checked)).toBe(true);
    expect(sha256(after.bytes)).toBe(sha256(checked));
    expect((await getPayout(payoutId)).invoice).toEqual(validated.invoice);
    // The replayed object was checked as a new upload, recorded in the history, and deleted.
    const rejected = await eventsOfType(payoutId, 'payout.invoice_rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.data).toMatchObject({ key, reason: 'not a PDF file' });
    expect(await objectExists(key)).toBe(false);
    // A redelivery of that event changes nothing.
    const events = await eventsOf(payoutId);
    expect(await notifyUploaded(key, html.length, later)).toEqual([{ key, outcome: 'duplicate' }]);
    expect(await eventsOf(payoutId)).toEqual(events);
    // The checked copy's own ObjectCreated (locally s3rver emits one for every object) is left alone.
    const checkedKey = `checked/${payoutId}/${sha256(checked)}.pdf`;
    expect(await objectExists(checkedKey)).toBe(true);
    expect(await notifyUploaded(checkedKey, checked.length)).toEqual([
      { key: checkedKey, outcome: 'ignored' },
    ]);
    expect(await objectExists(checkedKey)).toBe(true);
    expect(await eventsOf(payoutId)).toEqual(events);
  });

  it('attaches a replayed PDF while pending as a new upload, and the download follows the check, not the key', async () => {
    const { partnerId, payoutId } = await payoutIn('pending');
    const grant = await requestUpload(partnerId, payoutId, 'first.pdf');
    const key = grant.fields.key as string;
    const first = pdfNumbered(12);
    expect(await uploadAndCheck(grant, first)).toBe('attached');
    // Same object, same event again: a duplicate.
    expect(await notifyUploaded(key, first.length)).toEqual([{ key, outcome: 'duplicate' }]);

    const second = pdfNumbered(13);
    expect([200, 204]).toContain((await upload(grant, second)).status);
    // Before its check, the download is still the first file's checked copy.
    expect((await downloaded(payoutId)).bytes.equals(first)).toBe(true);
    const later = new Date(Date.now() + 1000).toISOString();
    expect(await notifyUploaded(key, second.length, later)).toEqual([{ key, outcome: 'attached' }]);

    const uploaded = await eventsOfType(payoutId, 'payout.invoice_uploaded');
    expect(uploaded.map((event) => [event.data?.key, event.data?.sha256])).toEqual([
      [key, sha256(first)],
      [key, sha256(second)],
    ]);
    expect(uploaded[0]?.data?.etag).not.toBe(uploaded[1]?.data?.etag);
    const after = await downloaded(payoutId);
    expect(after.sha256).toBe(sha256(second));
    expect(after.bytes.equals(second)).toBe(true);
  });
});

// ------------------------------------------------------------------ the invoice in the lifecycle

describe('invoice events out of order (S3 does not order its notifications)', () => {
  it('attaches the newest upload whatever order the events come in; an older one is superseded and deleted', async () => {
    const { partnerId, payoutId } = await payoutIn('pending');
    const older = await requestUpload(partnerId, payoutId, 'older.pdf');
    const newer = await requestUpload(partnerId, payoutId, 'newer.pdf');
    const olderBytes = pdfNumbered(7);
    const newerBytes = pdfNumbered(8);
    expect([200, 204]).toContain((await upload(older, olderBytes)).status);
    expect([200, 204]).toContain((await upload(newer, newerBytes)).status);
    const olderKey = older.fields.key as string;
    const newerKey = newer.fields.key as string;

    // The newer upload's event arrives first, the older one's after it.
    expect(await notifyUploaded(newerKey, newerBytes.length, '2026-11-23T10:00:02.000Z')).toEqual([
      { key: newerKey, outcome: 'attached' },
    ]);
    expect(await notifyUploaded(olderKey, olderBytes.length, '2026-11-23T10:00:01.000Z')).toEqual([
      { key: olderKey, outcome: 'superseded' },
    ]);

    const payout = await getPayout(payoutId);
    expect(payout.invoice).toMatchObject({
      fileName: 'newer.pdf',
      sha256: sha256(newerBytes),
      uploadedAt: '2026-11-23T10:00:02.000Z',
    });
    expect(await objectExists(olderKey)).toBe(false);
    expect(await objectExists(newerKey)).toBe(true);
    const superseded = await eventsOfType(payoutId, 'payout.invoice_superseded');
    expect(superseded.map((event) => event.data?.key)).toEqual([olderKey]);
    // Not a rejection: the partner is not told their (newer) invoice was refused.
    expect(await eventsOfType(payoutId, 'payout.invoice_rejected')).toEqual([]);
    // And a redelivery of the superseded event changes nothing.
    expect(await notifyUploaded(olderKey, olderBytes.length, '2026-11-23T10:00:01.000Z')).toEqual([
      { key: olderKey, outcome: 'duplicate' },
    ]);
  });

  it('checks two uploads arriving at the same moment one after the other: the newer one stays attached', async () => {
    const { partnerId, payoutId } = await payoutIn('pending');
    const grants = [
      await requestUpload(partnerId, payoutId, 'a.pdf'),
      await requestUpload(partnerId, payoutId, 'b.pdf'),
    ];
    const bytes = [pdfNumbered(9), pdfNumbered(10)];
    for (const [index, grant] of grants.entries()) {
      expect([200, 204]).toContain((await upload(grant, bytes[index] as Buffer)).status);
    }
    const outcomes = await Promise.all([
      notifyUploaded(grants[1]?.fields.key as string, bytes[1]?.length ?? 0, '2026-11-23T11:00:02.000Z'),
      notifyUploaded(grants[0]?.fields.key as string, bytes[0]?.length ?? 0, '2026-11-23T11:00:01.000Z'),
    ]);
    const byKey = Object.fromEntries(outcomes.flat().map(({ key, outcome }) => [key, outcome]));
    expect(byKey[grants[1]?.fields.key as string]).toBe('attached');
    expect(['attached', 'superseded']).toContain(byKey[grants[0]?.fields.key as string]);
    expect((await getPayout(payoutId)).invoice).toMatchObject({
      fileName: 'b.pdf',
      sha256: sha256(bytes[1] as Buffer),
    });
  });
});

describe('the invoice in the payout lifecycle', () => {
  it('gates the partner validation: 422 invoice_required before the upload, 200 after', async () => {
    const { partnerId, payoutId } = await payoutIn('pending', { requireInvoice: true });
    expect((await getPayout(payoutId)).requirements).toMatchObject({ invoice: true });

    const before = { payout: await getPayout(payoutId), events: await eventsOf(payoutId) };
    expectProblem(
      await call(partner(partnerId), 'POST', `/partner/payouts/${payoutId}/validate`, { body: {} }),
      422,
      'invoice_required',
    );
    expect({ payout: await getPayout(payoutId), events: await eventsOf(payoutId) }).toEqual(before);

    expect(await uploadAndCheck(await requestUpload(partnerId, payoutId), pdfNumbered(7))).toBe('attached');
    const validated = expectOk(
      await call(partner(partnerId), 'POST', `/partner/payouts/${payoutId}/validate`, { body: {} }),
    );
    expect(validated.status).toBe('ready');
    expect(validated.invoice).toMatchObject({ sha256: expect.any(String) });

    // Once ready: no new upload (409), no rejection (409), the invoice is still downloadable.
    const beforeRefusals = { payout: await getPayout(payoutId), events: await eventsOf(payoutId) };
    expectProblem(
      await call(partner(partnerId), 'POST', `/partner/payouts/${payoutId}/invoice`, { body: {} }),
      409,
      'invalid_transition',
    );
    expectProblem(
      await call(manager, 'POST', `/payouts/${payoutId}/invoice/reject`, { body: { reason: 'Too late' } }),
      409,
      'invalid_transition',
    );
    expect({ payout: await getPayout(payoutId), events: await eventsOf(payoutId) }).toEqual(beforeRefusals);
    expect(expectOk(await call(manager, 'GET', `/payouts/${payoutId}/invoice`)).sha256).toBe(
      validated.invoice.sha256,
    );
  });

  it('lets the manager reject the invoice while pending: cleared, reason recorded, required again', async () => {
    const { partnerId, payoutId } = await payoutIn('pending', { requireInvoice: true });
    const grant = await requestUpload(partnerId, payoutId, 'no-vat.pdf');
    const bytes = pdfNumbered(8);
    expect(await uploadAndCheck(grant, bytes)).toBe('attached');
    const before = await getPayout(payoutId);

    const rejected = expectOk(
      await call(manager, 'POST', `/payouts/${payoutId}/invoice/reject`, {
        body: { reason: 'The VAT number is missing' },
      }),
    );
    expect(rejected.status).toBe('pending');
    expect(rejected.invoice).toBeUndefined();
    expect(rejected.invoiceRejection).toMatchObject({
      reason: 'The VAT number is missing',
      fileName: 'no-vat.pdf',
      by: 'manager',
    });
    expect(rejected.version).toBeGreaterThan(before.version);
    const payout = await getPayout(payoutId);
    expect(payout.invoice).toBeUndefined();
    expect({ status: payout.status, version: payout.version }).toEqual({
      status: rejected.status,
      version: rejected.version,
    });

    const events = await eventsOfType(payoutId, 'payout.invoice_rejected');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: { role: 'manager', id: 'manager-1' },
      data: expect.objectContaining({
        reason: 'The VAT number is missing',
        fileName: 'no-vat.pdf',
        sha256: sha256(bytes),
      }),
    });
    expect(publishedFor(payoutId)).toContainEqual({
      type: 'payout.invoice_rejected',
      eventId: events[0]?.id,
      data: expect.objectContaining({ reason: 'The VAT number is missing' }),
    });
    expectProblem(await call(manager, 'GET', `/payouts/${payoutId}/invoice`), 404, 'not_found');
    expectProblem(
      await call(partner(partnerId), 'POST', `/partner/payouts/${payoutId}/validate`, { body: {} }),
      422,
      'invoice_required',
    );
    // A late redelivery of the rejected upload's event does not attach it again.
    expect(await notifyUploaded(grant.fields.key as string, bytes.length)).toEqual([
      { key: grant.fields.key, outcome: 'duplicate' },
    ]);
    expect((await getPayout(payoutId)).invoice).toBeUndefined();

    // Nothing left to reject: refused, nothing changes.
    const beforeSecond = { payout: await getPayout(payoutId), events: await eventsOf(payoutId) };
    const again = await call(manager, 'POST', `/payouts/${payoutId}/invoice/reject`, {
      body: { reason: 'Again' },
    });
    expect(again.status).toBeGreaterThanOrEqual(400);
    expect(again.status).toBeLessThan(500);
    expect({ payout: await getPayout(payoutId), events: await eventsOf(payoutId) }).toEqual(beforeSecond);

    // A fresh upload is accepted and lets the partner validate.
    expect(await uploadAndCheck(await requestUpload(partnerId, payoutId), pdfNumbered(9))).toBe('attached');
    expectOk(await call(partner(partnerId), 'POST', `/partner/payouts/${payoutId}/validate`, { body: {} }));
  });

  it('keeps a committed change when the bus fails, and publishes the backlog once it is back', async () => {
    const { partnerId, payoutId } = await payoutIn('pending');
    bus.failing = true;
    try {
      // Neither the checker nor the API fails after its commit: no Lambda retry, no 5xx.
      expect(await uploadAndCheck(await requestUpload(partnerId, payoutId), pdfNumbered(10))).toBe(
        'attached',
      );
      const rejected = await call(manager, 'POST', `/payouts/${payoutId}/invoice/reject`, {
        body: { reason: 'Wrong company name' },
      });
      expect(rejected.status).toBe(200);
      expect(rejected.body.invoice).toBeUndefined();
    } finally {
      bus.failing = false;
    }
    const missed = (await eventsOf(payoutId)).filter((event) => event.type.startsWith('payout.invoice_'));
    expect(missed.map((event) => event.type)).toEqual(['payout.invoice_uploaded', 'payout.invoice_rejected']);
    expect(publishedFor(payoutId).filter((entry) => entry.type.startsWith('payout.invoice_'))).toEqual([]);

    // The next publish for this payout carries what was missed, in order, each entry once.
    expect(await uploadAndCheck(await requestUpload(partnerId, payoutId), pdfNumbered(11))).toBe('attached');
    const history = await eventsOf(payoutId);
    const published = publishedFor(payoutId);
    expect(published.map((entry) => entry.eventId)).toEqual(history.map((event) => event.id));
  });

  it('answers 409 to a rejection when the payout is not pending, 404 to a download without invoice', async () => {
    const { payoutId: draftId } = await payoutIn('draft');
    expectProblem(
      await call(manager, 'POST', `/payouts/${draftId}/invoice/reject`, { body: { reason: 'No' } }),
      409,
      'invalid_transition',
    );
    expectProblem(await call(manager, 'GET', `/payouts/${draftId}/invoice`), 404, 'not_found');

    const { payoutId } = await payoutIn('pending');
    expectProblem(await call(manager, 'GET', `/payouts/${payoutId}/invoice`), 404, 'not_found');
    expectProblem(await call(manager, 'GET', `/payouts/${newId('payout')}/invoice`), 404, 'not_found');
    expectProblem(
      await call(manager, 'POST', `/payouts/${newId('payout')}/invoice/reject`, { body: { reason: 'No' } }),
      404,
      'not_found',
    );
  });

  it('refuses an upload request for a draft or foreign payout (404) and for a ready one (409)', async () => {
    const { partnerId, payoutId: draftId } = await payoutIn('draft');
    const { payoutId: foreignId } = await payoutIn('pending');
    const before = { draft: await getPayout(draftId), foreign: await getPayout(foreignId) };

    for (const id of [draftId, foreignId, newId('payout')]) {
      expectProblem(
        await call(partner(partnerId), 'POST', `/partner/payouts/${id}/invoice`, { body: {} }),
        404,
        'not_found',
      );
    }
    expect({ draft: await getPayout(draftId), foreign: await getPayout(foreignId) }).toEqual(before);

    const { partnerId: readyOwner, payoutId: readyId } = await payoutIn('pending', { requireInvoice: false });
    expectOk(await call(partner(readyOwner), 'POST', `/partner/payouts/${readyId}/validate`, { body: {} }));
    expectProblem(
      await call(partner(readyOwner), 'POST', `/partner/payouts/${readyId}/invoice`, { body: {} }),
      409,
      'invalid_transition',
    );
  });
});
