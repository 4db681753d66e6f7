/**
 * The HTTP contract (../shared/api.md) as zod schemas: the single source for request validation,
 * response shapes and the OpenAPI document.
 */
import { electronicFormatIBAN, isValidBIC, isValidIBAN } from 'ibantools';
// A namespace import lets esbuild drop what is unused (zod's locales alone are ~250 KB).
import * as z from 'zod';
import { type IdKind, idPattern } from './ids.ts';
import { isCurrency, isMinorAmount } from './money.ts';

export const MAX_TEXT = 1000;

export const idOf = (kind: IdKind) => z.string().regex(idPattern(kind), { message: `must be a ${kind} id` });

export const Currency = z
  .string()
  .refine(isCurrency, { message: 'must be an ISO 4217 currency code' })
  .meta({ description: 'ISO 4217 code', example: 'EUR' });

export const MinorAmount = z
  .number()
  .int({ message: 'must be an integer number of minor units' })
  .refine(isMinorAmount, { message: 'must be a safe integer' })
  .meta({ description: 'Integer amount in minor units of the currency' });

export const Timestamp = z.iso.datetime({ offset: false }).meta({ description: 'ISO 8601 UTC' });

const text = (max = MAX_TEXT) => z.string().trim().min(1).max(max);

export const CountryCode = z.string().regex(/^[A-Z]{2}$/, { message: 'must be an ISO 3166-1 alpha-2 code' });

export const Address = z
  .strictObject({
    line1: text(140),
    line2: text(140).optional(),
    city: text(70),
    postalCode: text(16).optional(),
    region: text(70).optional(),
    country: CountryCode,
  })
  .meta({ id: 'Address' });
export type Address = z.infer<typeof Address>;

const Iban = z
  .string()
  .transform((value) => electronicFormatIBAN(value) ?? value)
  .refine((value) => isValidIBAN(value), { message: 'must be a valid IBAN' });

const Bic = z
  .string()
  .transform((value) => value.replace(/\s+/g, '').toUpperCase())
  .refine((value) => isValidBIC(value), { message: 'must be a valid BIC' });

const Email = z.email().max(254);

export const SepaMethod = z.strictObject({
  type: z.literal('sepa'),
  accountHolder: text(70),
  iban: Iban,
  bic: Bic.optional(),
});
export const PaypalMethod = z.strictObject({ type: z.literal('paypal'), email: Email });
export const WiseMethod = z.strictObject({
  type: z.literal('wise'),
  email: Email,
  accountHolder: text(70),
  currency: Currency.optional(),
  iban: Iban.optional(),
});
export const PayoutMethod = z
  .discriminatedUnion('type', [SepaMethod, PaypalMethod, WiseMethod])
  .meta({ id: 'PayoutMethod' });
export type PayoutMethod = z.infer<typeof PayoutMethod>;

// ---------------------------------------------------------------- partners

export const Partner = z
  .object({
    id: idOf('partner'),
    name: z.string(),
    email: z.string(),
    country: z.string().optional(),
    address: Address.optional(),
    payoutMethod: PayoutMethod.nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Partner' });
export type Partner = z.infer<typeof Partner>;

export const CreatePartner = z
  .strictObject({
    name: text(140),
    email: Email,
    country: CountryCode.optional(),
    address: Address.optional(),
    payoutMethod: PayoutMethod.nullable().optional(),
  })
  .meta({ id: 'CreatePartner' });
export type CreatePartner = z.infer<typeof CreatePartner>;

export const UpdatePartner = z
  .strictObject({
    name: text(140).optional(),
    email: Email.optional(),
    country: CountryCode.nullable().optional(),
    address: Address.nullable().optional(),
    payoutMethod: PayoutMethod.nullable().optional(),
  })
  .meta({ id: 'UpdatePartner' });
export type UpdatePartner = z.infer<typeof UpdatePartner>;

export const UpdateOwnProfile = z
  .strictObject({
    address: Address.nullable().optional(),
    payoutMethod: PayoutMethod.nullable().optional(),
  })
  .meta({ id: 'UpdateOwnProfile' });
export type UpdateOwnProfile = z.infer<typeof UpdateOwnProfile>;

// ---------------------------------------------------------------- rewards

export const REWARD_STATUSES = ['pending', 'accepted', 'refused', 'paid'] as const;
export const RewardStatus = z.enum(REWARD_STATUSES);
export type RewardStatus = z.infer<typeof RewardStatus>;

export const ReviewDecision = z.enum(['approve', 'dispute']);
export type ReviewDecision = z.infer<typeof ReviewDecision>;

export const RewardReview = z.object({
  decision: ReviewDecision,
  comment: z.string().optional(),
  at: Timestamp,
});
export type RewardReview = z.infer<typeof RewardReview>;

export const Reward = z
  .object({
    id: idOf('reward'),
    partnerId: idOf('partner'),
    amount: MinorAmount,
    currency: Currency,
    status: RewardStatus,
    description: z.string().optional(),
    externalId: z.string().optional(),
    refusalReason: z.string().optional(),
    payoutId: idOf('payout').nullable(),
    review: RewardReview.optional(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Reward' });
export type Reward = z.infer<typeof Reward>;

export const CreateReward = z
  .strictObject({
    partnerId: idOf('partner'),
    amount: MinorAmount.refine((value) => value !== 0, { message: 'must not be zero' }),
    currency: Currency,
    description: text(500).optional(),
    externalId: text(200).optional(),
    status: z.enum(['pending', 'accepted']).optional(),
  })
  .meta({ id: 'CreateReward' });
export type CreateReward = z.infer<typeof CreateReward>;

export const RefuseReward = z.strictObject({ reason: text(500) }).meta({ id: 'RefuseReward' });

export const ReviewReward = z
  .strictObject({ decision: ReviewDecision, comment: text(1000).optional() })
  .refine((body) => body.decision !== 'dispute' || body.comment !== undefined, {
    message: 'a dispute needs a comment',
    path: ['comment'],
  })
  .meta({ id: 'ReviewReward' });
export type ReviewReward = z.infer<typeof ReviewReward>;

// ---------------------------------------------------------------- payouts

export const PAYOUT_STATUSES = ['draft', 'pending', 'ready', 'paid', 'cancelled'] as const;
export const PayoutStatus = z.enum(PAYOUT_STATUSES);
export type PayoutStatus = z.infer<typeof PayoutStatus>;

export const Invoice = z
  .object({
    fileName: z.string(),
    size: z.number().int(),
    sha256: z.string(),
    uploadedAt: Timestamp,
  })
  .meta({ id: 'Invoice' });
export type Invoice = z.infer<typeof Invoice>;

export const Payout = z
  .object({
    id: idOf('payout'),
    partnerId: idOf('partner'),
    currency: Currency,
    status: PayoutStatus,
    amount: MinorAmount,
    rewardCount: z.number().int(),
    requirements: z.object({ invoice: z.boolean(), rewardReview: z.boolean() }),
    message: z.string().optional(),
    invoice: Invoice.optional(),
    paymentReference: z.string().optional(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    validatedAt: Timestamp.optional(),
    partnerValidatedAt: Timestamp.optional(),
    paidAt: Timestamp.optional(),
    cancelledAt: Timestamp.optional(),
    version: z.number().int(),
  })
  .meta({ id: 'Payout' });
export type Payout = z.infer<typeof Payout>;

export const Actor = z.object({ role: z.enum(['manager', 'partner', 'system']), id: z.string() });
export type Actor = z.infer<typeof Actor>;

export const PayoutEvent = z
  .object({
    id: z.string(),
    type: z.string(),
    at: Timestamp,
    actor: Actor,
    from: PayoutStatus.optional(),
    to: PayoutStatus.optional(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'PayoutEvent' });
export type PayoutEvent = z.infer<typeof PayoutEvent>;

export const CreatePayout = z
  .strictObject({
    partnerId: idOf('partner'),
    currency: Currency,
    rewardIds: z
      .array(idOf('reward'))
      .min(1)
      .max(1000)
      .refine((ids) => new Set(ids).size === ids.length, { message: 'must not repeat a reward id' })
      .optional(),
  })
  .meta({ id: 'CreatePayout' });
export type CreatePayout = z.infer<typeof CreatePayout>;

export const ValidatePayout = z
  .strictObject({
    requireInvoice: z.boolean().optional(),
    requireRewardReview: z.boolean().optional(),
    message: text(2000).optional(),
  })
  .meta({ id: 'ValidatePayout' });
export type ValidatePayout = z.infer<typeof ValidatePayout>;

export const MarkPaid = z
  .strictObject({ paymentReference: text(140).optional(), paidAt: Timestamp.optional() })
  .meta({ id: 'MarkPaid' });
export type MarkPaid = z.infer<typeof MarkPaid>;

export const CancelPayout = z.strictObject({ reason: text(1000).optional() }).meta({ id: 'CancelPayout' });
export const RequestChanges = z.strictObject({ comment: text(2000) }).meta({ id: 'RequestChanges' });
export const RejectInvoice = z.strictObject({ reason: text(1000) }).meta({ id: 'RejectInvoice' });
export const EmptyBody = z.strictObject({}).meta({ id: 'EmptyBody' });

export const InvoiceDownload = Invoice.extend({ url: z.string(), expiresAt: Timestamp }).meta({
  id: 'InvoiceDownload',
});
export const RequestInvoiceUpload = z
  .strictObject({ fileName: text(200).optional() })
  .meta({ id: 'RequestInvoiceUpload' });

export const InvoiceUpload = z
  .object({
    url: z.string(),
    fields: z.record(z.string(), z.string()),
    expiresAt: Timestamp,
    maxBytes: z.number().int(),
  })
  .meta({ id: 'InvoiceUpload' });

// ---------------------------------------------------------------- exports and runs

export const EXPORT_FORMATS = ['csv', 'paypal', 'wise', 'sepa'] as const;
export const ExportFormat = z.enum(EXPORT_FORMATS);
export type ExportFormat = z.infer<typeof ExportFormat>;
export const SepaVersion = z.enum(['pain.001.001.09', 'pain.001.001.03']);
export type SepaVersion = z.infer<typeof SepaVersion>;

export const CreateExport = z
  .strictObject({
    format: ExportFormat,
    payoutIds: z.array(idOf('payout')).min(1).max(10_000).optional(),
    currency: Currency.optional(),
    sepaVersion: SepaVersion.optional(),
  })
  .meta({ id: 'CreateExport' });
export type CreateExport = z.infer<typeof CreateExport>;

export const Total = z.object({ currency: Currency, amount: MinorAmount });

/** One file of an export (providers cap their files: PayPal 5,000 payouts, Wise 1,000). */
export const ExportFile = z
  .object({
    fileName: z.string(),
    contentType: z.string(),
    size: z.number().int().meta({ description: 'Bytes' }),
    sha256: z.string().meta({ description: 'Hex SHA-256 of the file as stored' }),
    payoutCount: z.number().int(),
    totals: z.array(Total),
    url: z.string().meta({ description: 'Presigned GET, valid 15 minutes' }),
    expiresAt: Timestamp,
  })
  .meta({ id: 'ExportFile' });

/** An export as listed: everything but its payout ids. `fileName`, `sha256` and `url` are its first file's. */
export const ExportSummary = z
  .object({
    id: idOf('export'),
    format: ExportFormat,
    sepaVersion: SepaVersion.optional(),
    payoutCount: z.number().int(),
    totals: z.array(Total),
    fileName: z.string(),
    sha256: z.string(),
    url: z.string(),
    expiresAt: Timestamp,
    files: z.array(ExportFile),
    createdAt: Timestamp,
    createdBy: z.string(),
  })
  .meta({ id: 'ExportSummary' });
export type ExportSummary = z.infer<typeof ExportSummary>;

export const Export = ExportSummary.extend({
  payoutIds: z.array(idOf('payout')).meta({ description: 'The exported payouts, in file order' }),
}).meta({ id: 'Export' });
export type Export = z.infer<typeof Export>;

export const CreatePayoutRun = z
  .strictObject({
    asOf: Timestamp.optional(),
    partnerId: idOf('partner').optional(),
    currency: Currency.optional(),
  })
  .meta({ id: 'CreatePayoutRun' });
export type CreatePayoutRun = z.infer<typeof CreatePayoutRun>;

export const PayoutRun = z
  .object({
    id: idOf('run'),
    status: z.enum(['running', 'completed']),
    asOf: Timestamp,
    partnerId: z.string().optional(),
    currency: z.string().optional(),
    payoutsCreated: z.number().int(),
    payoutsUpdated: z.number().int(),
    rewardsClaimed: z.number().int(),
    skipped: z.array(
      z.object({
        partnerId: idOf('partner'),
        currency: Currency,
        amount: MinorAmount,
        reason: z.enum(['below_minimum', 'non_positive_amount']),
      }),
    ),
    createdAt: Timestamp,
    completedAt: Timestamp.optional(),
  })
  .meta({ id: 'PayoutRun' });
export type PayoutRun = z.infer<typeof PayoutRun>;

// ---------------------------------------------------------------- lists and errors

export const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().min(1).max(2048).optional(),
});

export const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem' });
export type Problem = z.infer<typeof Problem>;
