/**
 * The CSV-based formats: a generic CSV for people and spreadsheets, the PayPal Payouts bulk upload file
 * and the Wise batch transfer file. RFC 4180, UTF-8: CRLF after every record, a cell quoted when it
 * holds a comma, quote or line break, its quotes doubled. That is all of RFC 4180 a writer needs, so it
 * is written here (tests read every file back with an independent parser) rather than bundling
 * csv-stringify (~11 KiB) into the exports function's cold start.
 *
 * Formula injection: cells starting with = + - @ tab or CR get a leading `'` (see `guardFormula`).
 * - generic CSV: every cell but the two numeric amount columns;
 * - PayPal and Wise: the free-text cells (name, reference, note). The e-mail, IBAN, currency and amount
 *   cells are passed verbatim, since the provider reads them as data and a changed e-mail would pay
 *   someone else; they are validated identifiers (`checkExportable`), whose characters cannot form a
 *   function call (an e-mail has no `(`, `=`, `|` or `!`).
 */
import { currencyExponent, formatMinor } from '../domain/money.ts';
import type { ExportFormat } from '../domain/schemas.ts';
import { compactIban, PAYPAL_WHOLE_UNIT_CURRENCIES } from './check.ts';
import { cut, guardFormula } from './text.ts';
import type { ExportRow } from './types.ts';

export const PAYPAL_MAX_ROWS_PER_FILE = 5_000;
export const WISE_MAX_ROWS_PER_FILE = 1_000;
/** PayPal Payouts item `note`: at most 4,000 characters. */
const PAYPAL_NOTE_MAX = 4_000;

export interface CsvLayout {
  format: ExportFormat;
  contentType: string;
  /** Rows per file; the export is split into several files beyond that. */
  maxRowsPerFile: number;
  /** Text written at the start of each file (BOM, header line), already encoded as CSV. */
  preamble: string;
  fileName(exportId: string, index: number): string;
  /** The row's cells; the row has passed `rowRefusal` for this format. */
  record(row: ExportRow): string[];
}

const NEEDS_QUOTES = /[",\r\n]/;

function encodeCell(cell: string): string {
  return NEEDS_QUOTES.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
}

/** Encodes records as RFC 4180 text (CRLF after every record). */
export function encodeRecords(records: string[][]): string {
  let text = '';
  for (const record of records) text += `${record.map(encodeCell).join(',')}\r\n`;
  return text;
}

/** Free text on one line: control characters (line breaks, tabs) become spaces. */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

function partNumber(index: number): string {
  return String(index + 1).padStart(3, '0');
}

const CONTENT_TYPE = 'text/csv; charset=utf-8';

// ---------------------------------------------------------------- generic CSV

export const CSV_HEADER = [
  'payout_id',
  'partner_id',
  'partner_name',
  'partner_email',
  'amount',
  'amount_minor',
  'currency',
  'payout_method',
  'account_holder',
  'iban',
  'bic',
  'account_email',
  'account_currency',
  'payment_reference',
] as const;

/** Columns holding numbers, written without the formula guard. */
const CSV_NUMERIC_COLUMNS: ReadonlySet<number> = new Set([
  CSV_HEADER.indexOf('amount'),
  CSV_HEADER.indexOf('amount_minor'),
]);

function csvRecord(row: ExportRow): string[] {
  const method = row.payoutMethod;
  const cells = [
    row.payoutId,
    row.partnerId,
    row.partnerName,
    row.partnerEmail,
    formatMinor(row.amount, row.currency),
    String(row.amount),
    row.currency,
    method?.type ?? '',
    method && method.type !== 'paypal' ? method.accountHolder : '',
    method && method.type !== 'paypal' && method.iban !== undefined ? compactIban(method.iban) : '',
    method?.type === 'sepa' ? (method.bic ?? '') : '',
    method && method.type !== 'sepa' ? method.email : '',
    method?.type === 'wise' ? (method.currency ?? '') : '',
    '', // payment reference: filled in by whoever pays, read back on mark-paid
  ];
  return cells.map((cell, column) => (CSV_NUMERIC_COLUMNS.has(column) ? cell : guardFormula(cell)));
}

/**
 * One file with a header row, one row per payout. Starts with a UTF-8 byte order mark so that Excel
 * reads it as UTF-8 (accents would be garbled otherwise); RFC 4180 parsers and spreadsheet tools skip it.
 */
export const CSV_LAYOUT: CsvLayout = {
  format: 'csv',
  contentType: `${CONTENT_TYPE}; header=present`,
  maxRowsPerFile: Number.POSITIVE_INFINITY,
  preamble: `\ufeff${encodeRecords([[...CSV_HEADER]])}`,
  fileName: (exportId) => `${exportId}.csv`,
  record: csvRecord,
};

// ---------------------------------------------------------------- PayPal

/**
 * PayPal Payouts, "send payments in bulk" web upload: no header row, one payment per line with the
 * columns recipient (e-mail), amount (decimal, dot separator), currency, reference ID (our payout id,
 * shown in PayPal's reports), note to the recipient. At most 5,000 lines and one currency per file.
 */
function paypalRecord(row: ExportRow): string[] {
  const method = row.payoutMethod;
  if (method?.type !== 'paypal') throw new TypeError(`${row.payoutId}: not a PayPal payout method`);
  // HUF, JPY, TWD: PayPal wants whole units; the check let through only amounts without a fraction,
  // so the division is exact.
  const amount = PAYPAL_WHOLE_UNIT_CURRENCIES.has(row.currency)
    ? String(row.amount / 10 ** currencyExponent(row.currency))
    : formatMinor(row.amount, row.currency);
  return [
    method.email.trim(),
    amount,
    row.currency,
    guardFormula(row.payoutId),
    guardFormula(cut(oneLine(row.remittance), PAYPAL_NOTE_MAX)),
  ];
}

export const PAYPAL_LAYOUT: CsvLayout = {
  format: 'paypal',
  contentType: CONTENT_TYPE,
  maxRowsPerFile: PAYPAL_MAX_ROWS_PER_FILE,
  preamble: '',
  fileName: (exportId, index) => `${exportId}-paypal-${partNumber(index)}.csv`,
  record: paypalRecord,
};

// ---------------------------------------------------------------- Wise

/**
 * Wise batch transfers ("Batch payments" CSV template, business accounts). Column names as in Wise's
 * template: name, recipientEmail, paymentReference, receiverType, amountCurrency, amount,
 * sourceCurrency, targetCurrency, then the account columns of the target currency; here `IBAN` (EUR and
 * the other IBAN currencies). A recipient without bank details is paid by e-mail: Wise asks them for
 * their details. Written from Wise's published template, not from a live upload: compare the header
 * with a template freshly downloaded from Wise before the first real run. At most 1,000 transfers and
 * one source currency per batch.
 *
 * - receiverType BUSINESS: partners invoice us, so they are businesses.
 * - sourceCurrency is the payout currency (the balance the batch is funded from); targetCurrency is
 *   the partner's Wise currency, else the payout currency.
 * - amountCurrency `target` when both are the same, so the partner receives exactly the amount (fees
 *   are charged on top); `source` when Wise converts, so we send exactly the payout amount.
 * - paymentReference is the payout id (29 characters). Some payment networks take shorter references
 *   (UK Faster Payments: 18), which Wise may cut: reconcile such transfers by the other fields.
 */
export const WISE_HEADER = [
  'name',
  'recipientEmail',
  'paymentReference',
  'receiverType',
  'amountCurrency',
  'amount',
  'sourceCurrency',
  'targetCurrency',
  'IBAN',
] as const;

function wiseRecord(row: ExportRow): string[] {
  const method = row.payoutMethod;
  if (method?.type !== 'wise') throw new TypeError(`${row.payoutId}: not a Wise payout method`);
  const target = method.currency ?? row.currency;
  return [
    guardFormula(oneLine(method.accountHolder)),
    method.email.trim(),
    guardFormula(row.payoutId),
    'BUSINESS',
    target === row.currency ? 'target' : 'source',
    formatMinor(row.amount, row.currency),
    row.currency,
    target,
    method.iban === undefined ? '' : compactIban(method.iban),
  ];
}

export const WISE_LAYOUT: CsvLayout = {
  format: 'wise',
  contentType: `${CONTENT_TYPE}; header=present`,
  maxRowsPerFile: WISE_MAX_ROWS_PER_FILE,
  preamble: encodeRecords([[...WISE_HEADER]]),
  fileName: (exportId, index) => `${exportId}-wise-${partNumber(index)}.csv`,
  record: wiseRecord,
};
