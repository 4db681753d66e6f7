/** Invoice objects in S3: presigned POST for uploads, presigned GET for downloads, checks on arrival. */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
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
}

/** Reads the object itself: its size first, then (when small enough) its bytes, hashed as they stream. */
export async function inspectInvoiceObject(key: string): Promise<InspectedObject> {
  let size: number;
  let fileName: string | undefined;
  try {
    const head = await s3().send(new HeadObjectCommand({ Bucket: bucket(), Key: key }));
    size = head.ContentLength ?? 0;
    fileName = head.Metadata?.['file-name'];
  } catch (error) {
    // HEAD answers have no body: a missing object is `NotFound` (404), `NoSuchKey` on a GET.
    if (error instanceof NotFound || error instanceof NoSuchKey) {
      return { exists: false, size: 0, head: Buffer.alloc(0), sha256: '' };
    }
    throw error;
  }
  if (size < 1 || size > INVOICE_MAX_BYTES)
    return { exists: true, size, head: Buffer.alloc(0), sha256: '', fileName };
  const object = await s3().send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
  const body = (object.Body ?? []) as Readable | Buffer[];
  const hash = createHash('sha256');
  const first: Uint8Array[] = [];
  let firstLength = 0;
  let read = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
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
  await s3().send(new DeleteObjectCommand({ Bucket: bucket(), Key: key }));
}
