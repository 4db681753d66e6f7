/**
 * One SDK client per service, created on first use and reused for the life of the container.
 * Endpoints come from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>` variables, so the same code talks to
 * AWS or to the local emulators of `npm start`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

let documentClient: DynamoDBDocumentClient | undefined;

export function dynamo(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts: 5 }), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
  return documentClient;
}

/** Replaces the DynamoDB client (tests, benchmarks counting requests). */
export function setDynamo(client: DynamoDBDocumentClient): void {
  documentClient = client;
}

let s3Client: S3Client | undefined;
let s3Module: typeof import('@aws-sdk/client-s3') | undefined;

/** S3 is loaded lazily: most functions never touch it, and the module is heavy to initialise. */
export async function s3(): Promise<{ client: S3Client; sdk: typeof import('@aws-sdk/client-s3') }> {
  s3Module ??= await import('@aws-sdk/client-s3');
  s3Client ??= new s3Module.S3Client({
    forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true',
    // s3rver stores streamed uploads corrupted with the default checksums; AWS accepts either.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return { client: s3Client, sdk: s3Module };
}

let sfnClient: SFNClient | undefined;
let sfnModule: typeof import('@aws-sdk/client-sfn') | undefined;

export async function sfn(): Promise<{ client: SFNClient; sdk: typeof import('@aws-sdk/client-sfn') }> {
  sfnModule ??= await import('@aws-sdk/client-sfn');
  sfnClient ??= new sfnModule.SFNClient({ maxAttempts: 3 });
  return { client: sfnClient, sdk: sfnModule };
}

let eventsClient: EventBridgeClient | undefined;
let eventsModule: typeof import('@aws-sdk/client-eventbridge') | undefined;

export async function eventBridge(): Promise<{
  client: EventBridgeClient;
  sdk: typeof import('@aws-sdk/client-eventbridge');
}> {
  eventsModule ??= await import('@aws-sdk/client-eventbridge');
  eventsClient ??= new eventsModule.EventBridgeClient({ maxAttempts: 3 });
  return { client: eventsClient, sdk: eventsModule };
}

let lambdaModule: typeof import('@aws-sdk/client-lambda') | undefined;
let lambdaClient: import('@aws-sdk/client-lambda').LambdaClient | undefined;

/** Invokes a function asynchronously (a long run continuing in a fresh invocation). */
export async function invokeAsync(functionName: string, payload: unknown): Promise<void> {
  lambdaModule ??= await import('@aws-sdk/client-lambda');
  lambdaClient ??= new lambdaModule.LambdaClient({ maxAttempts: 3 });
  await lambdaClient.send(
    new lambdaModule.InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'Event',
      Payload: Buffer.from(JSON.stringify(payload)),
    }),
  );
}
