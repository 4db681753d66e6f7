/**
 * Signed HTTP calls to AWS, in place of the SDK clients.
 *
 * Why this exists: every Lambda bundle must stay within 1.5× the size and init time of a bundle that
 * only creates a DynamoDBDocumentClient (`npm run bench:coldstart`). The S3, Step Functions,
 * EventBridge, Lambda and SES v2 clients (and the S3 presigners) carry ~300 KiB of service models,
 * middleware, checksums and XML for the ten or so calls this code makes. The calls are built here
 * only from what the DynamoDB client bundles anyway: SigV4 (`@smithy/signature-v4` with `Sha256`
 * from `@smithy/core/checksum`) and the default credential chain (`@aws-sdk/credential-provider-node`),
 * sent with the global `fetch`. They cost next to nothing in a bundle.
 *
 * Each call resolves its endpoint as the SDK does (endpoints.ts), is signed, sent, and retried up to
 * three attempts, with full-jitter backoff, on network errors, 5xx, 429 and throttling; an
 * unsuccessful answer becomes an `AwsServiceError` named by its code (errors.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, HttpRequest } from '@smithy/types';
import { type AwsService, awsRegion, formatQuery, SERVICES, serviceEndpoint } from './endpoints.ts';
import {
  type ErrorProtocol,
  errorFromResponse,
  isRetryable,
  MAX_ATTEMPTS,
  NetworkError,
  retryDelayMs,
} from './errors.ts';

// ------------------------------------------------------------------ credentials

/** Credentials are refreshed this long before they expire. */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

let provider: (() => Promise<AwsCredentialIdentity>) | undefined;
let current: AwsCredentialIdentity | undefined;
let loading: Promise<AwsCredentialIdentity> | undefined;

/** Whether credentials must be fetched again (they expire within the refresh margin). */
export function credentialsExpired(credentials: AwsCredentialIdentity, now: number): boolean {
  return credentials.expiration !== undefined && credentials.expiration.getTime() - now < REFRESH_MARGIN_MS;
}

/** The default provider chain's credentials, kept for the container until they near expiry. */
export async function awsCredentials(): Promise<AwsCredentialIdentity> {
  if (current && !credentialsExpired(current, Date.now())) return current;
  loading ??= loadCredentials().finally(() => {
    loading = undefined;
  });
  return loading;
}

async function loadCredentials(): Promise<AwsCredentialIdentity> {
  provider ??= defaultProvider();
  current = await provider();
  return current;
}

// ------------------------------------------------------------------ signing

const signers = new Map<string, SignatureV4>();

/** One signer per service and region (it caches its signing keys). S3 paths are signed as sent. */
export function signer(service: AwsService, region: string): SignatureV4 {
  const key = `${service}/${region}`;
  let found = signers.get(key);
  if (!found) {
    found = new SignatureV4({
      service: SERVICES[service].signingName,
      region,
      credentials: awsCredentials,
      sha256: Sha256,
      uriEscapePath: service !== 's3',
      // S3 wants `x-amz-content-sha256` on every header-signed request.
      applyChecksum: service === 's3',
    });
    signers.set(key, found);
  }
  return found;
}

// ------------------------------------------------------------------ observing (tests, benchmarks)

export interface AwsCall {
  service: AwsService;
  /** The API operation: `PutObject`, `StartExecution`, … */
  operation: string;
}

/** Called as a call starts (retries included); the function it returns, when the call is over. */
export type AwsCallObserver = (call: AwsCall) => (() => void) | undefined;

let observer: AwsCallObserver | undefined;

/** Lets tests and benchmarks count or time the calls; `undefined` stops observing. */
export function observeAwsCalls(next: AwsCallObserver | undefined): void {
  observer = next;
}

// ------------------------------------------------------------------ sending

export interface AwsRequest extends AwsCall {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  /** `scheme://host[:port]`. */
  origin: string;
  /** The path as sent, already escaped. */
  path: string;
  query?: Readonly<Record<string, string>>;
  headers?: Readonly<Record<string, string>>;
  /** Bodies are in memory, so that a retry can send them again. */
  body?: string | Uint8Array;
  /** How the service writes its errors: S3 in XML, the others in JSON. */
  errors: ErrorProtocol;
}

/**
 * Signs and sends the request, retrying what may succeed later; resolves with the successful (2xx)
 * response, its body unread (a stream for S3 downloads).
 */
export async function sendSigned(request: AwsRequest): Promise<Response> {
  const done = observer?.({ service: request.service, operation: request.operation });
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await sendOnce(request);
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS || !isRetryable(error)) throw error;
        await sleep(retryDelayMs(attempt));
      }
    }
  } finally {
    done?.();
  }
}

/**
 * An attempt that has no response headers after this long is abandoned (and retried, as a network
 * error): the SDK's socket timeout, so a stalled connection cannot hold a function to its own
 * timeout. It does not limit reading the body (a streamed download).
 */
export const FIRST_BYTE_TIMEOUT_MS = 20_000;
let firstByteTimeoutMs = FIRST_BYTE_TIMEOUT_MS;

/** Shortens the first-byte timeout (tests); `undefined` restores the default. */
export function setFirstByteTimeout(ms: number | undefined): void {
  firstByteTimeoutMs = ms ?? FIRST_BYTE_TIMEOUT_MS;
}

async function sendOnce(request: AwsRequest): Promise<Response> {
  const origin = new URL(request.origin);
  const unsigned: HttpRequest = {
    method: request.method,
    protocol: origin.protocol,
    hostname: origin.hostname,
    port: origin.port ? Number(origin.port) : undefined,
    path: request.path,
    query: { ...request.query },
    headers: { ...request.headers, host: origin.host },
    body: request.body,
  };
  const signed = await signer(request.service, awsRegion()).sign(unsigned);
  // fetch sets Host itself, from the URL: the value signed above.
  const { host: _host, ...headers } = signed.headers;
  let response: Response;
  const abort = new AbortController();
  const timeoutMs = firstByteTimeoutMs;
  const timer = setTimeout(() => abort.abort(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
  try {
    response = await fetch(
      `${origin.origin}${request.path}${request.query ? `?${formatQuery(request.query)}` : ''}`,
      {
        method: request.method,
        headers,
        body: request.body ?? null,
        signal: abort.signal,
      },
    );
  } catch (error) {
    const reason = error instanceof Error ? (error.cause ?? error).toString() : String(error);
    throw new NetworkError(`${request.operation}: ${reason}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
  if (response.ok) return response;
  const text = request.method === 'HEAD' ? '' : await response.text().catch(() => '');
  throw errorFromResponse(request.errors, response.status, response.headers, text);
}

/** The service's origin and base path (a configured endpoint may have one). */
export function serviceTarget(service: AwsService): { origin: string; basePath: string } {
  const endpoint = serviceEndpoint(service, awsRegion());
  return { origin: endpoint.origin, basePath: endpoint.pathname.replace(/\/+$/, '') };
}

/**
 * An awsJson1_0 / awsJson1_1 call (Step Functions, EventBridge): `POST /` with
 * `X-Amz-Target: <targetPrefix>.<operation>`; resolves with the parsed answer.
 */
export async function callJsonRpc<Output>(
  service: AwsService,
  protocol: { targetPrefix: string; version: '1.0' | '1.1' },
  operation: string,
  input: object,
): Promise<Output> {
  const { origin, basePath } = serviceTarget(service);
  const response = await sendSigned({
    service,
    operation,
    method: 'POST',
    origin,
    path: `${basePath}/`,
    headers: {
      'content-type': `application/x-amz-json-${protocol.version}`,
      'x-amz-target': `${protocol.targetPrefix}.${operation}`,
    },
    body: JSON.stringify(input),
    errors: 'json',
  });
  const text = await response.text();
  return (text === '' ? {} : JSON.parse(text)) as Output;
}
