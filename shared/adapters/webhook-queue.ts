/**
 * The webhook queue: one SQS queue (with a DLQ) carries both the bus's events (an EventBridge rule
 * targets it) and the delivery attempts the fan-out and the retries enqueue. A wait up to SQS's
 * 15 minutes is a message delay; a longer one is an EventBridge Scheduler one-time schedule that
 * sends the message to the queue when it is due (and deletes itself). Locally `npm start` answers
 * both APIs with small stand-ins (infra/local/webhook-queue.ts).
 */
import { ENV } from '../config/env.ts';
import type { WebhookEvent } from '../domain/webhooks.ts';
import { createOneTimeSchedule } from './aws/scheduler.ts';
import { type SqsEntry, sendMessages } from './aws/sqs.ts';

/** One delivery attempt of one event to one endpoint. */
export interface DeliveryMessage {
  kind: 'deliver';
  endpointId: string;
  event: WebhookEvent;
  attempt: number;
  replay?: boolean;
}

export const MAX_SQS_DELAY_MS = 900_000;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Missing environment variable ${name}`);
  return value;
}

/** Enqueues each message after its delay (0 = now); ids make schedule names unique. */
export async function enqueueDeliveries(
  messages: readonly { id: string; message: DeliveryMessage; delayMs: number }[],
): Promise<void> {
  const soon: SqsEntry[] = [];
  const later: (typeof messages)[number][] = [];
  for (const entry of messages) {
    if (entry.delayMs <= MAX_SQS_DELAY_MS) {
      soon.push({
        Id: entry.id.replace(/[^A-Za-z0-9_-]/g, '').slice(-80),
        MessageBody: JSON.stringify(entry.message),
        DelaySeconds: Math.min(900, Math.round(entry.delayMs / 1000)),
      });
    } else later.push(entry);
  }
  if (soon.length > 0) await sendMessages(required(ENV.webhookQueueUrl), soon);
  for (const entry of later) {
    await createOneTimeSchedule({
      name: `webhook-${entry.id}`.slice(0, 64),
      groupName: process.env[ENV.webhookScheduleGroup] || undefined,
      at: new Date(Date.now() + entry.delayMs),
      targetArn: required(ENV.webhookQueueArn),
      roleArn: required(ENV.webhookSchedulerRoleArn),
      input: JSON.stringify(entry.message),
      deadLetterArn: process.env[ENV.webhookDlqArn] || undefined,
    });
  }
}
