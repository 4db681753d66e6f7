/** Webhook settings, from the environment (set by the stack, by `npm start`, or by a test). */
import { DEFAULT_RETRY_SCHEDULE, parseRetrySchedule } from '../domain/webhooks.ts';
import { ENV } from './env.ts';

export interface WebhookSettings {
  /** Waits between attempts, in milliseconds (attempts = waits + 1). */
  retrySchedule: number[];
  /** An endpoint failing this long is disabled (and the manager told). */
  disableAfterMs: number;
  /** How long the delivery log (and the events kept for replay) live. */
  logDays: number;
  /** After a rotation, deliveries carry the old signature too, this long. */
  rotationOverlapMs: number;
  /** `true` only under `npm start` and in tests: http and private addresses allowed. */
  allowPrivate: boolean;
  /** Each attempt is abandoned after this long. */
  attemptTimeoutMs: number;
  /** At most this much of a response is read. */
  maxResponseBytes: number;
}

function numberEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
}

let cached: WebhookSettings | undefined;

/** Read once (fail fast on a bad value); `resetWebhookSettings` lets a test change the environment. */
export function webhookSettings(): WebhookSettings {
  cached ??= {
    retrySchedule: parseRetrySchedule(process.env[ENV.webhookRetrySchedule] || DEFAULT_RETRY_SCHEDULE),
    disableAfterMs: numberEnv(ENV.webhookDisableAfterDays, 5) * 86_400_000,
    logDays: numberEnv(ENV.webhookLogDays, 30),
    rotationOverlapMs: numberEnv(ENV.webhookRotationOverlapSeconds, 86_400) * 1000,
    allowPrivate: process.env[ENV.webhooksAllowPrivate] === 'true',
    attemptTimeoutMs: 15_000,
    maxResponseBytes: 64 * 1024,
  };
  return cached;
}

export function resetWebhookSettings(): void {
  cached = undefined;
}
