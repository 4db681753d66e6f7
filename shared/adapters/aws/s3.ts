/**
 * The S3 calls of the Lambda code as signed requests (request.ts says why not the SDK client):
 * HeadObject, GetObject (the body streamed), PutObject, DeleteObject, the multipart upload of
 * exports, a presigned GET and a presigned POST.
 *
 * Bodies are sent whole and signed with their SHA-256 (parts are bounded, so they are in memory
 * anyway): no aws-chunked encoding and no extra checksums, which s3rver stores corrupted and which
 * AWS does not require. The small XML answers are read with `xmlElement`, no XML library.
 */
import { createHmac } from 'node:crypto';
import { Sha256 } from '@smithy/core/checksum';
import { createScope, getSigningKey } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, HttpRequest } from '@smithy/types';
import { awsRegion, bucketLocation, formatQuery } from './endpoints.ts';
import { AwsServiceError, xmlElement, xmlError } from './errors.ts';
import { type AwsRequest, awsCredentials, sendSigned, signer } from './request.ts';

export interface ObjectRef {
  bucket: string;
  key: string;
}

function objectRequest(
  ref: ObjectRef,
  operation: string,
  method: AwsRequest['method'],
  extra: Pick<AwsRequest, 'query' | 'headers' | 'body'> = {},
): AwsRequest {
  const location = bucketLocation(ref.bucket, awsRegion());
  return {
    service: 's3',
    operation,
    method,
    origin: location.origin,
    path: location.path(ref.key),
    errors: 'xml',
    ...extra,
  };
}

// ------------------------------------------------------------------ objects

export interface ObjectHead {
  size: number;
  contentType: string | undefined;
  /** `x-amz-meta-*` headers, by their name without the prefix (lower case). */
  metadata: Record<string, string>;
}

const META_PREFIX = 'x-amz-meta-';

/** HeadObject; a missing object throws an error named `NotFound`. */
export async function headObject(ref: ObjectRef): Promise<ObjectHead> {
  const response = await sendSigned(objectRequest(ref, 'HeadObject', 'HEAD'));
  const metadata: Record<string, string> = {};
  for (const [name, value] of response.headers) {
    if (name.startsWith(META_PREFIX)) metadata[name.slice(META_PREFIX.length)] = value;
  }
  return {
    size: Number(response.headers.get('content-length') ?? 0),
    contentType: response.headers.get('content-type') ?? undefined,
    metadata,
  };
}

/** GetObject: the object's bytes as they arrive; a missing object throws `NoSuchKey`. */
export async function getObject(ref: ObjectRef): Promise<AsyncIterable<Uint8Array>> {
  const response = await sendSigned(objectRequest(ref, 'GetObject', 'GET'));
  return response.body ?? emptyStream();
}

async function* emptyStream(): AsyncGenerator<Uint8Array> {}

/** PutObject; `headers` adds e.g. `if-none-match: *` (a conditional write) or `content-md5`. */
export async function putObject(
  ref: ObjectRef,
  body: Uint8Array,
  contentType: string,
  headers: Record<string, string> = {},
): Promise<void> {
  const response = await sendSigned(
    objectRequest(ref, 'PutObject', 'PUT', { headers: { 'content-type': contentType, ...headers }, body }),
  );
  await response.body?.cancel();
}

export async function deleteObject(ref: ObjectRef): Promise<void> {
  const response = await sendSigned(objectRequest(ref, 'DeleteObject', 'DELETE'));
  await response.body?.cancel();
}

// ------------------------------------------------------------------ multipart upload

export interface UploadedPart {
  ETag: string;
  PartNumber: number;
}

/** The answer's text; S3 may answer 200 with an `<Error>` document (CompleteMultipartUpload). */
async function xmlAnswer(response: Response): Promise<string> {
  const text = await response.text();
  const error = xmlError(text);
  if (error) throw new AwsServiceError(error.code, error.message, response.status);
  return text;
}

/** CreateMultipartUpload: the upload id. */
export async function createMultipartUpload(ref: ObjectRef, contentType: string): Promise<string> {
  const response = await sendSigned(
    objectRequest(ref, 'CreateMultipartUpload', 'POST', {
      query: { uploads: '' },
      headers: { 'content-type': contentType },
    }),
  );
  const uploadId = xmlElement(await xmlAnswer(response), 'UploadId');
  if (!uploadId) throw new Error(`S3 gave no upload id for ${ref.key}`);
  return uploadId;
}

/** UploadPart: the part's ETag. */
export async function uploadPart(
  ref: ObjectRef,
  uploadId: string,
  partNumber: number,
  body: Uint8Array,
): Promise<string> {
  const response = await sendSigned(
    objectRequest(ref, 'UploadPart', 'PUT', {
      query: { partNumber: String(partNumber), uploadId },
      body,
    }),
  );
  await response.body?.cancel();
  const etag = response.headers.get('etag');
  if (!etag) throw new Error(`S3 gave no ETag for part ${partNumber} of ${ref.key}`);
  return etag;
}

/** Element text needs only `&` and `<` (and `>` by habit) escaped; ETags keep their quotes. */
function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The CompleteMultipartUpload document. */
export function completeMultipartUploadXml(parts: readonly UploadedPart[]): string {
  const items = parts
    .map(
      (part) =>
        `<Part><ETag>${escapeXml(part.ETag)}</ETag><PartNumber>${part.PartNumber}</PartNumber></Part>`,
    )
    .join('');
  return `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${items}</CompleteMultipartUpload>`;
}

export async function completeMultipartUpload(
  ref: ObjectRef,
  uploadId: string,
  parts: readonly UploadedPart[],
): Promise<void> {
  const response = await sendSigned(
    objectRequest(ref, 'CompleteMultipartUpload', 'POST', {
      query: { uploadId },
      headers: { 'content-type': 'application/xml' },
      body: completeMultipartUploadXml(parts),
    }),
  );
  await xmlAnswer(response);
}

export async function abortMultipartUpload(ref: ObjectRef, uploadId: string): Promise<void> {
  const response = await sendSigned(
    objectRequest(ref, 'AbortMultipartUpload', 'DELETE', { query: { uploadId } }),
  );
  await response.body?.cancel();
}

// ------------------------------------------------------------------ presigned GET

export interface PresignGetOptions {
  expiresInSeconds: number;
  /** `response-content-type`: the Content-Type the download is served with. */
  responseContentType?: string;
  /** `response-content-disposition`, e.g. `attachment; filename="…"`. */
  responseContentDisposition?: string;
}

/** A query-signed GET URL (only `host` signed, payload `UNSIGNED-PAYLOAD`, as the SDK presigner). */
export async function presignGetObject(ref: ObjectRef, options: PresignGetOptions): Promise<string> {
  const region = awsRegion();
  const location = bucketLocation(ref.bucket, region);
  const origin = new URL(location.origin);
  const query: Record<string, string> = {};
  if (options.responseContentDisposition !== undefined)
    query['response-content-disposition'] = options.responseContentDisposition;
  if (options.responseContentType !== undefined) query['response-content-type'] = options.responseContentType;
  const request: HttpRequest = {
    method: 'GET',
    protocol: origin.protocol,
    hostname: origin.hostname,
    port: origin.port ? Number(origin.port) : undefined,
    path: location.path(ref.key),
    query,
    headers: { host: origin.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  };
  const presigned = await signer('s3', region).presign(request, { expiresIn: options.expiresInSeconds });
  const signedQuery: Record<string, string> = {};
  for (const [name, value] of Object.entries(presigned.query ?? {})) {
    if (typeof value === 'string') signedQuery[name] = value;
  }
  return `${location.origin}${request.path}?${formatQuery(signedQuery)}`;
}

// ------------------------------------------------------------------ presigned POST

/** A POST policy condition, as S3 documents them. */
export type PostCondition =
  | Record<string, string>
  | ['eq' | 'starts-with', string, string]
  | ['content-length-range', number, number];

export interface PresignPostInput {
  bucket: string;
  /** The server-chosen key (no `${filename}`). */
  key: string;
  /** Form fields the browser must send as given (Content-Type, metadata). */
  fields: Record<string, string>;
  conditions: PostCondition[];
  expiresInSeconds: number;
}

export interface PresignedPost {
  url: string;
  fields: Record<string, string>;
}

const iso8601 = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The policy and fields of a presigned POST, as `@aws-sdk/s3-presigned-post` builds them: the given
 * fields, `bucket`, the SigV4 fields, each also a condition, then `key`; the policy base64, and
 * `X-Amz-Signature` its HMAC-SHA256 with the SigV4 signing key of the day.
 */
export async function presignedPostFields(
  input: PresignPostInput,
  credentials: AwsCredentialIdentity,
  region: string,
  now: Date,
): Promise<Record<string, string>> {
  const signingDate = iso8601(now).replace(/[-:]/g, '');
  const shortDate = signingDate.slice(0, 8);
  const fields: Record<string, string> = {
    ...input.fields,
    bucket: input.bucket,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${credentials.accessKeyId}/${createScope(shortDate, region, 's3')}`,
    'X-Amz-Date': signingDate,
    ...(credentials.sessionToken ? { 'X-Amz-Security-Token': credentials.sessionToken } : {}),
  };
  const unique = new Set<string>();
  for (const condition of input.conditions) unique.add(JSON.stringify(condition));
  for (const [name, value] of Object.entries(fields)) unique.add(JSON.stringify({ [name]: value }));
  unique.add(JSON.stringify({ key: input.key }));
  const policy = Buffer.from(
    JSON.stringify({
      expiration: iso8601(new Date(now.getTime() + input.expiresInSeconds * 1000)),
      conditions: [...unique].map((condition) => JSON.parse(condition) as PostCondition),
    }),
    'utf8',
  ).toString('base64');
  const signingKey = await getSigningKey(Sha256, credentials, shortDate, region, 's3');
  const signature = createHmac('sha256', signingKey).update(policy, 'utf8').digest('hex');
  return { ...fields, key: input.key, Policy: policy, 'X-Amz-Signature': signature };
}

/** A presigned POST: the bucket's URL and the fields the form sends before the file. */
export async function presignPost(input: PresignPostInput, now: Date = new Date()): Promise<PresignedPost> {
  const region = awsRegion();
  const fields = await presignedPostFields(input, await awsCredentials(), region, now);
  return { url: bucketLocation(input.bucket, region).url, fields };
}
