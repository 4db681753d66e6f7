/** Benchmark helpers: dynalite in its own process (so RSS measures our code), request counting. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface ExternalDynalite {
  endpoint: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** dynalite's CLI in a child process, in memory (`node node_modules/dynalite/cli.js`, not npx). */
export async function startExternalDynalite(nodeOptions: string[] = []): Promise<ExternalDynalite> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      // With options (e.g. --cpu-prof), SIGTERM ends it as a normal exit, so a profile gets written.
      ...(nodeOptions.length > 0
        ? [...nodeOptions, '--import', 'data:text/javascript,process.on("SIGTERM",()=>process.exit(0))']
        : []),
      'node_modules/dynalite/cli.js',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--createTableMs',
      '0',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`dynalite exited with ${code}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const WRITES = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);
const READS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand']);

export interface RequestCounter {
  writes: number;
  reads: number;
  byCommand: Record<string, number>;
  reset(): void;
}

/** Counts DynamoDB requests (each HTTP request once, retries included) with an SDK middleware. */
export function countRequests(client: DynamoDBDocumentClient): RequestCounter {
  const counter: RequestCounter = {
    writes: 0,
    reads: 0,
    byCommand: {},
    reset() {
      counter.writes = 0;
      counter.reads = 0;
      counter.byCommand = {};
    },
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName);
      counter.byCommand[name] = (counter.byCommand[name] ?? 0) + 1;
      if (WRITES.has(name)) counter.writes++;
      else if (READS.has(name)) counter.reads++;
      return next(args);
    },
    { step: 'finalizeRequest', name: 'benchRequestCounter' },
  );
  return counter;
}

/**
 * Peak resident set of this process, in MB: its own `VmHWM` (a child's `resourceUsage().maxRSS`
 * starts at its parent's size, so that one only where /proc is missing).
 */
export function peakRssMb(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Math.round((Number(match[1]) / 1024) * 10) / 10;
  } catch {
    // not Linux
  }
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}
