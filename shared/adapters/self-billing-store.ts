/**
 * Self-billed documents in S3, write-once: a key is written only if it does not exist yet
 * (`If-None-Match: *`, which S3 applies atomically; s3rver ignores it, so the HEAD before it is
 * what keeps a key from being overwritten locally). On the `prod` stage the bucket's Object Lock
 * (governance mode) keeps every version for the retention period as well. A key that already
 * exists is the document: its hash is read back from the stored bytes, never from a re-render.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ENV, requireEnv } from '../config/env.ts';
import { SELF_BILLING_DOWNLOAD_EXPIRES_SECONDS } from '../domain/self-billing.ts';
import { s3 } from './clients.ts';

const bucket = () => requireEnv(ENV.selfBillingBucket);

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function exists(key: string): Promise<boolean> {
  try {
    await s3().send(new HeadObjectCommand({ Bucket: bucket(), Key: key }));
    return true;
  } catch (error) {
    if (error instanceof NotFound || error instanceof NoSuchKey) return false;
    throw error;
  }
}

/** The stored bytes of a key. */
export async function readDocument(key: string): Promise<Buffer> {
  const object = await s3().send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
  const chunks: Buffer[] = [];
  for await (const chunk of object.Body as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function storedSha256(key: string): Promise<string> {
  return createHash('sha256')
    .update(await readDocument(key))
    .digest('hex');
}

/**
 * Stores `bytes` at `key` unless the key exists; answers the SHA-256 of what the key holds.
 *
 * `fresh`: the caller has just won the document number in this run, so no one can have stored
 * anything under it before; the HEAD is skipped and the conditional put alone guards the key. (The
 * only other writer of that key would be a concurrent re-run of the same document, which renders
 * the same bytes; on S3 `If-None-Match` lets one of them in, on s3rver the same bytes may land twice.)
 */
export async function storeOnce(
  key: string,
  bytes: Uint8Array,
  contentType: string,
  options: { fresh?: boolean } = {},
): Promise<{ sha256: string; created: boolean }> {
  if (!options.fresh && (await exists(key))) return { sha256: await storedSha256(key), created: false };
  try {
    await s3().send(
      new PutObjectCommand({
        Bucket: bucket(),
        Key: key,
        Body: bytes,
        ContentType: contentType,
        IfNoneMatch: '*',
        // Object Lock buckets want an integrity header on every write.
        ContentMD5: createHash('md5').update(bytes).digest('base64'),
      }),
    );
  } catch (error) {
    // Another writer got there first (412), or is writing it now (409): theirs is the document.
    if (
      error instanceof S3ServiceException &&
      (error.name === 'PreconditionFailed' || error.name === 'ConditionalRequestConflict')
    ) {
      return { sha256: await storedSha256(key), created: false };
    }
    throw error;
  }
  return { sha256: sha256Hex(bytes), created: true };
}

export async function presignDocument(key: string, fileName: string, contentType: string) {
  const url = await getSignedUrl(
    s3(),
    new GetObjectCommand({
      Bucket: bucket(),
      Key: key,
      ResponseContentType: contentType,
      ResponseContentDisposition: `attachment; filename="${fileName.replace(/"/g, '')}"`,
    }),
    { expiresIn: SELF_BILLING_DOWNLOAD_EXPIRES_SECONDS },
  );
  return {
    url,
    expiresAt: new Date(Date.now() + SELF_BILLING_DOWNLOAD_EXPIRES_SECONDS * 1000).toISOString(),
  };
}
