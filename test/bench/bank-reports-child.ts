/**
 * The applying side of `npm run bench:bank-reports`. The parent bundles this file exactly as CDK
 * bundles a function (esbuild with the options of infra/constructs/house-function.ts, see
 * ../support/bundle.ts) and runs the bundle on plain Node (no TypeScript loader), as Lambda runs the
 * bank-report-uploaded function, so that the child's peak RSS and CPU time are the apply's.
 *
 * It applies the uploaded report with the real use case (`processUploadedReport`), then runs the
 * floor: as many conditional UpdateItems (one per payout item) on the same table at the same
 * concurrency. The environment (table, bucket, endpoints, the local event bus) comes from the parent.
 * Beside the wall times it measures what load does not change: its own CPU time, dynalite's (the
 * emulator's process, read from /proc), and the DynamoDB requests of each phase.
 *
 *   node <bundle> --key <s3 key> --dynalite-pid <pid>   (payout ids on stdin, one a line)
 */
import { readFileSync } from 'node:fs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { findReport } from '../../shared/adapters/bank-report-store.ts';
import { newDocumentClient, setDynamo } from '../../shared/adapters/clients.ts';
import { keys, limiter, table } from '../../shared/adapters/table.ts';
import { APPLY_CONCURRENCY, processUploadedReport } from '../../shared/usecases/bank-reports.ts';
import { peakRssMb } from './support.ts';

export interface ChildResult {
  lines: number;
  seconds: number;
  linesPerSecond: number;
  floorSeconds: number;
  floorPerSecond: number;
  concurrency: number;
  baselineRssMb: number;
  peakRssMb: number;
  /** Peak RSS when the apply ended (before the floor ran). */
  applyPeakRssMb: number;
  /** CPU milliseconds per line: this process and dynalite's, while applying and in the floor. */
  cpuMsPerLine: { apply: number; applyDynalite: number; floor: number; floorDynalite: number };
  requests: Record<string, number>;
  /** Mean DynamoDB requests in flight while applying, and in the floor. */
  meanInFlight: { apply: number; floor: number };
  floorRequests: Record<string, number>;
  /** Monotonic-clock microseconds (the clock of V8's CPU profiles) of each phase, to cut profiles. */
  windowsUs: { apply: [number, number]; floor: [number, number] };
}

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

function argument(name: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? '') : '';
}

/** CPU milliseconds (user + system) of a process so far, from /proc/<pid>/stat (clock ticks of 10 ms). */
function processCpuMs(pid: string): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const ownCpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

const key = argument('key');
const dynalitePid = argument('dynalite-pid');
// Read as a stream: a pipe may not be readable at once (readFileSync(0) then fails with EAGAIN).
let input = '';
for await (const chunk of process.stdin) input += String(chunk);
const payoutIds = input.split('\n').filter(Boolean);

// The functions' own client (shared/adapters/clients.ts), with a request counter.
const dynamo = newDocumentClient();
let requests: Record<string, number> = {};
/** Requests in flight, integrated over time (ms): divided by a phase's length, its mean concurrency. */
let inFlight = 0;
let inFlightMs = 0;
let inFlightSince = performance.now();
const inFlightChange = (delta: number) => {
  const now = performance.now();
  inFlightMs += inFlight * (now - inFlightSince);
  inFlightSince = now;
  inFlight += delta;
};
dynamo.middlewareStack.add(
  (next, context) => async (args) => {
    const name = String(context.commandName).replace(/Command$/, '');
    requests[name] = (requests[name] ?? 0) + 1;
    inFlightChange(1);
    try {
      return await next(args);
    } finally {
      inFlightChange(-1);
    }
  },
  { step: 'finalizeRequest', name: 'benchRequestCounter' },
);
setDynamo(dynamo);
const baselineRssMb = peakRssMb();

let cpu = ownCpuMs();
let dynaliteCpu = processCpuMs(dynalitePid);
const applyStartUs = monotonicUs();
inFlightChange(0);
inFlightMs = 0;
const started = performance.now();
const outcome = await processUploadedReport(key, { concurrency: APPLY_CONCURRENCY });
const seconds = (performance.now() - started) / 1000;
inFlightChange(0);
const applyInFlight = inFlightMs / (seconds * 1000);
const applyEndUs = monotonicUs();
const applyCpu = ownCpuMs() - cpu;
const applyDynaliteCpu = processCpuMs(dynalitePid) - dynaliteCpu;
const applyRequests = requests;
requests = {};
const report = await findReport(key.replace(/^bank-reports\//, '').replace(/\.xml$/, ''));
if (outcome !== 'applied' || report?.status !== 'applied') {
  throw new Error(`report ${outcome}, ${report?.status}`);
}
const lines = report.counts.lines;
const applyPeakRssMb = peakRssMb();

// The floor: the same number of conditional UpdateItems, same table, same concurrency.
requests = {};
cpu = ownCpuMs();
dynaliteCpu = processCpuMs(dynalitePid);
const run = limiter(APPLY_CONCURRENCY);
const floorStartUs = monotonicUs();
inFlightChange(0);
inFlightMs = 0;
const floorStart = performance.now();
await Promise.all(
  payoutIds.slice(0, lines).map((id, index) =>
    run(() =>
      dynamo.send(
        new UpdateCommand({
          TableName: table(),
          Key: keys.payout(id),
          UpdateExpression: 'SET benchFloor = :n',
          ConditionExpression: 'attribute_exists(PK) AND #status = :paid',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':n': index, ':paid': 'paid' },
        }),
      ),
    ),
  ),
);
const floorSeconds = (performance.now() - floorStart) / 1000;
inFlightChange(0);
const floorInFlight = inFlightMs / (floorSeconds * 1000);
const floorEndUs = monotonicUs();
const floorCpu = ownCpuMs() - cpu;
const floorDynaliteCpu = processCpuMs(dynalitePid) - dynaliteCpu;
const perLine = (ms: number) => Math.round((ms / lines) * 1000) / 1000;
const output: ChildResult = {
  lines,
  seconds,
  linesPerSecond: Math.round(lines / seconds),
  floorSeconds,
  floorPerSecond: Math.round(lines / floorSeconds),
  concurrency: APPLY_CONCURRENCY,
  baselineRssMb,
  peakRssMb: peakRssMb(),
  applyPeakRssMb,
  cpuMsPerLine: {
    apply: perLine(applyCpu),
    applyDynalite: perLine(applyDynaliteCpu),
    floor: perLine(floorCpu),
    floorDynalite: perLine(floorDynaliteCpu),
  },
  requests: applyRequests,
  meanInFlight: { apply: Math.round(applyInFlight * 10) / 10, floor: Math.round(floorInFlight * 10) / 10 },
  floorRequests: requests,
  windowsUs: { apply: [applyStartUs, applyEndUs], floor: [floorStartUs, floorEndUs] },
};
process.stdout.write(`${JSON.stringify(output)}\n`);
// The SDK's keep-alive sockets would hold the process open.
dynamo.destroy();
process.exit(0);
