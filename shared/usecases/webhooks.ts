/** The webhook-endpoint routes: create (with its secret, shown once), read, change, delete, rotate, test, log, replay. */
import { randomBytes } from 'node:crypto';
import { assertSafeWebhookUrl, UnsafeWebhookUrl } from '../adapters/webhook-http.ts';
import { enqueueDeliveries } from '../adapters/webhook-queue.ts';
import {
  deleteEndpoint,
  type EndpointItem,
  eventsSince,
  findEvents,
  getEndpointItem,
  listDeliveryPage,
  listEndpointPage,
  putEndpoint,
  toEndpoint,
  updateEndpoint,
} from '../adapters/webhook-store.ts';
import { webhookSettings } from '../config/webhooks.ts';
import { Conflict, NotFound, RuleViolation } from '../domain/errors.ts';
import { isId, newId } from '../domain/ids.ts';
import type { WebhookDelivery, WebhookEndpoint } from '../domain/resources.ts';
import type {
  CreateWebhookEndpoint,
  DeliveriesQuery,
  ReplayWebhooks,
  UpdateWebhookEndpoint,
} from '../domain/webhook-requests.ts';
import { subscribes, type WebhookEvent } from '../domain/webhooks.ts';
import { deliverNow } from './webhook-delivery.ts';

/** `whsec_` + 32 random bytes, base64 (Standard Webhooks). */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

async function checkUrl(url: string): Promise<void> {
  try {
    await assertSafeWebhookUrl(url, webhookSettings().allowPrivate);
  } catch (error) {
    if (!(error instanceof UnsafeWebhookUrl)) throw error;
    throw new RuleViolation('webhook_url_not_allowed', `This URL cannot receive webhooks: ${error.message}`, {
      errors: [{ path: 'url', message: error.message }],
    });
  }
}

async function endpointItem(id: string): Promise<EndpointItem> {
  if (!isId('webhookEndpoint', id)) throw new NotFound(`No webhook endpoint ${id}`);
  return getEndpointItem(id);
}

export async function createWebhookEndpoint(
  input: CreateWebhookEndpoint,
): Promise<WebhookEndpoint & { secret: string }> {
  await checkUrl(input.url);
  const at = new Date().toISOString();
  const item: EndpointItem = {
    id: newId('webhookEndpoint'),
    url: input.url,
    ...(input.description ? { description: input.description } : {}),
    eventTypes: input.eventTypes && input.eventTypes.length > 0 ? input.eventTypes : null,
    enabled: true,
    secret: newSecret(),
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
  await putEndpoint(item);
  return { ...toEndpoint(item), secret: item.secret };
}

export async function listWebhookEndpoints(query: { limit: number; cursor?: string | undefined }) {
  return listEndpointPage(query.limit, query.cursor);
}

export async function getWebhookEndpoint(id: string): Promise<WebhookEndpoint> {
  return toEndpoint(await endpointItem(id));
}

export async function updateWebhookEndpoint(
  id: string,
  input: UpdateWebhookEndpoint,
): Promise<WebhookEndpoint> {
  const current = await endpointItem(id);
  if (input.url !== undefined) await checkUrl(input.url);
  const changes: Record<string, unknown> = { updatedAt: new Date().toISOString() };
  if (input.url !== undefined) changes.url = input.url;
  if (input.description !== undefined) changes.description = input.description;
  if (input.eventTypes !== undefined) {
    // `null` removes the attribute: "every event" is stored as no filter.
    changes.eventTypes = input.eventTypes && input.eventTypes.length > 0 ? input.eventTypes : null;
  }
  if (input.enabled === true) {
    Object.assign(changes, { enabled: true, disabledReason: null, failingSince: null });
  } else if (input.enabled === false) {
    Object.assign(changes, { enabled: false, disabledReason: 'manual' });
  }
  const updated = await updateEndpoint(current.id, changes, {
    expression: '#version = :expected',
    names: { '#version': 'version' },
    values: { ':expected': current.version },
  });
  if (!updated) throw new Conflict('The endpoint changed meanwhile; read it again');
  return toEndpoint(updated);
}

export async function deleteWebhookEndpoint(id: string): Promise<void> {
  if (!isId('webhookEndpoint', id) || !(await deleteEndpoint(id))) {
    throw new NotFound(`No webhook endpoint ${id}`);
  }
}

/** A new secret; the old one keeps signing (as a second signature) for the overlap window. */
export async function rotateWebhookSecret(id: string): Promise<WebhookEndpoint & { secret: string }> {
  const current = await endpointItem(id);
  const now = Date.now();
  const secret = newSecret();
  const updated = await updateEndpoint(
    current.id,
    {
      secret,
      previousSecret: current.secret,
      previousSecretExpiresAt: new Date(now + webhookSettings().rotationOverlapMs).toISOString(),
      secretRotatedAt: new Date(now).toISOString(),
      updatedAt: new Date(now).toISOString(),
    },
    {
      expression: '#version = :expected',
      names: { '#version': 'version' },
      values: { ':expected': current.version },
    },
  );
  if (!updated) throw new Conflict('The endpoint changed meanwhile; try again');
  return { ...toEndpoint(updated), secret };
}

/** Sends a `webhook.test` event now (one attempt, logged) and answers with its delivery. */
export async function testWebhookEndpoint(id: string): Promise<WebhookDelivery> {
  const endpoint = await endpointItem(id);
  const at = new Date().toISOString();
  const event: WebhookEvent = {
    id: newId('event'),
    type: 'webhook.test',
    timestamp: at,
    data: { endpointId: endpoint.id, message: 'A test event from partner-payouts', version: 1 },
  };
  return deliverNow(endpoint, event);
}

export async function listWebhookDeliveries(id: string, query: DeliveriesQuery) {
  const endpoint = await endpointItem(id);
  return listDeliveryPage(endpoint.id, query);
}

/**
 * Queues those events again for this endpoint, with their own ids (same `webhook-id`), however they
 * went the first time: the ones named, or every kept event since a time that the endpoint subscribes
 * to (also those it missed while disabled).
 */
export async function replayWebhooks(
  id: string,
  input: ReplayWebhooks,
): Promise<{ status: 'accepted'; events: number }> {
  const endpoint = await endpointItem(id);
  if (!endpoint.enabled) throw new Conflict('The endpoint is disabled: enable it before replaying');
  const settings = webhookSettings();
  const events = input.eventIds
    ? await findEvents(input.eventIds)
    : (await eventsSince(input.since ?? new Date().toISOString(), settings.logDays)).filter((event) =>
        subscribes(endpoint.eventTypes, event.type),
      );
  await enqueueDeliveries(
    events.map((event) => ({
      id: newId('webhookDelivery'),
      delayMs: 0,
      message: { kind: 'deliver', endpointId: endpoint.id, event, attempt: 1, replay: true },
    })),
  );
  return { status: 'accepted', events: events.length };
}
