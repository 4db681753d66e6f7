/**
 * `npm run bench:coldstart`: bundles every function exactly as CDK does (the same esbuild options,
 * from infra/constructs/house-function.ts) and, for each, its own baseline (test/support/bundle.ts):
 * a bundle that only imports the third-party packages the function must use — the SDK clients of the
 * services it calls, their commands and presigners, a format library it must use — and creates its
 * SDK clients lazily, as the function does. Reports the minified size and the median time to load
 * the bundle and run its module initialisation in a fresh Node process (BENCH_RUNS, default 10; the
 * function's and its baseline's runs interleaved) of both, and a DocumentClient-only bundle for
 * reference. Prints one JSON line last.
 *
 * A function whose baseline holds no SDK client (`health` calls no AWS service) is compared with
 * the DocumentClient-only bundle instead: an empty module is no meaningful floor.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  addedBytes,
  budgetBaseline,
  bundleAsCdk,
  bundleWithBaseline,
  DOCUMENT_CLIENT_SOURCE,
  ROOT,
} from '../support/bundle.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const out = mkdtempSync(join(tmpdir(), 'payouts-coldstart-'));

/** Environment a function reads at module load (fail-fast config), with harmless values. */
const ENVIRONMENT = {
  ...process.env,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'x',
  AWS_SECRET_ACCESS_KEY: 'x',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  TABLE_NAME: 't',
  IDEMPOTENCY_TABLE_NAME: 'i',
  INVOICE_BUCKET: 'b',
  EXPORT_BUCKET: 'e',
  EVENT_BUS_NAME: 'bus',
  STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:x',
  MAIL_FROM: 'a@example.com',
  MANAGER_EMAIL: 'm@example.com',
  DRAFTING_FUNCTION_NAME: 'drafting',
  SEPA_DEBTOR_NAME: 'X',
  SEPA_DEBTOR_IBAN: 'DE89370400440532013000',
  SEPA_DEBTOR_BIC: 'COBADEFFXXX',
  POWERTOOLS_TRACE_ENABLED: 'false',
};

/** Module-initialisation time of a bundle in a fresh Node process. */
function initOnce(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: ENVIRONMENT,
  });
  if (result.status !== 0) throw new Error(`${file}: ${result.stderr}`);
  return Number(result.stdout);
}

function median(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * Median init times of bundles over RUNS fresh processes each, their runs interleaved (a, b, a, b…)
 * so that the load of a shared machine weighs on each alike.
 */
function initMs(...files: string[]): number[] {
  const times = files.map(() => [] as number[]);
  for (let run = 0; run < RUNS; run++) {
    for (const [index, file] of files.entries()) times[index]?.push(initOnce(file));
  }
  return times.map(median);
}

const round = (value: number) => Math.round(value * 10) / 10;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0).padStart(4)} KiB`;

const documentClient = await bundleAsCdk(out, 'document-client', { contents: DOCUMENT_CLIENT_SOURCE });
const [documentClientInitMs = 0] = initMs(documentClient.file);
console.log(
  `DocumentClient only: ${kib(documentClient.bytes)}, init ${documentClientInitMs.toFixed(1)} ms (reference)`,
);

interface Row {
  name: string;
  bytes: number;
  initMs: number;
  baselineBytes: number;
  baselineInitMs: number;
  /** Bytes of the libraries it carries that its baseline does not (middy, Powertools, zod…). */
  librariesBytes: number;
  /** Bytes of our own code in it. */
  ownBytes: number;
}

const functions: Row[] = [];
for (const name of readdirSync(join(ROOT, 'functions')).sort()) {
  if (!existsSync(join(ROOT, 'functions', name, 'handler.ts'))) continue;
  const bundled = await bundleWithBaseline(out, name);
  const baseline = budgetBaseline(bundled, documentClient);
  const [fnInit = 0, baselineInit = 0] = initMs(bundled.fn.file, baseline.file);
  const added = addedBytes(bundled.fn, baseline);
  const row: Row = {
    name,
    bytes: bundled.fn.bytes,
    initMs: round(fnInit),
    baselineBytes: baseline.bytes,
    baselineInitMs: round(baselineInit),
    librariesBytes: added.librariesBytes,
    ownBytes: added.ownBytes,
  };
  functions.push(row);
  const packages = [...bundled.imports.packages.keys()].map((pkg) => pkg.replace('@aws-sdk/', '')).join(', ');
  console.log(
    `${name.padEnd(17)} ${kib(row.bytes)} vs ${kib(row.baselineBytes)} (×${(row.bytes / row.baselineBytes).toFixed(2)})  init ${row.initMs.toFixed(1).padStart(6)} vs ${row.baselineInitMs.toFixed(1).padStart(6)} ms (×${(row.initMs / row.baselineInitMs).toFixed(2)})  baseline: ${packages || 'DocumentClient (reference; no SDK client needed)'}`,
  );
  const libraries = [...added.libraries]
    .sort(([, a], [, b]) => b - a)
    .map(
      ([pkg, bytes]) =>
        `${pkg.replace('@aws-lambda-powertools/', 'powertools/')} ${(bytes / 1024).toFixed(1)}`,
    )
    .join(', ');
  console.log(
    `${''.padEnd(17)} = baseline + libraries ${kib(row.librariesBytes)} (×${added.librariesRatio.toFixed(2)} with no code of its own: ${libraries || 'none'}) + own code ${kib(row.ownBytes)}`,
  );
}
rmSync(out, { recursive: true, force: true });
const maxRatio = (ratio: (row: Row) => number) => Math.round(Math.max(...functions.map(ratio)) * 100) / 100;
console.log(
  JSON.stringify({
    bench: 'coldstart',
    functions,
    maxBytesRatio: maxRatio((row) => row.bytes / row.baselineBytes),
    maxInitRatio: maxRatio((row) => row.initMs / row.baselineInitMs),
    documentClientBytes: documentClient.bytes,
    documentClientInitMs: round(documentClientInitMs),
  }),
);
