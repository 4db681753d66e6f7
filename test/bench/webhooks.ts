/**
 * `npm run bench:webhooks`: 10,000 domain events fanned out to 3 endpoints (30,000 signed deliveries)
 * through the same path as `npm start`: events published on the local bus (PutEvents, as the
 * workflow's Sync publishes payout history), the rule to the queue stand-in, the real
 * webhook-delivery handler (fan-out with each delivery's first attempt: sign, send, log; retries
 * would be queue messages), against dynalite in its own process.
 *
 * The receivers (the integrators' side, not our system) run in their own process too
 * (`webhooks-receiver.mjs`, forked on plain Node): they verify every delivery with the
 * `standardwebhooks` package (each endpoint its own secret) and record each endpoint's `webhook-id`s;
 * `verified` means every one of the 30,000 arrived, once, signed, and nothing was dead-lettered.
 * So `peakRssMb` is this process's alone: our delivery code (handler, SDK clients, HTTP agents) and
 * its local stand-ins (bus, queue), as a Lambda would hold the handler (on AWS the backlog waits in
 * SQS, not in the function). The receivers' peak RSS is printed beside it, not counted.
 *
 * Events are published at a steady pace (`--rate` events per second, in PutEvents of 10; default
 * 130/s, i.e. 390 deliveries/s offered), not all at once; the publisher also waits while more than
 * `--backlog` events are queued and not yet handled (how often it waited is printed), and the queue
 * consumer runs `--concurrency` batches of 10 at a time. Latency is from the event's commit (its
 * `at`, set when it is published) to the receiver's 2xx. Prints one JSON object as its last line.
 *
 *   npm run bench:webhooks [-- --events 10000 --rate 130 --backlog 200 --concurrency 4]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
const RATE = arg('rate', 130);
const BACKLOG = arg('backlog', 200);
const CONCURRENCY = arg('concurrency', 4);
const ENDPOINTS = 3;
const PER_PUT = 10;
const TARGET_PER_SECOND = 300;
const MAX_RSS_MB = 256;
const TIMEOUT_MS = 600_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const dynalite = await startExternalDynalite();
configureEnvironment({ dynamodb: dynalite.endpoint, s3: 'http://127.0.0.1:9' }, '/tmp/bench-webhooks');
await createTables(dynalite.endpoint, LOCAL_NAMES);

// ------------------------------------------------------------------ the receivers (their own process)

interface ReceiverReport {
  received: number;
  duplicates: number;
  badSignatures: number;
  p50: number;
  p99: number;
  max: number;
  peakRssMb: number;
}
type ReceiverMessage = { ready?: true; url?: string; done?: true; report?: ReceiverReport };

const receiver = fork(fileURLToPath(new URL('./webhooks-receiver.mjs', import.meta.url)), [], {
  execArgv: [], // plain Node: no TypeScript loader in the receivers' process
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const fromReceiver = (key: keyof ReceiverMessage) =>
  new Promise<ReceiverMessage>((resolve, reject) => {
    const onMessage = (message: ReceiverMessage) => {
      if (message[key] === undefined) return;
      receiver.off('message', onMessage);
      receiver.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null) => reject(new Error(`the receivers exited with ${code}`));
    receiver.on('message', onMessage);
    receiver.once('exit', onExit);
  });
const receiverUrl = String((await fromReceiver('url')).url);

// ------------------------------------------------------------------ the pipeline

const { handler } = await import('../../functions/webhook-delivery/handler.ts');
const queue = await startLocalWebhookQueue({
  // Lambda scales an SQS event source out; here a few batches at a time on one core.
  concurrency: CONCURRENCY,
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
const secrets: Record<string, string> = {};
for (let index = 0; index < ENDPOINTS; index++) {
  const path = `/endpoint-${index}`;
  secrets[path] = (await createWebhookEndpoint({ url: `${receiverUrl}${path}` })).secret;
}
receiver.send({ secrets, expected: EVENTS * ENDPOINTS });

// ------------------------------------------------------------------ publish at a steady pace, then wait

const { newId } = await import('../../shared/domain/ids.ts');
let backlogWaits = 0;
let maxBacklog = 0;
const started = performance.now();
const finished = fromReceiver('done');
const publishing = (async () => {
  const intervalMs = (1000 * PER_PUT) / RATE;
  for (let start = 0, put = 0; start < EVENTS; start += PER_PUT, put++) {
    const wait = started + put * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    maxBacklog = Math.max(maxBacklog, queue.pending());
    while (queue.pending() > BACKLOG) {
      backlogWaits++;
      await sleep(5);
    }
    const at = new Date().toISOString();
    await publishEvents(
      Array.from({ length: Math.min(PER_PUT, EVENTS - start) }, (_, offset) => {
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
const timedOut = sleep(TIMEOUT_MS);
await publishing;
const publishedMs = performance.now() - started;
await Promise.race([finished, timedOut]);
const deliveredMs = performance.now() - started;
await sleep(500); // late duplicates would arrive now
const rss = peakRssMb();
const report = (await Promise.all([fromReceiver('report'), receiver.send({ report: true })]))[0]
  .report as ReceiverReport;

const deliveries = report.received;
const perSecond = Math.round((deliveries / deliveredMs) * 1000);
const verified =
  deliveries === EVENTS * ENDPOINTS &&
  report.duplicates === 0 &&
  report.badSignatures === 0 &&
  queue.deadLetters.length === 0;
console.log(
  `events published: ${EVENTS} in ${Math.round(publishedMs)} ms (paced at ${RATE}/s; waited on the backlog bound of ${BACKLOG} ${backlogWaits} times, most queued ${maxBacklog})`,
);
console.log(
  `deliveries: ${deliveries} of ${EVENTS * ENDPOINTS} in ${Math.round(deliveredMs)} ms → ${perSecond}/s (offered ${RATE * ENDPOINTS}/s)`,
);
console.log(`latency commit → 2xx: p50 ${report.p50} ms, p99 ${report.p99} ms, max ${report.max} ms`);
console.log(
  `duplicates ${report.duplicates}, bad signatures ${report.badSignatures}, dead letters ${queue.deadLetters.length}`,
);
console.log(
  `peak RSS ${rss} MB (this process: delivery code, bus, queue; the receivers' own process: ${report.peakRssMb} MB, not counted); targets ≥ ${TARGET_PER_SECOND}/s, ≤ ${MAX_RSS_MB} MB`,
);

await bus.close();
await queue.close();
await dynalite.stop();
console.log(
  JSON.stringify({
    bench: 'webhooks',
    deliveries,
    perSecond,
    p99LatencyMs: report.p99,
    peakRssMb: rss,
    verified,
  }),
);
process.exit(verified && perSecond >= TARGET_PER_SECOND && rss <= MAX_RSS_MB ? 0 : 1);
