/**
 * Sends one signed webhook, safely: the host is resolved here and every address checked (no private,
 * loopback, link-local, metadata, ULA, … address unless private receivers are allowed), and the
 * connection goes to the address that was checked (the socket's `lookup` answers with it), so a DNS
 * answer that changes between the check and the connect cannot swap it. Redirects are not followed;
 * the attempt is abandoned after its timeout; at most `maxResponseBytes` of the answer are read, and
 * none of it is logged or kept. Signing is the `standardwebhooks` package's.
 */
import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { checkWebhookUrl, isPublicAddress } from '../domain/webhooks.ts';

export class UnsafeWebhookUrl extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeWebhookUrl';
  }
}

/** Resolves the host and checks every address it has; answers the one to connect to. */
export async function resolveSafeAddress(
  hostname: string,
  allowPrivate: boolean,
): Promise<{ address: string; family: 4 | 6 }> {
  const host = hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host);
  let addresses: LookupAddress[];
  if (literal !== 0) addresses = [{ address: host, family: literal }];
  else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch (error) {
      throw new UnsafeWebhookUrl(
        `${host} does not resolve (${error instanceof Error && 'code' in error ? String(error.code) : 'lookup failed'})`,
      );
    }
  }
  if (addresses.length === 0) throw new UnsafeWebhookUrl(`${host} does not resolve`);
  if (!allowPrivate) {
    const refused = addresses.find((entry) => !isPublicAddress(entry.address));
    if (refused) {
      throw new UnsafeWebhookUrl(`${host} resolves to ${refused.address}, which is not a public address`);
    }
  }
  const first = addresses[0] as LookupAddress;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** Checks a URL as a delivery would (scheme, credentials, every resolved address); throws `UnsafeWebhookUrl`. */
export async function assertSafeWebhookUrl(text: string, allowPrivate: boolean): Promise<URL> {
  const checked = checkWebhookUrl(text, allowPrivate);
  if (!checked.ok) throw new UnsafeWebhookUrl(checked.detail);
  await resolveSafeAddress(checked.url.hostname, allowPrivate);
  return checked.url;
}

/** `v1,<sig>` for each secret, space-separated (Standard Webhooks: a receiver accepts any one). */
export function signatures(secrets: readonly string[], id: string, timestamp: Date, body: string): string {
  return secrets.map((secret) => new Webhook(secret).sign(id, timestamp, body)).join(' ');
}

export interface WebhookRequest {
  url: string;
  id: string;
  body: string;
  secrets: readonly string[];
  allowPrivate: boolean;
  timeoutMs: number;
  maxResponseBytes: number;
  now?: Date;
  /** Resolves and checks the host (default `resolveSafeAddress`); a batch shares one (see `batchResolver`). */
  resolver?: (hostname: string) => Promise<{ address: string; family: 4 | 6 }>;
}

/**
 * One resolution and check per host for the attempts of one batch (made within the same moment),
 * instead of one per attempt; every batch resolves again, so a DNS change is seen at the next one.
 */
export function batchResolver(allowPrivate: boolean): NonNullable<WebhookRequest['resolver']> {
  const resolved = new Map<string, Promise<{ address: string; family: 4 | 6 }>>();
  return (hostname) => {
    let found = resolved.get(hostname);
    if (!found) {
      found = resolveSafeAddress(hostname, allowPrivate);
      found.catch(() => undefined); // awaited by each attempt; refused ones are answered there
      resolved.set(hostname, found);
    }
    return found;
  };
}

export interface WebhookResponse {
  /** A 2xx answer. */
  ok: boolean;
  status?: number;
  retryAfter?: string;
  durationMs: number;
  /** Why it failed (never the response body). */
  error?: string;
  /** The URL was refused before anything was sent. */
  refused?: boolean;
}

const agents = {
  http: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
};

/** Reads at most `limit` bytes of the answer and drops the rest (the socket is not reused then). */
function drain(response: IncomingMessage, limit: number): Promise<void> {
  return new Promise((resolve) => {
    let read = 0;
    response.on('data', (chunk: Buffer) => {
      read += chunk.length;
      if (read > limit) {
        response.destroy();
        resolve();
      }
    });
    response.on('end', () => resolve());
    response.on('error', () => resolve());
    response.on('close', () => resolve());
  });
}

/** One attempt. Never throws: every outcome is a `WebhookResponse`. */
export async function sendWebhook(request: WebhookRequest): Promise<WebhookResponse> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const checked = checkWebhookUrl(request.url, request.allowPrivate);
  if (!checked.ok) return { ok: false, refused: true, error: checked.detail, durationMs: elapsed() };
  const url = checked.url;
  let target: { address: string; family: 4 | 6 };
  try {
    target = await (request.resolver
      ? request.resolver(url.hostname)
      : resolveSafeAddress(url.hostname, request.allowPrivate));
  } catch (error) {
    return {
      ok: false,
      refused: true,
      error: error instanceof Error ? error.message : String(error),
      durationMs: elapsed(),
    };
  }
  // The connection goes to the address checked above, whatever a second lookup would say.
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const timestamp = request.now ?? new Date();
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'partner-payouts-webhooks/1',
    'webhook-id': request.id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': signatures(request.secrets, request.id, timestamp, request.body),
    'content-length': String(Buffer.byteLength(request.body)),
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<WebhookResponse>((resolve) => {
    let settled = false;
    const finish = (outcome: Omit<WebhookResponse, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...outcome, durationMs: elapsed() });
    };
    const req = send(
      url,
      {
        method: 'POST',
        headers,
        lookup: pinned,
        agent: url.protocol === 'https:' ? agents.https : agents.http,
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const retryAfter = response.headers['retry-after'];
        drain(response, request.maxResponseBytes).then(() => {
          const ok = status >= 200 && status < 300;
          finish({
            ok,
            status,
            ...(retryAfter ? { retryAfter } : {}),
            ...(ok
              ? {}
              : status >= 300 && status < 400
                ? { error: `redirect (${status}) not followed` }
                : { error: `HTTP ${status}` }),
          });
        });
      },
    );
    const timer = setTimeout(() => {
      finish({ ok: false, error: `no answer within ${request.timeoutMs} ms` });
      req.destroy();
    }, request.timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => {
      finish({ ok: false, error: error.code ? `${error.code}: connection failed` : 'connection failed' });
    });
    req.end(request.body);
  });
}
