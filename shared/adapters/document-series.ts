/**
 * Gapless document numbers per partner series and year, without transactions.
 *
 * ## The protocol
 *
 * Three kinds of items, all in the single table:
 *
 * - the **counter** of a series, `SBSERIES#{partnerId}#{prefix}#{year}`: `{ last, holder }` — the
 *   last sequence number taken and the holder (`{payoutId}#{invoice|credit_note}`) that took it;
 * - one **claim** per number, `SBCLAIM#{partnerId}#{prefix}#{year}#{seq}`: `{ holder }` — the source
 *   of truth of who a number belongs to, written once (a conditional put never replaces it);
 * - one **holder** record per document, `SBHOLDER#{payoutId}#{kind}`: `{ seq, number }` — how a
 *   re-run finds the number its document already holds.
 *
 * Taking a number (`takeNumber`), repeated until it returns:
 *
 * 1. Read the counter (consistent read): `{ last: n, holder: h }`.
 * 2. If `h` is me, number `n` is mine (I took it and crashed before step 5 finished): settle it.
 * 3. Otherwise read, in one consistent BatchGetItem issued after step 1 answered, `n`'s claim,
 *    `h`'s holder record and my own holder record.
 * 4. If my holder record exists, an earlier attempt of mine took a number and someone (perhaps me)
 *    settled it; that is my number. A number I took that is not `n` was settled before the counter
 *    moved past it, hence before step 1 read the counter, so this read (after step 1) finds it.
 * 5. Otherwise **help** `h` unless step 3 found `n` settled for `h` (its claim and `h`'s record
 *    naming `n`): settle number `n` for `h` (write its claim and its holder record; both conditional
 *    and identical whoever writes them, so helpers and `h` itself agree). In the common case the
 *    previous taker settled its own number already, and this costs no write.
 * 6. Take `n + 1`: UpdateItem on the counter `SET last = n + 1, holder = me` **on condition that
 *    `last = n`** (or that the counter does not exist, for 1). The conditional increment is the one
 *    serialisation point: exactly one taker wins each number. A loser starts again at 1. The winner
 *    settles `n + 1` for itself.
 *
 * Requests of an uncontended take: GetItem, BatchGetItem, UpdateItem and the two conditional puts.
 *
 * Why no gap and no reuse: the counter only grows by one, each value is won by exactly one holder
 * (recorded in the same write), and every taker settles the current number before it may take the
 * next, so a holder that crashes right after winning still gets its claim written — by itself on a
 * re-run (step 2 or 4) or by the next taker (step 3). A claim item is never overwritten (its put is
 * conditional on being absent or identical), so a number can never change hands. What is numbered
 * is then issued (the workflow retries the issuing until it is done), so no claimed number is left
 * without its document.
 */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { formatDocumentNumber } from '../self-billing/model.ts';
import { dynamo } from './clients.ts';
import { batchGet, isConditionalCheckFailed, table } from './table.ts';

export type DocumentKind = 'invoice' | 'credit_note';

export interface Series {
  partnerId: string;
  prefix: string;
  year: number;
}

export interface TakenNumber {
  seq: number;
  number: string;
  /** Won by this call (the counter moved for it): nothing can be stored under the number yet. */
  fresh?: boolean;
}

/** Test seam: called right after this process won a number, before it is settled (a crash there). */
export interface TakeHooks {
  afterWin?: (taken: TakenNumber) => void | Promise<void>;
}

export class SeriesInvariantBroken extends Error {
  override name = 'SeriesInvariantBroken';
}

const seriesId = (s: Series) => `${s.partnerId}#${s.prefix}#${s.year}`;
const counterKey = (s: Series) => ({ PK: `SBSERIES#${seriesId(s)}`, SK: 'SBSERIES' });
const claimKey = (s: Series, seq: number) => ({ PK: `SBCLAIM#${seriesId(s)}#${seq}`, SK: 'SBCLAIM' });
const holderKey = (holder: string) => ({ PK: `SBHOLDER#${holder}`, SK: 'SBHOLDER' });

export function holderOf(payoutId: string, kind: DocumentKind): string {
  return `${payoutId}#${kind}`;
}

async function get(key: Record<string, string>): Promise<Record<string, unknown> | undefined> {
  const result = await dynamo().send(new GetCommand({ TableName: table(), Key: key, ConsistentRead: true }));
  return result.Item;
}

/** Writes the claim of `seq` for `holder` and the holder's record; idempotent, never reassigns. */
export async function settle(series: Series, seq: number, holder: string): Promise<TakenNumber> {
  const number = formatDocumentNumber(series.prefix, series.year, seq);
  try {
    await dynamo().send(
      new PutCommand({
        TableName: table(),
        Item: { ...claimKey(series, seq), type: 'sbclaim', ...series, seq, number, holder },
        ConditionExpression: 'attribute_not_exists(PK) OR holder = :holder',
        ExpressionAttributeValues: { ':holder': holder },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    const claim = await get(claimKey(series, seq));
    throw new SeriesInvariantBroken(`${number} is claimed by ${String(claim?.holder)}, not ${holder}`);
  }
  try {
    await dynamo().send(
      new PutCommand({
        TableName: table(),
        Item: { ...holderKey(holder), type: 'sbholder', ...series, seq, number, holder },
        ConditionExpression: 'attribute_not_exists(PK) OR #number = :number',
        ExpressionAttributeNames: { '#number': 'number' },
        ExpressionAttributeValues: { ':number': number },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    const record = await get(holderKey(holder));
    throw new SeriesInvariantBroken(`${holder} holds ${String(record?.number)}, not ${number}`);
  }
  return { seq, number };
}

/** The number a document already holds, if any (in any series). */
export async function heldNumber(holder: string): Promise<(TakenNumber & Series) | undefined> {
  const record = await get(holderKey(holder));
  if (!record) return undefined;
  return {
    seq: Number(record.seq),
    number: String(record.number),
    partnerId: String(record.partnerId),
    prefix: String(record.prefix),
    year: Number(record.year),
  };
}

/** Consistent reads of several keys (the table module's BatchGetItem); by PK. */
async function getMany(keys: Record<string, string>[]): Promise<Map<string, Record<string, unknown>>> {
  const found = new Map<string, Record<string, unknown>>();
  for (const item of await batchGet(keys)) found.set(String(item.PK), item);
  return found;
}

const pause = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** Math.min(attempt, 6))));

/** The next number of `series` for `holder`, or the one it already holds (see the protocol above). */
export async function takeNumber(
  series: Series,
  holder: string,
  hooks: TakeHooks = {},
): Promise<TakenNumber> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const counter = await get(counterKey(series));
    const last = counter ? Number(counter.last) : 0;
    const current = counter ? String(counter.holder) : undefined;
    if (current === holder) return settle(series, last, holder);
    const mine = holderKey(holder);
    const reads = current === undefined ? [mine] : [mine, claimKey(series, last), holderKey(current)];
    const found = await getMany(reads);
    const held = found.get(mine.PK);
    if (held) return { seq: Number(held.seq), number: String(held.number) };
    if (current !== undefined) {
      const number = formatDocumentNumber(series.prefix, series.year, last);
      const claim = found.get(claimKey(series, last).PK);
      const record = found.get(holderKey(current).PK);
      const settled = claim?.holder === current && record?.number === number;
      if (!settled) await settle(series, last, current);
    }
    const next = last + 1;
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: table(),
          Key: counterKey(series),
          UpdateExpression: 'SET #last = :next, holder = :holder, #type = :type',
          ConditionExpression: counter ? '#last = :last' : 'attribute_not_exists(PK)',
          ExpressionAttributeNames: { '#last': 'last', '#type': 'type' },
          ExpressionAttributeValues: {
            ':next': next,
            ':holder': holder,
            ':type': 'sbseries',
            ...(counter ? { ':last': last } : {}),
          },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      await pause(attempt);
      continue;
    }
    await hooks.afterWin?.({ seq: next, number: formatDocumentNumber(series.prefix, series.year, next) });
    return { ...(await settle(series, next, holder)), fresh: true };
  }
  throw new Error(`Could not take a number of ${seriesId(series)} for ${holder}`);
}

/** Every claim of a series, 1 … last, for audits and tests: `[seq, holder]`, undefined where missing. */
export async function readSeries(
  series: Series,
): Promise<{ last: number; claims: Array<string | undefined> }> {
  const counter = await get(counterKey(series));
  const last = counter ? Number(counter.last) : 0;
  const claims: Array<string | undefined> = [];
  for (let seq = 1; seq <= last; seq++) {
    const claim = await get(claimKey(series, seq));
    claims.push(claim ? String(claim.holder) : undefined);
  }
  return { last, claims };
}
