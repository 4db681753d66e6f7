/**
 * The payout workflow end to end on the embedded backend (`startLocalBackend`): real HTTP with local
 * tokens, the real ASL on the local Step Functions endpoint, the workflow and notifier Lambdas, the
 * local bus and SES (.eml files). Nothing is mocked; the tests only read the payout item directly to
 * get (or spoil) the parked task token.
 *
 * Each backend is started on fresh module instances (`vi.resetModules()` then a dynamic import), as
 * a new process would: the SDK clients are per-process singletons that keep the endpoints they first
 * resolved, and every start gives the emulators new ports.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  type ExecutionStatus,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalBackend } from '../../infra/local/runtime.ts';
import { issueToken } from '../../infra/local/tokens.ts';
import { displayMinor } from '../../shared/domain/money.ts';
import { eventually, sleep } from '../support/eventually.ts';
import { camt } from '../support/iso20022.ts';

const TABLE = 'partner-payouts';
const executionArn = (payoutId: string) =>
  `arn:aws:states:us-east-1:000000000000:execution:partner-payouts:${payoutId}`;
const REWARD_AMOUNTS = [12_345, 5_000];
const AMOUNT = displayMinor(17_345, 'EUR'); // non-ASCII (€): the Subject is RFC 2047 encoded

// ------------------------------------------------------------------ harness

interface Harness {
  backend: LocalBackend;
  dataDir: string;
  manager: string;
  managerEmail: string;
  sfn: SFNClient;
  ddb: DynamoDBDocumentClient;
  close(): Promise<void>;
}

async function startBackend(dataDir: string, settings: { waitSeconds: number; maxReminders: number }) {
  // Read when the definition is built and when the workflow Lambda module loads.
  process.env.REMINDER_INTERVAL_SECONDS = String(settings.waitSeconds);
  process.env.MAX_REMINDERS = String(settings.maxReminders);
  vi.resetModules();
  const { startLocalBackend } = await import('../../infra/local/runtime.ts');
  const backend = await startLocalBackend({ dataDir, port: 0 });
  const sfn = new SFNClient({ endpoint: process.env.AWS_ENDPOINT_URL_SFN, maxAttempts: 1 });
  const ddb = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB }),
  );
  const harness: Harness = {
    backend,
    dataDir,
    manager: await issueToken(dataDir, { role: 'manager' }),
    managerEmail: process.env.MANAGER_EMAIL ?? '',
    sfn,
    ddb,
    close: async () => {
      sfn.destroy();
      ddb.destroy();
      await backend.close();
    },
  };
  expect(harness.managerEmail).toContain('@');
  return harness;
}

interface HttpResult {
  status: number;
  body: any;
}

async function http(
  h: Harness,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<HttpResult> {
  const response = await fetch(`${h.backend.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function ok(result: Promise<HttpResult>, status = 200): Promise<any> {
  const { status: actual, body } = await result;
  expect({ status: actual, body }).toMatchObject({ status });
  return body;
}

// ------------------------------------------------------------------ payouts

interface Draft {
  partnerId: string;
  partnerName: string;
  email: string;
  partnerToken: string;
  rewardIds: string[];
  payoutId: string;
}

async function draftPayout(h: Harness, label: string): Promise<Draft> {
  const partnerName = `Partner ${label}`;
  const email = `${label}-${randomUUID().slice(0, 8)}@example.com`;
  const partner = await ok(http(h, 'POST', '/partners', h.manager, { name: partnerName, email }), 201);
  const rewardIds: string[] = [];
  for (const amount of REWARD_AMOUNTS) {
    const reward = await ok(
      http(h, 'POST', '/rewards', h.manager, {
        partnerId: partner.id,
        amount,
        currency: 'EUR',
        status: 'accepted',
      }),
      201,
    );
    rewardIds.push(reward.id);
  }
  const payout = await ok(
    http(h, 'POST', '/payouts', h.manager, { partnerId: partner.id, currency: 'EUR' }),
    201,
  );
  expect(payout).toMatchObject({ status: 'draft', amount: 17_345, rewardCount: 2 });
  return {
    partnerId: partner.id,
    partnerName,
    email,
    partnerToken: await issueToken(h.dataDir, { role: 'partner', partnerId: partner.id }),
    rewardIds,
    payoutId: payout.id,
  };
}

const validate = (h: Harness, p: Draft) =>
  ok(http(h, 'POST', `/payouts/${p.payoutId}/validate`, h.manager, {}));
const partnerValidate = (h: Harness, p: Draft) =>
  ok(http(h, 'POST', `/partner/payouts/${p.payoutId}/validate`, p.partnerToken, {}));
const markPaid = (h: Harness, p: Draft) =>
  ok(
    http(h, 'POST', `/payouts/${p.payoutId}/mark-paid`, h.manager, { paymentReference: `REF-${p.payoutId}` }),
  );
const cancel = (h: Harness, p: Draft) =>
  ok(http(h, 'POST', `/payouts/${p.payoutId}/cancel`, h.manager, { reason: 'test' }));

async function history(h: Harness, p: Draft): Promise<{ id: string; type: string; data?: any }[]> {
  const page = await ok(http(h, 'GET', `/payouts/${p.payoutId}/events?limit=100`, h.manager));
  expect(page.nextCursor).toBeNull();
  return page.items;
}

async function item(h: Harness, p: Draft): Promise<Record<string, any>> {
  const result = await h.ddb.send(
    new GetCommand({
      TableName: TABLE,
      Key: { PK: `PAYOUT#${p.payoutId}`, SK: 'PAYOUT' },
      ConsistentRead: true,
    }),
  );
  return result.Item ?? {};
}

/** Waits until the workflow parked a token for `stage` (other than `not`); returns the token. */
function parked(h: Harness, p: Draft, stage: string, not?: string, timeoutMs?: number): Promise<string> {
  return eventually(
    `${p.payoutId} parked in ${stage}`,
    async () => {
      const task = (await item(h, p)).task as { token: string; stage: string } | undefined;
      return task?.stage === stage && task.token !== not ? task.token : undefined;
    },
    timeoutMs,
  );
}

/** The payout's current execution: the one it records (a restart is attempt `<payoutId>-<n>`). */
async function execution(h: Harness, p: Draft) {
  const item = await h.ddb.send(
    new GetCommand({
      TableName: TABLE,
      Key: { PK: `PAYOUT#${p.payoutId}`, SK: 'PAYOUT' },
      ConsistentRead: true,
    }),
  );
  const name = String(item.Item?.workflow?.executionName ?? p.payoutId);
  return h.sfn.send(new DescribeExecutionCommand({ executionArn: executionArn(name) }));
}

function finished(h: Harness, p: Draft, status: ExecutionStatus = 'SUCCEEDED') {
  return eventually(`execution ${p.payoutId} ${status}`, async () => {
    const described = await execution(h, p);
    expect(described.status, described.cause).toMatch(/^RUNNING$|^SUCCEEDED$/);
    return described.status === status ? described : undefined;
  });
}

async function expectTaskError(
  h: Harness,
  command: SendTaskSuccessCommand | SendTaskHeartbeatCommand,
  name: string,
) {
  await expect(h.sfn.send(command as SendTaskSuccessCommand)).rejects.toMatchObject({ name });
}

/** The events the workflow put on the bus for this payout: one per history entry, by entry id. */
function published(h: Harness, p: Draft): { id: string; type: string }[] {
  return h.backend.workflow.events.published
    .filter((event) => (event.detail as { id?: string }).id === p.payoutId)
    .map((event) => ({ id: event.resources[0] ?? '', type: event['detail-type'] }));
}

// ------------------------------------------------------------------ mail

interface Mail {
  file: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Every .eml the local SES wrote, parsed by mailparser: headers decoded, the text and HTML parts. */
async function mails(h: Harness): Promise<Mail[]> {
  const dir = join(h.dataDir, 'mail');
  const files = readdirSync(dir)
    .filter((file) => file.endsWith('.eml'))
    .sort();
  return Promise.all(
    files.map(async (file) => {
      const parsed = await simpleParser(readFileSync(join(dir, file)));
      const to = [parsed.to].flat()[0]?.value[0]?.address ?? '';
      return { file, to, subject: parsed.subject ?? '', text: parsed.text ?? '', html: parsed.html || '' };
    }),
  );
}

const mailsTo = async (h: Harness, to: string, subject: RegExp) =>
  (await mails(h)).filter((mail) => mail.to === to && subject.test(mail.subject));

/** Waits for at least `count` e-mails to `to` whose subject matches. */
function mailed(h: Harness, to: string, subject: RegExp, count = 1, timeoutMs?: number): Promise<Mail[]> {
  return eventually(
    `${count} e-mail(s) to ${to} matching ${subject}`,
    async () => {
      const found = await mailsTo(h, to, subject);
      return found.length >= count ? found : undefined;
    },
    timeoutMs,
  );
}

const INVITE = /ready for your review/;
const REMINDER = /^Reminder: /;
const PAID = /has been paid/;
const managerSubject = (p: Draft, what: string) => new RegExp(`^${p.partnerName} ${what} a payout of `);

// ------------------------------------------------------------------ tests

const dataDirs: string[] = [];
function freshDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'payouts-workflow-'));
  dataDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

describe('payout workflow: callbacks (wait 60 s, so no timeout interferes)', { timeout: 30_000 }, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startBackend(freshDataDir(), { waitSeconds: 60, maxReminders: 2 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('runs the happy path: validate → partner e-mail → partner validate → manager e-mail → paid', async () => {
    const started = Date.now();
    const p = await draftPayout(h, 'happy');
    await parked(h, p, 'draft');
    expect((await execution(h, p)).status).toBe('RUNNING');

    expect(await validate(h, p)).toMatchObject({ status: 'pending' });
    const [invite] = await mailed(h, p.email, INVITE);
    expect(invite?.subject).toBe(`Your payout of ${AMOUNT} is ready for your review`);
    // Both parts lead to the console's page for the payout, with the same facts; no remote images.
    const link = invite?.text.trim().split('\n').at(-1) ?? '';
    expect(link).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/portal/payouts/${p.payoutId}$`));
    expect(invite?.html).toContain(`href="${link}"`);
    expect(invite?.html).toContain(AMOUNT);
    expect(invite?.html).toContain('validate the payout');
    expect(invite?.html).not.toMatch(/<img|<script|src=/i);

    await parked(h, p, 'pending');
    expect(await partnerValidate(h, p)).toMatchObject({ status: 'ready' });
    const [toManager] = await mailed(h, h.managerEmail, managerSubject(p, 'validated'));
    expect(toManager?.subject).toBe(`${p.partnerName} validated a payout of ${AMOUNT}`);

    await parked(h, p, 'ready');
    expect(await markPaid(h, p)).toMatchObject({ status: 'paid' });
    const [paid] = await mailed(h, p.email, PAID);
    expect(paid?.subject).toBe(`Your payout of ${AMOUNT} has been paid`);
    expect(paid?.text).toContain(`Payment reference: REF-${p.payoutId}`);

    const done = await finished(h, p);
    expect(done.name).toBe(p.payoutId);

    const rewards = await ok(http(h, 'GET', `/payouts/${p.payoutId}/rewards`, h.manager));
    expect(rewards.items.map((reward: { status: string }) => reward.status)).toEqual(['paid', 'paid']);
    for (const id of p.rewardIds) {
      expect(await ok(http(h, 'GET', `/rewards/${id}`, h.manager))).toMatchObject({
        status: 'paid',
        payoutId: p.payoutId,
      });
    }

    const entries = await history(h, p);
    expect(entries.map((entry) => entry.type)).toEqual([
      'payout.drafted',
      'payout.validated',
      'payout.partner_validated',
      'payout.paid',
    ]);
    // Every history entry went on the bus exactly once, in order.
    expect(published(h, p)).toEqual(entries.map(({ id, type }) => ({ id, type })));
    expect((await mails(h)).filter((mail) => mail.to === p.email)).toHaveLength(2);
    expect(await mailsTo(h, h.managerEmail, managerSubject(p, '\\w+'))).toHaveLength(1);

    // States entered by the execution (Standard workflows bill per state transition).
    const transitions = await eventually('a settled transition count', async () => {
      const before = h.backend.workflow.sfn.stateTransitions(executionArn(p.payoutId));
      await sleep(100);
      const after = h.backend.workflow.sfn.stateTransitions(executionArn(p.payoutId));
      return before !== undefined && before === after ? after : undefined;
    });
    console.log('state transitions per happy-path payout:', transitions);
    console.log('happy path duration (ms):', Date.now() - started);
    // Start, validate, partner validate, paid: Sync → Route → (To<Stage> → Await… | PayRewards → Done).
    expect(transitions).toBeGreaterThanOrEqual(16);
    expect(transitions).toBeLessThanOrEqual(20);
  });

  it('loops on request changes: pending → draft (manager e-mailed) → pending again', async () => {
    const p = await draftPayout(h, 'changes');
    await parked(h, p, 'draft');
    await validate(h, p);
    await mailed(h, p.email, INVITE);
    await parked(h, p, 'pending');

    const comment = 'Please add the March bonus';
    expect(
      await ok(
        http(h, 'POST', `/partner/payouts/${p.payoutId}/request-changes`, p.partnerToken, { comment }),
      ),
    ).toMatchObject({ status: 'draft' });
    const [changes] = await mailed(h, h.managerEmail, managerSubject(p, 'requested changes to'));
    expect(changes?.subject).toBe(`${p.partnerName} requested changes to a payout of ${AMOUNT}`);
    expect(changes?.text).toContain(comment);
    await parked(h, p, 'draft');
    expect((await execution(h, p)).status).toBe('RUNNING');

    expect(await validate(h, p)).toMatchObject({ status: 'pending' });
    await mailed(h, p.email, INVITE, 2);
    await parked(h, p, 'pending');
    expect((await history(h, p)).map((entry) => entry.type)).toEqual([
      'payout.drafted',
      'payout.validated',
      'payout.changes_requested',
      'payout.validated',
    ]);

    await cancel(h, p);
    await finished(h, p);
    const entries = await history(h, p);
    expect(published(h, p)).toEqual(entries.map(({ id, type }) => ({ id, type })));
  });

  it('notifies at once when the manager validates before the workflow has parked its token', async () => {
    // Create and validate back to back: the token may be parked before, during or after the API's
    // read-then-commit; whichever, the callback must reach the wait (no waiting for the timeout).
    const drafts: Draft[] = [];
    for (let index = 0; index < 16; index++) {
      const p = await draftPayout(h, `eager${index}`);
      await sleep(index * 3); // sweep the validate across the workflow's start-up
      await validate(h, p);
      drafts.push(p);
    }
    await Promise.all(drafts.map((p) => mailed(h, p.email, INVITE, 1, 5_000)));
    await Promise.all(drafts.map((p) => parked(h, p, 'pending', undefined, 5_000)));
    await Promise.all(drafts.map((p) => cancel(h, p)));
    await Promise.all(drafts.map((p) => finished(h, p)));
  });

  it.each(['draft', 'pending', 'ready'] as const)(
    'cancels a %s payout: the execution succeeds and the rewards are released',
    async (stage) => {
      const p = await draftPayout(h, `cancel-${stage}`);
      await parked(h, p, 'draft');
      if (stage !== 'draft') {
        await validate(h, p);
        await parked(h, p, 'pending');
      }
      if (stage === 'ready') {
        await partnerValidate(h, p);
        await parked(h, p, 'ready');
      }
      expect(await cancel(h, p)).toMatchObject({ status: 'cancelled' });
      await finished(h, p);
      for (const id of p.rewardIds) {
        expect(await ok(http(h, 'GET', `/rewards/${id}`, h.manager))).toMatchObject({
          status: 'accepted',
          payoutId: null,
        });
      }
      // Released rewards can be drafted again.
      const again = await ok(
        http(h, 'POST', '/payouts', h.manager, { partnerId: p.partnerId, currency: 'EUR' }),
        201,
      );
      expect(again).toMatchObject({ status: 'draft', rewardCount: 2, amount: 17_345 });
      expect(
        published(h, p)
          .map((event) => event.type)
          .at(-1),
      ).toBe('payout.cancelled');
    },
  );

  it('answers a duplicate callback with TaskTimedOut and an unknown one with InvalidToken, changing nothing', async () => {
    const p = await draftPayout(h, 'duplicate');
    await parked(h, p, 'draft');
    await validate(h, p);
    const pendingToken = await parked(h, p, 'pending');
    await partnerValidate(h, p);
    const readyToken = await parked(h, p, 'ready');
    await mailed(h, h.managerEmail, managerSubject(p, 'validated'));

    // The same step again, through the API and straight to Step Functions.
    expect(
      (await http(h, 'POST', `/partner/payouts/${p.payoutId}/validate`, p.partnerToken, {})).status,
    ).toBe(409);
    const output = JSON.stringify({ payoutId: p.payoutId });
    await expectTaskError(h, new SendTaskSuccessCommand({ taskToken: pendingToken, output }), 'TaskTimedOut');
    await expectTaskError(
      h,
      new SendTaskSuccessCommand({ taskToken: `${randomUUID()}.forged`, output }),
      'InvalidToken',
    );

    await sleep(300);
    expect((await item(h, p)).task).toEqual({ token: readyToken, stage: 'ready' });
    expect(await ok(http(h, 'GET', `/payouts/${p.payoutId}`, h.manager))).toMatchObject({ status: 'ready' });
    expect((await execution(h, p)).status).toBe('RUNNING');
    expect(await mailsTo(h, h.managerEmail, managerSubject(p, 'validated'))).toHaveLength(1);
    expect(published(h, p).map((event) => event.type)).toEqual([
      'payout.drafted',
      'payout.validated',
      'payout.partner_validated',
    ]);

    await markPaid(h, p);
    await finished(h, p);
  });
});

describe('payout workflow: timeouts (wait 2 s, at most 2 reminders)', { timeout: 30_000 }, () => {
  const WAIT_MS = 2_000;
  let h: Harness;
  beforeAll(async () => {
    h = await startBackend(freshDataDir(), { waitSeconds: WAIT_MS / 1000, maxReminders: 2 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('reminds a silent partner at most MAX_REMINDERS times, and stops once the partner validates', async () => {
    const started = Date.now();
    const [silent, late] = await Promise.all([draftPayout(h, 'silent'), draftPayout(h, 'late')]);
    await Promise.all([validate(h, silent), validate(h, late)]);

    // The late partner validates after the first reminder.
    await mailed(h, late.email, REMINDER, 1, 4 * WAIT_MS);
    await partnerValidate(h, late);
    await mailed(h, h.managerEmail, managerSubject(late, 'validated'));

    const reminders = await mailed(h, silent.email, REMINDER, 2, 4 * WAIT_MS);
    expect(reminders[0]?.subject).toBe(`Reminder: your payout of ${AMOUNT} is waiting for you`);
    // Two more intervals: no third reminder for the silent one, no second for the late one.
    await sleep(2 * WAIT_MS + 500);
    expect(await mailsTo(h, silent.email, REMINDER)).toHaveLength(2);
    expect(await mailsTo(h, late.email, REMINDER)).toHaveLength(1);

    const silentHistory = (await history(h, silent)).filter((entry) => entry.type === 'payout.reminder');
    expect(silentHistory.map((entry) => entry.data)).toEqual([{ count: 1 }, { count: 2 }]);
    const lateHistory = (await history(h, late)).map((entry) => entry.type);
    expect(lateHistory).toEqual([
      'payout.drafted',
      'payout.validated',
      'payout.reminder',
      'payout.partner_validated',
    ]);
    expect(await ok(http(h, 'GET', `/payouts/${silent.payoutId}`, h.manager))).toMatchObject({
      status: 'pending',
    });
    expect((await execution(h, silent)).status).toBe('RUNNING');
    for (const p of [silent, late]) {
      const entries = await history(h, p);
      expect(published(h, p)).toEqual(entries.map(({ id, type }) => ({ id, type })));
    }
    console.log('reminders test duration (ms):', Date.now() - started);
  });

  it('reconciles after a lost SendTaskSuccess: the wait times out, syncs, and publishes once', async () => {
    const p = await draftPayout(h, 'lost');
    await validate(h, p);
    await mailed(h, p.email, INVITE);
    // Act right after a fresh park, so the wait has (almost) its whole interval left.
    const first = await parked(h, p, 'pending');
    const token = await parked(h, p, 'pending', first, 2 * WAIT_MS);

    // Spoil the parked token: the API's SendTaskSuccess fails with InvalidToken (and is only logged).
    await h.ddb.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { PK: `PAYOUT#${p.payoutId}`, SK: 'PAYOUT' },
        UpdateExpression: 'SET task.#token = :bogus',
        ConditionExpression: 'task.#token = :token',
        ExpressionAttributeNames: { '#token': 'token' },
        ExpressionAttributeValues: { ':bogus': `${randomUUID()}.lost`, ':token': token },
      }),
    );
    const lostAt = Date.now();
    expect(await partnerValidate(h, p)).toMatchObject({ status: 'ready' });
    // The callback really was lost: the task still waits (a heartbeat on it is accepted).
    await h.sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    expect(await mailsTo(h, h.managerEmail, managerSubject(p, 'validated'))).toHaveLength(0);

    // The wait times out, Sync reads the payout (ready), publishes, and parks for payment.
    await mailed(h, h.managerEmail, managerSubject(p, 'validated'), 1, 3 * WAIT_MS);
    const reconciledMs = Date.now() - lostAt;
    await parked(h, p, 'ready', undefined, 2 * WAIT_MS);
    console.log('lost callback reconciled after (ms):', reconciledMs);
    expect(reconciledMs).toBeLessThan(WAIT_MS + 2_000);

    // A late callback with the real token now answers TaskTimedOut.
    const output = JSON.stringify({ payoutId: p.payoutId });
    await expectTaskError(h, new SendTaskSuccessCommand({ taskToken: token, output }), 'TaskTimedOut');

    await markPaid(h, p);
    await mailed(h, p.email, PAID);
    await finished(h, p);
    const entries = await history(h, p);
    expect(published(h, p)).toEqual(entries.map(({ id, type }) => ({ id, type })));
    expect(await mailsTo(h, h.managerEmail, managerSubject(p, 'validated'))).toHaveLength(1);
    // It waited in pending for a while (reminders then are fine), but was ready at the timeout.
    const types = entries.map((entry) => entry.type);
    expect(types.slice(types.indexOf('payout.partner_validated'))).toEqual([
      'payout.partner_validated',
      'payout.paid',
    ]);
  });
});

describe('payout workflow: restart on the same DATA_DIR', { timeout: 30_000 }, () => {
  it('re-attaches the execution of a pending payout, which can then be validated and paid', async () => {
    const started = Date.now();
    const dataDir = freshDataDir();
    const settings = { waitSeconds: 60, maxReminders: 2 };
    let h = await startBackend(dataDir, settings);
    let p: Draft;
    let before: string;
    try {
      p = await draftPayout(h, 'restart');
      await validate(h, p);
      await mailed(h, p.email, INVITE);
      before = await parked(h, p, 'pending');
    } finally {
      await h.close();
    }

    h = await startBackend(dataDir, settings);
    try {
      // A new execution, parked on the same stage; nothing published again.
      await parked(h, p, 'pending', before);
      expect((await execution(h, p)).status).toBe('RUNNING');
      expect(published(h, p)).toEqual([]);

      expect(await partnerValidate(h, p)).toMatchObject({ status: 'ready' });
      await mailed(h, h.managerEmail, managerSubject(p, 'validated'));
      await parked(h, p, 'ready');
      await markPaid(h, p);
      await mailed(h, p.email, PAID);
      await finished(h, p);

      expect(await mailsTo(h, p.email, INVITE)).toHaveLength(1);
      const entries = await history(h, p);
      expect(entries.map((entry) => entry.type)).toEqual([
        'payout.drafted',
        'payout.validated',
        'payout.partner_validated',
        'payout.paid',
      ]);
      expect(published(h, p)).toEqual(entries.slice(2).map(({ id, type }) => ({ id, type })));
      const rewards = await ok(http(h, 'GET', `/payouts/${p.payoutId}/rewards`, h.manager));
      expect(rewards.items.map((reward: { status: string }) => reward.status)).toEqual(['paid', 'paid']);
    } finally {
      await h.close();
    }
    console.log('restart test duration (ms):', Date.now() - started);
  });
});

describe('payout workflow after ready: processing, failed, reissue', { timeout: 60_000 }, () => {
  let h: Harness;
  beforeAll(async () => {
    // The wait on a processing payout times out after 2 s here (PROCESSING_REMINDER_DAYS on AWS).
    process.env.PROCESSING_REMINDER_SECONDS = '2';
    h = await startBackend(freshDataDir(), { waitSeconds: 60, maxReminders: 1 });
  });
  afterAll(async () => {
    delete process.env.PROCESSING_REMINDER_SECONDS;
    await h?.close();
  });

  /** A ready payout of a partner paid by SEPA transfer. */
  async function readySepaPayout(label: string): Promise<Draft> {
    const p = await draftPayout(h, label);
    await ok(
      http(h, 'PATCH', `/partners/${p.partnerId}`, h.manager, {
        payoutMethod: { type: 'sepa', accountHolder: p.partnerName, iban: 'DE89370400440532013000' },
      }),
    );
    await validate(h, p);
    await parked(h, p, 'pending');
    await partnerValidate(h, p);
    await parked(h, p, 'ready');
    return p;
  }
  const exportOf = (p: Draft) =>
    ok(http(h, 'POST', '/exports', h.manager, { format: 'sepa', payoutIds: [p.payoutId] }), 201);

  it('export → waits on the outcome (manager reminded) → failed (partner and manager told why) → reissue → paid', async () => {
    const p = await readySepaPayout('bounce');
    const exported = await exportOf(p);
    await parked(h, p, 'processing');
    const [reminder] = await mailed(h, h.managerEmail, new RegExp(`^Payout ${p.payoutId} .* no outcome`));
    expect(reminder?.text).toContain(exported.id);

    const failed = await ok(
      http(h, 'POST', `/payouts/${p.payoutId}/mark-failed`, h.manager, {
        reason: 'Returned by the bank: account closed',
        code: 'AC04',
      }),
    );
    expect(failed).toMatchObject({ status: 'failed', failure: { code: 'AC04', source: 'manual' } });
    const [toPartner] = await mailed(h, p.email, /could not be paid/);
    expect(toPartner?.text).toContain('The account has been closed.');
    expect(toPartner?.text).toContain('check your payout details');
    const [toManager] = await mailed(h, h.managerEmail, new RegExp(`^Payout ${p.payoutId} .* failed$`));
    expect(toManager?.text).toContain('AC04');
    await parked(h, p, 'failed');
    expect((await execution(h, p)).status).toBe('RUNNING');

    const reissued = await ok(http(h, 'POST', `/payouts/${p.payoutId}/reissue`, h.manager, {}), 201);
    expect(reissued).toMatchObject({ status: 'ready', reissueOf: p.payoutId });
    await finished(h, p);
    await mailed(h, p.email, /will be sent again/);
    const entries = await history(h, p);
    expect(entries.map((entry) => entry.type)).toEqual([
      'payout.drafted',
      'payout.validated',
      'payout.partner_validated',
      'payout.processing',
      'payout.processing_reminder',
      'payout.failed',
      'payout.reissued',
    ]);
    expect(published(h, p)).toEqual(entries.map(({ id, type }) => ({ id, type })));

    // AC04 held the partner (PAYOUT_METHOD_INVALID) until their payout details change; the change, with
    // the reissue ready, is itself held (PAYOUT_METHOD_CHANGED) until a second manager releases it.
    await ok(
      http(h, 'PATCH', '/partner/profile', p.partnerToken, {
        payoutMethod: { type: 'sepa', accountHolder: p.partnerName, iban: 'BE68539007547034' },
      }),
    );
    const holds = await ok(http(h, 'GET', `/holds?targetId=${p.partnerId}&active=true`, h.manager));
    expect(holds.items.map((hold: { reasonCode: string }) => hold.reasonCode)).toEqual([
      'PAYOUT_METHOD_CHANGED',
    ]);
    const second = await issueToken(h.dataDir, { role: 'manager', subject: 'manager-2', roles: ['finance'] });
    await ok(http(h, 'POST', `/holds/${holds.items[0].id}/release`, second, { note: 'Checked by phone' }));

    // The reissue has a workflow of its own, waits to be paid, and is paid through a new export.
    const q: Draft = { ...p, payoutId: reissued.id };
    await parked(h, q, 'ready');
    const again = await exportOf(q);
    expect(again.id).not.toBe(exported.id);
    await parked(h, q, 'processing');
    await markPaid(h, q);
    await mailed(h, p.email, PAID);
    await finished(h, q);
    const rewards = await ok(http(h, 'GET', `/payouts/${q.payoutId}/rewards`, h.manager));
    expect(rewards.items.map((reward: { id: string; status: string }) => [reward.id, reward.status])).toEqual(
      p.rewardIds.map((id) => [id, 'paid']),
    );
  });

  it('a bank report pays it: the workflow marks the rewards paid and materializes the entry the report left in the outbox', async () => {
    const p = await readySepaPayout('camt');
    const exported = await exportOf(p);
    await parked(h, p, 'processing');
    const file = await (await fetch(exported.url ?? exported.files[0].url)).text();
    const endToEndId = /<EndToEndId>([^<]+)<\/EndToEndId>/.exec(file)?.[1] ?? '';
    const xml = camt({ entries: [{ amount: '173.45', creditDebit: 'DBIT', txs: [{ endToEndId }] }] });
    // The presigned POST to the local bucket; its ObjectCreated runs the real checker.
    const grant = await ok(http(h, 'POST', '/bank-reports', h.manager, { fileName: 'camt.xml' }), 201);
    const form = new FormData();
    for (const [name, value] of Object.entries(grant.fields)) form.append(name, value as string);
    form.append('file', new Blob([xml], { type: 'application/xml' }), 'camt.xml');
    expect([200, 204]).toContain((await fetch(grant.url, { method: 'POST', body: form })).status);
    const report = await eventually('the report applied', async () => {
      const current = await ok(http(h, 'GET', `/bank-reports/${grant.id}`, h.manager));
      return current.status === 'applied' ? current : undefined;
    });
    expect(report.counts).toMatchObject({ lines: 1, applied: 1 });
    await finished(h, p);
    const stored = await item(h, p);
    expect(stored.status).toBe('paid');
    expect(stored.outbox).toEqual([]);
    expect(stored.flushed).toBe(stored.seq);
    const entries = await history(h, p);
    expect(entries.filter((entry) => entry.type === 'payout.paid')).toHaveLength(1);
    const rewards = await ok(http(h, 'GET', `/payouts/${p.payoutId}/rewards`, h.manager));
    expect(rewards.items.map((reward: { status: string }) => reward.status)).toEqual(['paid', 'paid']);
  });

  it('a void sends the workflow back to waiting on ready', async () => {
    const p = await readySepaPayout('void');
    const exported = await exportOf(p);
    const processing = await parked(h, p, 'processing');
    await ok(http(h, 'POST', `/exports/${exported.id}/void`, h.manager, { reason: 'wrong date' }));
    await parked(h, p, 'ready', processing);
    expect((await execution(h, p)).status).toBe('RUNNING');
    expect(
      h.backend.workflow.events.published.some((event) => event['detail-type'] === 'export.voided'),
    ).toBe(true);
  });
});
