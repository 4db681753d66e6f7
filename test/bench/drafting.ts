/**
 * `npm run bench:drafting`: 100,000 rewards across 10,000 partners on a fresh dynalite, one drafting
 * run, verified; beside it the physical floor: single conditional UpdateItem calls at the same
 * concurrency, in the same process and on the same dynalite. Prints its figures, and one JSON
 * object as its last line.
 *
 * dynalite runs in its own process, and seeding and verifying run in child processes of their own,
 * so `peakRssMb` is the drafting process's memory, not the database's or the seeder's.
 */
import { spawnSync } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createTables, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../infra/local/emulators.ts';
import { configureEnvironment, LOCAL_NAMES } from '../../infra/local/runtime.ts';
import { countRequests, peakRssMb, startExternalDynalite } from './support.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const REWARDS = Number(process.env.BENCH_REWARDS ?? 100_000);
const PARTNERS = Number(process.env.BENCH_PARTNERS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const BASELINE_WRITES = Number(process.env.BENCH_BASELINE_WRITES ?? 20_000);
const table = LOCAL_NAMES.table;
const [mode, endpoint = ''] = process.argv.slice(2);

function documentClient(url: string) {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: url,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 10,
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
}

async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

async function seed(url: string) {
  configureEnvironment({ dynamodb: url, s3: 'http://127.0.0.1:9' }, '/tmp/payouts-bench');
  const { newId } = await import('../../shared/domain/ids.ts');
  const { rewardItem } = await import('../../shared/usecases/rewards.ts');
  const client = documentClient(url);
  const partners = Array.from({ length: PARTNERS }, () => newId('partner'));
  const createdAt = new Date(Date.now() - 86_400_000).toISOString();
  const batches: Record<string, unknown>[][] = [];
  for (let start = 0; start < REWARDS; start += 25) {
    const batch: Record<string, unknown>[] = [];
    for (let index = start; index < Math.min(REWARDS, start + 25); index++) {
      const round = Math.floor(index / PARTNERS);
      // Commissions, and every tenth reward of a partner a clawback: every group stays positive.
      const amount = round % 10 === 9 ? -((index % 7) + 1) * 10 : ((index * 7919) % 10_000) + 100;
      batch.push(
        rewardItem({
          id: newId('reward'),
          partnerId: partners[index % PARTNERS] as string,
          amount,
          currency: 'EUR',
          status: index % 3 === 0 ? 'pending' : 'accepted',
          payoutId: null,
          createdAt,
          updatedAt: createdAt,
        }),
      );
    }
    batches.push(batch);
  }
  // Rewards for the floor measurement: same shape, created tomorrow so the run (as of now) leaves them.
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
  const baselinePartners = Array.from({ length: 100 }, () => newId('partner'));
  for (let start = 0; start < BASELINE_WRITES; start += 25) {
    const batch: Record<string, unknown>[] = [];
    for (let index = start; index < Math.min(BASELINE_WRITES, start + 25); index++) {
      batch.push({
        ...rewardItem({
          id: newId('reward'),
          partnerId: baselinePartners[index % baselinePartners.length] as string,
          amount: 100,
          currency: 'EUR',
          status: 'accepted',
          payoutId: null,
          createdAt: tomorrow,
          updatedAt: tomorrow,
        }),
        bench: 'baseline',
      });
    }
    batches.push(batch);
  }
  await pool(batches, 16, async (items) => {
    let requests = items.map((Item) => ({ PutRequest: { Item } }));
    while (requests.length) {
      const result = await client.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
      requests = (result.UnprocessedItems?.[table] ?? []) as typeof requests;
    }
  });
}

async function run(url: string) {
  // The completed run publishes `payout_run.completed`: to the local bus of `npm start`, with no rules.
  const { startLocalEventBridge } = await import('../../infra/local/eventbridge.ts');
  const bus = await startLocalEventBridge({ rules: [] });
  configureEnvironment(
    { dynamodb: url, s3: 'http://127.0.0.1:9', eventbridge: bus.endpoint },
    '/tmp/payouts-bench',
  );
  const { setDynamo } = await import('../../shared/adapters/clients.ts');
  const { createRun, executeRun } = await import('../../shared/usecases/drafting.ts');
  const client = documentClient(url);
  setDynamo(client);
  // The floor: the claim itself (the same conditional UpdateItem `claimReward` sends, index
  // changes included) on rewards the run does not touch, half before and half after the run so
  // that both see the same machine load.
  const { claimReward } = await import('../../shared/adapters/payout-store.ts');
  const baseline: { id: string; partnerId: string }[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: table,
        ExclusiveStartKey: start,
        FilterExpression: 'bench = :b',
        ExpressionAttributeValues: { ':b': 'baseline' },
        ProjectionExpression: 'id, partnerId',
      }),
    );
    for (const item of page.Items ?? [])
      baseline.push({ id: String(item.id), partnerId: String(item.partnerId) });
    start = page.LastEvaluatedKey;
  } while (start);
  const half = Math.floor(baseline.length / 2);
  const floor = async (rewards: typeof baseline) => {
    const began = performance.now();
    await pool(rewards, CONCURRENCY, async (reward) => {
      await claimReward(
        reward.id,
        'po_BASELINE',
        { partnerId: reward.partnerId, currency: 'EUR' },
        new Date().toISOString(),
      );
    });
    return { writes: rewards.length, seconds: (performance.now() - began) / 1000 };
  };
  const before = await floor(baseline.slice(0, half));
  const counter = countRequests(client);
  const runStart = performance.now();
  const result = await executeRun(await createRun({}), {
    holdingPeriodDays: 0,
    minimums: new Map(),
    concurrency: CONCURRENCY,
  });
  const seconds = (performance.now() - runStart) / 1000;
  const writes = counter.writes;
  const reads = counter.reads;
  const byCommand = { ...counter.byCommand };
  const after = await floor(baseline.slice(half));
  const baselineWritesPerSecond = (before.writes + after.writes) / (before.seconds + after.seconds);
  console.log(
    JSON.stringify({
      seconds,
      baselineWritesPerSecond,
      writes,
      reads,
      byCommand,
      payoutsCreated: result.payoutsCreated,
      rewardsClaimed: result.rewardsClaimed,
      peakRssMb: peakRssMb(),
    }),
  );
  await bus.close();
}

async function verify(url: string) {
  const client = documentClient(url);
  const rewards = new Map<string, { partnerId: string; amount: number; payoutId: string }>();
  const payouts = new Map<
    string,
    { partnerId: string; amount: number; count: number; rewardIds: string[] }
  >();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) {
      if (item.type === 'reward' && item.bench !== 'baseline') {
        rewards.set(String(item.id), {
          partnerId: String(item.partnerId),
          amount: Number(item.amount),
          payoutId: String(item.payoutId ?? ''),
        });
      }
      if (item.type === 'payout' && item.id !== 'po_BASELINE') {
        payouts.set(String(item.id), {
          partnerId: String(item.partnerId),
          amount: Number(item.amount),
          count: Number(item.rewardCount),
          // Filled below from the rewards: a payout keeps no list of its rewards, each reward names its payout.
          rewardIds: [],
        });
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  const problems: string[] = [];
  for (const [rewardId, reward] of rewards) {
    const payout = payouts.get(reward.payoutId);
    if (payout) payout.rewardIds.push(rewardId);
    else problems.push(`${rewardId} names ${reward.payoutId || 'no payout'}, which is not stored`);
  }
  const claimedBy = new Map<string, string>();
  for (const [payoutId, payout] of payouts) {
    let sum = 0n;
    for (const rewardId of payout.rewardIds) {
      if (claimedBy.has(rewardId)) problems.push(`${rewardId} in two payouts`);
      claimedBy.set(rewardId, payoutId);
      const reward = rewards.get(rewardId);
      if (!reward) {
        problems.push(`${rewardId} unknown`);
        continue;
      }
      sum += BigInt(reward.amount);
      if (reward.partnerId !== payout.partnerId) problems.push(`${rewardId} in another partner's payout`);
      if (reward.payoutId !== payoutId)
        problems.push(`${rewardId}: item says ${reward.payoutId}, payout says ${payoutId}`);
    }
    if (sum !== BigInt(payout.amount)) problems.push(`${payoutId}: amount ${payout.amount} ≠ sum ${sum}`);
    if (payout.count !== payout.rewardIds.length) problems.push(`${payoutId}: count mismatch`);
  }
  for (const rewardId of rewards.keys())
    if (!claimedBy.has(rewardId)) problems.push(`${rewardId} not claimed`);
  if (rewards.size !== REWARDS) problems.push(`${rewards.size} rewards, expected ${REWARDS}`);
  if (payouts.size !== PARTNERS) problems.push(`${payouts.size} payouts for ${PARTNERS} partners`);
  console.log(JSON.stringify({ problems: problems.slice(0, 20), problemCount: problems.length }));
}

function child(step: string, url: string): string {
  const out = spawnSync(process.execPath, ['--import', 'tsx', 'test/bench/drafting.ts', step, url], {
    encoding: 'utf8',
    env: process.env,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (out.status !== 0) throw new Error(`${step} failed (${out.status})`);
  return out.stdout.trim().split('\n').at(-1) ?? '';
}

if (mode === 'seed') await seed(endpoint);
else if (mode === 'run') await run(endpoint);
else if (mode === 'verify') await verify(endpoint);
else {
  const dynalite = await startExternalDynalite();
  try {
    await createTables(dynalite.endpoint, LOCAL_NAMES);
    const seedStart = performance.now();
    child('seed', dynalite.endpoint);
    console.log(
      `seeded ${REWARDS} rewards across ${PARTNERS} partners in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
    );
    const measured = JSON.parse(child('run', dynalite.endpoint));
    console.log(
      `baseline (the claim UpdateItem alone, before and after the run) at concurrency ${CONCURRENCY}: ${measured.baselineWritesPerSecond.toFixed(0)}/s`,
    );
    console.log(
      `run: ${measured.payoutsCreated} payouts, ${measured.rewardsClaimed} rewards claimed in ${measured.seconds.toFixed(1)} s; requests ${JSON.stringify(measured.byCommand)}`,
    );
    const verdict = JSON.parse(child('verify', dynalite.endpoint));
    console.log(
      verdict.problemCount === 0
        ? 'verified: every reward claimed exactly once, every payout amount equals the sum of its rewards'
        : `NOT VERIFIED (${verdict.problemCount} problems): ${verdict.problems.join('; ')}`,
    );
    const rewardsPerSecond = REWARDS / measured.seconds;
    console.log(
      JSON.stringify({
        bench: 'drafting',
        rewards: REWARDS,
        partners: PARTNERS,
        seconds: Math.round(measured.seconds * 100) / 100,
        rewardsPerSecond: Math.round(rewardsPerSecond),
        baselineWritesPerSecond: Math.round(measured.baselineWritesPerSecond),
        ratio: Math.round((rewardsPerSecond / measured.baselineWritesPerSecond) * 1000) / 1000,
        dynamoWritesPerReward: Math.round((measured.writes / REWARDS) * 1000) / 1000,
        dynamoReadsPerReward: Math.round((measured.reads / REWARDS) * 1000) / 1000,
        peakRssMb: measured.peakRssMb,
        verified: verdict.problemCount === 0,
      }),
    );
    if (verdict.problemCount !== 0) process.exitCode = 1;
  } finally {
    await dynalite.stop();
  }
}
