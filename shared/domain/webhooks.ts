/**
 * Webhook rules (Standard Webhooks), pure: which endpoint takes which event, the retry schedule and
 * its jitter, `Retry-After`, the addresses no delivery may reach, and the message a receiver gets.
 * No AWS and no I/O here: the adapters send, the use cases decide with these.
 */
import { BlockList, isIP } from 'node:net';

// ------------------------------------------------------------------ events and filters

/** What a receiver gets: `webhook-id` is `id`; the body is `{type, timestamp, data}`. */
export interface WebhookEvent {
  id: string;
  type: string;
  /** ISO 8601: when the change was committed. */
  timestamp: string;
  /** The resource as the API shows it, with its `version`. */
  data: Record<string, unknown>;
}

/** The body, serialized once: the bytes signed are the bytes sent. */
export function webhookBody(event: WebhookEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
}

/** An event type (`payout.paid`) or a family of them (`payout.*`); `*` alone is every type. */
export const EVENT_TYPE_FILTER = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/;

/** No filter (null or empty) subscribes to every event. */
export function subscribes(eventTypes: readonly string[] | null | undefined, type: string): boolean {
  if (!eventTypes || eventTypes.length === 0) return true;
  return eventTypes.some(
    (filter) =>
      filter === '*' || filter === type || (filter.endsWith('.*') && type.startsWith(filter.slice(0, -1))),
  );
}

// ------------------------------------------------------------------ retries

/** The waits between attempts: ~5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (≈ 3 days). */
export const DEFAULT_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h,14h,20h,24h';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `"5s,5m,2h"` or `"50ms,100ms"` → milliseconds; throws naming the bad part. */
export function parseRetrySchedule(text: string): number[] {
  const waits = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(part);
      if (!match) throw new Error(`Bad retry wait "${part}" (use e.g. 5s, 30m, 2h, 50ms)`);
      return Math.round(Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? 1000));
    });
  if (waits.length === 0) throw new Error('The retry schedule is empty');
  return waits;
}

/** The wait before attempt `attempt + 1`, ±10 % jitter; undefined once the schedule is spent. */
export function retryDelayMs(
  schedule: readonly number[],
  attempt: number,
  random: () => number = Math.random,
): number | undefined {
  const base = schedule[attempt - 1];
  if (base === undefined) return undefined;
  return Math.max(0, Math.round(base * (0.9 + 0.2 * random())));
}

/** The longest `Retry-After` honoured (a receiver cannot park a message for longer). */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/** `Retry-After` as delta-seconds or an HTTP date → milliseconds from `now`; undefined if absent or bad. */
export function retryAfterMs(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

/** The next attempt waits the schedule's delay, or longer when the receiver asked for it. */
export function nextDelayMs(scheduled: number, retryAfter: number | undefined): number {
  return retryAfter === undefined ? scheduled : Math.max(scheduled, retryAfter);
}

// ------------------------------------------------------------------ addresses

/**
 * Every range a delivery may not reach: private (RFC 1918, ULA), loopback, link-local (and so the
 * instance metadata service, 169.254.169.254 and fd00:ec2::254), CGNAT, "this network", multicast,
 * reserved, documentation and benchmarking ranges, and the IPv6 forms that embed an IPv4 address
 * (IPv4-mapped, NAT64, 6to4, Teredo), whose IPv4 part is checked as IPv4.
 */
const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['::', 96], // IPv4-compatible (deprecated)
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23], // IETF protocol assignments, Teredo (2001::/32) included
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv6');
}

/** The IPv4 address an IPv6 address carries (mapped `::ffff:a.b.c.d`, NAT64, 6to4), if any. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:(?:0:)?|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:(?:0:)?|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const high = Number.parseInt(hex[1] ?? '0', 16);
    const low = Number.parseInt(hex[2] ?? '0', 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4}):/.exec(lower);
  if (sixToFour) {
    const high = Number.parseInt(sixToFour[1] ?? '0', 16);
    const low = Number.parseInt(sixToFour[2] ?? '0', 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return undefined;
}

/** Whether a delivery may connect to this IP address (anything that is not a public unicast address is refused). */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !BLOCKED.check(address, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4 !== undefined) return isIP(v4) === 4 && !BLOCKED.check(v4, 'ipv4');
    // A mapped address the patterns above did not take apart is refused rather than guessed.
    if (/^::ffff:/i.test(address)) return false;
    return !BLOCKED.check(address, 'ipv6');
  }
  return false;
}

export type UrlRefusal = 'invalid_url' | 'scheme_not_allowed' | 'credentials_in_url' | 'private_address';

/** The checks a URL passes before any lookup: a well-formed http(s) URL, https unless private is allowed. */
export function checkWebhookUrl(
  text: string,
  allowPrivate: boolean,
): { ok: true; url: URL } | { ok: false; reason: UrlRefusal; detail: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: 'invalid_url', detail: 'not a URL' };
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
    return { ok: false, reason: 'scheme_not_allowed', detail: 'only https URLs are allowed' };
  }
  if (url.username || url.password) {
    return { ok: false, reason: 'credentials_in_url', detail: 'credentials in the URL are not allowed' };
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && isIP(host) !== 0 && !isPublicAddress(host)) {
    return { ok: false, reason: 'private_address', detail: `${host} is not a public address` };
  }
  return { ok: true, url };
}

// ------------------------------------------------------------------ from the bus

export interface BusEvent {
  id: string;
  'detail-type': string;
  time: string;
  resources?: readonly string[];
  detail: Record<string, unknown>;
}

/**
 * A domain event from the bus as receivers see it. Its id is the domain's own (a payout history
 * entry's `event.id`, else `detail.eventId`, else the first of `resources`), so a second publication
 * of the same change (at least once) has the same `webhook-id`; only an event that carries none falls
 * back to the bus's id. `data` is the resource (the detail without the event bookkeeping).
 */
export function toWebhookEvent(bus: BusEvent): WebhookEvent {
  const { event, eventId, eventAt, ...data } = bus.detail as {
    event?: { id?: unknown; at?: unknown };
    eventId?: unknown;
    eventAt?: unknown;
  } & Record<string, unknown>;
  const id =
    (typeof event?.id === 'string' && event.id) ||
    (typeof eventId === 'string' && eventId) ||
    bus.resources?.[0] ||
    bus.id;
  const timestamp =
    (typeof event?.at === 'string' && event.at) || (typeof eventAt === 'string' && eventAt) || bus.time;
  return { id, type: bus['detail-type'], timestamp, data };
}
