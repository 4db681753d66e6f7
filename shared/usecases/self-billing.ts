/**
 * Self-billed documents through the API: the downloads (manager and partner) and the partner's
 * preview. No PDF library here: the preview is rendered by the self-billing function, invoked
 * synchronously, so the API functions start as fast as before.
 */
import { invokeSync } from '../adapters/clients.ts';
import type { PayoutItem } from '../adapters/payout-store.ts';
import { presignDocument } from '../adapters/self-billing-store.ts';
import { ENV, requireEnv } from '../config/env.ts';
import { InvalidTransition } from '../domain/errors.ts';
import { documentKey } from '../domain/self-billing.ts';
import type { SelfBillingAction } from '../domain/workflow-actions.ts';

async function links(partnerId: string, number: string) {
  const [pdf, xml] = await Promise.all([
    presignDocument(documentKey(partnerId, number, 'pdf'), `${number}.pdf`, 'application/pdf'),
    presignDocument(documentKey(partnerId, number, 'xml'), `${number}.xml`, 'application/xml'),
  ]);
  return { pdf, xml };
}

/** The issued invoice (and credit note) of a payout, as presigned downloads; 404 until issued. */
export async function selfBilledInvoiceDownload(item: PayoutItem) {
  const invoice = item.selfBilledInvoice;
  if (!invoice) {
    throw new InvalidTransition(`No self-billed invoice has been issued for payout ${item.id} (yet)`, {
      data: { status: item.status, invoiceMode: item.requirements?.invoiceMode ?? 'none' },
    });
  }
  const creditNote = item.selfBilledCreditNote;
  return {
    number: invoice.number,
    issuedAt: invoice.issuedAt,
    ...(await links(item.partnerId, invoice.number)),
    ...(creditNote
      ? {
          creditNote: {
            number: creditNote.number,
            issuedAt: creditNote.issuedAt,
            ...(await links(item.partnerId, creditNote.number)),
          },
        }
      : {}),
  };
}

/** The preview of a pending self-billed payout (no number, marked as a preview). */
export async function selfBilledInvoicePreview(item: PayoutItem) {
  if (item.requirements?.invoiceMode !== 'self_billed') {
    throw new InvalidTransition(`Payout ${item.id} is not invoiced by self-billing`, {
      data: { invoiceMode: item.requirements?.invoiceMode ?? 'none' },
    });
  }
  if (item.status !== 'pending') {
    throw new InvalidTransition(
      `The preview is shown while the payout is pending; it is ${item.status}${item.selfBilledInvoice ? ': download the issued invoice' : ''}`,
      { data: { status: item.status } },
    );
  }
  const { key } = await invokeSync<{ key: string }>(requireEnv(ENV.selfBillingFunctionName), {
    action: 'preview',
    payoutId: item.id,
  } satisfies SelfBillingAction);
  return presignDocument(key, `preview-${item.id}.pdf`, 'application/pdf');
}
