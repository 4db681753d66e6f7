/**
 * Fixed-window request counters: one small item per subject, kind and minute
 * (`RATE#<kind>#<subject>` / `<window start, epoch seconds>`), counted up by one conditional
 * UpdateItem and expired by the table's TTL a few minutes after its window. Its own partition, so no
 * query of a payout's partition ever reads it.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients.ts';
import { isConditionalCheckFailed, TABLE_SCHEMA, table } from './table.ts';

export const RATE_WINDOW_SECONDS = 60;
/** How long a window's item lives after its end (TTL deletion is lazy anyway). */
const KEEP_SECONDS = 300;

export type RateDecision = { allowed: true; count: number } | { allowed: false; retryAfterSeconds: number };

export const rateKeys = (kind: string, subject: string, windowStart: number) => ({
  PK: `RATE#${kind}#${subject}`,
  SK: String(windowStart),
});

/**
 * Takes one request of `limit` per window for `kind` on `subject`. A request over the limit counts
 * nothing and is told how many seconds are left in the window (at least 1). `limit` 0: no cap.
 */
export async function takeRate(
  kind: string,
  subject: string,
  limit: number,
  now: number = Date.now(),
): Promise<RateDecision> {
  if (limit <= 0) return { allowed: true, count: 0 };
  const nowSeconds = Math.floor(now / 1000);
  const windowStart = nowSeconds - (nowSeconds % RATE_WINDOW_SECONDS);
  const windowEnd = windowStart + RATE_WINDOW_SECONDS;
  try {
    const result = await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: rateKeys(kind, subject, windowStart),
        UpdateExpression: 'ADD #count :one SET #ttl = :ttl',
        ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
        ExpressionAttributeNames: { '#count': 'count', '#ttl': TABLE_SCHEMA.ttlAttribute },
        ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':ttl': windowEnd + KEEP_SECONDS },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return { allowed: true, count: Number(result.Attributes?.count ?? 1) };
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(windowEnd - now / 1000)) };
  }
}
