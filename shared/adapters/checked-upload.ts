/**
 * The "checked upload" shape shared by invoices and bank reports: the browser POSTs one file straight
 * to S3 with a presigned POST whose policy pins the key, the type, the size and the file-name label;
 * an ObjectCreated event then has the object checked (HEAD first, so a missing or oversized object is
 * judged without reading it) and deleted when refused. Each feature's store names its bucket and
 * limits; the rules of what passes stay in its domain module.
 */
import { DeleteObjectCommand, HeadObjectCommand, NoSuchKey, NotFound } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { s3 } from './clients.ts';

export interface UploadPolicy {
  bucket: string;
  key: string;
  contentType: string;
  /** A label only (the server chose the key); pinned so the form cannot change it. */
  fileName: string;
  maxBytes: number;
  expiresSeconds: number;
}

/** What the API answers: the form's URL and fields, when it expires, the size limit. */
export async function presignUpload(policy: UploadPolicy) {
  const post = await createPresignedPost(s3(), {
    Bucket: policy.bucket,
    Key: policy.key,
    Fields: { 'Content-Type': policy.contentType, 'x-amz-meta-file-name': policy.fileName },
    Conditions: [
      ['content-length-range', 1, policy.maxBytes],
      ['eq', '$Content-Type', policy.contentType],
      ['eq', '$x-amz-meta-file-name', policy.fileName],
    ],
    Expires: policy.expiresSeconds,
  });
  return {
    url: post.url,
    fields: post.fields,
    expiresAt: new Date(Date.now() + policy.expiresSeconds * 1000).toISOString(),
    maxBytes: policy.maxBytes,
  };
}

export interface UploadedHead {
  size: number;
  /** Without quotes. */
  etag: string;
  fileName?: string;
}

/** HEAD of an uploaded object, or undefined when it is gone. */
export async function headUpload(bucket: string, key: string): Promise<UploadedHead | undefined> {
  try {
    const head = await s3().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const fileName = head.Metadata?.['file-name'];
    return {
      size: head.ContentLength ?? 0,
      etag: (head.ETag ?? '').replace(/"/g, ''),
      ...(fileName !== undefined ? { fileName } : {}),
    };
  } catch (error) {
    // HEAD answers have no body: a missing object is `NotFound` (404), `NoSuchKey` on a GET.
    if (error instanceof NotFound || error instanceof NoSuchKey) return undefined;
    throw error;
  }
}

export async function deleteUpload(bucket: string, key: string): Promise<void> {
  await s3().send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}
