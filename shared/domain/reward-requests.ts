/** Request bodies of the reward routes (see ./schemas.ts for why the schemas are split by function). */
import * as z from 'zod/mini';
import { isMinorAmount } from './money.ts';
import { Currency, idOf, multilineText, named, ReviewDecision, text } from './schemas.ts';

export const CreateReward = named(
  'CreateReward',
  z.strictObject({
    partnerId: idOf('partner'),
    amount: z.int('must be an integer number of minor units').check(
      z.refine(isMinorAmount, 'must be a safe integer'),
      z.refine((value) => value !== 0, 'must not be zero'),
    ),
    currency: Currency,
    description: z.optional(text(500)),
    externalId: z.optional(text(200)),
    status: z.optional(z.enum(['pending', 'accepted'])),
  }),
);
export type CreateReward = z.infer<typeof CreateReward>;

export const RefuseReward = named('RefuseReward', z.strictObject({ reason: multilineText(500) }));

export const ReviewReward = named(
  'ReviewReward',
  z.strictObject({ decision: ReviewDecision, comment: z.optional(multilineText(1000)) }).check(
    z.refine((body) => body.decision !== 'dispute' || body.comment !== undefined, {
      message: 'a dispute needs a comment',
      path: ['comment'],
    }),
  ),
);
export type ReviewReward = z.infer<typeof ReviewReward>;
