/**
 * The HTTP contract (../shared/api.md) as zod schemas: here the primitives, enums and list queries.
 * Request bodies are split by the function that parses them (./partner-schemas.ts with the payout
 * details and ibantools, ./reward-requests.ts, ./payout-requests.ts, ./export-requests.ts) and the
 * response shapes are in ./resources.ts, so each function bundles only the schemas its routes parse.
 * Their types are re-exported here, so the rest of the code has one place to import types from.
 *
 * Written with `zod/mini`, zod's tree-shakable functional API: the same parser, issues and
 * `toJSONSchema` as classic zod at a third of the bundle (≈33 KiB instead of ≈99 KiB minified), which
 * every Lambda pays at cold start. Its messages come from zod's English locale, loaded here once.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { type IdKind, idPattern } from './ids.ts';
import { isCurrency, isMinorAmount } from './money.ts';

export type { CreateExport, VoidExport } from './export-requests.ts';
export type {
  Address,
  CreatePartner,
  PayoutMethod,
  UpdateOwnProfile,
  UpdatePartner,
} from './partner-schemas.ts';
export type {
  CreatePayout,
  CreatePayoutRun,
  MarkFailed,
  MarkPaid,
  ValidatePayout,
} from './payout-requests.ts';
export type {
  Actor,
  Export,
  ExportSummary,
  Hold,
  Invoice,
  Partner,
  PartnerEvent,
  Payout,
  PayoutEvent,
  PayoutRun,
  Problem,
  Reward,
  RewardReview,
} from './resources.ts';
export type { CreateReward, ReviewReward } from './reward-requests.ts';

z.config(en());

export type Schema = z.ZodMiniType;
export type Infer<S extends Schema> = z.infer<S>;

/** Names a schema: it becomes one `components.schemas` entry of the OpenAPI document. */
export function named<S extends Schema>(id: string, schema: S): S {
  z.globalRegistry.add(schema, { id });
  return schema;
}

/** Documents a schema (OpenAPI `description`, `example`). */
export function documented<S extends Schema>(schema: S, meta: { description?: string; example?: string }): S {
  z.globalRegistry.add(schema, meta);
  return schema;
}

export const MAX_TEXT = 1000;

export const idOf = (kind: IdKind) => z.string().check(z.regex(idPattern(kind), `must be a ${kind} id`));

export const Currency = documented(
  z.string().check(z.refine(isCurrency, 'must be an ISO 4217 currency code')),
  {
    description: 'ISO 4217 code',
    example: 'EUR',
  },
);

// Field builders rather than constants: a function no route of a bundle uses is dropped from it,
// a constant schema is not (building it is a call esbuild must assume has side effects).

export const minorAmount = () =>
  documented(
    z
      .int('must be an integer number of minor units')
      .check(z.refine(isMinorAmount, 'must be a safe integer')),
    { description: 'Integer amount in minor units of the currency' },
  );

export const timestamp = () => documented(z.iso.datetime({ offset: false }), { description: 'ISO 8601 UTC' });

export const integer = () => z.int();

/** C0 and C1 control characters (NUL, CR, LF, TAB, ESC, …, DEL, U+0080–U+009F). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
/** The same, but for LF. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_BUT_LF = /[\u0000-\u0009\u000B-\u001F\u007F-\u009F]/;

/** One line of free text (names, addresses, references, details): no control character at all. */
export const text = (max = MAX_TEXT) =>
  z.string().check(
    z.trim(),
    z.minLength(1),
    z.maxLength(max),
    z.refine((value) => !CONTROL.test(value), 'must not contain control characters'),
  );

/**
 * Free text meant to hold several lines (comments, reasons, notes, messages): line breaks are kept as
 * LF (CRLF and a lone CR become LF); every other control character is refused.
 */
export const multilineText = (max = MAX_TEXT) =>
  z.string().check(
    z.overwrite((value) => value.replace(/\r\n?/g, '\n')),
    z.trim(),
    z.minLength(1),
    z.maxLength(max),
    z.refine(
      (value) => !CONTROL_BUT_LF.test(value),
      'must not contain control characters other than line breaks',
    ),
  );

export const countryCode = () =>
  z.string().check(z.regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code'));

// ---------------------------------------------------------------- rewards

export const REWARD_STATUSES = ['pending', 'accepted', 'refused', 'paid'] as const;
export const RewardStatus = z.enum(REWARD_STATUSES);
export type RewardStatus = z.infer<typeof RewardStatus>;

export const ReviewDecision = z.enum(['approve', 'dispute']);
export type ReviewDecision = z.infer<typeof ReviewDecision>;

// ---------------------------------------------------------------- payouts

export const PAYOUT_STATUSES = [
  'draft',
  'pending',
  'ready',
  'processing',
  'paid',
  'failed',
  'cancelled',
] as const;
export const PayoutStatus = z.enum(PAYOUT_STATUSES);
export type PayoutStatus = z.infer<typeof PayoutStatus>;

export const EmptyBody = named('EmptyBody', z.strictObject({}));

// ---------------------------------------------------------------- exports and runs

export const EXPORT_FORMATS = ['csv', 'paypal', 'wise', 'sepa'] as const;
export const ExportFormat = z.enum(EXPORT_FORMATS);
export type ExportFormat = z.infer<typeof ExportFormat>;
export const SepaVersion = z.enum(['pain.001.001.09', 'pain.001.001.03']);
export const EXPORT_STATUSES = ['building', 'active', 'voided'] as const;
export const ExportStatus = z.enum(EXPORT_STATUSES);
export type ExportStatus = z.infer<typeof ExportStatus>;
export const SETTLEMENT_SOURCES = ['bank_report', 'manual'] as const;
export const SettlementSource = z.enum(SETTLEMENT_SOURCES);
export type SettlementSource = z.infer<typeof SettlementSource>;
export type SepaVersion = z.infer<typeof SepaVersion>;

// ---------------------------------------------------------------- lists

const PAGE_SIZE = 25;

const listQueryShape = {
  // Query values are strings. A transform into the integer schema (not `z.coerce`) also keeps the
  // integer and its bounds in the OpenAPI document, which documents a pipe by what follows a transform.
  // A prefault (a default input, parsed like one) is what the document shows for a transforming schema.
  limit: z.prefault(
    z.pipe(
      z.transform((value: unknown) => Number(value)),
      z.int().check(z.minimum(1), z.maximum(100)),
    ),
    PAGE_SIZE,
  ),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
};
export const ListQuery = z.strictObject(listQueryShape);

/** A list query with the route's own filters. */
export const listQuery = <S extends z.core.$ZodLooseShape>(filters: S) =>
  z.strictObject({ ...listQueryShape, ...filters });
