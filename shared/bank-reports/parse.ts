/**
 * Reads a bank report with the streaming XML parser `saxes`: the file goes through chunk by chunk
 * (memory holds the normalised lines, never the document), its SHA-256 and size are computed on the
 * way, and anything that is not a supported report is refused with a reason a manager can read.
 *
 * - pain.002 (`.001.03`, `.001.10`): each `TxInfAndSts` by `OrgnlEndToEndId`; `RJCT` → failed with
 *   `StsRsnInf/Rsn/Cd`; `ACSC`/`ACCC` → paid; any other status (`ACTC`, `ACCP`, `ACSP`, `ACWC`,
 *   `PDNG`, …) → in progress. A group-level `RJCT` without transaction detail is a group rejection.
 * - camt.053 / camt.054 (`.001.02`, `.001.08`): a booked debit entry's `TxDtls/Refs/EndToEndId` →
 *   paid, with `AcctSvcrRef` (else the entry's) as payment reference; a credit entry whose `TxDtls`
 *   carry `RtrInf` → failed, returned, with `RtrInf/Rsn/Cd`; a booked debit entry with a `Btch` and no
 *   transaction id → a batch (payment information id, count, total); entries not booked yet → in
 *   progress; a credit reversal (`RvslInd`) naming a payout undoes its booking: failed, returned;
 *   debit reversals and other credits are not about payouts and are skipped.
 */
import { createHash } from 'node:crypto';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { BANK_REPORT_MAX_BYTES } from '../domain/bank-reports.ts';
import { currencyExponent, isCurrency, parseDecimal } from '../domain/money.ts';
import {
  BankReportRejected,
  type BlockRejection,
  type CheckedReport,
  type GroupRejection,
  type LineOutcome,
  type MessageKind,
  type MessageName,
  type ParsedReport,
  type ReportBatch,
  type ReportLine,
  SUPPORTED_MESSAGES,
} from './types.ts';

export const MAX_REPORT_BYTES = BANK_REPORT_MAX_BYTES;

const NAMESPACE = /^urn:iso:std:iso:20022:tech:xsd:([a-z]{4}\.\d{3})\.(\d{3}\.\d{2})$/;
const PAID_STATUSES = new Set(['ACSC', 'ACCC']);
/** camt's "not provided" placeholder is no id. */
const NO_ID = 'NOTPROVIDED';

export interface ParseOptions {
  maxBytes?: number;
}

/** Parses a whole report from its chunks (a Node stream of Buffers, strings, …), keeping its lines. */
export async function parseBankReport(
  source: ReportSource,
  options: ParseOptions = {},
): Promise<ParsedReport> {
  const lines: ReportLine[] = [];
  const parsed = await checkBankReport(source, { ...options, onLines: (found) => lines.push(...found) });
  return { ...parsed, lines };
}

type ReportSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/**
 * Reads a whole report without keeping its lines: the checks (well-formed, supported, size), its
 * SHA-256, size, header, batches, group or block rejections, and how many lines it has. With
 * `onLines`, the lines go there as they are read (a few per chunk of the source).
 */
export async function checkBankReport(
  source: ReportSource,
  options: ParseOptions & { onLines?: (lines: ReportLine[]) => void } = {},
): Promise<CheckedReport> {
  const scan = scanReport(source, options, { rejectNonUtf8: true });
  for (;;) {
    const next = await scan.next();
    if (next.done) return next.value;
    options.onLines?.(next.value);
  }
}

/**
 * The lines of a report, a chunk of the source at a time (for a report already checked with
 * `checkBankReport`: the same bytes). Memory holds one chunk's lines, never the document's.
 */
export function streamReportLines(
  source: ReportSource,
  options: ParseOptions = {},
): AsyncGenerator<ReportLine[], CheckedReport> {
  return scanReport(source, options, { rejectNonUtf8: false });
}

/**
 * The one pass both readers make: size limit, SHA-256, UTF-8 decoding and the streaming reader, the
 * lines yielded a chunk's worth at a time, the report as checked returned at the end.
 * `rejectNonUtf8`: bytes that are not UTF-8 refuse the file (`not_xml`); without it (bytes already
 * checked) the decoder's own error is thrown.
 */
async function* scanReport(
  source: ReportSource,
  options: ParseOptions,
  { rejectNonUtf8 }: { rejectNonUtf8: boolean },
): AsyncGenerator<ReportLine[], CheckedReport> {
  const maxBytes = options.maxBytes ?? MAX_REPORT_BYTES;
  const reader = new ReportReader();
  const hash = createHash('sha256');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let size = 0;
  let lineCount = 0;
  const decode = (bytes: Uint8Array, stream: boolean): string => {
    if (!rejectNonUtf8) return decoder.decode(bytes, { stream });
    try {
      return decoder.decode(bytes, { stream });
    } catch {
      throw new BankReportRejected('not_xml', 'The file is not UTF-8 text, so not an ISO 20022 XML message');
    }
  };
  const take = (): ReportLine[] => {
    const found = reader.takeLines();
    lineCount += found.length;
    return found;
  };
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    size += bytes.byteLength;
    if (size > maxBytes) throw tooLarge(maxBytes);
    hash.update(bytes);
    reader.write(decode(bytes, true));
    const found = take();
    if (found.length > 0) yield found;
  }
  reader.write(decode(new Uint8Array(0), false));
  const closed = reader.close();
  const found = take();
  if (found.length > 0) yield found;
  return { ...closed, lineCount, sha256: hash.digest('hex'), size };
}

export function tooLarge(maxBytes: number): BankReportRejected {
  return new BankReportRejected(
    'too_large',
    `The file is larger than ${maxBytes / 1024 / 1024} MiB (${maxBytes} bytes), the most a bank report may be`,
  );
}

// ------------------------------------------------------------------ the streaming reader

interface Amount {
  text: string;
  currency: string | undefined;
}

interface PainTx {
  endToEndId?: string;
  status?: string;
  reasonCode?: string;
  texts: string[];
  amount?: Amount;
}

interface CamtTx {
  endToEndId?: string;
  acctSvcrRef?: string;
  amount?: Amount;
  txAmount?: Amount;
  instructedAmount?: Amount;
  creditDebit?: string;
  returned: boolean;
  returnCode?: string;
  texts: string[];
}

interface CamtEntry {
  amount?: Amount;
  creditDebit?: string;
  status?: string;
  entryRef?: string;
  acctSvcrRef?: string;
  reversal: boolean;
  batch?: { paymentInfoId?: string; messageId?: string; count?: string; total?: Amount };
  txs: CamtTx[];
}

class ReportReader {
  private readonly parser = new SaxesParser({ xmlns: true });
  private readonly stack: string[] = [];
  /** For each open element, its path below the message root (`paths[i]`: stack[2..i] joined by `/`). */
  private readonly paths: string[] = [];
  private readonly currencies: (string | undefined)[] = [];
  private text = '';
  private kind: MessageKind | undefined;
  private message: MessageName | undefined;
  private messageId: string | undefined;
  private lines: ReportLine[] = [];
  private readonly batches: ReportBatch[] = [];
  // pain.002
  private group: { originalMessageId?: string; status?: string; reasonCode?: string; texts: string[] } = {
    texts: [],
  };
  private paymentInfoStatus: string | undefined;
  /** The payment information block being read (pain.002 `OrgnlPmtInfAndSts`). */
  private block:
    | { paymentInfoId?: string; status?: string; reasonCode?: string; texts: string[]; txs: number }
    | undefined;
  private readonly blockRejections: BlockRejection[] = [];
  private painTx: PainTx | undefined;
  private sawTransactions = false;
  // camt
  private entry: CamtEntry | undefined;
  private camtTx: CamtTx | undefined;

  constructor() {
    this.parser.on('doctype', () => {
      throw new BankReportRejected(
        'not_xml',
        'The file declares a DOCTYPE, which ISO 20022 messages never do',
      );
    });
    this.parser.on('opentag', (tag) => this.open(tag));
    this.parser.on('text', (text) => {
      this.text += text;
    });
    this.parser.on('closetag', () => this.close_());
  }

  write(chunk: string): void {
    if (chunk.length === 0) return;
    this.guard(() => this.parser.write(chunk));
  }

  /** The lines read since the last call. */
  takeLines(): ReportLine[] {
    const lines = this.lines;
    this.lines = [];
    return lines;
  }

  close(): Omit<CheckedReport, 'sha256' | 'size' | 'lineCount'> {
    this.guard(() => this.parser.close());
    if (!this.kind || !this.message) throw new BankReportRejected('not_xml', 'The file holds no XML element');
    if (!this.messageId) {
      throw new BankReportRejected('invalid_content', `The ${this.message} message has no GrpHdr/MsgId`);
    }
    const report: Omit<CheckedReport, 'sha256' | 'size' | 'lineCount'> = {
      message: this.message,
      kind: this.kind,
      messageId: this.messageId,
      batches: this.batches,
    };
    if (this.blockRejections.length > 0) report.blockRejections = this.blockRejections;
    if (this.kind === 'pain.002' && this.group.status === 'RJCT' && !this.sawTransactions) {
      if (!this.group.originalMessageId) {
        throw new BankReportRejected(
          'invalid_content',
          'A group rejection without OrgnlGrpInfAndSts/OrgnlMsgId',
        );
      }
      const rejection: GroupRejection = { originalMessageId: this.group.originalMessageId };
      if (this.group.reasonCode) rejection.reasonCode = this.group.reasonCode;
      if (this.group.texts.length > 0) rejection.bankText = this.group.texts.join(' ');
      report.groupRejection = rejection;
      // The whole file was refused: its blocks' refusals say nothing more.
      delete report.blockRejections;
    }
    return report;
  }

  private guard(step: () => void): void {
    try {
      step();
    } catch (error) {
      if (error instanceof BankReportRejected) throw error;
      const detail = error instanceof Error ? error.message : String(error);
      throw new BankReportRejected('not_xml', `The file is not well-formed XML: ${detail}`);
    }
  }

  // -------------------------------------------------------------- events

  private open(tag: SaxesTagNS): void {
    const depth = this.stack.length;
    this.stack.push(tag.local);
    this.paths.push(depth < 2 ? '' : depth === 2 ? tag.local : `${this.paths[depth - 1]}/${tag.local}`);
    this.currencies.push(tag.attributes.Ccy?.value);
    this.text = '';
    if (depth === 0) this.identify(tag);
    else if (depth === 1) {
      const kind = this.kind as MessageKind;
      const root = SUPPORTED_MESSAGES[kind].root;
      if (tag.local !== root) {
        throw new BankReportRejected(
          'invalid_content',
          `A ${this.message} document holds <${root}>, this one <${tag.local}>`,
        );
      }
    } else if (this.kind === 'pain.002') this.openPain();
    else this.openCamt();
  }

  private close_(): void {
    const text = this.text.trim();
    const currency = this.currencies[this.currencies.length - 1];
    if (this.stack.length === 4 && this.stack[2] === 'GrpHdr' && this.stack[3] === 'MsgId')
      this.messageId = text;
    else if (this.kind === 'pain.002') this.closePain(text, currency);
    else if (this.stack.length >= 3) this.closeCamt(text, currency);
    this.stack.pop();
    this.paths.pop();
    this.currencies.pop();
    this.text = '';
  }

  private identify(tag: SaxesTagNS): void {
    const match = NAMESPACE.exec(tag.uri);
    if (tag.local !== 'Document' || !match) {
      throw new BankReportRejected(
        'unsupported_message',
        `The file is XML but not an ISO 20022 message (root <${tag.local}>${tag.uri ? ` in ${tag.uri}` : ''}); a bank report is a pain.002 status report or a camt.053 / camt.054 statement`,
      );
    }
    const [, kind = '', version = ''] = match;
    const name = `${kind}.${version}`;
    if (!(kind in SUPPORTED_MESSAGES)) {
      const hint = kind === 'pain.001' ? ' (pain.001 is a payment file, like the ones exports write)' : '';
      throw new BankReportRejected(
        'unsupported_message',
        `${name} is not a bank report${hint}: upload a pain.002 status report or a camt.053 / camt.054 statement`,
      );
    }
    const supported = SUPPORTED_MESSAGES[kind as MessageKind];
    if (!(supported.versions as readonly string[]).includes(version)) {
      throw new BankReportRejected(
        'unsupported_version',
        `${name} is not a supported version of ${kind} (supported: ${supported.versions.map((v) => `${kind}.${v}`).join(', ')})`,
      );
    }
    this.kind = kind as MessageKind;
    this.message = name as MessageName;
  }

  /** The element path below the message root (`GrpHdr/MsgId`), from `from` levels below it. */
  private path(from = 0): string {
    const full = this.paths[this.paths.length - 1] ?? '';
    if (from === 0) return full;
    if (this.stack.length <= 2 + from) return '';
    return full.slice((this.paths[1 + from] as string).length + 1);
  }

  // -------------------------------------------------------------- pain.002

  private openPain(): void {
    const path = this.path();
    if (path === 'OrgnlPmtInfAndSts') {
      this.paymentInfoStatus = undefined;
      this.block = { texts: [], txs: 0 };
    } else if (path === 'OrgnlPmtInfAndSts/TxInfAndSts') {
      this.painTx = { texts: [] };
      this.sawTransactions = true;
      if (this.block) this.block.txs += 1;
    }
  }

  private closePain(text: string, currency: string | undefined): void {
    const path = this.path();
    switch (path) {
      case 'OrgnlGrpInfAndSts/OrgnlMsgId':
        this.group.originalMessageId = text;
        return;
      case 'OrgnlGrpInfAndSts/GrpSts':
        this.group.status = text;
        return;
      case 'OrgnlGrpInfAndSts/StsRsnInf/Rsn/Cd':
        this.group.reasonCode ??= text;
        return;
      case 'OrgnlGrpInfAndSts/StsRsnInf/AddtlInf':
        if (text) this.group.texts.push(text);
        return;
      case 'OrgnlPmtInfAndSts/PmtInfSts':
        this.paymentInfoStatus = text;
        if (this.block) this.block.status = text;
        return;
      case 'OrgnlPmtInfAndSts/OrgnlPmtInfId':
        if (this.block) this.block.paymentInfoId = text;
        return;
      case 'OrgnlPmtInfAndSts/StsRsnInf/Rsn/Cd':
        if (this.block) this.block.reasonCode ??= text;
        return;
      case 'OrgnlPmtInfAndSts/StsRsnInf/AddtlInf':
        if (text) this.block?.texts.push(text);
        return;
      case 'OrgnlPmtInfAndSts':
        this.endBlock();
        return;
      case 'OrgnlPmtInfAndSts/TxInfAndSts':
        this.endPainTx();
        return;
    }
    const tx = this.painTx;
    if (!tx || !path.startsWith('OrgnlPmtInfAndSts/TxInfAndSts/')) return;
    switch (this.path(2)) {
      case 'OrgnlEndToEndId':
        tx.endToEndId = text;
        break;
      case 'TxSts':
        tx.status = text;
        break;
      case 'StsRsnInf/Rsn/Cd':
        tx.reasonCode ??= text;
        break;
      case 'StsRsnInf/AddtlInf':
        if (text) tx.texts.push(text);
        break;
      case 'OrgnlTxRef/Amt/InstdAmt':
        tx.amount = { text, currency };
        break;
    }
  }

  /**
   * A block refused as a whole (`PmtInfSts` RJCT and no transaction detail): every transaction of
   * that block was refused. (A block with details reports each transaction: its lines say it.)
   */
  private endBlock(): void {
    const block = this.block;
    this.block = undefined;
    if (block?.status !== 'RJCT' || block.txs > 0) return;
    if (!block.paymentInfoId || !this.group.originalMessageId) {
      throw new BankReportRejected(
        'invalid_content',
        'A payment information block rejection without OrgnlPmtInfId or OrgnlGrpInfAndSts/OrgnlMsgId',
      );
    }
    const rejection: BlockRejection = {
      originalMessageId: this.group.originalMessageId,
      paymentInfoId: block.paymentInfoId,
    };
    const reasonCode = block.reasonCode ?? this.group.reasonCode;
    if (reasonCode) rejection.reasonCode = reasonCode;
    const texts = block.texts.length > 0 ? block.texts : this.group.texts;
    if (texts.length > 0) rejection.bankText = texts.join(' ');
    this.blockRejections.push(rejection);
  }

  private endPainTx(): void {
    const tx = this.painTx;
    this.painTx = undefined;
    if (!tx?.endToEndId || tx.endToEndId === NO_ID) return;
    const status = tx.status ?? this.paymentInfoStatus ?? this.group.status ?? 'NONE';
    const outcome: LineOutcome =
      status === 'RJCT' ? 'failed' : PAID_STATUSES.has(status) ? 'paid' : 'in_progress';
    const line: ReportLine = { endToEndId: tx.endToEndId, outcome, bankStatus: status };
    if (outcome === 'failed' && (tx.reasonCode ?? this.group.reasonCode)) {
      line.reasonCode = tx.reasonCode ?? this.group.reasonCode;
    } else if (tx.reasonCode) line.reasonCode = tx.reasonCode;
    if (tx.texts.length > 0) line.bankText = tx.texts.join(' ');
    if (tx.amount) Object.assign(line, exactAmount(tx.amount));
    this.lines.push(line);
  }

  // -------------------------------------------------------------- camt.053 / camt.054

  /** Depth of `Ntry` below the root: `Ntfctn/Ntry` or `Stmt/Ntry`. */
  private isEntry(): boolean {
    return (
      this.stack.length === 4 &&
      this.stack[3] === 'Ntry' &&
      this.stack[2] === (this.kind === 'camt.053' ? 'Stmt' : 'Ntfctn')
    );
  }

  private openCamt(): void {
    if (this.isEntry()) this.entry = { reversal: false, txs: [] };
    else if (this.entry && this.stack.length === 6 && this.path(2) === 'NtryDtls/TxDtls') {
      this.camtTx = { returned: false, texts: [] };
      this.entry.txs.push(this.camtTx);
    } else if (this.entry && this.path(2) === 'NtryDtls/Btch') this.entry.batch ??= {};
  }

  private closeCamt(text: string, currency: string | undefined): void {
    const entry = this.entry;
    if (!entry) return;
    if (this.isEntry()) {
      this.endEntry(entry);
      this.entry = undefined;
      return;
    }
    const path = this.path(2);
    if (path.startsWith('NtryDtls/TxDtls/')) {
      const tx = this.camtTx;
      if (tx) readTx(tx, this.path(4), text, currency);
      return;
    }
    if (path === 'NtryDtls/TxDtls') {
      this.camtTx = undefined;
      return;
    }
    const batch = entry.batch;
    switch (path) {
      case 'Amt':
        entry.amount = { text, currency };
        break;
      case 'CdtDbtInd':
        entry.creditDebit = text;
        break;
      case 'Sts': // .001.02: the code itself
        if (text) entry.status = text;
        break;
      case 'Sts/Cd': // .001.08: a choice of code or proprietary
      case 'Sts/Prtry':
        entry.status = text;
        break;
      case 'NtryRef':
        entry.entryRef = text;
        break;
      case 'AcctSvcrRef':
        entry.acctSvcrRef = text;
        break;
      case 'RvslInd':
        entry.reversal = text === 'true' || text === '1';
        break;
      case 'NtryDtls/Btch/PmtInfId':
        if (batch) batch.paymentInfoId = text;
        break;
      case 'NtryDtls/Btch/MsgId':
        if (batch) batch.messageId = text;
        break;
      case 'NtryDtls/Btch/NbOfTxs':
        if (batch) batch.count = text;
        break;
      case 'NtryDtls/Btch/TtlAmt':
        if (batch) batch.total = { text, currency };
        break;
    }
  }

  private endEntry(entry: CamtEntry): void {
    if (entry.reversal) {
      this.endReversal(entry);
      return;
    }
    const status = entry.status ?? 'NONE';
    const booked = status === 'BOOK';
    const reference = entry.acctSvcrRef ?? entry.entryRef;
    const identified = entry.txs.filter((tx) => tx.endToEndId && tx.endToEndId !== NO_ID);
    for (const tx of identified) {
      const creditDebit = tx.creditDebit ?? entry.creditDebit;
      const amount =
        tx.amount ??
        tx.txAmount ??
        tx.instructedAmount ??
        (entry.txs.length === 1 ? entry.amount : undefined);
      let line: ReportLine;
      if (tx.returned && creditDebit === 'CRDT') {
        line = {
          endToEndId: tx.endToEndId as string,
          outcome: booked ? 'failed' : 'in_progress',
          returned: true,
          bankStatus: status,
        };
        if (tx.returnCode) line.reasonCode = tx.returnCode;
      } else if (!tx.returned && creditDebit === 'DBIT') {
        line = {
          endToEndId: tx.endToEndId as string,
          outcome: booked ? 'paid' : 'in_progress',
          bankStatus: status,
        };
      } else continue; // money coming in, or a return of money that came in: not a payout
      const paymentReference = tx.acctSvcrRef ?? reference;
      if (paymentReference) line.paymentReference = paymentReference;
      if (tx.texts.length > 0) line.bankText = tx.texts.join(' ');
      if (amount) Object.assign(line, exactAmount(amount));
      this.lines.push(line);
    }
    const batch = entry.batch;
    if (identified.length > 0 || !booked || entry.creditDebit !== 'DBIT' || !batch?.paymentInfoId) return;
    const total = batch.total ?? entry.amount;
    const count = Number(batch.count);
    if (!total || !batch.count || !Number.isSafeInteger(count)) {
      throw new BankReportRejected(
        'invalid_content',
        `The batch booking of ${batch.paymentInfoId} gives no number of transactions or no total`,
      );
    }
    const found: ReportBatch = { paymentInfoId: batch.paymentInfoId, count, ...exactAmount(total) };
    if (batch.messageId) found.messageId = batch.messageId;
    if (reference) found.paymentReference = reference;
    this.batches.push(found);
  }

  /**
   * A reversal (`RvslInd` true). ISO 20022: a credit reversal undoes a debit booking, so one naming a
   * payout's EndToEndId says the money we sent came back: a return (failed, `returned`), with the
   * `RtrInf` reason when the bank gives one, else its own words or "reversed". A debit reversal
   * undoes money that came in: not about payouts. A reversal without transaction references cannot
   * be matched to payouts and is skipped.
   */
  private endReversal(entry: CamtEntry): void {
    const status = entry.status ?? 'NONE';
    const reference = entry.acctSvcrRef ?? entry.entryRef;
    for (const tx of entry.txs) {
      if (!tx.endToEndId || tx.endToEndId === NO_ID) continue;
      if ((tx.creditDebit ?? entry.creditDebit) !== 'CRDT') continue;
      const amount =
        tx.amount ??
        tx.txAmount ??
        tx.instructedAmount ??
        (entry.txs.length === 1 ? entry.amount : undefined);
      const line: ReportLine = {
        endToEndId: tx.endToEndId,
        outcome: status === 'BOOK' ? 'failed' : 'in_progress',
        returned: true,
        reversal: true,
        bankStatus: status,
        bankText: tx.texts.length > 0 ? tx.texts.join(' ') : 'The bank reversed its booking of this payment',
      };
      if (tx.returnCode) line.reasonCode = tx.returnCode;
      const paymentReference = tx.acctSvcrRef ?? reference;
      if (paymentReference) line.paymentReference = paymentReference;
      if (amount) Object.assign(line, exactAmount(amount));
      this.lines.push(line);
    }
  }
}

function readTx(tx: CamtTx, path: string, text: string, currency: string | undefined): void {
  switch (path) {
    case 'Refs/EndToEndId':
      tx.endToEndId = text;
      break;
    case 'Refs/AcctSvcrRef':
      tx.acctSvcrRef = text;
      break;
    case 'Amt': // .001.08
      tx.amount = { text, currency };
      break;
    case 'AmtDtls/TxAmt/Amt':
      tx.txAmount = { text, currency };
      break;
    case 'AmtDtls/InstdAmt/Amt':
      tx.instructedAmount = { text, currency };
      break;
    case 'CdtDbtInd':
      tx.creditDebit = text;
      break;
    case 'RtrInf/Rsn/Cd':
      tx.returnCode = text;
      break;
    case 'RtrInf/AddtlInf':
      if (text) tx.texts.push(text);
      break;
  }
  if (path.startsWith('RtrInf/')) tx.returned = true;
}

/** An amount exactly, in minor units: `12.50` EUR → 1250; trailing zeros past the currency's decimals are fine. */
function exactAmount(amount: Amount): { amount: number; currency: string } {
  const { currency } = amount;
  if (!currency || !isCurrency(currency)) {
    throw new BankReportRejected(
      'invalid_content',
      `The amount ${amount.text} has no known currency (${currency ?? 'none'})`,
    );
  }
  const exponent = currencyExponent(currency);
  let text = amount.text;
  const dot = text.indexOf('.');
  if (dot >= 0) {
    const fraction = text.slice(dot + 1);
    const extra = fraction.slice(exponent);
    if (/^0*$/.test(extra)) text = exponent === 0 ? text.slice(0, dot) : text.slice(0, dot + 1 + exponent);
  }
  try {
    return { amount: parseDecimal(text, currency), currency };
  } catch {
    throw new BankReportRejected(
      'invalid_content',
      `The amount ${amount.text} ${currency} is not exact in ${currency}`,
    );
  }
}
