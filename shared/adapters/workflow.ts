/**
 * The API's side of the payout workflow: start one execution per payout, and answer the task token
 * that the workflow parked on the payout item. A failed callback never fails the request: the
 * commit stands and the workflow reconciles on its next timeout. A failed start is recorded on the
 * payout (`workflow.failedAt`) for the reconciler.
 */
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SendTaskSuccessCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PayoutStatus } from '../domain/schemas.ts';
import { dynamo, sfn } from './clients.ts';
import { logger } from './observability.ts';
import type { PayoutItem, PayoutWorkflowRecord } from './payout-store.ts';
import { isConditionalCheckFailed, keys, table } from './table.ts';

export function stateMachineArn(): string | undefined {
  return process.env.STATE_MACHINE_ARN || undefined;
}

/**
 * Starts an execution under a deterministic name; resolves `false` when one of that name exists
 * already (`ExecutionAlreadyExists`): starting is idempotent.
 */
export async function startNamedExecution(
  stateMachineArn: string,
  name: string,
  input: Omit<WorkflowInput, 'stage'> & { stage: string },
): Promise<boolean> {
  try {
    await sfn().send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    return true;
  } catch (error) {
    if (error instanceof ExecutionAlreadyExists) return false;
    throw error;
  }
}

/** Answers a waiting task (`TaskTimedOut`, `TaskDoesNotExist`, `InvalidToken` are thrown as the SDK's errors). */
export async function answerTask(taskToken: string, output: unknown): Promise<void> {
  await sfn().send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
}

/** The status of the named execution, or `MISSING` when there is none. */
export async function describeExecutionStatus(stateMachineArn: string, name: string): Promise<string> {
  try {
    const result = await sfn().send(
      new DescribeExecutionCommand({ executionArn: executionArnOf(stateMachineArn, name) }),
    );
    return result.status ?? 'MISSING';
  } catch (error) {
    if (error instanceof ExecutionDoesNotExist) return 'MISSING';
    throw error;
  }
}

export interface WorkflowInput {
  payoutId: string;
  stage: 'draft' | 'pending' | 'ready' | 'processing' | 'failed';
  reminders: number;
  signal: null;
}

/** The execution ARN of a payout's execution named `name`. */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/**
 * The name of attempt n of a payout's execution: the payout id for the first, `<payoutId>-<n>` for
 * each restart by the reconciler (deterministic, so two reconcilers cannot start two executions).
 */
export function executionNameOf(payoutId: string, attempt: number): string {
  return attempt <= 1 ? payoutId : `${payoutId}-${attempt}`;
}

/**
 * Starts the payout's execution, named by the payout id (or `name`, for a payout whose first execution
 * finished, e.g. `po_….failed` when a paid payout fails). Idempotent: an existing one is kept. A start
 * that fails after the client's retries is recorded on the payout for the reconciler, which starts it
 * again; it never fails the caller (the payout exists).
 */
export async function startPayoutWorkflow(
  payoutId: string,
  stage: WorkflowInput['stage'],
  name: string = payoutId,
): Promise<void> {
  const arn = stateMachineArn();
  if (!arn) return;
  try {
    await startNamedExecution(arn, name, { payoutId, stage, reminders: 0, signal: null });
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error);
    logger.error('StartExecution failed; recorded for the reconciler', { payoutId, error });
    await recordWorkflow(payoutId, {
      executionName: name,
      attempt: 1,
      failedAt: new Date().toISOString(),
      error: message,
    }).catch((recordError: unknown) => {
      // Not even recorded: the reconciler still finds the payout (never synced) and starts it.
      logger.error('Recording the failed start failed', { payoutId, error: recordError });
    });
  }
}

/** StartExecution for attempt n; an execution that already exists under that name counts as started. */
export async function startWorkflowExecution(
  stateMachineArn: string,
  input: { payoutId: string; stage: string; reminders: number; attempt: number },
): Promise<{ ok: true; executionName: string } | { ok: false; executionName: string; error: string }> {
  const executionName = executionNameOf(input.payoutId, input.attempt);
  try {
    await startNamedExecution(stateMachineArn, executionName, {
      payoutId: input.payoutId,
      stage: input.stage,
      reminders: input.reminders,
      signal: null,
    });
    return { ok: true, executionName };
  } catch (error) {
    return {
      ok: false,
      executionName,
      error: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error),
    };
  }
}

/**
 * Records the payout's execution. With `ifExecution`, only if the payout still records that one
 * (null: none): the reconciler's claim on the next attempt, so concurrent runs start it once.
 * Returns false when the condition failed.
 */
export async function recordWorkflow(
  payoutId: string,
  workflow: PayoutWorkflowRecord,
  options: { ifExecution?: string | null; ifStatus?: string } = {},
): Promise<boolean> {
  const conditions = ['attribute_exists(PK)'];
  const names: Record<string, string> = { '#workflow': 'workflow' };
  const values: Record<string, unknown> = { ':workflow': workflow };
  if (options.ifExecution === null) conditions.push('attribute_not_exists(#workflow)');
  else if (options.ifExecution !== undefined) {
    conditions.push('#workflow.executionName = :previous');
    values[':previous'] = options.ifExecution;
  } else if (workflow.failedAt) {
    // A failed first start never overwrites what a running execution recorded.
    conditions.push('(attribute_not_exists(#workflow) OR attribute_exists(#workflow.failedAt))');
  }
  if (options.ifStatus) {
    conditions.push('#status = :status');
    names['#status'] = 'status';
    values[':status'] = options.ifStatus;
  }
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.payout(payoutId),
        UpdateExpression: 'SET #workflow = :workflow',
        ConditionExpression: conditions.join(' AND '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/**
 * Wakes the task waiting on the stage the payout just left (its Sync reads where the payout is now). Call it after the commit:
 * the task is read again then, because a token parked between the caller's read and its commit is
 * only on the item now (and a token parked after the commit is answered by the park itself).
 */
export async function signalPayoutWorkflow(
  committed: Pick<PayoutItem, 'id' | 'task'>,
  from: PayoutStatus | readonly PayoutStatus[],
): Promise<void> {
  const stages: readonly PayoutStatus[] = typeof from === 'string' ? [from] : from;
  // `committed` is the item as the transition's UpdateItem returned it: a token parked before the
  // commit is on it; one parked after it finds the payout moved and answers itself.
  const task = committed.task;
  if (!stateMachineArn() || !task || !stages.includes(task.stage)) return;
  try {
    await answerTask(task.token, { payoutId: committed.id });
  } catch (error) {
    // TaskTimedOut, InvalidToken, network: the workflow catches up when its wait times out.
    logger.warn('SendTaskSuccess failed; the workflow will reconcile', {
      payoutId: committed.id,
      from: task.stage,
      error: error instanceof Error ? error.name : String(error),
    });
  }
}
