import { getPayoutItem } from '#shared/adapters/payout-store.ts';
import { httpHandler } from '#shared/http/handler.ts';
import { PAYOUT_ROUTES } from '#shared/http/routes/payouts.ts';
import { approvePayout } from '#shared/usecases/approvals.ts';
import { getInvoiceDownload, rejectInvoice } from '#shared/usecases/invoices.ts';
import { summarizePayouts } from '#shared/usecases/payout-summary.ts';
import {
  cancelPayout,
  createPayout,
  getPayout,
  listPayoutEvents,
  listPayoutRewards,
  listPayouts,
  markPayoutFailed,
  markPayoutPaid,
  reissuePayout,
  validatePayout,
} from '#shared/usecases/payouts.ts';
import { selfBilledInvoiceDownload } from '#shared/usecases/self-billing.ts';

export const handler = httpHandler(PAYOUT_ROUTES, {
  createPayout: async ({ body, actor }) => ({ body: await createPayout(body, actor) }),
  listPayouts: async ({ query }) => ({ body: await listPayouts(query) }),
  summarizePayouts: async () => ({ body: await summarizePayouts() }),
  getPayout: async ({ params }) => ({ body: await getPayout(params.id) }),
  listPayoutRewards: async ({ params, query }) => ({
    body: await listPayoutRewards(await getPayoutItem(params.id), query),
  }),
  listPayoutEvents: async ({ params, query }) => ({
    body: await listPayoutEvents(await getPayoutItem(params.id), query),
  }),
  validatePayout: async ({ params, body, actor, ifMatch }) => ({
    body: await validatePayout(params.id, body, actor, { ifMatch }),
  }),
  markPayoutPaid: async ({ params, body, actor, ifMatch }) => ({
    body: await markPayoutPaid(params.id, body, actor, { ifMatch }),
  }),
  markPayoutFailed: async ({ params, body, actor, ifMatch }) => ({
    body: await markPayoutFailed(params.id, body, actor, { ifMatch }),
  }),
  reissuePayout: async ({ params, actor, ifMatch }) => ({
    body: await reissuePayout(params.id, actor, { ifMatch }),
  }),
  getInvoice: async ({ params }) => ({ body: await getInvoiceDownload(params.id) }),
  getSelfBilledInvoice: async ({ params }) => ({
    body: await selfBilledInvoiceDownload(await getPayoutItem(params.id)),
  }),
  rejectInvoice: async ({ params, body, actor }) => ({
    body: await rejectInvoice(params.id, body.reason, actor),
  }),
  approvePayout: async ({ params, body, actor }) => ({
    body: await approvePayout(params.id, body.note, actor),
  }),
  cancelPayout: async ({ params, body, actor, ifMatch }) => ({
    body: await cancelPayout(params.id, body.reason, actor, { ifMatch }),
  }),
});
