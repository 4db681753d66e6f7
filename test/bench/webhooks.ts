/**
 * `npm run bench:webhooks`: 10,000 domain events fanned out to 3 endpoints (30,000 signed deliveries)
 * on a loopback receiver, through the same path as `npm start`: events published on the local bus
 * (PutEvents, as the workflow's Sync publishes payout history), the rule to the queue stand-in, the
 * real webhook-delivery handler (fan-out with each delivery's first attempt: sign, send, log; retries
 * would be queue messages) against dynalite in its own
 * process (so the peak RSS is this process's: bus, queue, handler and receiver).
 *
 * The receiver verifies every delivery with the `standardwebhooks` package (each endpoint its own
 * secret) and records the endpoint and `webhook-id` of each: `verified` means every one of the 30,000
 * arrived, once, signed. Latency is from the event's commit (its `at`, set when it is published) to
 * the receiver's 2xx. Prints one JSON object as its last line.
 *
 *   npm run bench:webhooks [-- --events 10000]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { createTables } from '../../infra/local/emulators.ts';
import { startLocalEventBridge } from '../../infra/local/eventbridge.ts';
import { invokeLocal } from '../../infra/local/functions.ts';
import { configureEnvironment, LOCAL_NAMES } from '../../infra/local/runtime.ts';
import { startLocalWebhookQueue } from '../../infra/local/webhook-queue.ts';
import { peakRssMb, startExternalDynalite } from './support.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
process.env.WEBHOOKS_ALLOW_PRIVATE = 'true';

const arg = (name: string, fallback: number) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};
const EVENTS = arg('events', 10_000);
const ENDPOINTS = 3;
const TARGET_PER_SECOND = 300;
const MAX_RSS_MB = 256;
const TIMEOUT_MS = 600_000;

const dynalite = await startExternalDynalite();
configureEnvironment({ dynamodb: dynalite.endpoint, s3: 'http://127.0.0.1:9' }, '/tmp/bench-webhooks');
await createTables(dynalite.endpoint, LOCAL_NAMES);

// ------------------------------------------------------------------ the receiver

const secrets = new Map<string, Webhook>();
const seen = new Set<string>();
let duplicates = 0;
let badSignatures = 0;
const latencies: number[] = [];
let done: () => void = () => undefined;
const finished = new Promise<void>((resolve) => {
  done = resolve;
});
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const verifier = secrets.get(req.url ?? '');
    try {
      if (!verifier) throw new Error('unknown endpoint');
      verifier.verify(body, req.headers as Record<string, string>);
    } catch {
      badSignatures++;
      res.writeHead(400).end();
      return;
    }
    const key = `${req.url} ${req.headers['webhook-id']}`;
    if (seen.has(key)) duplicates++;
    else seen.add(key);
    res.writeHead(204).end();
    latencies.push(Date.now() - Date.parse(JSON.parse(body).timestamp));
    if (seen.size === EVENTS * ENDPOINTS) done();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

// ------------------------------------------------------------------ the pipeline

const { handler } = await import('../../functions/webhook-delivery/handler.ts');
const queue = await startLocalWebhookQueue({
  // Lambda scales an SQS event source out; here a few batches at a time on one core.
  concurrency: 8,
  batchWindowMs: 20,
  consume: (event) => invokeLocal(LOCAL_NAMES.webhookDeliveryFunction, handler, event, 60_000),
});
const { EVENT_SOURCE, publishEvents } = await import('../../shared/adapters/events.ts');
const bus = await startLocalEventBridge({
  rules: [
    {
      name: 'webhooks',
      eventBusName: LOCAL_NAMES.eventBus,
      pattern: { source: [EVENT_SOURCE] },
      target: async (event) => queue.send(JSON.stringify(event)),
    },
  ],
});
configureEnvironment(
  {
    dynamodb: dynalite.endpoint,
    s3: 'http://127.0.0.1:9',
    eventbridge: bus.endpoint,
    webhooks: { endpoint: queue.endpoint, queueUrl: queue.queueUrl, queueArn: queue.queueArn },
  },
  '/tmp/bench-webhooks',
);

const { createWebhookEndpoint } = await import('../../shared/usecases/webhooks.ts');
for (let index = 0; index < ENDPOINTS; index++) {
  const path = `/endpoint-${index}`;
  const created = await createWebhookEndpoint({ url: `${receiverUrl}${path}` });
  secrets.set(path, new Webhook(created.secret));
}

// ------------------------------------------------------------------ publish, then wait

const { newId } = await import('../../shared/domain/ids.ts');
const started = performance.now();
const publishing = (async () => {
  for (let start = 0; start < EVENTS; start += 10) {
    const at = new Date().toISOString();
    await publishEvents(
      Array.from({ length: Math.min(10, EVENTS - start) }, (_, offset) => {
        const id = newId('event');
        const payoutId = `po_bench_${start + offset}`;
        return {
          type: 'payout.paid',
          detail: {
            id: payoutId,
            partnerId: 'pt_bench',
            currency: 'EUR',
            status: 'paid',
            amount: 12_500 + start + offset,
            version: 5,
            event: { id, type: 'payout.paid', at, actor: { role: 'manager', id: 'bench' } },
          },
          resources: [id],
        };
      }),
    );
  }
})();
const timeout = setTimeout(done, TIMEOUT_MS);
await publishing;
const publishedMs = performance.now() - started;
await finished;
clearTimeout(timeout);
await new Promise((resolve) => setTimeout(resolve, 500)); // late duplicates would arrive now
const elapsedMs = performance.now() - started;

latencies.sort((a, b) => a - b);
const percentile = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
const deliveries = seen.size;
const perSecond = Math.round((deliveries / elapsedMs) * 1000);
const verified =
  deliveries === EVENTS * ENDPOINTS &&
  duplicates === 0 &&
  badSignatures === 0 &&
  queue.deadLetters.length === 0;
const rss = peakRssMb();
console.log(`events published: ${EVENTS} in ${Math.round(publishedMs)} ms`);
console.log(
  `deliveries: ${deliveries} of ${EVENTS * ENDPOINTS} in ${Math.round(elapsedMs)} ms → ${perSecond}/s`,
);
console.log(
  `latency commit → 2xx: p50 ${percentile(0.5)} ms, p99 ${percentile(0.99)} ms, max ${percentile(1)} ms`,
);
console.log(
  `duplicates ${duplicates}, bad signatures ${badSignatures}, dead letters ${queue.deadLetters.length}`,
);
console.log(`peak RSS ${rss} MB; targets ≥ ${TARGET_PER_SECOND}/s, ≤ ${MAX_RSS_MB} MB`);

await bus.close();
await queue.close();
await new Promise<void>((resolve) => {
  receiver.close(() => resolve());
  receiver.closeAllConnections();
});
await dynalite.stop();
console.log(
  JSON.stringify({
    bench: 'webhooks',
    deliveries,
    perSecond,
    p99LatencyMs: percentile(0.99),
    peakRssMb: rss,
    verified,
  }),
);
process.exit(verified && perSecond >= TARGET_PER_SECOND && rss <= MAX_RSS_MB ? 0 : 1);
