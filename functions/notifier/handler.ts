/**
 * E-mails partners and managers about payout events from the bus (rule: NOTIFIED_EVENT_TYPES).
 * Events arrive at least once (the bus and the rule retry, a timed-out invocation is retried, the
 * workflow publishes again after a crash): the handler is idempotent on the history entry's id
 * (`detail.event.id`) with Powertools idempotency, so each entry sends its e-mail once. A second
 * delivery while the first is still sending fails (IdempotencyAlreadyInProgressError) and its retry
 * finds the first one done; a failed send releases the key so the retry sends. Records expire after
 * NOTIFY_IDEMPOTENCY_SECONDS (3 days), longer than every retry window.
 */
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import { logger } from '#shared/adapters/observability.ts';
import { ENV, optionalEnv, requireEnv } from '#shared/config/env.ts';
import type { Payout, PayoutEvent } from '#shared/domain/schemas.ts';
import { notify } from '#shared/usecases/notifications.ts';

const settings = {
  mailFrom: requireEnv(ENV.mailFrom),
  managerEmail: requireEnv(ENV.managerEmail),
  portalUrl: optionalEnv(ENV.portalUrl, 'https://partners.example.com'),
};

/** Longer than EventBridge's 24 h of retries and the Lambda's async retries. */
export const NOTIFY_IDEMPOTENCY_SECONDS = 3 * 24 * 60 * 60;

const persistenceStore = new DynamoDBPersistenceLayer({ tableName: requireEnv(ENV.idempotencyTableName) });
const config = new IdempotencyConfig({
  eventKeyJmesPath: 'detail.event.id',
  expiresAfterSeconds: NOTIFY_IDEMPOTENCY_SECONDS,
  throwOnNoIdempotencyKey: true,
});

async function handle(event: EventBridgeEvent<string, Payout & { event?: PayoutEvent }>) {
  const outcome = await notify(event['detail-type'], event.detail, settings);
  logger.info('Notification', {
    type: event['detail-type'],
    payoutId: event.detail.id,
    entryId: event.detail.event?.id,
    outcome,
  });
  return { outcome };
}

/**
 * The function wrapper, not Powertools' Middy middleware: in Powertools 2.35 the middleware's onError
 * also runs when its own `before` rejects a duplicate (IdempotencyAlreadyInProgressError), and deletes
 * the record the first delivery still holds, so that duplicate's retry sends the e-mail again
 * (aws-powertools/powertools-lambda-typescript#5675, fixed after 2.35 by #5676). The wrapper deletes
 * the record only when `handle` itself throws. Same records, same `notifier` key prefix.
 */
const sendOnce = makeIdempotent(handle, { persistenceStore, config, keyPrefix: 'notifier' });

export const handler = middy(sendOnce).use(injectLambdaContext(logger, { resetKeys: true }));
