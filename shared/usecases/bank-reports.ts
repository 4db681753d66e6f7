/**
 * Bank reports: the manager uploads a pain.002 / camt.054 / camt.053 file through a presigned POST;
 * when it lands it is checked (size, well-formed, supported), hashed, parsed with the streaming
 * parser, and each line is applied through the settlement use case (the one transition path for
 * outcomes, shared with the manual routes). Lines and counts are recorded; the manager hears of
 * bookings of voided exports at once, and of lines that changed nothing.
 *
 * Applying converges: a line's record is keyed by its position in the file, a run that resumes after
 * a crash keeps the lines it recorded and applies the others (settlement itself is idempotent), and
 * the follow-ups (event, e-mails) stay on the report's `pending` list until each is done. The same
 * bytes uploaded again are a duplicate of the first report and apply nothing.
 */
import {
  type BankReportRecord,
  claimReportBytes,
  deleteReportObject,
  type ExportRejectionRecord,
  findReport,
  LINES_PER_PAGE,
  listLineRecords,
  listReportRecords,
  openReportObject,
  presignReportUpload,
  putLinePage,
  putReport,
  recordedLinesWhere,
  recordedPages,
  reportObjectSize,
  type StoredLine,
  updateReport,
} from '../adapters/bank-report-store.ts';
import { publishEvents } from '../adapters/events.ts';
import { exportStatusOf } from '../adapters/export-store.ts';
import { sendEmail } from '../adapters/mail.ts';
import { logger } from '../adapters/observability.ts';
import { limiter } from '../adapters/table.ts';
import { checkBankReport, tooLarge } from '../bank-reports/parse.ts';
import {
  BankReportRejected,
  type BlockRejection,
  type CheckedReport,
  type GroupRejection,
  type ReportBatch,
  type ReportLine,
} from '../bank-reports/types.ts';
import { ENV, optionalEnv } from '../config/env.ts';
import {
  type AlertLine,
  attentionMail,
  BANK_REPORT_MAX_BYTES,
  bankReportKey,
  countResults,
  exportRejectedMail,
  type LineResult,
  type ReportMail,
  reportIdOfKey,
  safeReportFileName,
  voidedExportMail,
} from '../domain/bank-reports.ts';
import { exportIdOfMessageId } from '../domain/end-to-end.ts';
import { NotFound } from '../domain/errors.ts';
import { isId, newId } from '../domain/ids.ts';
import { sumMinor } from '../domain/money.ts';
import { reasonText } from '../domain/reason-codes.ts';
import type { Actor } from '../domain/schemas.ts';
import {
  type BatchMatch,
  exportSettlementView,
  findByEndToEndIds,
  type SettleResult,
  settleFailed,
  settlePaid,
  voidExportForRejection,
} from './settlement.ts';

/** Lines applied at a time (each is a few requests on one payout). */
export const APPLY_CONCURRENCY = 32;
/** Line pages being written at a time. */
const PAGE_WRITES = 4;
/** Lines whose payouts are read together (two BatchGetItem requests). */
const MATCH_CHUNK = 200;

// ------------------------------------------------------------------ the API

export interface BankReportView {
  id: string;
  fileName: string;
  sha256?: string;
  message?: string;
  messageId?: string;
  status: BankReportRecord['status'];
  rejectionReason?: string;
  duplicateOf?: string;
  counts: BankReportRecord['counts'];
  exportRejection?: ExportRejectionRecord;
  createdAt: string;
  receivedAt?: string;
  appliedAt?: string;
}

export function toView(record: BankReportRecord): BankReportView {
  const view: BankReportView = {
    id: record.id,
    fileName: record.fileName,
    status: record.status,
    counts: record.counts,
    createdAt: record.createdAt,
  };
  for (const field of [
    'sha256',
    'message',
    'messageId',
    'rejectionReason',
    'duplicateOf',
    'exportRejection',
    'receivedAt',
    'appliedAt',
  ] as const) {
    if (record[field] !== undefined) Object.assign(view, { [field]: record[field] });
  }
  return view;
}

/** A report awaiting its file, and the presigned POST to upload it (XML, ≤ 20 MiB, 15 minutes). */
export async function requestReportUpload(fileName: string | undefined, actor: Actor) {
  const id = newId('bankReport');
  const at = new Date().toISOString();
  const name = safeReportFileName(fileName);
  const key = bankReportKey(id);
  await putReport({
    id,
    fileName: name,
    key,
    status: 'awaiting_file',
    counts: countResults([]),
    createdAt: at,
    createdBy: actor.id,
  });
  return { id, ...(await presignReportUpload(key, name)) };
}

/** The report, or NotFound (also for what cannot be a report id: no storage call with it). */
async function reportOrNotFound(id: string): Promise<BankReportRecord> {
  const record = isId('bankReport', id) ? await findReport(id) : undefined;
  if (!record) throw new NotFound(`Bank report ${id.slice(0, 40)} not found`);
  return record;
}

export async function getBankReport(id: string): Promise<BankReportView> {
  const record = await reportOrNotFound(id);
  return toView(record);
}

export async function listBankReports(query: { limit: number; cursor?: string | undefined }) {
  const page = await listReportRecords(query);
  return { items: page.items.map(toView), nextCursor: page.nextCursor };
}

export async function listBankReportLines(id: string, query: { limit: number; cursor?: string | undefined }) {
  await reportOrNotFound(id);
  const page = await listLineRecords(id, query);
  return {
    items: page.items.map(({ index: _index, ...line }) => line),
    nextCursor: page.nextCursor,
  };
}

// ------------------------------------------------------------------ a file lands

export type UploadOutcome = 'applied' | 'duplicate' | 'rejected' | 'ignored' | 'busy';

export interface ProcessOptions {
  /** Milliseconds this run may take (the Lambda's remaining time): the report is leased that long. */
  leaseMs?: number;
  maxBytes?: number;
  concurrency?: number;
}

/** Raised when another run holds the report: the event is retried after it. */
export class ReportBusy extends Error {
  override readonly name = 'ReportBusy';
}

/**
 * Checks and applies one uploaded report. Safe to run again for the same object: an applied or
 * rejected report only finishes its pending follow-ups.
 */
export async function processUploadedReport(
  key: string,
  options: ProcessOptions = {},
): Promise<UploadOutcome> {
  const reportId = reportIdOfKey(key);
  const record = reportId ? await findReport(reportId) : undefined;
  if (!reportId || !record || record.key !== key) {
    logger.warn('Object outside the bank-report layout or without its report; deleting', { key });
    await deleteReportObject(key);
    return 'ignored';
  }
  if (record.status === 'applied' || record.status === 'rejected') {
    await runFollowUps(record);
    return record.status === 'rejected' ? 'rejected' : record.duplicateOf ? 'duplicate' : 'applied';
  }
  const maxBytes = options.maxBytes ?? BANK_REPORT_MAX_BYTES;
  const now = Date.now();
  const receivedAt = record.receivedAt ?? new Date(now).toISOString();
  // The lease: one run applies a report at a time (S3 may deliver an event twice, at once).
  const leased = await updateReport(reportId, {
    from: ['awaiting_file', 'received'],
    set: { status: 'received', receivedAt },
    lease: { until: now + (options.leaseMs ?? 15 * 60_000), now },
  });
  if (!leased) {
    const current = await findReport(reportId);
    if (current && (current.status === 'applied' || current.status === 'rejected')) return 'ignored';
    throw new ReportBusy(`Bank report ${reportId} is being applied by another run`);
  }
  try {
    return await applyLeased(record, key, maxBytes, options.concurrency ?? APPLY_CONCURRENCY);
  } catch (error) {
    // The event is retried: let the retry take the report at once (the lines recorded stay).
    await updateReport(reportId, { from: ['received'], remove: ['leaseUntil'] }).catch(() => false);
    throw error;
  }
}

async function applyLeased(
  record: BankReportRecord,
  key: string,
  maxBytes: number,
  concurrency: number,
): Promise<UploadOutcome> {
  const reportId = record.id;
  const size = await reportObjectSize(key);
  if (size === undefined) {
    await reject(record, new BankReportRejected('not_xml', 'The uploaded file is gone from storage'));
    return 'rejected';
  }
  if (size > maxBytes) {
    await reject(record, tooLarge(maxBytes));
    await deleteReportObject(key);
    return 'rejected';
  }
  // One pass: the checks, the hash and the header; the lines are kept aside meanwhile and applied only
  // once the whole file checked out (nothing is applied from a file that turns out bad, or a
  // duplicate). They are what the file says, normalised: a few hundred bytes a line, a bounded
  // fraction of the file's own size (≤ maxBytes), where a second read of the object cost a download
  // and a parse as long as the first.
  let parsed: CheckedReport;
  const lines: ReportLine[] = [];
  try {
    const object = await openReportObject(key);
    parsed = await checkBankReport(object.body, {
      maxBytes,
      onLines: (found) => {
        for (const line of found) lines.push(line);
      },
    });
  } catch (error) {
    if (!(error instanceof BankReportRejected)) throw error;
    await reject(record, error);
    return 'rejected';
  }
  const described = {
    sha256: parsed.sha256,
    size: parsed.size,
    message: parsed.message,
    messageId: parsed.messageId,
  };
  const first = await claimReportBytes(parsed.sha256, reportId);
  if (first !== reportId) {
    const at = new Date().toISOString();
    await finish(reportId, { ...described, duplicateOf: first, appliedAt: at, counts: countResults([]) }, []);
    return 'duplicate';
  }
  await updateReport(reportId, { from: ['received'], set: described });

  const pending: string[] = [];
  let exportRejection: ExportRejectionRecord | undefined;
  if (parsed.groupRejection) {
    exportRejection = await rejectExport(parsed.groupRejection, reportId);
    pending.push('mail_export_rejected');
  } else if (parsed.blockRejections?.length) {
    // Our exports write one block (`<MsgId>-1`): its refusal is the refusal of every payment in it.
    for (const block of parsed.blockRejections) {
      const rejected = await rejectExport(block, reportId);
      exportRejection ??= rejected;
    }
    pending.push('mail_export_rejected');
  }
  async function* planned(): AsyncGenerator<PlannedLine> {
    for (const line of lines) yield { line };
    yield* await expandBatches(parsed.batches);
  }
  const results = await applyLines(reportId, planned(), { concurrency });
  const counts = countResults(results);
  if (counts.voidedExport > 0) pending.unshift('mail_voided_export');
  if (counts.unmatched + counts.mismatched > 0) pending.push('mail_attention');
  pending.push('event');
  await finish(
    reportId,
    {
      ...described,
      counts,
      appliedAt: new Date().toISOString(),
      ...(exportRejection ? { exportRejection } : {}),
    },
    pending,
  );
  return 'applied';
}

async function reject(record: BankReportRecord, error: BankReportRejected): Promise<void> {
  await updateReport(record.id, {
    from: ['received'],
    set: { status: 'rejected', rejectionReason: error.message, counts: countResults([]) },
    remove: ['leaseUntil'],
  });
  logger.info('Bank report rejected', { reportId: record.id, code: error.code, reason: error.message });
}

async function finish(reportId: string, set: Partial<BankReportRecord>, pending: string[]): Promise<void> {
  await updateReport(reportId, {
    from: ['received'],
    set: { ...set, status: 'applied', pending },
    remove: ['leaseUntil'],
  });
  const record = await findReport(reportId);
  if (record) await runFollowUps(record);
}

// ------------------------------------------------------------------ applying lines

interface PlannedLine {
  line: ReportLine;
  /** A line of a batch booking: the export's payout it settles. */
  payoutId?: string;
  /** Decided before settlement (a batch that does not match). */
  result?: LineResult;
  detail?: string;
}

/**
 * A batch booking settles its export's payouts only when count and total match exactly: then one
 * paid line per payout (under the EndToEndId the export wrote), else one line for the batch.
 */
async function expandBatches(batches: readonly ReportBatch[]): Promise<PlannedLine[]> {
  const planned: PlannedLine[] = [];
  for (const batch of batches) {
    const base: ReportLine = {
      endToEndId: batch.paymentInfoId,
      outcome: 'paid',
      bankStatus: 'BOOK',
      amount: batch.amount,
      currency: batch.currency,
      ...(batch.paymentReference ? { paymentReference: batch.paymentReference } : {}),
    };
    const exportId = exportIdOfMessageId(batch.paymentInfoId);
    const view = exportId ? await exportSettlementView(exportId) : undefined;
    if (!view) {
      planned.push({ line: base, result: 'unmatched', detail: 'no export of this payment information id' });
      continue;
    }
    if (view.status === 'voided') {
      planned.push({ line: base, result: 'voided_export', detail: `export ${view.exportId} was voided` });
      continue;
    }
    const total = sumMinor(view.payouts.map((payout) => payout.amount));
    const sameCurrency = view.payouts.every((payout) => payout.currency === batch.currency);
    if (view.payouts.length !== batch.count || total !== batch.amount || !sameCurrency) {
      planned.push({
        line: base,
        result: 'amount_mismatch',
        detail: `export ${view.exportId} has ${view.payouts.length} payouts for ${total} ${view.payouts[0]?.currency ?? ''}; the booking ${batch.count} for ${batch.amount} ${batch.currency}`,
      });
      continue;
    }
    for (const payout of view.payouts) {
      planned.push({
        payoutId: payout.payoutId,
        line: {
          endToEndId: payout.endToEndId,
          outcome: 'paid',
          bankStatus: 'BOOK',
          amount: payout.amount,
          currency: payout.currency,
          ...(batch.paymentReference ? { paymentReference: batch.paymentReference } : {}),
        },
      });
    }
  }
  return planned;
}

/**
 * Applies the lines as they stream in, a bounded number at a time (`concurrency`, the floor's), and
 * records them a page (`LINES_PER_PAGE` lines in file order, one item) at a time, each page as soon
 * as all its lines are done. The payouts are read a chunk of lines at a time (BatchGetItem; the next
 * chunk is read while this one settles, and no more is read from the file until the chunk before it
 * is done), so that a line costs about one conditional write and memory holds two chunks and the
 * pages they touch. Pages a crashed run already recorded keep their lines' results and are not
 * applied again. Returns every line's result, in file order.
 */
async function applyLines(
  reportId: string,
  planned: AsyncIterable<PlannedLine>,
  options: { concurrency: number },
): Promise<LineResult[]> {
  const done = await recordedPages(reportId);
  const run = limiter(options.concurrency);
  const writePage = limiter(PAGE_WRITES);
  const results: LineResult[] = [];
  /** Pages being filled: their lines by offset, and how many are done. */
  const filling = new Map<number, { lines: StoredLine[]; filled: number }>();
  const writes = new Set<Promise<void>>();
  let failure: unknown;
  const flush = (page: number, lines: StoredLine[]) => {
    filling.delete(page);
    const write: Promise<void> = writePage(() => putLinePage(reportId, page, lines))
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => writes.delete(write));
    writes.add(write);
  };
  const record = (stored: StoredLine) => {
    results[stored.index] = stored.result;
    const page = Math.floor(stored.index / LINES_PER_PAGE);
    let filled = filling.get(page);
    if (!filled) {
      filled = { lines: [], filled: 0 };
      filling.set(page, filled);
    }
    filled.lines[stored.index - page * LINES_PER_PAGE] = stored;
    filled.filled += 1;
    if (filled.filled === LINES_PER_PAGE) flush(page, filled.lines);
  };
  const settle = async (chunk: readonly { index: number; plan: PlannedLine }[]) => {
    const matches = await findByEndToEndIds(
      chunk.flatMap(({ plan }) => (plan.result ? [] : [plan.line.endToEndId])),
    );
    const applied: { stored: StoredLine; exportId: string }[] = [];
    await Promise.all(
      chunk.map(({ index, plan }) =>
        run(async () => {
          const { stored, exportId } = await applyLine(index, plan, matches.get(plan.line.endToEndId));
          if (stored.result === 'applied' && exportId) applied.push({ stored, exportId });
          else record(stored);
        }),
      ),
    );
    // The other half of the void's protocol (../usecases/export-void.ts): once its writes are done,
    // the exports of the lines it applied are read again. One voided meanwhile (the void did not see
    // the settlement) makes those lines `voided_export`: the payout is settled, and the manager is
    // told at once. One GetItem per export and chunk.
    const exportIds = [...new Set(applied.map((line) => line.exportId))];
    const statuses = new Map(
      await Promise.all(exportIds.map(async (id) => [id, await exportStatusOf(id)] as const)),
    );
    for (const { stored, exportId } of applied) {
      if (statuses.get(exportId) === 'voided') {
        stored.result = 'voided_export';
        stored.detail = `export ${exportId} was voided while this report was applied: the payout is recorded ${stored.outcome}; check for a double payment`;
      }
      record(stored);
    }
  };
  let previous: Promise<void> | undefined;
  const launch = async (chunk: { index: number; plan: PlannedLine }[]) => {
    const settling = settle(chunk);
    // Awaited below; this only keeps a failure from counting as unhandled meanwhile.
    settling.catch(() => undefined);
    if (previous) await previous;
    previous = settling;
  };
  let chunk: { index: number; plan: PlannedLine }[] = [];
  let index = 0;
  for await (const plan of planned) {
    const recorded = done.get(Math.floor(index / LINES_PER_PAGE));
    const result = recorded?.[index % LINES_PER_PAGE];
    if (result) results[index] = result;
    else chunk.push({ index, plan });
    index += 1;
    if (chunk.length >= MATCH_CHUNK) {
      await launch(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) await launch(chunk);
  await previous;
  // The last page (fewer lines), once every line is done.
  for (const [page, filled] of [...filling]) flush(page, filled.lines);
  await Promise.all(writes);
  if (failure) throw failure;
  return results;
}

const FAILED_REASON = (line: ReportLine) =>
  line.outcome === 'failed' ? reasonText(line.reasonCode).text : undefined;

/** Applies one line; `exportId`: the export of the payout it settled (for the re-check after). */
async function applyLine(
  index: number,
  plan: PlannedLine,
  found: BatchMatch | undefined,
): Promise<{ stored: StoredLine; exportId?: string }> {
  const stored = await applyLineOnly(index, plan, found);
  const match = found?.match;
  return match && match.found === 'payout' ? { stored, exportId: match.exportId } : { stored };
}

async function applyLineOnly(
  index: number,
  plan: PlannedLine,
  found: BatchMatch | undefined,
): Promise<StoredLine> {
  const { line } = plan;
  const stored: StoredLine = {
    index,
    endToEndId: line.endToEndId,
    outcome: line.outcome,
    result: 'unmatched',
  };
  if (line.reasonCode) stored.reasonCode = line.reasonCode;
  // A failure without a reason code (a reversal) keeps the bank's words, not the generic text.
  const reason =
    line.outcome === 'failed' && !line.reasonCode && line.bankText
      ? line.bankText
      : (FAILED_REASON(line) ?? line.bankText);
  if (reason) stored.reason = reason;
  if (line.amount !== undefined) stored.amount = line.amount;
  if (line.currency) stored.currency = line.currency;
  if (line.paymentReference) stored.paymentReference = line.paymentReference;
  if (line.returned) stored.returned = true;
  if (line.reversal) stored.reversal = true;
  if (plan.payoutId) stored.payoutId = plan.payoutId;
  if (plan.result) {
    stored.result = plan.result;
    if (plan.detail) stored.detail = plan.detail;
    return stored;
  }
  const match = found?.match ?? { found: 'unmatched' as const };
  if (match.found === 'unmatched') return stored;
  stored.payoutId = match.payoutId;
  // pain.002 may not repeat the amount: the line then shows the payout's.
  stored.amount ??= match.amount;
  stored.currency ??= match.currency;
  if (match.found === 'voided_export') {
    stored.result = 'voided_export';
    stored.detail = `export ${match.exportId} was voided`;
    return stored;
  }
  if (line.amount !== undefined && (line.amount !== match.amount || line.currency !== match.currency)) {
    stored.result = 'amount_mismatch';
    stored.detail = `the payout is ${match.amount} ${match.currency}`;
    return stored;
  }
  if (line.outcome === 'in_progress') {
    stored.result = 'in_progress';
    return stored;
  }
  const at = new Date().toISOString();
  // The payout as just read; its rewards are marked paid by its workflow (woken by the signal).
  // Its history entry stays in its outbox until the workflow's sync (or its next change) flushes it.
  const options = { item: found?.item, followUps: 'workflow' as const, history: 'later' as const };
  const settled: SettleResult =
    line.outcome === 'paid'
      ? await settlePaid(
          match.payoutId,
          {
            source: 'bank_report',
            paymentReference: line.paymentReference,
            at,
            endToEndId: match.endToEndId,
          },
          options,
        )
      : await settleFailed(
          match.payoutId,
          {
            code: line.reasonCode,
            ...(line.bankText && !line.reasonCode ? { reason: line.bankText } : {}),
            returned: line.returned === true,
            source: 'bank_report',
            at,
            endToEndId: match.endToEndId,
          },
          options,
        );
  if (settled.result === 'not_found') stored.result = 'unmatched';
  else {
    stored.result = settled.result;
    if (settled.result === 'invalid_transition') stored.detail = settled.detail;
  }
  return stored;
}

// ------------------------------------------------------------------ a file the bank refused

/**
 * The bank refused a file (group level) or one of its payment blocks, every payment in it: the
 * export is voided, so its payouts are ready again (unless one already has an outcome:
 * `export_settled`, the manager is told either way). Our exports write one block, `<MsgId>-1`: a
 * block of another file, or another block, is `unmatched`.
 */
async function rejectExport(
  rejection: GroupRejection | BlockRejection,
  reportId: string,
): Promise<ExportRejectionRecord> {
  const reason = rejection.reasonCode
    ? `${reasonText(rejection.reasonCode).text}${rejection.bankText ? ` (${rejection.bankText})` : ''}`
    : (rejection.bankText ?? reasonText(undefined).text);
  const block = 'paymentInfoId' in rejection ? rejection.paymentInfoId : undefined;
  const base = {
    messageId: rejection.originalMessageId,
    ...(block ? { paymentInfoId: block } : {}),
    ...(rejection.reasonCode ? { reasonCode: rejection.reasonCode } : {}),
    reason,
  };
  const exportId = exportIdOfMessageId(rejection.originalMessageId);
  if (!exportId) return { ...base, result: 'unmatched' };
  if (
    block !== undefined &&
    (block.trim() !== `${rejection.originalMessageId.trim()}-1` || exportIdOfMessageId(block) !== exportId)
  ) {
    return { ...base, exportId, result: 'unmatched' };
  }
  const voided = await voidExportForRejection(
    exportId,
    block ? `The bank refused the payment block ${block}: ${reason}` : `The bank refused the file: ${reason}`,
  );
  logger.info('Export refused by the bank', { reportId, exportId, block, result: voided.result });
  return { ...base, exportId, result: voided.result === 'not_found' ? 'unmatched' : voided.result };
}

// ------------------------------------------------------------------ follow-ups

function mailSettings() {
  return {
    from: optionalEnv(ENV.mailFrom, 'payouts@example.com'),
    manager: optionalEnv(ENV.managerEmail, 'finance@example.com'),
    portalUrl: optionalEnv(ENV.portalUrl, 'https://partners.example.com'),
  };
}

const alertOf = (line: StoredLine): AlertLine => ({
  endToEndId: line.endToEndId,
  payoutId: line.payoutId,
  amount: line.amount,
  currency: line.currency,
  result: line.result,
  detail: line.detail,
});

async function linesWith(reportId: string, wanted: readonly LineResult[]): Promise<AlertLine[]> {
  return (await recordedLinesWhere(reportId, (line) => wanted.includes(line.result))).map(alertOf);
}

/**
 * The report's pending follow-ups, each removed once done: the urgent e-mail about a voided export
 * first, then the bank's refusal of a file, the lines needing attention, and `bank_report.applied`.
 * A failure throws (the event is retried, and only what is still pending runs again).
 */
async function runFollowUps(record: BankReportRecord): Promise<void> {
  const settings = mailSettings();
  for (const name of record.pending ?? []) {
    let mail: ReportMail | undefined;
    if (name === 'mail_voided_export') {
      mail = voidedExportMail(
        record,
        await linesWith(record.id, ['voided_export']),
        settings.manager,
        settings.portalUrl,
      );
    } else if (name === 'mail_attention') {
      mail = attentionMail(
        record,
        await linesWith(record.id, ['unmatched', 'amount_mismatch']),
        settings.manager,
        settings.portalUrl,
      );
    } else if (name === 'mail_export_rejected' && record.exportRejection) {
      mail = exportRejectedMail(record, record.exportRejection, settings.manager, settings.portalUrl);
    } else if (name === 'event') {
      await publishEvents([
        { type: 'bank_report.applied', detail: { ...toView(record) }, resources: [record.id] },
      ]);
    }
    if (mail) await sendEmail(mail, settings.from);
    await updateReport(record.id, { from: ['applied'], removePending: name });
  }
}
