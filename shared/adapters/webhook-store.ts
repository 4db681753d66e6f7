/**
 * Webhook items in the single table:
 *
 * | item          | PK               | SK             | GSI4                                   | TTL (`expiresAt`) |
 * |---------------|------------------|----------------|----------------------------------------|-------------------|
 * | endpoint      | WEBHOOK#we_…     | ENDPOINT       | WEBHOOK_ENDPOINTS / createdAt#id       |                   |
 * | delivery (log)| WEBHOOK#we_…     | DLV#wd_…       |                                        | at + LOG_DAYS     |
 * | event (replay)| WEBHOOK_EVENT#id | EVENT          | WEBHOOK_EVENTS#<day> / timestamp#id    | at + LOG_DAYS     |
 *
 * One log item per attempt (`wd_…` ULIDs: newest first by SK). dynalite has no TTL, so every read
 * also drops what has expired; on AWS the TTL deletes it within a day or two of `expiresAt`.
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { NotFound } from '../domain/errors.ts';
import type { WebhookDelivery, WebhookEndpoint } from '../domain/resources.ts';
import type { WebhookEvent } from '../domain/webhooks.ts';
import { dynamo } from './clients.ts';
import {
  batchGet,
  batchWrite,
  isConditionalCheckFailed,
  type Page,
  queryAll,
  queryPage,
  stripKeys,
  table,
} from './table.ts';

export const webhookKeys = {
  endpoint: (id: string) => ({ PK: `WEBHOOK#${id}`, SK: 'ENDPOINT' }),
  delivery: (endpointId: string, id: string) => ({ PK: `WEBHOOK#${endpointId}`, SK: `DLV#${id}` }),
  event: (id: string) => ({ PK: `WEBHOOK_EVENT#${id}`, SK: 'EVENT' }),
};

const ENDPOINTS = 'WEBHOOK_ENDPOINTS';
const eventsPartition = (day: string) => `WEBHOOK_EVENTS#${day}`;

export interface EndpointItem extends WebhookEndpoint {
  secret: string;
  previousSecret?: string;
  failureNotifiedAt?: string;
}

const ENDPOINT_INTERNAL = ['type', 'secret', 'previousSecret', 'failureNotifiedAt'];

export function toEndpoint(item: EndpointItem | Record<string, unknown>): WebhookEndpoint {
  const endpoint = stripKeys(
    item as Record<string, unknown>,
    ENDPOINT_INTERNAL,
  ) as unknown as WebhookEndpoint;
  return { ...endpoint, eventTypes: endpoint.eventTypes ?? null };
}

/** The secrets a delivery signs with at `now`: the current one, and the previous one within its window. */
export function signingSecrets(item: EndpointItem, now: number): string[] {
  const secrets = [item.secret];
  if (item.previousSecret && item.previousSecretExpiresAt && Date.parse(item.previousSecretExpiresAt) > now) {
    secrets.push(item.previousSecret);
  }
  return secrets;
}

// ------------------------------------------------------------------ endpoints

export async function putEndpoint(item: EndpointItem): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: {
        ...webhookKeys.endpoint(item.id),
        type: 'webhook_endpoint',
        GSI4PK: ENDPOINTS,
        GSI4SK: `${item.createdAt}#${item.id}`,
        ...item,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

export async function findEndpointItem(id: string): Promise<EndpointItem | undefined> {
  const result = await dynamo().send(
    new GetCommand({ TableName: table(), Key: webhookKeys.endpoint(id), ConsistentRead: true }),
  );
  return result.Item as EndpointItem | undefined;
}

export async function getEndpointItem(id: string): Promise<EndpointItem> {
  const item = await findEndpointItem(id);
  if (!item) throw new NotFound(`No webhook endpoint ${id}`);
  return item;
}

/** The endpoints with these ids that exist (one BatchGetItem per 100). */
export async function findEndpointItems(ids: readonly string[]): Promise<Map<string, EndpointItem>> {
  const found = new Map<string, EndpointItem>();
  for (const item of await batchGet([...new Set(ids)].map(webhookKeys.endpoint))) {
    found.set(String(item.id), item as EndpointItem);
  }
  return found;
}

export async function listEndpointPage(
  limit: number,
  cursor: string | undefined,
): Promise<Page<WebhookEndpoint>> {
  const page = await queryPage({
    index: 'GSI4',
    partition: { name: 'GSI4PK', value: ENDPOINTS },
    limit,
    cursor,
    ascending: false,
  });
  return { items: page.items.map(toEndpoint), nextCursor: page.nextCursor };
}

/** Every enabled endpoint (a bounded collection: the integrations of one program). */
export async function listEnabledEndpoints(): Promise<EndpointItem[]> {
  const items = await queryAll({
    index: 'GSI4',
    partition: { name: 'GSI4PK', value: ENDPOINTS },
    filter: { expression: '#enabled = :true', names: { '#enabled': 'enabled' }, values: { ':true': true } },
  });
  return items as unknown as EndpointItem[];
}

/**
 * Sets (value) and removes (`null`) attributes and bumps `version`, if the endpoint exists (and, with
 * `condition`, only if it holds). Answers the new item, or undefined when the condition failed.
 */
export async function updateEndpoint(
  id: string,
  changes: Record<string, unknown>,
  condition?: { expression: string; names?: Record<string, string>; values?: Record<string, unknown> },
): Promise<EndpointItem | undefined> {
  const names: Record<string, string> = { '#version': 'version', ...condition?.names };
  const values: Record<string, unknown> = { ':one': 1, ...condition?.values };
  const sets: string[] = ['#version = #version + :one'];
  const removes: string[] = [];
  Object.entries(changes).forEach(([field, value], index) => {
    names[`#f${index}`] = field;
    if (value === null) removes.push(`#f${index}`);
    else {
      values[`:v${index}`] = value;
      sets.push(`#f${index} = :v${index}`);
    }
  });
  try {
    const result = await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: webhookKeys.endpoint(id),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: `attribute_exists(PK)${condition ? ` AND (${condition.expression})` : ''}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return result.Attributes as EndpointItem;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return undefined;
    throw error;
  }
}

export async function deleteEndpoint(id: string): Promise<boolean> {
  try {
    await dynamo().send(
      new DeleteCommand({
        TableName: table(),
        Key: webhookKeys.endpoint(id),
        ConditionExpression: 'attribute_exists(PK)',
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

// ------------------------------------------------------------------ events kept for replay

const expiresAt = (at: number, days: number) => Math.floor(at / 1000) + Math.ceil(days * 86_400);

/**
 * Records a batch's events once each, for replay and so that a second publication of one (the bus
 * delivers at least once; Sync or the outbox sweep may publish again) is not fanned out twice: one
 * consistent BatchGetItem, then one BatchWriteItem per 25 new ones, rather than a conditional
 * PutItem each. `messageId` is the queue message carrying the publication: an event recorded by the
 * same message (handled again: its first fan-out crashed before the message was deleted) fans out
 * again; one recorded by another publication is skipped. Answers the events to fan out. Two
 * publications of one event handled at the very same moment may both fan out (receivers
 * de-duplicate on `webhook-id`); within a batch the first one wins.
 */
export async function recordEvents(
  entries: readonly { event: WebhookEvent; messageId: string }[],
  logDays: number,
): Promise<WebhookEvent[]> {
  const first = new Map<string, { event: WebhookEvent; messageId: string }>();
  for (const entry of entries) if (!first.has(entry.event.id)) first.set(entry.event.id, entry);
  const recorded = new Map<string, string>();
  const found = await batchGet([...first.keys()].map(webhookKeys.event), { projection: ['PK', 'messageId'] });
  for (const item of found)
    recorded.set(String(item.PK).slice('WEBHOOK_EVENT#'.length), String(item.messageId));
  const fresh = [...first.values()].filter(
    ({ event, messageId }) => !recorded.has(event.id) || recorded.get(event.id) === messageId,
  );
  await batchWrite(
    fresh
      .filter(({ event }) => !recorded.has(event.id))
      .map(({ event, messageId }) => ({
        PutRequest: {
          Item: {
            ...webhookKeys.event(event.id),
            type: 'webhook_event',
            GSI4PK: eventsPartition(event.timestamp.slice(0, 10)),
            GSI4SK: `${event.timestamp}#${event.id}`,
            event,
            messageId,
            expiresAt: expiresAt(Date.parse(event.timestamp) || Date.now(), logDays),
          },
        },
      })),
  );
  return fresh.map(({ event }) => event);
}

const live = (item: Record<string, unknown>, now: number) =>
  typeof item.expiresAt !== 'number' || item.expiresAt > Math.floor(now / 1000);

/** The kept events with these ids (unknown or expired ones are left out). */
export async function findEvents(ids: readonly string[]): Promise<WebhookEvent[]> {
  const now = Date.now();
  const found = new Map<string, WebhookEvent>();
  const unique = [...new Set(ids)];
  for (const item of await batchGet(unique.map(webhookKeys.event), { consistent: false })) {
    if (live(item, now)) found.set(String((item.event as WebhookEvent).id), item.event as WebhookEvent);
  }
  return unique.flatMap((id) => found.get(id) ?? []);
}

/** Every kept event since `since`, oldest first (one Query per day partition). */
export async function eventsSince(since: string, logDays: number): Promise<WebhookEvent[]> {
  const now = Date.now();
  const start = Math.max(Date.parse(since), now - Math.ceil(logDays) * 86_400_000 - 86_400_000);
  const events: WebhookEvent[] = [];
  for (let day = Date.parse(new Date(start).toISOString().slice(0, 10)); day <= now; day += 86_400_000) {
    const items = await queryAll({
      index: 'GSI4',
      partition: { name: 'GSI4PK', value: eventsPartition(new Date(day).toISOString().slice(0, 10)) },
    });
    for (const item of items) {
      const event = item.event as WebhookEvent;
      if (event.timestamp >= since && live(item, now)) events.push(event);
    }
  }
  return events;
}

// ------------------------------------------------------------------ the delivery log

export interface DeliveryLogEntry extends WebhookDelivery {
  endpointId: string;
}

/** Appends log entries (BatchWriteItem of 25, in parallel; unprocessed ones retried). */
export async function appendDeliveries(entries: readonly DeliveryLogEntry[], logDays: number): Promise<void> {
  await batchWrite(
    entries.map(({ endpointId, ...delivery }) => ({
      PutRequest: {
        Item: {
          ...webhookKeys.delivery(endpointId, delivery.id),
          type: 'webhook_delivery',
          ...delivery,
          expiresAt: expiresAt(Date.parse(delivery.at), logDays),
        },
      },
    })),
  );
}

export async function listDeliveryPage(
  endpointId: string,
  query: {
    limit: number;
    cursor?: string | undefined;
    status?: string | undefined;
    eventType?: string | undefined;
  },
): Promise<Page<WebhookDelivery>> {
  // To the day, so that a cursor (bound to the query's values) stays valid through the day.
  const today = Math.floor(Date.now() / 86_400_000) * 86_400;
  const filters = ['(attribute_not_exists(expiresAt) OR expiresAt > :today)'];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':today': today };
  if (query.status) {
    filters.push('#status = :status');
    names['#status'] = 'status';
    values[':status'] = query.status;
  }
  if (query.eventType) {
    filters.push('eventType = :eventType');
    values[':eventType'] = query.eventType;
  }
  const page = await queryPage({
    partition: { name: 'PK', value: webhookKeys.endpoint(endpointId).PK },
    sortPrefix: { name: 'SK', value: 'DLV#' },
    filter: { expression: filters.join(' AND '), names, values },
    limit: query.limit,
    cursor: query.cursor,
    ascending: false,
  });
  return {
    items: page.items.map((item) => stripKeys(item, ['type', 'expiresAt']) as unknown as WebhookDelivery),
    nextCursor: page.nextCursor,
  };
}
