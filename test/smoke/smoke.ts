/**
 * The smoke test of a stage: one payout walked through the real API, from a partner to paid.
 *
 *   npm run smoke -- --url <api url> --manager-token <jwt> --partner-token-cmd '<command>'
 *   npm run smoke -- --url <api url> --manager-token <jwt> --partner-token <jwt>
 *
 * It creates a partner `smoke-<timestamp>` whose payout method cannot receive money (PayPal at
 * `example.com`), two accepted rewards, drafts a payout of exactly those rewards, validates it (as
 * the manager, then as the partner), exports that payout only (`payoutIds: [id]`, never "every ready
 * payout"), and marks it paid. Each step prints its latency. If a step fails, it leaves nothing a
 * bulk export could pay: it voids the export (if the payout is in one), cancels the payout, and
 * refuses the rewards; then it exits 1.
 *
 * The partner token: the smoke partner does not exist before the run, so its token is minted after
 * the partner is created, by `--partner-token-cmd`: a shell command run with `PARTNER_ID` in its
 * environment (and `{partnerId}` replaced in it) that prints the JWT on its last line. Locally:
 * `--partner-token-cmd 'npm run --silent token -- partner {partnerId}'`. With an identity provider
 * that cannot mint tokens on demand, create the smoke partner once (`--create-partner` prints its id),
 * give a user of your provider that partner id, and pass its token with `--partner-token`: the run
 * then uses that partner, after checking it is a smoke partner (named `smoke-…`, PayPal at
 * `example.com`).
 *
 * `--contract <openapi url or file>` also checks every response against that OpenAPI document
 * (test/support/contract.ts); `npm test` runs this script against the local server with it
 * (test/smoke/smoke.test.ts).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { parseArgs, promisify } from 'node:util';
import { ContractValidator } from '../support/contract.ts';

const run = promisify(execFile);
const CURRENCY = 'EUR';

export interface SmokeOptions {
  url: string;
  managerToken: string;
  partnerToken?: string;
  partnerTokenCmd?: string;
  createPartnerOnly?: boolean;
  /** An OpenAPI document to check every response against. */
  contract?: object;
  log?: (line: string) => void;
  /** Test hook: fail on purpose after this step, to exercise the clean-up. */
  failAfter?: string;
  /** How long to wait for an asynchronous status (ms). */
  waitMs?: number;
}

export interface SmokeStep {
  name: string;
  ms: number;
}

export interface SmokeResult {
  ok: boolean;
  partnerId?: string;
  payoutId?: string;
  exportId?: string;
  rewardIds: string[];
  steps: SmokeStep[];
  error?: string;
  cleanup: string[];
}

interface Reply {
  status: number;
  body: any;
}

class StepFailed extends Error {}

export async function smoke(options: SmokeOptions): Promise<SmokeResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const base = options.url.replace(/\/+$/, '');
  const validator = options.contract ? new ContractValidator(options.contract) : undefined;
  const stamp = new Date().toISOString().replace(/[-:.]/g, '').replace('T', '-').replace('Z', '');
  const name = `smoke-${stamp}`;
  const result: SmokeResult = { ok: false, rewardIds: [], steps: [], cleanup: [] };
  let partnerToken = options.partnerToken;

  async function request(token: string, method: string, path: string, body?: unknown): Promise<Reply> {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: kept as text for the message
    }
    if (validator) {
      const route = validator.routeOf(method, path);
      const violations = route
        ? validator.check({
            method,
            route,
            status: response.status,
            headers: Object.fromEntries(response.headers),
            body: parsed,
          })
        : [`${method} ${path}: no documented route`];
      if (violations.length) throw new StepFailed(`contract: ${violations.join('; ')}`);
    }
    return { status: response.status, body: parsed };
  }

  async function expectOk(reply: Reply, what: string, statuses = [200, 201]): Promise<any> {
    if (!statuses.includes(reply.status)) {
      throw new StepFailed(`${what}: HTTP ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    return reply.body;
  }

  async function step<T>(label: string, action: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const value = await action();
    const ms = Math.round(performance.now() - started);
    result.steps.push({ name: label, ms });
    log(`✓ ${label.padEnd(44)} ${String(ms).padStart(6)} ms`);
    if (options.failAfter === label) throw new StepFailed(`failing on purpose after "${label}"`);
    return value;
  }

  const manager = (method: string, path: string, body?: unknown) =>
    request(options.managerToken, method, path, body);
  const asPartner = (method: string, path: string, body?: unknown) =>
    request(partnerToken ?? '', method, path, body);

  /** Polls the payout until it has the status (workflows and exports may settle asynchronously). */
  async function payoutReaches(status: string): Promise<any> {
    const deadline = Date.now() + (options.waitMs ?? 30_000);
    for (;;) {
      const payout = await expectOk(await manager('GET', `/payouts/${result.payoutId}`), 'GET payout', [200]);
      if (payout.status === status) return payout;
      if (Date.now() > deadline) throw new StepFailed(`the payout is ${payout.status}, not ${status}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  try {
    await step('health', async () => expectOk(await manager('GET', '/health'), 'GET /health', [200]));

    if (partnerToken) {
      await step('smoke partner (from --partner-token)', async () => {
        const claims = JSON.parse(
          Buffer.from(partnerToken?.split('.')[1] ?? '', 'base64url').toString('utf8'),
        );
        const id = claims.partner_id ?? claims['custom:partner_id'];
        if (typeof id !== 'string') throw new StepFailed('the partner token names no partner_id');
        const partner = await expectOk(await manager('GET', `/partners/${id}`), 'GET partner', [200]);
        if (
          !String(partner.name).startsWith('smoke-') ||
          partner.payoutMethod?.type !== 'paypal' ||
          !String(partner.payoutMethod?.email).endsWith('@example.com')
        ) {
          throw new StepFailed(
            `${id} is not a smoke partner (smoke-…, PayPal at example.com): refusing to use it`,
          );
        }
        result.partnerId = id;
      });
    } else {
      await step(`create partner ${name}`, async () => {
        const partner = await expectOk(
          await manager('POST', '/partners', {
            name,
            email: `${name}@example.com`,
            payoutMethod: { type: 'paypal', email: `${name}@example.com` },
          }),
          'POST /partners',
        );
        result.partnerId = partner.id;
      });
      if (options.createPartnerOnly) {
        log(`smoke partner: ${result.partnerId}`);
        result.ok = true;
        return result;
      }
      if (!options.partnerTokenCmd) throw new StepFailed('pass --partner-token-cmd or --partner-token');
      await step('partner token', async () => {
        const command = (options.partnerTokenCmd ?? '').replaceAll('{partnerId}', result.partnerId ?? '');
        const { stdout } = await run('sh', ['-c', command], {
          env: { ...process.env, PARTNER_ID: result.partnerId },
        });
        partnerToken = stdout.trim().split('\n').pop()?.trim();
        if (!partnerToken) throw new StepFailed('--partner-token-cmd printed no token');
      });
    }

    await step('rewards (2, accepted)', async () => {
      for (const [index, amount] of [1234, 766].entries()) {
        const reward = await expectOk(
          await manager('POST', '/rewards', {
            partnerId: result.partnerId,
            amount,
            currency: CURRENCY,
            status: 'accepted',
            description: 'smoke test',
            externalId: `${name}-${result.partnerId}-${index}`,
          }),
          'POST /rewards',
        );
        result.rewardIds.push(reward.id);
      }
    });

    await step('draft', async () => {
      const payout = await expectOk(
        await manager('POST', '/payouts', {
          partnerId: result.partnerId,
          currency: CURRENCY,
          rewardIds: result.rewardIds,
        }),
        'POST /payouts',
      );
      result.payoutId = payout.id;
      if (payout.amount !== 2000) throw new StepFailed(`the draft's amount is ${payout.amount}, not 2000`);
    });

    await step('validate (manager)', async () => {
      await expectOk(
        await manager('POST', `/payouts/${result.payoutId}/validate`, { message: 'smoke test' }),
        'validate',
      );
      await payoutReaches('pending');
    });

    await step('validate (partner)', async () => {
      const mine = await expectOk(
        await asPartner('GET', `/partner/payouts/${result.payoutId}`),
        'partner GET',
        [200],
      );
      if (mine.id !== result.payoutId) throw new StepFailed('the partner sees another payout');
      await expectOk(
        await asPartner('POST', `/partner/payouts/${result.payoutId}/validate`),
        'partner validate',
      );
      await payoutReaches('ready');
    });

    await step('export this payout only', async () => {
      const created = await expectOk(
        await manager('POST', '/exports', { format: 'paypal', payoutIds: [result.payoutId] }),
        'POST /exports',
      );
      result.exportId = created.id;
      if (JSON.stringify(created.payoutIds) !== JSON.stringify([result.payoutId])) {
        throw new StepFailed(
          `the export holds ${JSON.stringify(created.payoutIds)}, not only the smoke payout`,
        );
      }
      await payoutReaches('processing');
    });

    await step('mark paid', async () => {
      await expectOk(
        await manager('POST', `/payouts/${result.payoutId}/mark-paid`, { paymentReference: name }),
        'mark-paid',
      );
      await payoutReaches('paid');
    });

    result.ok = true;
    log(`smoke passed: partner ${result.partnerId}, payout ${result.payoutId}, export ${result.exportId}`);
    return result;
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    log(`✗ ${result.error}`);
    await cleanUp();
    return result;
  }

  /** Leaves nothing a bulk export could pay: void the export, cancel the payout, refuse the rewards. */
  async function cleanUp(): Promise<void> {
    const attempt = async (what: string, action: () => Promise<Reply>, ok = [200, 201]) => {
      try {
        const reply = await action();
        const line = `${ok.includes(reply.status) ? 'done' : `HTTP ${reply.status}`}: ${what}`;
        result.cleanup.push(line);
        log(`  clean-up ${line}`);
      } catch (error) {
        result.cleanup.push(`failed: ${what}: ${error instanceof Error ? error.message : error}`);
        log(`  clean-up failed: ${what}: ${error instanceof Error ? error.message : error}`);
      }
    };
    const raw = (method: string, path: string, body?: unknown) =>
      requestUnchecked(base, options.managerToken, method, path, body);
    if (result.payoutId) {
      const payout = await raw('GET', `/payouts/${result.payoutId}`);
      const status = payout.body?.status;
      if (status === 'processing' && result.exportId) {
        await attempt(`void export ${result.exportId}`, () =>
          raw('POST', `/exports/${result.exportId}/void`, { reason: 'smoke test clean-up' }),
        );
      }
      if (status !== 'paid' && status !== 'cancelled') {
        await attempt(`cancel payout ${result.payoutId}`, () =>
          raw('POST', `/payouts/${result.payoutId}/cancel`, { reason: 'smoke test clean-up' }),
        );
      }
    }
    for (const id of result.rewardIds) {
      const reward = await raw('GET', `/rewards/${id}`);
      if (reward.body?.status === 'paid' || reward.body?.status === 'refused') continue;
      await attempt(`refuse reward ${id}`, () =>
        raw('POST', `/rewards/${id}/refuse`, { reason: 'smoke test clean-up' }),
      );
    }
  }
}

async function requestUnchecked(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  try {
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  } catch {
    return { status: response.status, body: text };
  }
}

async function loadDocument(source: string): Promise<object> {
  if (/^https?:\/\//.test(source)) return (await fetch(source)).json() as Promise<object>;
  return JSON.parse(await readFile(source, 'utf8')) as object;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      'manager-token': { type: 'string' },
      'partner-token': { type: 'string' },
      'partner-token-cmd': { type: 'string' },
      'create-partner': { type: 'boolean' },
      contract: { type: 'string' },
    },
  });
  if (!values.url || !values['manager-token']) {
    process.stderr.write(
      'usage: npm run smoke -- --url <api url> --manager-token <jwt> (--partner-token-cmd <cmd> | --partner-token <jwt> | --create-partner) [--contract <openapi url or file>]\n',
    );
    process.exit(2);
  }
  const result = await smoke({
    url: values.url,
    managerToken: values['manager-token'],
    partnerToken: values['partner-token'],
    partnerTokenCmd: values['partner-token-cmd'],
    createPartnerOnly: values['create-partner'],
    ...(values.contract ? { contract: await loadDocument(values.contract) } : {}),
  });
  process.exit(result.ok ? 0 : 1);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
