/**
 * Bank reports for the tests, as a bank would send them: pain.002 status reports and camt.053 /
 * camt.054 statements in each supported version, built with xmlbuilder2 (test-only) and validated
 * against the official XSDs in test/unit/bank-reports.test.ts.
 */
import { create } from 'xmlbuilder2';

type Obj = Record<string, unknown>;

const ns = (message: string) => `urn:iso:std:iso:20022:tech:xsd:${message}`;
const CREATED = '2026-11-29T10:00:00';

function document(message: string, root: string, body: Obj): string {
  return create({ version: '1.0', encoding: 'UTF-8' })
    .ele({ Document: { '@xmlns': ns(message), [root]: body } })
    .end({ prettyPrint: true });
}

const amount = (value: string, currency: string) => ({ '@Ccy': currency, '#': value });

// ------------------------------------------------------------------ pain.002

export interface PainTx {
  endToEndId: string;
  status: string;
  reasonCode?: string;
  text?: string;
  amount?: string;
  currency?: string;
}

export interface Pain002 {
  version?: 'pain.002.001.03' | 'pain.002.001.10';
  messageId?: string;
  /** The MsgId of the export's file. */
  originalMessageId: string;
  groupStatus?: string;
  groupReasonCode?: string;
  groupText?: string;
  paymentInfoId?: string;
  /** A block-level status (`PmtInfSts`), e.g. RJCT with no transactions: the block was refused. */
  paymentStatus?: string;
  paymentReasonCode?: string;
  paymentText?: string;
  txs?: PainTx[];
}

export function pain002(report: Pain002): string {
  const version = report.version ?? 'pain.002.001.10';
  const reason = (code?: string, text?: string) =>
    code || text
      ? { StsRsnInf: { ...(code ? { Rsn: { Cd: code } } : {}), ...(text ? { AddtlInf: text } : {}) } }
      : {};
  const group: Obj = {
    OrgnlMsgId: report.originalMessageId,
    OrgnlMsgNmId: version === 'pain.002.001.03' ? 'pain.001.001.03' : 'pain.001.001.09',
    ...(report.groupStatus ? { GrpSts: report.groupStatus } : {}),
    ...reason(report.groupReasonCode, report.groupText),
  };
  const body: Obj = {
    GrpHdr: {
      MsgId: report.messageId ?? 'STS-0001',
      CreDtTm: CREATED,
      DbtrAgt: { FinInstnId: { BICFI: 'COBADEFFXXX' } },
    },
    OrgnlGrpInfAndSts: group,
  };
  if (version === 'pain.002.001.03') {
    (body.GrpHdr as Obj).DbtrAgt = { FinInstnId: { BIC: 'COBADEFFXXX' } };
  }
  if ((report.txs && report.txs.length > 0) || report.paymentStatus) {
    body.OrgnlPmtInfAndSts = {
      OrgnlPmtInfId: report.paymentInfoId ?? 'PMT-1',
      ...(report.paymentStatus ? { PmtInfSts: report.paymentStatus } : {}),
      ...reason(report.paymentReasonCode, report.paymentText),
      TxInfAndSts: (report.txs ?? []).map((tx) => ({
        OrgnlEndToEndId: tx.endToEndId,
        TxSts: tx.status,
        ...reason(tx.reasonCode, tx.text),
        ...(tx.amount ? { OrgnlTxRef: { Amt: { InstdAmt: amount(tx.amount, tx.currency ?? 'EUR') } } } : {}),
      })),
    };
  }
  return document(version, 'CstmrPmtStsRpt', body);
}

// ------------------------------------------------------------------ camt.053 / camt.054

export interface CamtTx {
  endToEndId?: string;
  acctSvcrRef?: string;
  amount?: string;
  /** A return: `RtrInf/Rsn/Cd`. */
  returnCode?: string;
  /** The transaction's own `CdtDbtInd` (camt .001.08). */
  creditDebit?: 'DBIT' | 'CRDT';
}

export interface CamtEntry {
  amount: string;
  currency?: string;
  creditDebit: 'DBIT' | 'CRDT';
  status?: 'BOOK' | 'PDNG' | 'INFO';
  acctSvcrRef?: string;
  reversal?: boolean;
  batch?: { paymentInfoId: string; count: number; total?: string };
  txs?: CamtTx[];
}

export interface Camt {
  version?: 'camt.054.001.02' | 'camt.054.001.08' | 'camt.053.001.02' | 'camt.053.001.08';
  messageId?: string;
  entries: CamtEntry[];
}

export function camt(report: Camt): string {
  const version = report.version ?? 'camt.054.001.08';
  const v2 = version.endsWith('.02');
  const statement = version.startsWith('camt.053');
  const entries = report.entries.map((entry, index) => {
    const currency = entry.currency ?? 'EUR';
    const txAmount = (value: string) =>
      v2 ? { AmtDtls: { TxAmt: { Amt: amount(value, currency) } } } : { Amt: amount(value, currency) };
    const code = (entry.txs ?? []).some((tx) => tx.returnCode) ? 'RRTN' : 'ESCT';
    const details: Obj = {};
    if (entry.batch) {
      details.Btch = {
        PmtInfId: entry.batch.paymentInfoId,
        NbOfTxs: String(entry.batch.count),
        ...(entry.batch.total ? { TtlAmt: amount(entry.batch.total, currency) } : {}),
      };
    }
    if (entry.txs && entry.txs.length > 0) {
      details.TxDtls = entry.txs.map((tx) => ({
        Refs: {
          ...(tx.acctSvcrRef ? { AcctSvcrRef: tx.acctSvcrRef } : {}),
          ...(tx.endToEndId ? { EndToEndId: tx.endToEndId } : {}),
        },
        ...(tx.amount ? txAmount(tx.amount) : {}),
        ...(tx.returnCode
          ? { RtrInf: { Rsn: { Cd: tx.returnCode }, AddtlInf: 'Returned by the beneficiary bank' } }
          : {}),
      }));
    }
    return {
      NtryRef: `E${index + 1}`,
      Amt: amount(entry.amount, currency),
      CdtDbtInd: entry.creditDebit,
      ...(entry.reversal ? { RvslInd: 'true' } : {}),
      Sts: v2 ? (entry.status ?? 'BOOK') : { Cd: entry.status ?? 'BOOK' },
      BookgDt: { Dt: '2026-11-29' },
      ...(entry.acctSvcrRef ? { AcctSvcrRef: entry.acctSvcrRef } : {}),
      BkTxCd: { Domn: { Cd: 'PMNT', Fmly: { Cd: 'ICDT', SubFmlyCd: code } } },
      ...(Object.keys(details).length > 0 ? { NtryDtls: details } : {}),
    };
  });
  const account = { Id: { IBAN: 'DE89370400440532013000' }, Ccy: 'EUR' };
  const group = { MsgId: report.messageId ?? 'CAMT-0001', CreDtTm: CREATED };
  if (statement) {
    const balance = {
      Tp: { CdOrPrtry: { Cd: 'CLBD' } },
      Amt: amount('100000.00', 'EUR'),
      CdtDbtInd: 'CRDT',
      Dt: { Dt: '2026-11-29' },
    };
    return document(version, 'BkToCstmrStmt', {
      GrpHdr: group,
      Stmt: {
        Id: 'STMT-1',
        CreDtTm: CREATED,
        Acct: account,
        Bal: balance,
        ...(entries.length ? { Ntry: entries } : {}),
      },
    });
  }
  return document(version, 'BkToCstmrDbtCdtNtfctn', {
    GrpHdr: group,
    Ntfctn: { Id: 'NTF-1', CreDtTm: CREATED, Acct: account, ...(entries.length ? { Ntry: entries } : {}) },
  });
}
