/**
 * The single DynamoDB table: key layout, opaque cursors and paged queries.
 *
 * | item            | PK                 | SK        | GSI1 (by partner)          | GSI2 (by collection)            | GSI3 (unclaimed, sparse)             | GSI4 (by type)        |
 * |-----------------|--------------------|-----------|----------------------------|---------------------------------|--------------------------------------|-----------------------|
 * | partner         | PARTNER#id         | PARTNER   |                            | PARTNERS / createdAt#id         |                                      |                       |
 * | reward          | REWARD#id          | REWARD    | PARTNER#pid / RW#createdAt#id | PAYOUT#poid / RW#id (claimed) | UNCLAIMED#shard / pid#cur#createdAt#id | REWARDS / createdAt#id |
 * | externalId lock | REWARD_EXT#extId   | REWARD_EXT|                            |                                 |                                      |                       |
 * | payout          | PAYOUT#id          | PAYOUT    | PARTNER#pid / PO#createdAt#id | PAYOUT_STATUS#status / createdAt#id |                                 | PAYOUTS / createdAt#id |
 * | draft slot      | SLOT#pid#currency  | SLOT      |                            |                                 |                                      | SLOTS / pid#currency  |
 * | own draft slot  | SLOT#payoutId      | SLOT      |                            |                                 |                                      | SLOTS / pid#cur#poid  |
 * | export link     | PAYOUT#pid         | EXPORT#id |                            |                                 |                                      |                       |
 * | export          | EXPORT#id          | EXPORT    |                            |                                 |                                      | EXPORTS / createdAt#id |
 * | payout run      | RUN#id             | RUN       |                            |                                 |                                      |                       |
 */
import { createHash } from 'node:crypto';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type DeleteCommand,
  type NativeAttributeValue,
  type PutCommand,
  QueryCommand,
  type QueryCommandInput,
  type UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ValidationFailed } from '../domain/errors.ts';
import { dynamo } from './clients.ts';

export const UNCLAIMED_SHARDS = 16;

/**
 * A resource's `version` goes up by one in every write that changes it (in the same conditional
 * write), so a consumer of its events can order them. Added to an UpdateItem's SET; an item written
 * before versions existed counts as version 1.
 */
export const VERSION_BUMP = {
  set: '#version = if_not_exists(#version, :versionOne) + :versionOne',
  names: { '#version': 'version' },
  values: { ':versionOne': 1 },
} as const;

export const keys = {
  partner: (id: string) => ({ PK: `PARTNER#${id}`, SK: 'PARTNER' }),
  reward: (id: string) => ({ PK: `REWARD#${id}`, SK: 'REWARD' }),
  rewardExternal: (externalId: string) => ({ PK: `REWARD_EXT#${externalId}`, SK: 'REWARD_EXT' }),
  payout: (id: string) => ({ PK: `PAYOUT#${id}`, SK: 'PAYOUT' }),
  slot: (partnerId: string, currency: string) => ({ PK: `SLOT#${partnerId}#${currency}`, SK: 'SLOT' }),
  /** A manager's draft's own slot, while it is being written (see ../usecases/draft-writer.ts). */
  ownSlot: (payoutId: string) => ({ PK: `SLOT#${payoutId}`, SK: 'SLOT' }),
  export: (id: string) => ({ PK: `EXPORT#${id}`, SK: 'EXPORT' }),
  run: (id: string) => ({ PK: `RUN#${id}`, SK: 'RUN' }),
};

/** Unclaimed rewards are spread over a few index partitions by partner, so no partition is hot. */
export function unclaimedShard(partnerId: string): number {
  return createHash('sha1').update(partnerId).digest().readUInt16BE(0) % UNCLAIMED_SHARDS;
}

export function unclaimedKeys(reward: {
  id: string;
  partnerId: string;
  currency: string;
  createdAt: string;
}) {
  return {
    GSI3PK: `UNCLAIMED#${unclaimedShard(reward.partnerId)}`,
    GSI3SK: `${reward.partnerId}#${reward.currency}#${reward.createdAt}#${reward.id}`,
  };
}

export const INDEXES = {
  GSI1: ['GSI1PK', 'GSI1SK'],
  GSI2: ['GSI2PK', 'GSI2SK'],
  GSI3: ['GSI3PK', 'GSI3SK'],
  GSI4: ['GSI4PK', 'GSI4SK'],
} as const;
export type IndexName = keyof typeof INDEXES;

const KEY_FIELDS = [
  'PK',
  'SK',
  'GSI1PK',
  'GSI1SK',
  'GSI2PK',
  'GSI2SK',
  'GSI3PK',
  'GSI3SK',
  'GSI4PK',
  'GSI4SK',
];
const KEY_FIELD_SET = new Set(KEY_FIELDS);

/** The item without its key attributes and internal fields. */
export function stripKeys<T extends Record<string, unknown>>(item: T, internal: readonly string[] = []): T {
  // Copied field by field, skipping the others (deleting from a copy turned every copy into a slow
  // dictionary-mode object; a bank report makes one per line).
  const copy: Record<string, unknown> = {};
  for (const field of Object.keys(item)) {
    if (!KEY_FIELD_SET.has(field) && !internal.includes(field)) copy[field] = item[field];
  }
  return copy as T;
}

let tableName: string | undefined;
export function table(): string {
  tableName ??= process.env.TABLE_NAME;
  if (!tableName) throw new Error('Missing environment variable TABLE_NAME');
  return tableName;
}

// ------------------------------------------------------------------ cursors

/**
 * A cursor is base64url JSON of the last item's key, bound to the query it came from by a
 * fingerprint. Anything that does not decode to exactly that shape is a 400, never a 500.
 */
function fingerprint(query: object): string {
  return createHash('sha256').update(JSON.stringify(query)).digest('base64url').slice(0, 16);
}

export function encodeCursor(key: Record<string, unknown>, query: object): string {
  return Buffer.from(JSON.stringify({ k: key, f: fingerprint(query) })).toString('base64url');
}

export function decodeCursor(
  cursor: string,
  expectedKeys: readonly string[],
  query: object,
): Record<string, string> {
  const invalid = () =>
    new ValidationFailed('The cursor is invalid', {
      errors: [{ path: 'cursor', message: 'invalid cursor' }],
    });
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid();
  const { k, f } = parsed as { k?: unknown; f?: unknown };
  if (f !== fingerprint(query) || typeof k !== 'object' || k === null) throw invalid();
  const entries = Object.entries(k);
  const wanted = new Set(expectedKeys);
  if (entries.length !== wanted.size) throw invalid();
  for (const [name, value] of entries) {
    if (!wanted.has(name) || typeof value !== 'string' || value.length === 0 || value.length > 1024)
      throw invalid();
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

// ------------------------------------------------------------------ paged queries

export interface PageQuery {
  index?: IndexName;
  partition: { name: string; value: string };
  sortPrefix?: { name: string; value: string };
  filter?: { expression: string; names: Record<string, string>; values: Record<string, unknown> };
  limit: number;
  cursor?: string | undefined;
  /** Newest first when false. */
  ascending?: boolean;
  consistent?: boolean;
  /** Only these attributes (the key attributes are added for the cursor). */
  projection?: readonly string[];
}

/** `ProjectionExpression` with a name placeholder per attribute (many are reserved words). */
export function projectionOf(fields: readonly string[]): {
  expression: string;
  names: Record<string, string>;
} {
  const names: Record<string, string> = {};
  const parts = fields.map((field, index) => {
    names[`#p${index}`] = field;
    return `#p${index}`;
  });
  return { expression: parts.join(', '), names };
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Returns up to `limit` matching items. DynamoDB applies Limit before the filter, so it keeps reading
 * until the page is full, and builds the cursor from the last item returned (not LastEvaluatedKey).
 */
export async function queryPage(query: PageQuery): Promise<Page<Record<string, unknown>>> {
  const keyFields = query.index ? ['PK', 'SK', ...INDEXES[query.index]] : ['PK', 'SK'];
  const identity = {
    i: query.index ?? null,
    p: query.partition.value,
    s: query.sortPrefix?.value ?? null,
    f: query.filter?.values ?? null,
    a: query.ascending ?? true,
  };
  let startKey: Record<string, unknown> | undefined = query.cursor
    ? decodeCursor(query.cursor, keyFields, identity)
    : undefined;
  // The fingerprint is not a secret: a forged key outside the queried range is a 400, not a DynamoDB 500.
  if (
    startKey &&
    (startKey[query.partition.name] !== query.partition.value ||
      (query.sortPrefix && !String(startKey[query.sortPrefix.name]).startsWith(query.sortPrefix.value)))
  ) {
    throw new ValidationFailed('The cursor is invalid', {
      errors: [{ path: 'cursor', message: 'invalid cursor' }],
    });
  }
  const items: Record<string, unknown>[] = [];
  const projection = query.projection
    ? projectionOf([...new Set([...query.projection, ...keyFields])])
    : undefined;
  let reads = 0;
  // Read one item past the page to know whether another page exists.
  while (items.length <= query.limit) {
    const input: QueryCommandInput = {
      TableName: table(),
      IndexName: query.index,
      KeyConditionExpression: query.sortPrefix ? '#pk = :pk AND begins_with(#sk, :sk)' : '#pk = :pk',
      ProjectionExpression: projection?.expression,
      ExpressionAttributeNames: {
        '#pk': query.partition.name,
        ...(query.sortPrefix ? { '#sk': query.sortPrefix.name } : {}),
        ...query.filter?.names,
        ...projection?.names,
      },
      ExpressionAttributeValues: {
        ':pk': query.partition.value,
        ...(query.sortPrefix ? { ':sk': query.sortPrefix.value } : {}),
        ...query.filter?.values,
      },
      FilterExpression: query.filter?.expression,
      ExclusiveStartKey: startKey,
      ScanIndexForward: query.ascending ?? true,
      ConsistentRead: query.index ? undefined : query.consistent,
      // What the page still needs; a filter that drops items makes later reads larger.
      Limit: Math.max(query.limit + 1 - items.length, query.filter && reads > 0 ? 50 : 1),
    };
    const result = await dynamo().send(new QueryCommand(input));
    reads++;
    for (const item of result.Items ?? []) items.push(item);
    if (!result.LastEvaluatedKey) break;
    startKey = result.LastEvaluatedKey;
  }
  if (items.length <= query.limit) return { items, nextCursor: null };
  const pageItems = items.slice(0, query.limit);
  const last = pageItems[pageItems.length - 1] ?? {};
  const lastKey = Object.fromEntries(keyFields.map((field) => [field, last[field]]));
  return { items: pageItems, nextCursor: encodeCursor(lastKey, identity) };
}

/** Every item of a partition (for bounded collections, e.g. the rewards of one payout). */
export async function queryAll(
  query: Omit<PageQuery, 'limit' | 'cursor'>,
): Promise<Record<string, unknown>[]> {
  const all: Record<string, unknown>[] = [];
  const projection = query.projection ? projectionOf(query.projection) : undefined;
  let startKey: Record<string, unknown> | undefined;
  do {
    const result = await dynamo().send(
      new QueryCommand({
        TableName: table(),
        IndexName: query.index,
        KeyConditionExpression: query.sortPrefix ? '#pk = :pk AND begins_with(#sk, :sk)' : '#pk = :pk',
        ProjectionExpression: projection?.expression,
        ExpressionAttributeNames: {
          '#pk': query.partition.name,
          ...(query.sortPrefix ? { '#sk': query.sortPrefix.name } : {}),
          ...query.filter?.names,
          ...projection?.names,
        },
        ExpressionAttributeValues: {
          ':pk': query.partition.value,
          ...(query.sortPrefix ? { ':sk': query.sortPrefix.value } : {}),
          ...query.filter?.values,
        },
        FilterExpression: query.filter?.expression,
        ExclusiveStartKey: startKey,
      }),
    );
    all.push(...(result.Items ?? []));
    startKey = result.LastEvaluatedKey;
  } while (startKey);
  return all;
}

// ------------------------------------------------------------------ concurrency and batches

/** Runs tasks with at most `concurrency` in flight, the others waiting their turn in order. */
export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

/** The one concurrency limiter of the data access code. */
export function limiter(concurrency: number): Limiter {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active < concurrency) active += 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The slot passes straight to the next task waiting, so no newcomer can slip in between.
      const next = waiting.shift();
      if (next) next();
      else active -= 1;
    }
  };
}

/** Runs `work` on every item, at most `concurrency` at a time. */
export async function forEachLimited<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const run = limiter(concurrency);
  await Promise.all(items.map((item) => run(() => work(item))));
}

/** Keys per BatchGetItem and items per BatchWriteItem: the most DynamoDB takes. */
export const BATCH_GET_KEYS = 100;
export const BATCH_WRITE_ITEMS = 25;
/** Batch requests in flight at a time, per call, unless the caller passes its own limiter. */
export const BATCH_CONCURRENCY = 8;
/** Attempts at a batch whose keys or items keep coming back unprocessed, with backoff in between. */
export const BATCH_ATTEMPTS = 10;

export const backoff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.min(1000, 20 * 2 ** attempt)));

function chunks<T>(items: readonly T[], size: number): T[][] {
  const found: T[][] = [];
  for (let start = 0; start < items.length; start += size) found.push(items.slice(start, start + size));
  return found;
}

export interface BatchGetOptions {
  /** Strongly consistent reads (default true). */
  consistent?: boolean;
  /** Only these attributes. */
  projection?: readonly string[];
  /** The limiter the requests run through (default: a new one of `BATCH_CONCURRENCY`). */
  run?: Limiter;
}

/**
 * The one BatchGetItem: any number of keys, 100 a request, the requests through a limiter,
 * unprocessed keys retried with backoff. Items come back in no given order; missing ones absent.
 */
export async function batchGet(
  itemKeys: readonly Record<string, NativeAttributeValue>[],
  options: BatchGetOptions = {},
): Promise<Record<string, NativeAttributeValue>[]> {
  const run = options.run ?? limiter(BATCH_CONCURRENCY);
  const projection = options.projection ? projectionOf(options.projection) : undefined;
  const found: Record<string, NativeAttributeValue>[] = [];
  const readBatch = async (batch: Record<string, NativeAttributeValue>[]) => {
    let pending = batch;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) {
        if (attempt >= BATCH_ATTEMPTS) throw new Error('BatchGetItem left keys unprocessed');
        await backoff(attempt);
      }
      const result: BatchGetCommandOutput = await dynamo().send(
        new BatchGetCommand({
          RequestItems: {
            [table()]: {
              Keys: pending,
              ConsistentRead: options.consistent ?? true,
              ProjectionExpression: projection?.expression,
              ExpressionAttributeNames: projection?.names,
            },
          },
        }),
      );
      for (const item of result.Responses?.[table()] ?? []) found.push(item);
      pending = result.UnprocessedKeys?.[table()]?.Keys ?? [];
    }
  };
  await Promise.all(chunks(itemKeys, BATCH_GET_KEYS).map((batch) => run(() => readBatch(batch))));
  return found;
}

export type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/**
 * The one BatchWriteItem: any number of puts and deletes, 25 a request, the requests through a
 * limiter, unprocessed items retried with backoff. Unconditional: use it only for items no one else
 * writes meanwhile (or whose every writer writes the same content).
 */
export async function batchWrite(
  requests: readonly WriteRequest[],
  options: { run?: Limiter } = {},
): Promise<void> {
  const run = options.run ?? limiter(BATCH_CONCURRENCY);
  const writeBatch = async (batch: WriteRequest[]) => {
    let pending = batch;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) {
        if (attempt >= BATCH_ATTEMPTS) throw new Error('BatchWriteItem left items unprocessed');
        await backoff(attempt);
      }
      const result = await dynamo().send(new BatchWriteCommand({ RequestItems: { [table()]: pending } }));
      pending = result.UnprocessedItems?.[table()] ?? [];
    }
  };
  await Promise.all(chunks(requests, BATCH_WRITE_ITEMS).map((batch) => run(() => writeBatch(batch))));
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** Sends one conditional write: true when written, false when its condition failed (nothing written). */
export async function writeIf(command: PutCommand | UpdateCommand | DeleteCommand): Promise<boolean> {
  try {
    await dynamo().send(command as UpdateCommand);
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** The table's key schema, shared by the CDK stack and the local emulator so they cannot drift. */
export const TABLE_SCHEMA = {
  partitionKey: 'PK',
  sortKey: 'SK',
  /** Items that expire on their own (rate-limit windows): epoch seconds. */
  ttlAttribute: 'expiresAt',
  indexes: Object.entries(INDEXES).map(([name, [partitionKey, sortKey]]) => ({
    name,
    partitionKey,
    sortKey,
  })),
} as const;

/** Powertools idempotency records: key `id`, TTL on `expiration`. */
export const IDEMPOTENCY_TABLE_SCHEMA = { partitionKey: 'id', ttlAttribute: 'expiration' } as const;
