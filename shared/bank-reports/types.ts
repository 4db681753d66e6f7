/**
 * Bank reports, normalised: what a pain.002 status report or a camt.053 / camt.054 statement says
 * about the payments an export sent, whatever the message and version it came in. Pure data.
 */

export const SUPPORTED_MESSAGES = {
  'pain.002': { root: 'CstmrPmtStsRpt', versions: ['001.03', '001.10'] },
  'camt.053': { root: 'BkToCstmrStmt', versions: ['001.02', '001.08'] },
  'camt.054': { root: 'BkToCstmrDbtCdtNtfctn', versions: ['001.02', '001.08'] },
} as const;

export type MessageKind = keyof typeof SUPPORTED_MESSAGES;
/** E.g. `pain.002.001.10`, `camt.054.001.02`. */
export type MessageName = `${MessageKind}.${string}`;

/** The outcome a line reports for one payment. */
export type LineOutcome = 'paid' | 'failed' | 'in_progress';

/** One payment the report speaks of, matched by the `EndToEndId` the export wrote. */
export interface ReportLine {
  endToEndId: string;
  outcome: LineOutcome;
  /** ISO 20022 external status / return reason code (`AC04`, `MD07`, …). */
  reasonCode?: string;
  /** The bank's own words (`AddtlInf`), when it gave some. */
  bankText?: string;
  /** Exact minor units, from the decimal string. Absent when the message does not carry it (pain.002). */
  amount?: number;
  currency?: string;
  /** The bank's reference for a booking (`AcctSvcrRef`, else the entry's). */
  paymentReference?: string;
  /** A credit transfer that came back (camt `RtrInf`, or a reversal of its booking). */
  returned?: boolean;
  /** The booking was reversed (camt `RvslInd` on a credit entry). */
  reversal?: boolean;
  /** The raw status: a pain.002 `TxSts` (`ACCP`, `RJCT`…) or a camt entry status (`BOOK`, `PDNG`). */
  bankStatus: string;
}

/**
 * A booked debit entry that reports a whole payment information block without transaction
 * details: it settles the export's payouts only when count and total match exactly.
 */
export interface ReportBatch {
  paymentInfoId: string;
  /** The export's message id, when the bank repeats it. */
  messageId?: string;
  count: number;
  amount: number;
  currency: string;
  paymentReference?: string;
}

/** The bank refused the whole file (a group-level `RJCT` with no transaction detail). */
export interface GroupRejection {
  /** The `MsgId` of the export's file. */
  originalMessageId: string;
  reasonCode?: string;
  bankText?: string;
}

/** A report as checked, without its lines (they are streamed: see `streamReportLines`). */
/**
 * The bank refused one payment information block of a file (pain.002 `OrgnlPmtInfAndSts` with
 * `PmtInfSts` RJCT and no transaction detail): every transaction of that block was refused.
 */
export interface BlockRejection {
  /** The `MsgId` of the export's file. */
  originalMessageId: string;
  /** The block's `PmtInfId`. */
  paymentInfoId: string;
  reasonCode?: string;
  bankText?: string;
}

export interface CheckedReport {
  message: MessageName;
  kind: MessageKind;
  messageId: string;
  batches: ReportBatch[];
  groupRejection?: GroupRejection;
  /** Payment information blocks the bank refused as a whole (pain.002 `PmtInfSts` RJCT, no tx detail). */
  blockRejections?: BlockRejection[];
  /** Hex SHA-256 of the bytes read. */
  sha256: string;
  size: number;
  /** How many lines the report has. */
  lineCount: number;
}

/** A report with its lines (small reports, tests). */
export interface ParsedReport extends CheckedReport {
  lines: ReportLine[];
}

export type RejectionCode =
  | 'too_large'
  | 'not_xml'
  | 'unsupported_message'
  | 'unsupported_version'
  | 'invalid_content';

/** A file that is not a bank report this product reads; `message` is the reason shown to the manager. */
export class BankReportRejected extends Error {
  override readonly name = 'BankReportRejected';
  constructor(
    readonly code: RejectionCode,
    message: string,
  ) {
    super(message);
  }
}
