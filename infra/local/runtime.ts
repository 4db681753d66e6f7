/**
 * The whole backend in one process, on loopback: emulators, then the same handler code as on AWS,
 * pointed at them through the SDK's standard endpoint variables.
 */
import { join, resolve } from 'node:path';
import { ENV } from '#shared/config/env.ts';
import { type LocalApiGateway, startApiGateway } from './api-gateway.ts';
import { createTables, LOCAL_CREDENTIALS, LOCAL_REGION, startDynalite, startS3rver } from './emulators.ts';
import { createVerifier } from './tokens.ts';

export const LOCAL_NAMES = {
  table: 'partner-payouts',
  idempotencyTable: 'partner-payouts-idempotency',
  invoiceBucket: 'partner-payouts-invoices',
  exportBucket: 'partner-payouts-exports',
} as const;

export interface LocalBackendOptions {
  dataDir?: string;
  port?: number;
  /** Log each request to stdout. */
  verbose?: boolean;
}

export interface LocalBackend {
  url: string;
  dataDir: string;
  api: LocalApiGateway;
  close(): Promise<void>;
}

/** Points the SDK and the handlers' configuration at the emulators (before any handler module loads). */
export function configureEnvironment(endpoints: { dynamodb: string; s3: string }, dataDir: string): void {
  const env: Record<string, string> = {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    S3_FORCE_PATH_STYLE: 'true',
    [ENV.tableName]: LOCAL_NAMES.table,
    [ENV.idempotencyTableName]: LOCAL_NAMES.idempotencyTable,
    [ENV.invoiceBucket]: LOCAL_NAMES.invoiceBucket,
    [ENV.exportBucket]: LOCAL_NAMES.exportBucket,
    [ENV.mailDir]: join(dataDir, 'mail'),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  for (const [name, value] of Object.entries(env)) process.env[name] = value;
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
}

export async function startLocalBackend(options: LocalBackendOptions = {}): Promise<LocalBackend> {
  const dataDir = resolve(options.dataDir ?? process.env.DATA_DIR ?? '.data');
  const dynalite = await startDynalite({ directory: join(dataDir, 'dynamodb') });
  const s3 = await startS3rver({
    directory: join(dataDir, 's3'),
    buckets: [LOCAL_NAMES.invoiceBucket, LOCAL_NAMES.exportBucket],
  });
  configureEnvironment({ dynamodb: dynalite.endpoint, s3: s3.endpoint }, dataDir);
  await createTables(dynalite.endpoint, LOCAL_NAMES);
  const api = await startApiGateway({
    port: options.port ?? 3000,
    verify: await createVerifier(dataDir),
    log: options.verbose ? (line) => console.log(line) : undefined,
  });
  return {
    url: api.url,
    dataDir,
    api,
    close: async () => {
      await api.close();
      await s3.close();
      await dynalite.close();
    },
  };
}
