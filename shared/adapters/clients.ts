/**
 * The AWS SDK v3 clients of the Lambda code, one per service, each created on first use and reused
 * for the life of the container (a function that never calls a service never builds its client).
 *
 * Endpoints, region and credentials come from the SDK's own configuration (`AWS_REGION`, the default
 * credential chain, `AWS_ENDPOINT_URL_<SERVICE>`), so the same code talks to AWS or to the local
 * emulators of `npm start` and the tests. A client reads them when it is created: set them first.
 *
 * Retries and timeouts are the SDK's own:
 * - retries: the standard retry strategy (exponential backoff with jitter on throttling, 5xx,
 *   network and timeout errors), `maxAttempts` per service below;
 * - timeouts: every client is given `requestHandler` options for the SDK's NodeHttpHandler:
 *   `connectionTimeout` (TCP/TLS connect, 3 s) and `requestTimeout` (until the response headers
 *   arrive, 20 s, thrown as a retryable `TimeoutError` with `throwOnRequestTimeout`). Neither limits
 *   reading a streamed body (an S3 download), so a stalled connection cannot hold a function to its
 *   own timeout while a slow large download still completes.
 *
 * S3 (s3rver locally, see design.md's verified notes): `forcePathStyle` when `S3_FORCE_PATH_STYLE` is
 * `true`, and checksums only when an operation requires them (`WHEN_REQUIRED`, for requests and
 * responses): s3rver stores uploads corrupted with the SDK's default flexible checksums, and AWS
 * accepts either. The presigners sign with this same client, so their URLs follow the same settings.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENV } from '../config/env.ts';

/** NodeHttpHandler options of every client (see above). */
export const REQUEST_HANDLER = {
  connectionTimeout: 3_000,
  requestTimeout: 20_000,
  throwOnRequestTimeout: true,
} as const;

const common = { requestHandler: REQUEST_HANDLER, maxAttempts: 3 } as const;

let documentClient: DynamoDBDocumentClient | undefined;

/**
 * A DynamoDB document client as the functions use it. Without the SDK's logger middleware: no client
 * is given a logger (the SDK's default logs nothing), yet that middleware copied every request's
 * input and response through the schemas' sensitive-data filter to hand them to it (a BatchGetItem
 * of 100 items walked each of them).
 */
export function newDocumentClient(): DynamoDBDocumentClient {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ ...common, maxAttempts: 5 }), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}

export function dynamo(): DynamoDBDocumentClient {
  documentClient ??= newDocumentClient();
  return documentClient;
}

/** Replaces the DynamoDB client (tests, benchmarks counting requests). */
export function setDynamo(client: DynamoDBDocumentClient): void {
  documentClient = client;
}

let s3Client: S3Client | undefined;

export function s3(): S3Client {
  s3Client ??= new S3Client({
    ...common,
    forcePathStyle: process.env[ENV.s3ForcePathStyle] === 'true',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return s3Client;
}

let sfnClient: SFNClient | undefined;

export function sfn(): SFNClient {
  sfnClient ??= new SFNClient(common);
  return sfnClient;
}

let eventsClient: EventBridgeClient | undefined;

export function eventBridge(): EventBridgeClient {
  eventsClient ??= new EventBridgeClient(common);
  return eventsClient;
}

let sesClient: SESv2Client | undefined;

export function ses(): SESv2Client {
  sesClient ??= new SESv2Client(common);
  return sesClient;
}

let sqsClient: SQSClient | undefined;

export function sqs(): SQSClient {
  sqsClient ??= new SQSClient(common);
  return sqsClient;
}

let schedulerClient: SchedulerClient | undefined;

export function scheduler(): SchedulerClient {
  schedulerClient ??= new SchedulerClient(common);
  return schedulerClient;
}

let lambdaClient: LambdaClient | undefined;

/** Invokes a function asynchronously (a long run continuing in a fresh invocation). */
export async function invokeAsync(functionName: string, payload: unknown): Promise<void> {
  lambdaClient ??= new LambdaClient(common);
  await lambdaClient.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'Event',
      Payload: Buffer.from(JSON.stringify(payload)),
    }),
  );
}

/** Invokes a function synchronously (`RequestResponse`): its result, or its error thrown. */
export async function invokeSync<Output>(functionName: string, payload: unknown): Promise<Output> {
  lambdaClient ??= new LambdaClient(common);
  const result = await lambdaClient.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'RequestResponse',
      Payload: Buffer.from(JSON.stringify(payload)),
    }),
  );
  const text = result.Payload ? Buffer.from(result.Payload).toString('utf8') : '';
  if (result.FunctionError) throw new Error(`${functionName} failed (${result.FunctionError}): ${text}`);
  return (text === '' ? null : JSON.parse(text)) as Output;
}
