/** VAT identification numbers: normal form and country (the check itself is in ./partner-schemas.ts). */
export function normalizeVatId(value: string): string {
  return value.replace(/[\s.-]/g, '').toUpperCase();
}

/** The ISO 3166 country of a VAT id's prefix (Greece writes EL). */
export function vatIdCountry(vatId: string): string {
  const prefix = normalizeVatId(vatId).slice(0, 2);
  return prefix === 'EL' ? 'GR' : prefix;
}
