/**
 * `npm run bench:self-billing`: 1,000 self-billed invoices issued end to end through the use case the
 * self-billing function runs (`issueSelfBilledDocuments`): the number taken from the partner's series
 * (conditional writes), the rewards read, the PDF (pdf-lib, DejaVu Sans subset) and the UBL XML
 * rendered, both stored write-once in S3, and the record written on the payout (with its history).
 *
 * The parent starts dynalite (its own process) and s3rver, seeds 1,000 ready self-billed payouts of
 * 50 partners (20 each, three rewards each: two commissions and a clawback; a mix of reverse charge,
 * VAT 19 % and exempt partners), bundles the issuing code as CDK bundles the self-billing function
 * (esbuild, the font copied beside the bundle), then issues them in a child process of its own
 * (./self-billing-child.mjs, plain Node like Lambda, no TypeScript loader), so that the child's peak
 * RSS (VmHWM) and CPU time are the issuing's alone.
 *
 * The child issues with one worker thread per core (`--workers`, default: the machine's cores), each
 * `--concurrency` invoices at a time. The deployed function issues one payout per invocation (a Task
 * of the payout's workflow) and Lambda runs invocations side by side in separate containers, so the
 * threads stand for concurrent containers; what one container does per invoice is the same code.
 * `cpuMsPerInvoice` (the child's CPU time over the invoices) is the figure the machine's load does
 * not change; `perSecond` depends on the emulators sharing the same cores.
 *
 * The parent then checks every payout's record, that each partner's series is 1…20 with no gap or
 * repeat, and that the stored files hash to the records. Prints one JSON object as its last line.
 *
 *   npm run bench:self-billing [-- --invoices 1000 --workers 2 --concurrency 4 --cpu-prof-dir DIR]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { createTables, LOCAL_CREDENTIALS, LOCAL_REGION, startS3rver } from '../../infra/local/emulators.ts';
import { configureEnvironment, LOCAL_NAMES } from '../../infra/local/runtime.ts';
import { type NewPayoutItem, newPayoutRecord, type PayoutItem } from '../../shared/adapters/payout-store.ts';
import { newId } from '../../shared/domain/ids.ts';
import { documentKey } from '../../shared/domain/self-billing.ts';
import { FONT_FILES } from '../../shared/self-billing/font.ts';
import type { BillingDetails } from '../../shared/self-billing/model.ts';
import { bundleAsCdk, ROOT } from '../support/bundle.ts';
import { startExternalDynalite } from './support.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const MIN_PER_SECOND = 50;
const MAX_RSS_MB = 256;
const PER_PARTNER = 20;

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const BILLINGS: BillingDetails[] = [
  { legalName: 'Müller Søren Łukasz GmbH', vatId: 'DE136695976', taxRegime: 'reverse_charge' },
  { legalName: 'Παπαδόπουλος & Иванов GmbH', vatId: 'DE136695976', taxRegime: 'vat', vatRateBps: 1900 },
  {
    legalName: 'Zoë Ñuñez',
    taxRegime: 'exempt',
    exemptionNote: 'Steuerfrei nach § 19 UStG',
    taxRegistrationId: '143/123/45678',
  },
];

// ------------------------------------------------------------------ parent: seed, run, verify

async function batchWrite(ddb: DynamoDBDocumentClient, items: Record<string, unknown>[]) {
  for (let i = 0; i < items.length; i += 25) {
    let request: Record<string, unknown>[] | undefined = items
      .slice(i, i + 25)
      .map((Item) => ({ PutRequest: { Item } }));
    while (request?.length) {
      const result = await ddb.send(
        new BatchWriteCommand({ RequestItems: { [LOCAL_NAMES.table]: request } }),
      );
      request = result.UnprocessedItems?.[LOCAL_NAMES.table] as Record<string, unknown>[] | undefined;
    }
  }
}

async function parent(): Promise<void> {
  const invoices = Number(argument('invoices') ?? 1000);
  const workers = Number(argument('workers') ?? availableParallelism());
  const concurrency = Number(argument('concurrency') ?? 4);
  const profiles = argument('cpu-prof-dir');
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-self-billing-'));
  const dynalite = await startExternalDynalite();
  const s3 = await startS3rver({
    directory: join(dataDir, 's3'),
    buckets: [LOCAL_NAMES.invoiceBucket, LOCAL_NAMES.exportBucket, LOCAL_NAMES.selfBillingBucket],
  });
  configureEnvironment({ dynamodb: dynalite.endpoint, s3: s3.endpoint }, dataDir);
  await createTables(dynalite.endpoint, LOCAL_NAMES);
  const ddb = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: dynalite.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
  );

  // Seed: partners × 20 ready payouts, three rewards each, interleaved so concurrent issuing meets
  // several series at once.
  const partners = Math.ceil(invoices / PER_PARTNER);
  const at = new Date().toISOString();
  const payouts: { id: string; partnerId: string }[] = [];
  const items: Record<string, unknown>[] = [];
  for (let p = 0; p < partners; p++) {
    const partnerId = newId('partner');
    const billing = BILLINGS[p % BILLINGS.length] as BillingDetails;
    for (let n = 0; n < PER_PARTNER && payouts.length < invoices; n++) {
      const id = newId('payout');
      const amounts = [10_000 + n * 7, 5_000 + p, -1_234];
      const rewardIds = amounts.map(() => newId('reward'));
      amounts.forEach((amount, i) => {
        items.push({
          PK: `REWARD#${rewardIds[i]}`,
          SK: 'REWARD',
          type: 'reward',
          id: rewardIds[i],
          partnerId,
          amount,
          currency: 'EUR',
          status: 'accepted',
          description:
            i === 2 ? `Clawback: refunded order ${p}-${n}` : `Commission for order ${p}-${n}-${i} — Müller`,
          payoutId: id,
          GSI2PK: `PAYOUT#${id}`,
          GSI2SK: `RW#${rewardIds[i]}`,
          createdAt: new Date(Date.parse(at) - (3 - i) * 86_400_000).toISOString(),
          updatedAt: at,
        });
      });
      const amount = amounts.reduce((a, b) => a + b, 0);
      items.push(
        newPayoutRecord({
          id,
          partnerId,
          currency: 'EUR',
          status: 'ready',
          amount,
          rewardCount: 3,
          memberCount: 3,
          requirements: { invoice: true, invoiceMode: 'self_billed', rewardReview: false },
          selfBillingSnapshot: {
            billing,
            address: { line1: 'Hauptstraße 5', city: 'München', postalCode: '80331', country: 'DE' },
            seriesPrefix: `B${String(p).padStart(3, '0')}`,
          },
          events: [],
          createdAt: at,
          updatedAt: at,
          validatedAt: at,
          partnerValidatedAt: at,
          version: 3,
        } as unknown as NewPayoutItem),
      );
      payouts.push({ id, partnerId });
    }
  }
  await batchWrite(ddb, items);
  // Issue in interleaved order: payout n of every partner, then n + 1 …
  const order = [...payouts].sort(
    (a, b) => (payouts.indexOf(a) % PER_PARTNER) - (payouts.indexOf(b) % PER_PARTNER),
  );

  // The issuing code bundled as CDK bundles the self-billing function, the font copied beside it.
  const bundled = await bundleAsCdk(join(dataDir, 'bundle'), 'self-billing', {
    contents: "export { issueSelfBilledDocuments } from './shared/usecases/self-billing-issue.ts';",
  });
  for (const spec of Object.values(FONT_FILES)) {
    copyFileSync(join(ROOT, 'node_modules', spec), join(dirname(bundled.file), basename(spec)));
  }

  const run = await new Promise<{ seconds: number; failed: number; cpuSeconds: number; peakRssMb: number }>(
    (resolve, reject) => {
      const proc = spawn(
        process.execPath,
        [
          // `--cpu-prof-dir <dir>`: V8 CPU profiles of the issuing process and its workers.
          ...(profiles ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : []),
          fileURLToPath(new URL('./self-billing-child.mjs', import.meta.url)),
          pathToFileURL(bundled.file).href,
          String(workers),
          String(concurrency),
        ],
        { stdio: ['pipe', 'pipe', 'inherit'], env: process.env },
      );
      let stdout = '';
      proc.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      proc.on('exit', (code) => {
        const last = stdout.trim().split('\n').pop() ?? '';
        if (code !== 0) reject(new Error(`child exited with ${code}: ${stdout}`));
        else resolve(JSON.parse(last));
      });
      proc.stdin.end(JSON.stringify(order.map((p) => p.id)));
    },
  );

  // Verify: every payout recorded; every series 1…20, no gap, no repeat; stored files match.
  const s3Client = new S3Client({
    endpoint: s3.endpoint,
    forcePathStyle: true,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const numbers = new Map<string, number[]>();
  const records: { partnerId: string; number: string; sha256: string; xmlSha256: string }[] = [];
  for (const { id, partnerId } of payouts) {
    const item = (
      await ddb.send(
        new GetCommand({ TableName: LOCAL_NAMES.table, Key: { PK: `PAYOUT#${id}`, SK: 'PAYOUT' } }),
      )
    ).Item as PayoutItem | undefined;
    const record = item?.selfBilledInvoice;
    if (!record) throw new Error(`${id} has no invoice`);
    records.push({ partnerId, ...record });
    const seqs = numbers.get(partnerId) ?? [];
    seqs.push(Number(record.number.slice(-5)));
    numbers.set(partnerId, seqs);
  }
  for (const [partnerId, seqs] of numbers) {
    const sorted = [...seqs].sort((a, b) => a - b);
    const expected = Array.from({ length: sorted.length }, (_, i) => i + 1);
    if (JSON.stringify(sorted) !== JSON.stringify(expected))
      throw new Error(`${partnerId}: ${sorted.join(',')}`);
  }
  const sample = records.filter((_, i) => i % 50 === 0);
  for (const record of sample) {
    for (const [ext, sha] of [
      ['pdf', record.sha256],
      ['xml', record.xmlSha256],
    ] as const) {
      const object = await s3Client.send(
        new GetObjectCommand({
          Bucket: LOCAL_NAMES.selfBillingBucket,
          Key: documentKey(record.partnerId, record.number, ext),
        }),
      );
      const bytes = await object.Body?.transformToByteArray();
      const hash = createHash('sha256')
        .update(bytes ?? new Uint8Array())
        .digest('hex');
      if (hash !== sha) throw new Error(`${record.number}.${ext}: stored file does not match its record`);
    }
  }
  s3Client.destroy();
  ddb.destroy();
  await s3.close();
  await dynalite.stop();
  rmSync(dataDir, { recursive: true, force: true });

  const perSecond = Math.round((invoices / run.seconds) * 10) / 10;
  const cpuMsPerInvoice = Math.round((run.cpuSeconds * 1000 * 10) / invoices) / 10;
  console.log(
    `issued ${invoices} invoices (PDF + UBL XML, stored write-once) in ${run.seconds.toFixed(2)} s`,
  );
  console.log(
    `  ${perSecond}/s (target ≥ ${MIN_PER_SECOND}), peak RSS ${run.peakRssMb} MB (target ≤ ${MAX_RSS_MB})`,
  );
  console.log(
    `  ${cpuMsPerInvoice} ms CPU per invoice (issuing process, ${workers} worker threads × ${concurrency}); load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    `  verified: ${numbers.size} series of ${PER_PARTNER}, gapless; ${sample.length * 2} stored files re-hashed`,
  );
  console.log(
    JSON.stringify({
      bench: 'self-billing',
      invoices,
      perSecond,
      peakRssMb: run.peakRssMb,
      failed: run.failed,
      cpuMsPerInvoice,
      workers,
      concurrency,
      load: loadavg().map((l) => Math.round(l * 10) / 10),
    }),
  );
  if (run.failed > 0) process.exitCode = 1;
}

await parent();
