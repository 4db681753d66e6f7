/** E-mails partners and managers about payout events from the bus (rule: NOTIFIED_EVENT_TYPES). */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import { logger } from '#shared/adapters/observability.ts';
import { ENV, optionalEnv, requireEnv } from '#shared/config/env.ts';
import type { Payout, PayoutEvent } from '#shared/domain/schemas.ts';
import { notify } from '#shared/usecases/notifications.ts';

const settings = {
  mailFrom: requireEnv(ENV.mailFrom),
  managerEmail: requireEnv(ENV.managerEmail),
  portalUrl: optionalEnv(ENV.portalUrl, 'https://partners.example.com'),
};

async function handle(event: EventBridgeEvent<string, Payout & { event?: PayoutEvent }>) {
  const outcome = await notify(event['detail-type'], event.detail, settings);
  logger.info('Notification', { type: event['detail-type'], payoutId: event.detail.id, outcome });
  return { outcome };
}

export const handler = middy(handle).use(injectLambdaContext(logger, { resetKeys: true }));
