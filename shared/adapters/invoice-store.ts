/** Invoice objects in S3: presigned POST for uploads, presigned GET for downloads, checks on arrival. */
import { createHash } from 'node:crypto';
import {
  INVOICE_CONTENT_TYPE,
  INVOICE_DOWNLOAD_EXPIRES_SECONDS,
  INVOICE_MAX_BYTES,
  INVOICE_UPLOAD_EXPIRES_SECONDS,
} from '../domain/invoices.ts';
import { deleteObject, getObject, headObject, presignGetObject, presignPost } from './aws/s3.ts';

function bucket(): string {
  const name = process.env.INVOICE_BUCKET;
  if (!name) throw new Error('Missing environment variable INVOICE_BUCKET');
  return name;
}

export async function presignInvoiceUpload(key: string, fileName: string) {
  const post = await presignPost({
    bucket: bucket(),
    key,
    fields: { 'Content-Type': INVOICE_CONTENT_TYPE, 'x-amz-meta-file-name': fileName },
    conditions: [
      ['content-length-range', 1, INVOICE_MAX_BYTES],
      ['eq', '$Content-Type', INVOICE_CONTENT_TYPE],
      ['eq', '$x-amz-meta-file-name', fileName],
    ],
    expiresInSeconds: INVOICE_UPLOAD_EXPIRES_SECONDS,
  });
  return {
    url: post.url,
    fields: post.fields,
    expiresAt: new Date(Date.now() + INVOICE_UPLOAD_EXPIRES_SECONDS * 1000).toISOString(),
    maxBytes: INVOICE_MAX_BYTES,
  };
}

export async function presignInvoiceDownload(key: string, fileName: string) {
  const url = await presignGetObject(
    { bucket: bucket(), key },
    {
      expiresInSeconds: INVOICE_DOWNLOAD_EXPIRES_SECONDS,
      responseContentType: INVOICE_CONTENT_TYPE,
      responseContentDisposition: `attachment; filename="${fileName.replace(/"/g, '')}"`,
    },
  );
  return { url, expiresAt: new Date(Date.now() + INVOICE_DOWNLOAD_EXPIRES_SECONDS * 1000).toISOString() };
}

export interface InspectedObject {
  exists: boolean;
  size: number;
  head: Buffer;
  sha256: string;
  fileName?: string;
}

/** Reads the object itself: its size first, then (when small enough) its bytes, hashed as they stream. */
export async function inspectInvoiceObject(key: string): Promise<InspectedObject> {
  let size: number;
  let fileName: string | undefined;
  try {
    const head = await headObject({ bucket: bucket(), key });
    size = head.size;
    fileName = head.metadata['file-name'];
  } catch (error) {
    if (error instanceof Error && (error.name === 'NotFound' || error.name === 'NoSuchKey')) {
      return { exists: false, size: 0, head: Buffer.alloc(0), sha256: '' };
    }
    throw error;
  }
  if (size < 1 || size > INVOICE_MAX_BYTES)
    return { exists: true, size, head: Buffer.alloc(0), sha256: '', fileName };
  const body = await getObject({ bucket: bucket(), key });
  const hash = createHash('sha256');
  const first: Uint8Array[] = [];
  let firstLength = 0;
  let read = 0;
  for await (const buffer of body) {
    hash.update(buffer);
    read += buffer.length;
    if (firstLength < 16) {
      first.push(buffer.subarray(0, 16 - firstLength));
      firstLength += Math.min(buffer.length, 16 - firstLength);
    }
  }
  return { exists: true, size: read, head: Buffer.concat(first), sha256: hash.digest('hex'), fileName };
}

export async function deleteInvoiceObject(key: string): Promise<void> {
  await deleteObject({ bucket: bucket(), key });
}
