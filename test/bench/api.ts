/**
 * `npm run bench:api`: the local backend in this process; autocannon (32 connections, ~20 s) in a
 * child process on `GET /payouts/{id}` and `GET /partner/payouts`; then the baseline: the same number
 * of raw DynamoDB GetItem calls on the same dynalite at the same concurrency, also from a child.
 * Prints its figures and one JSON line last.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const DURATION = Number(process.env.BENCH_DURATION ?? 20);
const [mode, ...args] = process.argv.slice(2);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function load(url: string, managerToken: string, partnerToken: string, payoutId: string) {
  // @ts-expect-error autocannon ships no types
  const { default: autocannon } = (await import('autocannon')) as unknown as {
    default: (options: object) => Promise<{
      requests: { average: number; total: number };
      latency: { p50: number; p99: number };
      errors: number;
      timeouts: number;
      non2xx: number;
      duration: number;
    }>;
  };
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [
      { method: 'GET', path: `/payouts/${payoutId}`, headers: { authorization: `Bearer ${managerToken}` } },
      { method: 'GET', path: '/partner/payouts', headers: { authorization: `Bearer ${partnerToken}` } },
    ],
  });
  console.log(
    JSON.stringify({
      total: result.requests.total,
      duration: result.duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors + result.timeouts + result.non2xx,
    }),
  );
}

async function baseline(endpoint: string, total: number, key: string) {
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { DynamoDBDocumentClient, GetCommand } = await import('@aws-sdk/lib-dynamodb');
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    }),
  );
  const latencies: number[] = [];
  let sent = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (sent < total) {
        sent++;
        const began = performance.now();
        await client.send(new GetCommand({ TableName: 'partner-payouts', Key: { PK: key, SK: 'PAYOUT' } }));
        latencies.push(performance.now() - began);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    JSON.stringify({ total, seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) }),
  );
}

type Figures = Record<string, number> & {
  total: number;
  duration: number;
  seconds: number;
  p50: number;
  p99: number;
  errors: number;
};

async function childAsync(step: string, ...rest: string[]): Promise<Figures> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'test/bench/api.ts', step, ...rest], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    proc.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${step} failed`));
      else resolve(JSON.parse(output.trim().split('\n').at(-1) ?? '{}'));
    });
  });
}

if (mode === 'load') await load(args[0] ?? '', args[1] ?? '', args[2] ?? '', args[3] ?? '');
else if (mode === 'baseline') await baseline(args[0] ?? '', Number(args[1]), args[2] ?? '');
else {
  const dataDir = mkdtempSync(join(tmpdir(), 'payouts-bench-api-'));
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  const { startLocalBackend } = await import('../../infra/local/runtime.ts');
  const { issueToken } = await import('../../infra/local/tokens.ts');
  const backend = await startLocalBackend({ dataDir, port: 0 });
  try {
    const manager = await issueToken(dataDir, { role: 'manager' });
    const json = { 'content-type': 'application/json', authorization: `Bearer ${manager}` };
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${backend.url}${path}`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as { id: string };
    };
    // A partner with 25 non-draft payouts (one page) and one payout to read by id.
    const partner = await post('/partners', { name: 'Bench Partner', email: 'bench@example.com' });
    let payoutId = '';
    for (let index = 0; index < 25; index++) {
      await post('/rewards', {
        partnerId: partner.id,
        amount: 1000 + index,
        currency: 'EUR',
        status: 'accepted',
      });
      const payout = await post('/payouts', { partnerId: partner.id, currency: 'EUR' });
      await post(`/payouts/${payout.id}/validate`, {});
      payoutId = payout.id;
    }
    const partnerToken = await issueToken(dataDir, { role: 'partner', partnerId: partner.id });
    const loadResult = await childAsync('load', backend.url, manager, partnerToken, payoutId);
    const rps = loadResult.total / loadResult.duration;
    console.log(
      `API: ${loadResult.total} requests in ${loadResult.duration} s → ${rps.toFixed(0)} rps, p50 ${loadResult.p50} ms, p99 ${loadResult.p99} ms, errors ${loadResult.errors}`,
    );
    const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB ?? '';
    const base = await childAsync('baseline', endpoint, String(loadResult.total), `PAYOUT#${payoutId}`);
    console.log(
      `baseline: ${base.total} GetItem on the same dynalite at concurrency ${CONNECTIONS}: p50 ${base.p50.toFixed(1)} ms, p99 ${base.p99.toFixed(1)} ms`,
    );
    console.log(
      JSON.stringify({
        bench: 'api',
        connections: CONNECTIONS,
        rps: Math.round(rps),
        p50Ms: loadResult.p50,
        p99Ms: loadResult.p99,
        baselineP99Ms: Math.round(base.p99 * 10) / 10,
        p99Ratio: Math.round((loadResult.p99 / base.p99) * 100) / 100,
        errors: loadResult.errors,
      }),
    );
  } finally {
    await backend.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
