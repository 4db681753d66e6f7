/**
 * Self-billing through the real ASL: the workflow runtime of `npm start` (local Step Functions with
 * infra/workflow/payout.asl.json, the workflow and self-billing Lambdas) on the shared emulators,
 * driven through the real handlers. After the partner validates, Sync routes to
 * IssueSelfBilledDocuments, which runs the self-billing function; after a cancel, the credit note.
 * Nothing calls the issuing code directly here: the documents appear because the workflow ran.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  configureEnvironment,
  LOCAL_NAMES,
  startWorkflowRuntime,
  type WorkflowRuntime,
} from '../../infra/local/runtime.ts';
import { type As, call, manager, partner } from '../support/http.ts';

let runtime: WorkflowRuntime;
const saved = { ...process.env };

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'self-billing-workflow-'));
  runtime = await startWorkflowRuntime({ mailDir: join(dataDir, 'mail') });
  configureEnvironment(
    {
      dynamodb: process.env.AWS_ENDPOINT_URL_DYNAMODB ?? '',
      s3: process.env.AWS_ENDPOINT_URL_S3 ?? '',
      sfn: runtime.sfn.endpoint,
      eventbridge: runtime.events.endpoint,
      sesv2: runtime.ses.endpoint,
      lambda: runtime.lambda.endpoint,
    },
    dataDir,
  );
  expect(process.env.STATE_MACHINE_ARN).toBe(LOCAL_NAMES.stateMachineArn);
}, 60_000);

afterAll(async () => {
  await runtime?.close();
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
});

async function ok(as: As, method: string, path: string, body?: unknown) {
  const result = await call(as, method, path, body === undefined ? {} : { body });
  if (result.status >= 300)
    throw new Error(`${method} ${path} → ${result.status} ${JSON.stringify(result.body)}`);
  return result.body;
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('the workflow issues self-billed documents', () => {
  it('invoice after the partner validates, credit note after a cancel, each from the same series', async () => {
    const created = await ok(manager, 'POST', '/partners', {
      name: 'Ivan Иванов',
      email: 'ivan@example.com',
      address: { line1: 'Leopoldstraße 1', city: 'München', postalCode: '80802', country: 'DE' },
      billing: { legalName: 'Иванов GmbH', vatId: 'DE136695976', taxRegime: 'reverse_charge' },
      selfBilling: { enabled: true, seriesPrefix: 'IVA' },
    });
    const partnerId = created.id as string;
    await ok(partner(partnerId), 'POST', '/partner/self-billing/accept', {});
    const reward = await ok(manager, 'POST', '/rewards', {
      partnerId,
      amount: 25000,
      currency: 'EUR',
      status: 'accepted',
    });
    const payout = await ok(manager, 'POST', '/payouts', {
      partnerId,
      currency: 'EUR',
      rewardIds: [reward.id],
    });
    await until(
      () => ok(manager, 'GET', `/payouts/${payout.id}/events`),
      (page) => page.items.length > 0,
      'the execution to start',
    );
    await ok(manager, 'POST', `/payouts/${payout.id}/validate`, { requireInvoice: true });
    await ok(partner(partnerId), 'POST', `/partner/payouts/${payout.id}/validate`, {});

    const year = new Date().getUTCFullYear();
    const issued = await until(
      () => ok(manager, 'GET', `/payouts/${payout.id}`),
      (p) => p.selfBilledInvoice !== undefined,
      'the invoice',
    );
    expect(issued.status).toBe('ready');
    expect(issued.selfBilledInvoice.number).toBe(`IVA-${year}-00001`);
    expect(issued.selfBilledInvoice.sha256).toMatch(/^[0-9a-f]{64}$/);

    await ok(manager, 'POST', `/payouts/${payout.id}/cancel`, {});
    const cancelled = await until(
      () => ok(manager, 'GET', `/payouts/${payout.id}`),
      (p) => p.selfBilledCreditNote !== undefined,
      'the credit note',
    );
    expect(cancelled.selfBilledCreditNote.number).toBe(`IVA-${year}-00002`);
    expect(cancelled.selfBilledInvoice).toEqual(issued.selfBilledInvoice);
    const links = await ok(partner(partnerId), 'GET', `/partner/payouts/${payout.id}/self-billed-invoice`);
    expect(links.creditNote.number).toBe(`IVA-${year}-00002`);
  }, 90_000);
});
