/**
 * Payout and reward items. Every payout transition is one conditional UpdateItem that also appends
 * its history entries to the item's small outbox (see ./payout-history.ts for how entries, reviews
 * and upload keys become their own items and why readers still see each transition atomically); a
 * reward belongs to a payout when its own item says so.
 */
import { GetCommand, type NativeAttributeValue, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ENV, intEnv } from '../config/env.ts';
import { Conflict, InvalidTransition, NotFound, PreconditionFailed } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import type { Address } from '../domain/partner-schemas.ts';
import type { Actor, Payout, PayoutEvent, PayoutStatus, Reward } from '../domain/schemas.ts';
import type { BillingDetails } from '../self-billing/model.ts';
import { dynamo } from './clients.ts';
import { outboxText } from './history-outbox.ts';
import { flushHistory, flushHistoryQuietly, type HistoryEntry, MAX_OUTBOX } from './payout-history.ts';
import {
  batchGet,
  forEachLimited,
  isConditionalCheckFailed,
  keys,
  projectionOf,
  queryAll,
  stripKeys,
  table,
  unclaimedKeys,
  VERSION_BUMP,
  writeIf,
} from './table.ts';

export { forEachLimited };

/**
 * How long a draft stays locked while its rewards are being changed (claims, decisions); a drafting
 * slot's lease is twice this. `DRAFT_LEASE_MS` shortens it for tests that wait for a dead run's leases.
 */
export const LEASE_MS = intEnv(ENV.draftLeaseMs, 30_000);

const PAYOUT_INTERNAL = [
  'type',
  'seq',
  'flushed',
  'outbox',
  'reviewRound',
  'memberCount',
  'leaseUntil',
  'task',
  'invoiceKey',
  'latestUpload',
  'reminders',
  'publishedEvents',
  'workflow',
  'selfBillingSnapshot',
  'approvalHash',
  'rewardsDigest',
  'validatedBy',
  'methodReleasedBy',
  'exportRefs',
];

/**
 * The payout item: only bounded attributes (no list that grows with rewards, reviews, rounds or
 * exports). Its history is `seq` entries long, of which `outbox` holds the ones not yet stored as
 * their own items.
 */
export interface PayoutItem extends Payout {
  seq: number;
  flushed: number;
  outbox: HistoryEntry[];
  /** Review round: bumped by each manager validation; reviews of older rounds no longer count. */
  reviewRound?: number;
  /** How many rewards name this payout (a check on the by-payout index, which is eventually consistent). */
  memberCount?: number;
  /** Reminders sent since the payout last became pending. */
  reminders?: number;
  /** Upload order (`uploadedAt|key`) of the latest invoice upload ever attached. */
  latestUpload?: string;
  publishedEvents?: number;
  leaseUntil?: number;
  task?: { token: string; stage: PayoutStatus };
  invoiceKey?: string;
  /** The approval's binding (../domain/controls.ts `approvalHash`). */
  approvalHash?: string;
  /** Digest of the ids of the rewards the payout was last validated with (../domain/controls.ts `rewardsDigest`). */
  rewardsDigest?: string;
  /** Who validated the payout (draft → pending) last: they may not approve it. */
  validatedBy?: string;
  /** Who released a PAYOUT_METHOD_CHANGED hold over it: they may not export or mark it paid. */
  methodReleasedBy?: string;
  /** Every EndToEndId the payout was exported under → its export id (see settlement). */
  exportRefs?: Record<string, string>;
  /** The execution the payout last started (or failed to start); not on the wire. */
  workflow?: PayoutWorkflowRecord;
  /** The partner's billing details and series as the payout was validated in self_billed mode. */
  selfBillingSnapshot?: SelfBillingSnapshot;
}

export interface PayoutWorkflowRecord {
  executionName: string;
  /** When the reconciler claimed this attempt (before its StartExecution). */
  requestedAt?: string;
  /** When the execution started (recorded by its first Sync, or by the reconciler). */
  startedAt?: string;
  failedAt?: string;
  error?: string;
  /** Attempt number n of the name `<payoutId>-<n>` (1 for the first, named `<payoutId>`). */
  attempt: number;
}

/** A payout as first written: its first history entries instead of the outbox bookkeeping. */
export type NewPayoutItem = Omit<PayoutItem, 'seq' | 'flushed' | 'outbox'> & {
  events: PayoutEvent[];
  memberCount: number;
};

/** The DynamoDB item of a new payout (put by hand-made drafts and by drafting's batched writes). */
export function newPayoutRecord(item: NewPayoutItem): Record<string, NativeAttributeValue> {
  const { events, ...rest } = item;
  return {
    ...keys.payout(item.id),
    type: 'payout',
    ...payoutIndexKeys(item),
    ...rest,
    seq: events.length,
    flushed: 0,
    outbox: events,
    reviewRound: item.reviewRound ?? 0,
  };
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
  'invoiceRejection',
] as const;

export function toPayout(item: Record<string, unknown> | PayoutItem): Payout {
  return stripKeys(item as Record<string, unknown>, PAYOUT_INTERNAL) as unknown as Payout;
}

export function toReward(item: Record<string, unknown>): Reward {
  const reward = stripKeys(item, ['type', 'paidAt', 'outbox']) as unknown as Reward;
  // Rewards written before versions existed count as version 1.
  return { ...reward, payoutId: reward.payoutId ?? null, version: reward.version ?? 1 };
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

/** The payout as the API shows it (read consistently, projected to `PAYOUT_VIEW`). */
export async function findPayoutView(id: string): Promise<Record<string, unknown> | undefined> {
  const projection = projectionOf(PAYOUT_VIEW);
  const result = await dynamo().send(
    new GetCommand({
      TableName: table(),
      Key: keys.payout(id),
      ConsistentRead: true,
      ProjectionExpression: projection.expression,
      ExpressionAttributeNames: projection.names,
    }),
  );
  return result.Item;
}

export async function getPayoutItem(id: string): Promise<PayoutItem> {
  const item = await findPayoutItem(id);
  if (!item) throw new NotFound(`No payout ${id}`);
  return item;
}

export async function putNewPayout(item: NewPayoutItem): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: newPayoutRecord(item),
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

/** `putNewPayout`, false when a payout of that id exists already (nothing written). */
export async function putNewPayoutIfAbsent(item: NewPayoutItem): Promise<boolean> {
  try {
    await putNewPayout(item);
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
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
  events: HistoryEntry[];
  at: string;
  /** Leave `version` and `updatedAt` alone (bookkeeping entries such as reminders). */
  keepVersion?: boolean;
  /** Top-level attributes that must still hold these values (undefined: must be absent); else 409. */
  expect?: Record<string, NativeAttributeValue | undefined>;
  /**
   * `later`: commit the entries to the outbox only and leave materializing them to a later flush
   * (the payout's workflow sync, the next change, or a full outbox). Readers already show entries
   * `flushed+1..seq` from the outbox, so nothing is lost or shown early; a bank report settling
   * thousands of payouts saves the flush's two requests per line this way.
   */
  flush?: 'now' | 'later';
  /**
   * `none`: the write returns nothing (ReturnValues NONE) and `updatePayout` answers undefined; for
   * callers that already hold the item (and make its `task` part of the condition).
   */
  returnItem?: 'all' | 'none';
  /**
   * The payout as the caller read it (consistently) at `version` (required): the write then checks
   * the version, not `from` (every change of status, export or EndToEndId bumps the version, so a
   * version still unchanged means a status still as read), and, when the outbox read had room, that
   * `seq` is still the one read instead of the outbox's size (every append raises `seq`, a flush only
   * shrinks the outbox), writing the next `seq` as a value. Shorter, function-free conditions for the
   * many writes of a bank report (dynalite parses each); a failed write is told apart as usual. With
   * the outbox as read full, the write checks status, version and the outbox's size as any other.
   * (`asReadInput` builds this write.)
   */
  asRead?: { seq: number; flushed: number };
}

/**
 * One conditional UpdateItem: the status check, the version bump, the change and its history entries
 * (appended to the outbox) succeed or fail together; then the entries are materialized (unless
 * `flush: 'later'`).
 */
export async function updatePayout(
  id: string,
  update: PayoutUpdate & { returnItem: 'none' },
): Promise<undefined>;
export async function updatePayout(id: string, update: PayoutUpdate): Promise<PayoutItem>;
export async function updatePayout(id: string, update: PayoutUpdate): Promise<PayoutItem | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      const updated = await updatePayoutOnce(id, update);
      if (!updated) return undefined;
      if (updated.outbox?.length && update.flush !== 'later') {
        await flushHistoryQuietly(updated, update.events.length);
      }
      return updated;
    } catch (error) {
      // A full outbox (its flushes failed): materialize it, then commit.
      if (!(error instanceof OutboxFull) || attempt >= 3) throw error;
      await flushHistory(error.item);
    }
  }
}

class OutboxFull extends Error {
  constructor(readonly item: PayoutItem) {
    super('The payout history outbox is full');
  }
}

interface UpdateInput {
  update: string;
  condition: string;
  names: Record<string, string>;
  values: Record<string, NativeAttributeValue>;
}

/**
 * The settling write of a payout read at `version` (`asRead`, with room in the outbox as read): a
 * transition to a status without reminders, setting top-level fields. Its version and `seq` as read
 * are the condition (with the caller's own), the next ones are values, every placeholder is a letter
 * or two, and its history entries go to the outbox as their JSON text: a bank report sends one per
 * line, and dynalite parses each. Anything else: undefined (the general write).
 */
function asReadInput(
  update: PayoutUpdate,
  read: { seq: number; flushed: number },
  expected: number,
): UpdateInput | undefined {
  const to = update.to;
  if (
    !to ||
    to === 'pending' ||
    to === 'processing' ||
    update.keepVersion ||
    update.events.length === 0 ||
    update.expect ||
    update.respectLease ||
    update.remove
  ) {
    return undefined;
  }
  const names: Record<string, string> = { '#v': 'version', '#q': 'seq', '#o': 'outbox', '#s': 'status' };
  const values: Record<string, NativeAttributeValue> = {
    ':v': expected,
    ':w': expected + 1,
    ':u': update.at,
    ':q': read.seq,
    ':r': read.seq + update.events.length,
    ':s': to,
    ':g': `PAYOUT_STATUS#${to}`,
  };
  let sets = 'SET #v = :w, updatedAt = :u, #q = :r, #s = :s, GSI2PK = :g';
  // Appended at the outbox's length as read (`seq` unchanged means no entry came since; a flush
  // meanwhile only shortened it, and an index past a list's end appends): no list_append to parse.
  update.events.forEach((event, at) => {
    values[`:e${at}`] = outboxText(event);
    sets += `, #o[${read.seq - read.flushed + at}] = :e${at}`;
  });
  let index = 0;
  for (const field in update.set) {
    if (field.includes('.')) return undefined;
    names[`#a${index}`] = field;
    values[`:a${index}`] = update.set[field];
    sets += `, #a${index} = :a${index}`;
    index++;
  }
  let condition = '#q = :q AND #v = :v';
  const extra = update.condition;
  if (extra) {
    // Parenthesized only when it has an OR (AND binds tighter).
    condition += /\bOR\b/i.test(extra.expression) ? ` AND (${extra.expression})` : ` AND ${extra.expression}`;
    Object.assign(names, extra.names);
    Object.assign(values, extra.values);
  }
  return { update: sets, condition, names, values };
}

/**
 * The settling write of a caller holding the payout as read (`asRead`, `version`; see there): built
 * by `asReadInput` when it applies, else the general update. Returns nothing (ReturnValues NONE).
 * Apart from `updatePayout` so that only the functions that settle bundle it.
 */
export async function updatePayoutAsRead(
  id: string,
  update: PayoutUpdate & { returnItem: 'none' },
): Promise<void> {
  const read = update.asRead;
  const input =
    read && update.version !== undefined && read.seq - read.flushed < MAX_OUTBOX
      ? asReadInput(update, read, update.version)
      : undefined;
  if (input) await sendPayoutUpdate(id, update, input);
  else await updatePayout(id, update);
}

function updatePayoutOnce(id: string, update: PayoutUpdate): Promise<PayoutItem | undefined> {
  return sendPayoutUpdate(id, update, generalInput(update));
}

async function sendPayoutUpdate(
  id: string,
  update: PayoutUpdate,
  input: UpdateInput,
): Promise<PayoutItem | undefined> {
  const expected = update.ifMatch ?? update.version;
  try {
    const result = await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.payout(id),
        UpdateExpression: input.update,
        ConditionExpression: input.condition,
        ExpressionAttributeNames: input.names,
        ExpressionAttributeValues: input.values,
        ReturnValues: update.returnItem === 'none' ? 'NONE' : 'ALL_NEW',
      }),
    );
    return update.returnItem === 'none' ? undefined : (result.Attributes as PayoutItem);
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
    if (update.events.length > 0 && (current.outbox?.length ?? 0) >= MAX_OUTBOX)
      throw new OutboxFull(current);
    if (update.condition?.error && (expected === undefined || current.version === expected)) {
      throw update.condition.error();
    }
    throw new Conflict('The payout was changed by another request; read it again and retry', {
      data: { version: current.version },
    });
  }
}

/** Any payout update: its UpdateItem's expressions. */
function generalInput(update: PayoutUpdate): UpdateInput {
  const names: Record<string, string> = { '#status': 'status' };
  const values: Record<string, NativeAttributeValue> = {};
  const sets: string[] = [];
  const expectedVersion = update.ifMatch ?? update.version;
  if (!update.keepVersion || expectedVersion !== undefined) names['#version'] = 'version';
  if (!update.keepVersion) {
    // With the version checked below, the next one is known: a plain value parses faster (dynalite).
    if (expectedVersion !== undefined) {
      sets.push('#version = :nextVersion', 'updatedAt = :updatedAt');
      values[':nextVersion'] = expectedVersion + 1;
    } else {
      sets.push('#version = #version + :one', 'updatedAt = :updatedAt');
      values[':one'] = 1;
    }
    values[':updatedAt'] = update.at;
  }
  // The status condition below also fails on a missing item (no `attribute_exists(PK)` needed). The
  // expression is kept short: dynalite parses it with a backtracking parser on every request, where a
  // redundant clause, a one-value `IN (…)` or needless parentheses cost more than the write itself.
  const conditions: string[] = [];
  if (update.events.length > 0) {
    names['#seq'] = 'seq';
    names['#outbox'] = 'outbox';
    values[':entries'] = update.events;
    // One entry with the version bumped: its `:one` serves.
    const count = update.events.length === 1 ? ':one' : ':count';
    values[count] = update.events.length;
    values[':maxOutbox'] = MAX_OUTBOX;
    sets.push(`#seq = #seq + ${count}`, '#outbox = list_append(#outbox, :entries)');
    conditions.push('size(#outbox) < :maxOutbox');
  }
  const fromNames = update.from.map((status, index) => {
    values[`:from${index}`] = status;
    return `:from${index}`;
  });
  if (fromNames.length === 0) throw new Error('A payout update needs the statuses it may start from');
  conditions.push(
    fromNames.length === 1 ? `#status = ${fromNames[0]}` : `#status IN (${fromNames.join(', ')})`,
  );
  if (expectedVersion !== undefined) {
    conditions.push('#version = :expected');
    values[':expected'] = expectedVersion;
  }
  for (const [field, value] of Object.entries(update.expect ?? {})) {
    const index = Object.keys(names).length;
    names[`#x${index}`] = field;
    if (value === undefined) conditions.push(`attribute_not_exists(#x${index})`);
    else {
      values[`:x${index}`] = value;
      conditions.push(`#x${index} = :x${index}`);
    }
  }
  if (update.respectLease) {
    conditions.push('(attribute_not_exists(leaseUntil) OR leaseUntil < :now)');
    values[':now'] = Date.parse(update.at);
  }
  if (update.condition) {
    // Parenthesized only when it has an OR (AND binds tighter, so `A AND (B AND C)` is `A AND B AND C`).
    const expression = update.condition.expression;
    conditions.push(/\bOR\b/i.test(expression) ? `(${expression})` : expression);
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
    values[':to'] = update.to;
    sets.push('#status = :to');
    setField('GSI2PK', `PAYOUT_STATUS#${update.to}`);
  }
  // Reminders count per wait: entering a status that reminds starts the count again.
  if ((update.to === 'pending' || update.to === 'processing') && !('reminders' in (update.set ?? {}))) {
    setField('reminders', 0);
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
  if (sets.length === 0) sets.push('#status = #status');
  return {
    update: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
    condition: conditions.join(' AND '),
    names,
    values,
  };
}

// ------------------------------------------------------------------ the workflow's bookkeeping

/** Parks the workflow's task token on the payout while it is in `stage`; false once it left it. */
export async function parkTask(payoutId: string, stage: PayoutStatus, token: string): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: table(),
      Key: keys.payout(payoutId),
      UpdateExpression: 'SET task = :task',
      ConditionExpression: '#status = :stage',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':task': { token, stage }, ':stage': stage },
    }),
  );
}

/** Moves the payout's published-entries mark forward to `next` (never back). */
export async function markPublished(payoutId: string, next: number): Promise<void> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.payout(payoutId),
        UpdateExpression: 'SET publishedEvents = :next',
        ConditionExpression: 'attribute_not_exists(publishedEvents) OR publishedEvents < :next',
        ExpressionAttributeValues: { ':next': next },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/**
 * Records that an execution reported on the payout (`syncedAt`, and the execution as its `workflow`),
 * unless the payout records a later attempt (false).
 */
export async function recordWorkflowSync(
  payoutId: string,
  workflow: { executionName: string; attempt: number; startedAt: string },
): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: table(),
      Key: keys.payout(payoutId),
      UpdateExpression: 'SET syncedAt = :now, #workflow = :workflow',
      ConditionExpression: 'attribute_not_exists(#workflow) OR #workflow.attempt <= :attempt',
      ExpressionAttributeNames: { '#workflow': 'workflow' },
      ExpressionAttributeValues: {
        ':now': new Date().toISOString(),
        ':attempt': workflow.attempt,
        ':workflow': workflow,
      },
    }),
  );
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
  const found = new Map<string, Record<string, unknown>>();
  for (const item of await batchGet([...new Set(ids)].map(keys.reward))) found.set(String(item.id), item);
  return ids.flatMap((id) => {
    const item = found.get(id);
    return item ? [item] : [];
  });
}

/**
 * The rewards that belong to a payout, read consistently: the by-payout index names them (the
 * rewards say which payout they are in; the payout keeps no list of them), each kept only if the
 * reward item itself, read consistently, says so. The index is eventually consistent on AWS: while
 * it shows fewer rewards than the payout counted (`memberCount`), it is read again.
 */
export async function loadPayoutRewards(
  payout: Pick<PayoutItem, 'id'> & { memberCount?: number | undefined; status?: PayoutStatus },
): Promise<Reward[]> {
  let indexed: Record<string, unknown>[] = [];
  // A finished payout's rewards may have been released since it counted them: no waiting for those.
  const expected = payout.status === 'cancelled' ? 0 : (payout.memberCount ?? 0);
  for (let attempt = 0; attempt < 6; attempt++) {
    indexed = await queryAll({
      index: 'GSI2',
      partition: { name: 'GSI2PK', value: `PAYOUT#${payout.id}` },
    });
    if (indexed.length >= expected) break;
    await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
  }
  const ids = [...new Set(indexed.map((item) => String(item.id)))];
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
        UpdateExpression: `SET payoutId = :po, GSI2PK = :gpk, GSI2SK = :gsk, updatedAt = :at, ${VERSION_BUMP.set} REMOVE GSI3PK, GSI3SK`,
        ConditionExpression:
          'attribute_exists(PK) AND attribute_not_exists(payoutId) AND #status IN (:pending, :accepted) AND partnerId = :pid AND currency = :cur',
        ExpressionAttributeNames: { '#status': 'status', ...VERSION_BUMP.names },
        ExpressionAttributeValues: {
          ...VERSION_BUMP.values,
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
            ? `SET updatedAt = :at, ${VERSION_BUMP.set}, GSI3PK = :u1, GSI3SK = :u2 REMOVE payoutId, GSI2PK, GSI2SK`
            : `SET updatedAt = :at, ${VERSION_BUMP.set} REMOVE payoutId, GSI2PK, GSI2SK`,
          ConditionExpression: 'payoutId = :po AND #status = :status',
          ExpressionAttributeNames: { '#status': 'status', ...VERSION_BUMP.names },
          ExpressionAttributeValues: {
            ...VERSION_BUMP.values,
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

/**
 * Refuses a pending or accepted reward (a confirmed hold): one in no payout, or (with `payoutId`)
 * one of that payout, which it leaves. Idempotent; false when the reward was not in that state.
 */
export async function refuseReward(
  rewardId: string,
  reason: string,
  at: string,
  payoutId?: string,
): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: table(),
      Key: keys.reward(rewardId),
      UpdateExpression: payoutId
        ? `SET #status = :refused, refusalReason = :reason, updatedAt = :at, ${VERSION_BUMP.set} REMOVE payoutId, GSI2PK, GSI2SK, GSI3PK, GSI3SK`
        : `SET #status = :refused, refusalReason = :reason, updatedAt = :at, ${VERSION_BUMP.set} REMOVE GSI3PK, GSI3SK`,
      ConditionExpression: payoutId
        ? 'payoutId = :po AND #status IN (:pending, :accepted)'
        : '#status IN (:pending, :accepted) AND attribute_not_exists(payoutId)',
      ExpressionAttributeNames: { '#status': 'status', ...VERSION_BUMP.names },
      ExpressionAttributeValues: {
        ...VERSION_BUMP.values,
        ':refused': 'refused',
        ':reason': reason,
        ':at': at,
        ':pending': 'pending',
        ':accepted': 'accepted',
        ...(payoutId ? { ':po': payoutId } : {}),
      },
    }),
  );
}

/** Marks a reward of a paid payout paid. Idempotent; refused rewards stay refused. */
export async function markRewardPaid(rewardId: string, payoutId: string, at: string): Promise<void> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.reward(rewardId),
        UpdateExpression: `SET #status = :paid, paidAt = :at, updatedAt = :at, ${VERSION_BUMP.set}`,
        ConditionExpression: 'payoutId = :po AND #status IN (:pending, :accepted)',
        ExpressionAttributeNames: { '#status': 'status', ...VERSION_BUMP.names },
        ExpressionAttributeValues: {
          ...VERSION_BUMP.values,
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
        UpdateExpression: `SET #status = :accepted, updatedAt = :at, ${VERSION_BUMP.set} REMOVE paidAt`,
        ConditionExpression: 'payoutId = :po AND #status = :paid',
        ExpressionAttributeNames: { '#status': 'status', ...VERSION_BUMP.names },
        ExpressionAttributeValues: {
          ...VERSION_BUMP.values,
          ':accepted': 'accepted',
          ':paid': 'paid',
          ':at': at,
          ':po': payoutId,
        },
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
        UpdateExpression: `SET payoutId = :to, GSI2PK = :gpk, GSI2SK = :gsk, updatedAt = :at, ${VERSION_BUMP.set}`,
        ConditionExpression: 'payoutId = :from',
        ExpressionAttributeNames: VERSION_BUMP.names,
        ExpressionAttributeValues: {
          ...VERSION_BUMP.values,
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

/**
 * Count and sum per currency of the payouts in one status: one Query of that status's partition of
 * GSI2, projecting only `currency` and `amount` (a read of the whole partition, paged by DynamoDB).
 */
export async function sumPayoutsInStatus(
  status: string,
): Promise<Map<string, { count: number; amount: number }>> {
  const items = await queryAll({
    index: 'GSI2',
    partition: { name: 'GSI2PK', value: `PAYOUT_STATUS#${status}` },
    projection: ['currency', 'amount'],
  });
  const sums = new Map<string, { count: number; amount: number }>();
  for (const item of items) {
    const currency = String(item.currency);
    const sum = sums.get(currency) ?? { count: 0, amount: 0 };
    sum.count += 1;
    sum.amount += Number(item.amount);
    sums.set(currency, sum);
  }
  return sums;
}

/**
 * Strongly consistent reads of many payouts (100 keys a BatchGetItem), by id; missing ones absent.
 * With `fields`, only those attributes are read (a partial item: its history is often most of it).
 */
export async function findPayoutItems(
  ids: readonly string[],
  fields?: readonly string[],
): Promise<Map<string, PayoutItem>> {
  const found = new Map<string, PayoutItem>();
  for (const item of await batchGet(
    [...new Set(ids)].map(keys.payout),
    fields ? { projection: fields } : {},
  )) {
    found.set(String(item.id), item as PayoutItem);
  }
  return found;
}
