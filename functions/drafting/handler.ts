/**
 * Scheduled drafting (EventBridge Scheduler), and the continuation of a run that did not finish in
 * one invocation: `{ runId }` resumes it from its checkpoint.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { invokeAsync } from '#shared/adapters/clients.ts';
import { publishCounts } from '#shared/adapters/metrics.ts';
import { logger } from '#shared/adapters/observability.ts';
import { draftingConfig } from '#shared/config/drafting.ts';
import { createRun, getRun, runWithinBudget } from '#shared/usecases/drafting.ts';

const config = draftingConfig();
const DraftingEvent = z.looseObject({ runId: z.optional(z.string()) });
/** Leave this much of the invocation for saving the checkpoint and handing off. */
const RESERVE_MS = 60_000;

async function handle(event: unknown, context: Context) {
  const { runId } = DraftingEvent.parse(event ?? {});
  const run = runId ? await getRun(runId) : await createRun({});
  if (run.status === 'completed') return { runId: run.id, status: run.status };
  const budget = Math.max(5_000, context.getRemainingTimeInMillis() - RESERVE_MS);
  const { run: result, finished } = await runWithinBudget(run, { ...config, concurrency: 32 }, budget, (id) =>
    invokeAsync(context.functionName, { runId: id }),
  );
  // The run's counts are cumulative over its invocations: publish what this one added.
  publishCounts({
    payoutsDrafted: result.payoutsCreated - run.payoutsCreated,
    rewardsClaimed: result.rewardsClaimed - run.rewardsClaimed,
  });
  logger.info('Drafting run', {
    runId: result.id,
    finished,
    created: result.payoutsCreated,
    claimed: result.rewardsClaimed,
  });
  return { runId: result.id, status: result.status };
}

export const handler = middy(handle).use(injectLambdaContext(logger, { resetKeys: true }));
