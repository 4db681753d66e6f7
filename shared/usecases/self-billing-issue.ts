/**
 * Issuing self-billed documents: the invoice once a self-billed payout is validated by its partner
 * (pending → ready), the credit note once an invoiced payout is cancelled, and the preview a pending
 * partner looks at. Runs in the self-billing function only (functions/self-billing): the PDF library
 * stays out of the API functions.
 *
 * Issuing is idempotent and safe to run concurrently or again after a crash at any point:
 * 1. the number comes from the partner's series (../adapters/document-series.ts: a re-run finds
 *    the number it already holds);
 * 2. the PDF and the XML are stored write-once under that number (a key that exists is the
 *    document; its hash is read back from S3). The credit note credits the invoice as its stored
 *    XML says (no separate model object is stored);
 * 3. the payout records `{ number, issuedAt, sha256, xmlSha256 }` on condition that it has none.
 * The issue date is the payout's own transition time, so a re-run renders the same document.
 */
import type { z } from 'zod/mini';
import { type DocumentKind, holderOf, type TakeHooks, takeNumber } from '../adapters/document-series.ts';
import {
  getPayoutItem,
  loadPayoutRewards,
  newEvent,
  type PayoutItem,
  updatePayout,
} from '../adapters/payout-store.ts';
import { readDocument, storeOnce } from '../adapters/self-billing-store.ts';
import { companyDetails } from '../config/self-billing.ts';
import { Conflict, InvalidTransition, NotFound } from '../domain/errors.ts';
import type { SelfBilledDocumentRecord } from '../domain/resources.ts';
import { PAYOUT_STATUSES } from '../domain/schemas.ts';
import { documentKey, documentsDue, previewKey } from '../domain/self-billing.ts';
import { buildDocument, type DocumentInput, type SelfBilledDocument } from '../self-billing/model.ts';
import { renderPdf } from '../self-billing/pdf.ts';
import { readUblInvoice, renderUbl } from '../self-billing/ubl.ts';

export type DocumentRecord = z.infer<typeof SelfBilledDocumentRecord>;

const SYSTEM = { role: 'system', id: 'self-billing' } as const;

/**
 * The rewards the payout was validated with: the rewards that name it (the payout keeps no list of
 * them, see ../adapters/payout-history.ts), less the refused ones.
 */
async function validatedRewards(item: PayoutItem) {
  return (await loadPayoutRewards(item)).filter((reward) => reward.status !== 'refused');
}

function documentInput(
  item: PayoutItem,
  rewards: DocumentInput['rewards'],
  type: DocumentInput['type'],
  number: string | null,
  issueDate: string,
): DocumentInput {
  const snapshot = item.selfBillingSnapshot;
  if (!snapshot) throw new InvalidTransition(`Payout ${item.id} was not validated in self_billed mode`);
  return {
    type,
    number,
    issueDate,
    payout: { id: item.id, currency: item.currency, amount: item.amount },
    rewards,
    partner: { id: item.partnerId, address: snapshot.address, billing: snapshot.billing },
    company: companyDetails(),
  };
}

/**
 * Renders and stores the PDF and the XML. `fresh`: this run has just won the number, so nothing can
 * be stored under it yet (see storeOnce).
 */
async function store(
  item: PayoutItem,
  doc: SelfBilledDocument,
  issuedAt: string,
  fresh: boolean,
): Promise<DocumentRecord> {
  const number = doc.number as string;
  const [pdf, xml] = await Promise.all([renderPdf(doc), Promise.resolve(renderUbl(doc))]);
  const [storedPdf, storedXml] = await Promise.all([
    storeOnce(documentKey(item.partnerId, number, 'pdf'), pdf, 'application/pdf', { fresh }),
    storeOnce(documentKey(item.partnerId, number, 'xml'), new TextEncoder().encode(xml), 'application/xml', {
      fresh,
    }),
  ]);
  return { number, issuedAt, sha256: storedPdf.sha256, xmlSha256: storedXml.sha256 };
}

/** Records the document on the payout, once; answers what the payout holds. */
async function record(
  payoutId: string,
  attribute: 'selfBilledInvoice' | 'selfBilledCreditNote',
  value: DocumentRecord,
): Promise<DocumentRecord> {
  const type =
    attribute === 'selfBilledInvoice'
      ? 'payout.self_billed_invoice_issued'
      : 'payout.self_billed_credit_note_issued';
  try {
    // Through the payout's transition path: the record and its history entry (appended to the
    // outbox, see ../adapters/payout-history.ts) commit together, once.
    await updatePayout(payoutId, {
      from: [...PAYOUT_STATUSES],
      keepVersion: true,
      expect: { [attribute]: undefined },
      set: { [attribute]: value },
      events: [newEvent(type, SYSTEM, value.issuedAt, { data: { ...value } })],
      at: value.issuedAt,
    });
    return value;
  } catch (error) {
    if (!(error instanceof Conflict)) throw error;
    const current = (await getPayoutItem(payoutId))[attribute];
    if (!current) throw error;
    return current;
  }
}

export interface IssueResult {
  invoice?: DocumentRecord;
  creditNote?: DocumentRecord;
}

/** Issues what the payout still needs (invoice, then credit note). Safe to run again, and at once. */
export async function issueSelfBilledDocuments(
  payoutId: string,
  hooks: TakeHooks = {},
): Promise<IssueResult> {
  let item: PayoutItem = await getPayoutItem(payoutId);
  const due = documentsDue(item);
  const result: IssueResult = {};
  if (due.invoice) {
    const issuedAt = item.partnerValidatedAt as string;
    const snapshot = item.selfBillingSnapshot;
    if (!snapshot) throw new InvalidTransition(`Payout ${payoutId} has no self-billing snapshot`);
    const series = {
      partnerId: item.partnerId,
      prefix: snapshot.seriesPrefix,
      year: Number(issuedAt.slice(0, 4)),
    };
    const taken = await takeNumber(series, holderOf(payoutId, 'invoice'), hooks);
    const rewards = await validatedRewards(item);
    const doc = buildDocument(documentInput(item, rewards, 'invoice', taken.number, issuedAt.slice(0, 10)));
    result.invoice = await record(
      payoutId,
      'selfBilledInvoice',
      await store(item, doc, issuedAt, taken.fresh === true),
    );
    item = { ...item, selfBilledInvoice: result.invoice };
  }
  if (documentsDue(item).creditNote && item.selfBilledInvoice) {
    const invoice = item.selfBilledInvoice;
    const issuedAt = item.cancelledAt ?? item.updatedAt;
    const snapshot = item.selfBillingSnapshot;
    if (!snapshot) throw new InvalidTransition(`Payout ${payoutId} has no self-billing snapshot`);
    const series = {
      partnerId: item.partnerId,
      prefix: snapshot.seriesPrefix,
      year: Number(issuedAt.slice(0, 4)),
    };
    const taken = await takeNumber(series, holderOf(payoutId, 'credit_note' satisfies DocumentKind), hooks);
    // The invoice as issued, read back from its stored XML (the rewards are released by now).
    const invoiced = readUblInvoice(
      (await readDocument(documentKey(item.partnerId, invoice.number, 'xml'))).toString('utf8'),
    );
    const doc = buildDocument({
      ...documentInput(
        item,
        invoiced.lines.map((line) => ({
          id: line.rewardId,
          amount: line.amount,
          description: line.description,
          createdAt: `${line.date}T00:00:00.000Z`,
        })),
        'credit_note',
        taken.number,
        issuedAt.slice(0, 10),
      ),
      invoiceReference: { number: invoice.number, issueDate: invoiced.issueDate },
    });
    result.creditNote = await record(
      payoutId,
      'selfBilledCreditNote',
      await store(item, doc, issuedAt, taken.fresh === true),
    );
    item = { ...item, selfBilledCreditNote: result.creditNote };
  }
  // Both records are conditional writes: what they answered is what the payout holds.
  const left = documentsDue(item);
  if (left.invoice || left.creditNote)
    throw new Error(`Payout ${payoutId} still needs ${JSON.stringify(left)}`);
  return result;
}

/** Renders (once per payout version) the preview of a pending self-billed payout; answers its key. */
export async function renderPreview(payoutId: string): Promise<{ key: string }> {
  const item = await getPayoutItem(payoutId);
  if (item.status !== 'pending' || item.requirements?.invoiceMode !== 'self_billed') {
    throw new NotFound(`No self-billed invoice preview for payout ${payoutId}`);
  }
  const key = previewKey(payoutId, item.version);
  const rewards = await validatedRewards(item);
  const doc = buildDocument(
    documentInput(item, rewards, 'invoice', null, new Date().toISOString().slice(0, 10)),
  );
  await storeOnce(key, await renderPdf(doc), 'application/pdf');
  return { key };
}
