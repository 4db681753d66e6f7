/**
 * The issuing side of `npm run bench:self-billing`, in plain JavaScript so that it runs on plain
 * Node (no TypeScript loader), as Lambda runs the function: it loads the bundle the parent built
 * exactly as CDK builds the self-billing function (esbuild, the font copied beside it) and issues
 * the payout ids it reads from stdin, `workers` worker threads at once (one per core), each issuing
 * `concurrency` invoices at a time and taking the next id from a shared counter. Prints one JSON line:
 * the wall time, failures, CPU time of the whole process (every thread) and peak RSS (VmHWM).
 *
 *   node self-billing-child.mjs <bundle.mjs> <workers> <concurrency>   (ids as a JSON array on stdin)
 */
import { readFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

/** Peak resident set of this process (VmHWM: its own, every thread, not inherited from the parent). */
function peakRssMb() {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Math.round(Number(match[1]) / 1024);
  } catch {
    // not Linux
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

async function work({ bundle, ids, counter, concurrency }) {
  const { issueSelfBilledDocuments } = await import(bundle);
  const next = new Int32Array(counter);
  let failed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = Atomics.add(next, 0, 1); i < ids.length; i = Atomics.add(next, 0, 1)) {
        try {
          await issueSelfBilledDocuments(ids[i]);
        } catch (error) {
          failed++;
          console.error(ids[i], error);
        }
      }
    }),
  );
  return failed;
}

if (!isMainThread) {
  work(workerData).then(
    (failed) => parentPort?.postMessage({ failed }),
    (error) => parentPort?.postMessage({ failed: workerData.ids.length, error: String(error) }),
  );
} else {
  const [bundle, workers, concurrency] = process.argv.slice(2);
  let input = '';
  process.stdin.on('data', (chunk) => {
    input += chunk.toString();
  });
  process.stdin.on('end', async () => {
    const ids = JSON.parse(input);
    const counter = new SharedArrayBuffer(4);
    const data = { bundle, ids, counter, concurrency: Number(concurrency) };
    const cpu = process.cpuUsage();
    const started = performance.now();
    let failed = 0;
    if (Number(workers) === 0) {
      failed = await work(data); // in this thread (for comparison)
    } else {
      const results = await Promise.all(
        Array.from(
          { length: Number(workers) },
          () =>
            new Promise((resolve, reject) => {
              // Each isolate's heap bounded (V8 otherwise grows it lazily, ≈ 290 MB for two workers over
              // 1,000 invoices): 8 MB young and 96 MB old generation, ≈ 180 MB peak for the process.
              const worker = new Worker(new URL(import.meta.url), {
                workerData: data,
                resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 96 },
              });
              worker.once('message', resolve);
              worker.once('error', reject);
            }),
        ),
      );
      for (const result of results) {
        failed += result.failed;
        if (result.error) console.error(result.error);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const cpuSeconds = (used.user + used.system) / 1e6;
    process.stdout.write(`${JSON.stringify({ seconds, failed, cpuSeconds, peakRssMb: peakRssMb() })}\n`);
    process.exit(0);
  });
}
