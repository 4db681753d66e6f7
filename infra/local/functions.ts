/** The Lambda handlers the local server runs in-process: the same modules CDK bundles. */

import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { FunctionGroup } from '#shared/http/routes.ts';

// biome-ignore lint/suspicious/noExplicitAny: a Lambda handler's event type varies by trigger.
export type LambdaHandler = (event: any, context: Context) => Promise<unknown>;

const HTTP_HANDLERS: Record<FunctionGroup, () => Promise<{ handler: LambdaHandler }>> = {
  health: () => import('../../functions/health/handler.ts'),
  partners: () => import('../../functions/partners/handler.ts'),
  rewards: () => import('../../functions/rewards/handler.ts'),
  payouts: () => import('../../functions/payouts/handler.ts'),
  'partner-payouts': () => import('../../functions/partner-payouts/handler.ts'),
  'payout-runs': () => import('../../functions/payout-runs/handler.ts'),
  exports: () => import('../../functions/exports/handler.ts'),
  holds: () => import('../../functions/holds/handler.ts'),
  'bank-reports': () => import('../../functions/bank-reports/handler.ts'),
  webhooks: () => import('../../functions/webhooks/handler.ts'),
};

export async function httpHandlerOf(group: FunctionGroup): Promise<LambdaHandler> {
  return (await HTTP_HANDLERS[group]()).handler;
}

export function lambdaContext(functionName: string, timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Every local invocation (function name, milliseconds), for the cost model's counts. */
export type InvocationListener = (functionName: string, durationMs: number) => void;
const listeners = new Set<InvocationListener>();

export function onInvocation(listener: InvocationListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Invokes a handler as Lambda would (fresh context), telling the listeners how long it ran. */
export async function invokeLocal(
  functionName: string,
  handler: LambdaHandler,
  event: unknown,
  timeoutMs?: number,
) {
  const started = performance.now();
  try {
    return await handler(event, lambdaContext(functionName, timeoutMs));
  } finally {
    const duration = performance.now() - started;
    for (const listener of listeners) listener(functionName, duration);
  }
}
