/**
 * The payout workflow's Lambda: one action per Task state of infra/workflow/payout.asl.json, each
 * input declared once in #shared/domain/workflow-actions.ts.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { publishCounts } from '#shared/adapters/metrics.ts';
import { logger } from '#shared/adapters/observability.ts';
import { processingReminderDays } from '#shared/config/lifecycle.ts';
import { WorkflowAction } from '#shared/domain/workflow-actions.ts';
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

async function handle(event: unknown) {
  const input = WorkflowAction.parse(event);
  logger.appendKeys({ payoutId: input.payoutId, action: input.action });
  switch (input.action) {
    case 'park':
      return { result: await parkTaskToken(input.payoutId, input.stage, input.token) };
    case 'sync':
      return syncPayout(input, settings);
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
