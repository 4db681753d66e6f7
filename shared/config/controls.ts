/** Four-eyes approval thresholds (`APPROVAL_THRESHOLDS`, e.g. `EUR:100000,USD:100000`; none by default). */
import { parseThresholds } from '../domain/controls.ts';
import { ENV, optionalEnv } from './env.ts';

let thresholds: Map<string, number> | undefined;

/** Read on first use (tests set the variable per file) and kept. */
export function approvalThresholds(): ReadonlyMap<string, number> {
  thresholds ??= parseThresholds(optionalEnv(ENV.approvalThresholds, ''), ENV.approvalThresholds);
  return thresholds;
}

/** The daily controls digest: every day at 07:00 UTC (EventBridge Scheduler cron). */
export const DIGEST_SCHEDULE = 'cron(0 7 * * ? *)';
