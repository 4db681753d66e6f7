/**
 * `npm run cost`: drives one payout from draft to paid through the local backend (with an invoice
 * upload and an export), counts what AWS would bill — API requests, Lambda invocations and their
 * durations, state transitions, DynamoDB request units, S3 requests, events, e-mails — and prices one
 * payout and 10,000 payouts a month at published us-east-1 prices (listed below).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
process.env.REMINDER_INTERVAL_SECONDS = '3600';

/** us-east-1 list prices (USD), as published in 2026; ARM Lambda. */
export const PRICES = {
  apiRequest: 1.0 / 1e6, // HTTP API, first 300 M requests a month
  lambdaRequest: 0.2 / 1e6,
  lambdaGbSecond: 0.0000133334, // Arm
  stateTransition: 0.025 / 1000, // Standard workflows
  dynamoWriteUnit: 0.625 / 1e6, // on-demand WRU
  dynamoReadUnit: 0.125 / 1e6, // on-demand RRU (strongly consistent read = 1 RRU per 4 KB)
  s3Put: 0.005 / 1000, // PUT, POST, COPY, LIST
  s3Get: 0.0004 / 1000, // GET and others
  eventBridgeEvent: 1.0 / 1e6, // custom events
  sesEmail: 0.1 / 1000,
  logsIngestGb: 0.5,
};
const LAMBDA_MEMORY_GB: Record<string, number> = { health: 0.25, notifier: 0.5, 'invoice-uploaded': 0.5 };
/** Local handlers run without Lambda's overheads but on a loaded 2-core box; billed ms are rounded up. */
const MIN_BILLED_MS = 1;

const dataDir = mkdtempSync(join(tmpdir(), 'payouts-cost-'));
const { startLocalBackend } = await import('../../infra/local/runtime.ts');
const { onInvocation } = await import('../../infra/local/functions.ts');
const { issueToken } = await import('../../infra/local/tokens.ts');
const backend = await startLocalBackend({ dataDir, port: 0 });
const { dynamo, s3 } = await import('../../shared/adapters/clients.ts');

const counts = {
  apiRequests: 0,
  invocations: new Map<string, { count: number; ms: number }>(),
  dynamoWriteUnits: 0,
  dynamoReadUnits: 0,
  dynamoRequests: 0,
  s3Puts: 0,
  s3Gets: 0,
};
onInvocation((name, ms) => {
  const key = name.replace(/^partner-payouts-/, '');
  const entry = counts.invocations.get(key) ?? { count: 0, ms: 0 };
  entry.count++;
  entry.ms += Math.max(MIN_BILLED_MS, Math.ceil(ms));
  counts.invocations.set(key, entry);
});
const kb = (value: unknown) => Math.max(1, Math.ceil(Buffer.byteLength(JSON.stringify(value ?? {})) / 1024));
dynamo().middlewareStack.add(
  (next, context) => async (args) => {
    const input = args.input as { Item?: unknown; Key?: unknown; RequestItems?: Record<string, unknown[]> };
    const result = await next(args);
    const output = result.output as {
      Item?: unknown;
      Items?: unknown[];
      Attributes?: unknown;
      Responses?: Record<string, unknown[]>;
    };
    counts.dynamoRequests++;
    switch (context.commandName) {
      case 'PutItemCommand':
        counts.dynamoWriteUnits += kb(input.Item);
        break;
      case 'UpdateItemCommand':
      case 'DeleteItemCommand':
        counts.dynamoWriteUnits += kb(output.Attributes ?? input.Key);
        break;
      case 'BatchWriteItemCommand':
        for (const requests of Object.values(input.RequestItems ?? {}))
          for (const request of requests) counts.dynamoWriteUnits += kb(request);
        break;
      case 'GetItemCommand':
        counts.dynamoReadUnits += Math.ceil(kb(output.Item) / 4);
        break;
      case 'QueryCommand':
      case 'ScanCommand':
        counts.dynamoReadUnits += Math.max(1, Math.ceil(kb(output.Items) / 4));
        break;
      case 'BatchGetItemCommand':
        for (const items of Object.values(output.Responses ?? {}))
          for (const item of items) counts.dynamoReadUnits += Math.ceil(kb(item) / 4);
        break;
    }
    return result;
  },
  { step: 'initialize', name: 'costCounter' },
);
s3().middlewareStack.add(
  (next, context) => async (args) => {
    if (
      /^(Put|Post|Copy|List|CreateMultipart|UploadPart|CompleteMultipart)/.test(String(context.commandName))
    )
      counts.s3Puts++;
    else counts.s3Gets++;
    return next(args);
  },
  // Requests actually sent (each attempt); a presigned URL never reaches the deserialize step.
  { step: 'deserialize', name: 's3CostCounter' },
);

const manager = await issueToken(dataDir, { role: 'manager' });
async function api(token: string, method: string, path: string, body?: unknown) {
  counts.apiRequests++;
  const response = await fetch(`${backend.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}
const settle = async () => {
  await new Promise((resolve) => setTimeout(resolve, 600));
  await backend.workflow.events.idle();
};

// ------------------------------------------------------------------ one payout, draft to paid
const partner = await api(manager, 'POST', '/partners', {
  name: 'Ana Müller',
  email: 'ana@example.com',
  payoutMethod: { type: 'sepa', accountHolder: 'Ana Müller', iban: 'DE89370400440532013000' },
  address: { line1: 'Hauptstr. 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
});
const REWARDS = 10;
for (let index = 0; index < REWARDS; index++) {
  await api(manager, 'POST', '/rewards', {
    partnerId: partner.id,
    amount: 1000 + index,
    currency: 'EUR',
    status: 'accepted',
  });
}
const payout = await api(manager, 'POST', '/payouts', { partnerId: partner.id, currency: 'EUR' });
await settle();
await api(manager, 'POST', `/payouts/${payout.id}/validate`, { requireInvoice: true });
await settle();
const partnerToken = await issueToken(dataDir, { role: 'partner', partnerId: partner.id });
await api(partnerToken, 'GET', `/partner/payouts/${payout.id}`);
const upload = await api(partnerToken, 'POST', `/partner/payouts/${payout.id}/invoice`, {
  fileName: 'invoice.pdf',
});
const form = new FormData();
for (const [name, value] of Object.entries(upload.fields as Record<string, string>)) form.append(name, value);
const pdf = Buffer.from('%PDF-1.4\n% cost model\n%%EOF\n');
form.append('file', new Blob([pdf], { type: 'application/pdf' }), 'invoice.pdf');
counts.s3Puts++; // the browser's POST goes straight to S3
await fetch(upload.url, { method: 'POST', body: form });
await new Promise((resolve) => setTimeout(resolve, 800));
await api(partnerToken, 'POST', `/partner/payouts/${payout.id}/validate`);
await settle();
const exported = await api(manager, 'POST', '/exports', { format: 'sepa', payoutIds: [payout.id] }).catch(
  () => undefined,
);
if (exported) counts.s3Gets++; // the manager downloads the file
await api(manager, 'POST', `/payouts/${payout.id}/mark-paid`, { paymentReference: 'SEPA-1' });
await settle();
await new Promise((resolve) => setTimeout(resolve, 1000));
const { SFNClient, DescribeExecutionCommand } = await import('@aws-sdk/client-sfn');
const sfnClient = new SFNClient({ endpoint: backend.workflow.sfn.endpoint });
const executionArn = `arn:aws:states:us-east-1:000000000000:execution:partner-payouts:${payout.id}`;
const execution = await sfnClient.send(new DescribeExecutionCommand({ executionArn }));
const transitions = backend.workflow.sfn.stateTransitions(executionArn) ?? 0;
const events = backend.workflow.events.published.filter((event) =>
  JSON.stringify(event.detail).includes(payout.id),
).length;
const emails = backend.workflow.events.published.filter((event) =>
  ['payout.validated', 'payout.partner_validated', 'payout.paid', 'payout.reminder'].includes(
    event['detail-type'],
  ),
).length;
await backend.close();
rmSync(dataDir, { recursive: true, force: true });

// ------------------------------------------------------------------ price it
let lambdaCost = 0;
let lambdaInvocations = 0;
const lambdaLines: string[] = [];
for (const [name, entry] of counts.invocations) {
  const memory = LAMBDA_MEMORY_GB[name] ?? 1;
  const cost = entry.count * PRICES.lambdaRequest + (entry.ms / 1000) * memory * PRICES.lambdaGbSecond;
  lambdaCost += cost;
  lambdaInvocations += entry.count;
  lambdaLines.push(
    `  ${name.padEnd(18)} ${String(entry.count).padStart(3)} invocations, ${entry.ms} ms billed at ${memory * 1024} MB`,
  );
}
const lines = {
  api: counts.apiRequests * PRICES.apiRequest,
  lambda: lambdaCost,
  stepFunctions: transitions * PRICES.stateTransition,
  dynamodb: counts.dynamoWriteUnits * PRICES.dynamoWriteUnit + counts.dynamoReadUnits * PRICES.dynamoReadUnit,
  s3: counts.s3Puts * PRICES.s3Put + counts.s3Gets * PRICES.s3Get,
  eventBridge: events * PRICES.eventBridgeEvent,
  ses: emails * PRICES.sesEmail,
};
const perPayout = Object.values(lines).reduce((sum, value) => sum + value, 0);
console.log(
  `One payout (${REWARDS} rewards, invoice, SEPA export) from draft to paid — execution ${execution.status}:`,
);
console.log(
  `  API requests ${counts.apiRequests}; Lambda invocations ${lambdaInvocations}; state transitions ${transitions};`,
);
console.log(
  `  DynamoDB ${counts.dynamoRequests} requests = ${counts.dynamoWriteUnits} WRU + ${counts.dynamoReadUnits} RRU; S3 ${counts.s3Puts} PUT/POST + ${counts.s3Gets} GET; ${events} events; ${emails} e-mails`,
);
for (const line of lambdaLines) console.log(line);
for (const [service, cost] of Object.entries(lines))
  console.log(`  ${service.padEnd(14)} $${cost.toFixed(7)}`);
console.log(
  `  total per payout $${perPayout.toFixed(6)}; 10,000 payouts a month $${(perPayout * 10_000).toFixed(2)}`,
);
console.log('Prices assumed (us-east-1):', JSON.stringify(PRICES));
console.log(
  JSON.stringify({
    cost: 'payout',
    transitions,
    apiRequests: counts.apiRequests,
    lambdaInvocations,
    dynamoWriteUnits: counts.dynamoWriteUnits,
    dynamoReadUnits: counts.dynamoReadUnits,
    perPayoutUsd: Math.round(perPayout * 1e7) / 1e7,
    per10kPayoutsUsd: Math.round(perPayout * 10_000 * 100) / 100,
    breakdownUsd: Object.fromEntries(Object.entries(lines).map(([k, v]) => [k, Math.round(v * 1e7) / 1e7])),
  }),
);
