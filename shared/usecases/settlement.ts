/**
 * Settlement: what happens to exported payouts once the bank (a report) or the manager (by hand) says
 * how they ended. The bank-report use case calls these one line at a time; the manual routes
 * (`mark-paid`, `mark-failed`, `POST /exports/{id}/void`) go through the same functions.
 *
 * Every function is idempotent and answers with a typed result instead of throwing for the outcomes a
 * report line can have: an outcome already recorded is `already_applied`, a line that contradicts the
 * payout's state is `invalid_transition`. Only storage failures throw (the caller retries the line).
 *
 * Each change is one conditional UpdateItem on the payout (status, version and the EndToEndId the
 * report names, with its history entry), followed by idempotent follow-ups (rewards, workflow) that
 * the workflow also runs, so a crash between the two loses nothing.
 */

import {
  exportStatusOf,
  findExport,
  payoutSettlementView,
  resolveExportRef,
  snapshotReader,
} from '../adapters/export-store.ts';
import { logger } from '../adapters/observability.ts';
import {
  findPayoutItem,
  findPayoutItems,
  forEachLimited,
  loadPayoutRewards,
  newEvent,
  type PayoutItem,
  type PayoutUpdate,
  toPayout,
  unpayReward,
  updatePayout,
  updatePayoutAsRead,
} from '../adapters/payout-store.ts';
import { signalPayoutWorkflow, startPayoutWorkflow } from '../adapters/workflow.ts';
import { isBadAccountFailure } from '../domain/controls.ts';
import { endToEndIdFor, parseEndToEndId } from '../domain/end-to-end.ts';
import { Conflict, DomainError } from '../domain/errors.ts';
import { reasonText } from '../domain/reason-codes.ts';
import type { Actor, ExportStatus, Payout, PayoutStatus, SettlementSource } from '../domain/schemas.ts';
import { type VoidResult, voidExport } from './export-void.ts';
import { holdForInvalidPayoutMethod } from './holds.ts';
import { markPayoutRewardsPaid } from './payouts.ts';

const SYSTEM: Actor = { role: 'system', id: 'bank_report' };
const FOLLOW_UP_CONCURRENCY = 16;

// ------------------------------------------------------------------ finding a payout by EndToEndId

export type EndToEndMatch =
  /** The payout is (or was) in this export, which is not voided. */
  | {
      found: 'payout';
      endToEndId: string;
      exportId: string;
      exportStatus: Exclude<ExportStatus, 'voided'>;
      payoutId: string;
      payoutStatus: PayoutStatus;
      /** What the bank must have moved, to the minor unit. */
      amount: number;
      currency: string;
    }
  /** The EndToEndId is of an export that was voided: a booking of it is a possible double payment. */
  | {
      found: 'voided_export';
      endToEndId: string;
      exportId: string;
      payoutId: string;
      payoutStatus: PayoutStatus;
      amount: number;
      currency: string;
    }
  /** No export of ours wrote this EndToEndId. */
  | { found: 'unmatched'; endToEndId: string };

/** Finds the export and payout an EndToEndId was written for (one GetItem of the payout, one of the export). */
export async function findByEndToEndId(endToEndId: string): Promise<EndToEndMatch> {
  const parsed = parseEndToEndId(endToEndId);
  if (!parsed) return { found: 'unmatched', endToEndId };
  const view = await payoutSettlementView(parsed.payoutId);
  const ref = view ? await resolveExportRef(view, endToEndId) : undefined;
  if (!view || !ref) return { found: 'unmatched', endToEndId };
  const exportStatus = await exportStatusOf(ref.exportId);
  if (!exportStatus) return { found: 'unmatched', endToEndId };
  const common = {
    endToEndId: ref.endToEndId,
    exportId: ref.exportId,
    payoutId: view.id,
    payoutStatus: view.status,
    // What the file paid: with VAT on top (self-billing, `vat` regime) the payout pays `amountToPay`.
    amount: view.amountToPay ?? view.amount,
    currency: view.currency,
  };
  if (exportStatus === 'voided') return { found: 'voided_export', ...common };
  return { found: 'payout', exportStatus, ...common };
}

/** An export's payouts as a report checks them (e.g. a batch booking: count and total). */
export interface ExportSettlementView {
  exportId: string;
  status: ExportStatus;
  sequence: number;
  payouts: {
    payoutId: string;
    endToEndId: string;
    amount: number;
    currency: string;
    status: PayoutStatus;
  }[];
}

export async function exportSettlementView(exportId: string): Promise<ExportSettlementView | undefined> {
  const found = await findExport(exportId);
  if (!found) return undefined;
  const snapshots = new Map(
    (await snapshotReader().payouts(found.payoutIds)).map((payout) => [payout.id, payout]),
  );
  return {
    exportId,
    status: found.record.status,
    sequence: found.record.sequence,
    payouts: found.payoutIds.flatMap((payoutId) => {
      const payout = snapshots.get(payoutId);
      if (!payout || found.record.sequence < 1) return [];
      return [
        {
          payoutId,
          endToEndId: endToEndIdFor(payoutId, found.record.sequence),
          amount: payout.amount, // the snapshot's amount is what the file paid (`amountToPay`)
          currency: payout.currency,
          status: payout.status,
        },
      ];
    }),
  };
}

// ------------------------------------------------------------------ outcomes of one payout

export type SettleResult =
  | { result: 'applied'; payout: Payout }
  | { result: 'already_applied'; payout: Payout }
  | { result: 'invalid_transition'; payout: Payout; detail: string }
  | { result: 'not_found'; payoutId: string };

/** For callers settling many payouts (a bank report): what they already read, what can wait. */
export interface SettleOptions {
  /**
   * The payout as just read (consistently), not read again; a stale one loses the version check. It
   * may be partial (`SETTLEMENT_FIELDS`): the answer's `payout` is then partial too.
   */
  item?: PayoutItem | undefined;
  /**
   * `workflow`: leave marking the rewards paid to the payout's workflow (its sync on `paid` does it,
   * woken by the signal or its timeout) instead of doing it inline.
   */
  followUps?: 'inline' | 'workflow';
  /**
   * `later`: the transition's history entry stays in the payout's outbox (shown to readers from
   * there) and is materialized by the payout's workflow sync (woken by the signal below, or by its
   * wait's timeout) or by the payout's next change; see ../adapters/payout-history.ts.
   */
  history?: 'now' | 'later';
}

export interface SettlePaidInput {
  source: SettlementSource;
  paymentReference?: string | undefined;
  /** When the money left (ISO 8601). */
  at: string;
  /** The EndToEndId the report names: the payout must be processing under exactly this one. */
  endToEndId?: string | undefined;
  actor?: Actor | undefined;
  /** For manual marks: the If-Match version. */
  ifMatch?: number | undefined;
}

/**
 * processing → paid (and, by hand only, ready → paid: paid outside any file). Its rewards become
 * paid. Paid already: `already_applied`.
 */
export async function settlePaid(
  payoutId: string,
  input: SettlePaidInput,
  options: SettleOptions = {},
): Promise<SettleResult> {
  const item = options.item ?? (await findPayoutItem(payoutId));
  if (!item) return { result: 'not_found', payoutId };
  if (item.status === 'paid') return { result: 'already_applied', payout: toPayout(item) };
  const from: PayoutStatus[] = input.source === 'manual' ? ['ready', 'processing'] : ['processing'];
  const refused = (detail: string): SettleResult => ({
    result: 'invalid_transition',
    payout: toPayout(item),
    detail,
  });
  if (!from.includes(item.status)) return refused(`The payout is ${item.status}`);
  if (input.endToEndId !== undefined && item.endToEndId !== input.endToEndId) {
    return refused(`The payout is not processing under ${input.endToEndId}`);
  }
  const now = new Date().toISOString();
  const data = {
    source: input.source,
    paidAt: input.at,
    ...(input.paymentReference ? { paymentReference: input.paymentReference } : {}),
    ...(item.exportId ? { exportId: item.exportId, endToEndId: item.endToEndId } : {}),
  };
  let updated: PayoutItem;
  try {
    updated = await commit(payoutId, item, options, {
      from,
      version: item.version,
      ifMatch: input.ifMatch,
      to: 'paid',
      set: {
        paidAt: input.at,
        paidSource: input.source,
        ...(input.paymentReference ? { paymentReference: input.paymentReference } : {}),
      },
      ...(input.endToEndId !== undefined
        ? { condition: { expression: 'endToEndId = :cE2e', values: { ':cE2e': input.endToEndId } } }
        : {}),
      events: [newEvent('payout.paid', input.actor ?? SYSTEM, now, { from: item.status, to: 'paid', data })],
      at: now,
      flush: options.history ?? 'now',
    });
  } catch (error) {
    if (input.source === 'manual') throw error;
    // The item given was stale (a line before this one changed the payout): once more, read afresh.
    if (options.item && error instanceof Conflict)
      return settlePaid(payoutId, input, { ...options, item: undefined });
    return afterLostRace(payoutId, 'paid', error);
  }
  if (options.followUps !== 'workflow') {
    await followUp(() => markPayoutRewardsPaid(payoutId), payoutId, 'mark rewards paid');
  }
  // A workflow that missed the export's signal still waits on `ready`: answer either wait.
  await signalPayoutWorkflow(updated, ['ready', 'processing']);
  return { result: 'applied', payout: toPayout(updated) };
}

export interface SettleFailedInput {
  /** ISO 20022 reason code (e.g. AC04); its plain text is the reason when none is given. */
  code?: string | undefined;
  reason?: string | undefined;
  /** True when the money came back after the payout was paid (a return). */
  returned: boolean;
  source: SettlementSource;
  at: string;
  endToEndId?: string | undefined;
  actor?: Actor | undefined;
  ifMatch?: number | undefined;
}

/**
 * processing → failed (a rejection), or paid → failed (a return; also from processing when the
 * return arrives before the booking). The rewards stay with the payout and go back to accepted if they
 * were paid. Failed already: `already_applied`. The return window applies to manual marks only (see
 * `markPayoutFailed`).
 */
export async function settleFailed(
  payoutId: string,
  input: SettleFailedInput,
  options: SettleOptions = {},
): Promise<SettleResult> {
  const item = options.item ?? (await findPayoutItem(payoutId));
  if (!item) return { result: 'not_found', payoutId };
  if (item.status === 'failed') return { result: 'already_applied', payout: toPayout(item) };
  const from: PayoutStatus[] = input.returned ? ['processing', 'paid'] : ['processing'];
  const refused = (detail: string): SettleResult => ({
    result: 'invalid_transition',
    payout: toPayout(item),
    detail,
  });
  if (!from.includes(item.status)) return refused(`The payout is ${item.status}`);
  if (input.endToEndId !== undefined && item.endToEndId !== input.endToEndId) {
    return refused(`The payout is not ${item.status} under ${input.endToEndId}`);
  }
  const plain = reasonText(input.code);
  const failure = {
    ...(plain.code ? { code: plain.code } : {}),
    reason: input.reason?.trim() || plain.text,
    source: input.source,
    returned: input.returned,
    at: input.at,
  };
  const now = new Date().toISOString();
  let updated: PayoutItem;
  try {
    updated = await commit(payoutId, item, options, {
      from,
      version: item.version,
      ifMatch: input.ifMatch,
      to: 'failed',
      set: { failedAt: input.at, failure },
      ...(input.endToEndId !== undefined
        ? { condition: { expression: 'endToEndId = :cE2e', values: { ':cE2e': input.endToEndId } } }
        : {}),
      events: [
        newEvent('payout.failed', input.actor ?? SYSTEM, now, {
          from: item.status,
          to: 'failed',
          data: {
            failure,
            explanation: plain.text,
            checkDetails: plain.checkDetails,
            ...(item.exportId ? { exportId: item.exportId, endToEndId: item.endToEndId } : {}),
          },
        }),
      ],
      at: now,
      flush: options.history ?? 'now',
    });
  } catch (error) {
    if (input.source === 'manual') throw error;
    if (options.item && error instanceof Conflict) {
      return settleFailed(payoutId, input, { ...options, item: undefined });
    }
    return afterLostRace(payoutId, 'failed', error);
  }
  if (isBadAccountFailure(failure.code)) {
    // The account itself is wrong: hold the partner until their payout method changes.
    await followUp(
      () => holdForInvalidPayoutMethod(item.partnerId, payoutId, failure.code ?? ''),
      payoutId,
      'hold for an invalid payout method',
    );
  }
  if (item.status === 'paid') {
    await followUp(() => unpayPayoutRewards(updated), payoutId, 'rewards back to accepted');
    // Its workflow has finished: a new one follows the failed payout (the reconciler also attaches one).
    await startPayoutWorkflow(payoutId, 'failed', `${payoutId}.failed`);
  } else {
    await signalPayoutWorkflow(updated, ['ready', 'processing']);
  }
  return { result: 'applied', payout: toPayout(updated) };
}

/**
 * The settling write. For a caller that holds the payout as just read and leaves the history to a
 * later flush (a bank report), the write returns nothing (ReturnValues NONE: the whole item is not
 * sent back for every line) and the answer is the item as read with the change applied; the task
 * token it holds must then still be the payout's (parking one does not move the version), so the
 * signal after the commit reaches the workflow that waits. A failed condition is a Conflict: the
 * caller reads afresh and tries once more.
 */
async function commit(
  payoutId: string,
  item: PayoutItem,
  options: SettleOptions,
  update: PayoutUpdate,
): Promise<PayoutItem> {
  if (options.history !== 'later' || !options.item) return updatePayout(payoutId, update);
  const task = item.task;
  // The version read guards the status and the EndToEndId (an export's take and release bump it),
  // the `seq` read the outbox's room (every append raises it), so the condition is the version, the
  // seq and the task token (parking one does not bump the version): dynalite parses every clause of
  // every line's write, and a function (size(…)) costs it most. `update` is this call's own (built by
  // the caller for it): completed in place rather than copied, once per line.
  if (typeof item.seq === 'number' && typeof item.flushed === 'number') {
    update.asRead = { seq: item.seq, flushed: item.flushed };
  }
  update.condition = task
    ? { expression: '#k.#t = :k', names: { '#k': 'task', '#t': 'token' }, values: { ':k': task.token } }
    : { expression: 'attribute_not_exists(#k)', names: { '#k': 'task' } };
  await updatePayoutAsRead(payoutId, Object.assign(update, { returnItem: 'none' as const }));
  return {
    ...item,
    ...update.set,
    status: update.to ?? item.status,
    version: item.version + 1,
    updatedAt: update.at,
  } as PayoutItem;
}

/** After a conditional write lost: the outcome another writer recorded, or why it does not apply. */
async function afterLostRace(
  payoutId: string,
  wanted: 'paid' | 'failed',
  error: unknown,
): Promise<SettleResult> {
  if (!(error instanceof DomainError)) throw error;
  const current = await findPayoutItem(payoutId);
  if (!current) return { result: 'not_found', payoutId };
  if (current.status === wanted) return { result: 'already_applied', payout: toPayout(current) };
  return { result: 'invalid_transition', payout: toPayout(current), detail: error.message };
}

/** The rewards of a payout that failed after it was paid go back to accepted. Safe to run again. */
export async function unpayPayoutRewards(
  item: Pick<PayoutItem, 'id' | 'memberCount' | 'status'>,
): Promise<number> {
  if (item.status !== 'failed') return 0;
  const rewards = (await loadPayoutRewards(item)).filter((reward) => reward.status === 'paid');
  const at = new Date().toISOString();
  await forEachLimited(rewards, FOLLOW_UP_CONCURRENCY, (reward) => unpayReward(reward.id, item.id, at));
  return rewards.length;
}

async function followUp(work: () => Promise<unknown>, payoutId: string, what: string): Promise<void> {
  try {
    await work();
  } catch (error) {
    logger.warn(`Follow-up failed: ${what}; the workflow will retry`, { payoutId, error });
  }
}

// ------------------------------------------------------------------ voiding an export

export { releaseExportPayouts, type VoidResult, voidExport } from './export-void.ts';

/** The bank refused the whole file (a group-level pain.002 RJCT): the export is voided. */
export async function voidExportForRejection(exportId: string, reason: string): Promise<VoidResult> {
  return voidExport(exportId, reason, SYSTEM);
}

// ------------------------------------------------------------------ many EndToEndIds at once

/** What settling reads of a payout item (`findByEndToEndIds` reads only these). */
export const SETTLEMENT_FIELDS = [
  'id',
  'partnerId',
  'status',
  'version',
  'amount',
  'amountToPay',
  'currency',
  'exportId',
  'endToEndId',
  'exportRefs',
  'reissuedAs',
  'paidAt',
  // for the settling write without a returned item: the signal's token, the rewards of a return,
  // and the history's length (the write checks `seq` as read, not the outbox's size)
  'task',
  'memberCount',
  'seq',
  'flushed',
] as const;

export interface BatchMatch {
  match: EndToEndMatch;
  /** The payout item as read, for `settlePaid` / `settleFailed` (`options.item`). */
  item?: PayoutItem;
}

/**
 * `findByEndToEndId` for many ids with batched reads: the payouts 100 a BatchGetItem, each export's
 * status once. Answers by EndToEndId (as given).
 */
export async function findByEndToEndIds(endToEndIds: readonly string[]): Promise<Map<string, BatchMatch>> {
  const parsed = new Map(endToEndIds.map((id) => [id, parseEndToEndId(id)]));
  const items = await findPayoutItems(
    [...parsed.values()].flatMap((value) => (value ? [value.payoutId] : [])),
    SETTLEMENT_FIELDS,
  );
  const statuses = new Map<string, Promise<ExportStatus | undefined>>();
  const statusOf = (exportId: string) => {
    let status = statuses.get(exportId);
    if (!status) {
      status = exportStatusOf(exportId);
      statuses.set(exportId, status);
    }
    return status;
  };
  const found = new Map<string, BatchMatch>();
  for (const [endToEndId, ids] of parsed) {
    const item = ids ? items.get(ids.payoutId) : undefined;
    const ref = item ? await resolveExportRef(item, endToEndId) : undefined;
    const exportStatus = ref ? await statusOf(ref.exportId) : undefined;
    if (!item || !ref || !exportStatus) {
      found.set(endToEndId, { match: { found: 'unmatched', endToEndId } });
      continue;
    }
    const common = {
      endToEndId: ref.endToEndId,
      exportId: ref.exportId,
      payoutId: item.id,
      payoutStatus: item.status,
      amount: item.amountToPay ?? item.amount,
      currency: item.currency,
    };
    found.set(endToEndId, {
      item,
      match:
        exportStatus === 'voided'
          ? { found: 'voided_export', ...common }
          : { found: 'payout', exportStatus, ...common },
    });
  }
  return found;
}
