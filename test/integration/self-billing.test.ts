/**
 * Self-billed invoices end to end, through the real handlers on dynalite and s3rver: the billing
 * details and the agreement, the invoice mode at validation, the preview (the partner-payouts
 * function invoking the self-billing function through the local Lambda endpoint), issuing (the
 * self-billing function's `issue` action, as the workflow's IssueSelfBilledDocuments task runs it),
 * numbering under concurrency and after a crash, the credit note after a cancel, and the downloads
 * read back from S3 (PDF text with pdftotext, UBL against the OASIS XSDs).
 */
import { createHash } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as selfBillingHandler } from '../../functions/self-billing/handler.ts';
import { invokeLocal, lambdaContext } from '../../infra/local/functions.ts';
import { startLocalLambda } from '../../infra/local/lambda.ts';
import { LOCAL_NAMES } from '../../infra/local/runtime.ts';
import { dynamo } from '../../shared/adapters/clients.ts';
import { holderOf, readSeries, takeNumber } from '../../shared/adapters/document-series.ts';
import { storeOnce } from '../../shared/adapters/self-billing-store.ts';
import { keys, table } from '../../shared/adapters/table.ts';
import { documentKey } from '../../shared/domain/self-billing.ts';
import { releasePayoutRewards } from '../../shared/usecases/payouts.ts';
import { type IssueResult, issueSelfBilledDocuments } from '../../shared/usecases/self-billing-issue.ts';
import { type As, call, manager, partner } from '../support/http.ts';
import { all, one, parseXml, pdfText, validateUbl } from '../support/self-billing.ts';

const YEAR = new Date().getUTCFullYear();
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let lambda: Awaited<ReturnType<typeof startLocalLambda>>;
const previousLambdaEndpoint = process.env.AWS_ENDPOINT_URL_LAMBDA;

beforeAll(async () => {
  lambda = await startLocalLambda({
    functions: {
      [LOCAL_NAMES.selfBillingFunction]: (event) =>
        invokeLocal(LOCAL_NAMES.selfBillingFunction, selfBillingHandler, event),
    },
  });
  process.env.AWS_ENDPOINT_URL_LAMBDA = lambda.endpoint;
});

afterAll(async () => {
  await lambda.close();
  if (previousLambdaEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_LAMBDA;
  else process.env.AWS_ENDPOINT_URL_LAMBDA = previousLambdaEndpoint;
});

// ------------------------------------------------------------------ helpers

async function ok(as: As, method: string, path: string, body?: unknown) {
  const result = await call(as, method, path, body === undefined ? {} : { body });
  if (result.status >= 300)
    throw new Error(`${method} ${path} → ${result.status} ${JSON.stringify(result.body)}`);
  return result.body;
}

const GERMAN = {
  name: 'Søren Müller',
  email: 'soren@example.com',
  address: { line1: 'Hauptstraße 5', city: 'München', postalCode: '80331', country: 'DE' },
};

const BILLING = {
  reverse_charge: {
    legalName: 'Müller Søren Łukasz GmbH',
    vatId: 'DE136695976',
    taxRegime: 'reverse_charge',
  },
  vat: {
    legalName: 'Παπαδόπουλος & Иванов GmbH',
    vatId: 'DE 136 695 976',
    taxRegime: 'vat',
    vatRateBps: 1900,
  },
  exempt: {
    legalName: 'Zoë Ñuñez',
    taxRegime: 'exempt',
    exemptionNote: 'Steuerfrei nach § 19 UStG',
    taxRegistrationId: '143/123/45678',
  },
} as const;

/** A partner with billing details, self-billing enabled and the agreement accepted. */
async function activePartner(billing: (typeof BILLING)[keyof typeof BILLING] = BILLING.reverse_charge) {
  const created = await ok(manager, 'POST', '/partners', {
    ...GERMAN,
    billing,
    selfBilling: { enabled: true },
  });
  await ok(partner(created.id), 'POST', '/partner/self-billing/accept', {});
  return created.id as string;
}

/** A pending payout of one new reward (or several), validated by the manager with `validate`. */
async function pendingPayout(partnerId: string, amounts: number[], validate: object, currency = 'EUR') {
  const rewardIds: string[] = [];
  for (const [i, amount] of amounts.entries()) {
    const reward = await ok(manager, 'POST', '/rewards', {
      partnerId,
      amount,
      currency,
      status: 'accepted',
      description: i === 0 ? 'Commission — order Ω-17 for Иванов' : `Reward ${i}`,
    });
    rewardIds.push(reward.id);
  }
  const payout = await ok(manager, 'POST', '/payouts', { partnerId, currency, rewardIds });
  return ok(manager, 'POST', `/payouts/${payout.id}/validate`, validate);
}

async function readyPayout(partnerId: string, amounts: number[] = [12500]) {
  const payout = await pendingPayout(partnerId, amounts, { invoiceMode: 'self_billed' });
  return ok(partner(partnerId), 'POST', `/partner/payouts/${payout.id}/validate`, {});
}

const issue = async (payoutId: string) =>
  (await selfBillingHandler({ action: 'issue', payoutId }, lambdaContext('self-billing'))) as IssueResult;

async function download(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return new Uint8Array(await response.arrayBuffer());
}

// ------------------------------------------------------------------ setting it up

describe('billing details and the agreement', () => {
  it('checks VAT ids per country and the regime’s required fields; nothing changes on a 400', async () => {
    const created = await ok(manager, 'POST', '/partners', GERMAN);
    const path = `/partners/${created.id}`;
    const bad = [
      { ...BILLING.reverse_charge, vatId: 'DE123456789' }, // wrong check digit
      { ...BILLING.reverse_charge, vatId: 'FR40303265045' }, // valid, but not German
      { legalName: 'X', vatId: 'DE136695976', taxRegime: 'vat' }, // no rate
      { legalName: 'X', taxRegime: 'exempt' }, // no note
      { legalName: 'X', taxRegime: 'reverse_charge', vatRateBps: 1900 }, // rate outside vat
    ];
    for (const billing of bad) {
      const result = await call(manager, 'PATCH', path, { body: { billing } });
      expect(result.status, JSON.stringify(billing)).toBe(400);
      expect(result.headers['content-type']).toBe('application/problem+json');
    }
    expect((await ok(manager, 'GET', path)).billing).toBeUndefined();
    // The partner sets their own (normalised VAT id); the manager's settings are theirs alone.
    const own = await ok(partner(created.id), 'PATCH', '/partner/profile', { billing: BILLING.vat });
    expect(own.billing).toEqual({ ...BILLING.vat, vatId: 'DE136695976' });
    const refused = await call(partner(created.id), 'PATCH', '/partner/profile', {
      body: { selfBilling: { enabled: true } },
    });
    expect(refused.status).toBe(400);
  });

  it('the partner accepts once enabled, for twelve months; self-billing is then active', async () => {
    const created = await ok(manager, 'POST', '/partners', { ...GERMAN, billing: BILLING.reverse_charge });
    const early = await call(partner(created.id), 'POST', '/partner/self-billing/accept', { body: {} });
    expect(early.status).toBe(422);
    expect(early.body.code).toBe('self_billing_inactive');
    await ok(manager, 'PATCH', `/partners/${created.id}`, {
      selfBilling: { enabled: true, seriesPrefix: 'MUE' },
    });
    const before = await ok(manager, 'GET', `/partners/${created.id}`);
    expect(before.selfBilling).toMatchObject({
      enabled: true,
      active: false,
      inactiveReason: 'no_agreement',
    });
    const agreement = await ok(partner(created.id), 'POST', '/partner/self-billing/accept', {});
    expect(agreement.version).toBe('2026-01');
    const accepted = new Date(agreement.acceptedAt);
    const until = new Date(agreement.validUntil);
    expect(
      until.getUTCFullYear() * 12 +
        until.getUTCMonth() -
        (accepted.getUTCFullYear() * 12 + accepted.getUTCMonth()),
    ).toBe(12);
    const after = await ok(partner(created.id), 'GET', '/partner/profile');
    expect(after.selfBilling).toEqual({ enabled: true, seriesPrefix: 'MUE', active: true, agreement });
  });
});

// ------------------------------------------------------------------ the invoice mode

describe('validation and the invoice mode', () => {
  it('a partner without an agreement gets upload by default, and 422 self_billing_inactive for self_billed', async () => {
    const created = await ok(manager, 'POST', '/partners', {
      ...GERMAN,
      billing: BILLING.reverse_charge,
      selfBilling: { enabled: true },
    });
    const reward = await ok(manager, 'POST', '/rewards', {
      partnerId: created.id,
      amount: 5000,
      currency: 'EUR',
      status: 'accepted',
    });
    const payout = await ok(manager, 'POST', '/payouts', {
      partnerId: created.id,
      currency: 'EUR',
      rewardIds: [reward.id],
    });
    const refused = await call(manager, 'POST', `/payouts/${payout.id}/validate`, {
      body: { invoiceMode: 'self_billed' },
    });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'self_billing_inactive' });
    expect((await ok(manager, 'GET', `/payouts/${payout.id}`)).status).toBe('draft');
    const contradictory = await call(manager, 'POST', `/payouts/${payout.id}/validate`, {
      body: { invoiceMode: 'upload', requireInvoice: false },
    });
    expect(contradictory.status).toBe(400);
    const validated = await ok(manager, 'POST', `/payouts/${payout.id}/validate`, { requireInvoice: true });
    expect(validated.requirements).toEqual({ invoice: true, invoiceMode: 'upload', rewardReview: false });
    expect(validated.amountToPay).toBe(5000);
    const preview = await call(
      partner(created.id),
      'GET',
      `/partner/payouts/${payout.id}/self-billed-invoice/preview`,
    );
    expect(preview.status).toBe(409); // an upload payout has no self-billed preview
  });

  it('requireInvoice: true means self_billed when active; VAT 19 % is paid on top; an expired agreement blocks the partner', async () => {
    const partnerId = await activePartner(BILLING.vat);
    const payout = await pendingPayout(partnerId, [10001, 5000, -3000], { requireInvoice: true });
    expect(payout.requirements).toEqual({ invoice: true, invoiceMode: 'self_billed', rewardReview: false });
    expect(payout.amount).toBe(12001);
    expect(payout.vatAmount).toBe(2280); // 120.01 × 19 % = 22.8019 → 22.80
    expect(payout.amountToPay).toBe(14281);
    const seen = await ok(partner(partnerId), 'GET', `/partner/payouts/${payout.id}`);
    expect(seen.amountToPay).toBe(14281);

    // The agreement runs out while the payout waits (set in the table: no route moves time).
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.partner(partnerId),
        UpdateExpression: 'SET selfBillingAgreement.validUntil = :past',
        ExpressionAttributeValues: { ':past': '2020-01-01T00:00:00.000Z' },
      }),
    );
    const blocked = await call(partner(partnerId), 'POST', `/partner/payouts/${payout.id}/validate`, {
      body: {},
    });
    expect(blocked.status).toBe(422);
    expect(blocked.body).toMatchObject({ code: 'self_billing_inactive' });
    expect((await ok(manager, 'GET', `/payouts/${payout.id}`)).status).toBe('pending');
    await ok(partner(partnerId), 'POST', '/partner/self-billing/accept', {});
    const ready = await ok(partner(partnerId), 'POST', `/partner/payouts/${payout.id}/validate`, {});
    expect(ready.status).toBe('ready');
  });
});

// ------------------------------------------------------------------ preview vs issued

describe('preview, then the issued invoice', () => {
  it('the pending partner previews an unnumbered PDF; validating issues the numbered invoice, stored and hashed', async () => {
    const partnerId = await activePartner(BILLING.reverse_charge);
    const payout = await pendingPayout(partnerId, [12500, 20000, -2500], { invoiceMode: 'self_billed' });
    const notYet = await call(manager, 'GET', `/payouts/${payout.id}/self-billed-invoice`);
    expect(notYet.status).toBe(409);

    const preview = await ok(
      partner(partnerId),
      'GET',
      `/partner/payouts/${payout.id}/self-billed-invoice/preview`,
    );
    const previewText = pdfText(await download(preview.url)).join('\n');
    expect(previewText).toContain('PREVIEW — not an invoice');
    expect(previewText).toContain('(assigned on validation)');
    expect(previewText).not.toMatch(/SB[A-Z0-9]+-\d{4}-\d{5}/);
    expect(previewText).toContain('Müller Søren Łukasz GmbH');

    await ok(partner(partnerId), 'POST', `/partner/payouts/${payout.id}/validate`, {});
    const issued = await issue(payout.id);
    const prefix = `SB${partnerId.slice(-6)}`;
    expect(issued.invoice?.number).toBe(`${prefix}-${YEAR}-00001`);
    expect(await issue(payout.id)).toEqual({}); // nothing left to issue

    const after = await ok(manager, 'GET', `/payouts/${payout.id}`);
    expect(after.selfBilledInvoice).toEqual(issued.invoice);
    const events = await ok(manager, 'GET', `/payouts/${payout.id}/events`);
    expect(events.items.map((e: { type: string }) => e.type)).toContain('payout.self_billed_invoice_issued');

    for (const as of [manager, partner(partnerId)]) {
      const path = as === manager ? `/payouts/${payout.id}` : `/partner/payouts/${payout.id}`;
      const links = await ok(as, 'GET', `${path}/self-billed-invoice`);
      expect(links.number).toBe(issued.invoice?.number);
      expect(links.creditNote).toBeUndefined();
      const pdf = await download(links.pdf.url);
      const xml = await download(links.xml.url);
      expect(sha256(pdf)).toBe(after.selfBilledInvoice.sha256);
      expect(sha256(xml)).toBe(after.selfBilledInvoice.xmlSha256);
      const text = pdfText(pdf).join('\n');
      expect(text).toContain(`Number                ${issued.invoice?.number}`);
      expect(text).not.toContain('PREVIEW');
      expect(text).toContain(
        'Reverse charge — VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)',
      );
      expect(text).toMatch(/Total due\s+EUR 300\.00/);
      const ubl = new TextDecoder().decode(xml);
      expect((await validateUbl(ubl, 'Invoice')).errors).toEqual([]);
      const root = parseXml(ubl);
      expect(one(root, 'ID').text).toBe(issued.invoice?.number);
      expect(one(root, 'LegalMonetaryTotal', 'PayableAmount').text).toBe('300.00');
      expect(all(root, 'InvoiceLine')).toHaveLength(3);
    }
    const previewAfter = await call(
      partner(partnerId),
      'GET',
      `/partner/payouts/${payout.id}/self-billed-invoice/preview`,
    );
    expect(previewAfter.status).toBe(409);
    // Another partner sees nothing of it.
    const other = await activePartner();
    expect(
      (await call(partner(other), 'GET', `/partner/payouts/${payout.id}/self-billed-invoice`)).status,
    ).toBe(404);
  });

  it('an exempt partner’s invoice carries the exemption note and no VAT', async () => {
    const partnerId = await activePartner(BILLING.exempt);
    const payout = await readyPayout(partnerId, [7000]);
    expect(payout.vatAmount).toBeUndefined();
    expect(payout.amountToPay).toBe(7000);
    await issue(payout.id);
    const links = await ok(manager, 'GET', `/payouts/${payout.id}/self-billed-invoice`);
    const text = pdfText(await download(links.pdf.url)).join('\n');
    expect(text).toContain('Steuerfrei nach § 19 UStG');
    expect(text).toContain('Zoë Ñuñez');
    expect(text).toContain('Tax number: 143/123/45678');
    const root = parseXml(new TextDecoder().decode(await download(links.xml.url)));
    expect(one(root, 'TaxTotal', 'TaxSubtotal', 'TaxCategory', 'ID').text).toBe('E');
    // BR-E-02: no VAT id, so the tax registration id (BT-32, a tax scheme other than VAT).
    expect(one(root, 'AccountingSupplierParty', 'Party', 'PartyTaxScheme', 'CompanyID').text).toBe(
      '143/123/45678',
    );
    expect(one(root, 'AccountingSupplierParty', 'Party', 'PartyTaxScheme', 'TaxScheme', 'ID').text).toBe(
      'FC',
    );
    expect(one(root, 'LegalMonetaryTotal', 'PayableAmount').text).toBe('70.00');
  });
});

// ------------------------------------------------------------------ numbering

describe('numbering', () => {
  it('twenty payouts of one partner issued at once: numbers 1…20, each once, no gap', async () => {
    const partnerId = await activePartner();
    const payouts = [];
    for (let i = 0; i < 20; i++) payouts.push(await readyPayout(partnerId, [1000 + i]));
    const results = await Promise.all(payouts.map((payout) => issue(payout.id)));
    const numbers = results.map((result) => result.invoice?.number).sort();
    const prefix = `SB${partnerId.slice(-6)}`;
    expect(numbers).toEqual(
      Array.from({ length: 20 }, (_, i) => `${prefix}-${YEAR}-${String(i + 1).padStart(5, '0')}`),
    );
    const series = await readSeries({ partnerId, prefix, year: YEAR });
    expect(series.last).toBe(20);
    // Every number is claimed by exactly the payout that recorded it.
    for (const payout of payouts) {
      const recorded = (await ok(manager, 'GET', `/payouts/${payout.id}`)).selfBilledInvoice.number as string;
      const seq = Number(recorded.slice(-5));
      expect(series.claims[seq - 1]).toBe(holderOf(payout.id, 'invoice'));
    }
    expect(new Set(series.claims).size).toBe(20);
  });

  it('a crash between taking a number and recording it: the number is neither skipped nor reused', async () => {
    const partnerId = await activePartner();
    const [a, b, c] = [
      await readyPayout(partnerId),
      await readyPayout(partnerId),
      await readyPayout(partnerId),
    ];
    const crash = new Error('crash after taking the number');
    // A wins number 1 and dies before anything else is written.
    await expect(
      issueSelfBilledDocuments(a.id, {
        afterWin: () => {
          throw crash;
        },
      }),
    ).rejects.toBe(crash);
    expect((await ok(manager, 'GET', `/payouts/${a.id}`)).selfBilledInvoice).toBeUndefined();
    // B then C go on: B settles A's number for it, then takes 2; C takes 3.
    const [rb, rc] = [await issue(b.id), await issue(c.id)];
    // A runs again and finds the number it took.
    const ra = await issue(a.id);
    const prefix = `SB${partnerId.slice(-6)}`;
    expect([ra.invoice?.number, rb.invoice?.number, rc.invoice?.number]).toEqual(
      [1, 2, 3].map((n) => `${prefix}-${YEAR}-0000${n}`),
    );
    // And a crash of the very last taker, with nobody after it: its re-run settles its own number.
    const d = await readyPayout(partnerId);
    await expect(
      issueSelfBilledDocuments(d.id, {
        afterWin: () => {
          throw crash;
        },
      }),
    ).rejects.toBe(crash);
    expect((await issue(d.id)).invoice?.number).toBe(`${prefix}-${YEAR}-00004`);
    const series = await readSeries({ partnerId, prefix, year: YEAR });
    expect(series.claims).toEqual([a, b, c, d].map((p) => holderOf(p.id, 'invoice')));
  });

  it('two attempts of one document at once get one number', async () => {
    const series = { partnerId: 'pt_TWICE', prefix: 'TW', year: YEAR };
    const holder = holderOf('po_TWICE', 'invoice');
    const taken = await Promise.all(Array.from({ length: 5 }, () => takeNumber(series, holder)));
    expect(new Set(taken.map((t) => t.number))).toEqual(new Set([`TW-${YEAR}-00001`]));
    expect((await takeNumber(series, holderOf('po_OTHER', 'invoice'))).number).toBe(`TW-${YEAR}-00002`);
  });
});

// ------------------------------------------------------------------ credit note

describe('credit note after cancel', () => {
  it('cancelling an issued payout issues a credit note from the same series; the invoice stays as it was', async () => {
    const partnerId = await activePartner(BILLING.vat);
    const payout = await readyPayout(partnerId, [10000, 2345]);
    const { invoice } = await issue(payout.id);
    expect(invoice).toBeDefined();
    await ok(manager, 'POST', `/payouts/${payout.id}/cancel`, { reason: 'duplicate' });
    const { creditNote } = await issue(payout.id);
    const prefix = `SB${partnerId.slice(-6)}`;
    expect(creditNote?.number).toBe(`${prefix}-${YEAR}-00002`);

    const links = await ok(partner(partnerId), 'GET', `/partner/payouts/${payout.id}/self-billed-invoice`);
    expect(links.number).toBe(invoice?.number);
    expect(links.creditNote.number).toBe(creditNote?.number);
    expect(sha256(await download(links.pdf.url))).toBe(invoice?.sha256);
    const xml = new TextDecoder().decode(await download(links.creditNote.xml.url));
    expect((await validateUbl(xml, 'CreditNote')).errors).toEqual([]);
    const root = parseXml(xml);
    expect(one(root, 'CreditNoteTypeCode').text).toBe('261');
    expect(one(root, 'BillingReference', 'InvoiceDocumentReference', 'ID').text).toBe(invoice?.number);
    expect(one(root, 'LegalMonetaryTotal', 'PayableAmount').text).toBe('146.91'); // 123.45 + 23.46
    const text = pdfText(await download(links.creditNote.pdf.url)).join('\n');
    expect(text).toContain('Self-billing credit note · Storno der Gutschrift');
    expect(text).toContain(`${invoice?.number} of `);

    // Write-once: the invoice's key keeps its bytes whatever is sent again.
    const key = documentKey(partnerId, invoice?.number ?? '', 'pdf');
    const again = await storeOnce(
      key,
      new TextEncoder().encode('%PDF-1.4 something else'),
      'application/pdf',
    );
    expect(again).toEqual({ sha256: invoice?.sha256, created: false });
  });

  it('cancelled before its validated invoice was issued: the rewards stay until the invoice is issued with every line, then its credit note', async () => {
    const partnerId = await activePartner(BILLING.reverse_charge);
    const payout = await readyPayout(partnerId, [10000, 2345, -345]);
    // The cancel comes before the workflow issued the invoice the partner accepted.
    await ok(manager, 'POST', `/payouts/${payout.id}/cancel`, { reason: 'duplicate' });
    expect(await releasePayoutRewards(payout.id)).toBe(0);
    const held = await ok(manager, 'GET', `/payouts/${payout.id}/rewards`);
    expect(held.items).toHaveLength(3);

    // The workflow issues first (Route: issue before ReleaseRewards): the invoice and its credit note.
    const { invoice, creditNote } = await issue(payout.id);
    expect(invoice).toBeDefined();
    expect(creditNote).toBeDefined();
    const links = await ok(manager, 'GET', `/payouts/${payout.id}/self-billed-invoice`);
    for (const [url, root, line] of [
      [links.xml.url, 'Invoice', 'InvoiceLine'],
      [links.creditNote.xml.url, 'CreditNote', 'CreditNoteLine'],
    ] as const) {
      const doc = parseXml(new TextDecoder().decode(await download(url)));
      expect(doc.name).toBe(root);
      expect(all(doc, line).map((l) => one(l, 'LineExtensionAmount').text)).toEqual([
        '100.00',
        '23.45',
        '-3.45',
      ]);
      expect(one(doc, 'LegalMonetaryTotal', 'PayableAmount').text).toBe('120.00');
    }
    // Then the rewards are released (the workflow's ReleaseRewards).
    expect(await releasePayoutRewards(payout.id)).toBe(3);
    expect((await ok(manager, 'GET', `/payouts/${payout.id}/rewards`)).items).toHaveLength(0);
  });
});
