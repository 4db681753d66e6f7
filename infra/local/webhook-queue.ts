/**
 * Local stand-ins for what the emulators lack on the webhook path: an SQS queue and EventBridge
 * Scheduler's one-time schedules. One loopback server answers both APIs as the signed adapters call
 * them (`AWS_ENDPOINT_URL_SQS` and `AWS_ENDPOINT_URL_SCHEDULER` point at it):
 *
 * - SQS `SendMessage` / `SendMessageBatch` (awsJson1_0, `X-Amz-Target: AmazonSQS.*`), `DelaySeconds`
 *   honoured; a consumer polls it as Lambda's event source mapping does: batches of up to
 *   `batchSize` records in the SQS event shape, `concurrency` batches at a time,
 *   `batchItemFailures` (and a thrown batch) seen again after `visibilityTimeoutMs`, and after
 *   `maxReceiveCount` receives kept in `deadLetters` (what the DLQ would hold).
 * - Scheduler `CreateSchedule` (`POST /schedules/{name}`) with `at(…)`: a timer that sends the
 *   target's `Input` to the queue when due (the schedule then deletes itself, as
 *   `ActionAfterCompletion: DELETE` does).
 *
 * With `persistFile` (`npm start`: `$DATA_DIR/webhook-queue.json`) every message not yet handled —
 * waiting, delayed (a retry), due from a schedule, or being handled — is also written there (the
 * whole set, atomically by rename, at most every `persistEveryMs`), and read back at start: a
 * restart keeps the queued retries, each due when it was (or at once, if that passed while the
 * server was down); a message that was being handled is handled again (at least once, as SQS
 * does). What was queued in the last `persistEveryMs` before a crash (not a clean stop) can be lost.
 * Without it (tests, the benchmark), messages live in memory only.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { listenLoopback, readRequestBody } from './loopback.ts';

export interface LocalWebhookQueueOptions {
  consume: (event: SQSEvent) => Promise<SQSBatchResponse | undefined | unknown>;
  batchSize?: number;
  /** Waits this long for a fuller batch (Lambda's MaximumBatchingWindowInSeconds); default 0. */
  batchWindowMs?: number;
  concurrency?: number;
  visibilityTimeoutMs?: number;
  maxReceiveCount?: number;
  queueArn?: string;
  log?: (message: string, extra?: unknown) => void;
  /** Keep the messages not yet handled in this file across restarts (see above). */
  persistFile?: string;
  /** At most one write of `persistFile` per this many ms; default 50. */
  persistEveryMs?: number;
  /** Listen on this port (default: any free one); a restart in a test takes the same. */
  port?: number;
}

interface Message {
  id: string;
  body: string;
  receiveCount: number;
  sentAt: number;
  /** When it may be received (delay, schedule, visibility timeout); what a restart honours. */
  dueAt: number;
}

export interface LocalWebhookQueue {
  endpoint: string;
  queueUrl: string;
  queueArn: string;
  /** Sends a message as SQS would receive it (the EventBridge rule's target). */
  send(body: string, delayMs?: number): void;
  deadLetters: { body: string; receiveCount: number }[];
  /** Messages waiting, delayed, or being handled, and schedules not yet due. */
  pending(): number;
  /** Resolves when nothing is waiting or being handled (delayed messages and schedules not counted). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** What SQS answers for a body (the SDK checks it). */
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

export async function startLocalWebhookQueue(options: LocalWebhookQueueOptions): Promise<LocalWebhookQueue> {
  const batchSize = options.batchSize ?? 10;
  const batchWindowMs = options.batchWindowMs ?? 0;
  let windowTimer: NodeJS.Timeout | undefined;
  const concurrency = options.concurrency ?? 4;
  const visibilityTimeoutMs = options.visibilityTimeoutMs ?? 2_000;
  const maxReceiveCount = options.maxReceiveCount ?? 5;
  const queueArn = options.queueArn ?? 'arn:aws:sqs:us-east-1:000000000000:partner-payouts-webhooks';
  const log = options.log ?? (() => undefined);
  const ready: Message[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const deadLetters: { body: string; receiveCount: number }[] = [];
  let running = 0;
  let closed = false;
  let idleWaiters: (() => void)[] = [];
  // Every message not yet handled (deleted or dead-lettered), for `persistFile`.
  const unhandled = new Map<string, Message>();
  const persistEveryMs = options.persistEveryMs ?? 50;
  let persistTimer: NodeJS.Timeout | undefined;

  function writeNow(): void {
    if (!options.persistFile) return;
    const temporary = `${options.persistFile}.tmp`;
    writeFileSync(temporary, JSON.stringify([...unhandled.values()]));
    renameSync(temporary, options.persistFile);
  }

  function persist(): void {
    if (!options.persistFile || closed || persistTimer) return;
    persistTimer = setTimeout(() => {
      persistTimer = undefined;
      try {
        writeNow();
      } catch (error) {
        log('webhook queue: could not persist', { error: String(error) });
      }
    }, persistEveryMs);
  }

  function handled(message: Message): void {
    unhandled.delete(message.id);
    persist();
  }

  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        run();
      },
      Math.max(0, ms),
    );
    timers.add(timer);
  };

  function checkIdle(): void {
    if (ready.length === 0 && running === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  function makeReady(message: Message): void {
    if (closed) return;
    ready.push(message);
    pump();
  }

  function enqueue(message: Message): void {
    unhandled.set(message.id, message);
    persist();
    const delayMs = message.dueAt - Date.now();
    if (delayMs > 0) later(delayMs, () => makeReady(message));
    else makeReady(message);
  }

  function send(body: string, delayMs = 0): void {
    const now = Date.now();
    enqueue({ id: randomUUID(), body, receiveCount: 0, sentAt: now, dueAt: now + Math.max(0, delayMs) });
  }

  function record(message: Message): SQSRecord {
    return {
      messageId: message.id,
      receiptHandle: `${message.id}:${message.receiveCount}`,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
    };
  }

  function returnOrDeadLetter(message: Message): void {
    if (message.receiveCount >= maxReceiveCount) {
      deadLetters.push({ body: message.body, receiveCount: message.receiveCount });
      log('webhook queue: message dead-lettered', { id: message.id });
      handled(message);
      return;
    }
    message.dueAt = Date.now() + visibilityTimeoutMs;
    persist();
    later(visibilityTimeoutMs, () => makeReady(message));
  }

  function pump(windowOver = false): void {
    if (!windowOver && batchWindowMs > 0 && ready.length > 0 && ready.length < batchSize) {
      windowTimer ??= setTimeout(() => {
        windowTimer = undefined;
        pump(true);
      }, batchWindowMs);
      return;
    }
    while (!closed && running < concurrency && ready.length > 0) {
      const batch = ready.splice(0, batchSize);
      for (const message of batch) message.receiveCount++;
      running++;
      const event: SQSEvent = { Records: batch.map(record) };
      Promise.resolve()
        .then(() => options.consume(event))
        .then(
          (response) => {
            const failed = new Set(
              ((response as SQSBatchResponse | undefined)?.batchItemFailures ?? []).map(
                (failure) => failure.itemIdentifier,
              ),
            );
            for (const message of batch) {
              if (failed.has(message.id)) returnOrDeadLetter(message);
              else handled(message);
            }
          },
          (error: unknown) => {
            log('webhook queue: batch failed', { error: String(error) });
            for (const message of batch) returnOrDeadLetter(message);
          },
        )
        .finally(() => {
          running--;
          pump(true);
          checkIdle();
        });
    }
  }

  // ---------------------------------------------------------------- the two APIs

  function sqs(target: string, body: Record<string, unknown>): Record<string, unknown> {
    if (target === 'AmazonSQS.SendMessage') {
      const text = String(body.MessageBody ?? '');
      send(text, Number(body.DelaySeconds ?? 0) * 1000);
      return { MessageId: randomUUID(), MD5OfMessageBody: md5(text) };
    }
    if (target === 'AmazonSQS.SendMessageBatch') {
      const entries = Array.isArray(body.Entries) ? (body.Entries as Record<string, unknown>[]) : [];
      if (entries.length < 1 || entries.length > 10) throw new Error('TooManyEntriesInBatchRequest');
      const successful = entries.map((entry) => {
        const text = String(entry.MessageBody ?? '');
        send(text, Number(entry.DelaySeconds ?? 0) * 1000);
        return { Id: entry.Id, MessageId: randomUUID(), MD5OfMessageBody: md5(text) };
      });
      return { Successful: successful, Failed: [] };
    }
    throw new Error(`Unsupported operation ${target}`);
  }

  function schedule(body: Record<string, unknown>): Record<string, unknown> {
    const expression = String(body.ScheduleExpression ?? '');
    const at = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(expression)?.[1];
    if (!at) throw new Error(`Only one-time at(...) schedules are supported, not ${expression}`);
    const target = (body.Target ?? {}) as { Arn?: string; Input?: string };
    if (target.Arn !== queueArn) throw new Error(`Unknown schedule target ${target.Arn}`);
    // Kept as a message due then (what the schedule sends to the queue when it fires).
    send(String(target.Input ?? ''), Date.parse(`${at}Z`) - Date.now());
    return { ScheduleArn: `arn:aws:scheduler:us-east-1:000000000000:schedule/default/${randomUUID()}` };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readRequestBody(req);
    let status = 200;
    let payload: Record<string, unknown>;
    try {
      const body = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
      const target = req.headers['x-amz-target'];
      if (typeof target === 'string') payload = sqs(target, body);
      else if (req.method === 'POST' && req.url?.startsWith('/schedules/')) payload = schedule(body);
      else throw new Error(`Unsupported request ${req.method} ${req.url}`);
    } catch (error) {
      status = 400;
      payload = {
        __type: 'ValidationException',
        message: error instanceof Error ? error.message : String(error),
      };
    }
    const text = JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  // What the last run left: every message due when it was (a message being handled, again).
  if (options.persistFile && existsSync(options.persistFile)) {
    const kept = JSON.parse(readFileSync(options.persistFile, 'utf8')) as Message[];
    for (const message of kept) enqueue(message);
    if (kept.length > 0) log('webhook queue: restored messages', { count: kept.length });
  }

  const loopback = await listenLoopback('the SQS stand-in', handle, { port: options.port });
  const endpoint = loopback.endpoint;
  return {
    endpoint,
    queueUrl: `${endpoint}/000000000000/partner-payouts-webhooks`,
    queueArn,
    send,
    deadLetters,
    pending: () => ready.length + running + timers.size,
    idle(): Promise<void> {
      if (ready.length === 0 && running === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    async close(): Promise<void> {
      // The messages not handled yet are kept for the next start (before the in-memory ones go).
      if (persistTimer) clearTimeout(persistTimer);
      persistTimer = undefined;
      writeNow();
      closed = true;
      if (windowTimer) clearTimeout(windowTimer);
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      ready.length = 0;
      checkIdle();
      await loopback.close();
    },
  };
}
