/** The daily controls digest (EventBridge Scheduler): approvals waiting → finance, holds due → program managers. */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { logger } from '#shared/adapters/observability.ts';
import { ENV, optionalEnv, requireEnv } from '#shared/config/env.ts';
import { sendControlsDigest } from '#shared/usecases/digest.ts';

const managerEmail = requireEnv(ENV.managerEmail);
const settings = {
  mailFrom: requireEnv(ENV.mailFrom),
  financeEmail: optionalEnv(ENV.financeEmail, managerEmail),
  programManagersEmail: optionalEnv(ENV.programManagersEmail, managerEmail),
  portalUrl: optionalEnv(ENV.portalUrl, 'https://partners.example.com'),
};

async function handle() {
  const result = await sendControlsDigest(settings);
  logger.info('Controls digest', result);
  return result;
}

export const handler = middy(handle).use(injectLambdaContext(logger, { resetKeys: true }));
