/**
 * Faults injected on the embedded backend (issue 13, "Faults injected"): real HTTP with local tokens,
 * the real ASL on the local Step Functions endpoint, the workflow, notifier and reconciler Lambdas,
 * the local bus and SES (.eml files). What no emulator can do on request is injected through the
 * local stand-ins' test hooks, and only that: `sfn.failAction` makes the local Step Functions answer
 * 503 to chosen requests (an outage), `failWorkflowStep` makes the workflow Lambda throw once.
 * StopExecution is the real API call.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalBackend } from '../../infra/local/runtime.ts';
import { issueToken } from '../../infra/local/tokens.ts';
import { eventually, sleep } from '../support/eventually.ts';

const TABLE = 'partner-payouts';
const executionArn = (name: string) =>
  `arn:aws:states:us-east-1:000000000000:execution:partner-payouts:${name}`;
const WAIT_SECONDS = 2;

interface Harness {
  backend: LocalBackend;
  dataDir: string;
  manager: string;
  managerEmail: string;
  sfn: SFNClient;
  ddb: DynamoDBDocumentClient;
}

const dataDirs: string[] = [];
let h: Harness;

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'payouts-faults-'));
  dataDirs.push(dataDir);
  process.env.REMINDER_INTERVAL_SECONDS = String(WAIT_SECONDS);
  process.env.MAX_REMINDERS = '3';
  // Overdue one second after the wait's timeout, so the tests need not wait for the default 30 min.
  process.env.RECONCILE_MARGIN_SECONDS = '1';
  vi.resetModules();
  const { startLocalBackend } = await import('../../infra/local/runtime.ts');
  const backend = await startLocalBackend({ dataDir, port: 0 });
  h = {
    backend,
    dataDir,
    manager: await issueToken(dataDir, { role: 'manager' }),
    managerEmail: process.env.MANAGER_EMAIL ?? '',
    sfn: new SFNClient({ endpoint: process.env.AWS_ENDPOINT_URL_SFN, maxAttempts: 1 }),
    ddb: DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB })),
  };
}, 60_000);

afterAll(async () => {
  h?.sfn.destroy();
  h?.ddb.destroy();
  await h?.backend.close();
  delete process.env.RECONCILE_MARGIN_SECONDS;
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------ helpers

async function http(method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${h.backend.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function ok(result: Promise<{ status: number; body: any }>, status = 200): Promise<any> {
  const { status: actual, body } = await result;
  expect({ status: actual, body }).toMatchObject({ status });
  return body;
}

interface Partner {
  id: string;
  name: string;
  email: string;
  token: string;
}

async function newPartner(label: string, rewards = 1): Promise<Partner> {
  const name = `Partner ${label}`;
  const email = `${label}-${randomUUID().slice(0, 8)}@example.com`;
  const partner = await ok(http('POST', '/partners', h.manager, { name, email }), 201);
  for (let index = 0; index < rewards; index++) {
    await ok(
      http('POST', '/rewards', h.manager, {
        partnerId: partner.id,
        amount: 10_000 + index,
        currency: 'EUR',
        status: 'accepted',
      }),
      201,
    );
  }
  return {
    id: partner.id,
    name,
    email,
    token: await issueToken(h.dataDir, { role: 'partner', partnerId: partner.id }),
  };
}

async function payoutItem(payoutId: string): Promise<Record<string, any>> {
  const result = await h.ddb.send(
    new GetCommand({
      TableName: TABLE,
      Key: { PK: `PAYOUT#${payoutId}`, SK: 'PAYOUT' },
      ConsistentRead: true,
    }),
  );
  return result.Item ?? {};
}

async function describe_(name: string) {
  return h.sfn.send(new DescribeExecutionCommand({ executionArn: executionArn(name) }));
}

/** Parked on `stage` by the execution the payout records (attempt `name`, if given). */
function parked(payoutId: string, stage: string, name?: string) {
  return eventually(`${payoutId} parked in ${stage}`, async () => {
    const item = await payoutItem(payoutId);
    if (name && item.workflow?.executionName !== name) return undefined;
    return item.task?.stage === stage ? (item.task.token as string) : undefined;
  });
}

/** The e-mails (decoded subjects, parsed with mailparser) sent to `to` whose subject matches. */
async function mails(to: string, subject: RegExp): Promise<string[]> {
  const dir = join(h.dataDir, 'mail');
  const parsed = await Promise.all(
    readdirSync(dir)
      .filter((file) => file.endsWith('.eml'))
      .map((file) => simpleParser(readFileSync(join(dir, file)))),
  );
  return parsed
    .map((mail) => ({ to: [mail.to].flat()[0]?.value[0]?.address ?? '', subject: mail.subject ?? '' }))
    .filter((mail) => mail.to === to && subject.test(mail.subject))
    .map((mail) => mail.subject);
}

function mailed(to: string, subject: RegExp, count = 1, timeoutMs?: number) {
  return eventually(
    `${count} e-mail(s) to ${to} matching ${subject}`,
    async () => {
      const found = await mails(to, subject);
      return found.length >= count ? found : undefined;
    },
    timeoutMs,
  );
}

async function history(payoutId: string): Promise<{ id: string; type: string; data?: any }[]> {
  const page = await ok(http('GET', `/payouts/${payoutId}/events?limit=100`, h.manager));
  return page.items;
}

const INVITE = /ready for your review/;
const REMINDER = /^Reminder: /;
const managerValidated = (p: Partner) => new RegExp(`^${p.name} validated a payout of `);

// ------------------------------------------------------------------ tests

describe('faults injected on the local runtime', { timeout: 120_000 }, () => {
  it('StartExecution fails for one payout in a scheduled run: the run succeeds, the failed start is recorded, one reconciler run attaches it, and the flow completes with every e-mail', async () => {
    const partners = [await newPartner('start-a'), await newPartner('start-b')];
    let victim: string | undefined;
    const restore = h.backend.workflow.sfn.failAction('StartExecution', (body) => {
      victim ??= String(body.name);
      return body.name === victim;
    });
    let run: any;
    try {
      run = await ok(http('POST', '/payout-runs', h.manager, {}), 201);
      run = await eventually('the drafting run to complete', async () => {
        const current = await ok(http('GET', `/payout-runs/${run.id}`, h.manager));
        return current.status === 'completed' ? current : undefined;
      });
    } finally {
      restore();
    }
    expect(run.payoutsCreated).toBeGreaterThanOrEqual(2);
    expect(victim).toBeDefined();
    const payoutId = String(victim);
    const failed = await payoutItem(payoutId);
    expect(failed.workflow).toMatchObject({ executionName: payoutId, attempt: 1 });
    expect(failed.workflow.failedAt).toEqual(expect.any(String));
    expect(failed.workflow.error).toContain('ServiceUnavailable');
    await expect(describe_(payoutId)).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });

    // One reconciler run (what the schedule fires) starts it under the same name.
    await h.backend.reconcile();
    const token = await parked(payoutId, 'draft');
    expect(token).toBeTruthy();
    expect((await describe_(payoutId)).status).toBe('RUNNING');
    expect((await payoutItem(payoutId)).workflow).toMatchObject({ executionName: payoutId });

    const payout = await ok(http('GET', `/payouts/${payoutId}`, h.manager));
    const owner = partners.find((p) => p.id === payout.partnerId) as Partner;
    await ok(http('POST', `/payouts/${payoutId}/validate`, h.manager, {}));
    await mailed(owner.email, INVITE);
    await parked(payoutId, 'pending');
    expect(await ok(http('POST', `/partner/payouts/${payoutId}/validate`, owner.token, {}))).toMatchObject({
      status: 'ready',
    });
    await mailed(h.managerEmail, managerValidated(owner));
    await parked(payoutId, 'ready');
    expect(await mails(owner.email, INVITE)).toHaveLength(1);
  });

  it('StopExecution while pending: the reconciler restarts it, the reminders continue from the history, and the partner completes the flow', async () => {
    const partner = await newPartner('stopped');
    const payout = await ok(
      http('POST', '/payouts', h.manager, { partnerId: partner.id, currency: 'EUR' }),
      201,
    );
    await ok(http('POST', `/payouts/${payout.id}/validate`, h.manager, {}));
    await mailed(partner.email, INVITE);
    await mailed(partner.email, REMINDER, 1, 4 * WAIT_SECONDS * 1000);
    await h.sfn.send(new StopExecutionCommand({ executionArn: executionArn(payout.id), cause: 'injected' }));
    expect((await describe_(payout.id)).status).toBe('ABORTED');

    // Overdue once the wait's timeout plus the margin pass without a Sync: restarted as attempt 2.
    const restarted = await eventually(
      'the reconciler to restart the execution',
      async () => {
        await h.backend.reconcile();
        const item = await payoutItem(payout.id);
        return item.workflow?.attempt === 2 ? item : undefined;
      },
      20_000,
    );
    expect(restarted.workflow.executionName).toBe(`${payout.id}-2`);
    expect((await describe_(`${payout.id}-2`)).status).toBe('RUNNING');
    // A second run changes nothing: the new execution is alive.
    await h.backend.reconcile();
    expect((await payoutItem(payout.id)).workflow.executionName).toBe(`${payout.id}-2`);

    // Reminders continue from the count in the history: 2 and 3, then none (MAX_REMINDERS = 3).
    await mailed(partner.email, REMINDER, 3, 6 * WAIT_SECONDS * 1000);
    await sleep(2 * WAIT_SECONDS * 1000 + 500);
    expect(await mails(partner.email, REMINDER)).toHaveLength(3);
    const counts = (await history(payout.id))
      .filter((entry) => entry.type === 'payout.reminder')
      .map((entry) => entry.data.count);
    expect(counts).toEqual([1, 2, 3]);

    expect(await ok(http('POST', `/partner/payouts/${payout.id}/validate`, partner.token, {}))).toMatchObject(
      {
        status: 'ready',
      },
    );
    await mailed(h.managerEmail, managerValidated(partner));
    await parked(payout.id, 'ready', `${payout.id}-2`);
    expect(await mails(partner.email, INVITE)).toHaveLength(1);
  });

  it('Sync throws on one wake-up: the execution retries it and nothing is lost', async () => {
    const partner = await newPartner('sync-fault');
    const payout = await ok(
      http('POST', '/payouts', h.manager, { partnerId: partner.id, currency: 'EUR' }),
      201,
    );
    await parked(payout.id, 'draft');
    h.backend.workflow.failWorkflowStep('sync', payout.id, 1);
    await ok(http('POST', `/payouts/${payout.id}/validate`, h.manager, {}));
    // The wake-up's Sync throws once; its Retry runs it again: the invite goes out, once.
    await mailed(partner.email, INVITE, 1, 10_000);
    await parked(payout.id, 'pending');
    await ok(http('POST', `/partner/payouts/${payout.id}/validate`, partner.token, {}));
    await mailed(h.managerEmail, managerValidated(partner));
    await parked(payout.id, 'ready');
    await ok(http('POST', `/payouts/${payout.id}/mark-paid`, h.manager, { paymentReference: 'REF-1' }));
    await eventually('the execution to succeed', async () =>
      (await describe_(payout.id)).status === 'SUCCEEDED' ? true : undefined,
    );
    expect(await mails(partner.email, INVITE)).toHaveLength(1);
    const types = (await history(payout.id)).map((entry) => entry.type);
    expect(types).toEqual(['payout.drafted', 'payout.validated', 'payout.partner_validated', 'payout.paid']);
    const published = h.backend.workflow.events.published.filter(
      (event) => (event.detail as { id?: string }).id === payout.id,
    );
    expect(new Set(published.map((event) => event.resources[0])).size).toBe(types.length);
  });
});
