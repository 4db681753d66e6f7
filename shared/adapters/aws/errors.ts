/**
 * AWS service errors, and which failures deserve another attempt.
 *
 * A failed call becomes an `AwsServiceError` whose `name` is the service's error code, as the SDK
 * names its exceptions (`ExecutionAlreadyExists`, `TaskTimedOut`, `InvalidToken`, `NoSuchKey`, and
 * `NotFound` for a HEAD that found nothing), because callers branch on `error.name`.
 */

export class AwsServiceError extends Error {
  /** HTTP status of the answer. */
  readonly status: number;
  readonly requestId: string | undefined;

  constructor(code: string, message: string, status: number, requestId?: string) {
    super(message || code);
    this.name = code;
    this.status = status;
    this.requestId = requestId;
  }
}

/** Reads response headers by (case-insensitive) name: `Headers` and plain test doubles alike. */
export interface HeaderReader {
  get(name: string): string | null;
}

/** `aws.protocols#…` codes may come as `namespace#Code` and/or `Code:http://…`: keeps `Code`. */
export function sanitizeErrorCode(raw: string): string {
  let code = raw.trim();
  const colon = code.indexOf(':');
  if (colon >= 0) code = code.slice(0, colon);
  const hash = code.lastIndexOf('#');
  if (hash >= 0) code = code.slice(hash + 1);
  return code;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The error code of a JSON-protocol answer (awsJson1_0/1_1, restJson1), in the SDK's order: the
 * `x-amzn-errortype` header, then the body's `code`, then its `__type`.
 */
export function jsonErrorCode(headers: HeaderReader, body: unknown): string | undefined {
  const candidates = [
    headers.get('x-amzn-errortype'),
    isRecord(body) ? body.code : undefined,
    isRecord(body) ? body.Code : undefined,
    isRecord(body) ? body.__type : undefined,
  ];
  for (const candidate of candidates) {
    if (typeof candidate === 'string' && candidate.trim() !== '') return sanitizeErrorCode(candidate);
  }
  return undefined;
}

function jsonErrorMessage(body: unknown): string {
  if (!isRecord(body)) return '';
  const message = body.message ?? body.Message ?? body.errorMessage;
  return typeof message === 'string' ? message : '';
}

/** One element's text in a small XML answer of S3 (`UploadId`, `Code`, …); no XML library needed. */
export function xmlElement(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return match?.[1] === undefined ? undefined : decodeXmlText(match[1]);
}

/** The five predefined entities and numeric references: all S3 puts in its small documents. */
export function decodeXmlText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[entity] ?? '';
  });
}

/** S3's `<Error><Code>…</Code><Message>…</Message></Error>`, or nothing. */
export function xmlError(xml: string): { code: string; message: string } | undefined {
  const error = /<Error>([\s\S]*?)<\/Error>/.exec(xml)?.[1];
  if (error === undefined) return undefined;
  const code = xmlElement(error, 'Code');
  if (!code) return undefined;
  return { code, message: xmlElement(error, 'Message') ?? '' };
}

const STATUS_CODES: Record<number, string> = {
  301: 'PermanentRedirect',
  304: 'NotModified',
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  412: 'PreconditionFailed',
  416: 'InvalidRange',
};

/** The name of an error answered without a body (HEAD): `NotFound` for 404, as the SDK has it. */
export function statusErrorCode(status: number): string {
  return STATUS_CODES[status] ?? (status >= 500 ? 'ServiceUnavailable' : 'UnknownError');
}

export type ErrorProtocol = 'json' | 'xml';

/** The error an unsuccessful answer stands for; `text` is its body (empty for HEAD). */
export function errorFromResponse(
  protocol: ErrorProtocol,
  status: number,
  headers: HeaderReader,
  text: string,
): AwsServiceError {
  const requestId = headers.get('x-amzn-requestid') ?? headers.get('x-amz-request-id') ?? undefined;
  if (protocol === 'xml') {
    const parsed = xmlError(text);
    if (parsed) return new AwsServiceError(parsed.code, parsed.message, status, requestId);
    return new AwsServiceError(statusErrorCode(status), `HTTP ${status}`, status, requestId);
  }
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  const code = jsonErrorCode(headers, body) ?? statusErrorCode(status);
  return new AwsServiceError(code, jsonErrorMessage(body) || `HTTP ${status}`, status, requestId);
}

// ------------------------------------------------------------------ retry decisions

/** Codes the SDK treats as throttling (retried like a 429). */
const THROTTLING_CODES = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);

/** Codes the SDK treats as transient whatever their status. */
const TRANSIENT_CODES = new Set([
  'InternalError',
  'InternalFailure',
  'RequestTimeout',
  'RequestTimeoutException',
  'ServiceUnavailable',
]);

export const MAX_ATTEMPTS = 3;
const BASE_DELAY_MS = 100;
const MAX_DELAY_MS = 5_000;

/** Whether a failed call may succeed if sent again: network errors, 5xx, 429 and throttling. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof AwsServiceError) {
    return (
      error.status >= 500 ||
      error.status === 429 ||
      THROTTLING_CODES.has(error.name) ||
      TRANSIENT_CODES.has(error.name)
    );
  }
  return error instanceof NetworkError;
}

/** The request never got an answer (connection refused or reset, DNS, TLS). */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
}

/** Full-jitter exponential backoff before attempt `attempt + 1` (the first retry is `attempt = 1`). */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt));
}
