/**
 * The stage smoke test (test/smoke/smoke.ts) against `npm start`'s server, in `npm test`, so it
 * cannot rot: the real local server in a child process on its own PORT and DATA_DIR, real HTTP, the
 * token CLI as `--partner-token-cmd`, and every response checked against the served /openapi.json.
 * A second run fails on purpose after the export and must leave nothing payable behind.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smoke } from './smoke.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const READY = /partner-payouts listening on (http:\/\/127\.0\.0\.1:\d+)/;
const dataDir = mkdtempSync(join(tmpdir(), 'payouts-smoke-'));
const env = { ...process.env, PORT: '0', DATA_DIR: dataDir, VERBOSE: 'false', CONSOLE_BUILD: 'skip' };
const tokenCmd = `DATA_DIR=${dataDir} ${TSX} infra/local/token-cli.ts partner {partnerId}`;

let server: ChildProcess | undefined;
let url = '';
let managerToken = '';
let document: object;

async function get(path: string): Promise<any> {
  const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${managerToken}` } });
  expect(response.status, path).toBe(200);
  return response.json();
}

beforeAll(async () => {
  server = spawn(TSX, ['infra/local/main.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  url = await new Promise<string>((resolvePromise, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`server not ready after 40 s:\n${output}`)), 40_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = READY.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    };
    server?.stdout?.on('data', onData);
    server?.stderr?.on('data', onData);
    server?.once('exit', (code) => reject(new Error(`server exited (${code}):\n${output}`)));
  });
  const { stdout } = await promisify(execFile)(TSX, ['infra/local/token-cli.ts', 'manager'], {
    cwd: ROOT,
    env,
  });
  managerToken = stdout.trim();
  document = (await (await fetch(`${url}/openapi.json`)).json()) as object;
}, 60_000);

afterAll(async () => {
  if (server?.pid !== undefined && server.exitCode === null) {
    const exited = new Promise((done) => server?.once('exit', done));
    process.kill(-server.pid, 'SIGTERM');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm run smoke against the local server', () => {
  it('walks one payout to paid, every response as documented', async () => {
    const lines: string[] = [];
    const result = await smoke({
      url,
      managerToken,
      partnerTokenCmd: tokenCmd,
      contract: document,
      log: (l) => lines.push(l),
    });
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.steps.map((step) => step.name)).toEqual([
      'health',
      expect.stringMatching(/^create partner smoke-\d{8}-\d+$/),
      'partner token',
      'rewards (2, accepted)',
      'draft',
      'validate (manager)',
      'validate (partner)',
      'export this payout only',
      'mark paid',
    ]);
    expect(lines.filter((line) => /^✓ .* \d+ ms$/.test(line))).toHaveLength(9);
    const partner = await get(`/partners/${result.partnerId}`);
    expect(partner).toMatchObject({ payoutMethod: { type: 'paypal' } });
    expect(partner.name).toMatch(/^smoke-/);
    expect(partner.payoutMethod.email).toMatch(/@example\.com$/);
    expect(await get(`/payouts/${result.payoutId}`)).toMatchObject({ status: 'paid', amount: 2000 });
    expect((await get(`/exports/${result.exportId}`)).payoutIds).toEqual([result.payoutId]);
    for (const id of result.rewardIds) expect((await get(`/rewards/${id}`)).status).toBe('paid');
  }, 120_000);

  it('a run that fails after the export leaves nothing payable: export voided, payout cancelled, rewards refused', async () => {
    const result = await smoke({
      url,
      managerToken,
      partnerTokenCmd: tokenCmd,
      contract: document,
      failAfter: 'export this payout only',
      log: () => {},
    });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/failing on purpose/);
    expect(result.cleanup).toEqual([
      `done: void export ${result.exportId}`,
      `done: cancel payout ${result.payoutId}`,
      ...result.rewardIds.map((id) => `done: refuse reward ${id}`),
    ]);
    expect((await get(`/exports/${result.exportId}`)).status).toBe('voided');
    expect((await get(`/payouts/${result.payoutId}`)).status).toBe('cancelled');
    for (const id of result.rewardIds) expect((await get(`/rewards/${id}`)).status).toBe('refused');
    const ready = await get(`/payouts?status=ready&partnerId=${result.partnerId}`);
    expect(ready.items).toEqual([]);
  }, 120_000);

  it('refuses a partner token whose partner is not a smoke partner, before touching anything', async () => {
    const created = await fetch(`${url}/partners`, {
      method: 'POST',
      headers: { authorization: `Bearer ${managerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Real Partner', email: 'real@example.org', payoutMethod: null }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const { stdout } = await promisify(execFile)(TSX, ['infra/local/token-cli.ts', 'partner', id], {
      cwd: ROOT,
      env,
    });
    const result = await smoke({ url, managerToken, partnerToken: stdout.trim(), log: () => {} });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/not a smoke partner/);
    expect(result.rewardIds).toEqual([]);
    expect(result.payoutId).toBeUndefined();
  }, 60_000);
});
