/** Drafting configuration, read once from the environment (fail fast on a malformed value). */
import { parseMinimums } from '../domain/drafting.ts';
import { ENV, intEnv } from './env.ts';

export interface DraftingConfig {
  holdingPeriodDays: number;
  minimums: ReadonlyMap<string, number>;
}

export function draftingConfig(): DraftingConfig {
  return {
    holdingPeriodDays: intEnv(ENV.holdingPeriodDays, 0),
    minimums: parseMinimums(process.env[ENV.minPayoutAmounts]),
  };
}

/** The default schedule: the 1st of each month at 02:00 (EventBridge Scheduler cron syntax). */
export const DEFAULT_PAYOUT_SCHEDULE = 'cron(0 2 1 * ? *)';
