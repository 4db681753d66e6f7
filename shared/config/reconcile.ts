/** The reconciler's timing, read from the environment (set by the stack, or by `npm start`). */
import { ENV, intEnv } from './env.ts';

export interface ReconcileSettings {
  /** How often the reconciler runs. */
  intervalMinutes: number;
  /**
   * How late past its wait's timeout a workflow may report before it counts as overdue: covers
   * Sync's retries (≤ ~17 min with its backoff) and the Recover wait, so a live execution is not
   * described for nothing.
   */
  marginSeconds: number;
}

export const DEFAULT_RECONCILE_INTERVAL_MINUTES = 15;
export const DEFAULT_RECONCILE_MARGIN_SECONDS = 1800;

export function reconcileSettings(): ReconcileSettings {
  const interval = intEnv(ENV.reconcileIntervalMinutes, DEFAULT_RECONCILE_INTERVAL_MINUTES);
  return {
    intervalMinutes: interval > 0 ? interval : DEFAULT_RECONCILE_INTERVAL_MINUTES,
    marginSeconds: intEnv(ENV.reconcileMarginSeconds, DEFAULT_RECONCILE_MARGIN_SECONDS),
  };
}
