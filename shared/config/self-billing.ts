/**
 * The company's own details printed on self-billed invoices (it is the customer), and the version
 * of the self-billing agreement text partners accept. Read once, failing fast with the variable's
 * name; the names are shared with CDK (./env.ts).
 *
 * `COMPANY_ADDRESS` is one line of `|`-separated parts: `line1|postalCode|city|CC` or
 * `line1|line2|postalCode|city|CC` (CC: ISO 3166-1 alpha-2), e.g. `Keizersgracht 1|1015 CJ|Amsterdam|NL`.
 */
import type { Address } from '../domain/partner-schemas.ts';
import type { CompanyDetails } from '../self-billing/model.ts';
import { ENV, optionalEnv, requireEnv } from './env.ts';

export const DEFAULT_AGREEMENT_VERSION = '2026-01';

export function parseCompanyAddress(raw: string): Address {
  const parts = raw.split('|').map((part) => part.trim());
  const country = parts.at(-1) ?? '';
  if (
    (parts.length !== 4 && parts.length !== 5) ||
    parts.some((part) => part === '') ||
    !/^[A-Z]{2}$/.test(country)
  ) {
    throw new Error(
      `${ENV.companyAddress} must be "line1|postalCode|city|CC" or "line1|line2|postalCode|city|CC" (CC: ISO 3166-1 alpha-2)`,
    );
  }
  const [line1 = '', ...rest] = parts;
  const [postalCode = '', city = ''] = rest.slice(-3, -1);
  return { line1, ...(parts.length === 5 ? { line2: rest[0] as string } : {}), postalCode, city, country };
}

let company: CompanyDetails | undefined;

export function companyDetails(): CompanyDetails {
  company ??= {
    name: requireEnv(ENV.companyName),
    address: parseCompanyAddress(requireEnv(ENV.companyAddress)),
    vatId: requireEnv(ENV.companyVatId),
  };
  return company;
}

export function agreementVersion(): string {
  return optionalEnv(ENV.selfBillingAgreementVersion, DEFAULT_AGREEMENT_VERSION);
}
