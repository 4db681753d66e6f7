/**
 * `npm run bench:coldstart`: bundles every function exactly as CDK does (the same esbuild options,
 * from infra/constructs/house-function.ts), then for each reports the minified size and the median
 * time to load the bundle and run its module initialisation in a fresh Node process (10 runs), beside
 * a baseline bundle that only creates a DynamoDBDocumentClient. Prints one JSON line last.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BASELINE_SOURCE, bundleAsCdk, ROOT } from '../support/bundle.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const root = ROOT;
const out = mkdtempSync(join(tmpdir(), 'payouts-coldstart-'));
const bundle = (name: string, entry: string | { contents: string }) => bundleAsCdk(out, name, entry);

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

function initMs(file: string): number {
  const times: number[] = [];
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  for (let run = 0; run < RUNS; run++) {
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: ENVIRONMENT,
    });
    if (result.status !== 0) throw new Error(`${file}: ${result.stderr}`);
    times.push(Number(result.stdout));
  }
  times.sort((a, b) => a - b);
  return (times[Math.floor(times.length / 2) - 1]! + times[Math.floor(times.length / 2)]!) / 2;
}

const baselineFile = await bundle('baseline', { contents: BASELINE_SOURCE });
const baselineBytes = statSync(baselineFile).size;
const baselineInitMs = initMs(baselineFile);
console.log(
  `baseline (DynamoDBDocumentClient only): ${(baselineBytes / 1024).toFixed(0)} KiB, init ${baselineInitMs.toFixed(1)} ms`,
);

const functions: { name: string; bytes: number; initMs: number }[] = [];
for (const name of readdirSync(join(root, 'functions')).sort()) {
  if (!existsSync(join(root, 'functions', name, 'handler.ts'))) continue;
  const file = await bundle(name, join(root, 'functions', name, 'handler.ts'));
  const bytes = statSync(file).size;
  const init = initMs(file);
  functions.push({ name, bytes, initMs: Math.round(init * 10) / 10 });
  console.log(
    `${name.padEnd(18)} ${(bytes / 1024).toFixed(0).padStart(6)} KiB (×${(bytes / baselineBytes).toFixed(2)})  init ${init.toFixed(1).padStart(6)} ms (×${(init / baselineInitMs).toFixed(2)})`,
  );
}
rmSync(out, { recursive: true, force: true });
// On no request's path (the workflow and the preview invoke it): reported, not in the maxima.
const OFF_PATH = ['self-billing'];
const budgeted = functions.filter((fn) => !OFF_PATH.includes(fn.name));
console.log(
  JSON.stringify({
    bench: 'coldstart',
    functions,
    baselineBytes,
    baselineInitMs: Math.round(baselineInitMs * 10) / 10,
    maxBytesRatio: Math.round(Math.max(...budgeted.map((fn) => fn.bytes / baselineBytes)) * 100) / 100,
    maxInitRatio: Math.round(Math.max(...budgeted.map((fn) => fn.initMs / baselineInitMs)) * 100) / 100,
  }),
);
