/**
 * Authorization of the three invoice routes, on top of the generated matrix (authz-matrix.test.ts):
 * each is tried against a payout that really has an invoice attached, so a request that slipped
 * through would be seen acting (a new presigned POST, a download link, a cleared invoice). A wrong
 * role is 403, no token 401, and a partner cannot tell a foreign or draft payout from an unknown id.
 * None of these refusals changes anything or leaks a link.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as invoiceUploaded } from '../../functions/invoice-uploaded/handler.ts';
import { lambdaContext } from '../../infra/local/functions.ts';
import { newId } from '../../shared/domain/ids.ts';
import { ROUTES } from '../../shared/http/routes.ts';
import { expectOk, expectProblem, listAll } from '../support/expect.ts';
import { type As, anonymous, type CallResult, call, cognito, manager, partner } from '../support/http.ts';

const UPLOAD = '/partner/payouts/{id}/invoice';
const DOWNLOAD = '/payouts/{id}/invoice';
const REJECT = '/payouts/{id}/invoice/reject';
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

// A Cognito-shaped manager and partner, besides the plain `role` claims of test/support/http.ts.
const cognitoManager: As = cognito('cognito-manager', { groups: ['managers'] });
const cognitoPartner = (partnerId: string): As => cognito(`cognito-${partnerId}`, { partnerId });
const noRole: As = { claims: { sub: 'nobody' } };

// ------------------------------------------------------------------ a PutEvents stub

/** Attaching an invoice publishes the history; the shared setup points nothing at EventBridge. */
let busServer: Server;
const previousEndpoint = process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;

beforeAll(async () => {
  busServer = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entries = (JSON.parse(Buffer.concat(chunks).toString('utf8')).Entries ?? []) as unknown[];
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify({ FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) }),
      );
    });
  });
  await new Promise<void>((resolve) => busServer.listen(0, '127.0.0.1', resolve));
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = `http://127.0.0.1:${(busServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (previousEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
  else process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = previousEndpoint;
  await new Promise<void>((resolve) => busServer.close(() => resolve()));
});

// ------------------------------------------------------------------ helpers

/** A refusal: the problem document and nothing else (no presigned URL, no fields, no invoice). */
function expectRefusal(response: CallResult, status: number, code: string): void {
  expectProblem(response, status, code);
  for (const leaked of ['url', 'fields', 'sha256', 'invoice', 'fileName']) {
    expect(response.body).not.toHaveProperty(leaked);
  }
}

async function newPartner(): Promise<string> {
  const response = await call(manager, 'POST', '/partners', {
    body: { name: 'Invoice Authz Partner', email: `inv-authz+${randomUUID()}@example.com` },
  });
  return expectOk(response, 201).id;
}

async function newPayout(partnerId: string, status: 'draft' | 'pending'): Promise<string> {
  const reward = expectOk(
    await call(manager, 'POST', '/rewards', {
      body: { partnerId, amount: 1500, currency: 'EUR', status: 'accepted' },
    }),
    201,
  );
  const payout = expectOk(
    await call(manager, 'POST', '/payouts', { body: { partnerId, currency: 'EUR', rewardIds: [reward.id] } }),
    201,
  );
  if (status === 'pending') {
    expectOk(
      await call(manager, 'POST', `/payouts/${payout.id}/validate`, { body: { requireInvoice: true } }),
    );
  }
  return payout.id;
}

/**
 * Uploads a PDF through the presigned POST and runs the checker, which stands in for the S3 bucket
 * notification (s3rver's emitter lives in the global-setup process, where nothing listens).
 */
async function attachInvoice(partnerId: string, payoutId: string): Promise<void> {
  const grant = expectOk(
    await call(partner(partnerId), 'POST', `/partner/payouts/${payoutId}/invoice`, {
      body: { fileName: 'inv.pdf' },
    }),
    201,
  );
  const form = new FormData();
  for (const [name, value] of Object.entries(grant.fields as Record<string, string>))
    form.append(name, value);
  form.append('file', new Blob([new Uint8Array(PDF)], { type: 'application/pdf' }), 'inv.pdf');
  const uploaded = await fetch(grant.url, { method: 'POST', body: form });
  expect([200, 204]).toContain(uploaded.status);
  const event = {
    Records: [
      {
        eventName: 'ObjectCreated:Post',
        s3: {
          bucket: { name: process.env.INVOICE_BUCKET },
          object: { key: grant.fields.key.split('/').map(encodeURIComponent).join('/'), size: PDF.length },
        },
      },
    ],
  } as unknown as S3Event;
  const result = (await invoiceUploaded(event, lambdaContext('partner-payouts-invoice-uploaded'))) as {
    outcomes: { outcome: string }[];
  };
  expect(result.outcomes.map((entry) => entry.outcome)).toEqual(['attached']);
}

const path = (template: string, id: string) => template.replace('{id}', id);

/** Everything a slipped-through invoice request could change, read back as the manager. */
async function state(payoutIds: string[]) {
  const result: Record<string, unknown> = {};
  for (const id of payoutIds) {
    result[id] = {
      payout: expectOk(await call(manager, 'GET', `/payouts/${id}`)),
      events: await listAll(manager, `/payouts/${id}/events`),
    };
  }
  return result;
}

// ------------------------------------------------------------------ the routes exist as assumed

describe('the invoice routes', () => {
  it('are in the catalogue with the expected access', () => {
    const access = (routePath: string, method: string) =>
      Object.values(ROUTES).find((spec) => spec.path === routePath && spec.method === method)?.access;
    expect(access(UPLOAD, 'POST')).toBe('partner');
    expect(access(DOWNLOAD, 'GET')).toBe('manager');
    expect(access(REJECT, 'POST')).toBe('manager');
  });
});

// ------------------------------------------------------------------ roles and tokens

describe('invoice routes by role', () => {
  let owner: string;
  let withInvoice: string;

  beforeAll(async () => {
    owner = await newPartner();
    withInvoice = await newPayout(owner, 'pending');
    await attachInvoice(owner, withInvoice);
    expect(expectOk(await call(manager, 'GET', `/payouts/${withInvoice}`)).invoice).toBeDefined();
  });

  const requests = () =>
    [
      ['POST', UPLOAD, { fileName: 'x.pdf' }],
      ['GET', DOWNLOAD, undefined],
      ['POST', REJECT, { reason: 'Slipped through' }],
    ] as const;

  it('answers 403 to the partner who owns the payout on both manager routes', async () => {
    const before = await state([withInvoice]);
    for (const as of [partner(owner), cognitoPartner(owner)]) {
      expectRefusal(await call(as, 'GET', path(DOWNLOAD, withInvoice)), 403, 'forbidden');
      expectRefusal(
        await call(as, 'POST', path(REJECT, withInvoice), { body: { reason: 'Mine anyway' } }),
        403,
        'forbidden',
      );
    }
    expect(await state([withInvoice])).toEqual(before);
  });

  it('answers 403 to a manager on the partner upload route', async () => {
    const before = await state([withInvoice]);
    for (const as of [manager, cognitoManager]) {
      expectRefusal(
        await call(as, 'POST', path(UPLOAD, withInvoice), { body: { fileName: 'x.pdf' } }),
        403,
        'forbidden',
      );
    }
    expect(await state([withInvoice])).toEqual(before);
  });

  it('answers 401 without a token and 403 to a token with no known role, on every invoice route', async () => {
    const before = await state([withInvoice]);
    for (const [method, template, body] of requests()) {
      const target = path(template, withInvoice);
      const options = body ? { body } : {};
      expectRefusal(await call(anonymous, method, target, options), 401, 'unauthorized');
      expectRefusal(await call(noRole, method, target, options), 403, 'forbidden');
      // A partner claim without its partner id is no partner.
      expectRefusal(
        await call({ claims: { sub: 'p', role: 'partner' } }, method, target, options),
        403,
        'forbidden',
      );
    }
    expect(await state([withInvoice])).toEqual(before);
  });

  it('answers the manager on the manager routes (positive control)', async () => {
    expect(expectOk(await call(manager, 'GET', path(DOWNLOAD, withInvoice))).url).toEqual(expect.any(String));
    expect(expectOk(await call(cognitoManager, 'GET', path(DOWNLOAD, withInvoice))).url).toEqual(
      expect.any(String),
    );
  });
});

// ------------------------------------------------------------------ partner: 404 for anything not its own

describe('the upload route for a payout that is not the partner’s to see', () => {
  let me: string;
  let other: string;
  let ids: Record<string, string>;

  beforeAll(async () => {
    me = await newPartner();
    other = await newPartner();
    const foreignWithInvoice = await newPayout(other, 'pending');
    await attachInvoice(other, foreignWithInvoice);
    ids = {
      'unknown payout': newId('payout'),
      'foreign pending payout with an invoice': foreignWithInvoice,
      'foreign draft payout': await newPayout(other, 'draft'),
      'own draft payout': await newPayout(me, 'draft'),
      'not an id at all': 'nope',
      'another kind of id': newId('partner'),
    };
  });

  it('answers the same 404 for foreign, draft and unknown ids, and changes nothing', async () => {
    const known = Object.values(ids).filter((id) => id.startsWith('po_') && id !== ids['unknown payout']);
    const before = await state(known);
    const seen: {
      label: string;
      status: number;
      code: string;
      title: string;
      type: string;
      detail: string;
    }[] = [];
    for (const [label, id] of Object.entries(ids)) {
      for (const as of [partner(me), cognitoPartner(me)]) {
        const response = await call(as, 'POST', path(UPLOAD, id), { body: { fileName: 'x.pdf' } });
        expectRefusal(response, 404, 'not_found');
        seen.push({
          label,
          status: response.status,
          code: response.body.code,
          title: response.body.title,
          type: response.body.type,
          // The detail may echo the id asked for, and nothing else about the payout.
          detail: String(response.body.detail).replaceAll(id, '<id>'),
        });
      }
    }
    const reference = seen[0];
    expect(reference?.detail).not.toMatch(/draft|pending|ready|partner/i);
    expect(reference?.detail).not.toContain(other);
    for (const entry of seen) expect(entry).toEqual({ ...reference, label: entry.label });
    expect(await state(known)).toEqual(before);
  });

  it('answers the owner of the foreign payout (positive control)', async () => {
    const id = ids['foreign pending payout with an invoice'] as string;
    expect(expectOk(await call(partner(other), 'POST', path(UPLOAD, id), { body: {} }), 201).url).toEqual(
      expect.any(String),
    );
  });
});
