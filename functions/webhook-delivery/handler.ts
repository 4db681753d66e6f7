/**
 * The webhook queue's consumer: bus events (from the EventBridge rule) fan out into one delivery per
 * subscribed endpoint, whose first attempt is made right away; delivery messages (retries, replays)
 * are attempted. A record that throws is reported
 * alone (ReportBatchItemFailures) and comes back after the visibility timeout; after
 * maxReceiveCount it goes to the DLQ. Every few minutes a schedule also calls it to sweep the outbox.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { logger } from '#shared/adapters/observability.ts';
import type { BusEvent } from '#shared/domain/webhooks.ts';
import { sweepRecordedEvents } from '#shared/usecases/outbox-sweep.ts';
import { type DeliveryMessage, deliver, fanOut } from '#shared/usecases/webhook-delivery.ts';

async function handle(
  event: SQSEvent | { kind: 'sweep' },
): Promise<SQSBatchResponse | { published: number }> {
  // The schedule's call: publish events recorded with a change but not published (../adapters/outbox.ts).
  if ('kind' in event) return { published: await sweepRecordedEvents() };
  const failures: { itemIdentifier: string }[] = [];
  const busEvents: { id: string; event: BusEvent }[] = [];
  const deliveries: { id: string; message: DeliveryMessage }[] = [];
  for (const record of event.Records) {
    try {
      const body = JSON.parse(record.body) as Record<string, unknown>;
      if (body.kind === 'deliver')
        deliveries.push({ id: record.messageId, message: body as unknown as DeliveryMessage });
      else if (typeof body['detail-type'] === 'string')
        busEvents.push({ id: record.messageId, event: body as unknown as BusEvent });
      else logger.error('Unknown webhook message dropped', { messageId: record.messageId });
    } catch {
      logger.error('Unreadable webhook message dropped', { messageId: record.messageId });
    }
  }
  // New events (fanned out, their first attempts made) and retries, side by side.
  await Promise.all([
    fanOut(busEvents.map((entry) => ({ messageId: entry.id, event: entry.event }))).catch(
      (error: unknown) => {
        logger.error('Webhook fan-out failed', { error });
        failures.push(...busEvents.map((entry) => ({ itemIdentifier: entry.id })));
      },
    ),
    deliver(deliveries.map((entry) => entry.message)).catch((error: unknown) => {
      logger.error('Webhook delivery failed', { error });
      failures.push(...deliveries.map((entry) => ({ itemIdentifier: entry.id })));
    }),
  ]);
  return { batchItemFailures: failures };
}

export const handler = middy(handle).use(injectLambdaContext(logger, { resetKeys: true }));
