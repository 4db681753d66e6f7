/** Request bodies and queries of holds and approvals (see ./schemas.ts for why schemas are split by function). */
import * as z from 'zod/mini';
import { HOLD_REASON_CODES, HOLD_SCOPES } from './controls.ts';
import { listQuery, named, text, timestamp } from './schemas.ts';

export const HoldScope = z.enum(HOLD_SCOPES);
export const HoldReasonCode = z.enum(HOLD_REASON_CODES);

export const CreateHold = named(
  'CreateHold',
  z.strictObject({
    scope: HoldScope,
    /** A partner, payout or reward id, by scope. */
    targetId: z.string().check(z.minLength(1), z.maxLength(64)),
    reasonCode: HoldReasonCode,
    /** Internal; never shown to the partner. */
    note: z.optional(text(2000)),
    /** What the partner sees on their held payouts, and is e-mailed. */
    partnerMessage: z.optional(text(1000)),
    /** When the hold is due for review. */
    reviewBy: z.optional(timestamp()),
  }),
);
export type CreateHold = z.infer<typeof CreateHold>;

export const ResolveHold = named('ResolveHold', z.strictObject({ note: text(2000) }));
export type ResolveHold = z.infer<typeof ResolveHold>;

export const ApprovePayout = named('ApprovePayout', z.strictObject({ note: z.optional(text(2000)) }));
export type ApprovePayout = z.infer<typeof ApprovePayout>;

/** A boolean query parameter: `?active`, `?active=true` (or `1`); `?active=false` (or `0`). */
const flag = () =>
  z.optional(
    z.pipe(
      z.enum(['true', 'false', '1', '0', '']),
      z.transform((value) => value === 'true' || value === '1' || value === ''),
    ),
  );

export const HoldQuery = listQuery({
  active: flag(),
  scope: z.optional(HoldScope),
  targetId: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  /** Active holds past their `reviewBy` date. */
  dueForReview: flag(),
});
export { flag as booleanQueryFlag };
