/**
 * Hold items. A hold is one item; its partner's index partition (GSI1 `PARTNER#pid`, `HOLD#…`) finds
 * every hold that may touch a partner, their payouts or rewards in one Query; the sparse GSI2
 * `HOLDS_ACTIVE` lists the active ones (few), GSI4 `HOLDS` all of them. Resolving is one conditional
 * update from active, so a hold is released or confirmed once.
 *
 * The checks that gate money (export, mark paid, approve, validate) must not miss a hold placed a
 * moment before, and indexes are eventually consistent on AWS. So each active hold also has a
 * **marker** in one base-table partition (`HOLD_MARKERS` / `<partnerId>#<holdId>`, a copy of the
 * hold), written right after the hold and before the 201, retired right after it is resolved (and
 * deleted a day later by the table's TTL: the checking functions need no DeleteItem). The
 * checks read the markers with a strongly consistent Query, together with the index, and then each
 * hold they name with a consistent GetItem: the hold item decides. A crash between the two writes
 * leaves a hold without its marker (found by the index, marked again) or a marker of a resolved hold
 * (retired on sight).
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { HoldResolution } from '../domain/controls.ts';
import { Conflict, NotFound } from '../domain/errors.ts';
import type { Actor, Hold } from '../domain/schemas.ts';
import { dynamo } from './clients.ts';
import { isConditionalCheckFailed, type Page, queryAll, queryPage, stripKeys, table } from './table.ts';

export type HoldItem = Omit<Hold, 'status' | 'dueForReview'>;

const holdKey = (id: string) => ({ PK: `HOLD#${id}`, SK: 'HOLD' });

export function toHold(item: Record<string, unknown>, now = Date.now()): Hold {
  const hold = stripKeys(item, ['type']) as unknown as HoldItem;
  const status = hold.resolution ?? 'active';
  const due = status === 'active' && hold.reviewBy !== undefined && Date.parse(hold.reviewBy) <= now;
  return { ...hold, status, ...(due ? { dueForReview: true } : {}) };
}

const MARKERS = 'HOLD_MARKERS';
const markerKey = (hold: Pick<HoldItem, 'id' | 'partnerId'>) => ({
  PK: MARKERS,
  SK: `${hold.partnerId}#${hold.id}`,
});

async function putMarker(hold: HoldItem): Promise<void> {
  await dynamo().send(
    new PutCommand({ TableName: table(), Item: { ...hold, ...markerKey(hold), type: 'holdMarker' } }),
  );
}

/** How long a retired marker stays (then the table's TTL deletes it; reads skip it before). */
const RETIRED_MARKER_SECONDS = 86_400;

/**
 * Retires a marker: `retired`, and deleted by the table's TTL a day later (an UpdateItem, so the
 * functions that check holds need no DeleteItem). Nothing when there is no marker.
 */
async function retireMarker(hold: Pick<HoldItem, 'id' | 'partnerId'>): Promise<void> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: markerKey(hold),
        UpdateExpression: 'SET retired = :true, expiresAt = :expires',
        ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(retired)',
        ExpressionAttributeValues: {
          ':true': true,
          ':expires': Math.floor(Date.now() / 1000) + RETIRED_MARKER_SECONDS,
        },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/** The markers of the active holds (of one partner), read strongly consistently. */
async function readMarkers(partnerId?: string): Promise<Hold[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const result = await dynamo().send(
      new QueryCommand({
        TableName: table(),
        ConsistentRead: true,
        KeyConditionExpression: partnerId ? 'PK = :pk AND begins_with(SK, :prefix)' : 'PK = :pk',
        ExpressionAttributeValues: { ':pk': MARKERS, ...(partnerId ? { ':prefix': `${partnerId}#` } : {}) },
        ExclusiveStartKey: startKey,
      }),
    );
    // Retired markers wait for the TTL: skipped.
    items.push(...(result.Items ?? []).filter((item) => item.retired !== true));
    startKey = result.LastEvaluatedKey;
  } while (startKey);
  const now = Date.now();
  return items.map((item) => toHold(stripKeys(item, ['type', 'retired', 'expiresAt']), now));
}

/**
 * The active holds, exactly: the holds the markers or the index name, each read with a consistent
 * GetItem (few: holds are exceptions). A hold without its marker is marked again; a marker of a
 * resolved (or missing) hold is retired.
 */
async function consistentActive(markers: Hold[], indexed: Hold[]): Promise<Hold[]> {
  const marked = new Map(markers.map((hold) => [hold.id, hold]));
  const candidates = new Map(marked);
  for (const hold of indexed) if (hold.status === 'active') candidates.set(hold.id, hold);
  const found = await Promise.all(
    [...candidates.values()].map(async (hold) => {
      const current = await dynamo().send(
        new GetCommand({ TableName: table(), Key: holdKey(hold.id), ConsistentRead: true }),
      );
      const active = current.Item !== undefined && current.Item.resolution === undefined;
      if (active && !marked.has(hold.id)) {
        await putMarker(stripKeys(current.Item ?? {}, ['type']) as unknown as HoldItem);
      }
      if (!active && marked.has(hold.id)) await retireMarker(hold);
      return active ? [toHold(current.Item ?? {})] : [];
    }),
  );
  return found.flat();
}

/** Every active hold that names this partner (on them, their payouts or rewards), read consistently. */
export async function activeHoldsOf(partnerId: string): Promise<Hold[]> {
  const [markers, indexed] = await Promise.all([readMarkers(partnerId), holdsOfPartner(partnerId)]);
  return consistentActive(markers, indexed);
}

/**
 * What a payout's `hold` view reads (../usecases/hold-checks.ts `showHolds`): the markers of one
 * partner or of all (one strongly consistent Query), then `confirmMarkedHolds` on those of the
 * partners shown (one GetItem each: few). Every hold whose placement was answered has its marker
 * (written before the 201), so a view misses none of them; the checks that gate money read the index
 * too (`activeHoldsOf`), for a hold whose marker write crashed before its request was answered.
 */
export function readHoldMarkers(partnerId?: string): Promise<Hold[]> {
  return readMarkers(partnerId);
}

/** The marked holds that are still active, each confirmed by its hold item. */
export function confirmMarkedHolds(markers: Hold[]): Promise<Hold[]> {
  return consistentActive(markers, []);
}

/** Every active hold, read consistently (see the top of this file). */
export async function activeHoldsConsistent(): Promise<Hold[]> {
  const [markers, indexed] = await Promise.all([readMarkers(), activeHolds()]);
  return consistentActive(markers, indexed);
}

/** Stores a hold, then its marker (so the checks see it before the request answers). */
export async function putHold(hold: HoldItem): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: {
        ...holdKey(hold.id),
        type: 'hold',
        GSI1PK: `PARTNER#${hold.partnerId}`,
        GSI1SK: `HOLD#${hold.createdAt}#${hold.id}`,
        GSI2PK: 'HOLDS_ACTIVE',
        GSI2SK: `${hold.createdAt}#${hold.id}`,
        GSI4PK: 'HOLDS',
        GSI4SK: `${hold.createdAt}#${hold.id}`,
        ...hold,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
  await putMarker(hold);
}

export async function findHold(id: string): Promise<Hold | undefined> {
  const result = await dynamo().send(
    new GetCommand({ TableName: table(), Key: holdKey(id), ConsistentRead: true }),
  );
  return result.Item ? toHold(result.Item) : undefined;
}

export async function getHold(id: string): Promise<Hold> {
  const hold = await findHold(id);
  if (!hold) throw new NotFound(`No hold ${id}`);
  return hold;
}

/** Every hold (active or not) that names this partner: on them, their payouts or their rewards. */
export async function holdsOfPartner(partnerId: string): Promise<Hold[]> {
  const items = await queryAll({
    index: 'GSI1',
    partition: { name: 'GSI1PK', value: `PARTNER#${partnerId}` },
    sortPrefix: { name: 'GSI1SK', value: 'HOLD#' },
  });
  const now = Date.now();
  return items.map((item) => toHold(item, now));
}

/** Every active hold (a short list: holds are exceptions). */
export async function activeHolds(): Promise<Hold[]> {
  const items = await queryAll({ index: 'GSI2', partition: { name: 'GSI2PK', value: 'HOLDS_ACTIVE' } });
  const now = Date.now();
  return items.map((item) => toHold(item, now));
}

export interface HoldFilter {
  active?: boolean | undefined;
  scope?: string | undefined;
  targetId?: string | undefined;
  partnerId?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** Holds, newest first: of one partner (GSI1), the active ones (GSI2), or all (GSI4). */
export async function listHoldItems(filter: HoldFilter): Promise<Page<Hold>> {
  const conditions: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  if (filter.scope) {
    conditions.push('#scope = :scope');
    names['#scope'] = 'scope';
    values[':scope'] = filter.scope;
  }
  if (filter.targetId) {
    conditions.push('#targetId = :targetId');
    names['#targetId'] = 'targetId';
    values[':targetId'] = filter.targetId;
  }
  if (filter.active === false) {
    conditions.push('attribute_exists(#resolution)');
    names['#resolution'] = 'resolution';
  } else if (filter.active === true && filter.partnerId) {
    conditions.push('attribute_not_exists(#resolution)');
    names['#resolution'] = 'resolution';
  }
  const where = conditions.length ? { expression: conditions.join(' AND '), names, values } : undefined;
  const page = filter.partnerId
    ? await queryPage({
        index: 'GSI1',
        partition: { name: 'GSI1PK', value: `PARTNER#${filter.partnerId}` },
        sortPrefix: { name: 'GSI1SK', value: 'HOLD#' },
        filter: where,
        limit: filter.limit,
        cursor: filter.cursor,
        ascending: false,
      })
    : await queryPage({
        index: filter.active === true ? 'GSI2' : 'GSI4',
        partition:
          filter.active === true
            ? { name: 'GSI2PK', value: 'HOLDS_ACTIVE' }
            : { name: 'GSI4PK', value: 'HOLDS' },
        filter: where,
        limit: filter.limit,
        cursor: filter.cursor,
        ascending: false,
      });
  const now = Date.now();
  return { items: page.items.map((item) => toHold(item, now)), nextCursor: page.nextCursor };
}

/** Ends an active hold (one conditional write); 409 when it is no longer active. */
export async function resolveHold(
  id: string,
  resolution: HoldResolution,
  actor: Actor,
  note: string,
  at: string,
): Promise<Hold> {
  try {
    const result = await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: holdKey(id),
        UpdateExpression:
          'SET #resolution = :resolution, resolvedAt = :at, resolvedBy = :actor, resolutionNote = :note REMOVE GSI2PK, GSI2SK',
        ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(#resolution)',
        ExpressionAttributeNames: { '#resolution': 'resolution' },
        ExpressionAttributeValues: { ':resolution': resolution, ':at': at, ':actor': actor, ':note': note },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const resolved = toHold(result.Attributes ?? {});
    await retireMarker(resolved);
    return resolved;
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    const current = await findHold(id);
    if (!current) throw new NotFound(`No hold ${id}`);
    await retireMarker(current); // a retry after a crash between the resolution and this
    throw new Conflict(`The hold was already ${current.status}`, { data: { status: current.status } });
  }
}
