/**
 * Partner bodies and their payout details: addresses, SEPA/PayPal/Wise methods with IBAN and BIC
 * checked by ibantools. Apart so that only the functions that parse them bundle ibantools.
 */
import { electronicFormatIBAN, isValidBIC, isValidIBAN } from 'ibantools';
import * as jsvatModule from 'jsvat-next';
import * as z from 'zod/mini';
import { Currency, countryCode, named, text } from './schemas.ts';
import { normalizeVatId } from './vat-ids.ts';

type Jsvat = typeof import('jsvat-next');
// Bundled, esbuild takes the ES module (named exports); run by Node, the CommonJS one (a default).
// The key is a variable so that esbuild does not warn about a `default` the ES module lacks.
const DEFAULT = 'default';
const jsvat: Jsvat =
  'checkVAT' in jsvatModule
    ? (jsvatModule as Jsvat)
    : ((jsvatModule as unknown as Record<string, unknown>)[DEFAULT] as Jsvat);

/**
 * A VAT id, checked per country (format and check digits) by `jsvat-next`, a maintained fork of
 * jsvat; one of a country jsvat does not know must at least look like one (prefix, 2–13 characters).
 */
export function isValidVatId(value: string): boolean {
  const vatId = normalizeVatId(value);
  const result = jsvat.checkVAT(vatId, jsvat.countries);
  if (result.country) return result.isValid;
  return /^[A-Z]{2}[A-Z0-9]{2,13}$/.test(vatId);
}

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

const VatId = z
  .pipe(
    z.string().check(z.maxLength(20)),
    z.transform((value) => normalizeVatId(value)),
  )
  .check(
    z.refine(
      (value) => isValidVatId(value),
      'must be a valid VAT id of its country (prefix, format and check digits)',
    ),
  );

/** The partner's billing details, printed as the supplier of self-billed invoices. */
export const BillingDetails = named(
  'BillingDetails',
  z
    .strictObject({
      legalName: text(140),
      vatId: z.optional(VatId),
      taxRegime: z.enum(['reverse_charge', 'vat', 'exempt', 'outside_scope']),
      vatRateBps: z.optional(z.int().check(z.minimum(1), z.maximum(10000))),
      exemptionNote: z.optional(text(300)),
      /**
       * The seller tax registration identifier (EN 16931 BT-32), a national tax number: what an
       * exempt partner without a VAT id must give instead (BR-E-02).
       */
      taxRegistrationId: z.optional(text(40)),
    })
    .check(
      z.refine((b) => b.taxRegime !== 'vat' || b.vatRateBps !== undefined, {
        message: 'required for the vat regime',
        path: ['vatRateBps'],
      }),
      z.refine((b) => b.taxRegime === 'vat' || b.vatRateBps === undefined, {
        message: 'only for the vat regime',
        path: ['vatRateBps'],
      }),
      z.refine((b) => b.taxRegime !== 'exempt' || b.exemptionNote !== undefined, {
        message: 'required for the exempt regime',
        path: ['exemptionNote'],
      }),
    ),
);
export type BillingDetails = z.infer<typeof BillingDetails>;

/** The manager's side of self-billing: enabled, and the series prefix of the partner's documents. */
export const SelfBillingSettings = named(
  'SelfBillingSettings',
  z.strictObject({
    enabled: z.boolean(),
    seriesPrefix: z.optional(
      z.string().check(z.regex(/^[A-Z0-9]{1,12}$/, 'must be 1–12 capital letters or digits')),
    ),
  }),
);

export const CreatePartner = named(
  'CreatePartner',
  z.strictObject({
    name: text(140),
    email: Email,
    country: z.optional(countryCode()),
    address: z.optional(Address),
    payoutMethod: z.optional(z.nullable(PayoutMethod)),
    billing: z.optional(BillingDetails),
    selfBilling: z.optional(SelfBillingSettings),
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
    billing: z.optional(z.nullable(BillingDetails)),
    selfBilling: z.optional(SelfBillingSettings),
  }),
);
export type UpdatePartner = z.infer<typeof UpdatePartner>;

export const UpdateOwnProfile = named(
  'UpdateOwnProfile',
  z.strictObject({
    address: z.optional(z.nullable(Address)),
    payoutMethod: z.optional(z.nullable(PayoutMethod)),
    billing: z.optional(z.nullable(BillingDetails)),
  }),
);
export type UpdateOwnProfile = z.infer<typeof UpdateOwnProfile>;
