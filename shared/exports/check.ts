/**
 * What each export format needs from a payout and its partner, as a pure check. `checkExportable` tells
 * the caller up front which payouts cannot be exported (and why); the generators run the same checks row
 * by row and stop with an `ExportError` on the first failure.
 */
import { electronicFormatIBAN, isSEPACountry, isValidBIC, isValidIBAN } from 'ibantools';
import * as z from 'zod/mini';
import { currencyExponent, isCurrency } from '../domain/money.ts';
import type { ExportFormat } from '../domain/schemas.ts';
import { boundedMemo, toSepaText } from './text.ts';
import type { ExportCheck, ExportRow, Refusal, RefusalReason } from './types.ts';

/** Currencies PayPal Payouts can send (developer.paypal.com, "Currency codes"). */
export const PAYPAL_CURRENCIES: ReadonlySet<string> = new Set(
  'AUD BRL CAD CHF CNY CZK DKK EUR GBP HKD HUF ILS JPY MXN MYR NOK NZD PHP PLN SEK SGD THB TWD USD'.split(
    ' ',
  ),
);
/** PayPal takes these in whole units only (no decimals), although ISO 4217 gives HUF and TWD two. */
export const PAYPAL_WHOLE_UNIT_CURRENCIES: ReadonlySet<string> = new Set(['HUF', 'JPY', 'TWD']);

/** EPC SCT limit per transaction: EUR 999,999,999.99. */
export const SEPA_MAX_AMOUNT = 99_999_999_999;

/** The API's own e-mail validation (`z.email()`), so a stored address passes here too. */
const EMAIL = z.email();

/** The IBAN in electronic format (no spaces, upper case), unchecked. */
export function compactIban(iban: string): string {
  return electronicFormatIBAN(iban) ?? iban;
}

/** The IBAN in electronic format if it is valid, else undefined. */
export function normalizeIban(iban: string): string | undefined {
  return validIban(iban) ?? undefined;
}

// Both passes of an export check each row's IBAN (mod 97, country BBAN rules): once per IBAN.
const validIban = boundedMemo((iban: string): string | null => {
  const electronic = compactIban(iban);
  return isValidIBAN(electronic) ? electronic : null;
});

/** The BIC without spaces, upper case, if it is valid, else undefined. */
export function normalizeBic(bic: string): string | undefined {
  const compact = bic.replace(/\s+/g, '').toUpperCase();
  return isValidBIC(compact) ? compact : undefined;
}

function isBlank(text: string | undefined): boolean {
  return text === undefined || text.trim() === '';
}

function emailProblem(email: string | undefined): RefusalReason | undefined {
  if (isBlank(email)) return 'missing_email';
  return EMAIL.safeParse(email?.trim() ?? '').success ? undefined : 'invalid_email';
}

function amountProblem(row: ExportRow): RefusalReason | undefined {
  const valid = isCurrency(row.currency) && Number.isSafeInteger(row.amount) && row.amount > 0;
  return valid ? undefined : 'invalid_amount';
}

/** The first reason why `row` cannot go into a file of `format`, or undefined when it can. */
export function rowRefusal(format: ExportFormat, row: ExportRow): RefusalReason | undefined {
  const amount = amountProblem(row);
  if (amount) return amount;
  const method = row.payoutMethod;
  switch (format) {
    case 'csv':
      return undefined;
    case 'paypal': {
      if (
        PAYPAL_WHOLE_UNIT_CURRENCIES.has(row.currency) &&
        row.amount % 10 ** currencyExponent(row.currency) !== 0
      ) {
        return 'amount_not_supported';
      }
      if (!method) return 'no_payout_method';
      if (method.type !== 'paypal') return 'wrong_payout_method';
      return emailProblem(method.email);
    }
    case 'wise': {
      if (!method) return 'no_payout_method';
      if (method.type !== 'wise') return 'wrong_payout_method';
      const email = emailProblem(method.email);
      if (email) return email;
      if (isBlank(method.accountHolder)) return 'missing_account_holder';
      if (method.iban !== undefined && !normalizeIban(method.iban)) return 'invalid_iban';
      const target = method.currency ?? row.currency;
      if (target === 'EUR' && method.iban === undefined) return 'missing_iban';
      return undefined;
    }
    case 'sepa': {
      if (row.amount > SEPA_MAX_AMOUNT) return 'amount_not_supported';
      if (!method) return 'no_payout_method';
      if (method.type !== 'sepa') return 'wrong_payout_method';
      if (isBlank(method.accountHolder)) return 'missing_account_holder';
      if (toSepaText(method.accountHolder) === '') return 'unrepresentable_name';
      const iban = normalizeIban(method.iban);
      if (!iban) return 'invalid_iban';
      if (!isSEPACountry(iban.slice(0, 2))) return 'iban_not_sepa';
      if (method.bic !== undefined && !normalizeBic(method.bic)) return 'invalid_bic';
      return undefined;
    }
  }
}

/** Why the set of currencies cannot go into `format` files, or undefined. */
export function currencyProblem(format: ExportFormat, currencies: ReadonlySet<string>): string | undefined {
  const list = [...currencies].sort();
  switch (format) {
    case 'csv':
      return undefined;
    case 'sepa': {
      const other = list.filter((currency) => currency !== 'EUR');
      return other.length > 0
        ? `SEPA credit transfers are in EUR only; found ${other.join(', ')}. Export other currencies with another format.`
        : undefined;
    }
    case 'paypal': {
      const unsupported = list.filter((currency) => !PAYPAL_CURRENCIES.has(currency));
      if (unsupported.length > 0) return `PayPal does not pay out in ${unsupported.join(', ')}.`;
      return list.length > 1
        ? `A PayPal payout file takes one currency; found ${list.join(', ')}. Export each currency separately.`
        : undefined;
    }
    case 'wise':
      return list.length > 1
        ? `A Wise batch is funded from one source currency; found ${list.join(', ')}. Export each currency separately.`
        : undefined;
  }
}

/**
 * Incremental form of `checkExportable`, for rows that are read as a stream: `add` each row, then read
 * `result()`.
 */
export class ExportChecker {
  readonly #format: ExportFormat;
  readonly #missing: Refusal[] = [];
  readonly #currencies = new Set<string>();

  constructor(format: ExportFormat) {
    this.#format = format;
  }

  /** Checks one row; returns its refusal reason, if any. */
  add(row: ExportRow): RefusalReason | undefined {
    if (isCurrency(row.currency)) this.#currencies.add(row.currency);
    const reason = rowRefusal(this.#format, row);
    if (reason) this.#missing.push({ payoutId: row.payoutId, partnerId: row.partnerId, reason });
    return reason;
  }

  /** The currency problem of the rows added so far. */
  currencyProblem(): string | undefined {
    return currencyProblem(this.#format, this.#currencies);
  }

  result(): ExportCheck {
    const problem = this.currencyProblem();
    return problem === undefined
      ? { missing: [...this.#missing] }
      : { missing: [...this.#missing], currencyProblem: problem };
  }
}

/**
 * Which payouts a `format` file cannot carry, and whether their currencies fit the format:
 * - csv: any row with a valid amount;
 * - paypal: a `paypal` method with a valid e-mail; one currency per file, among PayPal's currencies;
 *   HUF and TWD in whole units (JPY has none);
 * - wise: a `wise` method with e-mail and account holder, plus an IBAN when the target currency (the
 *   method's `currency`, else the payout's) is EUR; one source currency per file;
 * - sepa: a `sepa` method with an account holder that survives transliteration to the SEPA character
 *   set, a valid IBAN of a SEPA-scheme country, a valid BIC if one is given; EUR only, at most
 *   EUR 999,999,999.99 per payout.
 */
export function checkExportable(format: ExportFormat, rows: Iterable<ExportRow>): ExportCheck {
  const checker = new ExportChecker(format);
  for (const row of rows) checker.add(row);
  return checker.result();
}
