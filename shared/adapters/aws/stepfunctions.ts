/**
 * Step Functions calls (awsJson1_0, `X-Amz-Target: AWSStepFunctions.<Operation>`), signed by hand:
 * see request.ts for why not the SDK client. Errors are named by their code (`ExecutionAlreadyExists`,
 * `TaskTimedOut`, `TaskDoesNotExist`, `InvalidToken`).
 */
import { callJsonRpc } from './request.ts';

const PROTOCOL = { targetPrefix: 'AWSStepFunctions', version: '1.0' } as const;

export interface StartExecutionInput {
  stateMachineArn: string;
  name: string;
  input: string;
}

export interface StartExecutionOutput {
  executionArn: string;
  startDate: number;
}

export function startExecution(input: StartExecutionInput): Promise<StartExecutionOutput> {
  return callJsonRpc<StartExecutionOutput>('sfn', PROTOCOL, 'StartExecution', input);
}

export async function sendTaskSuccess(input: { taskToken: string; output: string }): Promise<void> {
  await callJsonRpc<Record<string, never>>('sfn', PROTOCOL, 'SendTaskSuccess', input);
}

export interface DescribeExecutionOutput {
  executionArn: string;
  name?: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
  startDate?: number;
  stopDate?: number;
}

/** The execution's status; an unknown execution throws `ExecutionDoesNotExist`. */
export function describeExecution(input: { executionArn: string }): Promise<DescribeExecutionOutput> {
  return callJsonRpc<DescribeExecutionOutput>('sfn', PROTOCOL, 'DescribeExecution', input);
}
