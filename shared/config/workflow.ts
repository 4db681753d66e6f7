/** Workflow timing, read from the environment (set by the stack, or by `npm start`). */
import { ENV } from './env.ts';
export interface WorkflowSettings {
  waitSeconds: number;
  /** The wait on a processing payout: PROCESSING_REMINDER_DAYS (PROCESSING_REMINDER_SECONDS locally). */
  processingWaitSeconds: number;
  maxReminders: number;
  /** Continue as new after this long (Standard executions end after one year). */
  maxExecutionAgeMs: number;
}

export function workflowSettings(): WorkflowSettings {
  const interval = Number(process.env[ENV.reminderIntervalSeconds] ?? 3 * 24 * 3600);
  const max = Number(process.env[ENV.maxReminders] ?? 5);
  const days = Number(process.env[ENV.processingReminderDays] ?? 5);
  const seconds = Number(process.env[ENV.processingReminderSeconds] ?? Number.NaN);
  return {
    waitSeconds: Number.isSafeInteger(interval) && interval > 0 ? interval : 3 * 24 * 3600,
    processingWaitSeconds:
      Number.isSafeInteger(seconds) && seconds > 0
        ? seconds
        : (Number.isSafeInteger(days) && days > 0 ? days : 5) * 24 * 3600,
    maxReminders: Number.isSafeInteger(max) && max >= 0 ? max : 5,
    maxExecutionAgeMs: 350 * 24 * 3600 * 1000,
  };
}
