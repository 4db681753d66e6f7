/**
 * Each e-mail once (issue 13 §2): the notifier Lambda, called as the bus's rule calls it, against
 * dynalite (idempotency records) and the local SES stand-in (one .eml file per e-mail sent). The same
 * event delivered twice, one after the other or at the same time, sends one e-mail; another history
 * entry sends its own.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../infra/local/functions.ts';
import { startLocalSes } from '../../infra/local/ses.ts';
import { dynamo } from '../../shared/adapters/clients.ts';
import { ENV, requireEnv } from '../../shared/config/env.ts';
import { newId } from '../../shared/domain/ids.ts';
import { expectOk } from '../support/expect.ts';
import { call, manager } from '../support/http.ts';

const mailDir = mkdtempSync(join(tmpdir(), 'notifier-mail-'));
let ses: Awaited<ReturnType<typeof startLocalSes>>;
let handler: (event: unknown, context: unknown) => Promise<unknown>;

beforeAll(async () => {
  ses = await startLocalSes({ mailDir });
  process.env.AWS_ENDPOINT_URL_SESV2 = ses.endpoint;
  ({ handler } = (await import('../../functions/notifier/handler.ts')) as unknown as {
    handler: typeof handler;
  });
});
afterAll(async () => {
  await ses?.close();
});

function mailsTo(email: string): string[] {
  return readdirSync(mailDir)
    .filter((file) => file.endsWith('.eml'))
    .filter((file) =>
      new RegExp(`^To: <?${email.replace(/[.+]/g, '\\$&')}>?$`, 'm').test(
        readFileSync(join(mailDir, file), 'utf8'),
      ),
    );
}

async function validatedEvent(): Promise<{
  email: string;
  event: (entryId: string) => EventBridgeEvent<string, unknown>;
}> {
  const email = `notify+${randomUUID().slice(0, 8)}@example.com`;
  const partner = expectOk(
    await call(manager, 'POST', '/partners', { body: { name: 'Notified Partner', email } }),
    201,
  );
  const at = new Date().toISOString();
  const payout = {
    id: newId('payout'),
    partnerId: partner.id,
    currency: 'EUR',
    status: 'pending',
    amount: 12_345,
    rewardCount: 2,
    requirements: { invoice: false, rewardReview: false },
    createdAt: at,
    updatedAt: at,
    version: 2,
  };
  return {
    email,
    event: (entryId) => ({
      version: '0',
      id: randomUUID(), // EventBridge's own id differs per delivery; the entry id does not
      'detail-type': 'payout.validated',
      source: 'partner-payouts',
      account: '000000000000',
      time: at,
      region: 'us-east-1',
      resources: [entryId],
      detail: {
        ...payout,
        event: { id: entryId, type: 'payout.validated', at, actor: { role: 'manager', id: 'm' } },
      },
    }),
  };
}

describe('notifier: each e-mail once per history entry', () => {
  it('sends one e-mail for the same event delivered twice in a row', async () => {
    const { email, event } = await validatedEvent();
    const entryId = newId('event');
    const first = await handler(event(entryId), lambdaContext('notifier'));
    const second = await handler(event(entryId), lambdaContext('notifier'));
    expect(first).toEqual({ outcome: 'sent' });
    expect(second).toEqual({ outcome: 'sent' }); // the stored result, replayed
    expect(mailsTo(email)).toHaveLength(1);

    // Another entry (e.g. a second validation round) is another e-mail.
    await handler(event(newId('event')), lambdaContext('notifier'));
    expect(mailsTo(email)).toHaveLength(2);
  });

  it('sends one e-mail when two deliveries of one event run at the same time', async () => {
    const { email, event } = await validatedEvent();
    const entryId = newId('event');
    const results = await Promise.allSettled([
      handler(event(entryId), lambdaContext('notifier')),
      handler(event(entryId), lambdaContext('notifier')),
    ]);
    // One sends; the other either replays its result or fails as in progress (and its retry replays).
    for (const result of results) {
      if (result.status === 'rejected') {
        expect((result.reason as Error).name).toBe('IdempotencyAlreadyInProgressError');
      }
    }
    expect(results.some((result) => result.status === 'fulfilled')).toBe(true);
    const retry = await handler(event(entryId), lambdaContext('notifier'));
    expect(retry).toEqual({ outcome: 'sent' });
    expect(mailsTo(email)).toHaveLength(1);
  });

  it('leaves the record of the delivery that is sending alone when it refuses a duplicate', async () => {
    // Another container holds the entry (its record, as Powertools writes it: `notifier#` + the
    // base64 MD5 of the key's JSON). Deterministic, unlike the race above: the duplicate must be
    // refused and the holder's record kept; deleting it would let the duplicate's retry send again
    // (what Powertools 2.35's Middy middleware did: powertools-lambda-typescript#5675).
    const { email, event } = await validatedEvent();
    const entryId = newId('event');
    const TableName = requireEnv(ENV.idempotencyTableName);
    const id = `notifier#${createHash('md5').update(JSON.stringify(entryId)).digest('base64')}`;
    const now = Date.now();
    const held = {
      id,
      status: 'INPROGRESS',
      expiration: Math.floor(now / 1000) + 3600,
      in_progress_expiration: now + 60_000,
    };
    await dynamo().send(new PutCommand({ TableName, Item: held }));

    await expect(handler(event(entryId), lambdaContext('notifier'))).rejects.toMatchObject({
      name: 'IdempotencyAlreadyInProgressError',
    });
    const record = await dynamo().send(new GetCommand({ TableName, Key: { id }, ConsistentRead: true }));
    expect(record.Item).toEqual(held);
    expect(mailsTo(email)).toHaveLength(0);
  });
});
