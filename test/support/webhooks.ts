/**
 * Webhook test harness: loopback receivers (127.0.0.1 only) that verify every delivery with the
 * `standardwebhooks` package, as an integrator's receiver would (not with the sender's code), and
 * the local webhook pipeline (bus rule → queue stand-in → the real webhook-delivery handler → the
 * receivers) wired to the shared dynalite.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { startLocalEventBridge } from '../../infra/local/eventbridge.ts';
import { invokeLocal } from '../../infra/local/functions.ts';
import { LOCAL_NAMES } from '../../infra/local/runtime.ts';
import { startLocalSes } from '../../infra/local/ses.ts';
import { startLocalWebhookQueue } from '../../infra/local/webhook-queue.ts';
import { EVENT_SOURCE } from '../../shared/adapters/events.ts';
import { resetWebhookSettings } from '../../shared/config/webhooks.ts';

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  type: string;
  data: any;
  at: number;
  /** Which of the receiver's secrets verified it (`standardwebhooks`), by index. */
  verifiedBy: number[];
  answered: number;
}

export type Behaviour = (
  count: number,
  received: Received,
) => { status: number; headers?: Record<string, string>; body?: string };

export interface Receiver {
  url: string;
  received: Received[];
  secrets: string[];
  behave: Behaviour;
  close(): Promise<void>;
}

/** A receiver on 127.0.0.1 that verifies with each of `secrets` (set them after creating the endpoint). */
export async function startReceiver(behave: Behaviour = () => ({ status: 204 })): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    received: [],
    secrets: [],
    behave,
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = req.headers as IncomingHttpHeaders & Record<string, string>;
      const verifiedBy: number[] = [];
      receiver.secrets.forEach((secret, index) => {
        try {
          new Webhook(secret).verify(body, {
            'webhook-id': headers['webhook-id'] ?? '',
            'webhook-timestamp': headers['webhook-timestamp'] ?? '',
            'webhook-signature': headers['webhook-signature'] ?? '',
          });
          verifiedBy.push(index);
        } catch {
          // not signed with this secret
        }
      });
      let parsed: any = {};
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = {};
      }
      const entry: Received = {
        id: headers['webhook-id'] ?? '',
        timestamp: headers['webhook-timestamp'] ?? '',
        signature: headers['webhook-signature'] ?? '',
        body,
        type: parsed.type,
        data: parsed.data,
        at: Date.now(),
        verifiedBy,
        answered: 0,
      };
      const answer = receiver.behave(receiver.received.length + 1, entry);
      entry.answered = answer.status;
      receiver.received.push(entry);
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return receiver;
}

export interface Pipeline {
  mailDir: string;
  publishedCount(): number;
  deadLetters(): unknown[];
  mails(): string[];
  /** Stops the queue stand-in and starts it again on the same port (what a restart of `npm start` does to it). */
  restartQueue(): Promise<void>;
  /** Resolves when the queue has nothing waiting or being handled (delayed messages not counted). */
  queueIdle(): Promise<void>;
  close(): Promise<void>;
}

/** The bus, the queue stand-in (with the real handler) and SES, for this test worker. */
export async function startPipeline(
  env: Record<string, string>,
  options: { queueFile?: string } = {},
): Promise<Pipeline> {
  for (const [name, value] of Object.entries(env)) process.env[name] = value;
  resetWebhookSettings();
  const mailDir = mkdtempSync(join(tmpdir(), 'webhook-mail-'));
  const ses = await startLocalSes({ mailDir });
  const startQueue = (port?: number) =>
    startLocalWebhookQueue({
      visibilityTimeoutMs: 200,
      consume: async (event) => {
        const { handler } = await import('../../functions/webhook-delivery/handler.ts');
        return invokeLocal(LOCAL_NAMES.webhookDeliveryFunction, handler, event, 60_000);
      },
      ...(options.queueFile ? { persistFile: options.queueFile } : {}),
      ...(port ? { port } : {}),
    });
  let queue = await startQueue();
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
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = bus.endpoint;
  process.env.AWS_ENDPOINT_URL_SESV2 = ses.endpoint;
  process.env.AWS_ENDPOINT_URL_SQS = queue.endpoint;
  process.env.AWS_ENDPOINT_URL_SCHEDULER = queue.endpoint;
  process.env.WEBHOOK_QUEUE_URL = queue.queueUrl;
  process.env.WEBHOOK_QUEUE_ARN = queue.queueArn;
  process.env.WEBHOOK_SCHEDULER_ROLE_ARN = 'arn:aws:iam::000000000000:role/test';
  return {
    mailDir,
    publishedCount: () => bus.published.length,
    deadLetters: () => [...bus.deadLetters, ...queue.deadLetters],
    mails: () =>
      readdirSync(mailDir)
        .sort()
        .map((name) => readFileSync(join(mailDir, name), 'utf8')),
    queueIdle: () => queue.idle(),
    restartQueue: async () => {
      await queue.close();
      queue = await startQueue(Number(new URL(queue.endpoint).port));
    },
    close: async () => {
      await bus.close();
      await queue.close();
      await ses.close();
    },
  };
}

export { eventually, sleep } from './eventually.ts';
