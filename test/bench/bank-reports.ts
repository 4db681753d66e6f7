/**
 * `npm run bench:bank-reports`: 10,000 exported payouts, one camt.054 with 10,000 booked entries.
 *
 * The parent starts dynalite (a process of its own, whose CPU time the child reads from /proc),
 * s3rver and the local event bus, seeds 10,000 partners and 10,000 ready payouts (items shaped as the
 * API writes them, as `bench:exports` seeds them), exports them with the real `createExport` (SEPA:
 * each payout moves to `processing` under its EndToEndId), builds a camt.054 booking every payout by
 * the EndToEndId the file wrote (with its exact amount) and uploads it as a bank report. It then
 * bundles ./bank-reports-child.ts as CDK bundles a function and runs the bundle on plain Node: the
 * child applies the report with the real use case (`processUploadedReport`: streaming parse,
 * matching, settlement, line pages, counts, follow-ups) and, in the same run, the floor: as many
 * conditional UpdateItems on the same table (one per payout item) at the same concurrency. The
 * child's peak RSS is the apply's alone, with no TypeScript loader in it. Beside the wall-clock
 * ratio (which moves with the machine's load) it reports CPU ms per line of the child and of
 * dynalite in each phase, which load barely moves. The parent then verifies that every payout ended
 * paid exactly once (one `payout.paid` in its history) and that the report counts 10,000 applied
 * lines.
 *
 * Environment: `BENCH_CPU_PROF=<dir>` V8 CPU profiles of the child and of dynalite (the child prints
 * its phases' windows on the profiles' clock); `BENCH_BUNDLE_DIR=<dir>` keeps the child's bundle.
 *
 * Prints one JSON object as its last line:
 * {"bench":"bank-reports","lines":…,"linesPerSecond":…,"floorPerSecond":…,"ratio":…,"peakRssMb":…,"verified":…}
 *
 *   npm run bench:bank-reports [-- --lines 10000]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { createTables, LOCAL_CREDENTIALS, LOCAL_REGION, startS3rver } from '../../infra/local/emulators.ts';
import { startLocalEventBridge } from '../../infra/local/eventbridge.ts';
import { configureEnvironment, LOCAL_NAMES } from '../../infra/local/runtime.ts';
import type { NewPayoutItem } from '../../shared/adapters/payout-store.ts';
import type { Partner } from '../../shared/domain/schemas.ts';
import { bundleAsCdk } from '../support/bundle.ts';
import { camt } from '../support/iso20022.ts';
import type { ChildResult } from './bank-reports-child.ts';
import { startExternalDynalite } from './support.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const MIN_RATIO = 0.7;
const MAX_RSS_MB = 256;

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function documentClient(endpoint: string, maxAttempts = 10) {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts }),
    { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false } },
  );
}

// ------------------------------------------------------------------ seeding (parent)

async function seed(endpoint: string, count: number): Promise<Map<string, number>> {
  const { newId } = await import('../../shared/domain/ids.ts');
  const { keys } = await import('../../shared/adapters/table.ts');
  const { newEvent, newPayoutRecord } = await import('../../shared/adapters/payout-store.ts');
  const { historyKeys } = await import('../../shared/adapters/payout-history.ts');
  const client = documentClient(endpoint);
  const base = Date.now() - 86_400_000;
  const manager = { role: 'manager' as const, id: 'bench-manager' };
  const items: Record<string, unknown>[] = [];
  const amounts = new Map<string, number>();
  for (let index = 0; index < count; index++) {
    const at = new Date(base + index).toISOString();
    const partner: Partner = {
      id: newId('partner', base + index),
      name: `Partner ${index}`,
      email: `partner${index}@example.com`,
      payoutMethod: { type: 'sepa', accountHolder: `Partner ${index}`, iban: 'DE89370400440532013000' },
      createdAt: at,
      updatedAt: at,
    };
    items.push({
      ...keys.partner(partner.id),
      type: 'partner',
      GSI2PK: 'PARTNERS',
      GSI2SK: `${at}#${partner.id}`,
      ...partner,
    });
    const payout: NewPayoutItem = {
      id: newId('payout', base + index),
      partnerId: partner.id,
      currency: 'EUR',
      status: 'ready',
      amount: 1 + ((index * 7_919) % 5_000_000),
      rewardCount: 1,
      requirements: { invoice: false, rewardReview: false },
      createdAt: at,
      updatedAt: at,
      validatedAt: at,
      partnerValidatedAt: at,
      version: 3,
      events: [
        newEvent('payout.drafted', manager, at, { to: 'draft' }),
        newEvent('payout.validated', manager, at, { from: 'draft', to: 'pending' }),
        newEvent('payout.partner_validated', { role: 'partner', id: partner.id }, at, {
          from: 'pending',
          to: 'ready',
        }),
      ],
      memberCount: 0,
    };
    amounts.set(payout.id, payout.amount);
    // As the API leaves it once its history is flushed: the entries as items, the outbox empty.
    items.push({ ...newPayoutRecord(payout), flushed: payout.events.length, outbox: [] });
    payout.events.forEach((event, seq) => {
      items.push({ ...historyKeys.entry(payout.id, seq + 1), type: 'history', seq: seq + 1, event });
    });
  }
  const batches: Record<string, unknown>[][] = [];
  for (let start = 0; start < items.length; start += 25) batches.push(items.slice(start, start + 25));
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let batch = batches[next++]; batch; batch = batches[next++]) {
        let requests = batch.map((Item) => ({ PutRequest: { Item } }));
        while (requests.length > 0) {
          const result = await client.send(
            new BatchWriteCommand({ RequestItems: { [LOCAL_NAMES.table]: requests } }),
          );
          requests = (result.UnprocessedItems?.[LOCAL_NAMES.table] ?? []) as typeof requests;
        }
      }
    }),
  );
  client.destroy();
  return amounts;
}

/** Exports every ready payout (SEPA) and reads the EndToEndId each got from the file itself. */
async function exportAll(s3Endpoint: string, amounts: Map<string, number>): Promise<Map<string, string>> {
  const { createExport } = await import('../../shared/usecases/exports.ts');
  const created = await createExport({ format: 'sepa' }, { role: 'manager', id: 'bench-manager' });
  if (created.payoutCount !== amounts.size)
    throw new Error(`exported ${created.payoutCount}, not ${amounts.size}`);
  const file = created.files[0];
  if (!file) throw new Error('no export file');
  const text = await (
    await fetch(`${s3Endpoint}/${LOCAL_NAMES.exportBucket}/exports/${created.id}/${file.fileName}`)
  ).text();
  const byPrefix = new Map([...amounts.keys()].map((id) => [id.replace('_', '-'), id]));
  const endToEnd = new Map<string, string>();
  for (const [, id = ''] of text.matchAll(/<EndToEndId>([^<]+)<\/EndToEndId>/g)) {
    const payoutId = byPrefix.get(id.slice(0, 29));
    if (payoutId) endToEnd.set(payoutId, id);
  }
  if (endToEnd.size !== amounts.size) throw new Error(`the file names ${endToEnd.size} payouts`);
  return endToEnd;
}

const decimal = (minor: number) => `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;

/** A camt.054 with one booked debit entry per payout, and its upload as a bank report. */
async function uploadReport(
  s3Endpoint: string,
  endToEnd: Map<string, string>,
  amounts: Map<string, number>,
): Promise<{ key: string; id: string; bytes: number }> {
  const xml = camt({
    messageId: 'BENCH-CAMT-1',
    entries: [...endToEnd].map(([payoutId, id], index) => ({
      amount: decimal(amounts.get(payoutId) ?? 0),
      creditDebit: 'DBIT' as const,
      acctSvcrRef: `BOOK-${index}`,
      txs: [{ endToEndId: id, acctSvcrRef: `TX-${index}` }],
    })),
  });
  const { requestReportUpload } = await import('../../shared/usecases/bank-reports.ts');
  const grant = await requestReportUpload('bench-camt054.xml', { role: 'manager', id: 'bench-manager' });
  const key = grant.fields.key as string;
  const s3 = new S3Client({
    endpoint: s3Endpoint,
    forcePathStyle: true,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  await s3.send(
    new PutObjectCommand({
      Bucket: LOCAL_NAMES.bankReportBucket,
      Key: key,
      Body: xml,
      ContentType: 'application/xml',
    }),
  );
  s3.destroy();
  return { key, id: grant.id, bytes: Buffer.byteLength(xml) };
}

// ------------------------------------------------------------------ the apply (child)

/**
 * Bundles ./bank-reports-child.ts as CDK bundles a function and runs it on plain Node (no TypeScript
 * loader: the measured process holds what a Lambda would). `BENCH_CPU_PROF=<dir>` writes V8 CPU
 * profiles of the child (and of dynalite, started with the same flag) there.
 */
async function runChild(dataDir: string, key: string, dynalitePid: number, payoutIds: string[]) {
  const bundled = await bundleAsCdk(
    process.env.BENCH_BUNDLE_DIR ?? join(dataDir, 'bundle'),
    'bank-reports-apply',
    fileURLToPath(new URL('./bank-reports-child.ts', import.meta.url)),
  );
  const profiles = process.env.BENCH_CPU_PROF;
  const stdout = await new Promise<string>((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [
        ...(profiles ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : []),
        bundled.file,
        '--key',
        key,
        '--dynalite-pid',
        String(dynalitePid),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'], env: process.env },
    );
    let output = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    proc.once('error', reject);
    proc.once('exit', (code) =>
      code === 0
        ? resolve(output.trim().split('\n').at(-1) ?? '')
        : reject(new Error(`child exited with ${code}`)),
    );
    proc.stdin.end(payoutIds.join('\n'));
  });
  return { result: JSON.parse(stdout) as ChildResult, bundleBytes: bundled.bytes };
}

// ------------------------------------------------------------------ the parent

/** Every payout paid, exactly one `payout.paid` in its history; the report counts every line applied. */
async function verify(
  dynamodb: string,
  reportId: string,
  payoutIds: string[],
  lines: number,
): Promise<string[]> {
  const problems: string[] = [];
  const client = documentClient(dynamodb);
  const { keys } = await import('../../shared/adapters/table.ts');
  let paid = 0;
  for (let start = 0; start < payoutIds.length; start += 100) {
    let pending: Record<string, unknown>[] = payoutIds.slice(start, start + 100).map((id) => keys.payout(id));
    while (pending.length > 0) {
      const result = await client.send(
        new BatchGetCommand({
          RequestItems: {
            [LOCAL_NAMES.table]: {
              Keys: pending,
              ConsistentRead: true,
              ProjectionExpression: 'id, #status, flushed, outbox',
              ExpressionAttributeNames: { '#status': 'status' },
            },
          },
        }),
      );
      for (const item of result.Responses?.[LOCAL_NAMES.table] ?? []) {
        // History entries are their own items (EV#…) up to `flushed`, the rest still in the outbox.
        const stored = await client.send(
          new QueryCommand({
            TableName: LOCAL_NAMES.table,
            KeyConditionExpression: 'PK = :pk AND begins_with(SK, :ev)',
            ExpressionAttributeValues: { ':pk': `PAYOUT#${item.id}`, ':ev': 'EV#' },
            ConsistentRead: true,
          }),
        );
        const entries = [
          ...(stored.Items ?? []).map((entry) => entry.event as { type: string }),
          // An entry may be stored as its JSON text (the settling write's).
          ...((item.outbox ?? []) as ({ type: string } | string)[]).map((entry) =>
            typeof entry === 'string' ? (JSON.parse(entry) as { type: string }) : entry,
          ),
        ];
        const seen = new Set<string>();
        const paidEvents = entries.filter((event) => {
          const key = JSON.stringify(event);
          if (seen.has(key)) return false; // an outbox entry already flushed is listed twice
          seen.add(key);
          return event.type === 'payout.paid';
        }).length;
        if (item.status === 'paid' && paidEvents === 1) paid += 1;
        else if (problems.length < 5) problems.push(`${item.id}: ${item.status}, ${paidEvents} payout.paid`);
      }
      pending = (result.UnprocessedKeys?.[LOCAL_NAMES.table]?.Keys ?? []) as Record<string, unknown>[];
    }
  }
  if (paid !== payoutIds.length) problems.push(`${paid} of ${payoutIds.length} payouts paid exactly once`);
  const { Item } = await client
    .send(
      new BatchGetCommand({
        RequestItems: {
          [LOCAL_NAMES.table]: {
            Keys: [{ PK: `BANKREPORT#${reportId}`, SK: 'REPORT' }],
            ConsistentRead: true,
          },
        },
      }),
    )
    .then((r) => ({ Item: r.Responses?.[LOCAL_NAMES.table]?.[0] }));
  const counts = Item?.counts as { lines: number; applied: number } | undefined;
  if (
    counts?.applied !== payoutIds.length ||
    counts.lines !== payoutIds.length ||
    lines !== payoutIds.length
  ) {
    problems.push(`report counts ${JSON.stringify(counts)}`);
  }
  client.destroy();
  return problems;
}

async function parent(count: number): Promise<void> {
  console.log(
    `Bank reports: ${count} exported payouts, one camt.054 with ${count} booked entries, applied in a child process (Node ${process.version})`,
  );
  const dataDir = mkdtempSync(join(tmpdir(), 'bank-reports-bench-'));
  // dynalite in its own process (its CPU time is read from /proc), s3rver and the event bus here.
  const profiles = process.env.BENCH_CPU_PROF;
  const dynalite = await startExternalDynalite(profiles ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : []);
  const s3rver = await startS3rver({
    directory: join(dataDir, 's3'),
    buckets: [LOCAL_NAMES.exportBucket, LOCAL_NAMES.bankReportBucket],
  });
  // The apply's follow-ups publish `bank_report.applied`: to the local bus of `npm start`, with no rules.
  const bus = await startLocalEventBridge({ rules: [] });
  try {
    configureEnvironment(
      { dynamodb: dynalite.endpoint, s3: s3rver.endpoint, eventbridge: bus.endpoint },
      dataDir,
    );
    process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
    await createTables(dynalite.endpoint, LOCAL_NAMES);
    let at = performance.now();
    const amounts = await seed(dynalite.endpoint, count);
    console.log(
      `seeded ${count} partners + ${count} ready payouts in ${((performance.now() - at) / 1000).toFixed(1)} s`,
    );
    at = performance.now();
    const endToEnd = await exportAll(s3rver.endpoint, amounts);
    console.log(`exported them (SEPA, now processing) in ${((performance.now() - at) / 1000).toFixed(1)} s`);
    const report = await uploadReport(s3rver.endpoint, endToEnd, amounts);
    console.log(
      `uploaded a camt.054.001.08 of ${(report.bytes / 1024 / 1024).toFixed(1)} MiB as ${report.id}`,
    );
    const payoutIds = [...endToEnd.keys()];
    const { result, bundleBytes } = await runChild(dataDir, report.key, dynalite.process.pid ?? 0, payoutIds);
    const problems = await verify(dynalite.endpoint, report.id, payoutIds, result.lines);
    const ratio = Math.round((result.linesPerSecond / result.floorPerSecond) * 100) / 100;
    console.log(
      `applied ${result.lines} lines in ${result.seconds.toFixed(2)} s (${result.linesPerSecond}/s) at concurrency ${result.concurrency}; floor: ${result.lines} conditional UpdateItems in ${result.floorSeconds.toFixed(2)} s (${result.floorPerSecond}/s); ratio ${ratio} (target ≥ ${MIN_RATIO}); peak RSS ${result.peakRssMb} MB (${result.applyPeakRssMb} MB when the apply ended, before the floor; before: ${result.baselineRssMb} MB; target ≤ ${MAX_RSS_MB})`,
    );
    console.log(
      `DynamoDB requests while applying: ${JSON.stringify(result.requests)}; mean in flight: ${result.meanInFlight.apply} applying, ${result.meanInFlight.floor} in the floor`,
    );
    if (process.env.BENCH_CPU_PROF) console.log(`phase windows (µs): ${JSON.stringify(result.windowsUs)}`);
    const cpu = result.cpuMsPerLine;
    console.log(
      `CPU ms per line (load-independent): apply ${cpu.apply} (bundle of ${Math.round(bundleBytes / 1024)} KiB on plain Node) + dynalite ${cpu.applyDynalite}; floor ${cpu.floor} + dynalite ${cpu.floorDynalite}; load average ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')}`,
    );
    console.log(
      problems.length === 0
        ? 'verified: every payout paid exactly once, the report counts every line applied'
        : `NOT VERIFIED: ${problems.join('; ')}`,
    );
    console.log(
      JSON.stringify({
        bench: 'bank-reports',
        lines: result.lines,
        linesPerSecond: result.linesPerSecond,
        floorPerSecond: result.floorPerSecond,
        ratio,
        peakRssMb: result.peakRssMb,
        verified: problems.length === 0,
      }),
    );
  } finally {
    await bus.close();
    await s3rver.close();
    await dynalite.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await parent(Number(argument('lines') ?? 10_000));
