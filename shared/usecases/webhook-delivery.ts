/**
 * Webhook delivery: the fan-out of each domain event to the endpoints subscribed to it, and each
 * attempt (sign, send, log, retry later or give up, disable an endpoint that is gone or has failed
 * for too long and tell the manager). Both run from the webhook queue's messages; the `test` route
 * runs one attempt itself.
 */
import { sendEmail } from '../adapters/mail.ts';
import { logger } from '../adapters/observability.ts';
import {
  batchResolver,
  sendWebhook,
  type WebhookRequest,
  type WebhookResponse,
} from '../adapters/webhook-http.ts';
import { type DeliveryMessage, enqueueDeliveries } from '../adapters/webhook-queue.ts';
import {
  appendDeliveries,
  type DeliveryLogEntry,
  type EndpointItem,
  findEndpointItems,
  listEnabledEndpoints,
  recordEvents,
  signingSecrets,
  updateEndpoint,
} from '../adapters/webhook-store.ts';
import { ENV } from '../config/env.ts';
import { type WebhookSettings, webhookSettings } from '../config/webhooks.ts';
import { newId } from '../domain/ids.ts';
import type { WebhookDelivery } from '../domain/resources.ts';
import {
  type BusEvent,
  nextDelayMs,
  retryAfterMs,
  retryDelayMs,
  subscribes,
  toWebhookEvent,
  webhookBody,
} from '../domain/webhooks.ts';

export type { DeliveryMessage };

// ------------------------------------------------------------------ fan-out

/**
 * One delivery per subscribed, enabled endpoint for each new event, whose first attempt is made here
 * (retries are queue messages): no queue round trip, no second invocation and no second read of the
 * endpoints per delivery. An event is recorded first (kept for replay) with the id of the queue
 * message that carried it: a second publication of it is skipped; the same message handled again (a
 * fan-out that crashed half-way) fans out again (receivers de-duplicate on `webhook-id`).
 */
export async function fanOut(
  events: readonly { messageId: string; event: BusEvent }[],
  settings = webhookSettings(),
): Promise<number> {
  if (events.length === 0) return 0;
  const endpoints = await listEnabledEndpoints();
  // A batch's events are recorded together, then their messages sent together.
  const fresh = await recordEvents(
    events.map(({ messageId, event }) => ({ event: toWebhookEvent(event), messageId })),
    settings.logDays,
  );
  const messages = fresh.flatMap((event) =>
    endpoints
      .filter((endpoint) => subscribes(endpoint.eventTypes, event.type))
      .map((endpoint): DeliveryMessage => ({ kind: 'deliver', endpointId: endpoint.id, event, attempt: 1 })),
  );
  // The endpoints are read again consistently there (the list came from an index).
  await deliver(messages, settings);
  return messages.length;
}

// ------------------------------------------------------------------ one attempt

export interface AttemptOutcome {
  delivery: DeliveryLogEntry;
  response: WebhookResponse;
  /** When (in ms) the next attempt is due, if any. */
  retryInMs?: number;
}

/** Sends one attempt and says what it means (no side effects besides the request itself). */
export async function attempt(
  endpoint: EndpointItem,
  message: Pick<DeliveryMessage, 'event' | 'attempt' | 'replay'>,
  settings: WebhookSettings,
  options: { retry: boolean; resolver?: WebhookRequest['resolver'] } = { retry: true },
): Promise<AttemptOutcome> {
  const now = new Date();
  const response = await sendWebhook({
    url: endpoint.url,
    id: message.event.id,
    body: webhookBody(message.event),
    secrets: signingSecrets(endpoint, now.getTime()),
    allowPrivate: settings.allowPrivate,
    timeoutMs: settings.attemptTimeoutMs,
    maxResponseBytes: settings.maxResponseBytes,
    now,
    ...(options.resolver ? { resolver: options.resolver } : {}),
  });
  const base: DeliveryLogEntry = {
    endpointId: endpoint.id,
    id: newId('webhookDelivery'),
    eventId: message.event.id,
    eventType: message.event.type,
    attempt: message.attempt,
    status: 'delivered',
    durationMs: response.durationMs,
    at: now.toISOString(),
    ...(response.status !== undefined ? { responseStatus: response.status } : {}),
    ...(response.error ? { error: response.error } : {}),
    ...(message.replay ? { replay: true } : {}),
  };
  if (response.ok) return { delivery: base, response };
  const wait =
    options.retry && response.status !== 410
      ? retryDelayMs(settings.retrySchedule, message.attempt)
      : undefined;
  if (wait === undefined) return { delivery: { ...base, status: 'failed' }, response };
  const retryInMs = nextDelayMs(wait, retryAfterMs(response.retryAfter, now.getTime()));
  return {
    delivery: {
      ...base,
      status: 'retrying',
      nextAttemptAt: new Date(now.getTime() + retryInMs).toISOString(),
    },
    response,
    retryInMs,
  };
}

// ------------------------------------------------------------------ endpoint health

function mailSettings() {
  return {
    from: process.env[ENV.mailFrom] || 'payouts@example.com',
    to: process.env[ENV.managerEmail] || 'finance@example.com',
  };
}

async function tellManager(subject: string, text: string): Promise<void> {
  const mail = mailSettings();
  try {
    await sendEmail({ to: mail.to, subject, text }, mail.from);
  } catch (error) {
    // The endpoint's state is recorded; an e-mail that could not go out is logged, not retried.
    logger.error('Webhook e-mail failed', { error, subject });
  }
}

async function disable(endpoint: EndpointItem, reason: 'gone' | 'failing', detail: string): Promise<void> {
  const at = new Date().toISOString();
  const updated = await updateEndpoint(
    endpoint.id,
    { enabled: false, disabledReason: reason, updatedAt: at },
    { expression: '#enabled = :true', names: { '#enabled': 'enabled' }, values: { ':true': true } },
  );
  if (!updated) return; // already disabled (or deleted): someone else told the manager
  logger.warn('Webhook endpoint disabled', { endpointId: endpoint.id, reason });
  await tellManager(
    `Webhook endpoint disabled: ${endpoint.url}`,
    `The webhook endpoint ${endpoint.id} (${endpoint.url}) was disabled: ${detail}.\n\nIt receives nothing until it is enabled again (PATCH /webhook-endpoints/${endpoint.id} {"enabled": true}); POST /webhook-endpoints/${endpoint.id}/replay re-sends what it missed.\n`,
  );
}

/** Records a success or a failure on the endpoint: failing since when, disabled after too long. */
async function recordHealth(endpoint: EndpointItem, outcome: AttemptOutcome, settings: WebhookSettings) {
  const now = Date.now();
  if (outcome.response.ok) {
    if (endpoint.failingSince) {
      await updateEndpoint(
        endpoint.id,
        { failingSince: null },
        { expression: 'attribute_exists(failingSince)' },
      );
    }
    return;
  }
  if (outcome.response.status === 410) {
    await disable(endpoint, 'gone', 'it answered 410 Gone');
    return;
  }
  if (!endpoint.failingSince) {
    const at = new Date(now).toISOString();
    const started = await updateEndpoint(
      endpoint.id,
      { failingSince: at },
      { expression: 'attribute_not_exists(failingSince)' },
    );
    if (started) {
      endpoint.failingSince = at;
      await tellManager(
        `Webhook endpoint failing: ${endpoint.url}`,
        `Deliveries to the webhook endpoint ${endpoint.id} (${endpoint.url}) started failing (${outcome.delivery.error ?? 'error'}). They are retried for about three days; if it keeps failing for ${settings.disableAfterMs / 86_400_000} days it is disabled.\n`,
      );
    }
    if (settings.disableAfterMs > 0) return;
  }
  const since = Date.parse(endpoint.failingSince ?? new Date(now).toISOString());
  if (now - since >= settings.disableAfterMs) {
    await disable(endpoint, 'failing', `every delivery failed since ${endpoint.failingSince}`);
  }
}

// ------------------------------------------------------------------ a batch of attempts

/**
 * Runs the attempts of a batch of messages (a few at a time), logs them, records each endpoint's
 * health and queues the retries. Messages for a deleted or disabled endpoint are dropped.
 */
export async function deliver(
  messages: readonly DeliveryMessage[],
  settings = webhookSettings(),
): Promise<void> {
  if (messages.length === 0) return;
  const endpoints = await findEndpointItems(messages.map((message) => message.endpointId));
  const outcomes: { endpoint: EndpointItem; message: DeliveryMessage; outcome: AttemptOutcome }[] = [];
  // Each host is resolved and checked once for the batch's attempts (again by the next batch).
  const resolver = batchResolver(settings.allowPrivate);
  await Promise.all(
    messages.map(async (message) => {
      const endpoint = endpoints.get(message.endpointId);
      if (!endpoint?.enabled) return;
      outcomes.push({
        endpoint,
        message,
        outcome: await attempt(endpoint, message, settings, { retry: true, resolver }),
      });
    }),
  );
  await appendDeliveries(
    outcomes.map(({ outcome }) => outcome.delivery),
    settings.logDays,
  );
  const retries = outcomes.flatMap(({ message, outcome }) =>
    outcome.retryInMs === undefined
      ? []
      : [
          {
            id: outcome.delivery.id,
            delayMs: outcome.retryInMs,
            message: { ...message, attempt: message.attempt + 1 },
          },
        ],
  );
  await enqueueDeliveries(retries);
  // One health update per endpoint and batch: its latest outcome.
  const latest = new Map<string, { endpoint: EndpointItem; outcome: AttemptOutcome }>();
  for (const entry of outcomes) latest.set(entry.endpoint.id, entry);
  for (const { endpoint, outcome } of latest.values()) await recordHealth(endpoint, outcome, settings);
}

/** What the delivery log shows of an attempt. */
export function deliveryView(entry: DeliveryLogEntry): WebhookDelivery {
  const { endpointId: _endpointId, ...delivery } = entry;
  return delivery;
}

/** One attempt now, logged, not retried (the `test` route). */
export async function deliverNow(
  endpoint: EndpointItem,
  event: DeliveryMessage['event'],
  settings = webhookSettings(),
): Promise<WebhookDelivery> {
  const outcome = await attempt(endpoint, { event, attempt: 1 }, settings, { retry: false });
  await appendDeliveries([outcome.delivery], settings.logDays);
  return deliveryView(outcome.delivery);
}
