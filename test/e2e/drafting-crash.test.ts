/**
 * A `SIGKILL` of `npm start` in the middle of a drafting run (issue 13's injected fault), tried as a
 * user would: 200 partners × 15 accepted rewards, `POST /payout-runs`, the whole server (its process
 * group) killed outright during the run, `npm start` again on the same DATA_DIR, a run, a wait past the
 * leases, another run. Whatever the kill interrupted, the result is the one an uninterrupted run gives:
 * every eligible reward in exactly one payout that is not cancelled, each payout's amount and count the
 * sum of the rewards that name it, one workflow per payout.
 *
 * Nothing is mocked: the real local server in a child process, real HTTP. The lease is shortened
 * (`DRAFT_LEASE_MS`) so the test does not wait a minute for a dead run's leases to lapse.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const READY = /partner-payouts listening on (http:\/\/127\.0\.0\.1:\d+)/;
const run = promisify(execFile);

const PARTNERS = 200;
const REWARDS_PER_PARTNER = 15;
/** When to kill the server after `POST /payout-runs` starts (a run over 3,000 rewards takes a few s). */
const KILL_AFTER_MS = [900, 1700];
const LEASE_MS = 1500;

const dataDir = mkdtempSync(join(tmpdir(), 'payouts-crash-'));
const env = {
  ...process.env,
  PORT: '0',
  DATA_DIR: dataDir,
  VERBOSE: 'false',
  DRAFT_LEASE_MS: String(LEASE_MS),
};
const groups: number[] = [];
let baseUrl = '';
let managerToken = '';
let server: ChildProcess | undefined;

function startServer(): Promise<void> {
  // Its own process group, like a terminal's `npm start`: the kill below takes the whole group.
  const child = spawn(TSX, ['infra/local/main.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  server = child;
  if (child.pid !== undefined) groups.push(child.pid);
  return new Promise<void>((resolvePromise, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`server not ready after 30 s:\n${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = READY.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        baseUrl = match[1];
        resolvePromise();
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
}

async function childrenOf(pid: number): Promise<number[]> {
  const { stdout } = await run('pgrep', ['-P', String(pid)]).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter(Boolean).map(Number);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGKILL to the server process (tsx runs it in a child; dynalite runs in a child of that, and ends
 * when the server is gone); resolves once the server and its database are gone.
 */
async function killServer(): Promise<void> {
  const child = server as ChildProcess;
  const exited = new Promise<void>((resolvePromise) => child.once('exit', () => resolvePromise()));
  const [node] = await childrenOf(child.pid as number);
  const database = node ? await childrenOf(node) : [];
  process.kill(node ?? -(child.pid as number), 'SIGKILL');
  await exited;
  for (let wait = 0; wait < 100 && database.some(isAlive); wait++) await sleep(100);
  expect(database.filter(isAlive)).toEqual([]);
}

async function http(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${managerToken}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function ok(method: string, path: string, body?: unknown): Promise<any> {
  const result = await http(method, path, body);
  if (result.status >= 300)
    throw new Error(`${method} ${path} → ${result.status} ${JSON.stringify(result.body)}`);
  return result.body;
}

async function pool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T);
      }
    }),
  );
  return results;
}

async function listAll(path: string): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page: { items: any[]; nextCursor: string | null } = await ok(
      'GET',
      `${path}${separator}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

/** A drafting run to its end (one that outlasts the API's budget carries on in the drafting function). */
async function draftingRun(): Promise<void> {
  let result = await ok('POST', '/payout-runs', {});
  while (result.status !== 'completed') {
    await sleep(250);
    result = await ok('GET', `/payout-runs/${result.id}`);
  }
}

/** 200 partners × 15 accepted rewards of random amounts; returns the partner ids. */
async function seed(attempt: number): Promise<string[]> {
  const partners = await pool(
    Array.from({ length: PARTNERS }, (_, i) => i),
    16,
    async (i) => {
      const partner = await ok('POST', '/partners', {
        name: `Crash ${attempt}-${i}`,
        email: `crash-${attempt}-${i}@example.com`,
        country: 'DE',
      });
      return partner.id as string;
    },
  );
  const rewards = partners.flatMap((partnerId) =>
    Array.from({ length: REWARDS_PER_PARTNER }, (_, i) => ({ partnerId, i })),
  );
  await pool(rewards, 24, ({ partnerId, i }) =>
    ok('POST', '/rewards', {
      partnerId,
      amount: 100 + ((i * 7919) % 5000),
      currency: 'EUR',
      status: 'accepted',
    }),
  );
  return partners;
}

/** Every reward of these partners in exactly one live payout, and every payout's totals its rewards'. */
async function verify(partners: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  await pool(partners, 8, async (partnerId) => {
    const [rewards, payouts] = await Promise.all([
      listAll(`/rewards?partnerId=${partnerId}`),
      listAll(`/payouts?partnerId=${partnerId}`),
    ]);
    if (rewards.length !== REWARDS_PER_PARTNER) problems.push(`${partnerId}: ${rewards.length} rewards`);
    const live = new Map(payouts.filter((p) => p.status !== 'cancelled').map((p) => [p.id, p]));
    for (const reward of rewards) {
      if (!reward.payoutId) {
        const untouched = reward.updatedAt === reward.createdAt ? ' (untouched)' : '';
        problems.push(`${partnerId}: reward ${reward.id} in no payout${untouched}`);
      } else if (!live.has(reward.payoutId)) {
        problems.push(`${partnerId}: reward ${reward.id} names ${reward.payoutId}, not a live payout`);
      }
    }
    if (live.size !== 1) problems.push(`${partnerId}: ${live.size} live payouts (one draft expected)`);
    for (const payout of live.values()) {
      const mine = rewards.filter((reward) => reward.payoutId === payout.id);
      const amount = mine.reduce((sum, reward) => sum + reward.amount, 0);
      if (payout.status !== 'draft') problems.push(`${payout.id}: ${payout.status}`);
      if (payout.rewardCount !== mine.length || payout.amount !== amount) {
        problems.push(
          `${payout.id}: ${payout.rewardCount} rewards / ${payout.amount} vs its rewards' ${mine.length} / ${amount}`,
        );
      }
      const listed = await listAll(`/payouts/${payout.id}/rewards`);
      const listedIds = listed.map((reward) => reward.id).sort();
      const mineIds = mine.map((reward) => reward.id).sort();
      if (JSON.stringify(listedIds) !== JSON.stringify(mineIds)) {
        problems.push(`${payout.id}: lists ${listedIds.length} rewards, ${mineIds.length} name it`);
      }
      // The drafted entry is written once, with the payout: a second draft of one id would add one.
      const events = await listAll(`/payouts/${payout.id}/events`);
      const drafted = events.filter((event) => event.type === 'payout.drafted').length;
      if (drafted !== 1) problems.push(`${payout.id}: ${drafted} payout.drafted entries`);
    }
  });
  return problems;
}

describe('SIGKILL of npm start during a drafting run', { timeout: 240_000 }, () => {
  beforeAll(async () => {
    await startServer();
    const { stdout } = await run(TSX, ['infra/local/token-cli.ts', 'manager'], { cwd: ROOT, env });
    managerToken = stdout.trim();
  }, 60_000);

  afterAll(() => {
    for (const group of groups) {
      try {
        process.kill(-group, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('converges after a restart: every eligible reward in exactly one payout, totals equal their rewards', async () => {
    const report: string[] = [];
    for (const [attempt, killAfter] of KILL_AFTER_MS.entries()) {
      const partners = await seed(attempt);
      // The run is interrupted: its response never comes.
      const interrupted = http('POST', '/payout-runs', {}).catch(() => undefined);
      await sleep(killAfter);
      await killServer();
      await interrupted;
      await startServer();
      await draftingRun();
      await sleep(LEASE_MS * 2 + 500);
      await draftingRun();
      await sleep(LEASE_MS * 2 + 500);
      await draftingRun();
      const problems = await verify(partners);
      report.push(`kill at ${killAfter} ms: ${problems.length} problem(s)`, ...problems.slice(0, 20));
    }
    expect(report.filter((line) => !line.startsWith('kill at'))).toEqual([]);
  });
});
