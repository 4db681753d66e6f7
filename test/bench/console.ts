/**
 * `npm run bench:console`: builds the console, measures what a browser downloads (all JavaScript and
 * CSS, gzipped), then times, in the system's Chromium on loopback against `npm start`'s server, the
 * first load of the manager's home (fresh browser context: nothing cached; navigation start → the
 * summary rendered) and the payout detail of a payout with 500 rewards (→ all 500 rows rendered).
 * Median of 5 each. Prints the figures, then one JSON line.
 * Targets: JS ≤ 150 KB gzipped, first load ≤ 1,000 ms, payout detail ≤ 1,000 ms.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { buildConsole, CONSOLE_DIST } from '../../infra/local/console-build.ts';
import { launchBrowser, startServer } from '../e2e/browser.ts';

const RUNS = 5;
const REWARDS = 500;

function gzKb(extension: string): number {
  const dir = join(CONSOLE_DIST, 'assets');
  const bytes = readdirSync(dir)
    .filter((file) => file.endsWith(extension))
    .reduce((sum, file) => sum + gzipSync(readFileSync(join(dir, file)), { level: 9 }).length, 0);
  return Math.round((bytes / 1024) * 10) / 10;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN);
};

await buildConsole();
const jsGzipKb = gzKb('.js');
const cssGzipKb = gzKb('.css');

const server = await startServer();
let browser: Browser | undefined;
try {
  const signIn = async (role: string) => {
    const response = await fetch(`${server.url}/local/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ role }),
    });
    return ((await response.json()) as { token: string }).token;
  };
  const token = await signIn('manager');
  const call = async (path: string, body: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { id: string };
  };
  const partner = await call('/partners', { name: 'Bench Partner', email: 'bench@example.com' });
  for (let start = 0; start < REWARDS; start += 10) {
    await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        call('/rewards', {
          partnerId: partner.id,
          amount: 1000 + start + index,
          currency: 'EUR',
          status: 'accepted',
          description: `Commission ${start + index + 1}`,
        }),
      ),
    );
  }
  const payout = await call('/payouts', { partnerId: partner.id, currency: 'EUR' });

  browser = await launchBrowser();
  const session = JSON.stringify({
    token,
    role: 'manager',
    name: 'Manager',
    expiresAt: Date.now() + 3_600_000,
  });
  const timed = async (path: string, ready: string): Promise<number> => {
    // bypassCSP: waitForFunction evaluates its predicate string in the page, which the CSP forbids.
    const context = await (browser as Browser).newContext({
      viewport: { width: 1440, height: 900 },
      bypassCSP: true,
    });
    await context.addInitScript(
      `sessionStorage.setItem('partner-payouts.session', ${JSON.stringify(session)})`,
    );
    const page = await context.newPage();
    await page.goto(`${server.url}${path}`, { waitUntil: 'commit' });
    await page.waitForFunction(ready, undefined, { timeout: 30_000, polling: 'raf' });
    const ms = await page.evaluate<number>('performance.now()');
    await context.close();
    return ms;
  };
  // One warm-up of the server's code paths (not of the browser: each run is a fresh context).
  await timed('/manage', "document.querySelector('.cards, .empty') !== null");
  const firstLoad: number[] = [];
  const detail: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    firstLoad.push(await timed('/manage', "document.querySelector('.cards, .empty') !== null"));
    detail.push(
      await timed(
        `/manage/payouts/${payout.id}`,
        `document.querySelectorAll('table.rewards tbody tr').length === ${REWARDS}`,
      ),
    );
  }
  const result = {
    bench: 'console',
    jsGzipKb,
    cssGzipKb,
    firstLoadMs: median(firstLoad),
    payoutDetailMs: median(detail),
  };
  console.log(`JavaScript ${jsGzipKb} KB gz (≤ 150), CSS ${cssGzipKb} KB gz`);
  console.log(
    `first load of the home: ${firstLoad.map(Math.round).join(', ')} ms → median ${result.firstLoadMs} (≤ 1000)`,
  );
  console.log(
    `payout detail, ${REWARDS} rewards: ${detail.map(Math.round).join(', ')} ms → median ${result.payoutDetailMs} (≤ 1000)`,
  );
  console.log(JSON.stringify(result));
} finally {
  await browser?.close();
  await server.stop();
}
