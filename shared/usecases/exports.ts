/**
 * Exports of ready payouts: payment files for the channel that pays them (generic CSV, PayPal Payouts,
 * Wise batch, SEPA pain.001), stored in S3 with a record of which payouts, which files, which checksums.
 *
 * An export is all or nothing up to its record: every check (ready payouts only, payout details, one
 * currency where the format needs it) runs before anything is written, and files of an export that
 * fails half-way are deleted. Payouts keep their status, version and history: paying them and marking
 * them paid is the manager's next step.
 *
 * Each payout remembers the exports it was in through link items in its own partition (see
 * export-store.ts and `exportsOfPayout`), not in its history: the history holds the payout's
 * transitions and reviews. Order of the writes: the files and the links (started as soon as the first
 * file's name is known), then, once both are done, the export record:
 * - the record is what the API lists and reads, so once it exists every one of its payouts already
 *   knows the export (no export whose payouts do not know it, even after a crash);
 * - a crash or a failure before the record leaves links to an export that does not exist (and files
 *   under its prefix, which the bucket's lifecycle rule expires). Readers ignore a link whose export
 *   has no record, so such links are invisible; a retry (same Idempotency-Key or not) is a fresh
 *   export with a new id and links of its own.
 * The other order would leave, after a crash between the two, a listed export that its payouts do not
 * know, which no retry repairs.
 *
 * Memory: an export holds at most `MAX_PAYOUTS_PER_EXPORT` rows (a few MB, and the record's payout ids
 * must fit a DynamoDB item); the files themselves are streamed from the generators to S3.
 */

import {
  activateExport,
  claimExportRequestKey,
  deleteExportObjects,
  deleteExportRecord,
  type ExportLink,
  type ExportRecord,
  existingExportIds,
  exportObjectKey,
  findExport,
  listExportRecords,
  nextExportSequence,
  type PartnerSnapshot,
  type PayoutSnapshot,
  payoutExists,
  payoutExportLinks,
  presignExportDownload,
  putBuildingExport,
  putExportLinks,
  putExportPayoutIds,
  readyPayoutIds,
  type StoredExportFile,
  snapshotReader,
  takePayout,
  uploadExportFile,
} from '../adapters/export-store.ts';
import { logger } from '../adapters/observability.ts';
import { outboxEntry, publishRecorded } from '../adapters/outbox.ts';
import { forEachLimited, newEvent } from '../adapters/payout-store.ts';
import { keys, type Page } from '../adapters/table.ts';
import { signalPayoutWorkflow } from '../adapters/workflow.ts';
import { ENV, optionalEnv, requireEnv } from '../config/env.ts';
import { endToEndIdFor } from '../domain/end-to-end.ts';
import {
  Conflict,
  DomainError,
  type FieldError,
  InvalidTransition,
  NotFound,
  RuleViolation,
  ValidationFailed,
} from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import type { Actor, CreateExport, Export, ExportFormat, ExportSummary } from '../domain/schemas.ts';
import {
  checkExportable,
  DEFAULT_SEPA_VERSION,
  ExportError,
  type ExportRow,
  generateExport,
  mergeTotals,
  type RefusalReason,
  type SepaDebtor,
} from '../exports/index.ts';
import { gateExport } from './export-controls.ts';
import { recoverExports } from './export-recovery.ts';
import { exportEventData, releaseExportPayouts, voidExport } from './export-void.ts';

export { exportEventData };

/** Also the most `payoutIds` a request may name (`CreateExport`). */
export const MAX_PAYOUTS_PER_EXPORT = 10_000;
/** Payouts per BatchGetItem of the reads below (the most DynamoDB takes). */
const READ_BATCH = 100;

/** 422: nothing to export (no ready payout, or none of the currency asked for). */
export class NoPayoutsToExport extends DomainError {
  readonly status = 422;
  readonly code = 'no_eligible_payouts';
  readonly title = 'Business rule violated';
}

/** 409: a payout of the export already has an outcome; the export can no longer be voided. */
export class ExportSettled extends DomainError {
  readonly status = 409;
  readonly code = 'export_settled';
  readonly title = 'Export settled';
}

/** 422: more ready payouts than one export takes; export them by currency or by ids. */
export class TooManyPayouts extends DomainError {
  readonly status = 422;
  readonly code = 'too_many_payouts';
  readonly title = 'Business rule violated';
}

let debtor: SepaDebtor | undefined;
/** The account SEPA files pay from, read once from the environment. */
function sepaDebtor(): SepaDebtor {
  if (!debtor) {
    const bic = optionalEnv(ENV.sepaDebtorBic, '');
    debtor = {
      name: requireEnv(ENV.sepaDebtorName),
      iban: requireEnv(ENV.sepaDebtorIban),
      ...(bic ? { bic } : {}),
    };
  }
  return debtor;
}

const REASONS: Record<RefusalReason, string> = {
  invalid_amount: 'the amount is not a positive amount of a known currency',
  no_payout_method: 'the partner has no payout method',
  wrong_payout_method: 'the partner is paid by another payout method',
  missing_email: 'the payout method has no e-mail',
  invalid_email: 'the payout method’s e-mail is not valid',
  missing_account_holder: 'the payout method has no account holder',
  unrepresentable_name: 'the account holder’s name has no character SEPA can carry',
  missing_iban: 'the payout method has no IBAN (needed for EUR)',
  invalid_iban: 'the IBAN is not valid',
  iban_not_sepa: 'the IBAN is not of a SEPA country',
  invalid_bic: 'the BIC is not valid',
  amount_not_supported: 'the format cannot carry this amount',
};

// ------------------------------------------------------------------ choosing the payouts

/** Where a payout was named in the request, for error paths. */
type Locate = (payoutId: string) => string;

function assertDistinct(ids: readonly string[]): void {
  const seen = new Map<string, number>();
  const errors: FieldError[] = [];
  ids.forEach((id, index) => {
    const first = seen.get(id);
    if (first === undefined) seen.set(id, index);
    else errors.push({ path: `payoutIds[${index}]`, message: `same payout as payoutIds[${first}]` });
  });
  if (errors.length > 0) throw new ValidationFailed('A payout is named more than once', { errors });
}

/** What an export reads: the payouts (of every status) and the partners of the ready ones. */
interface Snapshots {
  payouts: Map<string, PayoutSnapshot>;
  partners: Map<string, PartnerSnapshot>;
}

/**
 * Reads the payouts of `pages` of ids consistently (BatchGetItem projected to the fields an export
 * needs) and the partners of those that are ready, overlapping the requests: a page's payouts are
 * asked for while the next page of ids is read, and each batch's partners (each partner once) as soon
 * as the batch is in. All requests share a few slots in flight.
 */
async function readSnapshots(
  pages: AsyncIterable<readonly string[]> | Iterable<readonly string[]>,
  /** Resuming this export: its payouts already processing in it are read with their partners too. */
  resuming?: string,
) {
  const reader = snapshotReader();
  const found: Snapshots = { payouts: new Map(), partners: new Map() };
  const askedPartners = new Set<string>();
  const readBatch = async (ids: readonly string[]) => {
    const newPartners: string[] = [];
    for (const payout of await reader.payouts(ids)) {
      found.payouts.set(payout.id, payout);
      const wanted =
        payout.status === 'ready' ||
        (resuming !== undefined && payout.status === 'processing' && payout.exportId === resuming);
      if (wanted && !askedPartners.has(payout.partnerId)) {
        askedPartners.add(payout.partnerId);
        newPartners.push(payout.partnerId);
      }
    }
    if (newPartners.length === 0) return;
    for (const partner of await reader.partners(newPartners)) found.partners.set(partner.id, partner);
  };
  const reads: Promise<void>[] = [];
  const read = (ids: readonly string[]) => {
    const reading = readBatch(ids);
    // Awaited below; this only keeps a failure from counting as unhandled meanwhile.
    reading.catch(() => undefined);
    reads.push(reading);
  };
  try {
    // Full batches across page boundaries; the rest once the last page is in.
    let batch: string[] = [];
    for await (const page of pages) {
      for (const id of page) {
        batch.push(id);
        if (batch.length === READ_BATCH) {
          read(batch);
          batch = [];
        }
      }
    }
    if (batch.length > 0) read(batch);
  } finally {
    // Even when listing failed: no read is left running behind the caller's back.
    await Promise.allSettled(reads);
  }
  await Promise.all(reads);
  return found;
}

/** The named payouts, in the request's order; all must exist and be ready (else 409 listing them). */
async function namedPayouts(ids: readonly string[], currency: string | undefined): Promise<Snapshots> {
  assertDistinct(ids);
  const found = await readSnapshots([ids]);
  const errors: FieldError[] = [];
  const others: string[] = [];
  const payouts = new Map<string, PayoutSnapshot>();
  ids.forEach((id, index) => {
    const payout = found.payouts.get(id);
    if (payout?.status === 'ready') payouts.set(id, payout);
    else {
      others.push(id);
      errors.push({
        path: `payoutIds[${index}]`,
        message: payout ? `${id} is ${payout.status}, not ready` : `${id} does not exist`,
      });
    }
  });
  if (others.length > 0) {
    throw new InvalidTransition(
      `Only ready payouts can be exported; ${others.join(', ')} ${others.length === 1 ? 'is' : 'are'} not`,
      {
        errors,
        data: { payoutIds: others },
      },
    );
  }
  if (currency !== undefined) {
    const mismatched = [...payouts.values()].filter((payout) => payout.currency !== currency);
    if (mismatched.length > 0) {
      throw new RuleViolation('currency_mismatch', `Payouts must be in ${currency}`, {
        errors: mismatched.map((payout) => ({
          path: `payoutIds[${ids.indexOf(payout.id)}]`,
          message: `${payout.id} is in ${payout.currency}`,
        })),
        data: { payoutIds: mismatched.map((payout) => payout.id) },
      });
    }
  }
  return { payouts, partners: found.partners };
}

/**
 * Every ready payout (of `currency` when given), oldest first. The status index is eventually
 * consistent, so each payout it lists is read again, consistently (only the fields an export needs,
 * while the index is still being paged): one cancelled or paid a moment ago must not be paid again
 * from this file.
 */
async function allReadyPayouts(currency: string | undefined): Promise<Snapshots> {
  const what = currency === undefined ? 'ready payouts' : `ready ${currency} payouts`;
  const listed: string[] = [];
  async function* pages() {
    for await (const page of readyPayoutIds({ currency, max: MAX_PAYOUTS_PER_EXPORT + 1 })) {
      listed.push(...page);
      if (listed.length > MAX_PAYOUTS_PER_EXPORT) {
        throw new TooManyPayouts(
          `There are more than ${MAX_PAYOUTS_PER_EXPORT} ${what}: export them by currency, or name them in payoutIds`,
        );
      }
      yield page;
    }
  }
  const found = await readSnapshots(pages());
  const payouts = new Map<string, PayoutSnapshot>();
  for (const id of listed) {
    const fresh = found.payouts.get(id);
    if (fresh?.status === 'ready') payouts.set(id, fresh);
  }
  if (payouts.size === 0) throw new NoPayoutsToExport(`There are no ${what} to export`);
  return { payouts, partners: found.partners };
}

function toRow(payout: PayoutSnapshot, partner: PartnerSnapshot | undefined, sequence?: number): ExportRow {
  return {
    payoutId: payout.id,
    ...(sequence !== undefined ? { endToEndId: endToEndIdFor(payout.id, sequence) } : {}),
    partnerId: payout.partnerId,
    partnerName: partner?.name ?? '',
    partnerEmail: partner?.email ?? '',
    amount: payout.amount,
    currency: payout.currency,
    // The snapshot taken when the partner validated; the partner's current method only for payouts
    // validated before snapshots existed (a change since then holds the partner: see holds).
    payoutMethod: payout.payoutMethod ?? partner?.payoutMethod ?? null,
    ...(partner?.address ? { address: partner.address } : {}),
    remittance: `Payout ${payout.id}`,
  };
}

/** 422 unless every row fits the format: one currency where it needs one, the details it needs. */
function assertExportable(format: ExportFormat, rows: readonly ExportRow[], locate: Locate): void {
  const check = checkExportable(format, rows);
  if (check.currencyProblem !== undefined) {
    throw new RuleViolation('currency_mismatch', check.currencyProblem, {
      data: { currencies: [...new Set(rows.map((row) => row.currency))].sort() },
    });
  }
  if (check.missing.length > 0) {
    const partnerIds = [...new Set(check.missing.map((refusal) => refusal.partnerId))];
    throw new RuleViolation(
      'missing_payout_details',
      `${partnerIds.length === 1 ? 'A partner lacks' : `${partnerIds.length} partners lack`} what a ${format} export needs: ${partnerIds.join(', ')}`,
      {
        errors: check.missing.map((refusal) => ({
          path: locate(refusal.payoutId),
          message: `${refusal.payoutId} of partner ${refusal.partnerId}: ${REASONS[refusal.reason]} (${refusal.reason})`,
        })),
        data: { partnerIds, refusals: check.missing },
      },
    );
  }
}

// ------------------------------------------------------------------ writing

/** A generator refusal after the checks passed: the same answer the checks would have given. */
function refusalOf(error: ExportError): DomainError | undefined {
  switch (error.code) {
    case 'row_refused':
      return new RuleViolation('missing_payout_details', error.message, {
        data: { refusals: [{ payoutId: error.payoutId, reason: error.reason }] },
      });
    case 'currency_problem':
      return new RuleViolation('currency_mismatch', error.message);
    case 'no_rows':
      return new NoPayoutsToExport(error.message);
    case 'too_many_rows':
      return new TooManyPayouts(error.message);
    default:
      return undefined;
  }
}

/** Generates the files and streams each to S3; on any failure, deletes what was stored and rethrows. */
async function writeFiles(
  rows: readonly ExportRow[],
  options: {
    exportId: string;
    format: ExportFormat;
    createdAt: Date;
    sepaVersion?: ExportRecord['sepaVersion'];
    /** Called with the first file's name as soon as it is known, before its upload. */
    onFirstFile?: (fileName: string) => void;
  },
): Promise<StoredExportFile[]> {
  const files: StoredExportFile[] = [];
  let current: string | undefined;
  try {
    const generated = generateExport(rows, {
      format: options.format,
      exportId: options.exportId,
      createdAt: options.createdAt,
      ...(options.format === 'sepa' ? { sepaVersion: options.sepaVersion, debtor: sepaDebtor() } : {}),
    });
    for await (const file of generated) {
      if (files.length === 0) options.onFirstFile?.(file.fileName);
      current = exportObjectKey(options.exportId, file.fileName);
      const stored = await uploadExportFile(current, file.contentType, file.chunks);
      const totals = file.totals();
      files.push({
        fileName: file.fileName,
        key: current,
        contentType: file.contentType,
        size: stored.size,
        sha256: stored.sha256,
        payoutCount: totals.count,
        totals: totals.amounts,
      });
      current = undefined;
    }
    return files;
  } catch (error) {
    // A failed PutObject may still have landed; a failed multipart upload was aborted.
    const written = [...files.map((file) => file.key), ...(current ? [current] : [])];
    await deleteExportObjects(written).catch((cleanup: unknown) =>
      logger.error('Could not delete the files of a failed export', { error: cleanup, keys: written }),
    );
    throw error instanceof ExportError ? (refusalOf(error) ?? error) : error;
  }
}

// ------------------------------------------------------------------ presenting

async function present(record: ExportRecord): Promise<ExportSummary> {
  const now = Date.now();
  const downloadable = record.status === 'active';
  const files = await Promise.all(
    record.files.map(async (file) => ({
      fileName: file.fileName,
      contentType: file.contentType,
      size: file.size,
      sha256: file.sha256,
      payoutCount: file.payoutCount,
      totals: file.totals,
      ...(downloadable ? await presignExportDownload(file, now) : {}),
    })),
  );
  const first = files[0];
  return {
    id: record.id,
    status: record.status,
    sequence: record.sequence,
    format: record.format,
    ...(record.sepaVersion ? { sepaVersion: record.sepaVersion } : {}),
    payoutCount: record.payoutCount,
    totals: record.totals,
    fileName: record.fileName,
    sha256: record.sha256,
    ...(first?.url !== undefined ? { url: first.url, expiresAt: first.expiresAt } : {}),
    files,
    createdAt: record.createdAt,
    createdBy: record.createdBy,
    ...(record.voidedAt ? { voidedAt: record.voidedAt } : {}),
    ...(record.voidReason ? { voidReason: record.voidReason } : {}),
    version: record.version ?? 1,
  };
}

// ------------------------------------------------------------------ use cases

/** Payouts taken (ready → processing) in flight at a time. */
const TAKE_CONCURRENCY = 16;
const SYSTEM: Actor = { role: 'system', id: 'exports' };

export interface CreateExportOptions {
  /** The request's Idempotency-Key, scoped to its caller: a retry after a crash resumes the same export. */
  requestKey?: string | undefined;
}

/**
 * Exports ready payouts and takes them: the named ones (all ready, else 409 and nothing changes), or
 * every ready one (of `currency` when given). 422 `missing_payout_details` / `currency_mismatch` when
 * the format cannot carry them, `no_eligible_payouts` when there is nothing to export,
 * `too_many_payouts` past 10,000.
 *
 * The protocol (each step survives a crash after it):
 * 1. the export record is written as `building`, with the payout ids it may take;
 * 2. each payout is taken by one conditional UpdateItem ready → processing recording the export and
 *    its EndToEndId (two exports racing for a payout: exactly one wins it);
 * 3. the files are written from exactly the payouts won;
 * 4. the payout ids become those won, and the record `active`.
 * A crash leaves a `building` record: the same Idempotency-Key resumes it (step 2 counts payouts
 * already processing in it as won, the files are written again byte for byte), and `recoverExports`
 * (run at the start of every export request) rolls back one older than `STALE_EXPORT_MS`.
 */
export async function createExport(
  input: CreateExport,
  actor: Actor,
  options: CreateExportOptions = {},
): Promise<Export> {
  if (input.sepaVersion !== undefined && input.format !== 'sepa') {
    throw new ValidationFailed('sepaVersion applies to SEPA exports only', {
      errors: [{ path: 'sepaVersion', message: 'only with format sepa' }],
    });
  }
  await recoverExports().catch((error: unknown) =>
    logger.warn('Export recovery failed; the next request tries again', { error }),
  );
  const createdAt = new Date();
  let id = newId('export', createdAt.getTime());
  if (options.requestKey !== undefined) {
    id = await claimExportRequestKey(options.requestKey, id);
    const earlier = await findExport(id);
    if (earlier) return resumeExport(earlier.record, earlier.payoutIds);
  }
  const { payouts, partners } = input.payoutIds
    ? await namedPayouts(input.payoutIds, input.currency)
    : await allReadyPayouts(input.currency);
  // Controls: holds, four-eyes approval, the releaser of a payout-method-change hold.
  const skipped = await gateExport(payouts, actor, input.payoutIds);
  const rows = [...payouts.values()].map((payout) => toRow(payout, partners.get(payout.partnerId)));
  const named = input.payoutIds;
  assertExportable(input.format, rows, (payoutId) =>
    named ? `payoutIds[${named.indexOf(payoutId)}]` : payoutId,
  );

  const sepaVersion = input.format === 'sepa' ? (input.sepaVersion ?? DEFAULT_SEPA_VERSION) : undefined;
  const record: ExportRecord = {
    id,
    status: 'building',
    sequence: await nextExportSequence(),
    format: input.format,
    ...(sepaVersion ? { sepaVersion } : {}),
    ...(input.currency !== undefined ? { currency: input.currency } : {}),
    payoutCount: 0,
    totals: [],
    files: [],
    fileName: '',
    sha256: '',
    createdAt: createdAt.toISOString(),
    createdBy: actor.id,
    ...(options.requestKey !== undefined ? { requestKey: options.requestKey } : {}),
  };
  const candidateIds = rows.map((row) => row.payoutId);
  await putBuildingExport(record, candidateIds);
  const created = await completeExport(record, { payouts, partners }, candidateIds, {
    allOrNothing: named !== undefined,
    actor,
  });
  return skipped.length > 0 ? { ...created, skipped } : created;
}

/** A retried request (same Idempotency-Key) finds its export: finished, or resumed where it stopped. */
async function resumeExport(record: ExportRecord, payoutIds: string[]): Promise<Export> {
  if (record.status !== 'building') return { ...(await present(record)), payoutIds };
  const snapshots = await readSnapshots([payoutIds], record.id);
  return completeExport(record, snapshots, payoutIds, {
    allOrNothing: false,
    actor: { role: 'manager', id: record.createdBy },
  });
}

/** Steps 2–4 of `createExport`, from a `building` record and the payouts it may take. */
async function completeExport(
  record: ExportRecord,
  snapshots: Snapshots,
  candidateIds: readonly string[],
  options: { allOrNothing: boolean; actor: Actor },
): Promise<Export> {
  const won = await takePayouts(record, snapshots, candidateIds, options);
  const rows = candidateIds
    .filter((payoutId) => won.has(payoutId))
    .map((payoutId) => {
      const payout = snapshots.payouts.get(payoutId) as PayoutSnapshot;
      return toRow(payout, snapshots.partners.get(payout.partnerId), record.sequence);
    });
  const payoutIds = rows.map((row) => row.payoutId);
  // Links (what `exportsOfPayout` reads, and the EndToEndIds bank reports resolve) are written while
  // the files are generated and uploaded, and before the export becomes active.
  let links: Promise<void> | undefined;
  const writeLinks = (fileName: string) => {
    const refs = rows.map((row) => ({ payoutId: row.payoutId, endToEndId: row.endToEndId as string }));
    links = putExportLinks(refs, {
      exportId: record.id,
      format: record.format,
      fileName,
      createdAt: record.createdAt,
    });
    links.catch(() => undefined);
  };
  let files: StoredExportFile[];
  try {
    files = await writeFiles(rows, {
      exportId: record.id,
      format: record.format,
      createdAt: new Date(record.createdAt),
      sepaVersion: record.sepaVersion,
      onFirstFile: writeLinks,
    });
    await links;
  } catch (error) {
    await links?.catch(() => undefined);
    await abandonExport(record.id, payoutIds, 'the export could not be written');
    throw error;
  }
  const first = files[0];
  if (!first) throw new Error('The export produced no file');
  const totals = mergeTotals(files.map((file) => ({ count: file.payoutCount, amounts: file.totals })));
  const active: ExportRecord = {
    ...record,
    status: 'active',
    payoutCount: totals.count,
    totals: totals.amounts,
    files,
    fileName: first.fileName,
    sha256: first.sha256,
    // written building at 1; the activation bumps it (../adapters/export-store.ts)
    version: (record.version ?? 1) + 1,
  };
  await putExportPayoutIds(record.id, payoutIds, candidateIds);
  // `export.created` is recorded with the activation that makes the export exist (../adapters/outbox.ts).
  const created = outboxEntry('export.created', new Date().toISOString());
  if (!(await activateExport(active, [created]))) {
    // Rolled back meanwhile (recovery judged it abandoned): its payouts go back, and so does the answer.
    await releaseExportPayouts(record.id, payoutIds, SYSTEM, 'payout.export_rolled_back', 'rolled back');
    throw new Conflict('The export was rolled back while it was written; export again');
  }
  // Each payout's workflow waits on `ready`: it now waits on the outcome.
  await forEachLimited(payoutIds, TAKE_CONCURRENCY, async (payoutId) => {
    const task = snapshots.payouts.get(payoutId)?.task;
    if (task) await signalPayoutWorkflow({ id: payoutId, task }, 'ready');
  });
  await publishRecorded(keys.export(record.id), exportEventData(active, payoutIds), [created]);
  return { ...(await present(active)), payoutIds };
}

/**
 * Step 2: ready → processing, one conditional write per payout. A payout already processing in this
 * export (a resumed one) counts as won. All or nothing (named payouts): the lowest id is taken alone
 * first, so racing requests meet on it; any payout lost → those won go back to ready, the record is
 * deleted, and the answer is 409 naming the payouts that were not ready.
 */
async function takePayouts(
  record: ExportRecord,
  snapshots: Snapshots,
  candidateIds: readonly string[],
  options: { allOrNothing: boolean; actor: Actor },
): Promise<Set<string>> {
  const won = new Set<string>();
  const lost: string[] = [];
  const take = async (payoutId: string) => {
    const payout = snapshots.payouts.get(payoutId);
    if (payout?.status === 'processing' && payout.exportId === record.id) {
      // Taken before a crash; its link (the EndToEndId's item) is written with the others.
      won.add(payoutId);
      return;
    }
    if (payout?.status !== 'ready') {
      lost.push(payoutId);
      return;
    }
    const at = new Date().toISOString();
    const endToEndId = endToEndIdFor(payoutId, record.sequence);
    const taken = await takePayout(payoutId, {
      exportId: record.id,
      endToEndId,
      at,
      event: newEvent('payout.processing', options.actor, at, {
        from: 'ready',
        to: 'processing',
        data: { exportId: record.id, endToEndId, format: record.format },
      }),
    });
    if (taken) won.add(payoutId);
    else lost.push(payoutId);
  };
  let rest: readonly string[] = candidateIds;
  if (options.allOrNothing) {
    const [first, ...others] = [...candidateIds].sort();
    if (first) await take(first);
    rest = lost.length > 0 ? [] : others;
  }
  await forEachLimited(rest, TAKE_CONCURRENCY, take);
  if (options.allOrNothing && lost.length > 0) {
    await abandonExport(record.id, [...won], 'a named payout was taken by another request');
    throw new InvalidTransition(
      `Only ready payouts can be exported; ${lost.join(', ')} ${lost.length === 1 ? 'is' : 'are'} not ready any more`,
      { data: { payoutIds: lost } },
    );
  }
  if (won.size === 0) {
    await abandonExport(record.id, [], 'every payout was taken by another request');
    throw new NoPayoutsToExport('Every payout was taken by another export meanwhile');
  }
  return won;
}

/** An export that cannot complete: its payouts go back to ready, then its record goes. */
async function abandonExport(exportId: string, payoutIds: readonly string[], reason: string): Promise<void> {
  await releaseExportPayouts(exportId, payoutIds, SYSTEM, 'payout.export_rolled_back', reason);
  await deleteExportRecord(exportId);
}

/**
 * `POST /exports/{id}/void`: the export's payouts still processing go back to ready and its file can
 * no longer be downloaded. 409 `export_settled` once any of its payouts has an outcome.
 */
export async function voidExportByManager(id: string, reason: string, actor: Actor): Promise<Export> {
  const result = await voidExport(id, reason, actor);
  switch (result.result) {
    case 'not_found':
      throw new NotFound(`No export ${id}`);
    case 'export_settled':
      throw new ExportSettled(
        `${result.payoutIds.length} payout(s) of this export already have an outcome: ${result.payoutIds.join(', ')}`,
        { data: { payoutIds: result.payoutIds } },
      );
    case 'invalid_transition':
      throw new InvalidTransition('The export is still being built; void it once it is active');
    default:
      return getExport(id);
  }
}

/** One export, with fresh download links. */
export async function getExport(id: string): Promise<Export> {
  const found = await findExport(id);
  if (!found) throw new NotFound(`No export ${id}`);
  return { ...(await present(found.record)), payoutIds: found.payoutIds };
}

/** Exports, newest first, with fresh download links (without their payout ids: see getExport). */
export async function listExports(page: {
  limit: number;
  cursor?: string | undefined;
}): Promise<Page<ExportSummary>> {
  const result = await listExportRecords(page);
  return { items: await Promise.all(result.items.map(present)), nextCursor: result.nextCursor };
}

/**
 * The exports a payout was in, oldest first: its link items, without those whose export has no
 * record (an export that failed or crashed before its record was stored). 404 for an unknown payout.
 */
export async function exportsOfPayout(payoutId: string): Promise<ExportLink[]> {
  const [exists, links] = await Promise.all([payoutExists(payoutId), payoutExportLinks(payoutId)]);
  if (!exists) throw new NotFound(`No payout ${payoutId}`);
  if (links.length === 0) return [];
  const existing = await existingExportIds(links.map((link) => link.exportId));
  return links
    .filter((link) => existing.has(link.exportId))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.exportId.localeCompare(b.exportId));
}

export { recoverExports, STALE_EXPORT_MS } from './export-recovery.ts';
