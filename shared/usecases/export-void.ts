/**
 * Voiding an export, and returning an export's payouts to ready (void, rollback). Kept apart from
 * settlement.ts so that the exports function does not bundle the payout use cases.
 */

import { publishEvents } from '../adapters/events.ts';
import {
  type ExportRecord,
  findExport,
  markExportVoided,
  releasePayoutFromExport,
  snapshotReader,
  unmarkExportVoided,
} from '../adapters/export-store.ts';
import { logger } from '../adapters/observability.ts';
import { forEachLimited, newEvent, type PayoutItem } from '../adapters/payout-store.ts';
import { signalPayoutWorkflow } from '../adapters/workflow.ts';
import type { Actor } from '../domain/schemas.ts';

const RELEASE_CONCURRENCY = 16;

/**
 * The most payout ids an export's events carry. An EventBridge entry is at most 256 KB, and its
 * webhook deliveries carry it again: 1,000 ids are ≈ 33 KB. The events of a larger export leave
 * `payoutIds` out and say so (`payoutIdsOmitted: true`); `GET /exports/{id}` lists them all.
 */
export const EVENT_PAYOUT_IDS_MAX = 1000;

/** An export in its events: what GET shows, without the short-lived download links. */
export function exportEventData(record: ExportRecord, payoutIds: readonly string[]): Record<string, unknown> {
  return {
    id: record.id,
    format: record.format,
    status: record.status,
    ...(record.sepaVersion ? { sepaVersion: record.sepaVersion } : {}),
    payoutCount: record.payoutCount,
    totals: record.totals,
    fileName: record.fileName,
    sha256: record.sha256,
    createdAt: record.createdAt,
    ...(record.voidedAt ? { voidedAt: record.voidedAt } : {}),
    ...(record.voidReason ? { voidReason: record.voidReason } : {}),
    version: record.version ?? 1,
    ...(payoutIds.length <= EVENT_PAYOUT_IDS_MAX ? { payoutIds } : { payoutIdsOmitted: true }),
  };
}

export type VoidResult =
  | { result: 'applied'; exportId: string; payoutIds: string[] }
  | { result: 'already_applied'; exportId: string; payoutIds: string[] }
  /** A payout of the export already has an outcome (paid or failed): the export stands. */
  | { result: 'export_settled'; exportId: string; payoutIds: string[] }
  /** Still building: nothing to void yet. */
  | { result: 'invalid_transition'; exportId: string; payoutIds: string[] }
  | { result: 'not_found'; exportId: string; payoutIds: [] };

/**
 * Voids an export: it becomes `voided` (no download; a booking of its EndToEndIds is a
 * `voided_export`), and its payouts still processing in it go back to `ready`. Refused
 * (`export_settled`) once any of its payouts has an outcome. `payoutIds` are the payouts returned to
 * ready (applied) or the settled ones (export_settled).
 */
export async function voidExport(exportId: string, reason: string, actor: Actor): Promise<VoidResult> {
  const found = await findExport(exportId);
  if (!found) return { result: 'not_found', exportId, payoutIds: [] };
  const { record, payoutIds } = found;
  if (record.status === 'building') return { result: 'invalid_transition', exportId, payoutIds: [] };
  if (record.status === 'active') {
    const settled = settledIn(exportId, await snapshotReader().payouts(payoutIds));
    if (settled.length > 0) return { result: 'export_settled', exportId, payoutIds: settled };
    const at = new Date().toISOString();
    const voided = await markExportVoided(exportId, ['active'], reason, at);
    if (!voided) {
      const again = await findExport(exportId);
      if (again?.record.status !== 'voided') return { result: 'invalid_transition', exportId, payoutIds: [] };
    } else {
      // The race with a bank report (or a manual mark) settling a payout of this export: the export is
      // marked voided first, then its payouts are read again. A settlement that committed before this
      // read is seen here, and the void steps back (export_settled, nothing was released); one that
      // commits after it re-reads the export once its write is done (see applyLines in
      // ./bank-reports.ts), finds it voided and records its line as `voided_export`. So a payout never
      // ends settled in a voided export without its report line saying `voided_export`.
      const settledMeanwhile = settledIn(exportId, await snapshotReader().payouts(payoutIds));
      if (settledMeanwhile.length > 0) {
        await unmarkExportVoided(exportId, at);
        logger.warn('A payout of the export was settled while it was voided: the void steps back', {
          exportId,
          payoutIds: settledMeanwhile,
        });
        return { result: 'export_settled', exportId, payoutIds: settledMeanwhile };
      }
      // The export as GET shows it (with its version), and who voided it why.
      const data = exportEventData(
        { ...record, status: 'voided', voidedAt: at, voidReason: reason, version: voided.version },
        payoutIds,
      );
      await publishEvents([
        {
          type: 'export.voided',
          detail: { ...data, exportId, reason, at, actor },
          resources: [exportId],
        },
      ]).catch((error: unknown) => logger.warn('Could not publish export.voided', { exportId, error }));
    }
  }
  // Voided (now or before, maybe by a run that crashed half-way): every payout still held goes back.
  const released = await releaseExportPayouts(exportId, payoutIds, actor, 'payout.export_voided', reason);
  return {
    result: record.status === 'voided' ? 'already_applied' : 'applied',
    exportId,
    payoutIds: released,
  };
}

/** The payouts that have an outcome (paid or failed) in this export. */
function settledIn(
  exportId: string,
  payouts: readonly { id: string; status: string; exportId?: string | undefined }[],
): string[] {
  return payouts
    .filter(
      (payout) => (payout.status === 'paid' || payout.status === 'failed') && payout.exportId === exportId,
    )
    .map((payout) => payout.id);
}

/**
 * processing → ready for each of `payoutIds` still held by the export (void, rollback), answering
 * each workflow that waits on it. Idempotent. Returns the ids it moved.
 */
export async function releaseExportPayouts(
  exportId: string,
  payoutIds: readonly string[],
  actor: Actor,
  eventType: 'payout.export_voided' | 'payout.export_rolled_back',
  reason: string,
): Promise<string[]> {
  const released: string[] = [];
  await forEachLimited(payoutIds, RELEASE_CONCURRENCY, async (payoutId) => {
    const at = new Date().toISOString();
    const item = await releasePayoutFromExport(
      payoutId,
      exportId,
      at,
      newEvent(eventType, actor, at, { from: 'processing', to: 'ready', data: { exportId, reason } }),
    );
    if (!item) return;
    released.push(payoutId);
    await signalPayoutWorkflow(item as unknown as PayoutItem, 'processing');
  });
  return released;
}
