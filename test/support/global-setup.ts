/**
 * Starts dynalite and s3rver once for the whole run, on random loopback ports, with the same tables
 * and buckets as `npm start`. Test files reach them through the endpoints provided here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createTables, startDynalite, startS3rver } from '../../infra/local/emulators.ts';
import { startLocalEventBridge } from '../../infra/local/eventbridge.ts';
import { LOCAL_NAMES } from '../../infra/local/runtime.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    s3Endpoint: string;
    dataDir: string;
    eventBridgeEndpoint: string;
  }
}

// The SDK's Node-version notice (Node 20 here) is noise in the test output; Lambda runs Node 22+.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export default async function setup(project: TestProject) {
  const dataDir = mkdtempSync(join(tmpdir(), 'payouts-test-'));
  const dynalite = await startDynalite();
  const s3 = await startS3rver({
    directory: join(dataDir, 's3'),
    buckets: [
      LOCAL_NAMES.invoiceBucket,
      LOCAL_NAMES.exportBucket,
      LOCAL_NAMES.bankReportBucket,
      LOCAL_NAMES.selfBillingBucket,
    ],
  });
  await createTables(dynalite.endpoint, LOCAL_NAMES);
  // A bus with no rules: published domain events are accepted and dropped (tests that need to
  // see them start their own).
  const events = await startLocalEventBridge({ rules: [] });
  project.provide('eventBridgeEndpoint', events.endpoint);
  project.provide('dynamodbEndpoint', dynalite.endpoint);
  project.provide('s3Endpoint', s3.endpoint);
  project.provide('dataDir', dataDir);
  return async () => {
    await events.close();
    await s3.close();
    await dynalite.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
