/**
 * A payout's history entries, the partner's reviews and the checked upload keys, each its own item in
 * the payout's partition, so the payout item stays small whatever the number of rewards, reviews and
 * review rounds.
 *
 * | item            | PK          | SK                    | what                                          |
 * |-----------------|-------------|-----------------------|-----------------------------------------------|
 * | payout          | PAYOUT#id   | PAYOUT                | status, totals, `seq`, `flushed`, `outbox`    |
 * | history entry   | PAYOUT#id   | EV#<seq, 10 digits>   | one entry, `seq` = its position (1, 2, …)     |
 * | partner review  | PAYOUT#id   | REVIEW#<rewardId>     | latest decision on that reward, with `round`  |
 * | checked upload  | PAYOUT#id   | UPLOAD#<key>#<etag>   | an uploaded object that was checked           |
 *
 * ## How a transition and its entry look atomic without TransactWriteItems
 *
 * 1. **Commit.** The transition is one conditional UpdateItem on the payout item that also appends
 *    the entries to the item's `outbox` list and adds their number to `seq`. Entry n of the payout is
 *    `outbox[n - flushed - 1]` until it is materialized. Nothing else is written before the commit,
 *    so a transition that does not commit leaves no entry anywhere.
 * 2. **Materialize** (`flushHistory`, right after the commit, and again by whoever sees a non-empty
 *    outbox): put each outbox entry as its own item at its deterministic key `EV#<seq>` (and its
 *    projections: the review, the upload key), then for each entry n one conditional UpdateItem
 *    removes the outbox's first element and sets `flushed` = n, on the condition `flushed` = n-1.
 *    The puts are idempotent (same key, same content), so a crash or a concurrent flusher anywhere
 *    in between changes nothing: an entry stays in the outbox until `flushed` passes it.
 * 3. **Read.** A reader reads the payout item first (consistently) and trusts only what its `seq`
 *    vouches for: entries `1..flushed` from their items (a consistent Query), `flushed+1..seq` from
 *    the outbox, and no entry above `seq` (one committed after the read). Reviews and upload keys are
 *    read the same way: their items with `seq ≤ item.seq`, overlaid with the outbox's.
 *
 * So every reader sees exactly the committed entries, in commit order, and the outbox holds only
 * the entries of commits not yet materialized (a handful; a transition refuses to commit while it
 * holds more than MAX_OUTBOX, and materializes it first).
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PayoutEvent, RewardReview } from '../domain/schemas.ts';
import { dynamo } from './clients.ts';
import { logger } from './observability.ts';
import { batchGet, isConditionalCheckFailed, table } from './table.ts';

/** An entry as stored: the API's entry plus, for a review, the review round it belongs to. */
export type HistoryEntry = PayoutEvent & { round?: number };

/** The payout item's history bookkeeping. */
export interface HistoryState {
  id: string;
  seq?: number;
  flushed?: number;
  outbox?: HistoryEntry[];
  reviewRound?: number;
}

/** A transition refuses to commit while the outbox holds this many entries (see step 2). */
export const MAX_OUTBOX = 50;

const pad = (seq: number) => String(seq).padStart(10, '0');
export const historyKeys = {
  entry: (payoutId: string, seq: number) => ({ PK: `PAYOUT#${payoutId}`, SK: `EV#${pad(seq)}` }),
  review: (payoutId: string, rewardId: string) => ({ PK: `PAYOUT#${payoutId}`, SK: `REVIEW#${rewardId}` }),
  upload: (payoutId: string, key: string) => ({ PK: `PAYOUT#${payoutId}`, SK: `UPLOAD#${key}` }),
};

const REVIEW_TYPES: Record<string, RewardReview['decision']> = {
  'reward.approved': 'approve',
  'reward.disputed': 'dispute',
};

/** The entry as the API shows it. */
export function toEvent(entry: HistoryEntry): PayoutEvent {
  const { round: _round, ...event } = entry as HistoryEntry & { seq?: number };
  delete (event as { seq?: number }).seq;
  return event;
}

/** The review an entry records, if it is one. */
function reviewOf(entry: HistoryEntry): { rewardId: string; review: RewardReview } | undefined {
  const decision = REVIEW_TYPES[entry.type];
  const rewardId = entry.data?.rewardId;
  if (!decision || typeof rewardId !== 'string') return undefined;
  const comment = entry.data?.comment;
  return {
    rewardId,
    review: { decision, ...(typeof comment === 'string' ? { comment } : {}), at: entry.at },
  };
}

/**
 * The upload an invoice entry records: its key and, since the checked copy, the object's ETag (a
 * later object at the same key, e.g. a replayed presigned POST, is another upload).
 */
function uploadKeyOf(entry: HistoryEntry): string | undefined {
  const key = entry.data?.key;
  if (!entry.type.startsWith('payout.invoice_') || typeof key !== 'string') return undefined;
  return uploadIdentity(key, typeof entry.data?.etag === 'string' ? entry.data.etag : undefined);
}

const uploadIdentity = (key: string, etag: string | undefined) => (etag ? `${key}#${etag}` : key);

/** Outbox entries with their sequence numbers. */
function outboxEntries(item: HistoryState): { seq: number; entry: HistoryEntry }[] {
  const flushed = item.flushed ?? 0;
  return (item.outbox ?? []).map((entry, index) => ({ seq: flushed + 1 + index, entry }));
}

// ------------------------------------------------------------------ materialize (step 2)

async function putProjection(payoutId: string, seq: number, entry: HistoryEntry): Promise<void> {
  const review = reviewOf(entry);
  if (review) {
    try {
      await dynamo().send(
        new PutCommand({
          TableName: table(),
          Item: {
            ...historyKeys.review(payoutId, review.rewardId),
            type: 'review',
            rewardId: review.rewardId,
            round: entry.round ?? 0,
            seq,
            review: review.review,
          },
          // A later decision on the same reward wins, whatever order the flushers run in.
          ConditionExpression: 'attribute_not_exists(PK) OR #seq < :seq',
          ExpressionAttributeNames: { '#seq': 'seq' },
          ExpressionAttributeValues: { ':seq': seq },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
  const key = uploadKeyOf(entry);
  if (key !== undefined) {
    await dynamo().send(
      new PutCommand({
        TableName: table(),
        Item: { ...historyKeys.upload(payoutId, key), type: 'upload', key, seq },
      }),
    );
  }
}

/**
 * Materializes the outbox of the item as read: the entries and their projections (projection first,
 * the entry item last: an entry item exists only once its projections do), then, entry by entry in
 * order, one conditional write removes the outbox's first element and advances `flushed` from n-1
 * to n (on the condition that it is n-1: the first element is then entry n). A failed condition
 * means another flusher advanced past n (having attempted n-1 first, `flushed` ≥ n-1 before each
 * attempt, so a failure means ≥ n). (One write per entry, not one for all: DynamoDB and dynalite
 * disagree on what several list-index REMOVEs in one expression mean.)
 *
 * `own`: the number of entries at the end of the outbox that the caller just committed. Only those
 * are written outright; an earlier one is checked first (one GetItem of its entry item) and written
 * only if its own committer has not yet done so, so concurrent commits do not all rewrite each
 * other's entries. Safe to run twice and concurrently; returns the number of entries it advanced.
 */
export async function flushHistory(item: HistoryState, own?: number): Promise<number> {
  const pending = outboxEntries(item);
  if (pending.length === 0) return 0;
  const firstOwn = own === undefined ? 0 : Math.max(0, pending.length - own);
  const materialize = async ({ seq, entry }: { seq: number; entry: HistoryEntry }) => {
    await putProjection(item.id, seq, entry);
    await dynamo().send(
      new PutCommand({
        TableName: table(),
        Item: { ...historyKeys.entry(item.id, seq), type: 'history', seq, event: entry },
      }),
    );
  };
  const mine = pending.slice(firstOwn);
  for (let start = 0; start < mine.length; start += 8) {
    await Promise.all(mine.slice(start, start + 8).map(materialize));
  }
  let moved = 0;
  for (const [index, pendingEntry] of pending.entries()) {
    const { seq } = pendingEntry;
    if (index < firstOwn) {
      const stored = await dynamo().send(
        new GetCommand({
          TableName: table(),
          Key: historyKeys.entry(item.id, seq),
          ConsistentRead: true,
          ProjectionExpression: 'SK',
        }),
      );
      if (!stored.Item) await materialize(pendingEntry);
    }
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: table(),
          Key: payoutKey(item.id),
          UpdateExpression: 'SET #flushed = :seq REMOVE #outbox[0]',
          ConditionExpression: '#flushed = :previous',
          ExpressionAttributeNames: { '#flushed': 'flushed', '#outbox': 'outbox' },
          ExpressionAttributeValues: { ':seq': seq, ':previous': seq - 1 },
        }),
      );
      moved++;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // Another flusher advanced past it.
    }
  }
  return moved;
}

const payoutKey = (id: string) => ({ PK: `PAYOUT#${id}`, SK: 'PAYOUT' });

/** After a commit: materialize, but never fail the caller (the next commit's flush does it). */
export async function flushHistoryQuietly(item: HistoryState, own?: number): Promise<void> {
  try {
    await flushHistory(item, own);
  } catch (error) {
    logger.warn('Materializing the payout history failed; the next change retries', {
      payoutId: item.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

// ------------------------------------------------------------------ read (step 3)

/**
 * The committed entries `afterSeq+1 … afterSeq+limit` (never past the item's `seq`), in order, each
 * with its `seq`.
 */
export async function readHistory(
  item: HistoryState,
  range: { afterSeq: number; limit: number },
): Promise<(HistoryEntry & { seq: number })[]> {
  const last = Math.min(item.seq ?? 0, range.afterSeq + range.limit);
  if (last <= range.afterSeq) return [];
  const flushed = item.flushed ?? 0;
  const found = new Map<number, HistoryEntry>();
  const lastStored = Math.min(last, flushed);
  if (lastStored > range.afterSeq) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await dynamo().send(
        new QueryCommand({
          TableName: table(),
          KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': `PAYOUT#${item.id}`,
            ':from': historyKeys.entry(item.id, range.afterSeq + 1).SK,
            ':to': historyKeys.entry(item.id, lastStored).SK,
          },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const stored of result.Items ?? []) found.set(Number(stored.seq), stored.event as HistoryEntry);
      startKey = result.LastEvaluatedKey;
    } while (startKey);
  }
  for (const { seq, entry } of outboxEntries(item)) found.set(seq, entry);
  const entries: (HistoryEntry & { seq: number })[] = [];
  for (let seq = range.afterSeq + 1; seq <= last; seq++) {
    const entry = found.get(seq);
    if (!entry) throw new Error(`History entry ${seq} of payout ${item.id} is missing`);
    entries.push({ ...entry, seq });
  }
  return entries;
}

/** Every committed entry (bounded collections only: a handful of transitions). */
export async function readAllHistory(item: HistoryState): Promise<(HistoryEntry & { seq: number })[]> {
  return readHistory(item, { afterSeq: 0, limit: item.seq ?? 0 });
}

/** The current round's reviews overlaid with the outbox's (later ones win). */
function overlayOutbox(item: HistoryState, reviews: Map<string, RewardReview>, only?: Set<string>): void {
  for (const { entry } of outboxEntries(item)) {
    const review = reviewOf(entry);
    if (!review || (entry.round ?? 0) !== (item.reviewRound ?? 0)) continue;
    if (only && !only.has(review.rewardId)) continue;
    reviews.set(review.rewardId, review.review);
  }
}

/**
 * Projections are written only after their commit, so a stored review is always committed (possibly
 * after the item was read: it then replaced an older one, and the newer decision is shown).
 */
function acceptReview(item: HistoryState, stored: Record<string, unknown>): boolean {
  return Number(stored.round) === (item.reviewRound ?? 0);
}

/** Every review of the payout's current round (one consistent Query over the review items). */
export async function loadReviews(item: HistoryState): Promise<Map<string, RewardReview>> {
  const reviews = new Map<string, RewardReview>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const result = await dynamo().send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :sk)',
        ExpressionAttributeValues: { ':pk': `PAYOUT#${item.id}`, ':sk': 'REVIEW#' },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const stored of result.Items ?? []) {
      if (acceptReview(item, stored)) reviews.set(String(stored.rewardId), stored.review as RewardReview);
    }
    startKey = result.LastEvaluatedKey;
  } while (startKey);
  overlayOutbox(item, reviews);
  return reviews;
}

/** The current round's reviews of the given rewards (a page of them). */
export async function findReviews(
  item: HistoryState,
  rewardIds: readonly string[],
): Promise<Map<string, RewardReview>> {
  const reviews = new Map<string, RewardReview>();
  const unique = [...new Set(rewardIds)];
  for (const stored of await batchGet(unique.map((id) => historyKeys.review(item.id, id)))) {
    if (acceptReview(item, stored)) reviews.set(String(stored.rewardId), stored.review as RewardReview);
  }
  overlayOutbox(item, reviews, new Set(unique));
  return reviews;
}

/** Whether this object (its key and ETag) was already checked for this payout. */
export async function uploadChecked(item: HistoryState, key: string, etag?: string): Promise<boolean> {
  const identity = uploadIdentity(key, etag);
  if (outboxEntries(item).some(({ entry }) => uploadKeyOf(entry) === identity)) return true;
  const result = await dynamo().send(
    new GetCommand({ TableName: table(), Key: historyKeys.upload(item.id, identity), ConsistentRead: true }),
  );
  return result.Item !== undefined;
}
