/**
 * Types of the export-file generators (`shared/exports`). Pure data: no AWS, no I/O.
 */
import type { Address, ExportFormat, PayoutMethod, SepaVersion } from '../domain/schemas.ts';

export type { ExportFormat, SepaVersion };

/** One ready payout, joined with its partner, as the generators read it. */
export interface ExportRow {
  payoutId: string;
  /** The payout's EndToEndId in this export (SEPA `PmtId/EndToEndId`); defaults to the payout id. */
  endToEndId?: string;
  partnerId: string;
  partnerName: string;
  partnerEmail: string;
  /** Integer minor units, > 0. */
  amount: number;
  /** ISO 4217. */
  currency: string;
  payoutMethod: PayoutMethod | null;
  /** Partner postal address. */
  address?: Address;
  /** Free text, e.g. "Partner payout po_…"; each format transliterates and cuts it to its own limits. */
  remittance: string;
}

/** The account the SEPA credit transfers are paid from. */
export interface SepaDebtor {
  name: string;
  iban: string;
  bic?: string;
}

export interface ExportOptions {
  format: ExportFormat;
  exportId: string;
  createdAt: Date;
  /** SEPA requested execution date (its UTC calendar day); defaults to `createdAt`. */
  executionDate?: Date;
  /** Defaults to `pain.001.001.09`. */
  sepaVersion?: SepaVersion;
  /** Required for `sepa`. */
  debtor?: SepaDebtor;
}

export type RowIterable = Iterable<ExportRow> | AsyncIterable<ExportRow>;

/**
 * Where the generators read rows from. SEPA writes `NbOfTxs` and `CtrlSum` in the group header, before
 * the transactions, so it reads its rows twice (a first pass sums them, a second one writes them) and
 * needs a source it can read again: an array or other re-iterable collection, or a function returning
 * a fresh iterable per call (e.g. `() => readRows(payoutIds)`). One-shot generators are fine for the
 * other formats, which read once.
 */
export type RowSource = RowIterable | (() => RowIterable);

export interface CurrencyTotal {
  currency: string;
  /** Integer minor units. */
  amount: number;
}

/** Count and amounts (one entry per currency, sorted by currency code) of the rows written to a file. */
export interface FileTotals {
  count: number;
  amounts: CurrencyTotal[];
}

/** One generated file. Read `chunks` to the end before asking for the next file. */
export interface ExportFile {
  /** 0-based position of the file in the export. */
  index: number;
  fileName: string;
  contentType: string;
  /** UTF-8 text, in pieces of about 64 KiB. */
  chunks: AsyncIterable<string>;
  /**
   * The file's totals, computed from the rows as they were written. Throws until `chunks` has been read
   * to the end.
   */
  totals(): FileTotals;
}

/** Why a payout cannot go into a file of the requested format. */
export type RefusalReason =
  | 'invalid_amount'
  | 'no_payout_method'
  | 'wrong_payout_method'
  | 'missing_email'
  | 'invalid_email'
  | 'missing_account_holder'
  | 'unrepresentable_name'
  | 'missing_iban'
  | 'invalid_iban'
  | 'iban_not_sepa'
  | 'invalid_bic'
  | 'amount_not_supported';

export interface Refusal {
  payoutId: string;
  partnerId: string;
  reason: RefusalReason;
}

export interface ExportCheck {
  /** One entry per refused row, with its first problem. */
  missing: Refusal[];
  /** Set when the rows' currencies do not fit the format (several currencies, or one it cannot pay). */
  currencyProblem?: string;
}
