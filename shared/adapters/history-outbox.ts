/**
 * The history-outbox protocol shared by the payout history (./payout-history.ts, where the protocol
 * and its atomicity are described) and the partner history (./partner-history.ts): an item keeps
 * `seq` (entries committed), `flushed` (entries stored as items of their own) and `outbox` (entries
 * `flushed+1..seq`); entry n is its own item at `<entryPrefix><n, 10 digits>` in the item's partition.
 *
 * This module knows the keys and the bookkeeping attributes of one such history (its `spec`), and
 * offers the protocol's steps: the commit expression (step 1), the entry put and the conditional
 * advance of `flushed` (step 2), and the read of a range of entries (step 3). What an owner adds
 * around them (the payout's projections, its partial flush) stays with the owner.
 */
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients.ts';
import { isConditionalCheckFailed, table } from './table.ts';

export interface HistoryOutboxSpec {
  /** What the history belongs to, in error messages ("payout", "partner"). */
  owner: string;
  /** The key of the item holding the bookkeeping attributes. */
  itemKey: (id: string) => { PK: string; SK: string };
  /** The SK prefix of the entry items (in the item's partition). */
  entryPrefix: string;
  /** The names of the bookkeeping attributes on the item. */
  attributes: { seq: string; flushed: string; outbox: string };
  /** The `type` of the entry items. */
  entryType: string;
}

/** The bookkeeping as read from the item (under whatever attribute names the spec gives). */
export interface OutboxState<E> {
  flushed?: number;
  outbox?: E[];
}

const pad = (seq: number) => String(seq).padStart(10, '0');

/**
 * An outbox entry as one string attribute, its JSON text, instead of a map: what a writer appends
 * many times over (a bank report settling each of its lines) is then one value for DynamoDB to take,
 * not a tree of them. Readers get the entry back (`pending`); the entry's own item, once flushed, is
 * written as a map as before.
 */
export const outboxText = (entry: unknown): string => JSON.stringify(entry);

export function historyOutbox<E>(spec: HistoryOutboxSpec) {
  const { seq: seqName, flushed: flushedName, outbox: outboxName } = spec.attributes;

  const entryKey = (id: string, seq: number) => ({
    PK: spec.itemKey(id).PK,
    SK: `${spec.entryPrefix}${pad(seq)}`,
  });

  /**
   * Outbox entries with their sequence numbers (entry n is `outbox[n - flushed - 1]`). An entry may
   * be stored as its JSON text (see `outboxText`): it is read back as the entry.
   */
  const pending = (state: OutboxState<E | string>): { seq: number; entry: E }[] => {
    const flushed = state.flushed ?? 0;
    return (state.outbox ?? []).map((entry, index) => ({
      seq: flushed + 1 + index,
      entry: typeof entry === 'string' ? (JSON.parse(entry) as E) : entry,
    }));
  };

  return {
    entryKey,
    pending,

    /**
     * Step 1, for an item that may not yet have the bookkeeping: what its UpdateItem adds to commit
     * one entry (placeholders `#h…`/`:h…`, to merge with the caller's own).
     */
    commitOne(entry: E): { set: string; names: Record<string, string>; values: Record<string, unknown> } {
      return {
        set: '#hSeq = if_not_exists(#hSeq, :hZero) + :hOne, #hFlushed = if_not_exists(#hFlushed, :hZero), #hOutbox = list_append(if_not_exists(#hOutbox, :hNone), :hEntry)',
        names: { '#hSeq': seqName, '#hFlushed': flushedName, '#hOutbox': outboxName },
        values: { ':hZero': 0, ':hOne': 1, ':hNone': [], ':hEntry': [entry] },
      };
    },

    /** Step 2: entry `seq` as its own item (idempotent: same key, same content). */
    async putEntry(id: string, seq: number, entry: E): Promise<void> {
      await dynamo().send(
        new PutCommand({
          TableName: table(),
          Item: { ...entryKey(id, seq), type: spec.entryType, seq, event: entry },
        }),
      );
    },

    /**
     * Step 2: removes the outbox's first element and moves `flushed` from seq-1 to seq. False when
     * the condition fails: another flusher advanced past it.
     */
    async advance(id: string, seq: number): Promise<boolean> {
      try {
        await dynamo().send(
          new UpdateCommand({
            TableName: table(),
            Key: spec.itemKey(id),
            UpdateExpression: 'SET #flushed = :seq REMOVE #outbox[0]',
            ConditionExpression: '#flushed = :previous',
            ExpressionAttributeNames: { '#flushed': flushedName, '#outbox': outboxName },
            ExpressionAttributeValues: { ':seq': seq, ':previous': seq - 1 },
          }),
        );
        return true;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        return false;
      }
    },

    /**
     * Step 3: entries `fromSeq..toSeq` of the item as read (the caller bounds `toSeq` by the item's
     * `seq`): `..flushed` from their items (a consistent Query), the rest from the outbox.
     */
    async read(id: string, state: OutboxState<E>, fromSeq: number, toSeq: number): Promise<E[]> {
      const found = new Map<number, E>();
      const lastStored = Math.min(toSeq, state.flushed ?? 0);
      if (lastStored >= fromSeq) {
        let startKey: Record<string, unknown> | undefined;
        do {
          const result = await dynamo().send(
            new QueryCommand({
              TableName: table(),
              KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
              ExpressionAttributeValues: {
                ':pk': spec.itemKey(id).PK,
                ':from': entryKey(id, fromSeq).SK,
                ':to': entryKey(id, lastStored).SK,
              },
              ConsistentRead: true,
              ExclusiveStartKey: startKey,
            }),
          );
          for (const stored of result.Items ?? []) found.set(Number(stored.seq), stored.event as E);
          startKey = result.LastEvaluatedKey;
        } while (startKey);
      }
      for (const { seq, entry } of pending(state)) found.set(seq, entry);
      const entries: E[] = [];
      for (let seq = fromSeq; seq <= toSeq; seq++) {
        const entry = found.get(seq);
        if (!entry) throw new Error(`History entry ${seq} of ${spec.owner} ${id} is missing`);
        entries.push(entry);
      }
      return entries;
    },
  };
}
