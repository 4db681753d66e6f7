/**
 * The local stand-ins for DynamoDB and S3, in-process on loopback: dynalite (on disk when given a
 * directory) and s3rver. Used by `npm start` and by the tests' global setup.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { IDEMPOTENCY_TABLE_SCHEMA, TABLE_SCHEMA } from '#shared/adapters/table.ts';
import { assertPortFree, PortInUseError } from './ports.ts';

const require = createRequire(import.meta.url);

export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const LOCAL_REGION = 'us-east-1';

interface Closable {
  close(callback?: (error?: Error) => void): unknown;
}

export interface Dynalite {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * The dynalite server of `startDynaliteProcess`, run with `node -e`: dynalite's own CLI reads
 * `--port 0` as "unset" and binds 4567, so a second server (or a test beside a developer's
 * `npm start`) would collide. This listens on the port given (0: any free one), prints the port it
 * got, and on a listen error prints one line and exits 1 instead of an unhandled 'error' dump.
 */
const DYNALITE_SERVER = `
const [modulePath, portText, directory] = process.argv.slice(1);
const port = Number(portText);
const server = require(modulePath)({ path: directory, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.on('error', (error) => {
  process.stderr.write((error.code === 'EADDRINUSE' ? 'EADDRINUSE' : 'dynalite: ' + error.message) + '\\n');
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write('dynalite listening at: http://127.0.0.1:' + server.address().port + '\\n');
});
// dynalite writes an item's index entries and the item itself as separate LevelDB writes (an update
// deletes the old index entries first), so it must not stop between them: a request whose body has
// arrived is finished before the process ends, however the end comes. Otherwise a reward could lose
// its unclaimed-index entry while its own item is unchanged, and no drafting run would ever find it.
let working = 0;
let ending = false;
server.on('request', (req, res) => {
  req.once('end', () => {
    working++;
    const end = res.end;
    res.end = function (...args) {
      res.end = end;
      const result = end.apply(this, args);
      working--;
      if (ending && working === 0) finish();
      return result;
    };
  });
});
function finish() {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 5000).unref();
}
function shutDown() {
  if (ending) return;
  ending = true;
  if (working === 0) finish();
  // A request that never ends must not hold the data folder's lock for ever.
  setTimeout(() => process.exit(0), 10000).unref();
}
if (process.pid === 1) process.on('SIGINT', shutDown);
process.on('SIGTERM', shutDown);
// The parent holds the other end of stdin: when it dies, even by SIGKILL, this server ends too
// instead of holding the data folder's lock against the next start.
process.stdin.on('end', shutDown);
process.stdin.on('error', shutDown);
process.stdin.resume();
`;

/**
 * dynalite in its own process (not npx, which leaves an orphan), so the database and the handlers use
 * both cores; on a free port unless one is given. It ends with this process, however this one ends.
 */
export async function startDynaliteProcess(options: { directory: string; port?: number }): Promise<Dynalite> {
  mkdirSync(options.directory, { recursive: true });
  const port = options.port ?? 0;
  const child = spawn(
    process.execPath,
    ['-e', DYNALITE_SERVER, require.resolve('dynalite'), String(port), options.directory],
    // Its own process group: a SIGKILL of the whole `npm start` group must not stop it half-way
    // through a write; it ends on its own once the server is gone (its stdin closes).
    { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
  );
  const killChild = () => child.kill('SIGTERM');
  process.once('exit', killChild);
  const bound = await new Promise<number>((resolve, reject) => {
    let output = '';
    let errors = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening at: https?:\/\/[^:]+:(\d+)/.exec(output);
      if (match?.[1]) resolve(Number(match[1]));
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.once('exit', (code) => {
      process.off('exit', killChild);
      if (errors.startsWith('EADDRINUSE')) reject(new PortInUseError('dynalite', port));
      else reject(new Error(`dynalite exited with ${code}: ${errors.trim()}`));
    });
  });
  // Errors after start-up (none expected) still reach the terminal.
  child.stderr?.pipe(process.stderr);
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        process.off('exit', killChild);
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function startDynalite(options: { directory?: string; port?: number } = {}): Promise<Dynalite> {
  if (options.directory) mkdirSync(options.directory, { recursive: true });
  const dynalite = require('dynalite') as (options: object) => Closable & {
    listen(port: number, host: string, callback: (error?: Error) => void): void;
    address(): AddressInfo;
  };
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.directory ? { path: options.directory } : {}),
  });
  await new Promise<void>((resolve, reject) =>
    server.listen(options.port ?? 0, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
  );
  const { port } = server.address();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function createTable(
  client: DynamoDBClient,
  input: ConstructorParameters<typeof CreateTableCommand>[0],
) {
  try {
    await client.send(new CreateTableCommand(input));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Table ${input.TableName} did not become ACTIVE`);
}

/** Creates the payouts table (same keys and indexes as the CDK stack) and the idempotency table. */
export async function createTables(endpoint: string, names: { table: string; idempotencyTable: string }) {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const attributes = new Set<string>([TABLE_SCHEMA.partitionKey, TABLE_SCHEMA.sortKey]);
  for (const index of TABLE_SCHEMA.indexes) {
    attributes.add(index.partitionKey);
    attributes.add(index.sortKey);
  }
  await createTable(client, {
    TableName: names.table,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_SCHEMA.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: TABLE_SCHEMA.indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
  });
  await createTable(client, {
    TableName: names.idempotencyTable,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: IDEMPOTENCY_TABLE_SCHEMA.partitionKey, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: IDEMPOTENCY_TABLE_SCHEMA.partitionKey, KeyType: 'HASH' }],
  });
  client.destroy();
}

export interface S3Event {
  Records: Array<{
    eventName: string;
    s3: { bucket: { name: string }; object: { key: string; size: number } };
  }>;
}

export interface S3rverInstance {
  endpoint: string;
  onObjectCreated(listener: (event: S3Event) => void): void;
  close(): Promise<void>;
}

export async function startS3rver(options: {
  directory: string;
  buckets: string[];
  port?: number;
}): Promise<S3rverInstance> {
  mkdirSync(options.directory, { recursive: true });
  const S3rver = require('s3rver') as new (
    options: object,
  ) => Closable & {
    run(): Promise<AddressInfo>;
    on(event: 'event', listener: (event: S3Event) => void): void;
  };
  const cors = Buffer.from(
    `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>`,
  );
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: options.directory,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [cors] })),
  });
  // s3rver reports a failed listen only as an unhandled 'error' event: check a configured port first.
  await assertPortFree('s3rver', options.port ?? 0);
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    onObjectCreated: (listener) =>
      server.on('event', (event) => {
        if (event.Records.some((record) => record.eventName.startsWith('ObjectCreated'))) listener(event);
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
