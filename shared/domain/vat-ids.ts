/**
 * VAT identification numbers, checked per country (format and check digits) by `jsvat-next`, a
 * maintained fork of jsvat. A number of a country jsvat does not know must at least look like one
 * (its ISO country prefix, then 2–13 letters or digits).
 */
import * as jsvatModule from 'jsvat-next';

type Jsvat = typeof import('jsvat-next');
// Bundled, esbuild takes the ES module (named exports); run by Node, the CommonJS one (a default).
// The key is a variable so that esbuild does not warn about a `default` the ES module lacks.
const DEFAULT = 'default';
const jsvat: Jsvat =
  'checkVAT' in jsvatModule
    ? (jsvatModule as Jsvat)
    : ((jsvatModule as unknown as Record<string, unknown>)[DEFAULT] as Jsvat);

export function normalizeVatId(value: string): string {
  return value.replace(/[\s.-]/g, '').toUpperCase();
}

/** The ISO 3166 country of a VAT id's prefix (Greece writes EL). */
export function vatIdCountry(vatId: string): string {
  const prefix = normalizeVatId(vatId).slice(0, 2);
  return prefix === 'EL' ? 'GR' : prefix;
}

export function isValidVatId(value: string): boolean {
  const vatId = normalizeVatId(value);
  const result = jsvat.checkVAT(vatId, jsvat.countries);
  if (result.country) return result.isValid;
  return /^[A-Z]{2}[A-Z0-9]{2,13}$/.test(vatId);
}
