/**
 * Partner invoices: a presigned POST to upload one PDF straight to S3, the check of each object on
 * arrival (attach or delete, recorded in the history), the manager's download and rejection.
 */
import { randomUUID } from 'node:crypto';
import {
  deleteInvoiceObject,
  inspectInvoiceObject,
  invoiceObjectEtag,
  presignInvoiceDownload,
  presignInvoiceUpload,
  storeCheckedInvoice,
} from '../adapters/invoice-store.ts';
import { logger } from '../adapters/observability.ts';
import { uploadChecked } from '../adapters/payout-history.ts';
import {
  findPayoutItem,
  getPayoutItem,
  newEvent,
  type PayoutItem,
  toPayout,
  updatePayout,
} from '../adapters/payout-store.ts';
import { Conflict, InvalidTransition, NotFound } from '../domain/errors.ts';
import {
  CHECKED_INVOICE_PREFIX,
  checkedInvoiceKey,
  invoiceKey,
  judgeInvoice,
  payoutIdOfInvoiceKey,
  safeFileName,
} from '../domain/invoices.ts';
import type { Actor, Payout } from '../domain/schemas.ts';
import { getPartnerPayoutItem } from './payouts.ts';
import { enforcePayoutRate } from './rate-limits.ts';
import { publishHistory } from './workflow.ts';

const SYSTEM: Actor = { role: 'system', id: 'invoice-check' };

/**
 * Publishes the history after a committed change. A failure never fails the caller: the change
 * stands, and the entries stay unpublished (the `publishedEvents` mark did not move) until the
 * payout's workflow publishes them on its next sync.
 */
async function publishAfterCommit(item: PayoutItem): Promise<void> {
  try {
    await publishHistory(item);
  } catch (error) {
    logger.warn('Publishing the payout history failed; the workflow will publish it', {
      payoutId: item.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/** A presigned POST for one PDF, under the payout's prefix; the payout must be pending. */
export async function requestInvoiceUpload(partnerId: string, payoutId: string, fileName?: string) {
  const item = await getPartnerPayoutItem(partnerId, payoutId);
  await enforcePayoutRate('invoice-upload', payoutId);
  if (item.status !== 'pending') {
    throw new InvalidTransition(`Invoices are uploaded while the payout is pending; it is ${item.status}`);
  }
  const key = invoiceKey(payoutId, randomUUID().replace(/-/g, ''));
  return presignInvoiceUpload(key, safeFileName(fileName));
}

export type InvoiceOutcome = 'attached' | 'rejected' | 'superseded' | 'duplicate' | 'ignored';

/** A conflicting write (another upload checked at the same moment) makes the check run again. */
const MAX_CHECKS = 5;

/** Upload order: by S3's receive time, then key (so two uploads in the same millisecond still order). */
function uploadOrder(uploadedAt: string, key: string): string {
  return `${uploadedAt}|${key}`;
}

/**
 * The latest upload the payout ever attached (kept on the item with each attach, also after a
 * rejection).
 */
function latestAttached(item: PayoutItem): string | undefined {
  return item.latestUpload;
}

/**
 * Checks an uploaded object and attaches it to its payout, or deletes it and records why. Running
 * it twice for the same object changes nothing the second time. S3 delivers its events in no
 * particular order: an upload older (by `uploadedAt`, S3's receive time) than one the payout already
 * attached is superseded, never attached over it.
 */
export async function processUploadedInvoice(
  key: string,
  uploadedAt: string = new Date().toISOString(),
): Promise<InvoiceOutcome> {
  for (let check = 1; ; check++) {
    try {
      return await checkUploadedInvoice(key, uploadedAt);
    } catch (error) {
      if (!(error instanceof Conflict) || check >= MAX_CHECKS) throw error;
    }
  }
}

/**
 * An upload is one object: its key and its ETag. A redelivered event finds the same object (already
 * recorded: `duplicate`); a later object at the same key (the presigned POST replayed until it
 * expires) is a new upload, checked and recorded like the first. What passes the check is written to
 * its checked key (../domain/invoices.ts `checkedInvoiceKey`), which no grant can write, and only
 * that copy is ever served: replacing the object at the upload key cannot swap a checked invoice.
 */
async function checkUploadedInvoice(key: string, uploadedAt: string): Promise<InvoiceOutcome> {
  // The checker's own copies (the bucket notification is on the upload prefix only; never delete them).
  if (key.startsWith(CHECKED_INVOICE_PREFIX)) return 'ignored';
  const payoutId = payoutIdOfInvoiceKey(key);
  if (!payoutId) {
    logger.warn('Object outside the invoice layout; deleting', { key });
    await deleteInvoiceObject(key);
    return 'ignored';
  }
  const item = await findPayoutItem(payoutId);
  if (!item) {
    await deleteInvoiceObject(key);
    return 'ignored';
  }
  const etag = await invoiceObjectEtag(key);
  if (etag === undefined || (await uploadChecked(item, key, etag))) return 'duplicate';
  const object = await inspectInvoiceObject(key);
  if (!object.exists) return 'duplicate';
  // Replaced between the HEAD and the read: check again against the object now there.
  if (object.etag !== etag) throw new Conflict(`The object at ${key} changed while it was checked`);
  const upload = { key, etag };
  const at = new Date().toISOString();
  const latest = latestAttached(item);
  if (latest !== undefined && uploadOrder(uploadedAt, key) < latest) {
    await deleteInvoiceObject(key);
    // Recorded (the object is never checked twice) but not a rejection: nobody needs telling.
    const updated = await updatePayout(item.id, {
      from: [item.status],
      set: {},
      events: [
        newEvent('payout.invoice_superseded', SYSTEM, at, {
          data: { ...upload, uploadedAt, fileName: object.fileName },
        }),
      ],
      at,
    });
    await publishAfterCommit(updated);
    return 'superseded';
  }
  const verdict = judgeInvoice(object.size, object.head);
  const reason = !verdict.ok
    ? verdict.reason
    : item.status !== 'pending'
      ? `the payout is ${item.status}`
      : undefined;
  if (reason || !object.bytes) {
    await deleteInvoiceObject(key);
    await recordRejection(
      item,
      { ...upload, reason: reason ?? 'unreadable file', fileName: object.fileName },
      at,
    );
    return 'rejected';
  }
  const invoice = {
    fileName: safeFileName(object.fileName),
    size: object.size,
    sha256: object.sha256,
    uploadedAt,
  };
  // The checked copy first: the payout never names a copy that does not exist.
  const checkedKey = checkedInvoiceKey(payoutId, object.sha256);
  await storeCheckedInvoice(checkedKey, object.bytes, invoice.fileName);
  try {
    const updated = await updatePayout(payoutId, {
      from: ['pending'],
      // Against the item judged above: an upload attached meanwhile makes this a Conflict, and the
      // check runs again against it.
      version: item.version,
      set: { invoice, invoiceKey: checkedKey, latestUpload: uploadOrder(uploadedAt, key) },
      remove: ['invoiceRejection'],
      events: [
        newEvent('payout.invoice_uploaded', SYSTEM, at, { data: { ...upload, checkedKey, ...invoice } }),
      ],
      at,
    });
    await publishAfterCommit(updated);
    return 'attached';
  } catch (error) {
    if (!(error instanceof InvalidTransition)) throw error;
    // The payout moved on between the read and the write.
    await deleteInvoiceObject(key);
    const current = await getPayoutItem(payoutId);
    await recordRejection(
      current,
      { ...upload, reason: `the payout is ${current.status}`, fileName: object.fileName },
      at,
    );
    return 'rejected';
  }
}

async function recordRejection(
  item: PayoutItem,
  rejection: { key: string; etag?: string; reason: string; fileName?: string | undefined },
  at: string,
): Promise<void> {
  const updated = await updatePayout(item.id, {
    from: [item.status],
    set: {
      invoiceRejection: {
        reason: rejection.reason,
        ...(rejection.fileName ? { fileName: safeFileName(rejection.fileName) } : {}),
        by: 'check',
        at,
      },
    },
    events: [newEvent('payout.invoice_rejected', SYSTEM, at, { data: { ...rejection } })],
    at,
  });
  await publishAfterCommit(updated);
}

/** The attached invoice (its checked copy only) with a download link valid for five minutes. */
export async function getInvoiceDownload(payoutId: string) {
  const item = await getPayoutItem(payoutId);
  if (!item.invoice || !item.invoiceKey?.startsWith(CHECKED_INVOICE_PREFIX))
    throw new NotFound(`Payout ${payoutId} has no invoice`);
  const link = await presignInvoiceDownload(item.invoiceKey, item.invoice.fileName);
  return { ...link, ...item.invoice };
}

/** The manager refuses the attached invoice while the payout is pending; the partner is told why. */
export async function rejectInvoice(payoutId: string, reason: string, actor: Actor): Promise<Payout> {
  const item = await getPayoutItem(payoutId);
  if (item.status !== 'pending')
    throw new InvalidTransition(`Invoices are rejected while pending; it is ${item.status}`);
  if (!item.invoice) throw new NotFound(`Payout ${payoutId} has no invoice`);
  const at = new Date().toISOString();
  const updated = await updatePayout(payoutId, {
    from: ['pending'],
    version: item.version,
    remove: ['invoice', 'invoiceKey'],
    set: { invoiceRejection: { reason, fileName: item.invoice.fileName, by: 'manager', at } },
    events: [
      newEvent('payout.invoice_rejected', actor, at, {
        data: { reason, key: item.invoiceKey, fileName: item.invoice.fileName, sha256: item.invoice.sha256 },
      }),
    ],
    at,
  });
  await publishAfterCommit(updated);
  return toPayout(updated);
}
