/** Invoice objects in S3: presigned POST for uploads, presigned GET for downloads, checks on arrival. */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
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
  const { client } = await s3();
  const { createPresignedPost } = await import('@aws-sdk/s3-presigned-post');
  const post = await createPresignedPost(client, {
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
  const { client, sdk } = await s3();
  const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
  const url = await getSignedUrl(
    client,
    new sdk.GetObjectCommand({
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
  const { client, sdk } = await s3();
  let size: number;
  let fileName: string | undefined;
  try {
    const head = await client.send(new sdk.HeadObjectCommand({ Bucket: bucket(), Key: key }));
    size = head.ContentLength ?? 0;
    fileName = head.Metadata?.['file-name'];
  } catch (error) {
    if (error instanceof Error && (error.name === 'NotFound' || error.name === 'NoSuchKey')) {
      return { exists: false, size: 0, head: Buffer.alloc(0), sha256: '' };
    }
    throw error;
  }
  if (size < 1 || size > INVOICE_MAX_BYTES)
    return { exists: true, size, head: Buffer.alloc(0), sha256: '', fileName };
  const object = await client.send(new sdk.GetObjectCommand({ Bucket: bucket(), Key: key }));
  const hash = createHash('sha256');
  const first: Buffer[] = [];
  let firstLength = 0;
  let read = 0;
  for await (const chunk of object.Body as Readable) {
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
  const { client, sdk } = await s3();
  await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket(), Key: key }));
}
