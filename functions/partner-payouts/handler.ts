import { httpHandler } from '#shared/http/handler.ts';
import { PARTNER_PAYOUT_ROUTES } from '#shared/http/routes/partner-payouts.ts';
import { requestInvoiceUpload } from '#shared/usecases/invoices.ts';
import {
  getPartnerPayout,
  getPartnerPayoutItem,
  listPartnerPayouts,
  listPayoutRewards,
  partnerValidatePayout,
  requestChanges,
  reviewReward,
} from '#shared/usecases/payouts.ts';
import { selfBilledInvoiceDownload, selfBilledInvoicePreview } from '#shared/usecases/self-billing.ts';

/** Every route here is scoped to the calling partner: another partner's or a draft payout is a 404. */
export const handler = httpHandler(PARTNER_PAYOUT_ROUTES, {
  listOwnPayouts: async ({ caller, query }) => ({
    body: await listPartnerPayouts(caller.partnerId, query),
  }),
  getOwnPayout: async ({ caller, params }) => ({
    body: await getPartnerPayout(caller.partnerId, params.id),
  }),
  listOwnPayoutRewards: async ({ caller, params, query }) => ({
    body: await listPayoutRewards(await getPartnerPayoutItem(caller.partnerId, params.id), query),
  }),
  requestInvoiceUpload: async ({ caller, params, body }) => ({
    body: await requestInvoiceUpload(caller.partnerId, params.id, body.fileName),
  }),
  reviewReward: async ({ caller, params, body, actor }) => ({
    body: await reviewReward(caller.partnerId, params.id, params.rewardId, body, actor),
  }),
  partnerValidatePayout: async ({ caller, params, actor, ifMatch }) => ({
    body: await partnerValidatePayout(caller.partnerId, params.id, actor, { ifMatch }),
  }),
  requestChanges: async ({ caller, params, body, actor, ifMatch }) => ({
    body: await requestChanges(caller.partnerId, params.id, body.comment, actor, { ifMatch }),
  }),
  getOwnSelfBilledInvoice: async ({ caller, params }) => ({
    body: await selfBilledInvoiceDownload(await getPartnerPayoutItem(caller.partnerId, params.id)),
  }),
  previewOwnSelfBilledInvoice: async ({ caller, params }) => ({
    body: await selfBilledInvoicePreview(await getPartnerPayoutItem(caller.partnerId, params.id)),
  }),
});
