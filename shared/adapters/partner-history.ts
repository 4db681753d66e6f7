/**
 * A partner's history entries (every change of payout method, by whom), each its own item in the
 * partner's partition, so the partner item stays small however often the method changes. The
 * protocol is the payout history's (./payout-history.ts), without projections:
 *
 * | item          | PK          | SK                  | what                                                      |
 * |---------------|-------------|---------------------|-----------------------------------------------------------|
 * | partner       | PARTNER#id  | PARTNER             | `historySeq`, `historyFlushed`, `historyOutbox` (+ fields) |
 * | history entry | PARTNER#id  | EV#<seq, 10 digits> | one entry, `seq` = its position (1, 2, …)                 |
 *
 * 1. **Commit**: the partner's conditional UpdateItem appends the entry to `historyOutbox` and adds
 *    one to `historySeq` (`commitExpression`). Nothing is written before, so a change that does not
 *    commit leaves no entry.
 * 2. **Materialize** (`flushPartnerHistory`, right after the commit; again after the next one):
 *    each outbox entry is put at its key `EV#<seq>` (idempotent), then one conditional write per
 *    entry removes the outbox's first element and moves `historyFlushed` from n-1 to n.
 * 3. **Read** (`readPartnerHistory`): the partner item first (consistently), then entries
 *    `1..historyFlushed` from their items (a consistent Query) and the rest from the outbox, never
 *    past `historySeq`.
 *
 * Partners written before this kept their entries as an `events` list on the item: those come first
 * (positions 1..L), then the entries above (L + seq).
 */
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PartnerEvent } from '../domain/schemas.ts';
import { dynamo } from './clients.ts';
import { logger } from './observability.ts';
import { isConditionalCheckFailed, keys, table } from './table.ts';

/** The partner item's history bookkeeping. */
export interface PartnerHistoryState {
  id: string;
  historySeq?: number;
  historyFlushed?: number;
  historyOutbox?: PartnerEvent[];
  /** Entries of partners written before entries were items. */
  events?: PartnerEvent[];
}

/** Fields of the partner item that are bookkeeping, not the resource. */
export const PARTNER_HISTORY_FIELDS = ['events', 'historySeq', 'historyFlushed', 'historyOutbox'] as const;

const pad = (seq: number) => String(seq).padStart(10, '0');
const entryKey = (partnerId: string, seq: number) => ({ PK: `PARTNER#${partnerId}`, SK: `EV#${pad(seq)}` });

/** What the partner's UpdateItem adds to commit one entry (step 1). */
export function commitExpression(entry: PartnerEvent): {
  set: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
} {
  return {
    set: '#hSeq = if_not_exists(#hSeq, :hZero) + :hOne, #hFlushed = if_not_exists(#hFlushed, :hZero), #hOutbox = list_append(if_not_exists(#hOutbox, :hNone), :hEntry)',
    names: { '#hSeq': 'historySeq', '#hFlushed': 'historyFlushed', '#hOutbox': 'historyOutbox' },
    values: { ':hZero': 0, ':hOne': 1, ':hNone': [], ':hEntry': [entry] },
  };
}

function outboxEntries(item: PartnerHistoryState): { seq: number; entry: PartnerEvent }[] {
  const flushed = item.historyFlushed ?? 0;
  return (item.historyOutbox ?? []).map((entry, index) => ({ seq: flushed + 1 + index, entry }));
}

/** Step 2, for the item as the commit returned it. Safe to run twice and concurrently. */
export async function flushPartnerHistory(item: PartnerHistoryState): Promise<void> {
  const pending = outboxEntries(item);
  await Promise.all(
    pending.map(({ seq, entry }) =>
      dynamo().send(
        new PutCommand({
          TableName: table(),
          Item: { ...entryKey(item.id, seq), type: 'partnerHistory', seq, event: entry },
        }),
      ),
    ),
  );
  for (const { seq } of pending) {
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: table(),
          Key: keys.partner(item.id),
          UpdateExpression: 'SET #flushed = :seq REMOVE #outbox[0]',
          ConditionExpression: '#flushed = :previous',
          ExpressionAttributeNames: { '#flushed': 'historyFlushed', '#outbox': 'historyOutbox' },
          ExpressionAttributeValues: { ':seq': seq, ':previous': seq - 1 },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error; // another flusher advanced past it
    }
  }
}

/** After a commit: materialize, but never fail the caller (the next change's flush does it). */
export async function flushPartnerHistoryQuietly(item: PartnerHistoryState): Promise<void> {
  try {
    await flushPartnerHistory(item);
  } catch (error) {
    logger.warn('Materializing the partner history failed; the next change retries', {
      partnerId: item.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/** How many entries the partner has (legacy list + committed entries). */
export function partnerHistoryLength(item: PartnerHistoryState): number {
  return (item.events?.length ?? 0) + (item.historySeq ?? 0);
}

/** Step 3: the committed entries at positions `after+1 … after+limit`, oldest first. */
export async function readPartnerHistory(
  item: PartnerHistoryState,
  range: { after: number; limit: number },
): Promise<PartnerEvent[]> {
  const legacy = item.events ?? [];
  const last = Math.min(partnerHistoryLength(item), range.after + range.limit);
  if (last <= range.after) return [];
  const entries: PartnerEvent[] = legacy.slice(range.after, last);
  // The same range in the entries' own numbering.
  const fromSeq = Math.max(range.after - legacy.length, 0) + 1;
  const toSeq = last - legacy.length;
  if (toSeq < fromSeq) return entries;
  const found = new Map<number, PartnerEvent>();
  const lastStored = Math.min(toSeq, item.historyFlushed ?? 0);
  if (lastStored >= fromSeq) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await dynamo().send(
        new QueryCommand({
          TableName: table(),
          KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': `PARTNER#${item.id}`,
            ':from': entryKey(item.id, fromSeq).SK,
            ':to': entryKey(item.id, lastStored).SK,
          },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const stored of result.Items ?? []) found.set(Number(stored.seq), stored.event as PartnerEvent);
      startKey = result.LastEvaluatedKey;
    } while (startKey);
  }
  for (const { seq, entry } of outboxEntries(item)) found.set(seq, entry);
  for (let seq = fromSeq; seq <= toSeq; seq++) {
    const entry = found.get(seq);
    if (!entry) throw new Error(`History entry ${seq} of partner ${item.id} is missing`);
    entries.push(entry);
  }
  return entries;
}
