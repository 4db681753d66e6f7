/**
 * The reconciler (EventBridge Scheduler, every RECONCILE_INTERVAL_MINUTES): runs every recoverer of
 * shared/usecases/recoverers.ts within the invocation's time budget. A recoverer that throws fails
 * the invocation after the others ran (retried by the schedule, then its DLQ; the Errors alarm fires).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { logger } from '#shared/adapters/observability.ts';
import { runReconciler } from '#shared/usecases/reconcile.ts';
import { RECOVERERS } from '#shared/usecases/recoverers.ts';

/** Leave this much of the invocation for the last payout and the log line. */
const RESERVE_MS = 20_000;

const ReconcileEvent = z.looseObject({ checkAll: z.optional(z.boolean()) });

async function handle(event: unknown, context: Context) {
  // `checkAll`: only the local runtime's run at start (its Step Functions forgot every execution).
  const { checkAll } = ReconcileEvent.parse(event ?? {});
  const budgetMs = Math.max(5_000, context.getRemainingTimeInMillis() - RESERVE_MS);
  return runReconciler(RECOVERERS, { budgetMs, checkAll: checkAll ?? false });
}

export const handler = middy(handle).use(injectLambdaContext(logger, { resetKeys: true }));
