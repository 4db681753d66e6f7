/**
 * The DynamoDB document client, created on first use and reused for the life of the container. The
 * other services (S3, Step Functions, EventBridge, Lambda, SES) are called through the signed
 * requests of `aws/` instead of SDK clients, for the cold-start budget (see aws/request.ts).
 * Endpoints come from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>` variables, so the same code talks to
 * AWS or to the local emulators of `npm start`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { invokeEvent } from './aws/lambda.ts';

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

/** Invokes a function asynchronously (a long run continuing in a fresh invocation). */
export async function invokeAsync(functionName: string, payload: unknown): Promise<void> {
  await invokeEvent(functionName, payload);
}
