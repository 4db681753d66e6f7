/** The routes of the `partner-payouts` function (see ../routes.ts for the whole catalogue). */
import * as z from 'zod/mini';
import { RequestChanges, RequestInvoiceUpload } from '../../domain/payout-requests.ts';
import { ReviewReward } from '../../domain/reward-requests.ts';
import { EmptyBody, ListQuery, listQuery, PayoutStatus } from '../../domain/schemas.ts';
import { type RouteSpec, route } from '../route-spec.ts';

const PartnerPayoutQuery = listQuery({ status: z.optional(PayoutStatus) });

export const PARTNER_PAYOUT_ROUTES = {
  listOwnPayouts: route({
    method: 'GET',
    path: '/partner/payouts',
    group: 'partner-payouts',
    access: 'partner',
    summary: 'The calling partner’s payouts (never drafts)',
    query: PartnerPayoutQuery,
    status: 200,
    response: 'Payout',
    paged: true,
  }),
  getOwnPayout: route({
    method: 'GET',
    path: '/partner/payouts/{id}',
    group: 'partner-payouts',
    access: 'partner',
    summary: 'One of the calling partner’s payouts',
    status: 200,
    response: 'Payout',
  }),
  listOwnPayoutRewards: route({
    method: 'GET',
    path: '/partner/payouts/{id}/rewards',
    group: 'partner-payouts',
    access: 'partner',
    summary: 'The rewards of one of the calling partner’s payouts',
    query: ListQuery,
    status: 200,
    response: 'Reward',
    paged: true,
  }),
  requestInvoiceUpload: route({
    method: 'POST',
    path: '/partner/payouts/{id}/invoice',
    group: 'partner-payouts',
    access: 'partner',
    summary: 'A presigned POST to upload one PDF invoice (at most 10 MiB, 15 minutes)',
    body: RequestInvoiceUpload,
    status: 201,
    response: 'InvoiceUpload',
  }),
  reviewReward: route({
    method: 'POST',
    path: '/partner/payouts/{id}/rewards/{rewardId}/review',
    group: 'partner-payouts',
    access: 'partner',
    summary: 'Approve or dispute a reward of a pending payout',
    body: ReviewReward,
    status: 200,
    response: 'Reward',
  }),
  partnerValidatePayout: route({
    method: 'POST',
    path: '/partner/payouts/{id}/validate',
    group: 'partner-payouts',
    access: 'partner',
    summary: 'pending → ready',
    body: EmptyBody,
    status: 200,
    response: 'Payout',
    ifMatch: true,
  }),
  requestChanges: route({
    method: 'POST',
    path: '/partner/payouts/{id}/request-changes',
    group: 'partner-payouts',
    access: 'partner',
    summary: 'pending → draft, with a comment',
    body: RequestChanges,
    status: 200,
    response: 'Payout',
    ifMatch: true,
  }),
  getOwnSelfBilledInvoice: route({
    method: 'GET',
    path: '/partner/payouts/{id}/self-billed-invoice',
    moreErrors: [409],
    group: 'partner-payouts',
    access: 'partner',
    summary: 'The self-billed invoice issued for you (PDF and UBL XML) and any credit note',
    status: 200,
    response: 'SelfBilledInvoiceDownload',
  }),
  previewOwnSelfBilledInvoice: route({
    method: 'GET',
    path: '/partner/payouts/{id}/self-billed-invoice/preview',
    moreErrors: [409],
    group: 'partner-payouts',
    access: 'partner',
    summary: 'While pending: a preview of the self-billed invoice (no number) that validating accepts',
    status: 200,
    response: 'SelfBilledInvoicePreview',
  }),
} as const satisfies Record<string, RouteSpec>;
