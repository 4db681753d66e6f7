/**
 * Money in integer minor units of an ISO 4217 currency. No floats ever touch an amount:
 * parsing and formatting go through strings and BigInt.
 */

/** Active ISO 4217 codes and their minor-unit exponent (default 2). */
const EXPONENT_0 = 'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF';
const EXPONENT_3 = 'BHD IQD JOD KWD LYD OMR TND';
const EXPONENT_4 = 'CLF UYW';
const EXPONENT_2 = [
  'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD',
  'CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP',
  'GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL',
  'MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN',
  'QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD',
  'TWD TZS UAH USD USN UYU UZS VES WST XCD XCG YER ZAR ZMW ZWG',
].join(' ');

const EXPONENTS: ReadonlyMap<string, number> = new Map([
  ...EXPONENT_2.split(' ').map((c) => [c, 2] as const),
  ...EXPONENT_0.split(' ').map((c) => [c, 0] as const),
  ...EXPONENT_3.split(' ').map((c) => [c, 3] as const),
  ...EXPONENT_4.split(' ').map((c) => [c, 4] as const),
]);

export const CURRENCIES: readonly string[] = [...EXPONENTS.keys()].sort();

export function isCurrency(code: string): boolean {
  return EXPONENTS.has(code);
}

/** Minor-unit exponent of a currency (EUR 2, JPY 0, BHD 3). Throws on an unknown code. */
export function currencyExponent(currency: string): number {
  const exponent = EXPONENTS.get(currency);
  if (exponent === undefined) throw new RangeError(`Unknown currency: ${currency}`);
  return exponent;
}

/** A valid amount is a safe integer of minor units. */
export function isMinorAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

export function assertMinorAmount(value: unknown): asserts value is number {
  if (!isMinorAmount(value)) throw new RangeError(`Not an integer amount of minor units: ${String(value)}`);
}

/** Exact sum of minor amounts; throws if the result leaves the safe-integer range. */
export function sumMinor(amounts: Iterable<number>): number {
  let total = 0n;
  for (const amount of amounts) {
    assertMinorAmount(amount);
    total += BigInt(amount);
  }
  if (total > BigInt(Number.MAX_SAFE_INTEGER) || total < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError('Sum exceeds the safe integer range');
  }
  return Number(total);
}

/** Exact decimal string of a minor amount: formatMinor(1250, 'EUR') === '12.50', (-5, 'BHD') === '-0.005'. */
export function formatMinor(amount: number, currency: string): string {
  assertMinorAmount(amount);
  const exponent = currencyExponent(currency);
  const negative = amount < 0;
  const digits = Math.abs(amount).toString();
  if (exponent === 0) return `${negative ? '-' : ''}${digits}`;
  const padded = digits.padStart(exponent + 1, '0');
  const units = padded.slice(0, padded.length - exponent);
  const fraction = padded.slice(padded.length - exponent);
  return `${negative ? '-' : ''}${units}.${fraction}`;
}

/** Human formatting for e-mails: "€12.50", "¥1,250", "BHD 1.250". */
export function displayMinor(amount: number, currency: string, locale = 'en'): string {
  const exponent = currencyExponent(currency);
  // Intl takes a decimal string exactly (no float rounding) in Node 20+.
  return new Intl.NumberFormat(locale, {
    style: 'currency',
    currency,
    minimumFractionDigits: exponent,
    maximumFractionDigits: exponent,
  }).format(formatMinor(amount, currency) as unknown as number);
}

/** Parses a decimal string ("12.5", "-0.005") into minor units, refusing more decimals than the currency has. */
export function parseDecimal(text: string, currency: string): number {
  const exponent = currencyExponent(currency);
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new RangeError(`Not a decimal amount: ${text}`);
  const [, sign, units = '0', fraction = ''] = match;
  if (fraction.length > exponent) throw new RangeError(`${currency} has ${exponent} decimals: ${text}`);
  const minor = BigInt(units + fraction.padEnd(exponent, '0')) * (sign === '-' ? -1n : 1n);
  const value = Number(minor);
  if (!Number.isSafeInteger(value)) throw new RangeError(`Amount out of range: ${text}`);
  return value;
}
