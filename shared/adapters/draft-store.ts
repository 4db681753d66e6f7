/**
 * Data access of drafting (the protocol is in ../usecases/draft-writer.ts): draft slots, payout-run
 * records, the unclaimed-rewards index and batched writes of new payouts.
 *
 * A slot item (`type: 'slot'`, listed under GSI4 `SLOTS`) names the payout its holder writes or adds
 * to, and holds a lease: `runId` (the holder) and `leaseUntil` (epoch ms). A scheduled run's slot is
 * the partner × currency group's (`SLOT#partner#currency`, kept: it also names the group's open
 * draft); a manager's draft has a slot of its own (`SLOT#<payoutId>`, deleted once the payout is
 * written).
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Reward } from '../domain/schemas.ts';
import { dynamo } from './clients.ts';
import { OUTBOX, type OutboxEntry } from './outbox.ts';
import { type NewPayoutItem, newPayoutRecord, toReward } from './payout-store.ts';
import {
  batchWrite,
  isConditionalCheckFailed,
  keys,
  type Limiter,
  queryAll,
  table,
  writeIf,
} from './table.ts';

// ------------------------------------------------------------------ slots

export interface SlotScope {
  partnerId: string;
  currency: string;
  /** A manager's draft: the slot of this payout alone (else the group's open-draft slot). */
  own?: string;
}

export interface SlotRecord {
  partnerId: string;
  currency: string;
  payoutId: string;
  runId?: string;
  leaseUntil?: number;
  /** Set on a manager's draft's own slot. */
  own?: boolean;
  key: Record<string, string>;
}

export function slotKeyOf(scope: SlotScope): Record<string, string> {
  return scope.own ? keys.ownSlot(scope.own) : keys.slot(scope.partnerId, scope.currency);
}

/** The attributes every slot item carries besides its lease (one place builds them). */
function slotAttributes(scope: SlotScope): Record<string, string | boolean> {
  return {
    partnerId: scope.partnerId,
    currency: scope.currency,
    type: 'slot',
    GSI4PK: 'SLOTS',
    GSI4SK: scope.own
      ? `${scope.partnerId}#${scope.currency}#${scope.own}`
      : `${scope.partnerId}#${scope.currency}`,
    ...(scope.own ? { own: true } : {}),
  };
}

/**
 * Takes the slot's lease for `holder` until `leaseUntil` (one conditional UpdateItem): free, expired,
 * already this holder's, or `staleHolder`'s. The slot keeps the payout it names (`candidateId` when
 * it names none). Undefined when someone else holds it.
 */
export async function leaseSlot(
  scope: SlotScope,
  holder: string,
  candidateId: string,
  leaseUntil: number,
  staleHolder?: string,
): Promise<{ payoutId: string } | undefined> {
  const attributes = slotAttributes(scope);
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {
    ':run': holder,
    ':until': leaseUntil,
    ':candidate': candidateId,
    ':now': Date.now(),
    ...(staleHolder ? { ':stale': staleHolder } : {}),
  };
  const sets = ['runId = :run', 'leaseUntil = :until', 'payoutId = if_not_exists(payoutId, :candidate)'];
  Object.entries(attributes).forEach(([field, value], index) => {
    names[`#a${index}`] = field;
    values[`:a${index}`] = value;
    sets.push(`#a${index} = :a${index}`);
  });
  try {
    const result = await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: slotKeyOf(scope),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression:
          'attribute_not_exists(leaseUntil) OR leaseUntil < :now OR runId = :run' +
          (staleHolder ? ' OR runId = :stale' : ''),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { payoutId: String(result.Attributes?.payoutId) };
  } catch (error) {
    if (isConditionalCheckFailed(error)) return undefined;
    throw error;
  }
}

export async function readSlot(scope: SlotScope): Promise<SlotRecord | undefined> {
  const result = await dynamo().send(
    new GetCommand({ TableName: table(), Key: slotKeyOf(scope), ConsistentRead: true }),
  );
  return result.Item ? toSlot(result.Item) : undefined;
}

function toSlot(item: Record<string, unknown>): SlotRecord {
  return {
    partnerId: String(item.partnerId),
    currency: String(item.currency),
    payoutId: String(item.payoutId),
    ...(typeof item.runId === 'string' ? { runId: item.runId } : {}),
    ...(typeof item.leaseUntil === 'number' ? { leaseUntil: item.leaseUntil } : {}),
    ...(item.own ? { own: true } : {}),
    key: { PK: String(item.PK), SK: String(item.SK) },
  };
}

/** Every slot (recovery walks them; one item per partner × currency ever drafted, and live own slots). */
export async function listSlots(): Promise<SlotRecord[]> {
  return (await queryAll({ index: 'GSI4', partition: { name: 'GSI4PK', value: 'SLOTS' } })).map(toSlot);
}

/** Points the held slot at another payout (its named draft left `draft`). */
export async function pointSlotAt(scope: SlotScope, holder: string, payoutId: string): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: table(),
      Key: slotKeyOf(scope),
      UpdateExpression: 'SET payoutId = :po',
      ConditionExpression: 'runId = :run',
      ExpressionAttributeValues: { ':po': payoutId, ':run': holder },
    }),
  );
}

/**
 * Names `payoutId` as the group's open draft, so scheduled drafting adds to it rather than opening a
 * second one. Skipped (false) while someone holds the group's slot.
 */
export async function nameOpenDraft(partnerId: string, currency: string, payoutId: string): Promise<boolean> {
  const attributes = slotAttributes({ partnerId, currency });
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':po': payoutId, ':now': Date.now() };
  const sets = ['payoutId = :po'];
  Object.entries(attributes).forEach(([field, value], index) => {
    names[`#a${index}`] = field;
    values[`:a${index}`] = value;
    sets.push(`#a${index} = :a${index}`);
  });
  return writeIf(
    new UpdateCommand({
      TableName: table(),
      Key: keys.slot(partnerId, currency),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil < :now',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

/** Deletes a slot while it is as read (same holder and lease); false when it changed meanwhile. */
export async function deleteSlot(slot: Pick<SlotRecord, 'key' | 'runId' | 'leaseUntil'>): Promise<boolean> {
  return writeIf(
    new DeleteCommand({
      TableName: table(),
      Key: slot.key,
      ConditionExpression: 'runId = :run AND leaseUntil = :until',
      ExpressionAttributeValues: { ':run': slot.runId ?? '', ':until': slot.leaseUntil ?? 0 },
    }),
  );
}

// ------------------------------------------------------------------ new payouts, batched

/**
 * Puts new payouts with BatchWriteItem, which cannot be conditional: the draft writer sends here
 * only payouts no one else can be writing (see its "Writes" rules).
 */
export async function putNewPayoutsUnconditionally(
  items: readonly NewPayoutItem[],
  run: Limiter,
): Promise<void> {
  await batchWrite(
    items.map((item) => ({ PutRequest: { Item: newPayoutRecord(item) } })),
    { run },
  );
}

// ------------------------------------------------------------------ payout runs

export const RUNS = 'RUNS';

export async function putRunItem(run: { id: string }): Promise<void> {
  await dynamo().send(
    new PutCommand({ TableName: table(), Item: { ...keys.run(run.id), type: 'run', ...run } }),
  );
}

export async function findRunItem(
  id: string,
  consistent = true,
): Promise<Record<string, unknown> | undefined> {
  const result = await dynamo().send(
    new GetCommand({ TableName: table(), Key: keys.run(id), ConsistentRead: consistent || undefined }),
  );
  return result.Item;
}

/**
 * Saves a run's state, with the outbox entries recorded in the same write: its version one more than
 * the state it was computed from, refusing to go back to an older version (a stale invocation fails
 * and is retried from the stored state).
 */
export async function saveRunItem(
  run: { id: string; createdAt: string; version: number },
  outbox: readonly OutboxEntry[] = [],
): Promise<void> {
  await dynamo().send(
    new PutCommand({
      ConditionExpression: 'attribute_not_exists(#version) OR #version <= :version',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':version': run.version },
      TableName: table(),
      Item: {
        ...keys.run(run.id),
        type: 'run',
        // By creation time, for the outbox sweep (./outbox.ts).
        GSI4PK: RUNS,
        GSI4SK: `${run.createdAt}#${run.id}`,
        ...run,
        ...(outbox.length > 0 ? { [OUTBOX]: outbox } : {}),
      },
    }),
  );
}

// ------------------------------------------------------------------ the unclaimed index

/**
 * The unclaimed rewards of one shard of GSI3 created by `cutoff`, in index order (partner, currency,
 * creation time), page by page: only those of `filter`'s partner (and currency), or from the group
 * key `from` on.
 */
export async function* unclaimedRewards(
  shard: number,
  cutoff: string,
  filter: { partnerId?: string | undefined; currency?: string | undefined },
  from?: string,
): AsyncGenerator<Reward> {
  const prefix = filter.partnerId
    ? `${filter.partnerId}#${filter.currency ? `${filter.currency}#` : ''}`
    : undefined;
  const keyCondition = prefix
    ? 'GSI3PK = :pk AND begins_with(GSI3SK, :prefix)'
    : from
      ? 'GSI3PK = :pk AND GSI3SK >= :from'
      : 'GSI3PK = :pk';
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo().send(
      new QueryCommand({
        TableName: table(),
        IndexName: 'GSI3',
        KeyConditionExpression: keyCondition,
        FilterExpression: `createdAt <= :cutoff${filter.currency ? ' AND currency = :currency' : ''}`,
        ExpressionAttributeValues: {
          ':pk': `UNCLAIMED#${shard}`,
          ':cutoff': cutoff,
          ...(prefix ? { ':prefix': prefix } : {}),
          ...(!prefix && from ? { ':from': from } : {}),
          ...(filter.currency ? { ':currency': filter.currency } : {}),
        },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) yield toReward(item);
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}
