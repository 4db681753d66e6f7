/**
 * Exports left `building` by a crash: rolled back by every `POST /exports` and by the scheduled
 * reconciler (`exportRecoverer`, in ./recoverers.ts). Kept apart from ./exports.ts so the reconciler
 * does not bundle the file writers.
 */
import { buildingExportsBefore, findExport, markExportVoided } from '../adapters/export-store.ts';
import { logger } from '../adapters/observability.ts';
import type { Actor } from '../domain/schemas.ts';
import { releaseExportPayouts } from './export-void.ts';
import type { Recoverer, RecoveryReport } from './reconcile.ts';

/** A `building` export older than this was left by a crash (an export request lasts at most ~30 s). */
export const STALE_EXPORT_MS = 5 * 60 * 1000;

const SYSTEM: Actor = { role: 'system', id: 'exports' };

/**
 * Rolls back exports left `building` by a crash (older than `olderThanMs`): each becomes `voided`
 * (reason "incomplete") and every payout it had taken goes back to ready. Idempotent; safe to run
 * while exports are created. Returns the ids rolled back.
 */
export async function recoverExports(
  options: { olderThanMs?: number; limit?: number; now?: number } = {},
): Promise<string[]> {
  const now = options.now ?? Date.now();
  const before = new Date(now - (options.olderThanMs ?? STALE_EXPORT_MS)).toISOString();
  const ids = await buildingExportsBefore(before, options.limit ?? 10);
  const rolledBack: string[] = [];
  for (const id of ids) {
    const found = await findExport(id);
    if (!found) continue;
    const reason = 'incomplete: the export stopped half-way and was rolled back';
    if (found.record.status === 'building') {
      if (!(await markExportVoided(id, ['building'], reason, new Date(now).toISOString()))) continue;
    } else if (found.record.status !== 'voided') continue;
    await releaseExportPayouts(id, found.payoutIds, SYSTEM, 'payout.export_rolled_back', reason);
    rolledBack.push(id);
    logger.warn('Rolled back an export left building', { exportId: id });
  }
  return rolledBack;
}

/** Batches of stale exports per scheduled run: at most ROUNDS × BATCH, and never past the deadline. */
const BATCH = 10;
const ROUNDS = 20;

/** The reconciler's share: every export left building, batch by batch, until none is left. */
export const exportRecoverer: Recoverer = {
  name: 'exports',
  async recover(context) {
    const report: RecoveryReport = { checked: 0, recovered: 0, failed: 0 };
    for (let round = 0; round < ROUNDS && Date.now() <= context.deadline; round++) {
      const rolledBack = await recoverExports({ limit: BATCH, now: context.now.getTime() });
      report.checked += rolledBack.length;
      report.recovered += rolledBack.length;
      // Fewer than a batch: none left (or the rest could not be rolled back now; the next run retries).
      if (rolledBack.length < BATCH) break;
    }
    return report;
  },
};
