/**
 * The outbox sweep (see ../adapters/outbox.ts): every few minutes, events recorded with a change
 * in the last day and still not published (the request or run that made them crashed before it
 * published, or the bus refused) are published again, with their own ids.
 */
import { type Presenter, sweepOutbox } from '../adapters/outbox.ts';
import { toReward } from '../adapters/payout-store.ts';
import { stripKeys } from '../adapters/table.ts';

/** Old enough that the request which recorded it has had its chance to publish it. */
const GRACE_MS = 60_000;
const WINDOW_MS = 24 * 3_600_000;

const EXPORT_FIELDS = [
  'id',
  'status',
  'format',
  'sepaVersion',
  'payoutCount',
  'totals',
  'fileName',
  'sha256',
  'createdAt',
  'version',
];

const presenters: Record<string, Presenter> = {
  REWARDS: (item) => ({ ...toReward(item) }),
  EXPORTS: (item) =>
    Object.fromEntries(
      EXPORT_FIELDS.filter((field) => item[field] !== undefined).map((field) => [field, item[field]]),
    ),
  RUNS: (item) => stripKeys(item, ['type', 'outbox', 'nextShard', 'skippedCount', 'shardFrom']),
};

export async function sweepRecordedEvents(now = Date.now()): Promise<number> {
  return sweepOutbox(presenters, {
    from: new Date(now - WINDOW_MS).toISOString(),
    to: new Date(now - GRACE_MS).toISOString(),
  });
}
