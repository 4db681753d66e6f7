/**
 * The whole backend in one process, on loopback: emulators, then the same handler code as on AWS,
 * pointed at them through the SDK's standard endpoint variables.
 *
 *   HTTP ──▶ api-gateway.ts (JWT check, v2 events) ──▶ functions/<group>/handler.ts
 *   handlers ──▶ dynalite · s3rver · stepfunctions.ts (payout.asl.json + task tokens)
 *   workflow ──▶ functions/workflow ──▶ eventbridge.ts ──▶ functions/notifier ──▶ ses.ts (.eml)
 *                                        eventbridge.ts ──▶ webhook-queue.ts ──▶ functions/webhook-delivery ──▶ receivers
 */

import { join, resolve } from 'node:path';
import { EVENT_SOURCE } from '#shared/adapters/events.ts';
import { DIGEST_SCHEDULE } from '#shared/config/controls.ts';
import { DEFAULT_PAYOUT_SCHEDULE } from '#shared/config/drafting.ts';
import { ENV } from '#shared/config/env.ts';
import { reconcileSettings } from '#shared/config/reconcile.ts';
import { workflowSettings } from '#shared/config/workflow.ts';
import { NOTIFIED_EVENT_TYPES } from '#shared/domain/notifications.ts';
import { workflowDefinition } from '../workflow/definition.ts';
import { type ExtraRoute, type LocalApiGateway, startApiGateway } from './api-gateway.ts';
import { consoleRoutes } from './console.ts';
import { docsRoutes } from './docs.ts';
import {
  createTables,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  startDynaliteProcess,
  startS3rver,
} from './emulators.ts';
import { type LocalEventBridge, startLocalEventBridge } from './eventbridge.ts';
import { invokeLocal, type LambdaHandler } from './functions.ts';
import { startLocalLambda } from './lambda.ts';
import { scheduleDrafting, scheduleEvery } from './schedule.ts';
import { startLocalSes } from './ses.ts';
import { type LocalStepFunctions, startLocalStepFunctions } from './stepfunctions.ts';
import { createVerifier } from './tokens.ts';
import { type LocalWebhookQueue, startLocalWebhookQueue } from './webhook-queue.ts';

export const LOCAL_NAMES = {
  table: 'partner-payouts',
  idempotencyTable: 'partner-payouts-idempotency',
  invoiceBucket: 'partner-payouts-invoices',
  exportBucket: 'partner-payouts-exports',
  bankReportBucket: 'partner-payouts-bank-reports',
  eventBus: 'partner-payouts',
  stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:partner-payouts',
  workflowFunction: 'partner-payouts-workflow',
  draftingFunction: 'partner-payouts-drafting',
  reconcilerFunction: 'partner-payouts-reconciler',
  selfBillingBucket: 'partner-payouts-self-billing',
  selfBillingFunction: 'partner-payouts-self-billing',
  webhookDeliveryFunction: 'partner-payouts-webhook-delivery',
} as const;

/** The bus rules of the stack (infra/constructs/webhooks.ts, workflow.ts), as the local bus runs them. */
export const LOCAL_RULE_PATTERNS = {
  /** Every domain event: the webhook fan-out decides which endpoint takes which type. */
  webhooks: { source: [EVENT_SOURCE] },
  notify: { source: [EVENT_SOURCE], 'detail-type': [...NOTIFIED_EVENT_TYPES] },
} as const;

export interface LocalEndpoints {
  dynamodb: string;
  s3: string;
  sfn?: string;
  eventbridge?: string;
  sesv2?: string;
  lambda?: string;
  /** The local SQS + Scheduler stand-in of the webhook queue. */
  webhooks?: { endpoint: string; queueUrl: string; queueArn: string };
}

/** Points the SDK and the handlers' configuration at the emulators (before any handler module loads). */
export function configureEnvironment(endpoints: LocalEndpoints, dataDir: string): void {
  const env: Record<string, string> = {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    S3_FORCE_PATH_STYLE: 'true',
    [ENV.tableName]: LOCAL_NAMES.table,
    [ENV.idempotencyTableName]: LOCAL_NAMES.idempotencyTable,
    [ENV.invoiceBucket]: LOCAL_NAMES.invoiceBucket,
    [ENV.exportBucket]: LOCAL_NAMES.exportBucket,
    [ENV.bankReportBucket]: LOCAL_NAMES.bankReportBucket,
    [ENV.eventBusName]: LOCAL_NAMES.eventBus,
    [ENV.draftingFunctionName]: LOCAL_NAMES.draftingFunction,
    [ENV.selfBillingBucket]: LOCAL_NAMES.selfBillingBucket,
    [ENV.selfBillingFunctionName]: LOCAL_NAMES.selfBillingFunction,
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  if (endpoints.sfn) {
    env.AWS_ENDPOINT_URL_SFN = endpoints.sfn;
    env[ENV.stateMachineArn] = LOCAL_NAMES.stateMachineArn;
  }
  if (endpoints.eventbridge) env.AWS_ENDPOINT_URL_EVENTBRIDGE = endpoints.eventbridge;
  if (endpoints.lambda) env.AWS_ENDPOINT_URL_LAMBDA = endpoints.lambda;
  if (endpoints.sesv2) env.AWS_ENDPOINT_URL_SESV2 = endpoints.sesv2;
  if (endpoints.webhooks) {
    env.AWS_ENDPOINT_URL_SQS = endpoints.webhooks.endpoint;
    env.AWS_ENDPOINT_URL_SCHEDULER = endpoints.webhooks.endpoint;
    env[ENV.webhookQueueUrl] = endpoints.webhooks.queueUrl;
    env[ENV.webhookQueueArn] = endpoints.webhooks.queueArn;
    env[ENV.webhookSchedulerRoleArn] = 'arn:aws:iam::000000000000:role/partner-payouts-webhook-scheduler';
  }
  for (const [name, value] of Object.entries(env)) process.env[name] = value;
  process.env[ENV.mailDir] = join(dataDir, 'mail');
  process.env[ENV.mailFrom] ||= 'payouts@example.com';
  process.env[ENV.managerEmail] ||= 'finance@example.com';
  process.env[ENV.portalUrl] ||= 'http://127.0.0.1:3000';
  process.env[ENV.sepaDebtorName] ||= 'Example Company';
  process.env[ENV.sepaDebtorIban] ||= 'DE89370400440532013000';
  process.env[ENV.sepaDebtorBic] ||= 'COBADEFFXXX';
  process.env[ENV.companyName] ||= 'Example Company B.V.';
  process.env[ENV.companyAddress] ||= 'Keizersgracht 1|1015 CJ|Amsterdam|NL';
  process.env[ENV.companyVatId] ||= 'NL004495445B01';
  process.env.POWERTOOLS_LOG_LEVEL ||= 'WARN';
}

async function lambda(load: () => Promise<{ handler: LambdaHandler }>, name: string, timeoutMs?: number) {
  return async (payload: unknown) => invokeLocal(name, (await load()).handler, payload, timeoutMs);
}

export interface WorkflowRuntime {
  sfn: LocalStepFunctions;
  /** For fault-injection tests: the workflow Lambda throws on the next `times` calls of `action`. */
  failWorkflowStep(action: string, payoutId: string, times: number): void;
  lambda: { endpoint: string; idle(): Promise<void>; close(): Promise<void> };
  events: LocalEventBridge;
  ses: { endpoint: string; close(): Promise<void> };
  webhooks: LocalWebhookQueue;
  close(): Promise<void>;
}

/** Step Functions (the real ASL), EventBridge routing and SES, wired to the in-process handlers. */
export async function startWorkflowRuntime(options: {
  mailDir: string;
  waitTimeOverrides?: Record<string, number>;
  retryIntervalOverrides?: Record<string, number | number[]>;
  /** Keep queued webhook messages (retries) across restarts in this file (./webhook-queue.ts). */
  webhookQueueFile?: string;
}): Promise<WorkflowRuntime> {
  const workflowLambda = await lambda(
    () => import('../../functions/workflow/handler.ts'),
    LOCAL_NAMES.workflowFunction,
  );
  // Fault injection for tests: the next `times` invocations of an action for a payout throw.
  const workflowFaults: { action: string; payoutId: string; times: number }[] = [];
  const workflow = async (payload: unknown) => {
    const { action, payoutId } = (payload ?? {}) as { action?: string; payoutId?: string };
    const fault = workflowFaults.find((f) => f.action === action && f.payoutId === payoutId && f.times > 0);
    if (fault) {
      fault.times--;
      const error = new Error(`Injected fault in ${action} of ${payoutId}`);
      error.name = 'InjectedFault';
      throw error;
    }
    return workflowLambda(payload);
  };
  const notifier = await lambda(
    () => import('../../functions/notifier/handler.ts'),
    'partner-payouts-notifier',
  );
  const drafting = await lambda(
    () => import('../../functions/drafting/handler.ts'),
    LOCAL_NAMES.draftingFunction,
    900_000,
  );
  const selfBilling = await lambda(
    () => import('../../functions/self-billing/handler.ts'),
    LOCAL_NAMES.selfBillingFunction,
    120_000,
  );
  const ses = await startLocalSes({ mailDir: options.mailDir });
  const invoke = await startLocalLambda({
    functions: {
      [LOCAL_NAMES.draftingFunction]: drafting,
      [LOCAL_NAMES.selfBillingFunction]: selfBilling,
    },
  });
  const webhookDelivery = await lambda(
    () => import('../../functions/webhook-delivery/handler.ts'),
    LOCAL_NAMES.webhookDeliveryFunction,
    60_000,
  );
  const webhooks = await startLocalWebhookQueue({
    consume: webhookDelivery,
    ...(options.webhookQueueFile ? { persistFile: options.webhookQueueFile } : {}),
  });
  // The outbox sweep, every 5 minutes as on AWS (EventBridge Scheduler there).
  const sweep = setInterval(() => {
    webhookDelivery({ kind: 'sweep' }).catch((error: unknown) => console.error('outbox sweep failed', error));
  }, 300_000);
  sweep.unref();
  const events = await startLocalEventBridge({
    rules: [
      {
        name: 'webhooks',
        eventBusName: LOCAL_NAMES.eventBus,
        pattern: LOCAL_RULE_PATTERNS.webhooks,
        target: async (event) => webhooks.send(JSON.stringify(event)),
      },
      {
        name: 'notify',
        eventBusName: LOCAL_NAMES.eventBus,
        pattern: LOCAL_RULE_PATTERNS.notify,
        target: async (event) => {
          await notifier(event);
        },
      },
    ],
  });
  const sfn = await startLocalStepFunctions({
    stateMachines: {
      [LOCAL_NAMES.stateMachineArn]: workflowDefinition(
        {
          waitSeconds: workflowSettings().waitSeconds,
          processingWaitSeconds: workflowSettings().processingWaitSeconds,
        },
        {
          WorkflowFunctionArn: LOCAL_NAMES.workflowFunction,
          SelfBillingFunctionArn: LOCAL_NAMES.selfBillingFunction,
        },
      ),
    },
    lambdas: { [LOCAL_NAMES.workflowFunction]: workflow, [LOCAL_NAMES.selfBillingFunction]: selfBilling },
    waitTimeOverrides: options.waitTimeOverrides,
    retryIntervalOverrides: options.retryIntervalOverrides,
    log: process.env.DEBUG_WORKFLOW
      ? (message, extra) => console.error(message, JSON.stringify(extra))
      : undefined,
  });
  return {
    sfn,
    failWorkflowStep(action, payoutId, times) {
      workflowFaults.push({ action, payoutId, times });
    },
    lambda: invoke,
    events,
    ses,
    webhooks,
    close: async () => {
      clearInterval(sweep);
      await invoke.close();
      await sfn.close();
      await events.close();
      await webhooks.close();
      await ses.close();
    },
  };
}

export interface LocalBackendOptions {
  dataDir?: string;
  port?: number;
  /** dynalite's and s3rver's ports (default: any free port). */
  dynamodbPort?: number;
  s3Port?: number;
  /** Log each request to stdout. */
  verbose?: boolean;
  extraRoutes?: ExtraRoute[];
}

export interface LocalBackend {
  url: string;
  dataDir: string;
  api: LocalApiGateway;
  workflow: WorkflowRuntime;
  /** One reconciler run now (what its schedule fires). */
  reconcile(options?: { checkAll?: boolean }): Promise<unknown>;
  close(): Promise<void>;
}

export async function startLocalBackend(options: LocalBackendOptions = {}): Promise<LocalBackend> {
  const dataDir = resolve(options.dataDir ?? process.env.DATA_DIR ?? '.data');
  // E-mail links lead to this server's console unless PORTAL_URL says otherwise (set once it listens).
  const portalUrlGiven = Boolean(process.env[ENV.portalUrl]);
  const dynalite = await startDynaliteProcess({
    directory: join(dataDir, 'dynamodb'),
    port: options.dynamodbPort,
  });
  const s3 = await startS3rver({
    directory: join(dataDir, 's3'),
    buckets: [
      LOCAL_NAMES.invoiceBucket,
      LOCAL_NAMES.exportBucket,
      LOCAL_NAMES.bankReportBucket,
      LOCAL_NAMES.selfBillingBucket,
    ],
    port: options.s3Port,
  }).catch(async (error: unknown) => {
    await dynalite.close();
    throw error;
  });
  configureEnvironment({ dynamodb: dynalite.endpoint, s3: s3.endpoint }, dataDir);
  const workflow = await startWorkflowRuntime({
    mailDir: join(dataDir, 'mail'),
    webhookQueueFile: join(dataDir, 'webhook-queue.json'),
  });
  configureEnvironment(
    {
      dynamodb: dynalite.endpoint,
      s3: s3.endpoint,
      sfn: workflow.sfn.endpoint,
      eventbridge: workflow.events.endpoint,
      sesv2: workflow.ses.endpoint,
      lambda: workflow.lambda.endpoint,
      webhooks: workflow.webhooks,
    },
    dataDir,
  );
  await createTables(dynalite.endpoint, LOCAL_NAMES);
  // s3rver's event emitter stands in for the bucket notification: same handler, same event shape.
  const invoiceUploaded = await lambda(
    () => import('../../functions/invoice-uploaded/handler.ts'),
    'partner-payouts-invoice-uploaded',
  );
  s3.onObjectCreated((event) => {
    const records = event.Records.filter((record) => record.s3.bucket.name === LOCAL_NAMES.invoiceBucket);
    if (records.length === 0) return;
    invoiceUploaded({ Records: records }).catch((error: unknown) =>
      console.error('invoice check failed', error),
    );
  });
  const bankReportUploaded = await lambda(
    () => import('../../functions/bank-report-uploaded/handler.ts'),
    'partner-payouts-bank-report-uploaded',
    900_000,
  );
  s3.onObjectCreated((event) => {
    const records = event.Records.filter((record) => record.s3.bucket.name === LOCAL_NAMES.bankReportBucket);
    if (records.length === 0) return;
    bankReportUploaded({ Records: records }).catch((error: unknown) =>
      console.error('bank report check failed', error),
    );
  });
  // The reconciler, as on AWS: on its schedule, and once now. At start it checks every open payout,
  // not only overdue ones: the local Step Functions keeps its executions in memory, so after a
  // restart every execution is gone.
  const reconcile = async (options: { checkAll?: boolean } = {}) => {
    const { handler } = await import('../../functions/reconciler/handler.ts');
    return invokeLocal(LOCAL_NAMES.reconcilerFunction, handler, options, 300_000);
  };
  await reconcile({ checkAll: true }).catch((error: unknown) => console.error('reconciler failed', error));
  const reconcileSchedule = scheduleEvery(reconcileSettings().intervalMinutes, 'reconciler', async () => {
    await reconcile();
  });
  const schedule = scheduleDrafting(
    process.env[ENV.payoutSchedule] || DEFAULT_PAYOUT_SCHEDULE,
    process.env[ENV.payoutScheduleTz] || 'UTC',
    async () => {
      const { handler } = await import('../../functions/drafting/handler.ts');
      await invokeLocal(LOCAL_NAMES.draftingFunction, handler, {}, 900_000);
    },
  );
  const digest = scheduleDrafting(DIGEST_SCHEDULE, 'UTC', async () => {
    const { handler } = await import('../../functions/controls-digest/handler.ts');
    await invokeLocal('partner-payouts-controls-digest', handler, {}, 60_000);
  });
  const api = await startApiGateway({
    port: options.port ?? 3000,
    verify: await createVerifier(dataDir),
    extraRoutes: [docsRoutes(), consoleRoutes({ dataDir }), ...(options.extraRoutes ?? [])],
    log: options.verbose ? (line) => console.log(line) : undefined,
  });
  if (!portalUrlGiven) process.env[ENV.portalUrl] = api.url;
  return {
    url: api.url,
    dataDir,
    api,
    workflow,
    reconcile,
    close: async () => {
      schedule.stop();
      reconcileSchedule.stop();
      digest.stop();
      await api.close();
      await workflow.close();
      await s3.close();
      await dynalite.close();
    },
  };
}
