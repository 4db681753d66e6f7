/**
 * `npm start` binds no fixed port: every emulator takes a free port (or the configured one), two local
 * servers with different PORT and DATA_DIR run side by side on separate data, a port that is taken
 * ends the start with one clear line and a non-zero exit, not a stack trace, and a server killed
 * outright leaves no database process behind to hold its data folder.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const READY = /partner-payouts listening on (http:\/\/127\.0\.0\.1:\d+)/;
const run = promisify(execFile);

const dataDirs: string[] = [];
/** Process groups of every server started here: tsx runs the server in a child of its own. */
const groups: number[] = [];

function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'payouts-ports-'));
  dataDirs.push(dir);
  return dir;
}

interface Outcome {
  child: ChildProcess;
  /** The server's URL once ready; undefined when it exited first. */
  url?: string;
  exitCode?: number | null;
  output: string;
}

/** Starts `infra/local/main.ts`; resolves when it is ready or has exited. */
function start(env: Record<string, string>): Promise<Outcome> {
  const child = spawn(TSX, ['infra/local/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, VERBOSE: 'false', CONSOLE_BUILD: 'skip', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid !== undefined) groups.push(child.pid);
  return new Promise<Outcome>((resolvePromise, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no outcome after 30 s:\n${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = READY.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolvePromise({ child, url: match[1], output });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setTimeout(() => resolvePromise({ child, exitCode: code, output }), 100);
    });
  });
}

async function managerToken(dataDir: string): Promise<string> {
  const { stdout } = await run(TSX, ['infra/local/token-cli.ts', 'manager'], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir },
  });
  return stdout.trim();
}

/** The child processes of a process (Linux `pgrep -P`). */
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

function holdPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  return new Promise((resolvePromise) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolvePromise({ server, port: typeof address === 'object' && address ? address.port : 0 });
    }),
  );
}

function expectOneLineRefusal(outcome: Outcome, what: string, port: number): void {
  expect(outcome.url, outcome.output).toBeUndefined();
  expect(outcome.exitCode).not.toBe(0);
  const lines = outcome.output.split('\n').filter((line) => line.trim() !== '');
  expect(lines).toEqual([
    `partner-payouts cannot start: ${what}: port ${port} on 127.0.0.1 is already in use (choose another one, or 0 for any free port)`,
  ]);
}

afterAll(() => {
  for (const group of groups) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

describe('npm start and its ports', { timeout: 90_000 }, () => {
  it('runs two servers side by side, each on its own data', async () => {
    const [dirA, dirB] = [newDataDir(), newDataDir()];
    const [a, b] = await Promise.all([
      start({ PORT: '0', DATA_DIR: dirA }),
      start({ PORT: '0', DATA_DIR: dirB }),
    ]);
    expect(a.url, a.output).toBeDefined();
    expect(b.url, b.output).toBeDefined();
    expect(a.url).not.toBe(b.url);

    const tokenA = await managerToken(dirA);
    const created = await fetch(`${a.url}/partners`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenA}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Ports Test',
        email: 'ports@example.com',
        payoutMethod: { type: 'paypal', email: 'ports@example.com' },
      }),
    });
    expect(created.status).toBe(201);
    const partner = (await created.json()) as { id: string };
    const readBack = await fetch(`${a.url}/partners/${partner.id}`, {
      headers: { authorization: `Bearer ${tokenA}` },
    });
    expect(readBack.status).toBe(200);
    // The other server has its own database (and its own token key).
    const tokenB = await managerToken(dirB);
    const elsewhere = await fetch(`${b.url}/partners/${partner.id}`, {
      headers: { authorization: `Bearer ${tokenB}` },
    });
    expect(elsewhere.status).toBe(404);

    // A third server asking for the first one's port: one line, non-zero exit.
    const port = Number(new URL(a.url as string).port);
    const third = await start({ PORT: String(port), DATA_DIR: newDataDir() });
    expectOneLineRefusal(third, 'the API', port);
    // …and the first server still answers.
    expect((await fetch(`${a.url}/health`)).status).toBe(200);
  });

  it('takes its database process down with it when killed (SIGKILL), and restarts on the same data', async () => {
    const dir = newDataDir();
    const first = await start({ PORT: '0', DATA_DIR: dir });
    expect(first.url, first.output).toBeDefined();
    const token = await managerToken(dir);
    const created = await fetch(`${first.url}/partners`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Crash Test',
        email: 'crash@example.com',
        payoutMethod: { type: 'paypal', email: 'crash@example.com' },
      }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    // tsx runs the server in a child process, which runs dynalite in one of its own.
    const [server] = await childrenOf(first.child.pid as number);
    const [database] = await childrenOf(server as number);
    expect(database).toBeDefined();
    process.kill(server as number, 'SIGKILL');
    for (let wait = 0; wait < 50 && isAlive(database as number); wait++)
      await new Promise((r) => setTimeout(r, 100));
    expect(isAlive(database as number)).toBe(false);

    const second = await start({ PORT: '0', DATA_DIR: dir });
    expect(second.url, second.output).toBeDefined();
    const readBack = await fetch(`${second.url}/partners/${id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(readBack.status).toBe(200);
  });

  it('refuses a configured emulator port that is taken, in one line', async () => {
    const held = await holdPort();
    try {
      const dynamo = await start({
        PORT: '0',
        DATA_DIR: newDataDir(),
        LOCAL_DYNAMODB_PORT: String(held.port),
      });
      expectOneLineRefusal(dynamo, 'dynalite', held.port);
      const s3 = await start({ PORT: '0', DATA_DIR: newDataDir(), LOCAL_S3_PORT: String(held.port) });
      expectOneLineRefusal(s3, 's3rver', held.port);
    } finally {
      held.server.close();
    }
  });
});
