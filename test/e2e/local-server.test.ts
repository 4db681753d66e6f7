/**
 * `npm start` end to end: the real local server in a child process, real HTTP, real tokens from the
 * token CLI, and data that survives a restart on the same DATA_DIR.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const READY = /partner-payouts listening on (http:\/\/127\.0\.0\.1:\d+)/;
const run = promisify(execFile);

const dataDir = mkdtempSync(join(tmpdir(), 'payouts-e2e-'));
const env = { ...process.env, PORT: '0', DATA_DIR: dataDir, VERBOSE: 'false', CONSOLE_BUILD: 'skip' };
let server: ChildProcess | undefined;
/** Process groups of every server started here: tsx runs the server in a child of its own. */
const groups: number[] = [];
let baseUrl = '';

interface Started {
  child: ChildProcess;
  url: string;
}

function startServer(): Promise<Started> {
  const child = spawn(TSX, ['infra/local/main.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  server = child;
  if (child.pid !== undefined) groups.push(child.pid);
  return new Promise<Started>((resolvePromise, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`server not ready after 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = READY.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolvePromise({ child, url: match[1] });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
}

/** SIGTERM to tsx, which passes it on to the server; resolves with the exit code. */
function stopServer(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolvePromise) => {
    child.once('exit', (code) => resolvePromise(code));
    child.kill('SIGTERM');
  });
}

async function token(...args: string[]): Promise<string> {
  const { stdout } = await run(TSX, ['infra/local/token-cli.ts', ...args], { cwd: ROOT, env });
  const lines = stdout.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  const jwt = lines[0] as string;
  expect(jwt).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  return jwt;
}

interface HttpResult {
  status: number;
  contentType: string | null;
  body: any;
}

async function http(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined || options.rawBody !== undefined)
    headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: options.rawBody ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: text ? JSON.parse(text) : undefined,
  };
}

function expectProblem(result: HttpResult, status: number, code: string): void {
  expect({ status: result.status, code: result.body?.code }).toEqual({ status, code });
  expect(result.contentType).toMatch(/^application\/problem\+json/);
  expect(result.body).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    code,
    detail: expect.any(String),
  });
}

describe('the local server (npm start)', { timeout: 30_000 }, () => {
  let managerToken = '';

  beforeAll(async () => {
    const started = await startServer();
    baseUrl = started.url;
    managerToken = await token('manager');
  }, 30_000);

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

  it('serves the API and keeps its data across a restart', async () => {
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);

    const health = await http('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });

    const email = `e2e+${randomUUID()}@example.com`;
    const created = await http('POST', '/partners', {
      token: managerToken,
      body: { name: 'Ada Lovelace', email, country: 'GB' },
    });
    expect(created.status).toBe(201);
    expect(created.contentType).toMatch(/^application\/json/);
    const partnerId: string = created.body.id;
    expect(partnerId).toMatch(/^pt_[0-9A-HJKMNP-TV-Z]{26}$/);

    const partnerToken = await token('partner', partnerId);
    expectProblem(await http('GET', '/partners', { token: partnerToken }), 403, 'forbidden');
    expectProblem(
      await http('POST', '/partners', { token: partnerToken, body: { name: 'X', email: 'x@example.com' } }),
      403,
      'forbidden',
    );
    const profile = await http('GET', '/partner/profile', { token: partnerToken });
    expect(profile.status).toBe(200);
    expect(profile.body.id).toBe(partnerId);

    expectProblem(await http('GET', '/partners'), 401, 'unauthorized');
    expectProblem(await http('GET', '/partners', { token: `${managerToken}x` }), 401, 'unauthorized');
    expectProblem(await http('GET', '/partners', { token: 'not.a.jwt' }), 401, 'unauthorized');

    expectProblem(
      await http('POST', '/partners', { token: managerToken, rawBody: '{"name": "Ada", ' }),
      400,
      'validation_failed',
    );
    expectProblem(
      await http('GET', `/partners/pt_${'0'.repeat(26)}`, { token: managerToken }),
      404,
      'not_found',
    );
    expectProblem(await http('GET', '/no/such/route', { token: managerToken }), 404, 'not_found');

    const before = await http('GET', `/partners/${partnerId}`, { token: managerToken });
    expect(before.status).toBe(200);

    // Restart on the same DATA_DIR.
    const first = server as ChildProcess;
    expect(await stopServer(first)).toBe(0);
    const restarted = await startServer();
    baseUrl = restarted.url;

    const after = await http('GET', `/partners/${partnerId}`, { token: managerToken });
    expect(after.status).toBe(200);
    expect(after.body).toEqual(before.body);
    expect(after.body).toMatchObject({ id: partnerId, name: 'Ada Lovelace', email, country: 'GB' });
    // The signing key survived too: the partner token minted before the restart still works.
    const profileAfter = await http('GET', '/partner/profile', { token: partnerToken });
    expect(profileAfter.status).toBe(200);
    expect(profileAfter.body.id).toBe(partnerId);
  });
});
