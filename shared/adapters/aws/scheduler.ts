/**
 * EventBridge Scheduler CreateSchedule (REST JSON: `POST /schedules/{Name}`), signed by hand: see
 * request.ts for why not the SDK client. Used for one-time `at(…)` schedules that deliver a message
 * to an SQS queue later than SQS's own 15-minute delay allows.
 */

import { uriEscape } from './endpoints.ts';
import { sendSigned, serviceTarget } from './request.ts';

export interface OneTimeSchedule {
  name: string;
  groupName?: string | undefined;
  at: Date;
  /** The target: an SQS queue ARN (SendMessage with `input` as the body). */
  targetArn: string;
  roleArn: string;
  input: string;
  /** Where a schedule that could not send its message for 24 h puts it. */
  deadLetterArn?: string | undefined;
}

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC, to the second. */
export function atExpression(at: Date): string {
  return `at(${at.toISOString().slice(0, 19)})`;
}

/** Creates the schedule; it deletes itself after it fired. An existing one (a retry) is success. */
export async function createOneTimeSchedule(schedule: OneTimeSchedule): Promise<void> {
  const { origin, basePath } = serviceTarget('scheduler');
  try {
    await sendSigned({
      service: 'scheduler',
      operation: 'CreateSchedule',
      method: 'POST',
      origin,
      path: `${basePath}/schedules/${uriEscape(schedule.name)}`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ScheduleExpression: atExpression(schedule.at),
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        ...(schedule.groupName ? { GroupName: schedule.groupName } : {}),
        Target: {
          Arn: schedule.targetArn,
          RoleArn: schedule.roleArn,
          Input: schedule.input,
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
          ...(schedule.deadLetterArn ? { DeadLetterConfig: { Arn: schedule.deadLetterArn } } : {}),
        },
      }),
      errors: 'json',
    });
  } catch (error) {
    if (error instanceof Error && error.name === 'ConflictException') return;
    throw error;
  }
}
