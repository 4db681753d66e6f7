/** Request bodies of the export routes (see ./schemas.ts for why the schemas are split by function). */
import * as z from 'zod/mini';
import { Currency, ExportFormat, idOf, named, SepaVersion, text } from './schemas.ts';

export const CreateExport = named(
  'CreateExport',
  z.strictObject({
    format: ExportFormat,
    payoutIds: z.optional(z.array(idOf('payout')).check(z.minLength(1), z.maxLength(10_000))),
    currency: z.optional(Currency),
    sepaVersion: z.optional(SepaVersion),
  }),
);
export type CreateExport = z.infer<typeof CreateExport>;

export const VoidExport = named('VoidExport', z.strictObject({ reason: text(1000) }));
export type VoidExport = z.infer<typeof VoidExport>;
