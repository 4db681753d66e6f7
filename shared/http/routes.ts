/**
 * The route catalogue: every HTTP route, the Lambda (group) that serves it, who may call it and the
 * schemas of its input and output. The handlers, the CDK API, the local server and the OpenAPI
 * document are all built from this one table, so they cannot disagree.
 */
// A namespace import lets esbuild drop what is unused (zod's locales alone are ~250 KB).
import * as z from 'zod';
import {
  CancelPayout,
  CreateExport,
  CreatePartner,
  CreatePayout,
  CreatePayoutRun,
  CreateReward,
  Currency,
  EmptyBody,
  Export,
  ExportSummary,
  InvoiceDownload,
  InvoiceUpload,
  ListQuery,
  MarkPaid,
  Partner,
  Payout,
  PayoutEvent,
  PayoutRun,
  PayoutStatus,
  page,
  RefuseReward,
  RejectInvoice,
  RequestChanges,
  RequestInvoiceUpload,
  ReviewReward,
  Reward,
  RewardStatus,
  UpdateOwnProfile,
  UpdatePartner,
  ValidatePayout,
} from '../domain/schemas.ts';

export const FUNCTION_GROUPS = [
  'health',
  'partners',
  'rewards',
  'payouts',
  'partner-payouts',
  'payout-runs',
  'exports',
] as const;
export type FunctionGroup = (typeof FUNCTION_GROUPS)[number];

export type Access = 'public' | 'manager' | 'partner';
export type Method = 'GET' | 'POST' | 'PATCH';

export interface RouteSpec {
  method: Method;
  path: string;
  group: FunctionGroup;
  access: Access;
  summary: string;
  body?: z.ZodType;
  query?: z.ZodType;
  status: number;
  response: z.ZodType;
  /** Transitions accept `If-Match: <version>`. */
  ifMatch?: boolean;
}

const route = <const R extends RouteSpec>(spec: R): R => spec;

export const Health = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });

const RewardQuery = ListQuery.extend({
  partnerId: z.string().optional(),
  status: RewardStatus.optional(),
  payoutId: z.string().optional(),
});
const PayoutQuery = ListQuery.extend({
  status: PayoutStatus.optional(),
  partnerId: z.string().optional(),
  currency: Currency.optional(),
});
const PartnerPayoutQuery = ListQuery.extend({ status: PayoutStatus.optional() });

export const ROUTES = {
  health: route({
    method: 'GET',
    path: '/health',
    group: 'health',
    access: 'public',
    summary: 'Liveness',
    status: 200,
    response: Health,
  }),

  createPartner: route({
    method: 'POST',
    path: '/partners',
    group: 'partners',
    access: 'manager',
    summary: 'Create a partner',
    body: CreatePartner,
    status: 201,
    response: Partner,
  }),
  listPartners: route({
    method: 'GET',
    path: '/partners',
    group: 'partners',
    access: 'manager',
    summary: 'List partners',
    query: ListQuery,
    status: 200,
    response: page(Partner),
  }),
  getPartner: route({
    method: 'GET',
    path: '/partners/{id}',
    group: 'partners',
    access: 'manager',
    summary: 'Get a partner',
    status: 200,
    response: Partner,
  }),
  updatePartner: route({
    method: 'PATCH',
    path: '/partners/{id}',
    group: 'partners',
    access: 'manager',
    summary: 'Update a partner (null removes an optional field)',
    body: UpdatePartner,
    status: 200,
    response: Partner,
  }),
  getProfile: route({
    method: 'GET',
    path: '/partner/profile',
    group: 'partners',
    access: 'partner',
    summary: 'The calling partner’s profile',
    status: 200,
    response: Partner,
  }),
  updateProfile: route({
    method: 'PATCH',
    path: '/partner/profile',
    group: 'partners',
    access: 'partner',
    summary: 'Change the calling partner’s payout method or address',
    body: UpdateOwnProfile,
    status: 200,
    response: Partner,
  }),

  createReward: route({
    method: 'POST',
    path: '/rewards',
    group: 'rewards',
    access: 'manager',
    summary: 'Create a reward (201), or get the one with the same externalId (200)',
    body: CreateReward,
    status: 201,
    response: Reward,
  }),
  listRewards: route({
    method: 'GET',
    path: '/rewards',
    group: 'rewards',
    access: 'manager',
    summary: 'List rewards',
    query: RewardQuery,
    status: 200,
    response: page(Reward),
  }),
  getReward: route({
    method: 'GET',
    path: '/rewards/{id}',
    group: 'rewards',
    access: 'manager',
    summary: 'Get a reward',
    status: 200,
    response: Reward,
  }),
  acceptReward: route({
    method: 'POST',
    path: '/rewards/{id}/accept',
    group: 'rewards',
    access: 'manager',
    summary: 'Accept a reward in no payout or in a draft',
    body: EmptyBody,
    status: 200,
    response: Reward,
  }),
  refuseReward: route({
    method: 'POST',
    path: '/rewards/{id}/refuse',
    group: 'rewards',
    access: 'manager',
    summary: 'Refuse a reward in no payout or in a draft, with a reason the partner sees',
    body: RefuseReward,
    status: 200,
    response: Reward,
  }),

  createPayout: route({
    method: 'POST',
    path: '/payouts',
    group: 'payouts',
    access: 'manager',
    summary: 'Draft a payout from given rewards, or from every unclaimed one of the partner in the currency',
    body: CreatePayout,
    status: 201,
    response: Payout,
  }),
  listPayouts: route({
    method: 'GET',
    path: '/payouts',
    group: 'payouts',
    access: 'manager',
    summary: 'List payouts',
    query: PayoutQuery,
    status: 200,
    response: page(Payout),
  }),
  getPayout: route({
    method: 'GET',
    path: '/payouts/{id}',
    group: 'payouts',
    access: 'manager',
    summary: 'Get a payout',
    status: 200,
    response: Payout,
  }),
  listPayoutRewards: route({
    method: 'GET',
    path: '/payouts/{id}/rewards',
    group: 'payouts',
    access: 'manager',
    summary: 'The rewards of a payout',
    query: ListQuery,
    status: 200,
    response: page(Reward),
  }),
  listPayoutEvents: route({
    method: 'GET',
    path: '/payouts/{id}/events',
    group: 'payouts',
    access: 'manager',
    summary: 'The history of a payout, oldest first',
    query: ListQuery,
    status: 200,
    response: page(PayoutEvent),
  }),
  validatePayout: route({
    method: 'POST',
    path: '/payouts/{id}/validate',
    group: 'payouts',
    access: 'manager',
    summary: 'draft → pending',
    body: ValidatePayout,
    status: 200,
    response: Payout,
    ifMatch: true,
  }),
  markPayoutPaid: route({
    method: 'POST',
    path: '/payouts/{id}/mark-paid',
    group: 'payouts',
    access: 'manager',
    summary: 'ready → paid; its rewards become paid',
    body: MarkPaid,
    status: 200,
    response: Payout,
    ifMatch: true,
  }),
  getInvoice: route({
    method: 'GET',
    path: '/payouts/{id}/invoice',
    group: 'payouts',
    access: 'manager',
    summary: 'The partner’s invoice, with a download link valid for 5 minutes',
    status: 200,
    response: InvoiceDownload,
  }),
  rejectInvoice: route({
    method: 'POST',
    path: '/payouts/{id}/invoice/reject',
    group: 'payouts',
    access: 'manager',
    summary: 'Refuse the attached invoice (pending only); the partner is told why',
    body: RejectInvoice,
    status: 200,
    response: Payout,
  }),
  cancelPayout: route({
    method: 'POST',
    path: '/payouts/{id}/cancel',
    group: 'payouts',
    access: 'manager',
    summary: 'draft | pending | ready → cancelled; its rewards are released',
    body: CancelPayout,
    status: 200,
    response: Payout,
    ifMatch: true,
  }),

  listOwnPayouts: route({
    method: 'GET',
    path: '/partner/payouts',
    group: 'partner-payouts',
    access: 'partner',
    summary: 'The calling partner’s payouts (never drafts)',
    query: PartnerPayoutQuery,
    status: 200,
    response: page(Payout),
  }),
  getOwnPayout: route({
    method: 'GET',
    path: '/partner/payouts/{id}',
    group: 'partner-payouts',
    access: 'partner',
    summary: 'One of the calling partner’s payouts',
    status: 200,
    response: Payout,
  }),
  listOwnPayoutRewards: route({
    method: 'GET',
    path: '/partner/payouts/{id}/rewards',
    group: 'partner-payouts',
    access: 'partner',
    summary: 'The rewards of one of the calling partner’s payouts',
    query: ListQuery,
    status: 200,
    response: page(Reward),
  }),
  requestInvoiceUpload: route({
    method: 'POST',
    path: '/partner/payouts/{id}/invoice',
    group: 'partner-payouts',
    access: 'partner',
    summary: 'A presigned POST to upload one PDF invoice (at most 10 MiB, 15 minutes)',
    body: RequestInvoiceUpload,
    status: 201,
    response: InvoiceUpload,
  }),
  reviewReward: route({
    method: 'POST',
    path: '/partner/payouts/{id}/rewards/{rewardId}/review',
    group: 'partner-payouts',
    access: 'partner',
    summary: 'Approve or dispute a reward of a pending payout',
    body: ReviewReward,
    status: 200,
    response: Reward,
  }),
  partnerValidatePayout: route({
    method: 'POST',
    path: '/partner/payouts/{id}/validate',
    group: 'partner-payouts',
    access: 'partner',
    summary: 'pending → ready',
    body: EmptyBody,
    status: 200,
    response: Payout,
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
    response: Payout,
    ifMatch: true,
  }),

  createExport: route({
    method: 'POST',
    path: '/exports',
    group: 'exports',
    access: 'manager',
    summary:
      'Export ready payouts as a CSV, PayPal, Wise or SEPA file (several files past a provider limit); payouts keep their status',
    body: CreateExport,
    status: 201,
    response: Export,
  }),
  listExports: route({
    method: 'GET',
    path: '/exports',
    group: 'exports',
    access: 'manager',
    summary: 'List exports, newest first, with fresh download links',
    query: ListQuery,
    status: 200,
    response: page(ExportSummary),
  }),
  getExport: route({
    method: 'GET',
    path: '/exports/{id}',
    group: 'exports',
    access: 'manager',
    summary: 'Get an export with its payout ids and fresh download links (15 minutes)',
    status: 200,
    response: Export,
  }),

  createPayoutRun: route({
    method: 'POST',
    path: '/payout-runs',
    group: 'payout-runs',
    access: 'manager',
    summary: 'Run the scheduled drafting now (201 when done; 202 when it continues asynchronously)',
    body: CreatePayoutRun,
    status: 201,
    response: PayoutRun,
  }),
  getPayoutRun: route({
    method: 'GET',
    path: '/payout-runs/{id}',
    group: 'payout-runs',
    access: 'manager',
    summary: 'A drafting run’s result',
    status: 200,
    response: PayoutRun,
  }),
} as const satisfies Record<string, RouteSpec>;

export type RouteName = keyof typeof ROUTES;
export type Routes = typeof ROUTES;

export function routeKey(spec: Pick<RouteSpec, 'method' | 'path'>): string {
  return `${spec.method} ${spec.path}`;
}

export function routesOf(group: FunctionGroup): [RouteName, RouteSpec][] {
  return (Object.entries(ROUTES) as [RouteName, RouteSpec][]).filter(([, spec]) => spec.group === group);
}
