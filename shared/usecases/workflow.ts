/**
 * The workflow's steps (one Lambda, one action each): park a task token, sync (publish the history
 * not yet published and say where the payout really is), remind, the terminal follow-ups, and
 * continue-as-new near the one-year execution limit.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../adapters/clients.ts';
import { publishEvents } from '../adapters/events.ts';
import { logger } from '../adapters/observability.ts';
import { findPayoutItem, newEvent, type PayoutItem, toPayout } from '../adapters/payout-store.ts';
import { isConditionalCheckFailed, keys, queryAll, table } from '../adapters/table.ts';
import { answerTask, startNamedExecution, startPayoutWorkflow } from '../adapters/workflow.ts';
import { workflowSettings } from '../config/workflow.ts';
import type { PayoutStatus } from '../domain/schemas.ts';
import { documentsDue } from '../domain/self-billing.ts';

export { workflowSettings };

import { isFinished } from '../domain/payout-rules.ts';
import { markPayoutRewardsPaid, moveReissuedRewards, releasePayoutRewards } from './payouts.ts';

export type WaitStage = 'draft' | 'pending' | 'ready' | 'processing' | 'failed';

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
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.payout(payoutId),
        UpdateExpression: 'SET task = :task',
        ConditionExpression: '#status = :stage',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':task': { token, stage }, ':stage': stage },
      }),
    );
    return 'parked';
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
  await answerTask(token, { decision: 'moved', payoutId });
  return 'answered';
}

// ------------------------------------------------------------------ publish

/**
 * Publishes every history entry not yet published, in order, then records how far it got. A crash
 * between the two publishes again (at least once; subscribers de-duplicate on the entry id).
 */
export async function publishHistory(item: PayoutItem): Promise<number> {
  const published = (item as PayoutItem & { publishedEvents?: number }).publishedEvents ?? 0;
  const events = (item.events ?? []).slice(published);
  if (events.length === 0) return 0;
  const payout = toPayout(item);
  await publishEvents(
    events.map((event) => ({
      type: event.type.startsWith('payout.') ? event.type : `payout.${event.type}`,
      detail: { ...payout, event },
      resources: [event.id],
    })),
  );
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.payout(item.id),
        UpdateExpression: 'SET publishedEvents = :next',
        ConditionExpression: 'attribute_not_exists(publishedEvents) OR publishedEvents < :next',
        ExpressionAttributeValues: { ':next': published + events.length },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
  return events.length;
}

// ------------------------------------------------------------------ sync

export interface SyncInput {
  payoutId: string;
  stage: PayoutStatus | 'start';
  reminders: number;
  signal?: { Error?: string; decision?: string } | null;
  executionStartTime?: string;
}

export interface SyncResult {
  status: PayoutStatus | 'gone';
  remind: boolean;
  continueAsNew: boolean;
  /** A self-billed invoice or credit note is due: the workflow runs the self-billing function. */
  issue: boolean;
  /** A failed payout that was reissued: its workflow moves the rewards left and finishes. */
  reissued: boolean;
}

export async function syncPayout(input: SyncInput, settings = workflowSettings()): Promise<SyncResult> {
  const item = await findPayoutItem(input.payoutId);
  if (!item) return { status: 'gone', remind: false, continueAsNew: false, reissued: false, issue: false };
  await publishHistory(item);
  const timedOut = input.signal?.Error === 'States.Timeout';
  // A timeout of the wait on the partner (pending) or on the bank (processing) reminds.
  const remind =
    timedOut &&
    (item.status === 'pending' || item.status === 'processing') &&
    input.stage === item.status &&
    remindersThisRound(item) < settings.maxReminders;
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
 * Reminders sent since the payout last became pending, counted from its history: the limit holds
 * per review round, and survives an execution being re-attached.
 */
export function remindersThisRound(item: Pick<PayoutItem, 'events'>): number {
  let count = 0;
  for (const event of item.events ?? []) {
    if (event.to === 'pending' || event.to === 'processing') count = 0;
    else if (event.type === 'payout.reminder' || event.type === 'payout.processing_reminder') count++;
  }
  return count;
}

/**
 * A processing payout has had no outcome for PROCESSING_REMINDER_DAYS: records
 * `payout.processing_reminder` (the manager is e-mailed) and publishes it; returns the count.
 */
export async function remindManagerProcessing(payoutId: string, days: number): Promise<number> {
  const at = new Date().toISOString();
  const current = await findPayoutItem(payoutId);
  const count = (current ? remindersThisRound(current) : 0) + 1;
  try {
    const result = await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.payout(payoutId),
        UpdateExpression: 'SET #events = list_append(#events, :event)',
        ConditionExpression: '#status = :processing',
        ExpressionAttributeNames: { '#events': 'events', '#status': 'status' },
        ExpressionAttributeValues: {
          ':event': [
            newEvent('payout.processing_reminder', { role: 'system', id: 'workflow' }, at, {
              data: { count, days, exportId: current?.exportId },
            }),
          ],
          ':processing': 'processing',
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    await publishHistory(result.Attributes as PayoutItem);
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
  return count;
}

/** Records the reminder in the payout's history and publishes it; returns the new reminder count. */
export async function remindPartner(payoutId: string, reminders: number): Promise<number> {
  const at = new Date().toISOString();
  const current = await findPayoutItem(payoutId);
  const count = (current ? remindersThisRound(current) : reminders) + 1;
  try {
    const result = await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.payout(payoutId),
        UpdateExpression: 'SET #events = list_append(#events, :event)',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#events': 'events', '#status': 'status' },
        ExpressionAttributeValues: {
          ':event': [
            newEvent('payout.reminder', { role: 'system', id: 'workflow' }, at, { data: { count } }),
          ],
          ':pending': 'pending',
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    await publishHistory(result.Attributes as PayoutItem);
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    // The partner acted meanwhile: no reminder; the next sync routes the payout.
  }
  return count;
}

// ------------------------------------------------------------------ follow-ups and continue-as-new

export { markPayoutRewardsPaid, moveReissuedRewards, releasePayoutRewards };

/** Starts the next generation of the payout's execution (`po_…`, `po_….2`, …). */
export async function continueAsNew(input: {
  payoutId: string;
  stage: string;
  reminders: number;
  executionName: string;
}) {
  const arn = process.env.STATE_MACHINE_ARN;
  if (!arn) throw new Error('Missing environment variable STATE_MACHINE_ARN');
  const generation = Number(/\.(\d+)$/.exec(input.executionName)?.[1] ?? 1) + 1;
  await startNamedExecution(arn, `${input.payoutId}.${generation}`, {
    payoutId: input.payoutId,
    stage: input.stage,
    reminders: input.reminders,
    signal: null,
  });
  logger.info('Continued as new', { payoutId: input.payoutId, generation });
}

/** Starts an execution for every payout still in a human step (after a restart, or a lost start). */
export async function reattachWorkflows(): Promise<number> {
  let count = 0;
  for (const stage of ['draft', 'pending', 'ready', 'processing', 'failed'] as const) {
    const items = await queryAll({
      index: 'GSI2',
      partition: { name: 'GSI2PK', value: `PAYOUT_STATUS#${stage}` },
    });
    for (const item of items) {
      if (stage === 'failed' && item.reissuedAs !== undefined) continue;
      await startPayoutWorkflow(String(item.id), stage);
      count++;
    }
  }
  return count;
}
