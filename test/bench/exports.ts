/**
 * `npm run bench:exports`: 10,000 ready payouts exported in each format, end to end through the use
 * case (`createExport`): the export record written as building, the ready index read page by page
 * while the payouts it lists are read again (consistent, projected BatchGetItem) and their partners
 * too, the checks, each payout taken (one conditional UpdateItem ready → processing, 16 in flight),
 * the file generated and streamed to S3, a link item per payout (BatchWriteItem, 25 a request), the
 * payout ids and the record made active.
 *
 * In the same child, after the export: the floor — the reads and writes per payout the export
 * protocol needs, at the same concurrency, with nothing else (the status index paged, the payouts and
 * their partners read with BatchGetItem 100 keys a request 8 in flight, one conditional UpdateItem per
 * payout 16 in flight, one link-shaped item per payout with BatchWriteItem 25 a request 8 in flight)
 * — and `ratio` = payouts/s ÷ floor/s; and generation alone (the same number of rows, in memory, to a
 * null sink). Targets: ratio ≥ 0.6 for every format, generation csv ≥ 50,000/s and sepa ≥ 15,000/s,
 * peak RSS ≤ 256 MB.
 *
 * For each format the parent starts a fresh in-process dynalite and s3rver, seeds 10,000 partners and
 * 10,000 ready payouts with BatchWriteItem (items shaped as the API writes them), then runs the export
 * in a child process of its own, so that the child's peak RSS is the export's alone (the emulators and
 * the seeded data stay in the parent). The parent then checks the result in the table and the bucket:
 * the record (active, every payout listed), the files, and every payout processing in this export
 * (status, version + 1, one history entry more, its EndToEndId) with its link item.
 *
 * Besides throughput and peak RSS, the child reports where the time went: the wall time during which
 * at least one request of a kind was in flight (DynamoDB reads, S3 uploads, DynamoDB writes), and the
 * rest (checks, generation, hashing, presigning). Prints one JSON object as its last line.
 *
 *   npm run bench:exports [-- --payouts 10000]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  createTables,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  startDynalite,
  startS3rver,
} from '../../infra/local/emulators.ts';
import { configureEnvironment, LOCAL_NAMES } from '../../infra/local/runtime.ts';
import type { NewPayoutItem } from '../../shared/adapters/payout-store.ts';
import type { Address, ExportFormat, Partner, PayoutMethod } from '../../shared/domain/schemas.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const FORMATS: readonly ExportFormat[] = ['csv', 'paypal', 'wise', 'sepa'];
/** Generation alone, payouts per second. */
const MIN_GENERATION: Partial<Record<ExportFormat, number>> = { csv: 50_000, sepa: 15_000 };
const MIN_RATIO = 0.6;
const MAX_RSS_MB = 256;
/** The export's own concurrency (shared/usecases/exports.ts, shared/adapters/export-store.ts). */
const TAKE_CONCURRENCY = 16;
const BATCH_CONCURRENCY = 8;
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

/**
 * Peak resident set of this process since it started. Linux keeps `ru_maxrss` across fork and exec, so
 * `process.resourceUsage().maxRSS` of a child starts at its parent's size (here: the emulators holding
 * the seeded table); `VmHWM` belongs to the process's own address space. Elsewhere, maxRSS.
 */
function peakRssMb(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Math.round(Number(match[1]) / 1024);
  } catch {
    // not Linux
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/**
 * The floor of the export protocol on this emulator: per payout, the reads and writes an export needs,
 * at the export's concurrency, and nothing else — the status index paged (the payouts are processing
 * now: the same entries the export read as ready), the payouts and their partners with consistent
 * BatchGetItem (100 keys, 8 in flight), one conditional UpdateItem per payout (16 in flight, on its
 * status, appending to its history as the take does), one link-shaped item per payout (BatchWriteItem,
 * 25 a request, 8 in flight). Payouts per second.
 */
async function protocolFloor(client: DynamoDBDocumentClient, count: number): Promise<number> {
  const { snapshotReader } = await import('../../shared/adapters/export-store.ts');
  const { forEachLimited } = await import('../../shared/adapters/payout-store.ts');
  const { keys } = await import('../../shared/adapters/table.ts');
  const started = performance.now();
  const ids: string[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: LOCAL_NAMES.table,
        IndexName: 'GSI2',
        KeyConditionExpression: 'GSI2PK = :pk',
        ProjectionExpression: '#id',
        ExpressionAttributeNames: { '#id': 'id' },
        ExpressionAttributeValues: { ':pk': 'PAYOUT_STATUS#processing' },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) ids.push(String(item.id));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  if (ids.length !== count) throw new Error(`floor: ${ids.length} processing payouts, not ${count}`);
  const reader = snapshotReader(BATCH_CONCURRENCY);
  const payouts = await reader.payouts(ids);
  await reader.partners(payouts.map((payout) => payout.partnerId));
  const at = new Date().toISOString();
  await forEachLimited(ids, TAKE_CONCURRENCY, async (id) => {
    await client.send(
      new UpdateCommand({
        TableName: LOCAL_NAMES.table,
        Key: keys.payout(id),
        // The take appends its history entry to the payout's outbox (history is its own items since #13).
        UpdateExpression: 'SET benchFloor = :at, #outbox = list_append(#outbox, :none)',
        ConditionExpression: '#status = :processing',
        ExpressionAttributeNames: { '#status': 'status', '#outbox': 'outbox' },
        ExpressionAttributeValues: { ':at': at, ':processing': 'processing', ':none': [] },
      }),
    );
  });
  const batches: Record<string, unknown>[][] = [];
  for (let start = 0; start < ids.length; start += 25) {
    batches.push(
      ids.slice(start, start + 25).map((id) => ({
        PutRequest: { Item: { PK: keys.payout(id).PK, SK: 'BENCH_FLOOR', type: 'bench_floor', at } },
      })),
    );
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: BATCH_CONCURRENCY }, async () => {
      for (let batch = batches[next++]; batch; batch = batches[next++]) {
        let requests = batch;
        while (requests.length > 0) {
          const result = await client.send(
            new BatchWriteCommand({ RequestItems: { [LOCAL_NAMES.table]: requests } }),
          );
          requests = (result.UnprocessedItems?.[LOCAL_NAMES.table] ?? []) as typeof requests;
        }
      }
    }),
  );
  return Math.round(count / ((performance.now() - started) / 1000));
}

/** Generation alone: `count` rows shaped as the export's, in memory, to a null sink. Payouts per second. */
async function generationRate(format: ExportFormat, count: number): Promise<number> {
  const { generateExport } = await import('../../shared/exports/index.ts');
  const rows = Array.from({ length: count }, (_, index) => {
    const address = addressFor(index);
    const id = String(index).padStart(8, '0');
    return {
      payoutId: `po_01JQ000000000000${id}`,
      endToEndId: `po-01JQ000000000000${id}-1`,
      partnerId: `pt_01JQ000000000000${id}`,
      partnerName: NAMES[index % NAMES.length] ?? 'Acme Ltd',
      partnerEmail: `partner${index}@example.com`,
      amount: 1 + ((index * 7_919) % 5_000_000),
      currency: format === 'csv' ? (CSV_CURRENCIES[index % CSV_CURRENCIES.length] ?? 'EUR') : 'EUR',
      payoutMethod: methodFor(format, index),
      ...(address ? { address } : {}),
      remittance: `Payout po_01JQ000000000000${id}`,
    };
  });
  const started = performance.now();
  let payouts = 0;
  for await (const file of generateExport(rows, {
    format,
    exportId: 'ex_01JQ0000000000000000000001',
    createdAt: new Date(),
    debtor: { name: 'Acme Partner Programs GmbH', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' },
  })) {
    for await (const chunk of file.chunks) void chunk.length; // the null sink
    payouts += file.totals().count;
  }
  return Math.round(payouts / ((performance.now() - started) / 1000));
}

function documentClient(endpoint: string, maxAttempts = 10) {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts }),
    { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false } },
  );
}

// ------------------------------------------------------------------ seeding (parent)

const IBANS = [
  'DE89370400440532013000',
  'FR7630006000011234567890189',
  'NL91ABNA0417164300',
  'BE68539007547034',
];
const NAMES = ['Müller & Söhne GmbH', 'Société Générale & Fils', 'Zoë Łukasiewicz', 'Acme Ltd', 'Ærø & Co'];
const CSV_CURRENCIES = ['EUR', 'JPY', 'BHD', 'USD'];

function methodFor(format: ExportFormat, index: number): PayoutMethod | null {
  const holder = NAMES[index % NAMES.length] ?? 'Acme Ltd';
  const iban = IBANS[index % IBANS.length] ?? 'DE89370400440532013000';
  const kind = format === 'csv' ? (['sepa', 'paypal', 'wise', 'none'] as const)[index % 4] : format;
  switch (kind) {
    case 'sepa':
      return {
        type: 'sepa',
        accountHolder: holder,
        iban,
        ...(index % 2 === 0 ? { bic: 'COBADEFFXXX' } : {}),
      };
    case 'paypal':
      return { type: 'paypal', email: `partner${index}@example.com` };
    case 'wise':
      return { type: 'wise', email: `partner${index}@example.com`, accountHolder: holder, iban };
    default:
      return null;
  }
}

function addressFor(index: number): Address | undefined {
  return index % 3 === 0
    ? undefined
    : { line1: `${index} Königstraße`, city: 'München', postalCode: '80331', country: 'DE' };
}

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
    const currency = format === 'csv' ? (CSV_CURRENCIES[index % CSV_CURRENCIES.length] ?? 'EUR') : 'EUR';
    const payout: NewPayoutItem = {
      id: newId('payout', base + index),
      partnerId: partner.id,
      currency,
      status: 'ready',
      amount: 1 + ((index * 7_919) % 5_000_000),
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

// ------------------------------------------------------------------ the export (child)

interface Busy {
  requests: number;
  ms: number;
}

/** Wall time during which at least one request of a kind was in flight, and how many there were. */
function busyMeter() {
  const kinds = new Map<string, { busy: Busy; inFlight: number; since: number }>();
  return {
    start(kind: string): () => void {
      let entry = kinds.get(kind);
      if (!entry) {
        entry = { busy: { requests: 0, ms: 0 }, inFlight: 0, since: 0 };
        kinds.set(kind, entry);
      }
      const current = entry;
      if (current.inFlight === 0) current.since = performance.now();
      current.inFlight += 1;
      current.busy.requests += 1;
      return () => {
        current.inFlight -= 1;
        if (current.inFlight === 0) current.busy.ms += performance.now() - current.since;
      };
    },
    result(): Record<string, Busy> {
      return Object.fromEntries([...kinds].map(([kind, entry]) => [kind, { ...entry.busy }]));
    },
  };
}

const DYNAMO_WRITES = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'BatchWriteItemCommand',
  'DeleteItemCommand',
]);

interface ChildResult {
  format: ExportFormat;
  exportId: string;
  payouts: number;
  files: number;
  fileKeys: string[];
  bytes: number;
  seconds: number;
  payoutsPerSecond: number;
  baselineRssMb: number;
  peakRssMb: number;
  busy: Record<string, Busy>;
  /** The export protocol's reads and writes alone, payouts per second (see `protocolFloor`). */
  floorPerSecond: number;
  ratio: number;
  /** Generation alone, payouts per second. */
  generationPerSecond: number;
  /** Peak RSS including the floor and generation runs. */
  peakRssAfterMb: number;
}

async function child(
  format: ExportFormat,
  dynamodb: string,
  s3Endpoint: string,
  count: number,
): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'exports-bench-child-'));
  configureEnvironment({ dynamodb, s3: s3Endpoint }, dataDir);
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  const { setDynamo, s3 } = await import('../../shared/adapters/clients.ts');
  const { createExport } = await import('../../shared/usecases/exports.ts');
  const meter = busyMeter();
  const dynamo = documentClient(dynamodb, 5);
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName);
      const done = meter.start(DYNAMO_WRITES.has(name) ? 'dynamoWrites' : 'dynamoReads');
      const doneAny = meter.start('any');
      try {
        return await next(args);
      } finally {
        done();
        doneAny();
      }
    },
    { step: 'finalizeRequest', name: 'benchBusyMeter' },
  );
  setDynamo(dynamo);
  s3().middlewareStack.add(
    (next) => async (args) => {
      const done = meter.start('s3');
      const doneAny = meter.start('any');
      try {
        return await next(args);
      } finally {
        done();
        doneAny();
      }
    },
    // Requests actually sent; a presigned URL never reaches the deserialize step.
    { step: 'deserialize', name: 'benchBusyMeter' },
  );
  // Loads the generators, as a warm Lambda container would have them.
  await import('../../shared/exports/index.ts');
  const baseline = peakRssMb();

  const started = performance.now();
  const result = await createExport({ format }, { role: 'manager', id: 'bench-manager' });
  const seconds = (performance.now() - started) / 1000;
  if (result.payoutCount !== count) throw new Error(`exported ${result.payoutCount} payouts, not ${count}`);
  const output: ChildResult = {
    format,
    exportId: result.id,
    payouts: result.payoutCount,
    files: result.files.length,
    fileKeys: result.files.map((file) => `exports/${result.id}/${file.fileName}`),
    bytes: result.files.reduce((sum, file) => sum + file.size, 0),
    seconds,
    payoutsPerSecond: Math.round(result.payoutCount / seconds),
    baselineRssMb: baseline,
    peakRssMb: peakRssMb(),
    busy: meter.result(),
    floorPerSecond: 0,
    ratio: 0,
    generationPerSecond: 0,
    peakRssAfterMb: 0,
  };
  output.floorPerSecond = await protocolFloor(dynamo, count);
  output.ratio = Math.round((output.payoutsPerSecond / output.floorPerSecond) * 100) / 100;
  output.generationPerSecond = await generationRate(format, count);
  output.peakRssAfterMb = peakRssMb();
  rmSync(dataDir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

// ------------------------------------------------------------------ the parent

function runChild(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    });
    let stdout = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    proc.once('error', reject);
    proc.once('exit', (code) =>
      code === 0
        ? resolve(stdout.trim().split('\n').at(-1) ?? '')
        : reject(new Error(`child exited with ${code}`)),
    );
  });
}

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
          Key: { PK: keys.payout(id).PK, SK: `EXPORT#${result.exportId}` },
          ConsistentRead: true,
        }),
      );
      if (link.Item?.type !== 'payout_export' || link.Item.format !== result.format)
        problems.push(`${id} not linked`);
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
): Promise<{ result: ChildResult; seedSeconds: number; problems: string[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'exports-bench-'));
  const dynalite = await startDynalite();
  const s3rver = await startS3rver({ directory: join(dataDir, 's3'), buckets: [LOCAL_NAMES.exportBucket] });
  try {
    configureEnvironment({ dynamodb: dynalite.endpoint, s3: s3rver.endpoint }, dataDir);
    await createTables(dynalite.endpoint, LOCAL_NAMES);
    const seedStart = performance.now();
    const payoutIds = await seed(dynalite.endpoint, format, count);
    const seedSeconds = (performance.now() - seedStart) / 1000;
    const result = JSON.parse(
      await runChild([
        '--child',
        format,
        '--payouts',
        String(count),
        '--dynamodb',
        dynalite.endpoint,
        '--s3',
        s3rver.endpoint,
      ]),
    ) as ChildResult;
    return {
      result,
      seedSeconds,
      problems: await verify(dynalite.endpoint, s3rver.endpoint, result, payoutIds),
    };
  } finally {
    await s3rver.close();
    await dynalite.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function ms(value: number | undefined): string {
  return `${Math.round(value ?? 0)}`.padStart(7);
}

async function parent(count: number): Promise<void> {
  console.log(
    `Exports end to end: ${count} ready payouts per format (each its own partner), fresh dynalite + s3rver per format, export in a child process (Node ${process.version})`,
  );
  const results: ChildResult[] = [];
  let ok = true;
  let verified = true;
  // `--formats sepa,csv`: only those (default: every format).
  const only = argument('formats')?.split(',');
  for (const format of FORMATS.filter((candidate) => !only || only.includes(candidate))) {
    const { result, seedSeconds, problems } = await measure(format, count);
    results.push(result);
    console.log(
      `${format}: seeded ${count} partners + ${count} payouts in ${seedSeconds.toFixed(1)} s; ${problems.length === 0 ? 'verified (record active, files, every payout processing in it with its EndToEndId, version and history, link items)' : `NOT VERIFIED: ${problems.join('; ')}`}`,
    );
    verified &&= problems.length === 0;
    ok &&= problems.length === 0;
  }
  console.log(
    'format   files     MB   seconds   payouts/s   floor/s   ratio   generation/s   RSS before   peak RSS   | ms busy: DDB reads (req)   S3 (req)   DDB writes (req)   other',
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
        String(r.floorPerSecond).padStart(9),
        r.ratio.toFixed(2).padStart(7),
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
    'floor: the protocol’s reads (status index paged, BatchGetItem of payouts and partners, 100 keys, 8 in flight) and writes (one conditional' +
      ' UpdateItem per payout, 16 in flight; one link-shaped item per payout, BatchWriteItem 25 a request, 8 in flight) alone, in the same child' +
      ' after the export. ms busy: wall time with at least one request of that kind in flight; other: checks, generation, hashing, presigning' +
      ' (the kinds overlap). Generation: the same rows in memory to a null sink, in the same child.',
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
            ratio: r.ratio,
            generationPerSecond: r.generationPerSecond,
            peakRssMb: r.peakRssMb,
          },
        ]),
      ),
      verified,
    }),
  );
  if (!ok) process.exitCode = 1;
}

const count = Number(argument('payouts') ?? 10_000);
const childFormat = argument('child');
if (childFormat !== undefined) {
  if (!FORMATS.includes(childFormat as ExportFormat)) throw new Error(`Unknown format ${childFormat}`);
  await child(childFormat as ExportFormat, argument('dynamodb') ?? '', argument('s3') ?? '', count);
} else {
  await parent(count);
}
