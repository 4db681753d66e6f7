/** Invoice objects in S3: presigned POST for uploads, presigned GET for downloads, checks on arrival. */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  INVOICE_CONTENT_TYPE,
  INVOICE_DOWNLOAD_EXPIRES_SECONDS,
  INVOICE_MAX_BYTES,
  INVOICE_UPLOAD_EXPIRES_SECONDS,
} from '../domain/invoices.ts';
import { s3 } from './clients.ts';

function bucket(): string {
  const name = process.env.INVOICE_BUCKET;
  if (!name) throw new Error('Missing environment variable INVOICE_BUCKET');
  return name;
}

export async function presignInvoiceUpload(key: string, fileName: string) {
  const post = await createPresignedPost(s3(), {
    Bucket: bucket(),
    Key: key,
    Fields: { 'Content-Type': INVOICE_CONTENT_TYPE, 'x-amz-meta-file-name': fileName },
    Conditions: [
      ['content-length-range', 1, INVOICE_MAX_BYTES],
      ['eq', '$Content-Type', INVOICE_CONTENT_TYPE],
      ['eq', '$x-amz-meta-file-name', fileName],
    ],
    Expires: INVOICE_UPLOAD_EXPIRES_SECONDS,
  });
  return {
    url: post.url,
    fields: post.fields,
    expiresAt: new Date(Date.now() + INVOICE_UPLOAD_EXPIRES_SECONDS * 1000).toISOString(),
    maxBytes: INVOICE_MAX_BYTES,
  };
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

/** The ETag without its quotes. */
const bareEtag = (etag: string | undefined) => (etag ?? '').replace(/"/g, '');

/** The ETag of the object at `key` now (HEAD), or undefined when there is none. */
export async function invoiceObjectEtag(key: string): Promise<string | undefined> {
  try {
    const head = await s3().send(new HeadObjectCommand({ Bucket: bucket(), Key: key }));
    return bareEtag(head.ETag);
  } catch (error) {
    if (error instanceof NotFound || error instanceof NoSuchKey) return undefined;
    throw error;
  }
}

/** Reads the object itself: its size first, then (when small enough) its bytes, hashed as they stream. */
export async function inspectInvoiceObject(key: string): Promise<InspectedObject> {
  let size: number;
  let fileName: string | undefined;
  let etag: string;
  try {
    const head = await s3().send(new HeadObjectCommand({ Bucket: bucket(), Key: key }));
    size = head.ContentLength ?? 0;
    fileName = head.Metadata?.['file-name'];
    etag = bareEtag(head.ETag);
  } catch (error) {
    // HEAD answers have no body: a missing object is `NotFound` (404), `NoSuchKey` on a GET.
    if (error instanceof NotFound || error instanceof NoSuchKey) {
      return { exists: false, size: 0, head: Buffer.alloc(0), sha256: '' };
    }
    throw error;
  }
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
  etag = bareEtag(object.ETag) || etag;
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
  await s3().send(new DeleteObjectCommand({ Bucket: bucket(), Key: key }));
}
