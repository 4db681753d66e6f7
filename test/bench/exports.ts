/**
 * `npm run bench:exports`: 10,000 ready payouts exported in each format, end to end through the use
 * case (`createExport`): the export record written as building, the ready index read page by page
 * while the payouts it lists are read again (consistent, projected BatchGetItem) and their partners
 * too, the checks, each payout taken (one conditional UpdateItem ready → processing, 16 in flight),
 * the file generated and streamed to S3, a link item per payout at its EndToEndId (BatchWriteItem, 25
 * a request), the payout ids and the record made active.
 *
 * The floor: the reads and writes per payout the export protocol needs, at the same concurrency, with
 * nothing else — the status index paged, the payouts and their partners read with BatchGetItem 100
 * keys a request 8 in flight, one conditional UpdateItem per payout 16 in flight (on its status,
 * appending to its outbox; it moves no index entry, where the take moves the payout's status entry,
 * so the floor is if anything faster than the protocol can be), one link item per payout with
 * BatchWriteItem 25 a request 8 in flight. It runs just before the export (a process of its own, on
 * the ready payouts) and just after it (the export's child, on the payouts it took); the export runs
 * between the two and `ratio` = payouts/s ÷ their mean. `cpuRatio`: the floor's CPU time per payout
 * (its process and the emulators) over the export's, which the machine's load does not move. And
 * generation alone (the same number of rows, in memory, to a null sink). Targets: ratio ≥ 0.6 for
 * every format, generation csv ≥ 50,000/s and sepa ≥ 15,000/s, peak RSS ≤ 256 MB.
 *
 * For each format the parent starts a fresh in-process dynalite and s3rver, seeds 10,000 partners and
 * 10,000 ready payouts with BatchWriteItem (items shaped as the API writes them), bundles
 * ./exports-child.ts exactly as CDK bundles a function (test/support/bundle.ts) and runs that bundle on
 * plain Node in a child process, so that the child's peak RSS and CPU time are the export's alone, as
 * in a Lambda (the emulators and the seeded data stay in the parent; the parent's CPU time while the
 * child runs is the emulators'). The parent then checks the result in the table and the bucket: the
 * record (active, every payout listed), the files, and every payout processing in this export
 * (status, version + 1, one history entry more, its EndToEndId) with its link item.
 *
 * Besides throughput and peak RSS, the child reports where the time went: the wall time during which
 * at least one request of a kind was in flight (DynamoDB reads, S3 uploads, DynamoDB writes), and the
 * rest (checks, generation, hashing, presigning); and the load-independent figures: CPU ms per payout
 * of the export and of the emulators, DynamoDB requests and items written per payout. Prints one JSON
 * object as its last line.
 *
 *   npm run bench:exports [-- --payouts 10000 --formats csv,sepa --cpu-prof-dir DIR --details]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  createTables,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  startDynalite,
  startS3rver,
} from '../../infra/local/emulators.ts';
import { startLocalEventBridge } from '../../infra/local/eventbridge.ts';
import { configureEnvironment, LOCAL_NAMES } from '../../infra/local/runtime.ts';
import type { NewPayoutItem } from '../../shared/adapters/payout-store.ts';
import type { ExportFormat, Partner } from '../../shared/domain/schemas.ts';
import { bundleAsCdk, ROOT } from '../support/bundle.ts';
import type { ChildResult } from './exports-child.ts';
import { addressFor, amountFor, currencyFor, FORMATS, methodFor, NAMES } from './exports-fixtures.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** Generation alone, payouts per second. */
const MIN_GENERATION: Partial<Record<ExportFormat, number>> = { csv: 50_000, sepa: 15_000 };
const MIN_RATIO = 0.6;
const MAX_RSS_MB = 256;
const EXPECTED_FILES: Record<ExportFormat, (payouts: number) => number> = {
  csv: () => 1,
  paypal: (payouts) => Math.ceil(payouts / 5_000),
  wise: (payouts) => Math.ceil(payouts / 1_000),
  sepa: () => 1,
};

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

/** Partner and payout items as `createPartner` and the payout lifecycle leave them. */
async function seed(endpoint: string, format: ExportFormat, count: number): Promise<string[]> {
  const { newId } = await import('../../shared/domain/ids.ts');
  const { keys } = await import('../../shared/adapters/table.ts');
  const { newEvent, newPayoutRecord } = await import('../../shared/adapters/payout-store.ts');
  const { historyKeys } = await import('../../shared/adapters/payout-history.ts');
  const client = documentClient(endpoint);
  const base = Date.now() - 86_400_000;
  const manager = { role: 'manager' as const, id: 'bench-manager' };
  const items: Record<string, unknown>[] = [];
  const payoutIds: string[] = [];
  for (let index = 0; index < count; index++) {
    const at = new Date(base + index).toISOString();
    const address = addressFor(index);
    const partner: Partner = {
      id: newId('partner', base + index),
      name: NAMES[index % NAMES.length] ?? 'Acme Ltd',
      email: `partner${index}@example.com`,
      ...(address ? { address, country: address.country } : {}),
      payoutMethod: methodFor(format, index),
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
    const currency = currencyFor(format, index);
    const payout: NewPayoutItem = {
      id: newId('payout', base + index),
      partnerId: partner.id,
      currency,
      status: 'ready',
      amount: amountFor(index),
      rewardCount: 3,
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
      memberCount: 3,
    };
    payoutIds.push(payout.id);
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
  return payoutIds;
}

// ------------------------------------------------------------------ the parent

/** The child's figures, with the floor before the export and the emulators' CPU time. */
interface Measured extends ChildResult {
  /** The floor in its own process just before the export, and the child's after it; `floorPerSecond` is their mean. */
  floorBeforePerSecond: number;
  floorAfterPerSecond: number;
  ratio: number;
  /**
   * Load-independent: CPU time per payout of the floor (its process and the emulators, mean of both
   * floors) over the export's. What `ratio` would be if both were bound by CPU alone.
   */
  cpuRatio: number;
  floorBeforeCpuMsPerPayout: number;
  emulatorCpuMsPerPayout: number;
  floorEmulatorCpuMsPerPayout: number;
  floorBeforeEmulatorCpuMsPerPayout: number;
}

/**
 * Runs the bundled child on plain Node: its last stdout line, and this process's CPU time (the
 * emulators', which it alone serves meanwhile) in ms at each mark the child prints (`#exported`,
 * `#floored`) and at its exit.
 */
function runChild(
  bundle: string,
  args: string[],
): Promise<{ line: string; marks: Map<string, number>; totalCpuMs: number }> {
  const profiles = argument('cpu-prof-dir');
  return new Promise((resolve, reject) => {
    const cpu = process.cpuUsage();
    const cpuMs = () => {
      const used = process.cpuUsage(cpu);
      return (used.user + used.system) / 1000;
    };
    const marks = new Map<string, number>();
    const proc = spawn(
      process.execPath,
      [...(profiles ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : []), bundle, ...args],
      { stdio: ['ignore', 'pipe', 'inherit'], env: process.env },
    );
    let stdout = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      for (const mark of ['#exported', '#floored']) {
        if (!marks.has(mark) && stdout.includes(mark)) marks.set(mark, cpuMs());
      }
    });
    proc.once('error', reject);
    proc.once('exit', (code) => {
      const totalCpuMs = cpuMs();
      if (code !== 0) reject(new Error(`child exited with ${code}`));
      else resolve({ line: stdout.trim().split('\n').at(-1) ?? '', marks, totalCpuMs });
    });
  });
}

const perPayoutMs = (ms: number, count: number) => Math.round((ms / count) * 1000) / 1000;

/** Checks in the table and the bucket what the export says it did. */
async function verify(
  dynamodb: string,
  s3Endpoint: string,
  result: ChildResult,
  payoutIds: string[],
): Promise<string[]> {
  const problems: string[] = [];
  if (result.payouts !== payoutIds.length)
    problems.push(`${result.payouts} payouts exported, not ${payoutIds.length}`);
  const files = EXPECTED_FILES[result.format](payoutIds.length);
  if (result.files !== files) problems.push(`${result.files} files, not ${files}`);
  const client = documentClient(dynamodb);
  const { keys } = await import('../../shared/adapters/table.ts');
  const record = await client.send(
    new GetCommand({ TableName: LOCAL_NAMES.table, Key: keys.export(result.exportId) }),
  );
  if (record.Item?.payoutCount !== payoutIds.length) problems.push('export record missing or wrong');
  if (record.Item?.status !== 'active') problems.push(`export record is ${record.Item?.status}`);
  const { endToEndIdFor } = await import('../../shared/domain/end-to-end.ts');
  const listed = await client.send(
    new GetCommand({
      TableName: LOCAL_NAMES.table,
      Key: { PK: keys.export(result.exportId).PK, SK: 'PAYOUT_IDS' },
      ConsistentRead: true,
    }),
  );
  const listedIds = new Set((listed.Item?.payoutIds as string[] | undefined) ?? []);
  let checked = 0;
  for (const id of payoutIds) {
    const { Item } = await client.send(
      new GetCommand({ TableName: LOCAL_NAMES.table, Key: keys.payout(id), ConsistentRead: true }),
    );
    const endToEndId = endToEndIdFor(id, Number(record.Item?.sequence));
    if (
      Item?.status !== 'processing' ||
      Item.version !== 4 ||
      Item.exportId !== result.exportId ||
      Item.endToEndId !== endToEndId ||
      !listedIds.has(id)
    ) {
      problems.push(`${id} not processing in the export at version 4 with ${endToEndId}`);
    }
    // History entries are items and an outbox (#13): `seq` counts the committed ones.
    if (Item?.seq !== 4) problems.push(`${id} history is not one entry more`);
    if (checked++ % 100 === 0) {
      const link = await client.send(
        new GetCommand({
          TableName: LOCAL_NAMES.table,
          Key: { PK: keys.payout(id).PK, SK: `E2E#${endToEndId}` },
          ConsistentRead: true,
        }),
      );
      if (
        link.Item?.type !== 'payout_export' ||
        link.Item.format !== result.format ||
        link.Item.exportId !== result.exportId
      )
        problems.push(`${id} not linked at its EndToEndId`);
    }
    if (problems.length > 10) break;
  }
  client.destroy();
  const head = await Promise.all(
    result.fileKeys.map((key) =>
      fetch(`${s3Endpoint}/${LOCAL_NAMES.exportBucket}/${key}`, { method: 'HEAD' }).then(
        (response) => response.status,
      ),
    ),
  );
  if (head.some((status) => status !== 200)) problems.push(`export objects missing: ${head.join(',')}`);
  return problems;
}

async function measure(
  format: ExportFormat,
  count: number,
  bundle: string,
): Promise<{ result: Measured; seedSeconds: number; problems: string[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'exports-bench-'));
  const dynalite = await startDynalite();
  const s3rver = await startS3rver({ directory: join(dataDir, 's3'), buckets: [LOCAL_NAMES.exportBucket] });
  // The export publishes `export.created`: to the local bus of `npm start`, with no rules.
  const bus = await startLocalEventBridge({ rules: [] });
  try {
    configureEnvironment(
      { dynamodb: dynalite.endpoint, s3: s3rver.endpoint, eventbridge: bus.endpoint },
      dataDir,
    );
    await createTables(dynalite.endpoint, LOCAL_NAMES);
    const seedStart = performance.now();
    const payoutIds = await seed(dynalite.endpoint, format, count);
    const seedSeconds = (performance.now() - seedStart) / 1000;
    // The floor just before the export (its own process) and just after it (the export's child): the
    // export runs between the two, and is held to their mean.
    const before = await runChild(bundle, ['--floor-before', '--payouts', String(count)]);
    const floorBefore = JSON.parse(before.line) as { floorPerSecond: number; cpuMsPerPayout: number };
    const run = await runChild(bundle, ['--child', format, '--payouts', String(count)]);
    const child = JSON.parse(run.line) as ChildResult;
    const exportCpuMs = run.marks.get('#exported') ?? 0;
    const floorCpuMs = (run.marks.get('#floored') ?? 0) - exportCpuMs;
    const floorPerSecond = Math.round((floorBefore.floorPerSecond + child.floorPerSecond) / 2);
    const exportCpu = child.cpuMsPerPayout + exportCpuMs / count;
    const floorCpu =
      (floorBefore.cpuMsPerPayout +
        before.totalCpuMs / count +
        child.floorCpuMsPerPayout +
        floorCpuMs / count) /
      2;
    const result: Measured = {
      ...child,
      floorBeforePerSecond: floorBefore.floorPerSecond,
      floorAfterPerSecond: child.floorPerSecond,
      floorPerSecond,
      ratio: Math.round((child.payoutsPerSecond / floorPerSecond) * 100) / 100,
      cpuRatio: Math.round((floorCpu / exportCpu) * 100) / 100,
      floorBeforeCpuMsPerPayout: floorBefore.cpuMsPerPayout,
      emulatorCpuMsPerPayout: perPayoutMs(exportCpuMs, count),
      floorEmulatorCpuMsPerPayout: perPayoutMs(floorCpuMs, count),
      floorBeforeEmulatorCpuMsPerPayout: perPayoutMs(before.totalCpuMs, count),
    };
    return {
      result,
      seedSeconds,
      problems: await verify(dynalite.endpoint, s3rver.endpoint, result, payoutIds),
    };
  } finally {
    await bus.close();
    await s3rver.close();
    await dynalite.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function ms(value: number | undefined): string {
  return `${Math.round(value ?? 0)}`.padStart(7);
}

/** Per payout, two decimals. */
function perPayout(value: number, count: number): string {
  return (value / count).toFixed(2);
}

async function parent(count: number): Promise<void> {
  console.log(
    `Exports end to end: ${count} ready payouts per format (each its own partner), fresh dynalite + s3rver per format, the export bundled as CDK bundles it and run on plain Node in a child process (Node ${process.version})`,
  );
  const bundleDir = mkdtempSync(join(tmpdir(), 'exports-bench-bundle-'));
  const bundled = await bundleAsCdk(bundleDir, 'exports-bench', join(ROOT, 'test/bench/exports-child.ts'));
  const results: Measured[] = [];
  let ok = true;
  let verified = true;
  // `--formats sepa,csv`: only those (default: every format).
  const only = argument('formats')?.split(',');
  try {
    for (const format of FORMATS.filter((candidate) => !only || only.includes(candidate))) {
      const { result, seedSeconds, problems } = await measure(format, count, bundled.file);
      results.push(result);
      console.log(
        `${format}: seeded ${count} partners + ${count} payouts in ${seedSeconds.toFixed(1)} s; ${problems.length === 0 ? 'verified (record active, files, every payout processing in it with its EndToEndId, version and history, link items)' : `NOT VERIFIED: ${problems.join('; ')}`}`,
      );
      verified &&= problems.length === 0;
      ok &&= problems.length === 0;
    }
  } finally {
    rmSync(bundleDir, { recursive: true, force: true });
  }
  console.log(
    'format   files     MB   seconds   payouts/s   floor/s (before, after)   ratio   CPU ratio   generation/s   RSS before   peak RSS   | ms busy: DDB reads (req)   S3 (req)   DDB writes (req)   other',
  );
  for (const r of results) {
    const total = r.seconds * 1000;
    const reads = r.busy.dynamoReads;
    const s3 = r.busy.s3;
    const writes = r.busy.dynamoWrites;
    // Requests of different kinds overlap (links are written while the files are uploaded).
    const other = total - (r.busy.any?.ms ?? 0);
    const minGeneration = MIN_GENERATION[r.format];
    const generationOk = minGeneration === undefined || r.generationPerSecond >= minGeneration;
    const ratioOk = r.ratio >= MIN_RATIO;
    const rssOk = r.peakRssMb <= MAX_RSS_MB;
    ok &&= rssOk && ratioOk && generationOk;
    console.log(
      [
        r.format.padEnd(6),
        String(r.files).padStart(7),
        (r.bytes / 1024 / 1024).toFixed(2).padStart(6),
        r.seconds.toFixed(3).padStart(9),
        String(r.payoutsPerSecond).padStart(11),
        `${r.floorPerSecond} (${r.floorBeforePerSecond}, ${r.floorAfterPerSecond})`.padStart(25),
        r.ratio.toFixed(2).padStart(7),
        r.cpuRatio.toFixed(2).padStart(11),
        String(r.generationPerSecond).padStart(14),
        `${r.baselineRssMb} MB`.padStart(12),
        `${r.peakRssMb} MB`.padStart(10),
        '  |',
        `${ms(reads?.ms)} (${reads?.requests ?? 0})`.padStart(24),
        `${ms(s3?.ms)} (${s3?.requests ?? 0})`.padStart(10),
        `${ms(writes?.ms)} (${writes?.requests ?? 0})`.padStart(18),
        ms(other).padStart(10),
        `  ratio ≥${MIN_RATIO} ${ratioOk ? 'ok' : 'MISSED'}, ${minGeneration === undefined ? '' : `generation ≥${minGeneration}/s ${generationOk ? 'ok' : 'MISSED'}, `}≤${MAX_RSS_MB} MB ${rssOk ? 'ok' : 'MISSED'}`,
      ].join(' '),
    );
  }
  console.log(
    'per payout   export: CPU ms, emulators CPU ms, DDB requests, items written   | floor after: CPU ms, emulators CPU ms, DDB requests   | floor before: CPU ms, emulators CPU ms   | export peak heap used, external',
  );
  for (const r of results) {
    const requests = Object.values(r.commands).reduce((sum, n) => sum + n, 0);
    const floorRequests = Object.values(r.floorCommands).reduce((sum, n) => sum + n, 0);
    console.log(
      `${r.format.padEnd(6)} ${r.cpuMsPerPayout.toFixed(2)} ms, ${r.emulatorCpuMsPerPayout.toFixed(2)} ms, ${perPayout(requests, r.payouts)}, ${perPayout(r.busy.dynamoWrites?.items ?? 0, r.payouts)}   | ${r.floorCpuMsPerPayout.toFixed(2)} ms, ${r.floorEmulatorCpuMsPerPayout.toFixed(2)} ms, ${perPayout(floorRequests, r.payouts)}   | ${r.floorBeforeCpuMsPerPayout.toFixed(2)} ms, ${r.floorBeforeEmulatorCpuMsPerPayout.toFixed(2)} ms   | ${r.peakHeapUsedMb} MB, ${r.peakExternalMb} MB   (export: ${JSON.stringify(r.commands)})`,
    );
  }
  // `--details`: every request kind's busy time and count, for the export and for its floor.
  if (process.argv.includes('--details')) {
    for (const r of results)
      console.log(JSON.stringify({ format: r.format, busy: r.busy, floorBusy: r.floorBusy }));
  }
  console.log(
    'floor: the protocol’s reads (status index paged, BatchGetItem of payouts and partners, 100 keys, 8 in flight) and writes (one conditional' +
      ' UpdateItem per payout, 16 in flight; one link item per payout, BatchWriteItem 25 a request, 8 in flight) alone, run just before the' +
      ' export (own process, on the ready payouts) and just after it (the same child, on the payouts it took); floor/s is their mean. CPU ratio:' +
      ' floor CPU ms per payout (its process + the emulators) over the export’s, load-independent. ms busy: wall time with at least one request of that kind in flight; other: checks, generation, hashing, presigning' +
      ' (the kinds overlap). Generation: the same rows in memory to a null sink, in the same child.' +
      ` Load average: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}.`,
  );
  console.log(
    JSON.stringify({
      bench: 'exports',
      payouts: count,
      formats: Object.fromEntries(
        results.map((r) => [
          r.format,
          {
            payoutsPerSecond: r.payoutsPerSecond,
            floorPerSecond: r.floorPerSecond,
            floorBeforePerSecond: r.floorBeforePerSecond,
            floorAfterPerSecond: r.floorAfterPerSecond,
            ratio: r.ratio,
            cpuRatio: r.cpuRatio,
            generationPerSecond: r.generationPerSecond,
            peakRssMb: r.peakRssMb,
            cpuMsPerPayout: r.cpuMsPerPayout,
            floorCpuMsPerPayout: r.floorCpuMsPerPayout,
            emulatorCpuMsPerPayout: r.emulatorCpuMsPerPayout,
            floorEmulatorCpuMsPerPayout: r.floorEmulatorCpuMsPerPayout,
          },
        ]),
      ),
      verified,
      load: loadavg().map((l) => Math.round(l * 100) / 100),
    }),
  );
  if (!ok) process.exitCode = 1;
}

await parent(Number(argument('payouts') ?? 10_000));
