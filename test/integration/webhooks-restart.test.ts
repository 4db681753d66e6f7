/**
 * `npm start`'s queue stand-in keeps what it has not handled yet in a file under DATA_DIR: a retry
 * queued before a restart is still delivered after it, once, with the same `webhook-id`. The real
 * webhooks and webhook-delivery handlers against dynalite; the queue stand-in is stopped and started
 * again on the same port (what a restart of `npm start` does to it); the receiver verifies with
 * `standardwebhooks`.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { expectOk } from '../support/expect.ts';
import { call, manager } from '../support/http.ts';
import {
  eventually,
  type Pipeline,
  type Receiver,
  sleep,
  startPipeline,
  startReceiver,
} from '../support/webhooks.ts';

vi.setConfig({ testTimeout: 60_000 });

let pipeline: Pipeline;
let receiver: Receiver;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'webhook-queue-'));
  pipeline = await startPipeline(
    { WEBHOOKS_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_SCHEDULE: '10ms,10ms' },
    { queueFile: join(dir, 'webhook-queue.json') },
  );
  // The first attempt asks to be retried in 3 s (Retry-After): the retry waits in the queue.
  receiver = await startReceiver((count) =>
    count === 1 ? { status: 503, headers: { 'retry-after': '3' } } : { status: 200 },
  );
});

afterAll(async () => {
  await receiver?.close();
  await pipeline?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('a retry queued before a restart is delivered after it, once, with the same webhook-id', async () => {
  const endpoint = expectOk(
    await call(manager, 'POST', '/webhook-endpoints', {
      body: { url: receiver.url, eventTypes: ['reward.created'] },
    }),
    201,
  );
  receiver.secrets = [endpoint.secret];
  const partnerId = expectOk(
    await call(manager, 'POST', '/partners', {
      body: {
        name: 'Restart Partner',
        email: `restart+${randomUUID()}@example.com`,
        payoutMethod: { type: 'paypal', email: 'restart@example.com' },
      },
    }),
    201,
  ).id;
  const reward = expectOk(
    await call(manager, 'POST', '/rewards', { body: { partnerId, amount: 500, currency: 'EUR' } }),
    201,
  );
  const first = await eventually('the first attempt', () =>
    receiver.received.find((item) => item.data?.id === reward.id),
  );
  expect(first.answered).toBe(503);
  await pipeline.queueIdle(); // the attempt is handled: logged, its retry queued 3 s ahead

  await pipeline.restartQueue();
  const file = join(dir, 'webhook-queue.json');
  expect(existsSync(file)).toBe(true);
  const kept = JSON.parse(readFileSync(file, 'utf8')) as { body: string }[];
  expect(kept.some((message) => message.body.includes(first.id))).toBe(true);

  const attempts = await eventually(
    'the retry after the restart',
    () => {
      const items = receiver.received.filter((item) => item.data?.id === reward.id);
      return items.length >= 2 ? items : undefined;
    },
    20_000,
  );
  expect(attempts[1]).toMatchObject({ id: first.id, answered: 200 });
  expect(attempts[1]?.verifiedBy).toEqual([0]);
  expect(attempts[1]?.at ?? 0).toBeGreaterThanOrEqual(first.at + 2_500);
  await sleep(500);
  expect(receiver.received.filter((item) => item.data?.id === reward.id)).toHaveLength(2);
  // Handled: nothing is kept any more.
  await sleep(200);
  expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([]);
});
