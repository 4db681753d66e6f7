/**
 * The SDK clients of shared/adapters/clients.ts: created once, with the emulator settings and the
 * SDK's own retry and timeout configuration, and errors that callers can branch on by type.
 *
 * S3 and EventBridge run against the suite's s3rver and local bus. Step Functions answers come from a
 * small stub server speaking the awsJson1_0 protocol, because the answers under test (a 500 that
 * must be retried, `ExecutionAlreadyExists`, `TaskTimedOut`) are ones no emulator gives on demand.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TaskTimedOut } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventBridge, REQUEST_HANDLER, s3, sfn } from '../../shared/adapters/clients.ts';
import { publishEvents } from '../../shared/adapters/events.ts';
import { deleteInvoiceObject, inspectInvoiceObject } from '../../shared/adapters/invoice-store.ts';
import { answerTask, startNamedExecution } from '../../shared/adapters/workflow.ts';

interface Answer {
  status: number;
  type?: string;
  body?: object;
}

let server: Server;
const received: { target: string; body: string }[] = [];
let answers: Answer[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      received.push({ target: String(request.headers['x-amz-target']), body });
      const answer = answers.shift() ?? { status: 200, body: {} };
      response.writeHead(answer.status, {
        'content-type': 'application/x-amz-json-1.0',
        ...(answer.type ? { 'x-amzn-errortype': answer.type } : {}),
      });
      response.end(JSON.stringify(answer.body ?? { __type: answer.type, message: answer.type }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env.AWS_ENDPOINT_URL_SFN = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_SFN;
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('SDK clients', () => {
  it('creates each client once and configures the emulator and timeout settings', async () => {
    expect(s3()).toBe(s3());
    expect(sfn()).toBe(sfn());
    const config = s3().config;
    expect(config.forcePathStyle).toBe(true);
    expect(config.requestChecksumCalculation).toBeDefined();
    expect(await config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    expect(await config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
    expect(await config.maxAttempts()).toBe(3);
    // A handler resolves its options on its client's first request.
    await inspectInvoiceObject('invoices/none/missing.pdf');
    await publishEvents([{ type: 'test.ping', detail: {} }]);
    for (const client of [s3(), eventBridge()]) {
      const handler = client.config.requestHandler as { httpHandlerConfigs(): Record<string, unknown> };
      expect(handler.httpHandlerConfigs()).toMatchObject(REQUEST_HANDLER);
    }
  });

  it('reads a missing S3 object as absent (NotFound on HEAD), and deletes idempotently', async () => {
    expect((await inspectInvoiceObject('invoices/none/other.pdf')).exists).toBe(false);
    await expect(deleteInvoiceObject('invoices/none/other.pdf')).resolves.toBeUndefined();
  });

  it('retries a 500 with the SDK retry strategy, up to 3 attempts', async () => {
    received.length = 0;
    answers = [
      { status: 500, type: 'InternalFailure' },
      { status: 500, type: 'InternalFailure' },
      { status: 200, body: { executionArn: 'arn:x', startDate: 1 } },
    ];
    const input = { payoutId: 'po_1', stage: 'draft', reminders: 0, signal: null } as const;
    await expect(
      startNamedExecution('arn:aws:states:us-east-1:0:stateMachine:x', 'po_1', input),
    ).resolves.toBe(true);
    expect(received.map((request) => request.target)).toEqual(
      Array(3).fill('AWSStepFunctions.StartExecution'),
    );
    expect(JSON.parse(received[0]!.body)).toMatchObject({ name: 'po_1', input: JSON.stringify(input) });

    received.length = 0;
    answers = [0, 1, 2].map(() => ({ status: 500, type: 'InternalFailure' }));
    await expect(
      startNamedExecution('arn:aws:states:us-east-1:0:stateMachine:x', 'po_1', input),
    ).rejects.toMatchObject({ name: 'InternalFailure' });
    expect(received).toHaveLength(3);
  });

  it('reads ExecutionAlreadyExists as "already started" and throws TaskTimedOut as its typed exception', async () => {
    answers = [{ status: 400, type: 'ExecutionAlreadyExists' }];
    const input = { payoutId: 'po_2', stage: 'draft', reminders: 0, signal: null } as const;
    await expect(
      startNamedExecution('arn:aws:states:us-east-1:0:stateMachine:x', 'po_2', input),
    ).resolves.toBe(false);
    received.length = 0;
    answers = [{ status: 400, type: 'TaskTimedOut' }];
    const error = await answerTask('token', { decision: 'moved' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskTimedOut);
    expect(received).toHaveLength(1);
  });
});
