/** Settings of the lifecycle after `ready` (returns, reminders of payouts without an outcome). */
import { DEFAULT_RETURN_WINDOW_DAYS } from '../domain/payout-rules.ts';
import { ENV, intEnv } from './env.ts';

export const DEFAULT_PROCESSING_REMINDER_DAYS = 5;

/** RETURN_WINDOW_DAYS: how long after its payment a payout may be marked failed (returned) by hand. */
export function returnWindowDays(): number {
  return intEnv(ENV.returnWindowDays, DEFAULT_RETURN_WINDOW_DAYS);
}

/** PROCESSING_REMINDER_DAYS: a processing payout without an outcome this long reminds the manager. */
export function processingReminderDays(): number {
  return Math.max(1, intEnv(ENV.processingReminderDays, DEFAULT_PROCESSING_REMINDER_DAYS));
}
