/**
 * Export generation benchmark: `npx tsx test/bench/exports-generation.ts [--rows 10000]`.
 *
 * Each format runs in a fresh child process (same Node flags, so the same tsx loader), which makes the
 * peak RSS (`process.resourceUsage().maxRSS`) that of one format alone. Rows are made on the fly by a
 * generator function, never held in an array, and the output goes to a null sink (bytes counted, then
 * dropped), so the figures are those of the generators. Throughput covers the whole run from a cold
 * start, JIT warm-up and (for SEPA) both passes included.
 *
 * Targets: csv ≥ 20,000 payouts/s, sepa ≥ 5,000 payouts/s, peak RSS ≤ 256 MB. Exits 1 when one is missed.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ExportFormat, PayoutMethod } from '../../shared/domain/schemas.ts';
import { type ExportRow, generateExport } from '../../shared/exports/index.ts';

const FORMATS: readonly ExportFormat[] = ['csv', 'paypal', 'wise', 'sepa'];
const MIN_RATE: Partial<Record<ExportFormat, number>> = { csv: 20_000, sepa: 5_000 };
const MAX_RSS_MB = 256;

interface Result {
  format: ExportFormat;
  payouts: number;
  files: number;
  bytes: number;
  seconds: number;
  payoutsPerSecond: number;
  /** Payouts per second of CPU time (user + system) of the process: less sensitive to a busy machine. */
  payoutsPerCpuSecond: number;
  baselineRssMb: number;
  peakRssMb: number;
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const IBANS = [
  'DE89370400440532013000',
  'FR7630006000011234567890189',
  'NL91ABNA0417164300',
  'BE68539007547034',
];
const NAMES = ['Müller & Söhne GmbH', 'Société Générale & Fils', 'Zoë Łukasiewicz', 'Acme Ltd', '=cmd|calc'];

function method(format: ExportFormat, i: number): PayoutMethod {
  const iban = IBANS[i % IBANS.length] ?? 'DE89370400440532013000';
  const holder = NAMES[i % NAMES.length] ?? 'Acme Ltd';
  switch (format) {
    case 'paypal':
      return { type: 'paypal', email: `partner${i}@example.com` };
    case 'wise':
      return { type: 'wise', email: `partner${i}@example.com`, accountHolder: holder, iban };
    case 'sepa':
    case 'csv':
      return { type: 'sepa', accountHolder: holder, iban, ...(i % 2 === 0 ? { bic: 'COBADEFFXXX' } : {}) };
  }
}

/** `count` synthetic rows, made one at a time. */
function* rows(format: ExportFormat, count: number): Generator<ExportRow> {
  for (let i = 0; i < count; i += 1) {
    const id = String(i).padStart(8, '0');
    yield {
      payoutId: `po_01JQ000000000000${id}`,
      partnerId: `pt_01JQ000000000000${id}`,
      partnerName: NAMES[i % NAMES.length] ?? 'Acme Ltd',
      partnerEmail: `partner${i}@example.com`,
      amount: 1 + ((i * 7_919) % 5_000_000),
      currency: format === 'csv' ? (['EUR', 'JPY', 'BHD', 'USD'][i % 4] ?? 'EUR') : 'EUR',
      payoutMethod: method(format, i),
      ...(i % 3 === 0
        ? {}
        : { address: { line1: `${i} Königstraße`, city: 'München', postalCode: '80331', country: 'DE' } }),
      remittance: `Partner payout po_01JQ000000000000${id} – merci`,
    };
  }
}

async function measure(format: ExportFormat, count: number): Promise<Result> {
  const baseline = process.resourceUsage().maxRSS;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let files = 0;
  let bytes = 0;
  let payouts = 0;
  const exportOptions = {
    format,
    exportId: 'ex_01JQ0000000000000000000001',
    createdAt: new Date(),
    debtor: { name: 'Acme Partner Programs GmbH', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' },
  };
  for await (const file of generateExport(() => rows(format, count), exportOptions)) {
    files += 1;
    for await (const chunk of file.chunks) bytes += Buffer.byteLength(chunk); // the null sink
    payouts += file.totals().count;
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    format,
    payouts,
    files,
    bytes,
    seconds,
    payoutsPerSecond: Math.round(payouts / seconds),
    payoutsPerCpuSecond: Math.round(payouts / cpuSeconds),
    baselineRssMb: Math.round(baseline / 1024),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

async function child(format: ExportFormat, count: number): Promise<void> {
  process.stdout.write(`${JSON.stringify(await measure(format, count))}\n`);
}

function parent(count: number): void {
  const script = fileURLToPath(import.meta.url);
  const results: Result[] = [];
  for (const format of FORMATS) {
    const run = spawnSync(
      process.execPath,
      [...process.execArgv, script, '--child', format, '--rows', String(count)],
      { encoding: 'utf8' },
    );
    if (run.status !== 0) {
      process.stderr.write(run.stderr);
      throw new Error(`${format}: child process failed (${run.status})`);
    }
    const line = run.stdout.trim().split('\n').at(-1) ?? '';
    results.push(JSON.parse(line) as Result);
  }
  let ok = true;
  console.log(
    `Export generation, ${count} payouts per format, each format in a fresh process (Node ${process.version})`,
  );
  console.log('format   files   payouts/s   per CPU-s   seconds   MB out   RSS before   peak RSS   targets');
  for (const r of results) {
    const minRate = MIN_RATE[r.format];
    const rateOk = minRate === undefined || r.payoutsPerSecond >= minRate;
    const rssOk = r.peakRssMb <= MAX_RSS_MB;
    ok &&= rateOk && rssOk && r.payouts === count;
    const targets = [
      minRate === undefined ? '' : `≥${minRate}/s ${rateOk ? 'ok' : 'MISSED'}`,
      `≤${MAX_RSS_MB} MB ${rssOk ? 'ok' : 'MISSED'}`,
    ]
      .filter(Boolean)
      .join(', ');
    console.log(
      [
        r.format.padEnd(6),
        String(r.files).padStart(7),
        String(r.payoutsPerSecond).padStart(11),
        String(r.payoutsPerCpuSecond).padStart(11),
        r.seconds.toFixed(3).padStart(9),
        (r.bytes / 1024 / 1024).toFixed(2).padStart(8),
        `${r.baselineRssMb} MB`.padStart(12),
        `${r.peakRssMb} MB`.padStart(10),
        `  ${targets}`,
      ].join(' '),
    );
  }
  if (!ok) process.exitCode = 1;
}

const count = Number(argument('rows') ?? 10_000);
const childFormat = argument('child');
if (childFormat !== undefined) {
  if (!FORMATS.includes(childFormat as ExportFormat)) throw new Error(`Unknown format ${childFormat}`);
  await child(childFormat as ExportFormat, count);
} else {
  parent(count);
}
