/**
 * The measured side of `npm run bench:exports` (see ./exports.ts): bundled by the parent exactly as
 * CDK bundles a function (esbuild, the options of infra/constructs/house-function.ts) and run on plain
 * Node, no TypeScript loader, as Lambda runs the exports function's code. The emulators and the seeded
 * data stay in the parent, so this process's peak RSS and CPU time are the export's own.
 *
 * In order: the export (`createExport`, every ready payout of the table), then the floor of the export
 * protocol (`protocolFloor`) on the payouts it took, then generation alone; or, with `--floor-before`,
 * only the floor on the ready payouts (the parent runs that first, in another process). Prints one JSON object (`ChildResult`) as its
 * last line. Configuration comes from the environment the parent set (`configureEnvironment`).
 *
 *   node <bundle>/index.mjs --child <format> --payouts <n>
 */
import { BatchWriteCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, s3 } from '../../shared/adapters/clients.ts';
import { snapshotReader } from '../../shared/adapters/export-store.ts';
import { forEachLimited, keys, table } from '../../shared/adapters/table.ts';
import type { ExportFormat } from '../../shared/domain/schemas.ts';
import { generateExport } from '../../shared/exports/index.ts';
import { createExport } from '../../shared/usecases/exports.ts';
import {
  addressFor,
  amountFor,
  BATCH_CONCURRENCY,
  currencyFor,
  FORMATS,
  methodFor,
  NAMES,
  TAKE_CONCURRENCY,
} from './exports-fixtures.ts';
import { peakRssMb } from './support.ts';

/** Wall time during which at least one request of a kind was in flight, and how many there were. */
export interface Busy {
  requests: number;
  ms: number;
  /** Items written (a BatchWriteItem counts its items), for writes. */
  items: number;
}

export interface ChildResult {
  format: ExportFormat;
  exportId: string;
  payouts: number;
  files: number;
  fileKeys: string[];
  bytes: number;
  seconds: number;
  payoutsPerSecond: number;
  /** CPU time of this process during the export, ms per payout. */
  cpuMsPerPayout: number;
  baselineRssMb: number;
  peakRssMb: number;
  /** Sampled every 50 ms during the export: the JavaScript heap in use, and memory outside it. */
  peakHeapUsedMb: number;
  peakExternalMb: number;
  /** CPU time of this process during the floor, ms per payout. */
  floorCpuMsPerPayout: number;
  busy: Record<string, Busy>;
  /** DynamoDB requests by command during the export. */
  commands: Record<string, number>;
  /** The export protocol's reads and writes alone after the export, payouts per second (see `protocolFloor`). */
  floorPerSecond: number;
  floorCommands: Record<string, number>;
  floorBusy: Record<string, Busy>;
  /** Generation alone, payouts per second. */
  generationPerSecond: number;
  /** Peak RSS including the floor and generation runs. */
  peakRssAfterMb: number;
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const DYNAMO_WRITES = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'BatchWriteItemCommand',
  'DeleteItemCommand',
]);

function busyMeter() {
  const kinds = new Map<string, { busy: Busy; inFlight: number; since: number }>();
  let commands: Record<string, number> = {};
  return {
    start(kind: string, items = 0): () => void {
      let entry = kinds.get(kind);
      if (!entry) {
        entry = { busy: { requests: 0, ms: 0, items: 0 }, inFlight: 0, since: 0 };
        kinds.set(kind, entry);
      }
      const current = entry;
      if (current.inFlight === 0) current.since = performance.now();
      current.inFlight += 1;
      current.busy.requests += 1;
      current.busy.items += items;
      return () => {
        current.inFlight -= 1;
        if (current.inFlight === 0) current.busy.ms += performance.now() - current.since;
      };
    },
    command(name: string): void {
      commands[name] = (commands[name] ?? 0) + 1;
    },
    /** The commands counted since the last call. */
    takeCommands(): Record<string, number> {
      const taken = commands;
      commands = {};
      return taken;
    },
    result(): Record<string, Busy> {
      return Object.fromEntries([...kinds].map(([kind, entry]) => [kind, { ...entry.busy }]));
    },
  };
}

/** Items a write request writes (a BatchWriteItem: its requests). */
function itemsWritten(name: string, input: unknown): number {
  if (name !== 'BatchWriteItemCommand') return 1;
  const requests = (input as { RequestItems?: Record<string, unknown[]> }).RequestItems ?? {};
  return Object.values(requests).reduce((sum, list) => sum + list.length, 0);
}

/**
 * The floor of the export protocol on this emulator: per payout, the reads and writes an export needs,
 * at the export's concurrency, and nothing else — the status index paged (the payouts are processing
 * now: the same entries the export read as ready), the payouts and their partners with consistent
 * BatchGetItem (100 keys, 8 in flight), one conditional UpdateItem per payout (16 in flight, on its
 * status, appending to its outbox as the take does), one link item per payout (BatchWriteItem, 25 a
 * request, 8 in flight). Payouts per second.
 */
async function protocolFloor(count: number, status: 'ready' | 'processing'): Promise<number> {
  const client = dynamo();
  const started = performance.now();
  const ids: string[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: table(),
        IndexName: 'GSI2',
        KeyConditionExpression: 'GSI2PK = :pk',
        ProjectionExpression: '#id',
        ExpressionAttributeNames: { '#id': 'id' },
        ExpressionAttributeValues: { ':pk': `PAYOUT_STATUS#${status}` },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) ids.push(String(item.id));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  if (ids.length !== count) throw new Error(`floor: ${ids.length} ${status} payouts, not ${count}`);
  const reader = snapshotReader(BATCH_CONCURRENCY);
  const payouts = await reader.payouts(ids);
  await reader.partners(payouts.map((payout) => payout.partnerId));
  const at = new Date().toISOString();
  await forEachLimited(ids, TAKE_CONCURRENCY, async (id) => {
    await client.send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.payout(id),
        UpdateExpression: 'SET benchFloor = :at, #outbox = list_append(#outbox, :none)',
        ConditionExpression: '#status = :status',
        ExpressionAttributeNames: { '#status': 'status', '#outbox': 'outbox' },
        ExpressionAttributeValues: { ':at': at, ':status': status, ':none': [] },
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
          const result = await client.send(new BatchWriteCommand({ RequestItems: { [table()]: requests } }));
          requests = (result.UnprocessedItems?.[table()] ?? []) as typeof requests;
        }
      }
    }),
  );
  return Math.round(count / ((performance.now() - started) / 1000));
}

/** Generation alone: `count` rows shaped as the export's, in memory, to a null sink. Payouts per second. */
async function generationRate(format: ExportFormat, count: number): Promise<number> {
  const rows = Array.from({ length: count }, (_, index) => {
    const address = addressFor(index);
    const id = String(index).padStart(8, '0');
    return {
      payoutId: `po_01JQ000000000000${id}`,
      endToEndId: `po-01JQ000000000000${id}-1`,
      partnerId: `pt_01JQ000000000000${id}`,
      partnerName: NAMES[index % NAMES.length] ?? 'Acme Ltd',
      partnerEmail: `partner${index}@example.com`,
      amount: amountFor(index),
      currency: currencyFor(format, index),
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

async function child(format: ExportFormat, count: number): Promise<void> {
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  const meter = busyMeter();
  dynamo().middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName);
      meter.command(name);
      const write = DYNAMO_WRITES.has(name);
      const done = meter.start(
        write ? 'dynamoWrites' : 'dynamoReads',
        write ? itemsWritten(name, args.input) : 0,
      );
      const doneAny = meter.start('any');
      const doneCommand = meter.start(name);
      try {
        return await next(args);
      } finally {
        done();
        doneAny();
        doneCommand();
      }
    },
    { step: 'initialize', name: 'benchBusyMeter' },
  );
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
  const baseline = peakRssMb();

  // What the resident set holds at its peak: the JavaScript heap in use, buffers outside it.
  const memory = { heapUsedMb: 0, externalMb: 0 };
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    memory.heapUsedMb = Math.max(memory.heapUsedMb, Math.round(usage.heapUsed / 1048576));
    memory.externalMb = Math.max(memory.externalMb, Math.round(usage.external / 1048576));
  }, 50);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await createExport({ format }, { role: 'manager', id: 'bench-manager' });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  clearInterval(sampler);
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
    cpuMsPerPayout: Math.round(((used.user + used.system) / 1000 / count) * 1000) / 1000,
    baselineRssMb: baseline,
    peakRssMb: peakRssMb(),
    peakHeapUsedMb: memory.heapUsedMb,
    peakExternalMb: memory.externalMb,
    busy: meter.result(),
    commands: meter.takeCommands(),
    floorPerSecond: 0,
    floorCommands: {},
    floorBusy: {},
    floorCpuMsPerPayout: 0,
    generationPerSecond: 0,
    peakRssAfterMb: 0,
  };
  // Marks for the parent, which reads the emulators' CPU time at each.
  process.stdout.write('#exported\n');
  const floorCpu = process.cpuUsage();
  output.floorPerSecond = await protocolFloor(count, 'processing');
  const floorUsed = process.cpuUsage(floorCpu);
  output.floorCpuMsPerPayout = Math.round(((floorUsed.user + floorUsed.system) / 1000 / count) * 1000) / 1000;
  output.floorCommands = meter.takeCommands();
  output.floorBusy = Object.fromEntries(
    Object.entries(meter.result()).map(([kind, busy]) => {
      const before = output.busy[kind] ?? { requests: 0, ms: 0, items: 0 };
      return [
        kind,
        {
          requests: busy.requests - before.requests,
          ms: busy.ms - before.ms,
          items: busy.items - before.items,
        },
      ];
    }),
  );
  process.stdout.write('#floored\n');
  output.generationPerSecond = await generationRate(format, count);
  output.peakRssAfterMb = peakRssMb();
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

/**
 * The floor alone, before the export, on the ready payouts (`--floor-before`), in a process of its own
 * so that the export's process keeps its own peak RSS: what it changes (a `benchFloor` attribute, an
 * empty list appended to the outbox, `BENCH_FLOOR` items) is nothing the export reads.
 */
async function floorBefore(count: number): Promise<void> {
  const cpu = process.cpuUsage();
  const floorPerSecond = await protocolFloor(count, 'ready');
  const used = process.cpuUsage(cpu);
  process.stdout.write(
    `${JSON.stringify({ floorPerSecond, cpuMsPerPayout: Math.round(((used.user + used.system) / 1000 / count) * 1000) / 1000 })}\n`,
  );
}

const format = argument('child') as ExportFormat | undefined;
if (process.argv.includes('--floor-before')) {
  await floorBefore(Number(argument('payouts') ?? 10_000));
} else if (format !== undefined) {
  if (!FORMATS.includes(format)) throw new Error(`Unknown format ${format}`);
  await child(format, Number(argument('payouts') ?? 10_000));
}
