/** S3 ObjectCreated on the bank-report bucket: check each report, then apply it line by line. */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, S3Event } from 'aws-lambda';
import { logger } from '#shared/adapters/observability.ts';
import { processUploadedReport } from '#shared/usecases/bank-reports.ts';

/** Added to the remaining time: the lease outlives this invocation, so no other run overlaps it. */
const MARGIN_MS = 10_000;

async function handle(event: S3Event, context: Context) {
  const outcomes = [];
  for (const record of event.Records) {
    // Keys arrive URL-encoded, with spaces as '+'.
    const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
    const leaseMs = context.getRemainingTimeInMillis() + MARGIN_MS;
    const outcome = await processUploadedReport(key, { leaseMs });
    logger.info('Bank report checked', { key, outcome });
    outcomes.push({ key, outcome });
  }
  return { outcomes };
}

export const handler = middy(handle).use(injectLambdaContext(logger, { resetKeys: true }));
