/**
 * The one formatting module: money in its currency's minor units (the exponents the API uses, from
 * shared/domain/money.ts: EUR 2, JPY 0, BHD 3) and dates, in the user's locale and time zone (Intl).
 */
import {
  CURRENCIES,
  currencyExponent,
  displayMinor,
  isCurrency,
  parseDecimal,
} from '../../shared/domain/money.ts';

/** The browser's preferred locale ('en' where there is none, e.g. in unit tests under Node). */
export const locale =
  (globalThis as { navigator?: { languages?: readonly string[] } }).navigator?.languages?.[0] || 'en';

export { CURRENCIES, currencyExponent, isCurrency, parseDecimal };

export function money(amount: number, currency: string): string {
  return isCurrency(currency) ? displayMinor(amount, currency, locale) : `${amount} ${currency}`;
}

const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' });

export function when(iso: string | undefined | null): string {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

export function day(iso: string | undefined | null): string {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateOnly.format(date);
}

const relative = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });

/** "3 days ago" */
export function ago(iso: string, now = Date.now()): string {
  const seconds = (new Date(iso).getTime() - now) / 1000;
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(Math.round(seconds), 'second');
}

export function bytes(size: number): string {
  return new Intl.NumberFormat(locale, {
    style: 'unit',
    unit: size >= 1_048_576 ? 'megabyte' : 'kilobyte',
    maximumFractionDigits: 1,
  }).format(size >= 1_048_576 ? size / 1_048_576 : size / 1024);
}

/** "pending" → "Pending", "payout.invoice_rejected" → "Invoice rejected", "fileName" → "File name" */
export function label(code: string): string {
  const words = code
    .replace(/^[a-z]+\./, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
