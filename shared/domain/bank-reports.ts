/**
 * Bank report rules: where an uploaded report is stored, what it may be, and how its lines' results
 * add up to the report's counts. Pure, no I/O.
 */
import { displayMinor } from './money.ts';

/** At most 20 MiB: the presigned POST's limit, and what the checker reads. */
export const BANK_REPORT_MAX_BYTES = 20 * 1024 * 1024;
export const BANK_REPORT_CONTENT_TYPE = 'application/xml';
export const BANK_REPORT_UPLOAD_EXPIRES_SECONDS = 15 * 60;
export const BANK_REPORT_PREFIX = 'bank-reports/';

export const BANK_REPORT_STATUSES = ['awaiting_file', 'received', 'applied', 'rejected'] as const;
export type BankReportStatus = (typeof BANK_REPORT_STATUSES)[number];

export const LINE_RESULTS = [
  'applied',
  'already_applied',
  'in_progress',
  'unmatched',
  'amount_mismatch',
  'voided_export',
  'invalid_transition',
] as const;
export type LineResult = (typeof LINE_RESULTS)[number];

export interface BankReportCounts {
  lines: number;
  applied: number;
  alreadyApplied: number;
  inProgress: number;
  unmatched: number;
  mismatched: number;
  voidedExport: number;
}

/** The counts of a report, derived from its lines' results (`invalid_transition` counts in `lines` only). */
export function countResults(results: Iterable<LineResult>): BankReportCounts {
  const counts: BankReportCounts = {
    lines: 0,
    applied: 0,
    alreadyApplied: 0,
    inProgress: 0,
    unmatched: 0,
    mismatched: 0,
    voidedExport: 0,
  };
  for (const result of results) {
    counts.lines += 1;
    if (result === 'applied') counts.applied += 1;
    else if (result === 'already_applied') counts.alreadyApplied += 1;
    else if (result === 'in_progress') counts.inProgress += 1;
    else if (result === 'unmatched') counts.unmatched += 1;
    else if (result === 'amount_mismatch') counts.mismatched += 1;
    else if (result === 'voided_export') counts.voidedExport += 1;
  }
  return counts;
}

/** The server chooses the key: one object per report, never from the client's file name. */
export function bankReportKey(reportId: string): string {
  return `${BANK_REPORT_PREFIX}${reportId}.xml`;
}

export function reportIdOfKey(key: string): string | undefined {
  return /^bank-reports\/(br_[0-9A-HJKMNP-TV-Z]{26})\.xml$/.exec(key)?.[1];
}

/** A display name safe for headers and file systems: the client's name is a label, nothing more. */
export function safeReportFileName(name: string | undefined): string {
  const cleaned = (name ?? '')
    .normalize('NFKD')
    .replace(/[^\w.\- ]+/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 100);
  return cleaned || 'bank-report.xml';
}

// ------------------------------------------------------------------ e-mails to the manager

export interface AlertLine {
  endToEndId: string;
  payoutId?: string | undefined;
  amount?: number | undefined;
  currency?: string | undefined;
  result: LineResult;
  detail?: string | undefined;
}

export interface ReportMail {
  to: string;
  subject: string;
  text: string;
}

const MAX_LISTED = 50;

function describe(line: AlertLine): string {
  const money =
    line.amount !== undefined && line.currency ? ` ${displayMinor(line.amount, line.currency)}` : '';
  const payout = line.payoutId ? ` (payout ${line.payoutId})` : '';
  return `- ${line.endToEndId}${payout}${money}: ${line.result.replace('_', ' ')}${line.detail ? ` — ${line.detail}` : ''}`;
}

function listed(lines: readonly AlertLine[]): string[] {
  const shown = lines.slice(0, MAX_LISTED).map(describe);
  if (lines.length > MAX_LISTED) shown.push(`… and ${lines.length - MAX_LISTED} more`);
  return shown;
}

/** A booking of a voided export: money may have left twice. Sent as soon as the report is read. */
export function voidedExportMail(
  report: { id: string; fileName: string },
  lines: readonly AlertLine[],
  to: string,
  portalUrl: string,
): ReportMail {
  return {
    to,
    subject: `Urgent: bank report ${report.fileName} books ${lines.length} payment(s) of a voided export`,
    text: [
      'A bank report names payments of an export that was voided. Its payouts were returned to ready,',
      'and may have been exported and paid again: check with the bank before anything else is sent.',
      '',
      ...listed(lines),
      '',
      `${portalUrl.replace(/\/$/, '')}/manage/bank-reports/${report.id}`,
    ].join('\n'),
  };
}

/** Lines the report could not apply: unknown ids, amounts that do not match. */
export function attentionMail(
  report: { id: string; fileName: string },
  lines: readonly AlertLine[],
  to: string,
  portalUrl: string,
): ReportMail {
  return {
    to,
    subject: `Bank report ${report.fileName}: ${lines.length} line(s) need your attention`,
    text: [
      'These lines of the bank report changed nothing: their id is unknown or their amount does not',
      'match the payout to the minor unit.',
      '',
      ...listed(lines),
      '',
      `${portalUrl.replace(/\/$/, '')}/manage/bank-reports/${report.id}`,
    ].join('\n'),
  };
}

/** The bank refused a whole export file (pain.002 group-level RJCT). */
export function exportRejectedMail(
  report: { id: string; fileName: string },
  rejection: {
    exportId?: string | undefined;
    messageId: string;
    paymentInfoId?: string | undefined;
    reason: string;
    result: string;
  },
  to: string,
  portalUrl: string,
): ReportMail {
  const voided = rejection.result === 'applied' || rejection.result === 'already_applied';
  return {
    to,
    subject: `The bank refused export ${rejection.exportId ?? rejection.messageId}`,
    text: [
      rejection.paymentInfoId
        ? `The bank refused the payment block ${rejection.paymentInfoId} of file ${rejection.messageId} (every payment in it): ${rejection.reason}`
        : `The bank refused the whole file ${rejection.messageId}: ${rejection.reason}`,
      '',
      voided
        ? 'The export was voided and its payouts are ready again: fix the cause, then export them again.'
        : `The export could not be voided (${rejection.result.replace('_', ' ')}): please check it.`,
      '',
      `${portalUrl.replace(/\/$/, '')}/manage/bank-reports/${report.id}`,
    ].join('\n'),
  };
}
