/** The payout workflow's Lambda: one action per Task state of infra/workflow/payout.asl.json. */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import * as z from 'zod/mini';
import { publishCounts } from '#shared/adapters/metrics.ts';
import { logger } from '#shared/adapters/observability.ts';
import { processingReminderDays } from '#shared/config/lifecycle.ts';
import {
  continueAsNew,
  markPayoutRewardsPaid,
  moveReissuedRewards,
  parkTaskToken,
  releasePayoutRewards,
  remindManagerProcessing,
  remindPartner,
  syncPayout,
  workflowSettings,
} from '#shared/usecases/workflow.ts';

const settings = workflowSettings();
const reminderDays = processingReminderDays();
const Stage = z.enum(['draft', 'pending', 'ready', 'processing', 'failed']);

const WorkflowAction = z.discriminatedUnion('action', [
  z.object({ action: z.literal('park'), payoutId: z.string(), stage: Stage, token: z.string() }),
  z.object({
    action: z.literal('sync'),
    payoutId: z.string(),
    stage: z.string(),
    reminders: z.int(),
    signal: z.nullish(z.looseObject({ Error: z.optional(z.string()), decision: z.optional(z.string()) })),
    executionStartTime: z.optional(z.string()),
  }),
  z.object({ action: z.literal('remind'), payoutId: z.string(), reminders: z.int() }),
  z.object({ action: z.literal('remind_manager'), payoutId: z.string(), reminders: z.int() }),
  z.object({ action: z.literal('pay_rewards'), payoutId: z.string() }),
  z.object({ action: z.literal('move_rewards'), payoutId: z.string() }),
  z.object({ action: z.literal('release_rewards'), payoutId: z.string() }),
  z.object({
    action: z.literal('continue'),
    payoutId: z.string(),
    stage: z.string(),
    reminders: z.int(),
    executionName: z.string(),
  }),
]);

async function handle(event: unknown) {
  const input = WorkflowAction.parse(event);
  logger.appendKeys({ payoutId: input.payoutId, action: input.action });
  switch (input.action) {
    case 'park':
      return { result: await parkTaskToken(input.payoutId, input.stage, input.token) };
    case 'sync':
      return syncPayout({ ...input, stage: input.stage as never }, settings);
    case 'remind':
      return { reminders: await remindPartner(input.payoutId, input.reminders) };
    case 'remind_manager':
      return { reminders: await remindManagerProcessing(input.payoutId, reminderDays) };
    case 'move_rewards':
      return { rewards: await moveReissuedRewards(input.payoutId) };
    case 'pay_rewards': {
      const rewards = await markPayoutRewardsPaid(input.payoutId);
      publishCounts({ payoutsPaid: 1, rewardsPaid: rewards });
      return { rewards };
    }
    case 'release_rewards':
      return { rewards: await releasePayoutRewards(input.payoutId) };
    case 'continue':
      await continueAsNew(input);
      return { continued: true };
  }
}

export const handler = middy(handle).use(injectLambdaContext(logger, { resetKeys: true }));
