/**
 * The API's side of the payout workflow: start one execution per payout, and answer the task token
 * that the workflow parked on the payout item. A failed callback never fails the request: the
 * commit stands and the workflow reconciles on its next timeout.
 */
import { ExecutionAlreadyExists, SendTaskSuccessCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { PayoutStatus } from '../domain/schemas.ts';
import { sfn } from './clients.ts';
import { logger } from './observability.ts';
import type { PayoutItem } from './payout-store.ts';

function stateMachineArn(): string | undefined {
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

export interface WorkflowInput {
  payoutId: string;
  stage: 'draft' | 'pending' | 'ready' | 'processing' | 'failed';
  reminders: number;
  signal: null;
}

/**
 * Starts the payout's execution, named by the payout id (or `name`, for a payout whose first execution
 * finished, e.g. `po_….failed` when a paid payout fails). Idempotent: an existing one is kept.
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
    // The payout exists; the reconciliation sweep re-attaches a missing execution.
    logger.error('StartExecution failed', { payoutId, error });
  }
}

/**
 * Sends the decision to the task waiting on the stage the payout just left. Call it after the commit:
 * the task is read again then, because a token parked between the caller's read and its commit is
 * only on the item now (and a token parked after the commit is answered by the park itself).
 */
export async function signalPayoutWorkflow(
  committed: Pick<PayoutItem, 'id' | 'task'>,
  from: PayoutStatus | readonly PayoutStatus[],
  decision: string,
): Promise<void> {
  const stages: readonly PayoutStatus[] = typeof from === 'string' ? [from] : from;
  // `committed` is the item as the transition's UpdateItem returned it: a token parked before the
  // commit is on it; one parked after it finds the payout moved and answers itself.
  const task = committed.task;
  if (!stateMachineArn() || !task || !stages.includes(task.stage)) return;
  try {
    await answerTask(task.token, { decision, payoutId: committed.id });
  } catch (error) {
    // TaskTimedOut, InvalidToken, network: the workflow catches up when its wait times out.
    logger.warn('SendTaskSuccess failed; the workflow will reconcile', {
      payoutId: committed.id,
      decision,
      error: error instanceof Error ? error.name : String(error),
    });
  }
}
