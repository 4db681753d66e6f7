/**
 * The response shapes of the API (what the OpenAPI document describes). The Lambdas do not parse
 * their own responses, so they only import types from here, and no function bundles these schemas.
 */
import * as z from 'zod/mini';
import { HOLD_REASON_CODES, HOLD_SCOPES } from './controls.ts';
import { Address, BillingDetails, PayoutMethod } from './partner-schemas.ts';
import { MANAGER_ROLES } from './roles.ts';
import {
  Currency,
  documented,
  ExportFormat,
  ExportStatus,
  idOf,
  integer,
  minorAmount,
  named,
  PayoutStatus,
  ReviewDecision,
  RewardStatus,
  type Schema,
  SepaVersion,
  SettlementSource,
  timestamp,
} from './schemas.ts';

export const Health = named('Health', z.object({ status: z.literal('ok') }));

// ---------------------------------------------------------------- partners

export const SelfBillingAgreement = named(
  'SelfBillingAgreement',
  z.object({ version: z.string(), acceptedAt: timestamp(), validUntil: timestamp() }),
);
export type SelfBillingAgreement = z.infer<typeof SelfBillingAgreement>;

export const Partner = named(
  'Partner',
  z.object({
    id: idOf('partner'),
    name: z.string(),
    email: z.string(),
    country: z.optional(z.string()),
    address: z.optional(Address),
    payoutMethod: z.nullable(PayoutMethod),
    billing: z.optional(BillingDetails),
    selfBilling: z.optional(
      z.object({
        enabled: z.boolean(),
        seriesPrefix: documented(z.string(), {
          description: 'The series prefix in force (default SB + the last six characters of the partner id)',
        }),
        active: z.boolean(),
        inactiveReason: z.optional(
          z.enum(['not_enabled', 'no_agreement', 'agreement_expired', 'billing_incomplete']),
        ),
        agreement: z.optional(SelfBillingAgreement),
      }),
    ),
    createdAt: timestamp(),
    updatedAt: timestamp(),
  }),
);
export type Partner = z.infer<typeof Partner>;

export const RewardReview = z.object({
  decision: ReviewDecision,
  comment: z.optional(z.string()),
  at: timestamp(),
});
export type RewardReview = z.infer<typeof RewardReview>;

export const Reward = named(
  'Reward',
  z.object({
    id: idOf('reward'),
    partnerId: idOf('partner'),
    amount: minorAmount(),
    currency: Currency,
    status: RewardStatus,
    description: z.optional(z.string()),
    externalId: z.optional(z.string()),
    refusalReason: z.optional(z.string()),
    payoutId: z.nullable(idOf('payout')),
    review: z.optional(RewardReview),
    createdAt: timestamp(),
    updatedAt: timestamp(),
    version: documented(integer(), { description: 'Goes up by one with every change of the reward' }),
  }),
);
export type Reward = z.infer<typeof Reward>;

const invoiceShape = {
  fileName: z.string(),
  size: integer(),
  sha256: z.string(),
  uploadedAt: timestamp(),
};
export const Invoice = named('Invoice', z.object(invoiceShape));
export type Invoice = z.infer<typeof Invoice>;

export const SelfBilledDocumentRecord = named(
  'SelfBilledDocumentRecord',
  z.object({
    number: z.string(),
    issuedAt: timestamp(),
    sha256: documented(z.string(), { description: 'Hex SHA-256 of the PDF as stored' }),
    xmlSha256: documented(z.string(), { description: 'Hex SHA-256 of the UBL XML as stored' }),
  }),
);
/** Why a payout failed: the bank's reason code (ISO 20022) when there is one, in plain words. */
export const PayoutFailure = named(
  'PayoutFailure',
  z.object({
    code: z.optional(documented(z.string(), { description: 'ISO 20022 status / return reason code' })),
    reason: documented(z.string(), { description: 'What happened, in plain words' }),
    source: SettlementSource,
    returned: documented(z.boolean(), {
      description: 'True when the money came back after the payout was paid',
    }),
    at: timestamp(),
  }),
);
export type PayoutFailure = z.infer<typeof PayoutFailure>;

export const Payout = named(
  'Payout',
  z.object({
    id: idOf('payout'),
    partnerId: idOf('partner'),
    currency: Currency,
    status: PayoutStatus,
    amount: minorAmount(),
    rewardCount: integer(),
    requirements: z.object({
      invoice: z.boolean(),
      invoiceMode: z.optional(z.enum(['none', 'upload', 'self_billed'])),
      rewardReview: z.boolean(),
    }),
    message: z.optional(z.string()),
    invoice: z.optional(Invoice),
    invoiceRejection: documented(
      z.optional(
        z.object({
          reason: z.string(),
          fileName: z.optional(z.string()),
          by: z.enum(['check', 'manager']),
          at: timestamp(),
        }),
      ),
      {
        description:
          'Why the last invoice upload was refused (by the file check or the manager); cleared when one is attached',
      },
    ),
    paymentReference: z.optional(z.string()),
    vatAmount: z.optional(
      documented(minorAmount(), {
        description: 'VAT of a self-billed invoice under the vat regime, paid on top',
      }),
    ),
    amountToPay: z.optional(
      documented(minorAmount(), { description: 'amount + vatAmount: what exports and the bank pay' }),
    ),
    selfBilledInvoice: z.optional(SelfBilledDocumentRecord),
    selfBilledCreditNote: z.optional(SelfBilledDocumentRecord),
    /** While a hold covers it: the partner's message, never the reason. */
    hold: z.optional(z.object({ partnerMessage: z.optional(z.string()) })),
    /** The payout method it pays, snapshotted when the partner validated. */
    payoutMethod: z.optional(PayoutMethod),
    /** Four-eyes approval (above `APPROVAL_THRESHOLDS`), bound to the amount, rewards and payout method. */
    approval: z.optional(
      z.object({
        by: z.string(),
        roles: z.optional(z.array(z.string())),
        at: timestamp(),
        note: z.optional(z.string()),
      }),
    ),
    exportId: z.optional(
      documented(idOf('export'), { description: 'The export that holds the payout while it is processing' }),
    ),
    endToEndId: z.optional(
      documented(z.string(), { description: 'The EndToEndId of the payout in that export’s file' }),
    ),
    paidSource: z.optional(SettlementSource),
    failure: z.optional(PayoutFailure),
    reissueOf: z.optional(idOf('payout')),
    reissuedAs: z.optional(idOf('payout')),
    createdAt: timestamp(),
    updatedAt: timestamp(),
    validatedAt: z.optional(timestamp()),
    partnerValidatedAt: z.optional(timestamp()),
    processingAt: z.optional(timestamp()),
    paidAt: z.optional(timestamp()),
    failedAt: z.optional(timestamp()),
    cancelledAt: z.optional(timestamp()),
    version: integer(),
  }),
);
export type Payout = z.infer<typeof Payout>;

export const Actor = z.object({
  role: z.enum(['manager', 'partner', 'system']),
  /** The user (a token's `sub`), the partner's id, or the system process. */
  id: z.string(),
  /** A manager's roles when they acted. */
  roles: z.optional(z.array(z.enum(MANAGER_ROLES))),
});
export type Actor = z.infer<typeof Actor>;

export const PayoutEvent = named(
  'PayoutEvent',
  z.object({
    id: z.string(),
    type: z.string(),
    at: timestamp(),
    actor: Actor,
    from: z.optional(PayoutStatus),
    to: z.optional(PayoutStatus),
    data: z.optional(z.record(z.string(), z.unknown())),
  }),
);
export type PayoutEvent = z.infer<typeof PayoutEvent>;

export const InvoiceDownload = named(
  'InvoiceDownload',
  z.object({ ...invoiceShape, url: z.string(), expiresAt: timestamp() }),
);

const presigned = () =>
  z.object({
    url: documented(z.string(), { description: 'Presigned GET, valid 5 minutes' }),
    expiresAt: timestamp(),
  });

export const SelfBilledInvoiceDownload = named(
  'SelfBilledInvoiceDownload',
  z.object({
    number: z.string(),
    issuedAt: timestamp(),
    pdf: presigned(),
    xml: presigned(),
    creditNote: z.optional(
      z.object({ number: z.string(), issuedAt: timestamp(), pdf: presigned(), xml: presigned() }),
    ),
  }),
);

export const SelfBilledInvoicePreview = named('SelfBilledInvoicePreview', presigned());

export const InvoiceUpload = named(
  'InvoiceUpload',
  z.object({
    url: z.string(),
    fields: z.record(z.string(), z.string()),
    expiresAt: timestamp(),
    maxBytes: integer(),
  }),
);

export const Total = z.object({ currency: Currency, amount: minorAmount() });

/** One file of an export (providers cap their files: PayPal 5,000 payouts, Wise 1,000). */
export const ExportFile = named(
  'ExportFile',
  z.object({
    fileName: z.string(),
    contentType: z.string(),
    size: documented(integer(), { description: 'Bytes' }),
    sha256: documented(z.string(), { description: 'Hex SHA-256 of the file as stored' }),
    payoutCount: integer(),
    totals: z.array(Total),
    url: z.optional(
      documented(z.string(), { description: 'Presigned GET, valid 15 minutes (active exports only)' }),
    ),
    expiresAt: z.optional(timestamp()),
  }),
);

const exportSummaryShape = {
  id: idOf('export'),
  status: documented(ExportStatus, {
    description: 'building while its payouts are taken and its files written; active; voided (no download)',
  }),
  sequence: documented(integer(), { description: 'The export’s number, part of every EndToEndId it writes' }),
  format: ExportFormat,
  sepaVersion: z.optional(SepaVersion),
  payoutCount: integer(),
  totals: z.array(Total),
  fileName: z.string(),
  sha256: z.string(),
  url: z.optional(documented(z.string(), { description: 'Only while the export is active' })),
  expiresAt: z.optional(timestamp()),
  files: z.array(ExportFile),
  createdAt: timestamp(),
  createdBy: z.string(),
  voidedAt: z.optional(timestamp()),
  voidReason: z.optional(z.string()),
  version: documented(integer(), {
    description: 'Goes up by one with every change of the export (building, active, voided)',
  }),
};

/** An export as listed: everything but its payout ids. `fileName`, `sha256` and `url` are its first file's. */
export const ExportSummary = named('ExportSummary', z.object(exportSummaryShape));
export type ExportSummary = z.infer<typeof ExportSummary>;

export const Export = named(
  'Export',
  z.object({
    ...exportSummaryShape,
    payoutIds: documented(z.array(idOf('payout')), { description: 'The exported payouts, in file order' }),
    /** An export of every ready payout leaves out the held, unapproved or own-released ones. */
    skipped: z.optional(
      z.array(
        z.object({ payoutId: idOf('payout'), reason: z.enum(['on_hold', 'approval_required', 'same_user']) }),
      ),
    ),
  }),
);
export type Export = z.infer<typeof Export>;

export const PayoutRun = named(
  'PayoutRun',
  z.object({
    id: idOf('run'),
    status: z.enum(['running', 'completed']),
    asOf: timestamp(),
    partnerId: z.optional(z.string()),
    currency: z.optional(z.string()),
    payoutsCreated: integer(),
    payoutsUpdated: integer(),
    rewardsClaimed: integer(),
    skipped: z.array(
      z.object({
        partnerId: idOf('partner'),
        currency: Currency,
        amount: minorAmount(),
        reason: z.enum(['below_minimum', 'non_positive_amount']),
      }),
    ),
    createdAt: timestamp(),
    completedAt: z.optional(timestamp()),
    version: documented(integer(), { description: 'Goes up by one with every change of the run' }),
  }),
);
export type PayoutRun = z.infer<typeof PayoutRun>;

/** Counts and sums of payouts per status and currency (the console's home). */
export const PayoutSummary = named(
  'PayoutSummary',
  z.object({
    items: z.array(
      z.object({ status: PayoutStatus, currency: Currency, count: integer(), amount: minorAmount() }),
    ),
  }),
);
export type PayoutSummary = z.infer<typeof PayoutSummary>;

export const Hold = named(
  'Hold',
  z.object({
    id: idOf('hold'),
    scope: z.enum(HOLD_SCOPES),
    targetId: z.string(),
    partnerId: idOf('partner'),
    reasonCode: z.enum(HOLD_REASON_CODES),
    note: z.optional(z.string()),
    partnerMessage: z.optional(z.string()),
    reviewBy: z.optional(timestamp()),
    status: z.enum(['active', 'released', 'confirmed']),
    automatic: z.optional(z.boolean()),
    createdAt: timestamp(),
    createdBy: Actor,
    resolution: z.optional(z.enum(['released', 'confirmed'])),
    resolvedAt: z.optional(timestamp()),
    resolvedBy: z.optional(Actor),
    resolutionNote: z.optional(z.string()),
    /** Active and past `reviewBy`. */
    dueForReview: z.optional(z.boolean()),
  }),
);
export type Hold = z.infer<typeof Hold>;

export const PartnerEvent = named(
  'PartnerEvent',
  z.object({
    id: z.string(),
    type: z.string(),
    at: timestamp(),
    actor: Actor,
    data: z.optional(z.record(z.string(), z.unknown())),
  }),
);
export type PartnerEvent = z.infer<typeof PartnerEvent>;
// ---------------------------------------------------------------- bank reports

export const BankReportUpload = named(
  'BankReportUpload',
  z.object({
    id: idOf('bankReport'),
    url: z.string(),
    fields: documented(z.record(z.string(), z.string()), {
      description: 'Send these form fields, then the file as `file` (Content-Type application/xml)',
    }),
    expiresAt: timestamp(),
    maxBytes: integer(),
  }),
);

const reportCount = () => integer();

export const BankReport = named(
  'BankReport',
  z.object({
    id: idOf('bankReport'),
    fileName: z.string(),
    sha256: z.optional(documented(z.string(), { description: 'Hex SHA-256 of the file as uploaded' })),
    message: z.optional(documented(z.string(), { example: 'camt.054.001.08' })),
    messageId: z.optional(documented(z.string(), { description: 'The report’s GrpHdr/MsgId' })),
    status: z.enum(['awaiting_file', 'received', 'applied', 'rejected']),
    rejectionReason: z.optional(z.string()),
    duplicateOf: z.optional(
      documented(idOf('bankReport'), {
        description: 'The first report of the same bytes; this one applied nothing',
      }),
    ),
    counts: z.object({
      lines: reportCount(),
      applied: reportCount(),
      alreadyApplied: reportCount(),
      inProgress: reportCount(),
      unmatched: reportCount(),
      mismatched: reportCount(),
      voidedExport: reportCount(),
    }),
    exportRejection: z.optional(
      documented(
        z.object({
          exportId: z.optional(idOf('export')),
          messageId: z.string(),
          reasonCode: z.optional(z.string()),
          reason: z.string(),
          result: z.string(),
        }),
        { description: 'A pain.002 that refuses a whole file (group-level RJCT): the export it voided' },
      ),
    ),
    createdAt: timestamp(),
    receivedAt: z.optional(timestamp()),
    appliedAt: z.optional(timestamp()),
  }),
);
export type BankReport = z.infer<typeof BankReport>;

export const BankReportLine = named(
  'BankReportLine',
  z.object({
    endToEndId: documented(z.string(), {
      description: 'As the report names it (batch bookings: each payout’s)',
    }),
    payoutId: z.optional(idOf('payout')),
    outcome: z.enum(['paid', 'failed', 'in_progress']),
    reasonCode: z.optional(z.string()),
    reason: z.optional(z.string()),
    amount: z.optional(minorAmount()),
    currency: z.optional(Currency),
    paymentReference: z.optional(z.string()),
    returned: z.optional(z.boolean()),
    reversal: z.optional(
      documented(z.boolean(), { description: 'The bank reversed its booking (camt `RvslInd`): a return' }),
    ),
    detail: z.optional(
      documented(z.string(), { description: 'Why a line changed nothing, e.g. the payout’s own amount' }),
    ),
    result: z.enum([
      'applied',
      'already_applied',
      'in_progress',
      'unmatched',
      'amount_mismatch',
      'voided_export',
      'invalid_transition',
    ]),
  }),
);
export type BankReportLine = z.infer<typeof BankReportLine>;
// ---------------------------------------------------------------- webhooks

const webhookEndpointShape = {
  id: idOf('webhookEndpoint'),
  url: z.string(),
  description: z.optional(z.string()),
  eventTypes: z.nullable(z.array(z.string())),
  enabled: z.boolean(),
  disabledReason: z.optional(z.enum(['manual', 'gone', 'failing'])),
  failingSince: z.optional(timestamp()),
  secretRotatedAt: z.optional(timestamp()),
  previousSecretExpiresAt: z.optional(timestamp()),
  createdAt: timestamp(),
  updatedAt: timestamp(),
  version: integer(),
};
export const WebhookEndpoint = named('WebhookEndpoint', z.object(webhookEndpointShape));
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>;

export const WebhookEndpointWithSecret = named(
  'WebhookEndpointWithSecret',
  z.object({
    ...webhookEndpointShape,
    secret: documented(z.string(), {
      description: 'The signing secret (Standard Webhooks), shown only here',
      example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    }),
  }),
);

export const WebhookDelivery = named(
  'WebhookDelivery',
  z.object({
    id: idOf('webhookDelivery'),
    eventId: z.string(),
    eventType: z.string(),
    attempt: integer(),
    status: z.enum(['delivered', 'retrying', 'failed']),
    responseStatus: z.optional(integer()),
    durationMs: z.optional(integer()),
    error: z.optional(z.string()),
    nextAttemptAt: z.optional(timestamp()),
    replay: z.optional(z.boolean()),
    at: timestamp(),
  }),
);
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

export const WebhookReplay = named(
  'WebhookReplay',
  z.object({ status: z.literal('accepted'), events: integer() }),
);

export const page = <T extends Schema>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.nullable(z.string()) });

export const Problem = named(
  'Problem',
  z.object({
    type: z.string(),
    title: z.string(),
    status: integer(),
    code: z.string(),
    detail: z.string(),
    errors: z.optional(z.array(z.object({ path: z.string(), message: z.string() }))),
  }),
);
export type Problem = z.infer<typeof Problem>;

/** What a route answers with, by name: a route spec names its response (../http/route-spec.ts). */
export const RESOURCES = {
  Health,
  Partner,
  Reward,
  Payout,
  PayoutEvent,
  InvoiceDownload,
  InvoiceUpload,
  SelfBilledInvoiceDownload,
  SelfBilledInvoicePreview,
  SelfBillingAgreement,
  Export,
  ExportSummary,
  PayoutRun,
  PayoutSummary,
  Hold,
  PartnerEvent,
  BankReportUpload,
  BankReport,
  BankReportLine,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
  WebhookDelivery,
  WebhookReplay,
} as const satisfies Record<string, Schema>;
export type ResourceName = keyof typeof RESOURCES;
