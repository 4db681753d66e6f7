/** Request bodies of the bank-report routes (see ./schemas.ts for why the schemas are split by function). */
import * as z from 'zod/mini';
import { named, text } from './schemas.ts';

export const CreateBankReport = named(
  'CreateBankReport',
  z.strictObject({
    /** A label shown with the report; the server chooses the object key. */
    fileName: text(200),
  }),
);
export type CreateBankReport = z.infer<typeof CreateBankReport>;
