/** Invoice objects in S3: presigned POST for uploads, presigned GET for downloads, checks on arrival. */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  NoSuchKey,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  INVOICE_CONTENT_TYPE,
  INVOICE_DOWNLOAD_EXPIRES_SECONDS,
  INVOICE_MAX_BYTES,
  INVOICE_UPLOAD_EXPIRES_SECONDS,
} from '../domain/invoices.ts';
import { deleteUpload, headUpload, presignUpload } from './checked-upload.ts';
import { s3 } from './clients.ts';

function bucket(): string {
  const name = process.env.INVOICE_BUCKET;
  if (!name) throw new Error('Missing environment variable INVOICE_BUCKET');
  return name;
}

export async function presignInvoiceUpload(key: string, fileName: string) {
  return presignUpload({
    bucket: bucket(),
    key,
    contentType: INVOICE_CONTENT_TYPE,
    fileName,
    maxBytes: INVOICE_MAX_BYTES,
    expiresSeconds: INVOICE_UPLOAD_EXPIRES_SECONDS,
  });
}

export async function presignInvoiceDownload(key: string, fileName: string) {
  const url = await getSignedUrl(
    s3(),
    new GetObjectCommand({
      Bucket: bucket(),
      Key: key,
      ResponseContentType: INVOICE_CONTENT_TYPE,
      ResponseContentDisposition: `attachment; filename="${fileName.replace(/"/g, '')}"`,
    }),
    { expiresIn: INVOICE_DOWNLOAD_EXPIRES_SECONDS },
  );
  return { url, expiresAt: new Date(Date.now() + INVOICE_DOWNLOAD_EXPIRES_SECONDS * 1000).toISOString() };
}

export interface InspectedObject {
  exists: boolean;
  size: number;
  head: Buffer;
  sha256: string;
  fileName?: string;
  /**
   * The object's ETag (as HEAD saw it): with the key, it names this object, so a later object at the
   * same key (a replayed presigned POST) is told apart from a redelivered event of this one.
   */
  etag?: string;
  /** The bytes read and hashed (only when the size was within the limit). */
  bytes?: Buffer;
}

/** The ETag of the object at `key` now (HEAD), or undefined when there is none. */
export async function invoiceObjectEtag(key: string): Promise<string | undefined> {
  return (await headUpload(bucket(), key))?.etag;
}

/** Reads the object itself: its size first, then (when small enough) its bytes, hashed as they stream. */
export async function inspectInvoiceObject(key: string): Promise<InspectedObject> {
  const head = await headUpload(bucket(), key);
  if (!head) return { exists: false, size: 0, head: Buffer.alloc(0), sha256: '' };
  const { size, fileName } = head;
  let { etag } = head;
  if (size < 1 || size > INVOICE_MAX_BYTES)
    return { exists: true, size, head: Buffer.alloc(0), sha256: '', fileName, etag };
  let object: GetObjectCommandOutput;
  try {
    object = await s3().send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
  } catch (error) {
    if (error instanceof NoSuchKey) return { exists: false, size: 0, head: Buffer.alloc(0), sha256: '' };
    throw error;
  }
  // Another object replaced it between the HEAD and the GET: its own event checks it; report the one
  // read, by the ETag of the bytes read.
  etag = (object.ETag ?? '').replace(/"/g, '') || etag;
  const body = (object.Body ?? []) as Readable | Buffer[];
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let read = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    hash.update(buffer);
    read += buffer.length;
    // At most INVOICE_MAX_BYTES were announced; a longer stream is judged by its size, not kept.
    if (read <= INVOICE_MAX_BYTES) chunks.push(buffer);
  }
  const bytes = read <= INVOICE_MAX_BYTES ? Buffer.concat(chunks) : undefined;
  return {
    exists: true,
    size: read,
    head: (bytes ?? Buffer.concat(chunks)).subarray(0, 16),
    sha256: hash.digest('hex'),
    fileName,
    etag,
    ...(bytes ? { bytes } : {}),
  };
}

/**
 * Writes the bytes that passed the check to their checked key (a prefix no presigned grant can
 * write: the grants pin their `invoices/…` key). Written from the bytes that were hashed and judged,
 * not copied from the upload key, so what is served is exactly what was checked. Idempotent: the key
 * is derived from the payout and the content.
 */
export async function storeCheckedInvoice(key: string, bytes: Buffer, fileName: string): Promise<void> {
  await s3().send(
    new PutObjectCommand({
      Bucket: bucket(),
      Key: key,
      Body: bytes,
      ContentType: INVOICE_CONTENT_TYPE,
      Metadata: { 'file-name': fileName },
    }),
  );
}

export async function deleteInvoiceObject(key: string): Promise<void> {
  await deleteUpload(bucket(), key);
}
