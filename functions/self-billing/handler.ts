/**
 * The self-billing function: issues a payout's self-billed invoice and credit note (a Task of the
 * payout workflow, retried until done) and renders a pending payout's preview (invoked by the
 * partner-payouts function). Apart so that the PDF library and the font weigh on no API function.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { logger } from '#shared/adapters/observability.ts';
import { SelfBillingAction } from '#shared/domain/workflow-actions.ts';
import { issueSelfBilledDocuments, renderPreview } from '#shared/usecases/self-billing-issue.ts';

async function handle(event: unknown) {
  const input = SelfBillingAction.parse(event);
  logger.appendKeys({ payoutId: input.payoutId, action: input.action });
  switch (input.action) {
    case 'issue': {
      const issued = await issueSelfBilledDocuments(input.payoutId);
      if (issued.invoice || issued.creditNote) logger.info('Self-billed documents issued', { ...issued });
      return issued;
    }
    case 'preview':
      return renderPreview(input.payoutId);
  }
}

export const handler = middy(handle).use(injectLambdaContext(logger, { resetKeys: true }));
