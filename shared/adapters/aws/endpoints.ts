/**
 * Where each AWS call goes, resolved as the SDK resolves it, so that `npm start` and the tests still
 * point the code at the local emulators through the SDK's own variables:
 * `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL` (both ignored when
 * `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), else the regional AWS endpoint. S3 objects are
 * addressed virtual-hosted style (`bucket.s3.<region>.amazonaws.com/key`) unless
 * `S3_FORCE_PATH_STYLE=true`, the endpoint is an IP address, or the bucket is no DNS label.
 *
 * Read on every call (a few environment lookups): tests repoint a service between files.
 */

export type AwsService = 's3' | 'sfn' | 'eventbridge' | 'lambda' | 'sesv2' | 'sqs' | 'scheduler';

export interface ServiceInfo {
  /** Suffix of `AWS_ENDPOINT_URL_<…>`: the SDK's service id, upper-cased. */
  envSuffix: string;
  /** First label of the regional host name. */
  hostPrefix: string;
  /** SigV4 signing name. */
  signingName: string;
}

export const SERVICES: Record<AwsService, ServiceInfo> = {
  s3: { envSuffix: 'S3', hostPrefix: 's3', signingName: 's3' },
  sfn: { envSuffix: 'SFN', hostPrefix: 'states', signingName: 'states' },
  eventbridge: { envSuffix: 'EVENTBRIDGE', hostPrefix: 'events', signingName: 'events' },
  lambda: { envSuffix: 'LAMBDA', hostPrefix: 'lambda', signingName: 'lambda' },
  sesv2: { envSuffix: 'SESV2', hostPrefix: 'email', signingName: 'ses' },
  sqs: { envSuffix: 'SQS', hostPrefix: 'sqs', signingName: 'sqs' },
  scheduler: { envSuffix: 'SCHEDULER', hostPrefix: 'scheduler', signingName: 'scheduler' },
};

export type Environment = Readonly<Record<string, string | undefined>>;

/** The region of every call: `AWS_REGION` (set by Lambda), else `AWS_DEFAULT_REGION`. */
export function awsRegion(env: Environment = process.env): string {
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!region) throw new Error('Missing environment variable AWS_REGION');
  return region;
}

function dnsSuffix(region: string): string {
  if (region.startsWith('cn-')) return 'amazonaws.com.cn';
  return 'amazonaws.com';
}

/** The service's base URL (no trailing slash), configured or regional. */
export function serviceEndpoint(service: AwsService, region: string, env: Environment = process.env): URL {
  const info = SERVICES[service];
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS !== 'true') {
    const configured = env[`AWS_ENDPOINT_URL_${info.envSuffix}`] || env.AWS_ENDPOINT_URL;
    if (configured) return new URL(configured.replace(/\/+$/, ''));
  }
  return new URL(`https://${info.hostPrefix}.${region}.${dnsSuffix(region)}`);
}

/** RFC 3986 percent-encoding (what SigV4 expects): `encodeURIComponent` plus `!'()*`. */
export function uriEscape(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** An S3 key in a path: each segment escaped, the slashes kept. */
export function escapeKey(key: string): string {
  return key.split('/').map(uriEscape).join('/');
}

/** `a=1&b=2`, names and values escaped, in the given order. */
export function formatQuery(query: Readonly<Record<string, string>>): string {
  return Object.entries(query)
    .map(([name, value]) => `${uriEscape(name)}=${uriEscape(value)}`)
    .join('&');
}

function isIpHost(hostname: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || hostname.startsWith('[');
}

/** A bucket that can be the first label of a host name (with dots only over plain HTTP, as the SDK). */
function isVirtualHostable(bucket: string, protocol: string): boolean {
  const label = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
  if (bucket.includes('.')) {
    return (
      protocol === 'http:' &&
      !isIpHost(bucket) &&
      !bucket.includes('..') &&
      bucket.split('.').every((part) => /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(part)) &&
      bucket.length <= 63
    );
  }
  return label.test(bucket);
}

/** Where a bucket's requests go: its base URL, and the path prefix its keys follow. */
export interface BucketLocation {
  /** The bucket itself, as the SDK formats it: `https://bucket.s3.<region>.amazonaws.com/` or `http://127.0.0.1:4569/bucket`. */
  url: string;
  /** The request path of a key: `/key` or `/bucket/key`, escaped. */
  path(key: string): string;
  /** `scheme://host[:port]` of every request to the bucket. */
  origin: string;
}

export function bucketLocation(
  bucket: string,
  region: string,
  env: Environment = process.env,
): BucketLocation {
  const endpoint = serviceEndpoint('s3', region, env);
  const basePath = endpoint.pathname.replace(/\/+$/, '');
  const pathStyle =
    env.S3_FORCE_PATH_STYLE === 'true' ||
    isIpHost(endpoint.hostname) ||
    !isVirtualHostable(bucket, endpoint.protocol);
  if (pathStyle) {
    const prefix = `${basePath}/${uriEscape(bucket)}`;
    return {
      url: `${endpoint.origin}${prefix}`,
      origin: endpoint.origin,
      path: (key) => `${prefix}/${escapeKey(key)}`,
    };
  }
  const origin = `${endpoint.protocol}//${bucket}.${endpoint.host}`;
  return {
    url: `${origin}${basePath}/`,
    origin,
    path: (key) => `${basePath}/${escapeKey(key)}`,
  };
}
