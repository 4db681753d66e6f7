/**
 * SEPA credit transfer initiation files: ISO 20022 pain.001.001.09 (default) or pain.001.001.03, one
 * group header, one payment information block (batch booking, charges SLEV), one transaction per payout.
 *
 * Library choice (measured on this code base, 10,000 payouts, Node 20):
 * - `sepa` (kewisch/sepa.js 3.0.0) knows both versions (BICFI from .08 on, `ReqdExctnDt/Dt` in .09), but
 *   it keeps the whole document in memory until `toString()`, takes amounts as JS numbers (control sums
 *   are float additions, printed with `toFixed(2)`), writes the postal address only as `Ctry` + two
 *   `AdrLine` (no structured or hybrid address, which the EPC rulebooks require for .09 from Nov 2025)
 *   and writes `CreDtTm` in server local time. Not used.
 * - xmlbuilder2 (maintained, standards-based DOM and serializer) was used first: its streaming writer
 *   builds a throw-away DOM for every `ele()` (about 1,000 transactions/s here), so each transaction was
 *   serialized from a DOM template refilled per payout (about 6,800/s). It also brought ~300 KiB of
 *   minified code (@oozcitak/dom, js-yaml, …) into the exports function, over the cold-start budget.
 * - Chosen: the parts are built as plain element trees and written by ./xml.ts (escaping, refusing
 *   characters XML 1.0 cannot carry, two-space indentation): the envelope (group header and payment
 *   information header, whose `NbOfTxs`/`CtrlSum` come first) is written once around the
 *   transactions, each `CdtTrfTxInf` as its own chunk. The tests validate every file against the
 *   official XSDs. Memory holds one row and one output chunk, whatever the number of payouts.
 *
 * Because the totals come first, the rows are read twice: a first pass checks and sums them, a second
 * one writes them (and fails the file if it sees different totals). Amounts stay integers throughout;
 * `InstdAmt` and `CtrlSum` are `formatMinor` strings of integer (sums of) minor units, never floats.
 *
 * All text is transliterated to the EPC basic character set and cut to the EPC/XSD lengths: names 70,
 * `Ustrd` 140, identifiers 35 (`_` in our ids becomes `-`), `AdrLine` 70, `TwnNm` 35, `PstCd` 16.
 *
 * Creditor postal address, when the partner has one:
 * - .09: hybrid form (EPC SCT 2023+ rulebooks: structured `TwnNm` and `Ctry`, plus at most two
 *   `AdrLine`): `PstCd`, `TwnNm`, `CtrySubDvsn`, `Ctry`, then the street lines as `AdrLine`. The XSD
 *   (PostalAddress24) allows structured elements and `AdrLine` together. Street lines go to `AdrLine`
 *   rather than `StrtNm`/`BldgNb` because our address keeps street and number on one free line.
 * - .03: the XSD (PostalAddress6) would allow the same mix, but the EPC implementation guidelines for .03
 *   allow only `Ctry` and two `AdrLine`: street line(s), then postal code, town and region.
 *
 * Upper bound: `SEPA_MAX_TRANSACTIONS` (100,000) transactions per file, about 100 MB. Banks often set
 * their own, lower limits; above it, split the payouts over several exports.
 */
import { isSEPACountry } from 'ibantools';
import { formatMinor } from '../domain/money.ts';
import type { Address, SepaVersion } from '../domain/schemas.ts';
import { compactIban, ExportChecker, normalizeBic, normalizeIban, rowRefusal } from './check.ts';
import { ExportError } from './errors.ts';
import { ChunkBuffer, makeFile, RowReader, TotalsAccumulator } from './rows.ts';
import { sepaId, sepaText } from './text.ts';
import type { ExportFile, ExportOptions, ExportRow, RefusalReason, RowSource } from './types.ts';
import { closeTag, leaf, node, openTag, writeXml, XML_DECLARATION, type XmlElement } from './xml.ts';

export const DEFAULT_SEPA_VERSION: SepaVersion = 'pain.001.001.09';
export const SEPA_MAX_TRANSACTIONS = 100_000;

const CONTENT_TYPE = 'application/xml; charset=utf-8';
/** Indentation level of `CdtTrfTxInf`: Document > CstmrCdtTrfInitn > PmtInf > CdtTrfTxInf. */
const TX_LEVEL = 3;

/** BIC patterns of the two schemas (.03 is stricter on the location code). */
const BIC_PATTERN: Record<SepaVersion, RegExp> = {
  'pain.001.001.03': /^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$/,
  'pain.001.001.09': /^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/,
};

// ---------------------------------------------------------------- document parts

interface Debtor {
  name: string;
  iban: string;
  bic: string | undefined;
}

interface SepaSettings {
  version: SepaVersion;
  messageId: string;
  createdAt: string;
  executionDate: string;
  debtor: Debtor;
}

function isoDateTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function settingsOf(options: ExportOptions): SepaSettings {
  const version = options.sepaVersion ?? DEFAULT_SEPA_VERSION;
  const invalid = (message: string) => new ExportError('invalid_options', message);
  if (!BIC_PATTERN[version]) throw invalid(`Unknown SEPA version ${String(version)}`);
  const messageId = sepaId(options.exportId);
  if (messageId === '') throw invalid('The export id has no character SEPA can carry');
  const execution = options.executionDate ?? options.createdAt;
  if (Number.isNaN(options.createdAt.getTime()) || Number.isNaN(execution.getTime())) {
    throw invalid('createdAt and executionDate must be valid dates');
  }
  const debtor = options.debtor;
  if (!debtor) throw invalid('A SEPA export needs the debtor account (name, IBAN, optional BIC)');
  const name = sepaText(debtor.name, 70);
  if (name === '') throw invalid('The debtor name has no character SEPA can carry');
  const iban = normalizeIban(debtor.iban);
  if (!iban || !isSEPACountry(iban.slice(0, 2))) throw invalid('The debtor IBAN is not a valid SEPA IBAN');
  let bic: string | undefined;
  if (debtor.bic !== undefined) {
    bic = normalizeBic(debtor.bic);
    if (!bic || !BIC_PATTERN[version].test(bic)) throw invalid(`The debtor BIC is not valid for ${version}`);
  }
  return {
    version,
    messageId,
    createdAt: isoDateTime(options.createdAt),
    executionDate: execution.toISOString().slice(0, 10),
    debtor: { name, iban, bic },
  };
}

/** `FinInstnId` with the BIC (BICFI in .09, BIC in .03), or `Othr/Id NOTPROVIDED`. */
function agent(name: string, version: SepaVersion, bic: string | undefined): XmlElement {
  const id = bic
    ? leaf(version === 'pain.001.001.03' ? 'BIC' : 'BICFI', bic)
    : node('Othr', leaf('Id', 'NOTPROVIDED'));
  return node(name, node('FinInstnId', id));
}

/** Words of `parts` (joined by ", ") in at most `maxLines` lines of at most `width` characters. */
function wrap(parts: string[], width: number, maxLines: number): string[] {
  const present = parts.filter((part) => part !== '');
  if (present.length <= maxLines && present.every((part) => part.length <= width)) return present;
  const lines: string[] = [];
  let line = '';
  for (const word of present.join(', ').split(' ')) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if (candidate.length <= width) line = candidate;
    else {
      if (line !== '') lines.push(line);
      line = word.slice(0, width);
    }
  }
  if (line !== '') lines.push(line);
  return lines.slice(0, maxLines);
}

function postalAddress(address: Address | undefined, version: SepaVersion): XmlElement | undefined {
  if (!address || !/^[A-Z]{2}$/.test(address.country)) return undefined;
  const street = [sepaText(address.line1, 140), sepaText(address.line2 ?? '', 140)];
  const postCode = sepaText(address.postalCode ?? '', 16);
  const town = sepaText(address.city, 35);
  const region = sepaText(address.region ?? '', 35);
  const adrLines = (lines: string[]) => lines.map((line) => leaf('AdrLine', line));
  if (version === 'pain.001.001.09' && town !== '') {
    return node(
      'PstlAdr',
      postCode ? leaf('PstCd', postCode) : undefined,
      leaf('TwnNm', town),
      region ? leaf('CtrySubDvsn', region) : undefined,
      leaf('Ctry', address.country),
      ...adrLines(wrap(street, 70, 2)),
    );
  }
  const townLine = [[postCode, town].filter(Boolean).join(' '), region].filter(Boolean).join(', ');
  const lines = [...wrap(street, 70, townLine ? 1 : 2), ...wrap([townLine], 70, 1)];
  return node('PstlAdr', leaf('Ctry', address.country), ...adrLines(lines));
}

function transaction(row: ExportRow, version: SepaVersion): XmlElement {
  const method = row.payoutMethod;
  if (method?.type !== 'sepa') throw new TypeError(`${row.payoutId}: not a SEPA payout method`);
  const iban = compactIban(method.iban); // checked by rowRefusal just before
  const bic = method.bic === undefined ? undefined : normalizeBic(method.bic);
  const remittance = sepaText(row.remittance, 140);
  return node(
    'CdtTrfTxInf',
    node('PmtId', leaf('EndToEndId', sepaId(row.endToEndId ?? row.payoutId) || 'NOTPROVIDED')),
    node('Amt', leaf('InstdAmt', formatMinor(row.amount, 'EUR'), { Ccy: 'EUR' })),
    // the BIC is optional in SEPA (IBAN only); one the schema would refuse is left out
    bic && BIC_PATTERN[version].test(bic) ? agent('CdtrAgt', version, bic) : undefined,
    node('Cdtr', leaf('Nm', sepaText(method.accountHolder, 70)), postalAddress(row.address, version)),
    node('CdtrAcct', node('Id', leaf('IBAN', iban))),
    remittance ? node('RmtInf', leaf('Ustrd', remittance)) : undefined,
  );
}

/** The document up to the first transaction, and from after the last one. */
function envelope(settings: SepaSettings, count: number, amount: number): { head: string; tail: string } {
  const { version, debtor } = settings;
  const controlSum = formatMinor(amount, 'EUR');
  const groupHeader = node(
    'GrpHdr',
    leaf('MsgId', settings.messageId),
    leaf('CreDtTm', settings.createdAt),
    leaf('NbOfTxs', String(count)),
    leaf('CtrlSum', controlSum),
    node('InitgPty', leaf('Nm', debtor.name)),
  );
  const paymentHeader = [
    leaf('PmtInfId', sepaId(`${settings.messageId}-1`)),
    leaf('PmtMtd', 'TRF'),
    leaf('BtchBookg', 'true'),
    leaf('NbOfTxs', String(count)),
    leaf('CtrlSum', controlSum),
    node('PmtTpInf', node('SvcLvl', leaf('Cd', 'SEPA'))),
    version === 'pain.001.001.03'
      ? leaf('ReqdExctnDt', settings.executionDate)
      : node('ReqdExctnDt', leaf('Dt', settings.executionDate)),
    node('Dbtr', leaf('Nm', debtor.name)),
    node('DbtrAcct', node('Id', leaf('IBAN', debtor.iban))),
    agent('DbtrAgt', version, debtor.bic),
    leaf('ChrgBr', 'SLEV'),
  ];
  let head = XML_DECLARATION;
  head += `${openTag('Document', { xmlns: `urn:iso:std:iso:20022:tech:xsd:${version}` })}\n`;
  head += `  ${openTag('CstmrCdtTrfInitn')}\n`;
  head += writeXml(groupHeader, 2);
  head += `    ${openTag('PmtInf')}\n`;
  for (const element of paymentHeader) head += writeXml(element, 3);
  const tail = `    ${closeTag('PmtInf')}\n  ${closeTag('CstmrCdtTrfInitn')}\n${closeTag('Document')}\n`;
  return { head, tail };
}

// ---------------------------------------------------------------- generator

function refused(row: ExportRow, reason: RefusalReason): ExportError {
  return new ExportError('row_refused', `Payout ${row.payoutId} cannot be paid by SEPA transfer: ${reason}`, {
    payoutId: row.payoutId,
    reason,
  });
}

/** First pass: checks every row and sums them, before anything is written. */
async function sumRows(reader: RowReader): Promise<TotalsAccumulator> {
  const checker = new ExportChecker('sepa');
  const totals = new TotalsAccumulator();
  try {
    for (let row = await reader.next(); row; row = await reader.next()) {
      const reason = checker.add(row);
      if (reason) throw refused(row, reason);
      const problem = checker.currencyProblem();
      if (problem) throw new ExportError('currency_problem', problem);
      totals.add(row);
      if (totals.count > SEPA_MAX_TRANSACTIONS) {
        throw new ExportError('too_many_rows', `A SEPA file takes at most ${SEPA_MAX_TRANSACTIONS} payouts`);
      }
    }
  } finally {
    await reader.close();
  }
  if (totals.count === 0) throw new ExportError('no_rows', 'Nothing to export');
  return totals;
}

/** The SEPA export: one file. Checks and sums all rows before yielding it. */
export async function* sepaFiles(source: RowSource, options: ExportOptions): AsyncGenerator<ExportFile> {
  const settings = settingsOf(options);
  const { first, second } = RowReader.openTwice(source);
  const expected = await sumRows(first);
  const expectedAmount = expected.amountOf('EUR');

  const handle = makeFile(
    { index: 0, fileName: `${options.exportId}-${settings.version}.xml`, contentType: CONTENT_TYPE },
    async function* (totals) {
      const { head, tail } = envelope(settings, expected.count, expectedAmount);
      const buffer = new ChunkBuffer();
      buffer.push(head);
      const reader = second();
      try {
        for (let row = await reader.next(); row; row = await reader.next()) {
          const reason = rowRefusal('sepa', row);
          if (reason) throw refused(row, reason);
          if (row.currency !== 'EUR')
            throw new ExportError('currency_problem', `Payout ${row.payoutId} is not in EUR`);
          totals.add(row);
          buffer.push(writeXml(transaction(row, settings.version), TX_LEVEL));
          if (buffer.full) yield buffer.take();
        }
      } finally {
        await reader.close();
      }
      if (totals.count !== expected.count || totals.amountOf('EUR') !== expectedAmount) {
        throw new ExportError('invalid_source', 'The rows changed between the two passes of the SEPA export');
      }
      buffer.push(tail);
      yield buffer.take();
    },
  );
  yield handle.file;
  handle.assertFinished();
}
