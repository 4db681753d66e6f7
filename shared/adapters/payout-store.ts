/**
 * Payout and reward items. Every payout transition is one conditional UpdateItem that also appends
 * the history entry; a reward belongs to a payout when its own item says so.
 */
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  GetCommand,
  type NativeAttributeValue,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ENV, intEnv } from '../config/env.ts';
import { Conflict, InvalidTransition, NotFound, PreconditionFailed } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import type { Address } from '../domain/partner-schemas.ts';
import type { Actor, Payout, PayoutEvent, PayoutStatus, Reward, RewardReview } from '../domain/schemas.ts';
import type { BillingDetails } from '../self-billing/model.ts';
import { dynamo } from './clients.ts';
import { isConditionalCheckFailed, keys, queryAll, stripKeys, table, unclaimedKeys } from './table.ts';

/**
 * How long a draft stays locked while its rewards are being changed (claims, decisions); a drafting
 * slot's lease is twice this. `DRAFT_LEASE_MS` shortens it for tests that wait for a dead run's leases.
 */
export const LEASE_MS = intEnv(ENV.draftLeaseMs, 30_000);

const PAYOUT_INTERNAL = [
  'type',
  'events',
  'reviews',
  'rewardIds',
  'leaseUntil',
  'task',
  'exportIds',
  'invoiceKey',
  'reminders',
  'publishedEvents',
  'selfBillingSnapshot',
  'approvalHash',
  'methodReleasedBy',
  'exportRefs',
];

export interface PayoutItem extends Payout {
  events: PayoutEvent[];
  reviews: Record<string, RewardReview>;
  rewardIds: string[];
  leaseUntil?: number;
  task?: { token: string; stage: PayoutStatus };
  exportIds?: string[];
  invoiceKey?: string;
  /** The approval's binding (../domain/controls.ts `approvalHash`). */
  approvalHash?: string;
  /** Who released a PAYOUT_METHOD_CHANGED hold over it: they may not export or mark it paid. */
  methodReleasedBy?: string;
  /** Every EndToEndId the payout was exported under → its export id (see settlement). */
  exportRefs?: Record<string, string>;
  /** The partner's billing details and series as the payout was validated in self_billed mode. */
  selfBillingSnapshot?: SelfBillingSnapshot;
}

export interface SelfBillingSnapshot {
  billing: BillingDetails;
  address: Address;
  seriesPrefix: string;
}

/** The attributes a payout shows through the API (reads that need nothing else project to these). */
export const PAYOUT_VIEW = [
  'id',
  'partnerId',
  'currency',
  'status',
  'amount',
  'rewardCount',
  'requirements',
  'message',
  'invoice',
  'paymentReference',
  'vatAmount',
  'amountToPay',
  'selfBilledInvoice',
  'selfBilledCreditNote',
  'payoutMethod',
  'approval',
  'exportId',
  'endToEndId',
  'paidSource',
  'failure',
  'reissueOf',
  'reissuedAs',
  'createdAt',
  'updatedAt',
  'validatedAt',
  'partnerValidatedAt',
  'processingAt',
  'paidAt',
  'failedAt',
  'cancelledAt',
  'version',
] as const;

export function toPayout(item: Record<string, unknown> | PayoutItem): Payout {
  return stripKeys(item as Record<string, unknown>, PAYOUT_INTERNAL) as unknown as Payout;
}

export function toReward(item: Record<string, unknown>): Reward {
  const reward = stripKeys(item, ['type', 'paidAt', 'outbox']) as unknown as Reward;
  return { ...reward, payoutId: reward.payoutId ?? null };
}

export function payoutIndexKeys(payout: {
  id: string;
  partnerId: string;
  status: PayoutStatus;
  createdAt: string;
}) {
  return {
    GSI1PK: `PARTNER#${payout.partnerId}`,
    GSI1SK: `PO#${payout.createdAt}#${payout.id}`,
    GSI2PK: `PAYOUT_STATUS#${payout.status}`,
    GSI2SK: `${payout.createdAt}#${payout.id}`,
    GSI4PK: 'PAYOUTS',
    GSI4SK: `${payout.createdAt}#${payout.id}`,
  };
}

export function newEvent(
  type: string,
  actor: Actor,
  at: string,
  extra: { from?: PayoutStatus; to?: PayoutStatus; data?: Record<string, unknown> } = {},
): PayoutEvent {
  return { id: newId('event'), type, at, actor, ...extra };
}

export async function findPayoutItem(id: string): Promise<PayoutItem | undefined> {
  const result = await dynamo().send(
    new GetCommand({ TableName: table(), Key: keys.payout(id), ConsistentRead: true }),
  );
  return result.Item as PayoutItem | undefined;
}

export async function getPayoutItem(id: string): Promise<PayoutItem> {
  const item = await findPayoutItem(id);
  if (!item) throw new NotFound(`No payout ${id}`);
  return item;
}

export async function putNewPayout(item: PayoutItem): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: { ...keys.payout(item.id), type: 'payout', ...payoutIndexKeys(item), ...item },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

export interface PayoutUpdate {
  /** Statuses the payout must be in. */
  from: readonly PayoutStatus[];
  /** Version the caller read; the write fails with 409 if another change won. */
  version?: number;
  /** If-Match header: a stale version answers 412. */
  ifMatch?: number | undefined;
  /** Refuse while another request holds the draft lease. */
  respectLease?: boolean;
  /** An extra condition (its own `#c…`/`:c…` names), e.g. that the payout is not reissued. */
  condition?: {
    expression: string;
    names?: Record<string, string>;
    values?: Record<string, NativeAttributeValue>;
    /** The error when only this condition failed. */
    error?: () => Error;
  };
  to?: PayoutStatus;
  set?: Record<string, NativeAttributeValue>;
  remove?: string[];
  events: PayoutEvent[];
  at: string;
}

/**
 * One conditional UpdateItem: the status check, the version bump, the change and its history entry
 * succeed or fail together.
 */
export async function updatePayout(id: string, update: PayoutUpdate): Promise<PayoutItem> {
  const names: Record<string, string> = { '#status': 'status', '#version': 'version', '#events': 'events' };
  const values: Record<string, NativeAttributeValue> = {
    ':one': 1,
    ':events': update.events,
    ':updatedAt': update.at,
  };
  const sets = [
    '#version = #version + :one',
    '#events = list_append(#events, :events)',
    'updatedAt = :updatedAt',
  ];
  const conditions: string[] = ['attribute_exists(PK)'];
  const fromNames = update.from.map((status, index) => {
    values[`:from${index}`] = status;
    return `:from${index}`;
  });
  conditions.push(`#status IN (${fromNames.join(', ')})`);
  const expected = update.ifMatch ?? update.version;
  if (expected !== undefined) {
    conditions.push('#version = :expected');
    values[':expected'] = expected;
  }
  if (update.respectLease) {
    conditions.push('(attribute_not_exists(leaseUntil) OR leaseUntil < :now)');
    values[':now'] = Date.parse(update.at);
  }
  if (update.condition) {
    conditions.push(`(${update.condition.expression})`);
    Object.assign(names, update.condition.names ?? {});
    Object.assign(values, update.condition.values ?? {});
  }
  let fieldIndex = 0;
  const setField = (field: string, value: NativeAttributeValue) => {
    const path = field
      .split('.')
      .map((part) => {
        const name = `#f${fieldIndex++}`;
        names[name] = part;
        return name;
      })
      .join('.');
    const valueName = `:v${fieldIndex++}`;
    values[valueName] = value;
    sets.push(`${path} = ${valueName}`);
  };
  if (update.to) {
    setField('status', update.to);
    setField('GSI2PK', `PAYOUT_STATUS#${update.to}`);
  }
  for (const [field, value] of Object.entries(update.set ?? {})) setField(field, value);
  const removes = (update.remove ?? []).map((field) =>
    field
      .split('.')
      .map((part) => {
        const name = `#f${fieldIndex++}`;
        names[name] = part;
        return name;
      })
      .join('.'),
  );
  try {
    const result = await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.payout(id),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: conditions.join(' AND '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return result.Attributes as PayoutItem;
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    // dynalite has no ReturnValuesOnConditionCheckFailure: read the item to say why.
    const current = await findPayoutItem(id);
    if (!current) throw new NotFound(`No payout ${id}`);
    if (!update.from.includes(current.status)) {
      throw new InvalidTransition(`The payout is ${current.status}`, { data: { status: current.status } });
    }
    if (update.ifMatch !== undefined && current.version !== update.ifMatch) {
      throw new PreconditionFailed(`The payout is at version ${current.version}, not ${update.ifMatch}`);
    }
    if (update.condition?.error && (expected === undefined || current.version === expected)) {
      throw update.condition.error();
    }
    throw new Conflict('The payout was changed by another request; read it again and retry', {
      data: { version: current.version },
    });
  }
}

// ------------------------------------------------------------------ rewards

export async function findRewardItem(id: string): Promise<Record<string, unknown> | undefined> {
  const result = await dynamo().send(
    new GetCommand({ TableName: table(), Key: keys.reward(id), ConsistentRead: true }),
  );
  return result.Item;
}

/** Strongly consistent reads of many rewards, in their given order (missing ones left out). */
export async function getRewardItems(ids: readonly string[]): Promise<Record<string, unknown>[]> {
  const unique = [...new Set(ids)];
  const found = new Map<string, Record<string, unknown>>();
  for (let start = 0; start < unique.length; start += 100) {
    let request: Record<string, { Keys: Record<string, string>[]; ConsistentRead: boolean }> | undefined = {
      [table()]: { Keys: unique.slice(start, start + 100).map(keys.reward), ConsistentRead: true },
    };
    for (let attempt = 0; request && attempt < 10; attempt++) {
      const result: BatchGetCommandOutput = await dynamo().send(
        new BatchGetCommand({ RequestItems: request }),
      );
      for (const item of result.Responses?.[table()] ?? []) found.set(String(item.id), item);
      const unprocessed: { Keys?: Record<string, unknown>[] } | undefined = result.UnprocessedKeys?.[table()];
      request = unprocessed?.Keys?.length
        ? { [table()]: { Keys: unprocessed.Keys as Record<string, string>[], ConsistentRead: true } }
        : undefined;
      if (request) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
    }
    if (request) throw new Error('BatchGetItem left keys unprocessed');
  }
  return ids.flatMap((id) => {
    const item = found.get(id);
    return item ? [item] : [];
  });
}

/**
 * The rewards that belong to a payout, read consistently: the ids the payout recorded plus any the
 * index knows (a claim whose follow-up crashed), kept only if the reward item itself says so.
 */
export async function loadPayoutRewards(payout: Pick<PayoutItem, 'id' | 'rewardIds'>): Promise<Reward[]> {
  const indexed = await queryAll({
    index: 'GSI2',
    partition: { name: 'GSI2PK', value: `PAYOUT#${payout.id}` },
  });
  const ids = [...new Set([...(payout.rewardIds ?? []), ...indexed.map((item) => String(item.id))])];
  const items = await getRewardItems(ids);
  return items
    .filter((item) => item.payoutId === payout.id)
    .map(toReward)
    .sort((a, b) =>
      a.createdAt === b.createdAt ? a.id.localeCompare(b.id) : a.createdAt.localeCompare(b.createdAt),
    );
}

export interface ClaimScope {
  partnerId: string;
  currency: string;
}

/** Claims one reward for a payout: a conditional write on the reward's own item. */
export async function claimReward(
  rewardId: string,
  payoutId: string,
  scope: ClaimScope,
  at: string,
): Promise<boolean> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.reward(rewardId),
        UpdateExpression:
          'SET payoutId = :po, GSI2PK = :gpk, GSI2SK = :gsk, updatedAt = :at REMOVE GSI3PK, GSI3SK',
        ConditionExpression:
          'attribute_exists(PK) AND attribute_not_exists(payoutId) AND #status IN (:pending, :accepted) AND partnerId = :pid AND currency = :cur',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':po': payoutId,
          ':gpk': `PAYOUT#${payoutId}`,
          ':gsk': `RW#${rewardId}`,
          ':at': at,
          ':pending': 'pending',
          ':accepted': 'accepted',
          ':pid': scope.partnerId,
          ':cur': scope.currency,
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/**
 * Releases a reward from a payout (cancel, or a failed draft). Idempotent. The condition pins the
 * status it read; if a decision changed it meanwhile, it reads the reward again and retries.
 */
export async function releaseReward(reward: Reward, payoutId: string, at: string): Promise<void> {
  let current: Reward | undefined = reward;
  for (let attempt = 0; current && attempt < 5; attempt++) {
    const claimable = current.status === 'pending' || current.status === 'accepted';
    const unclaimed = unclaimedKeys(current);
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: table(),
          Key: keys.reward(current.id),
          UpdateExpression: claimable
            ? 'SET updatedAt = :at, GSI3PK = :u1, GSI3SK = :u2 REMOVE payoutId, GSI2PK, GSI2SK'
            : 'SET updatedAt = :at REMOVE payoutId, GSI2PK, GSI2SK',
          ConditionExpression: 'payoutId = :po AND #status = :status',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':at': at,
            ':po': payoutId,
            ':status': current.status,
            ...(claimable ? { ':u1': unclaimed.GSI3PK, ':u2': unclaimed.GSI3SK } : {}),
          },
        }),
      );
      return;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const item = await findRewardItem(current.id);
    current = item && item.payoutId === payoutId ? toReward(item) : undefined;
  }
}

/** Marks a reward of a paid payout paid. Idempotent; refused rewards stay refused. */
export async function markRewardPaid(rewardId: string, payoutId: string, at: string): Promise<void> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.reward(rewardId),
        UpdateExpression: 'SET #status = :paid, paidAt = :at, updatedAt = :at',
        ConditionExpression: 'payoutId = :po AND #status IN (:pending, :accepted)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':paid': 'paid',
          ':at': at,
          ':po': payoutId,
          ':pending': 'pending',
          ':accepted': 'accepted',
        },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/** A reward of a payout that failed after it was paid goes back to accepted. Idempotent. */
export async function unpayReward(rewardId: string, payoutId: string, at: string): Promise<void> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.reward(rewardId),
        UpdateExpression: 'SET #status = :accepted, updatedAt = :at REMOVE paidAt',
        ConditionExpression: 'payoutId = :po AND #status = :paid',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':accepted': 'accepted', ':paid': 'paid', ':at': at, ':po': payoutId },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/** Moves a reward from a failed payout to the payout reissuing it. Idempotent. */
export async function moveReward(rewardId: string, from: string, to: string, at: string): Promise<void> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.reward(rewardId),
        UpdateExpression: 'SET payoutId = :to, GSI2PK = :gpk, GSI2SK = :gsk, updatedAt = :at',
        ConditionExpression: 'payoutId = :from',
        ExpressionAttributeValues: {
          ':to': to,
          ':from': from,
          ':gpk': `PAYOUT#${to}`,
          ':gsk': `RW#${rewardId}`,
          ':at': at,
        },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/** Runs `work` on the rewards of at most `concurrency` items at a time. */
export async function forEachLimited<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
}

/**
 * Strongly consistent reads of many payouts (100 keys a BatchGetItem), by id; missing ones absent.
 * With `fields`, only those attributes are read (a partial item: its history is often most of it).
 */
export async function findPayoutItems(
  ids: readonly string[],
  fields?: readonly string[],
): Promise<Map<string, PayoutItem>> {
  const projection = fields
    ? {
        ProjectionExpression: fields.map((_, index) => `#f${index}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(fields.map((field, index) => [`#f${index}`, field])),
      }
    : {};
  const unique = [...new Set(ids)];
  const found = new Map<string, PayoutItem>();
  for (let start = 0; start < unique.length; start += 100) {
    let pending: Record<string, unknown>[] = unique.slice(start, start + 100).map(keys.payout);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= 10) throw new Error('BatchGetItem left keys unprocessed');
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
      const result: BatchGetCommandOutput = await dynamo().send(
        new BatchGetCommand({
          RequestItems: { [table()]: { Keys: pending, ConsistentRead: true, ...projection } },
        }),
      );
      for (const item of result.Responses?.[table()] ?? []) found.set(String(item.id), item as PayoutItem);
      pending = (result.UnprocessedKeys?.[table()]?.Keys ?? []) as Record<string, unknown>[];
    }
  }
  return found;
}
