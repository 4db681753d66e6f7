/**
 * Partner invoices: a presigned POST to upload one PDF straight to S3, the check of each object on
 * arrival (attach or delete, recorded in the history), the manager's download and rejection.
 */
import { randomUUID } from 'node:crypto';
import {
  deleteInvoiceObject,
  inspectInvoiceObject,
  presignInvoiceDownload,
  presignInvoiceUpload,
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
import { invoiceKey, judgeInvoice, payoutIdOfInvoiceKey, safeFileName } from '../domain/invoices.ts';
import type { Actor, Payout } from '../domain/schemas.ts';
import { getPartnerPayoutItem } from './payouts.ts';
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

async function checkUploadedInvoice(key: string, uploadedAt: string): Promise<InvoiceOutcome> {
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
  if (item.invoiceKey === key || (await uploadChecked(item, key))) return 'duplicate';
  const object = await inspectInvoiceObject(key);
  if (!object.exists) return 'duplicate';
  const at = new Date().toISOString();
  const latest = latestAttached(item);
  if (latest !== undefined && uploadOrder(uploadedAt, key) < latest) {
    await deleteInvoiceObject(key);
    // Recorded (the key is never checked twice) but not a rejection: nobody needs telling.
    const updated = await updatePayout(item.id, {
      from: [item.status],
      set: {},
      events: [
        newEvent('payout.invoice_superseded', SYSTEM, at, {
          data: { key, uploadedAt, fileName: object.fileName },
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
  if (reason) {
    await deleteInvoiceObject(key);
    await recordRejection(item, { key, reason, fileName: object.fileName }, at);
    return 'rejected';
  }
  const invoice = {
    fileName: safeFileName(object.fileName),
    size: object.size,
    sha256: object.sha256,
    uploadedAt,
  };
  try {
    const updated = await updatePayout(payoutId, {
      from: ['pending'],
      // Against the item judged above: an upload attached meanwhile makes this a Conflict, and the
      // check runs again against it.
      version: item.version,
      set: { invoice, invoiceKey: key, latestUpload: uploadOrder(uploadedAt, key) },
      remove: ['invoiceRejection'],
      events: [newEvent('payout.invoice_uploaded', SYSTEM, at, { data: { key, ...invoice } })],
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
      { key, reason: `the payout is ${current.status}`, fileName: object.fileName },
      at,
    );
    return 'rejected';
  }
}

async function recordRejection(
  item: PayoutItem,
  rejection: { key: string; reason: string; fileName?: string | undefined },
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

/** The attached invoice with a download link valid for five minutes. */
export async function getInvoiceDownload(payoutId: string) {
  const item = await getPayoutItem(payoutId);
  if (!item.invoice || !item.invoiceKey) throw new NotFound(`Payout ${payoutId} has no invoice`);
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
