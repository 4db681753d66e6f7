/**
 * SQS SendMessageBatch (awsJson1_0, `X-Amz-Target: AmazonSQS.SendMessageBatch`), signed by hand: see
 * request.ts for why not the SDK client.
 */
import { callJsonRpc } from './request.ts';

const PROTOCOL = { targetPrefix: 'AmazonSQS', version: '1.0' } as const;

export interface SqsEntry {
  Id: string;
  MessageBody: string;
  /** 0–900 */
  DelaySeconds?: number;
}

interface SendMessageBatchOutput {
  Successful?: { Id: string; MessageId: string }[];
  Failed?: { Id: string; Code?: string; Message?: string; SenderFault?: boolean }[];
}

/** Sends up to 10 messages per call; throws if any failed, so the caller's retry sends them again. */
export async function sendMessages(queueUrl: string, entries: readonly SqsEntry[]): Promise<void> {
  for (let start = 0; start < entries.length; start += 10) {
    const batch = entries.slice(start, start + 10);
    const output = await callJsonRpc<SendMessageBatchOutput>('sqs', PROTOCOL, 'SendMessageBatch', {
      QueueUrl: queueUrl,
      Entries: batch,
    });
    if ((output.Failed ?? []).length > 0) {
      const codes = (output.Failed ?? []).map((failure) => failure.Code).join(', ');
      throw new Error(`SendMessageBatch failed for ${output.Failed?.length} entries: ${codes}`);
    }
  }
}
