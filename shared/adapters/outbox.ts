/**
 * Domain events of resources that have no workflow (`reward.created`, `export.created`,
 * `payout_run.completed`), published at least once the way payout events are: the event is recorded
 * with the change, in the same write (an `outbox` list on the item, with the event's own `evt_…` id
 * and time), published on the bus right after the commit, then cleared from the item. A crash in
 * between leaves it on the item, and the sweep (every few minutes, from the webhook function's
 * schedule) publishes it again. Subscribers de-duplicate on the id (the webhook fan-out records each
 * event id once).
 */
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { newId } from '../domain/ids.ts';
import { dynamo } from './clients.ts';
import { publishEvents } from './events.ts';
import { logger } from './observability.ts';
import { isConditionalCheckFailed, stripKeys, table } from './table.ts';

export interface OutboxEntry {
  id: string;
  type: string;
  at: string;
}

export const OUTBOX = 'outbox';

export function outboxEntry(type: string, at: string): OutboxEntry {
  return { id: newId('event', Date.parse(at) || Date.now()), type, at };
}

/** The event's detail: the resource as the API shows it (version 1 when it has none yet) and the event's id and time. */
function detailOf(resource: Record<string, unknown>, entry: OutboxEntry): Record<string, unknown> {
  return { version: 1, ...resource, eventId: entry.id, eventAt: entry.at };
}

/**
 * Publishes the item's pending events, then removes them from the item if nothing was added
 * meanwhile. Throws if publishing failed (the sweep retries); a failed clean-up only means the sweep
 * publishes them again.
 */
export async function flushOutbox(
  key: { PK: string; SK: string },
  resource: Record<string, unknown>,
  entries: readonly OutboxEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await publishEvents(
    entries.map((entry) => ({ type: entry.type, detail: detailOf(resource, entry), resources: [entry.id] })),
  );
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: key,
        UpdateExpression: 'REMOVE #outbox',
        ConditionExpression: '#outbox = :entries',
        ExpressionAttributeNames: { '#outbox': OUTBOX },
        ExpressionAttributeValues: { ':entries': entries },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/**
 * Right after the commit: publishes the recorded events. A failure is logged, not thrown: the change
 * is committed and the request must not fail for it; the sweep publishes them later.
 */
export async function publishRecorded(
  key: { PK: string; SK: string },
  resource: object,
  entries: readonly OutboxEntry[],
): Promise<void> {
  try {
    await flushOutbox(key, resource as Record<string, unknown>, entries);
  } catch (error) {
    logger.warn('Events recorded but not published yet; the sweep will', {
      error,
      events: entries.map((entry) => entry.id),
    });
  }
}

/** How each collection (its GSI4 partition) shows its resources. */
export type Presenter = (item: Record<string, unknown>) => Record<string, unknown>;

const ITEM_INTERNAL = ['type', OUTBOX];

export const defaultPresenter: Presenter = (item) => stripKeys(item, ITEM_INTERNAL);

/**
 * Publishes what is still pending on items created in `[from, to)` of these collections (GSI4,
 * ordered by creation time). Answers how many events it published.
 */
export async function sweepOutbox(
  collections: Record<string, Presenter>,
  window: { from: string; to: string },
): Promise<number> {
  let published = 0;
  for (const [partition, present] of Object.entries(collections)) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await dynamo().send(
        new QueryCommand({
          TableName: table(),
          IndexName: 'GSI4',
          KeyConditionExpression: 'GSI4PK = :pk AND GSI4SK BETWEEN :from AND :to',
          FilterExpression: 'attribute_exists(#outbox)',
          ExpressionAttributeNames: { '#outbox': OUTBOX },
          ExpressionAttributeValues: { ':pk': partition, ':from': window.from, ':to': window.to },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of result.Items ?? []) {
        const entries = (item[OUTBOX] ?? []) as OutboxEntry[];
        await flushOutbox({ PK: String(item.PK), SK: String(item.SK) }, present(item), entries);
        published += entries.length;
      }
      startKey = result.LastEvaluatedKey;
    } while (startKey);
  }
  return published;
}
