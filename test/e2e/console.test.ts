/**
 * The web console in a real browser (the system's Chromium through playwright-core) against
 * `npm start`'s server: a manager adds a partner, drafts, reviews and validates with an invoice
 * required; the partner disputes then approves a reward, has a non-PDF refused, uploads a PDF and
 * validates; the manager exports, uploads the bank's camt.054 and sees the payout paid. All through the UI; the API is read
 * afterwards. axe runs on every screen (no serious or critical violation); screenshots of each
 * screen, desktop and phone, go to test-results/console/.
 */
import { mkdirSync } from 'node:fs';
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
    server = await startServer();
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
    await manager.getByLabel('Name').fill('Ana Müller');
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
    await manager.getByLabel('upload an invoice (PDF)').check();
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
});
