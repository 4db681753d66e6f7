/** Request bodies of the payout, partner-payout and payout-run routes (see ./schemas.ts for why the schemas are split by function). */
import * as z from 'zod/mini';
import { Currency, idOf, multilineText, named, text, timestamp } from './schemas.ts';

export const CreatePayout = named(
  'CreatePayout',
  z.strictObject({
    partnerId: idOf('partner'),
    currency: Currency,
    rewardIds: z.optional(
      z.array(idOf('reward')).check(
        z.minLength(1),
        z.maxLength(1000),
        z.refine((ids) => new Set(ids).size === ids.length, 'must not repeat a reward id'),
      ),
    ),
  }),
);
export type CreatePayout = z.infer<typeof CreatePayout>;

export const ValidatePayout = named(
  'ValidatePayout',
  z.strictObject({
    requireInvoice: z.optional(z.boolean()),
    invoiceMode: z.optional(z.enum(['none', 'upload', 'self_billed'])),
    requireRewardReview: z.optional(z.boolean()),
    message: z.optional(multilineText(2000)),
  }),
);
export type ValidatePayout = z.infer<typeof ValidatePayout>;

export const MarkPaid = named(
  'MarkPaid',
  z.strictObject({ paymentReference: z.optional(text(140)), paidAt: z.optional(timestamp()) }),
);
export type MarkPaid = z.infer<typeof MarkPaid>;

export const MarkFailed = named(
  'MarkFailed',
  z.strictObject({
    reason: multilineText(1000),
    code: z.optional(
      z.string().check(z.regex(/^[A-Z0-9]{4}$/, 'must be a 4-character ISO 20022 reason code')),
    ),
  }),
);
export type MarkFailed = z.infer<typeof MarkFailed>;

export const CancelPayout = named(
  'CancelPayout',
  z.strictObject({ reason: z.optional(multilineText(1000)) }),
);
export const RequestChanges = named('RequestChanges', z.strictObject({ comment: multilineText(2000) }));
export const RejectInvoice = named('RejectInvoice', z.strictObject({ reason: multilineText(1000) }));

export const RequestInvoiceUpload = named(
  'RequestInvoiceUpload',
  z.strictObject({ fileName: z.optional(text(200)) }),
);

export const CreatePayoutRun = named(
  'CreatePayoutRun',
  z.strictObject({
    asOf: z.optional(timestamp()),
    partnerId: z.optional(idOf('partner')),
    currency: z.optional(Currency),
  }),
);
export type CreatePayoutRun = z.infer<typeof CreatePayoutRun>;
