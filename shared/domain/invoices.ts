/** Invoice rules: what a partner may upload, where it is stored, and how a file is judged. */
export const INVOICE_MAX_BYTES = 10 * 1024 * 1024;
export const INVOICE_CONTENT_TYPE = 'application/pdf';
export const INVOICE_UPLOAD_EXPIRES_SECONDS = 15 * 60;
export const INVOICE_DOWNLOAD_EXPIRES_SECONDS = 5 * 60;
export const INVOICE_PREFIX = 'invoices/';
const PDF_MAGIC = Buffer.from('%PDF-', 'latin1');

/** The server chooses the key: under the payout's prefix, never from the client's file name. */
export function invoiceKey(payoutId: string, uploadId: string): string {
  return `${INVOICE_PREFIX}${payoutId}/${uploadId}.pdf`;
}

export function payoutIdOfInvoiceKey(key: string): string | undefined {
  return /^invoices\/(po_[0-9A-HJKMNP-TV-Z]{26})\/[A-Za-z0-9_-]+\.pdf$/.exec(key)?.[1];
}

/** A display name safe for headers and file systems: the client's name is a label, nothing more. */
export function safeFileName(name: string | undefined): string {
  const cleaned = (name ?? '')
    .normalize('NFKD')
    .replace(/[^\w.\- ]+/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 100);
  if (!cleaned) return 'invoice.pdf';
  return cleaned.toLowerCase().endsWith('.pdf') ? cleaned : `${cleaned}.pdf`;
}

export type InvoiceVerdict = { ok: true } | { ok: false; reason: string };

/** Judges an uploaded object by itself (the local emulator enforces no POST policy). */
export function judgeInvoice(size: number, head: Buffer): InvoiceVerdict {
  if (size < 1) return { ok: false, reason: 'empty file' };
  if (size > INVOICE_MAX_BYTES) return { ok: false, reason: `larger than ${INVOICE_MAX_BYTES} bytes` };
  if (head.length < PDF_MAGIC.length || !head.subarray(0, PDF_MAGIC.length).equals(PDF_MAGIC)) {
    return { ok: false, reason: 'not a PDF file' };
  }
  return { ok: true };
}

/**
 * Where a checked invoice is kept and served from: a prefix no upload grant can write (each grant
 * pins its `invoices/…` key), named by payout and content, so a replayed POST to the upload key
 * cannot change what was checked.
 */
export const CHECKED_INVOICE_PREFIX = 'checked/';

export function checkedInvoiceKey(payoutId: string, sha256: string): string {
  return `${CHECKED_INVOICE_PREFIX}${payoutId}/${sha256}.pdf`;
}

export function isCheckedInvoiceKey(key: string): boolean {
  return /^checked\/po_[0-9A-HJKMNP-TV-Z]{26}\/[0-9a-f]{64}\.pdf$/.test(key);
}
