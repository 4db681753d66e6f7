/**
 * The web console in a real browser (the system's Chromium through playwright-core) against
 * `npm start`'s server: a manager adds a partner, drafts, reviews and validates with an invoice
 * required; the partner disputes then approves a reward, has a non-PDF refused, uploads a PDF and
 * validates; the manager exports, uploads the bank's camt.054 and sees the payout paid. All through the UI; the API is read
 * afterwards. axe runs on every screen (no serious or critical violation); screenshots of each
 * screen, desktop and phone, go to test-results/console/.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../infra/local/console-build.ts';
import { camt } from '../support/iso20022.ts';
import { type LocalServer, launchBrowser, ROOT, startServer } from './browser.ts';

const SHOTS = join(ROOT, 'test-results/console');
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

let server: LocalServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const violations: { screen: string; id: string; impact: string; nodes: string[] }[] = [];
const screens = new Set<string>();

async function api(path: string, token: string, init: { method?: string; body?: unknown } = {}) {
  const response = await fetch(`${server.url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function tokenFor(body: { role: string; partnerId?: string }): Promise<string> {
  const response = await fetch(`${server.url}/local/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

/** axe on the screen as it is now, and a screenshot of it on a desktop and on a phone. */
async function check(page: Page, screen: string): Promise<void> {
  await page.waitForLoadState('networkidle');
  await expect.poll(() => page.locator('[role="status"] .spinner').count(), { timeout: 10_000 }).toBe(0);
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  for (const violation of result.violations) {
    if (violation.impact === 'serious' || violation.impact === 'critical') {
      violations.push({
        screen,
        id: violation.id,
        impact: violation.impact,
        nodes: violation.nodes.map((node) => node.target.join(' ')),
      });
    }
  }
  screens.add(screen);
  await page.screenshot({ path: join(SHOTS, `${screen}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  // Nothing may overflow sideways on a phone (tables scroll inside their own box).
  const overflowing = await page.evaluate<string[]>(`[...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > ${PHONE.width} + 1 && !el.closest('.table-wrap, dialog:not([open])'))
    .slice(0, 5).map((el) => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right))`);
  const width = await page.evaluate<number>('document.documentElement.scrollWidth');
  expect({ screen, overflowing, width }).toEqual({ screen, overflowing: [], width: PHONE.width });
  await page.screenshot({ path: join(SHOTS, `${screen}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

async function newPage(): Promise<Page> {
  const context = await browser.newContext({
    viewport: DESKTOP,
    locale: 'en-GB',
    timezoneId: 'Europe/Berlin',
  });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

async function signInAs(page: Page, who: RegExp): Promise<void> {
  await page.goto(`${server.url}/`);
  await page.getByRole('button', { name: who }).click();
}

async function pdf(): Promise<Buffer> {
  const document = await PDFDocument.create();
  const font = await document.embedFont(StandardFonts.Helvetica);
  document.addPage().drawText('Invoice 2026-11 — Ana Müller', { x: 50, y: 700, font, size: 14 });
  return Buffer.from(await document.save());
}

describe('the web console in Chromium', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await buildConsole({ log: () => {} });
    // Four-eyes approval from €10,000 (the first test's payout stays under it).
    server = await startServer({ APPROVAL_THRESHOLDS: 'EUR:1000000' });
    browser = await launchBrowser();
  }, 300_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await server?.stop();
  });

  it('takes a payout from draft to paid through the UI', { timeout: 300_000 }, async () => {
    const managerToken = await tokenFor({ role: 'manager' });

    // ---------------------------------------------------------------- manager: a partner
    const manager = await newPage();
    await manager.goto(`${server.url}/`);
    await expect.poll(() => manager.url()).toContain('/sign-in');
    await check(manager, 'sign-in');
    await manager.getByRole('button', { name: /^Manager/ }).click();
    await manager.getByRole('heading', { level: 1, name: 'Home' }).waitFor();
    await manager.getByText('No payouts yet').waitFor();
    await check(manager, 'manager-home-empty');
    // The keyboard alone: the first Tab reaches the skip link, which moves focus to the content.
    await manager.keyboard.press('Tab');
    expect(await manager.evaluate<string>('document.activeElement?.textContent')).toBe('Skip to content');
    await manager.keyboard.press('Enter');
    expect(await manager.evaluate<string>('document.activeElement?.id')).toBe('main');

    await nav(manager, 'Partners').click();
    await manager.getByText('No partners yet.').waitFor();
    await manager.getByRole('link', { name: 'Add a partner' }).click();
    await manager.getByLabel('Name', { exact: true }).fill('Ana Müller');
    await manager.getByLabel('E-mail').fill('ana@example.com');
    await manager.getByLabel('Paid by').selectOption('sepa');
    await manager.getByLabel('Account holder').fill('Ana Müller');
    // The IBAN is checked as it is typed.
    await manager.getByLabel('IBAN').fill('DE89 3704 0044 0532 0130 01');
    await manager.getByText('Its check digits do not match').waitFor();
    expect(await manager.getByLabel('IBAN').getAttribute('aria-invalid')).toBe('true');
    await check(manager, 'partner-form-invalid-iban');
    await manager.getByLabel('IBAN').fill('DE89 3704 0044 0532 0130 00');
    await manager.getByText('Valid IBAN ✓').waitFor();
    await manager.getByRole('button', { name: 'Add partner' }).click();
    await manager.waitForURL(/\/manage\/partners\/pt_/);
    const partnerId = /\/(pt_\w+)$/.exec(manager.url())?.[1] ?? '';
    expect(partnerId).toMatch(/^pt_/);

    // Rewards arrive from the partner program's own systems, by API.
    for (const reward of [
      { amount: 125_000, description: 'Q3 commission', status: 'accepted' },
      { amount: 20_000, description: 'Setup bonus', status: 'pending' },
      { amount: -5_050, description: 'Refund clawback', status: 'accepted' },
    ]) {
      const created = await api('/rewards', managerToken, {
        method: 'POST',
        body: { partnerId, currency: 'EUR', ...reward },
      });
      expect(created.status).toBe(201);
    }

    // ---------------------------------------------------------------- manager: draft, review, validate
    await nav(manager, 'Payouts').click();
    await manager.getByRole('heading', { level: 1, name: 'Payouts' }).waitFor();
    await check(manager, 'payouts-empty');
    await manager.getByText('Draft a payout').click();
    await manager.locator('#draft-partner').selectOption(partnerId);
    await manager.locator('#draft-currency').selectOption('EUR');
    await manager.getByRole('button', { name: 'Draft from unclaimed rewards' }).click();
    await manager.waitForURL(/\/manage\/payouts\/po_/);
    const payoutId = /\/(po_\w+)$/.exec(manager.url())?.[1] ?? '';
    await manager.getByRole('heading', { level: 1, name: 'Payout to Ana Müller' }).waitFor();
    // Focus moved to the new screen's heading.
    expect(await manager.evaluate<string>('document.activeElement?.id')).toBe('page-title');
    await manager.getByRole('cell', { name: 'Setup bonus', exact: true }).waitFor();
    await check(manager, 'payout-draft');

    // Validating with a pending reward is refused, in plain words.
    await manager.getByLabel('the partner uploads an invoice (PDF)').check();
    await manager.getByLabel('approve or dispute each reward').check();
    await manager.getByLabel('Message to the partner (optional)').fill('Thanks for a great quarter');
    await manager.getByRole('button', { name: 'Validate payout' }).click();
    await manager
      .getByRole('alert')
      .filter({ hasText: /pending/i })
      .waitFor();

    await manager.getByRole('button', { name: 'Accept Setup bonus' }).click();
    await expect
      .poll(() =>
        manager
          .getByRole('row', { name: /Setup bonus/ })
          .getByText('Accepted')
          .count(),
      )
      .toBe(1);
    await manager.getByRole('button', { name: 'Validate payout' }).click();
    await manager.locator('.facts').getByText('Pending').waitFor();
    await manager.getByRole('heading', { name: 'History' }).waitFor();
    await check(manager, 'payout-pending');

    // ---------------------------------------------------------------- partner: review, invoice, validate
    const partner = await newPage();
    await signInAs(partner, /^Ana Müller/);
    await partner.getByRole('heading', { level: 1, name: 'My payouts' }).waitFor();
    await check(partner, 'portal-payouts');
    await partner.getByRole('link', { name: /Review and validate/ }).click();
    await partner.getByRole('heading', { level: 1, name: /Payout of/ }).waitFor();
    await partner.getByRole('cell', { name: 'Q3 commission', exact: true }).waitFor();
    await check(partner, 'portal-payout');

    await partner.getByRole('button', { name: 'Dispute Q3 commission' }).click();
    await partner.getByLabel('What is wrong with Q3 commission?').fill('The October sales are missing');
    await partner.getByRole('button', { name: 'Send dispute' }).click();
    await partner
      .getByRole('row', { name: /Q3 commission/ })
      .getByText('Disputed')
      .waitFor();
    // Validating with a disputed reward is refused.
    await partner.getByRole('button', { name: 'Validate payout' }).click();
    await partner.getByRole('dialog').getByRole('button', { name: 'Validate' }).click();
    await partner
      .getByRole('alert')
      .filter({ hasText: /disput/i })
      .waitFor();
    for (const name of ['Q3 commission', 'Setup bonus', 'Refund clawback']) {
      await partner.getByRole('button', { name: `Approve ${name}` }).click();
      await partner
        .getByRole('row', { name: new RegExp(name) })
        .getByText('Approved')
        .waitFor();
    }

    // A file that is not a PDF is refused by the check, and the partner reads why.
    await partner.locator('#invoice-file').setInputFiles({
      name: 'invoice.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from('PK\u0003\u0004 a zip file, not a PDF'),
    });
    await partner.getByRole('button', { name: 'Upload invoice' }).click();
    await partner.getByRole('alert').filter({ hasText: 'not a PDF' }).waitFor({ timeout: 20_000 });
    await check(partner, 'portal-invoice-refused');

    await partner.locator('#invoice-file').setInputFiles({
      name: 'invoice-2026-11.pdf',
      mimeType: 'application/pdf',
      buffer: await pdf(),
    });
    await partner.getByRole('button', { name: 'Upload invoice' }).click();
    await partner.getByText('Received invoice-2026-11.pdf').waitFor({ timeout: 20_000 });
    await partner.getByRole('button', { name: 'Validate payout' }).click();
    await partner.getByRole('dialog').getByRole('button', { name: 'Validate' }).click();
    await partner.locator('.facts').getByText('Ready').waitFor();
    await check(partner, 'portal-payout-ready');

    await nav(partner, 'Profile').click();
    await partner.getByRole('heading', { level: 1, name: 'Profile' }).waitFor();
    await check(partner, 'portal-profile');

    // ---------------------------------------------------------------- manager: export, pay
    await nav(manager, 'Exports').click();
    await manager.getByRole('heading', { level: 1, name: 'Exports' }).waitFor();
    await manager.getByText('No exports yet.').waitFor();
    await manager.getByLabel('Currency').selectOption('EUR');
    await manager.getByLabel('SEPA version').selectOption('pain.001.001.09');
    await manager.getByRole('button', { name: 'Create export' }).click();
    const download = manager.getByRole('link', { name: /^Download .*\.xml$/ });
    await download.waitFor();
    const file = await fetch((await download.getAttribute('href')) ?? '');
    const xml = await file.text();
    expect(xml).toContain('pain.001.001.09');
    expect(xml).toContain('DE89370400440532013000');
    expect(xml).toContain('1399.50');
    await check(manager, 'exports');

    await nav(manager, 'Payout runs').click();
    await manager.getByRole('button', { name: 'Run now' }).click();
    await manager.getByText(/Run run_\w+ · Completed/).waitFor();
    await check(manager, 'payout-runs');

    // The payout is in the bank's hands (processing): marking it paid by hand is offered, with a
    // confirmation; the bank's report settles it instead.
    await manager.goto(`${server.url}/manage/payouts/${payoutId}`);
    await manager.getByText('invoice-2026-11.pdf', { exact: true }).waitFor();
    await manager.locator('.facts').getByText('Processing').waitFor();
    await manager.getByRole('button', { name: 'Mark paid' }).click();
    const dialog = manager.getByRole('dialog');
    await dialog.getByLabel('Payment reference (optional)').waitFor();
    await check(manager, 'payout-mark-paid-dialog');
    await dialog.getByRole('button', { name: 'Go back' }).click();
    await expect.poll(() => manager.getByRole('dialog').count()).toBe(0);

    const endToEndId = /<EndToEndId>([^<]+)<\/EndToEndId>/.exec(xml)?.[1] ?? '';
    expect(endToEndId).not.toBe('');
    await nav(manager, 'Bank reports').click();
    await manager.getByRole('heading', { level: 1, name: 'Bank reports' }).waitFor();
    await manager.getByText('No bank reports yet.').waitFor();
    await manager.locator('#report-file').setInputFiles({
      name: 'camt054-2026-11.xml',
      mimeType: 'application/xml',
      buffer: Buffer.from(
        camt({
          messageId: 'CAMT-2026-11-1',
          entries: [
            {
              amount: '1399.50',
              creditDebit: 'DBIT',
              acctSvcrRef: 'ENTRY-1',
              txs: [{ endToEndId, acctSvcrRef: 'BANK-REF-1', amount: '1399.50' }],
            },
          ],
        }),
      ),
    });
    await manager.getByRole('button', { name: 'Upload report' }).click();
    const report = manager.getByRole('article', { name: 'Bank report camt054-2026-11.xml' });
    await report.getByRole('cell', { name: payoutId }).waitFor({ timeout: 20_000 });
    await report
      .getByRole('row', { name: new RegExp(payoutId) })
      .getByText('Applied')
      .waitFor();
    await check(manager, 'bank-report-applied');

    await report.getByRole('link', { name: payoutId }).click();
    await manager.locator('.facts').getByText('Paid').waitFor();
    await manager.locator('.facts').getByText('BANK-REF-1', { exact: true }).waitFor();
    await check(manager, 'payout-paid');

    await nav(manager, 'Home').click();
    await manager.getByRole('heading', { name: 'Payouts by status' }).waitFor();
    await manager.getByRole('link', { name: /Paid/ }).getByText('€1,399.50').waitFor();
    await check(manager, 'manager-home');
    await nav(manager, 'Partners').click();
    await manager.getByRole('cell', { name: 'Ana Müller', exact: true }).waitFor();
    await check(manager, 'partners');

    // ---------------------------------------------------------------- the API agrees
    const payout = await api(`/payouts/${payoutId}`, managerToken);
    expect(payout.body).toMatchObject({
      status: 'paid',
      amount: 139_950,
      currency: 'EUR',
      paymentReference: 'BANK-REF-1',
      requirements: { invoice: true, rewardReview: true },
      message: 'Thanks for a great quarter',
      invoice: { fileName: 'invoice-2026-11.pdf' },
    });
    const rewards = await api(`/payouts/${payoutId}/rewards`, managerToken);
    expect(
      rewards.body.items.map((r: { status: string; review?: { decision: string } }) => [
        r.status,
        r.review?.decision,
      ]),
    ).toEqual([
      ['paid', 'approve'],
      ['paid', 'approve'],
      ['paid', 'approve'],
    ]);
    const events = await api(`/payouts/${payoutId}/events?limit=100`, managerToken);
    const types = events.body.items.map((event: { type: string }) => event.type);
    expect(types).toEqual(expect.arrayContaining(['payout.invoice_rejected', 'payout.invoice_uploaded']));
    const partnerView = await api(
      `/partner/payouts/${payoutId}`,
      await tokenFor({ role: 'partner', partnerId }),
    );
    expect(partnerView.body.status).toBe('paid');

    expect(violations).toEqual([]);
    expect(screens.size).toBeGreaterThanOrEqual(14);
  });

  it('shows each role what it may do: self-billing, holds, four-eyes approval, webhooks', {
    timeout: 300_000,
  }, async () => {
    const adminToken = await tokenFor({ role: 'manager' });
    // A receiver for webhook tests, on loopback (allowed under `npm start` only).
    const received: string[] = [];
    const receiver: Server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        received.push(body);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

    try {
      // ---------------------------------------------------------------- a partner above the threshold
      const created = await api('/partners', adminToken, {
        method: 'POST',
        body: {
          name: 'Bo Berg',
          email: 'bo@example.com',
          country: 'NL',
          payoutMethod: { type: 'sepa', accountHolder: 'Bo Berg', iban: 'NL91ABNA0417164300' },
        },
      });
      expect(created.status).toBe(201);
      const partnerId: string = created.body.id;
      expect(
        (
          await api('/rewards', adminToken, {
            method: 'POST',
            body: {
              partnerId,
              currency: 'EUR',
              amount: 1_500_000,
              status: 'accepted',
              description: 'Annual bonus',
            },
          })
        ).status,
      ).toBe(201);

      // ---------------------------------------------------------------- admin: self-billing on
      const admin = await newPage();
      await signInAs(admin, /^Manager Manager/);
      await admin.getByRole('heading', { level: 1, name: 'Home' }).waitFor();
      await admin.goto(`${server.url}/manage/partners/${partnerId}`);
      await admin.getByRole('heading', { level: 1, name: 'Bo Berg' }).waitFor();
      await admin.getByLabel('Legal name').fill('Bo Berg Media');
      await admin.getByLabel('Tax regime').selectOption('outside_scope');
      await admin.getByLabel(/we issue this partner's invoices/).check();
      await admin.getByRole('button', { name: 'Save changes' }).click();
      await admin.getByText('waiting for the partner to accept the agreement').waitFor();
      await check(admin, 'partner-self-billing');

      // ---------------------------------------------------------------- partner: address, agreement
      const partner = await newPage();
      await signInAs(partner, /^Bo Berg/);
      await nav(partner, 'Profile').click();
      await partner.getByRole('heading', { name: 'Self-billing' }).waitFor();
      await partner.getByLabel('Address line 1').fill('Keizersgracht 2');
      await partner.getByLabel('Postal code').fill('1015 CJ');
      await partner.getByLabel('City').fill('Amsterdam');
      await partner.getByLabel('Country (ISO code)').fill('NL');
      await partner.getByRole('button', { name: 'Save', exact: true }).click();
      await partner.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      await partner.getByRole('button', { name: 'Accept the self-billing agreement' }).click();
      await partner.getByText(/Self-billing: active/).waitFor();
      await check(partner, 'portal-profile-self-billing');

      // ---------------------------------------------------------------- admin: validate, self-billed
      const drafted = await api('/payouts', adminToken, {
        method: 'POST',
        body: { partnerId, currency: 'EUR' },
      });
      expect(drafted.status).toBe(201);
      const payoutId: string = drafted.body.id;
      await admin.goto(`${server.url}/manage/payouts/${payoutId}`);
      await admin.getByRole('cell', { name: 'Annual bonus', exact: true }).waitFor();
      await admin.getByText(/Self-billing is active for this partner/).waitFor();
      await admin.getByLabel('we issue a self-billed invoice').check();
      await admin.getByRole('button', { name: 'Validate payout' }).click();
      await admin.locator('.facts').getByText('Pending').waitFor();
      await admin.locator('.facts').getByText('a self-billed invoice').waitFor();
      await check(admin, 'payout-self-billed-pending');

      // ---------------------------------------------------------------- partner: preview, validate
      await partner.goto(`${server.url}/portal/payouts/${payoutId}`);
      await partner.getByRole('button', { name: 'Preview the invoice (PDF)' }).waitFor();
      const preview = await api(
        `/partner/payouts/${payoutId}/self-billed-invoice/preview`,
        await tokenFor({ role: 'partner', partnerId }),
      );
      expect(preview.status).toBe(200);
      await partner.getByRole('button', { name: 'Validate payout' }).click();
      await partner.getByRole('dialog').getByRole('button', { name: 'Validate' }).click();
      await partner.locator('.facts').getByText('Ready').waitFor();
      // The invoice is issued by the workflow: reload until it is there.
      await expect
        .poll(
          async () => {
            await partner.reload();
            await partner.locator('.facts').waitFor();
            return partner.getByRole('button', { name: 'Get the download links' }).count();
          },
          { timeout: 30_000, interval: 1_000 },
        )
        .toBe(1);
      await partner.getByRole('button', { name: 'Get the download links' }).click();
      const pdfLink = partner.getByRole('link', { name: /^Invoice .+ \(PDF\)$/ });
      await pdfLink.waitFor();
      const pdfFile = await fetch((await pdfLink.getAttribute('href')) ?? '');
      expect(new TextDecoder().decode((await pdfFile.arrayBuffer()).slice(0, 5))).toBe('%PDF-');
      await check(partner, 'portal-payout-self-billed');

      // ---------------------------------------------------------------- four eyes: the validator may not approve
      await nav(admin, 'Approvals').click();
      await admin.getByRole('heading', { level: 1, name: 'Approvals' }).waitFor();
      await admin.getByRole('link', { name: payoutId }).waitFor();
      await admin.getByRole('button', { name: `Approve ${payoutId}` }).click();
      await admin.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
      await admin.getByRole('alert').filter({ hasText: 'Four-eyes rule' }).waitFor();

      // ---------------------------------------------------------------- program manager: a hold, overdue
      const programManager = await newPage();
      await signInAs(programManager, /^Program manager/);
      await programManager.getByRole('heading', { level: 1, name: 'Home' }).waitFor();
      // A program manager does not export, approve or pay.
      expect(await nav(programManager, 'Webhooks').count()).toBe(0);
      await nav(programManager, 'Exports').click();
      await programManager.getByRole('heading', { level: 1, name: 'Exports' }).waitFor();
      expect(await programManager.getByRole('button', { name: 'Create export' }).count()).toBe(0);
      await programManager.goto(`${server.url}/manage/payouts/${payoutId}`);
      await programManager.getByRole('heading', { name: 'Waiting for an approval' }).waitFor();
      expect(await programManager.getByRole('button', { name: /^Approve/ }).count()).toBe(0);
      expect(await programManager.getByRole('button', { name: 'Mark paid' }).count()).toBe(0);
      await programManager.getByRole('button', { name: 'Hold this payout' }).click();
      const holdDialog = programManager.getByRole('dialog');
      await holdDialog.getByLabel('Reason').selectOption('PAID_TRAFFIC');
      await holdDialog.getByLabel('Note for managers (optional)').fill('Clicks from a paid search campaign');
      await holdDialog.getByLabel(/Message to the partner/).fill('We are checking last month’s traffic.');
      const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      await holdDialog.getByLabel('Review by (optional)').fill(yesterday);
      await holdDialog.getByRole('button', { name: 'Place hold' }).click();
      await programManager.getByRole('heading', { name: 'On hold' }).waitFor();
      await programManager.getByText('Review is overdue').waitFor();
      await check(programManager, 'payout-held');

      // The partner reads the hold's message, never its reason or note.
      await partner.reload();
      await partner.getByText('We are checking last month’s traffic.').waitFor();
      expect(await partner.getByText('PAID_TRAFFIC').count()).toBe(0);
      expect(await partner.getByText('paid search campaign').count()).toBe(0);
      await check(partner, 'portal-payout-held');

      await nav(programManager, 'Holds').click();
      await programManager.getByRole('heading', { level: 1, name: 'Holds' }).waitFor();
      const holdRow = programManager.getByRole('row', { name: /Paid traffic/ });
      await holdRow.getByText('Review is overdue').waitFor();
      expect(await holdRow.getAttribute('class')).toContain('overdue');
      // Who placed a hold may not release it.
      await holdRow.getByRole('button', { name: /^Release hold/ }).click();
      await programManager.getByRole('dialog').getByLabel('Note').fill('Looked fine to me');
      await programManager.getByRole('dialog').getByRole('button', { name: 'Release' }).click();
      await programManager
        .getByRole('alert')
        .filter({ hasText: /Four-eyes rule/ })
        .waitFor();
      await check(programManager, 'holds');

      // ---------------------------------------------------------------- finance: release, approve, export
      const finance = await newPage();
      await signInAs(finance, /^Finance Manager/);
      await finance.getByRole('heading', { level: 1, name: 'Home' }).waitFor();
      await nav(finance, 'Holds').click();
      const financeRow = finance.getByRole('row', { name: /Paid traffic/ });
      await financeRow.getByRole('button', { name: /^Release hold/ }).click();
      await finance.getByRole('dialog').getByLabel('Note').fill('Traffic checked: organic');
      await finance.getByRole('dialog').getByRole('button', { name: 'Release' }).click();
      await finance.getByText('No holds.').waitFor();
      await nav(finance, 'Approvals').click();
      await finance.getByRole('link', { name: payoutId }).waitFor();
      await check(finance, 'approvals');
      await finance.getByRole('button', { name: `Approve ${payoutId}` }).click();
      await finance.getByRole('dialog').getByLabel('Note (optional)').fill('Bonus agreed in the contract');
      await finance.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
      await finance.getByText('Nothing waits for an approval.').waitFor();
      await nav(finance, 'Exports').click();
      await finance.getByRole('button', { name: 'Create export' }).waitFor();
      expect(await nav(finance, 'Webhooks').count()).toBe(0);
      await finance.goto(`${server.url}/manage/payouts/${payoutId}`);
      await finance.getByText(/Approved by finance-local/).waitFor();
      await finance.getByRole('button', { name: 'Mark paid' }).waitFor();
      await check(finance, 'payout-approved');

      // ---------------------------------------------------------------- viewer: reads, no actions
      const viewer = await newPage();
      await signInAs(viewer, /^Viewer/);
      await viewer.getByRole('heading', { level: 1, name: 'Home' }).waitFor();
      const readOnly =
        /^(Get the download links|Download|Filter|Apply filters|Show run|Previous page|Next page)/;
      const actionButtons = async () =>
        (await viewer.locator('main button').allInnerTexts()).filter((name) => !readOnly.test(name.trim()));
      for (const [path, ready] of [
        [`/manage/payouts/${payoutId}`, 'Annual bonus'],
        ['/manage/payouts', 'Payouts'],
        ['/manage/approvals', 'Approvals'],
        ['/manage/holds', 'Holds'],
        ['/manage/exports', 'Exports'],
        ['/manage/bank-reports', 'Bank reports'],
        ['/manage/runs', 'Payout runs'],
        ['/manage/partners', 'Partners'],
        [`/manage/partners/${partnerId}`, 'Bo Berg'],
      ] as const) {
        await viewer.goto(`${server.url}${path}`);
        await viewer.getByText(ready, { exact: true }).first().waitFor();
        await viewer.waitForLoadState('networkidle');
        expect({ path, buttons: await actionButtons() }).toEqual({ path, buttons: [] });
      }
      expect(await viewer.getByRole('link', { name: 'Add a partner' }).count()).toBe(0);
      expect(await nav(viewer, 'Webhooks').count()).toBe(0);
      await viewer.goto(`${server.url}/manage/payouts/${payoutId}`);
      await viewer.getByRole('cell', { name: 'Annual bonus', exact: true }).waitFor();
      await check(viewer, 'payout-viewer');

      // ---------------------------------------------------------------- admin: webhooks
      await nav(admin, 'Webhooks').click();
      await admin.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
      await admin.getByText('No webhook endpoints yet.').waitFor();
      await admin.getByLabel('URL (https)').fill(hookUrl);
      await admin.getByLabel('Description (optional)').fill('Our CRM');
      await admin.getByLabel('Event types (optional)').fill('payout.* webhook.test');
      await admin.getByRole('button', { name: 'Add endpoint' }).click();
      const secret = admin.locator('.secret code');
      await secret.waitFor();
      const firstSecret = await secret.innerText();
      expect(firstSecret).toMatch(/^whsec_/);
      await admin.getByRole('link', { name: hookUrl }).waitFor();
      await check(admin, 'webhooks');
      await admin.getByRole('link', { name: hookUrl }).click();
      await admin.getByRole('heading', { level: 1, name: `Webhook ${hookUrl}` }).waitFor();
      await admin.getByRole('button', { name: 'Send a test event' }).click();
      await admin.getByRole('status').filter({ hasText: 'Test sent' }).getByText('Delivered').waitFor();
      expect(received.some((body) => body.includes('webhook.test'))).toBe(true);
      await admin
        .getByRole('cell', { name: /^webhook\.test/ })
        .first()
        .waitFor();
      await admin.getByLabel('Status').selectOption('failed');
      await admin.getByRole('button', { name: 'Filter' }).click();
      await admin.getByText('No deliveries match these filters.').waitFor();
      await admin.getByLabel('Status').selectOption('delivered');
      await admin.getByRole('button', { name: 'Filter' }).click();
      await admin
        .getByRole('cell', { name: /^webhook\.test/ })
        .first()
        .waitFor();
      await admin.getByRole('button', { name: 'Disable endpoint' }).click();
      await admin.locator('.facts').getByText('Disabled').waitFor();
      await admin.getByRole('button', { name: 'Enable endpoint' }).click();
      await admin.locator('.facts').getByText('Enabled').waitFor();
      await admin.getByRole('button', { name: 'Rotate secret' }).click();
      await admin.getByRole('dialog').getByRole('button', { name: 'Rotate' }).click();
      await admin.getByText('Old secret valid until').waitFor();
      const rotated = await admin.locator('.secret code').innerText();
      expect(rotated).toMatch(/^whsec_/);
      expect(rotated).not.toBe(firstSecret);
      await admin.getByLabel('Every kept event since').fill('2020-01-01T00:00');
      await admin.getByRole('button', { name: 'Replay' }).click();
      await admin.getByText(/events queued for replay/).waitFor();
      await check(admin, 'webhook-endpoint');

      // ---------------------------------------------------------------- the API agrees
      const payout = await api(`/payouts/${payoutId}`, adminToken);
      expect(payout.body).toMatchObject({
        status: 'ready',
        requirements: { invoiceMode: 'self_billed' },
        approval: { by: 'finance-local', note: 'Bonus agreed in the contract' },
      });
      expect(payout.body.hold).toBeUndefined();
      expect(payout.body.selfBilledInvoice.number).toBeTruthy();
      const holds = await api(`/holds?targetId=${payoutId}`, adminToken);
      expect(holds.body.items).toMatchObject([
        {
          reasonCode: 'PAID_TRAFFIC',
          status: 'released',
          partnerMessage: 'We are checking last month’s traffic.',
          createdBy: { id: 'program-manager-local' },
          resolvedBy: { id: 'finance-local' },
          resolutionNote: 'Traffic checked: organic',
        },
      ]);
      const hooks = await api('/webhook-endpoints', adminToken);
      expect(hooks.body.items).toMatchObject([
        { url: hookUrl, description: 'Our CRM', eventTypes: ['payout.*', 'webhook.test'], enabled: true },
      ]);
      const partnerRecord = await api(`/partners/${partnerId}`, adminToken);
      expect(partnerRecord.body).toMatchObject({
        billing: { legalName: 'Bo Berg Media', taxRegime: 'outside_scope' },
        address: { line1: 'Keizersgracht 2', city: 'Amsterdam', country: 'NL' },
        selfBilling: { enabled: true, active: true },
      });
      expect(violations).toEqual([]);
    } finally {
      receiver.close();
    }
  });
});
