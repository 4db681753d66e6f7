/** S3 ObjectCreated on the invoice bucket: check each object, attach it to its payout or delete it. */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { S3Event } from 'aws-lambda';
import { logger } from '#shared/adapters/observability.ts';
import { processUploadedInvoice } from '#shared/usecases/invoices.ts';

async function handle(event: S3Event) {
  const outcomes = [];
  for (const record of event.Records) {
    // Keys arrive URL-encoded, with spaces as '+'.
    const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
    // S3's receive time orders uploads whose events arrive out of order.
    const outcome = await processUploadedInvoice(key, record.eventTime);
    logger.info('Invoice upload checked', { key, outcome });
    outcomes.push({ key, outcome });
  }
  return { outcomes };
}

export const handler = middy(handle).use(injectLambdaContext(logger, { resetKeys: true }));
