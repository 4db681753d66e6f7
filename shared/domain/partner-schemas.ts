/**
 * Partner bodies and their payout details: addresses, SEPA/PayPal/Wise methods with IBAN and BIC
 * checked by ibantools. Apart so that only the functions that parse them bundle ibantools.
 */
import { electronicFormatIBAN, isValidBIC, isValidIBAN } from 'ibantools';
import * as z from 'zod/mini';
import { Currency, countryCode, named, text } from './schemas.ts';

export const Address = named(
  'Address',
  z.strictObject({
    line1: text(140),
    line2: z.optional(text(140)),
    city: text(70),
    postalCode: z.optional(text(16)),
    region: z.optional(text(70)),
    country: countryCode(),
  }),
);
export type Address = z.infer<typeof Address>;

const Iban = z
  .pipe(
    z.string(),
    z.transform((value) => electronicFormatIBAN(value) ?? value),
  )
  .check(z.refine((value) => isValidIBAN(value), 'must be a valid IBAN'));

const Bic = z
  .pipe(
    z.string(),
    z.transform((value) => value.replace(/\s+/g, '').toUpperCase()),
  )
  .check(z.refine((value) => isValidBIC(value), 'must be a valid BIC'));

const Email = z.email().check(z.maxLength(254));

export const SepaMethod = z.strictObject({
  type: z.literal('sepa'),
  accountHolder: text(70),
  iban: Iban,
  bic: z.optional(Bic),
});
export const PaypalMethod = z.strictObject({ type: z.literal('paypal'), email: Email });
export const WiseMethod = z.strictObject({
  type: z.literal('wise'),
  email: Email,
  accountHolder: text(70),
  currency: z.optional(Currency),
  iban: z.optional(Iban),
});
export const PayoutMethod = named(
  'PayoutMethod',
  z.discriminatedUnion('type', [SepaMethod, PaypalMethod, WiseMethod]),
);
export type PayoutMethod = z.infer<typeof PayoutMethod>;

export const CreatePartner = named(
  'CreatePartner',
  z.strictObject({
    name: text(140),
    email: Email,
    country: z.optional(countryCode()),
    address: z.optional(Address),
    payoutMethod: z.optional(z.nullable(PayoutMethod)),
  }),
);
export type CreatePartner = z.infer<typeof CreatePartner>;

export const UpdatePartner = named(
  'UpdatePartner',
  z.strictObject({
    name: z.optional(text(140)),
    email: z.optional(Email),
    country: z.optional(z.nullable(countryCode())),
    address: z.optional(z.nullable(Address)),
    payoutMethod: z.optional(z.nullable(PayoutMethod)),
  }),
);
export type UpdatePartner = z.infer<typeof UpdatePartner>;

export const UpdateOwnProfile = named(
  'UpdateOwnProfile',
  z.strictObject({
    address: z.optional(z.nullable(Address)),
    payoutMethod: z.optional(z.nullable(PayoutMethod)),
  }),
);
export type UpdateOwnProfile = z.infer<typeof UpdateOwnProfile>;
