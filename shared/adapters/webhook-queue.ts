/**
 * The webhook queue: one SQS queue (with a DLQ) carries both the bus's events (an EventBridge rule
 * targets it) and the delivery attempts the fan-out and the retries enqueue. A wait up to SQS's
 * 15 minutes is a message delay; a longer one is an EventBridge Scheduler one-time schedule that
 * sends the message to the queue when it is due (and deletes itself). Locally `npm start` answers
 * both APIs with small stand-ins (infra/local/webhook-queue.ts).
 */

import { CreateScheduleCommand } from '@aws-sdk/client-scheduler';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { ENV } from '../config/env.ts';
import type { WebhookEvent } from '../domain/webhooks.ts';
import { scheduler, sqs } from './clients.ts';

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
  const soon: SendMessageBatchRequestEntry[] = [];
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
    await createOneTimeSchedule(
      `webhook-${entry.id}`.slice(0, 64),
      new Date(Date.now() + entry.delayMs),
      entry.message,
    );
  }
}

/** Sends up to 10 messages per call; throws if any failed, so the caller's retry sends them again. */
async function sendMessages(
  queueUrl: string,
  entries: readonly SendMessageBatchRequestEntry[],
): Promise<void> {
  for (let start = 0; start < entries.length; start += 10) {
    const output = await sqs().send(
      new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries.slice(start, start + 10) }),
    );
    if ((output.Failed ?? []).length > 0) {
      const codes = (output.Failed ?? []).map((failure) => failure.Code).join(', ');
      throw new Error(`SendMessageBatch failed for ${output.Failed?.length} entries: ${codes}`);
    }
  }
}

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC, to the second. */
export function atExpression(at: Date): string {
  return `at(${at.toISOString().slice(0, 19)})`;
}

/**
 * A one-time schedule that sends the message to the queue when due and then deletes itself; if it
 * cannot send for 24 h, the message goes to the DLQ. An existing one (a retry) is success.
 */
async function createOneTimeSchedule(name: string, at: Date, message: DeliveryMessage): Promise<void> {
  const deadLetterArn = process.env[ENV.webhookDlqArn];
  try {
    await scheduler().send(
      new CreateScheduleCommand({
        Name: name,
        GroupName: process.env[ENV.webhookScheduleGroup] || undefined,
        ScheduleExpression: atExpression(at),
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Target: {
          Arn: required(ENV.webhookQueueArn),
          RoleArn: required(ENV.webhookSchedulerRoleArn),
          Input: JSON.stringify(message),
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
          ...(deadLetterArn ? { DeadLetterConfig: { Arn: deadLetterArn } } : {}),
        },
      }),
    );
  } catch (error) {
    if (error instanceof Error && error.name === 'ConflictException') return;
    throw error;
  }
}
