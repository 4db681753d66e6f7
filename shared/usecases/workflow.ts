/**
 * The workflow's steps (one Lambda, one action each): park a task token, sync (publish the history
 * not yet published and say where the payout really is), remind, the terminal follow-ups, and
 * continue-as-new near the one-year execution limit.
 */
import { publishEvents } from '../adapters/events.ts';
import { logger } from '../adapters/observability.ts';
import { flushHistoryQuietly, readHistory, toEvent } from '../adapters/payout-history.ts';
import {
  findPayoutItem,
  markPublished,
  newEvent,
  type PayoutItem,
  parkTask,
  recordWorkflowSync,
  toPayout,
  updatePayout,
} from '../adapters/payout-store.ts';
import { answerTask, startNamedExecution } from '../adapters/workflow.ts';
import { workflowSettings } from '../config/workflow.ts';
import { Conflict, InvalidTransition } from '../domain/errors.ts';
import type { PayoutStatus } from '../domain/schemas.ts';
import { documentsDue } from '../domain/self-billing.ts';
import type { WaitStage, WorkflowActionOf } from '../domain/workflow-actions.ts';

export { workflowSettings };

import { isFinished } from '../domain/payout-rules.ts';
import { markPayoutRewardsPaid, moveReissuedRewards, releasePayoutRewards } from './payouts.ts';

// ------------------------------------------------------------------ park

/**
 * Parks the task token on the payout for the stage it waits on. If the payout already left that
 * stage (the API committed before the token was parked), answers the token at once.
 */
export async function parkTaskToken(
  payoutId: string,
  stage: WaitStage,
  token: string,
): Promise<'parked' | 'answered'> {
  if (await parkTask(payoutId, stage, token)) return 'parked';
  await answerTask(token, { payoutId });
  return 'answered';
}

// ------------------------------------------------------------------ publish

/**
 * Publishes every history entry not yet published, in order, then records how far it got. A crash
 * between the two publishes again (at least once; subscribers de-duplicate on the entry id).
 */
export async function publishHistory(item: PayoutItem): Promise<number> {
  let published = item.publishedEvents ?? 0;
  const payout = toPayout(item);
  let count = 0;
  // In chunks, the mark moved after each: a long unpublished history (thousands of reviews) is never
  // read or published whole.
  while (published < (item.seq ?? 0)) {
    const entries = await readHistory(item, { afterSeq: published, limit: PUBLISH_CHUNK });
    if (entries.length === 0) break;
    await publishEvents(
      entries.map((entry) => {
        const event = toEvent(entry);
        return {
          type: event.type.startsWith('payout.') ? event.type : `payout.${event.type}`,
          detail: { ...payout, event },
          resources: [event.id],
        };
      }),
    );
    const next = published + entries.length;
    await markPublished(item.id, next);
    count += entries.length;
    published = next;
  }
  return count;
}

const PUBLISH_CHUNK = 100;

// ------------------------------------------------------------------ sync

/** Sync's input (../domain/workflow-actions.ts); `action` and `signal` may be left out by a direct call. */
export type SyncInput = Omit<WorkflowActionOf<'sync'>, 'action' | 'signal'> &
  Partial<Pick<WorkflowActionOf<'sync'>, 'signal'>>;

export interface SyncResult {
  status: PayoutStatus | 'gone' | 'superseded';
  remind: boolean;
  continueAsNew: boolean;
  /** A self-billed invoice or credit note is due: the workflow runs the self-billing function. */
  issue: boolean;
  /** A failed payout that was reissued: its workflow moves the rewards left and finishes. */
  reissued: boolean;
}

/** Attempt n of an execution name `<payoutId>[-<n>][.<generation>]`. */
export function attemptOf(payoutId: string, executionName: string): number {
  // The execution that follows a paid payout that failed (`<payoutId>.failed`) is a new life.
  if (executionName === `${payoutId}.failed`) return 1000;
  const match = /^(?:-(\d+))?(?:\.\d+)?$/.exec(executionName.slice(payoutId.length));
  return executionName.startsWith(payoutId) && match ? Number(match[1] ?? 1) : 1;
}

/**
 * Records that this execution reported on the payout (`syncedAt`, and the execution as the payout's
 * `workflow`), unless the payout records a later attempt: then this execution is a leftover of an
 * earlier attempt and ends (`superseded`), so a payout never has two live workflows.
 */
async function recordSync(item: PayoutItem, input: SyncInput): Promise<boolean> {
  if (!input.executionName) return true;
  const attempt = attemptOf(item.id, input.executionName);
  const recorded = await recordWorkflowSync(item.id, {
    executionName: input.executionName,
    attempt,
    startedAt: input.executionStartTime ?? new Date().toISOString(),
  });
  if (!recorded) {
    logger.warn('A later attempt runs this payout; this execution ends', {
      payoutId: item.id,
      executionName: input.executionName,
    });
    return false;
  }
  return true;
}

export async function syncPayout(input: SyncInput, settings = workflowSettings()): Promise<SyncResult> {
  const item = await findPayoutItem(input.payoutId);
  if (!item) return { status: 'gone', remind: false, continueAsNew: false, reissued: false, issue: false };
  if (!(await recordSync(item, input))) {
    return { status: 'superseded', remind: false, continueAsNew: false, reissued: false, issue: false };
  }
  await publishHistory(item);
  const timedOut = input.signal?.Error === 'States.Timeout';
  // A timeout of the wait on the partner (pending) or on the bank (processing) reminds.
  const remind =
    timedOut &&
    (item.status === 'pending' || item.status === 'processing') &&
    input.stage === item.status &&
    remindersThisRound(item) < settings.maxReminders;
  if (item.outbox?.length) await flushHistoryQuietly(item);
  const age = input.executionStartTime ? Date.now() - Date.parse(input.executionStartTime) : 0;
  const terminal = isFinished(item);
  const due = documentsDue(item);
  return {
    status: item.status,
    remind,
    continueAsNew: !terminal && age > settings.maxExecutionAgeMs,
    reissued: item.status === 'failed' && item.reissuedAs !== undefined,
    issue: due.invoice || due.creditNote,
  };
}

// ------------------------------------------------------------------ remind

/**
 * Reminders sent since the payout last became pending: a counter on the payout, reset by the
 * validation that makes it pending and bumped with each reminder's history entry in the same write,
 * so the limit holds per review round and survives an execution being restarted.
 */
export function remindersThisRound(item: Pick<PayoutItem, 'reminders'>): number {
  return item.reminders ?? 0;
}

/**
 * A processing payout has had no outcome for PROCESSING_REMINDER_DAYS: records
 * `payout.processing_reminder` (the manager is e-mailed) and publishes it; returns the count.
 */
export async function remindManagerProcessing(payoutId: string, days: number): Promise<number> {
  const at = new Date().toISOString();
  const current = await findPayoutItem(payoutId);
  if (!current) return 0;
  const count = remindersThisRound(current) + 1;
  try {
    const updated = await updatePayout(payoutId, {
      from: ['processing'],
      expect: { reminders: current.reminders },
      keepVersion: true,
      set: { reminders: count },
      events: [
        newEvent('payout.processing_reminder', { role: 'system', id: 'workflow' }, at, {
          data: { count, days, exportId: current.exportId },
        }),
      ],
      at,
    });
    await publishHistory(updated);
  } catch (error) {
    if (!(error instanceof InvalidTransition || error instanceof Conflict)) throw error;
  }
  return count;
}

/** Records the reminder in the payout's history and publishes it; returns the new reminder count. */
export async function remindPartner(payoutId: string, reminders: number): Promise<number> {
  const at = new Date().toISOString();
  const current = await findPayoutItem(payoutId);
  if (!current) return reminders;
  const count = remindersThisRound(current) + 1;
  try {
    const updated = await updatePayout(payoutId, {
      from: ['pending'],
      // Against the count read: a concurrent reminder (a duplicate wake-up) makes this one a no-op.
      expect: { reminders: current.reminders },
      keepVersion: true,
      set: { reminders: count },
      events: [newEvent('payout.reminder', { role: 'system', id: 'workflow' }, at, { data: { count } })],
      at,
    });
    await publishHistory(updated);
  } catch (error) {
    if (!(error instanceof InvalidTransition || error instanceof Conflict)) throw error;
    // The partner acted meanwhile, or another wake-up reminded: the next sync routes the payout.
  }
  return count;
}

// ------------------------------------------------------------------ follow-ups and continue-as-new

export { markPayoutRewardsPaid, moveReissuedRewards, releasePayoutRewards };

/** Starts the next generation of the payout's execution (`po_…`, `po_….2`, …). */
export async function continueAsNew(input: Omit<WorkflowActionOf<'continue'>, 'action'>) {
  const arn = process.env.STATE_MACHINE_ARN;
  if (!arn) throw new Error('Missing environment variable STATE_MACHINE_ARN');
  const generation = Number(/\.(\d+)$/.exec(input.executionName)?.[1] ?? 1) + 1;
  const base = input.executionName.replace(/\.\d+$/, '');
  await startNamedExecution(arn, `${base}.${generation}`, {
    payoutId: input.payoutId,
    stage: input.stage,
    reminders: input.reminders,
    signal: null,
  });
  logger.info('Continued as new', { payoutId: input.payoutId, generation });
}
