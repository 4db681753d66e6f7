/**
 * A payout item that cannot outgrow DynamoDB (issue 13 §3): many rewards, every one reviewed by the
 * partner through three review rounds, through the real Lambda handlers against dynalite. The payout
 * item stays under 50 KB, and its history and its rewards (with the current round's reviews) page
 * correctly (100 a page: several pages of each).
 *
 * By default 300 rewards (900 reviews, under a minute), so it runs with `npm test`; the issue's full
 * size is a soak: `SIZE_REWARDS=5000 npx vitest run test/integration/payout-item-size.test.ts`
 * (15,000 reviews: about 3 minutes on the loaded 2-core machine, 4 reviews in flight).
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { dynamo } from '../../shared/adapters/clients.ts';
import { keys, table, unclaimedKeys } from '../../shared/adapters/table.ts';
import { newId } from '../../shared/domain/ids.ts';
import { expectOk, listAll } from '../support/expect.ts';
import { call, manager, partner } from '../support/http.ts';

// Thousands of reviews of one payout in a minute is the point here: the per-payout cap (60/min by
// default, test/integration/rate-limits.test.ts) is turned off for this file.
process.env.PARTNER_REVIEWS_PER_MINUTE = '0';

const REWARDS = Number(process.env.SIZE_REWARDS ?? process.env.SIZE_TEST_REWARDS ?? 300);
const ROUNDS = 3;
/** Seeding batches in flight. */
const CONCURRENCY = 2;
/**
 * Reviews in flight at once. Reviews of one payout may run concurrently (each is one conditional
 * UpdateItem appending to the outbox, with no version check), and a review costs the same whatever
 * the payout's size (about 6 requests), so the soak's time is reviews × per-review cost ÷ overlap.
 */
const REVIEW_CONCURRENCY = Number(process.env.SIZE_REVIEW_CONCURRENCY ?? 4);
/**
 * Claiming, validating or checking 5,000 rewards takes a few seconds on an idle machine, but can pass
 * API Gateway's 30 s on this shared, loaded one: those calls get a longer budget.
 */
const SLOW = 180_000;

/** DynamoDB's item size: attribute names plus values (the marshalled JSON is an upper bound). */
function itemSize(item: Record<string, unknown>): number {
  return Buffer.byteLength(JSON.stringify(marshall(item, { removeUndefinedValues: true })));
}

async function rawPayout(id: string): Promise<Record<string, unknown>> {
  const result = await dynamo().send(
    new GetCommand({ TableName: table(), Key: keys.payout(id), ConsistentRead: true }),
  );
  if (!result.Item) throw new Error(`no payout ${id}`);
  return result.Item;
}

/**
 * The DynamoDB requests the handlers make while `counting` is on, by command: a review must cost the
 * same whatever the payout's size, so the review rounds may make no Query or Scan (a read of the
 * payout's partition, which grows with its rewards and reviews) and a bounded number of requests.
 */
const requests = new Map<string, number>();
let counting = false;
let counterInstalled = false;
function countRequests(): void {
  if (counterInstalled) return;
  counterInstalled = true;
  dynamo().middlewareStack.add(
    (next, context) => async (args) => {
      if (counting) {
        const name = String(context.commandName ?? '').replace(/Command$/, '');
        requests.set(name, (requests.get(name) ?? 0) + 1);
      }
      return next(args);
    },
    { step: 'initialize', name: 'payoutItemSizeRequestCounter' },
  );
}

async function inParallel<T>(
  items: readonly T[],
  work: (item: T) => Promise<void>,
  concurrency = CONCURRENCY,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

/**
 * The rewards are seeded as items (5,000 POST /rewards would only test the rewards route again); the
 * same attributes and index keys the route writes, accepted and unclaimed.
 */
async function seedRewards(partnerId: string): Promise<string[]> {
  const at = new Date().toISOString();
  const ids: string[] = [];
  const items = Array.from({ length: REWARDS }, (_, index) => {
    const id = newId('reward');
    ids.push(id);
    const createdAt = new Date(Date.parse(at) + index).toISOString();
    const reward = { id, partnerId, currency: 'EUR', createdAt };
    return {
      ...keys.reward(id),
      type: 'reward',
      ...reward,
      amount: 100 + (index % 50),
      status: 'accepted',
      updatedAt: createdAt,
      GSI1PK: `PARTNER#${partnerId}`,
      GSI1SK: `RW#${createdAt}#${id}`,
      GSI4PK: 'REWARDS',
      GSI4SK: `${createdAt}#${id}`,
      ...unclaimedKeys(reward),
    };
  });
  const batches = [];
  for (let start = 0; start < items.length; start += 25) batches.push(items.slice(start, start + 25));
  await inParallel(batches, async (batch) => {
    let requests = batch.map((Item) => ({ PutRequest: { Item } }));
    while (requests.length > 0) {
      const result = await dynamo().send(new BatchWriteCommand({ RequestItems: { [table()]: requests } }));
      requests = (result.UnprocessedItems?.[table()] ?? []) as typeof requests;
    }
  });
  return ids;
}

describe(`a payout of ${REWARDS} rewards, each reviewed in ${ROUNDS} rounds`, () => {
  it('keeps the payout item under 50 KB and pages its history and rewards', {
    // The default runs in about 30 s; the soak (15,000 reviews, about 3 minutes) gets a wide margin.
    timeout: Math.max(120_000, REWARDS * 480),
  }, async () => {
    const created = await call(manager, 'POST', '/partners', {
      body: { name: 'Size Partner', email: `size+${randomUUID()}@example.com` },
    });
    const partnerId = expectOk(created, 201).id;
    // Where the time goes (seeding, drafting, each validation, each review round, the read-back).
    let since = Date.now();
    const phases: string[] = [];
    const phase = (name: string) => {
      phases.push(`${name} ${Date.now() - since} ms`);
      since = Date.now();
    };
    const rewardIds = await seedRewards(partnerId);
    phase('seed');

    const drafted = expectOk(
      await call(manager, 'POST', '/payouts', { body: { partnerId, currency: 'EUR' }, timeoutMs: SLOW }),
      201,
    );
    expect(drafted.rewardCount).toBe(REWARDS);
    phase('draft');
    const payoutId: string = drafted.id;
    const sizes: number[] = [itemSize(await rawPayout(payoutId))];
    const timings: number[] = [];
    countRequests();

    for (let round = 1; round <= ROUNDS; round++) {
      expectOk(
        await call(manager, 'POST', `/payouts/${payoutId}/validate`, {
          body: { requireRewardReview: true },
          timeoutMs: SLOW,
        }),
      );
      phase(`validate ${round}`);
      const started = Date.now();
      counting = true;
      await inParallel(
        rewardIds,
        async (rewardId) => {
          const response = await call(
            partner(partnerId),
            'POST',
            `/partner/payouts/${payoutId}/rewards/${rewardId}/review`,
            { body: { decision: 'approve', comment: `round ${round}` } },
          );
          expectOk(response);
        },
        REVIEW_CONCURRENCY,
      );
      counting = false;
      timings.push(Date.now() - started);
      phase(`reviews ${round}`);
      sizes.push(itemSize(await rawPayout(payoutId)));
      if (round < ROUNDS) {
        expectOk(
          await call(partner(partnerId), 'POST', `/partner/payouts/${payoutId}/request-changes`, {
            body: { comment: `round ${round}: please check` },
          }),
        );
      }
    }
    const ready = expectOk(
      await call(partner(partnerId), 'POST', `/partner/payouts/${payoutId}/validate`, { timeoutMs: SLOW }),
    );
    expect(ready.status).toBe('ready');
    phase('partner validate');

    // A review is O(1) in the payout's size: no Query or Scan, and a handful of requests (about 7
    // alone: read the payout and the reward, commit, put the review and the entry, advance the
    // outbox; the rate counter is off here). Concurrent reviews share the outbox, and each committer
    // checks and advances the earlier entries it finds there too (a GetItem and a conditional
    // UpdateItem each), so the bound grows with the reviews in flight, never with the rewards.
    const reviews = REWARDS * ROUNDS;
    const perReview = [...requests.values()].reduce((sum, count) => sum + count, 0) / reviews;
    expect({ query: requests.get('Query') ?? 0, scan: requests.get('Scan') ?? 0 }).toEqual({
      query: 0,
      scan: 0,
    });
    expect(perReview).toBeLessThan(7 + 2 * REVIEW_CONCURRENCY);

    const item = await rawPayout(payoutId);
    sizes.push(itemSize(item));
    expect(Math.max(...sizes)).toBeLessThan(50_000);
    // No unbounded list on the item.
    for (const [name, value] of Object.entries(item)) {
      if (Array.isArray(value)) expect({ name, length: value.length }).toEqual({ name, length: 0 });
    }

    // The history: every entry exactly once, in commit order.
    const events = await listAll(manager, `/payouts/${payoutId}/events`);
    const expected = 1 + ROUNDS + REWARDS * ROUNDS + (ROUNDS - 1) + 1;
    expect(events.length).toBe(expected);
    expect(new Set(events.map((event) => event.id)).size).toBe(expected);
    expect(events[0].type).toBe('payout.drafted');
    expect(events.at(-1).type).toBe('payout.partner_validated');
    expect(events.filter((event) => event.type === 'payout.validated').length).toBe(ROUNDS);
    expect(events.filter((event) => event.type === 'reward.approved').length).toBe(REWARDS * ROUNDS);
    for (const event of events) expect(Object.keys(event)).not.toContain('seq');

    // The rewards: each once, each with this round's review.
    const rewards = await listAll(manager, `/payouts/${payoutId}/rewards`);
    expect(rewards.length).toBe(REWARDS);
    expect(new Set(rewards.map((reward) => reward.id))).toEqual(new Set(rewardIds));
    for (const reward of rewards) {
      expect(reward.review?.decision).toBe('approve');
      expect(reward.review?.comment).toBe(`round ${ROUNDS}`);
    }
    const partnerView = await listAll(partner(partnerId), `/partner/payouts/${payoutId}/rewards`);
    expect(partnerView.length).toBe(REWARDS);
    phase('read back');
    console.info(
      `payout item sizes (bytes): ${sizes.join(', ')}; ${events.length} history entries, ${rewards.length} rewards; review rounds took ${timings.join(', ')} ms (${timings.map((ms) => (ms / REWARDS).toFixed(1)).join(', ')} ms a review, ${REVIEW_CONCURRENCY} at once, ${perReview.toFixed(1)} DynamoDB requests a review: ${[...requests].map(([name, count]) => `${name} ${(count / reviews).toFixed(2)}`).join(', ')}); ${phases.join(', ')}`,
    );
  });
});
