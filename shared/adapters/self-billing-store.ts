/**
 * Self-billed documents in S3, write-once: a key is written only if it does not exist yet
 * (`If-None-Match: *`, which S3 applies atomically; s3rver ignores it, so the HEAD before it is
 * what keeps a key from being overwritten locally). On the `prod` stage the bucket's Object Lock
 * (governance mode) keeps every version for the retention period as well. A key that already
 * exists is the document: its hash is read back from the stored bytes, never from a re-render.
 */
import { createHash } from 'node:crypto';
import { ENV, requireEnv } from '../config/env.ts';
import { SELF_BILLING_DOWNLOAD_EXPIRES_SECONDS } from '../domain/self-billing.ts';
import { getObject, headObject, presignGetObject, putObject } from './aws/s3.ts';

const bucket = () => requireEnv(ENV.selfBillingBucket);

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function exists(key: string): Promise<boolean> {
  try {
    await headObject({ bucket: bucket(), key });
    return true;
  } catch (error) {
    if (error instanceof Error && (error.name === 'NotFound' || error.name === 'NoSuchKey')) return false;
    throw error;
  }
}

export async function storedSha256(key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await getObject({ bucket: bucket(), key })) hash.update(chunk);
  return hash.digest('hex');
}

/** Stores `bytes` at `key` unless the key exists; answers the SHA-256 of what the key holds. */
export async function storeOnce(
  key: string,
  bytes: Uint8Array,
  contentType: string,
): Promise<{ sha256: string; created: boolean }> {
  if (await exists(key)) return { sha256: await storedSha256(key), created: false };
  try {
    await putObject({ bucket: bucket(), key }, bytes, contentType, {
      'if-none-match': '*',
      'content-md5': createHash('md5').update(bytes).digest('base64'),
    });
  } catch (error) {
    // Another writer got there first (412), or is writing it now (409): theirs is the document.
    if (
      error instanceof Error &&
      (error.name === 'PreconditionFailed' || error.name === 'ConditionalRequestConflict')
    ) {
      return { sha256: await storedSha256(key), created: false };
    }
    throw error;
  }
  return { sha256: sha256Hex(bytes), created: true };
}

export async function presignDocument(key: string, fileName: string, contentType: string) {
  const url = await presignGetObject(
    { bucket: bucket(), key },
    {
      expiresInSeconds: SELF_BILLING_DOWNLOAD_EXPIRES_SECONDS,
      responseContentType: contentType,
      responseContentDisposition: `attachment; filename="${fileName.replace(/"/g, '')}"`,
    },
  );
  return {
    url,
    expiresAt: new Date(Date.now() + SELF_BILLING_DOWNLOAD_EXPIRES_SECONDS * 1000).toISOString(),
  };
}
