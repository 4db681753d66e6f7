/**
 * The signed AWS calls of shared/adapters/aws/: error codes, endpoints, retry decisions, the
 * presigned POST (against the SDK's own createPresignedPost), and the send loop against a loopback
 * server. The calls themselves run end to end in the integration and workflow tests.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { bucketLocation, escapeKey, serviceEndpoint } from '../../shared/adapters/aws/endpoints.ts';
import {
  AwsServiceError,
  errorFromResponse,
  isRetryable,
  jsonErrorCode,
  NetworkError,
  retryDelayMs,
  sanitizeErrorCode,
  xmlElement,
} from '../../shared/adapters/aws/errors.ts';
import {
  credentialsExpired,
  observeAwsCalls,
  setFirstByteTimeout,
} from '../../shared/adapters/aws/request.ts';
import {
  completeMultipartUploadXml,
  type PresignPostInput,
  presignedPostFields,
} from '../../shared/adapters/aws/s3.ts';
import { startExecution } from '../../shared/adapters/aws/stepfunctions.ts';

const headers = (values: Record<string, string> = {}) => new Headers(values);

describe('error codes', () => {
  it('strips the namespace and the URL suffix of a code', () => {
    expect(sanitizeErrorCode('com.amazonaws.swf.service.v2.model#ExecutionAlreadyExists')).toBe(
      'ExecutionAlreadyExists',
    );
    expect(sanitizeErrorCode('ResourceNotFoundException:http://internal.amazon.com/coral/')).toBe(
      'ResourceNotFoundException',
    );
    expect(sanitizeErrorCode('TaskTimedOut')).toBe('TaskTimedOut');
  });

  it('reads the header first, then code, then __type', () => {
    expect(jsonErrorCode(headers({ 'x-amzn-errortype': 'A:http://x' }), { code: 'B', __type: 'C' })).toBe(
      'A',
    );
    expect(jsonErrorCode(headers(), { code: 'B', __type: 'x#C' })).toBe('B');
    expect(jsonErrorCode(headers(), { __type: 'x#InvalidToken' })).toBe('InvalidToken');
    expect(jsonErrorCode(headers(), 'not an object')).toBeUndefined();
  });

  it('names a JSON error by its code, with its message and status', () => {
    const error = errorFromResponse(
      'json',
      400,
      headers({ 'x-amzn-requestid': 'r-1' }),
      JSON.stringify({ __type: 'com.amazonaws.swf.service.v2.model#TaskDoesNotExist', message: 'gone' }),
    );
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({ name: 'TaskDoesNotExist', message: 'gone', status: 400, requestId: 'r-1' });
  });

  it('names an S3 error by its XML Code, and a bodiless 404 NotFound', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a</Key></Error>';
    expect(errorFromResponse('xml', 404, headers(), xml)).toMatchObject({
      name: 'NoSuchKey',
      message: 'The specified key does not exist.',
    });
    expect(errorFromResponse('xml', 404, headers(), '').name).toBe('NotFound');
    expect(errorFromResponse('xml', 403, headers(), '').name).toBe('Forbidden');
    expect(errorFromResponse('json', 503, headers(), 'oops').name).toBe('ServiceUnavailable');
  });

  it('reads one element of a small XML answer, entities decoded', () => {
    const xml =
      '<InitiateMultipartUploadResult><Bucket>b</Bucket><UploadId>a&amp;b&#x2F;c</UploadId></InitiateMultipartUploadResult>';
    expect(xmlElement(xml, 'UploadId')).toBe('a&b/c');
    expect(xmlElement(xml, 'Key')).toBeUndefined();
  });
});

describe('retry decisions', () => {
  it('retries network errors, 5xx, 429 and throttling; nothing else', () => {
    expect(isRetryable(new NetworkError('reset'))).toBe(true);
    expect(isRetryable(new AwsServiceError('InternalFailure', '', 500))).toBe(true);
    expect(isRetryable(new AwsServiceError('Whatever', '', 429))).toBe(true);
    expect(isRetryable(new AwsServiceError('ThrottlingException', '', 400))).toBe(true);
    expect(isRetryable(new AwsServiceError('SlowDown', '', 503))).toBe(true);
    expect(isRetryable(new AwsServiceError('ExecutionAlreadyExists', '', 400))).toBe(false);
    expect(isRetryable(new AwsServiceError('NoSuchKey', '', 404))).toBe(false);
    expect(isRetryable(new Error('Resolved credential object is not valid'))).toBe(false);
  });

  it('waits a full-jitter exponential delay', () => {
    expect(retryDelayMs(1, () => 0)).toBe(0);
    expect(retryDelayMs(1, () => 0.999_999)).toBe(199);
    expect(retryDelayMs(2, () => 0.5)).toBe(200);
    expect(retryDelayMs(30, () => 0.999_999)).toBeLessThanOrEqual(5_000);
  });

  it('refreshes credentials five minutes before they expire', () => {
    const now = Date.parse('2026-11-23T10:00:00Z');
    const keys = { accessKeyId: 'a', secretAccessKey: 's' };
    expect(credentialsExpired(keys, now)).toBe(false);
    expect(credentialsExpired({ ...keys, expiration: new Date(now + 10 * 60_000) }, now)).toBe(false);
    expect(credentialsExpired({ ...keys, expiration: new Date(now + 4 * 60_000) }, now)).toBe(true);
  });
});

describe('endpoints', () => {
  it('prefers AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, else the regional endpoint', () => {
    const env = { AWS_ENDPOINT_URL_SFN: 'http://127.0.0.1:1/', AWS_ENDPOINT_URL: 'http://127.0.0.1:2' };
    expect(serviceEndpoint('sfn', 'eu-west-1', env).href).toBe('http://127.0.0.1:1/');
    expect(serviceEndpoint('eventbridge', 'eu-west-1', env).href).toBe('http://127.0.0.1:2/');
    expect(
      serviceEndpoint('sfn', 'eu-west-1', { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }).href,
    ).toBe('https://states.eu-west-1.amazonaws.com/');
    expect(serviceEndpoint('eventbridge', 'eu-west-1', {}).host).toBe('events.eu-west-1.amazonaws.com');
    expect(serviceEndpoint('lambda', 'us-east-1', {}).host).toBe('lambda.us-east-1.amazonaws.com');
    expect(serviceEndpoint('sesv2', 'eu-central-1', {}).host).toBe('email.eu-central-1.amazonaws.com');
    expect(serviceEndpoint('s3', 'cn-north-1', {}).host).toBe('s3.cn-north-1.amazonaws.com.cn');
  });

  it('addresses S3 virtual-hosted on AWS, path-style when forced or on an IP endpoint', () => {
    const aws = bucketLocation('invoices', 'eu-west-1', {});
    expect(aws.origin).toBe('https://invoices.s3.eu-west-1.amazonaws.com');
    expect(aws.url).toBe('https://invoices.s3.eu-west-1.amazonaws.com/');
    expect(aws.path('invoices/po_1/a b.pdf')).toBe('/invoices/po_1/a%20b.pdf');

    const local = bucketLocation('invoices', 'us-east-1', {
      AWS_ENDPOINT_URL_S3: 'http://localhost:4569',
      S3_FORCE_PATH_STYLE: 'true',
    });
    expect(local.origin).toBe('http://localhost:4569');
    expect(local.url).toBe('http://localhost:4569/invoices');
    expect(local.path('exports/x/f.csv')).toBe('/invoices/exports/x/f.csv');

    expect(bucketLocation('invoices', 'us-east-1', { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' }).url).toBe(
      'http://127.0.0.1:9/invoices',
    );
    expect(bucketLocation('invoices', 'us-east-1', { AWS_ENDPOINT_URL: 'http://minio.local:9' }).origin).toBe(
      'http://invoices.minio.local:9',
    );
    expect(bucketLocation('My_Bucket', 'us-east-1', {}).url).toBe(
      'https://s3.us-east-1.amazonaws.com/My_Bucket',
    );
  });

  it('escapes keys per segment, RFC 3986 (S3 signs the path as sent)', () => {
    expect(escapeKey("a/b c/(x)!*'é+.pdf")).toBe('a/b%20c/%28x%29%21%2A%27%C3%A9%2B.pdf');
  });
});

describe('presigned POST', () => {
  const credentials = {
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  };
  const input: PresignPostInput = {
    bucket: 'partner-payouts-invoices',
    key: 'invoices/po_1/u1.pdf',
    fields: { 'Content-Type': 'application/pdf', 'x-amz-meta-file-name': 'invoice.pdf' },
    conditions: [
      ['content-length-range', 1, 10_485_760],
      ['eq', '$Content-Type', 'application/pdf'],
      ['eq', '$x-amz-meta-file-name', 'invoice.pdf'],
    ],
    expiresInSeconds: 900,
  };
  const now = new Date('2026-11-23T10:11:12.345Z');

  afterEach(() => {
    vi.useRealTimers();
  });

  it('pins the key, type, size and metadata in a policy expiring as asked', async () => {
    const fields = await presignedPostFields(input, credentials, 'eu-west-1', now);
    expect(fields).toMatchObject({
      'Content-Type': 'application/pdf',
      'x-amz-meta-file-name': 'invoice.pdf',
      bucket: 'partner-payouts-invoices',
      key: 'invoices/po_1/u1.pdf',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKIDEXAMPLE/20261123/eu-west-1/s3/aws4_request',
      'X-Amz-Date': '20261123T101112Z',
    });
    expect(fields['X-Amz-Security-Token']).toBeUndefined();
    const policy = JSON.parse(Buffer.from(fields.Policy ?? '', 'base64').toString('utf8'));
    expect(policy.expiration).toBe('2026-11-23T10:26:12Z');
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        ['content-length-range', 1, 10_485_760],
        ['eq', '$Content-Type', 'application/pdf'],
        ['eq', '$x-amz-meta-file-name', 'invoice.pdf'],
        { key: 'invoices/po_1/u1.pdf' },
        { bucket: 'partner-payouts-invoices' },
        { 'X-Amz-Date': '20261123T101112Z' },
      ]),
    );
  });

  it('signs the policy with the SigV4 signing key of the day', async () => {
    const fields = await presignedPostFields(input, credentials, 'eu-west-1', now);
    const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
    const signingKey = hmac(
      hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, '20261123'), 'eu-west-1'), 's3'),
      'aws4_request',
    );
    expect(fields['X-Amz-Signature']).toBe(
      createHmac('sha256', signingKey)
        .update(fields.Policy ?? '')
        .digest('hex'),
    );
  });

  it('carries a session token as a field and a condition', async () => {
    const fields = await presignedPostFields(
      input,
      { ...credentials, sessionToken: 'token' },
      'eu-west-1',
      now,
    );
    expect(fields['X-Amz-Security-Token']).toBe('token');
    const policy = JSON.parse(Buffer.from(fields.Policy ?? '', 'base64').toString('utf8'));
    expect(policy.conditions).toContainEqual({ 'X-Amz-Security-Token': 'token' });
  });

  it('builds exactly the fields of @aws-sdk/s3-presigned-post', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(now);
    const client = new S3Client({ region: 'eu-west-1', credentials });
    const sdk = await createPresignedPost(client, {
      Bucket: input.bucket,
      Key: input.key,
      Fields: input.fields,
      Conditions: input.conditions,
      Expires: input.expiresInSeconds,
    });
    client.destroy();
    expect(await presignedPostFields(input, credentials, 'eu-west-1', now)).toEqual(sdk.fields);
    // Both read the test's AWS_ENDPOINT_URL_S3 (an IP address: path-style).
    expect(sdk.url).toBe(bucketLocation(input.bucket, 'eu-west-1').url);
  });
});

describe('multipart upload', () => {
  it('completes with the parts in order, ETags quoted as S3 gave them', () => {
    expect(
      completeMultipartUploadXml([
        { ETag: '"e1"', PartNumber: 1 },
        { ETag: '"e&2"', PartNumber: 2 },
      ]),
    ).toBe(
      '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        '<Part><ETag>"e1"</ETag><PartNumber>1</PartNumber></Part>' +
        '<Part><ETag>"e&amp;2"</ETag><PartNumber>2</PartNumber></Part>' +
        '</CompleteMultipartUpload>',
    );
  });
});

describe('a signed call', () => {
  let server: Server;
  const seen: { headers: IncomingHttpHeaders; body: string; path: string }[] = [];
  let answers: { status: number; body: object; hang?: boolean }[] = [];
  const previous = process.env.AWS_ENDPOINT_URL_SFN;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        seen.push({
          headers: request.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          path: request.url ?? '',
        });
        const answer = answers.shift() ?? { status: 200, body: {} };
        if (answer.hang) return; // never answers: the client's first-byte timeout must give up
        response.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0' });
        response.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    process.env.AWS_ENDPOINT_URL_SFN = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    process.env.AWS_ENDPOINT_URL_SFN = previous;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  afterEach(() => {
    seen.length = 0;
    answers = [];
    observeAwsCalls(undefined);
  });

  const input = { stateMachineArn: 'arn:aws:states:us-east-1:0:stateMachine:x', name: 'po_1', input: '{}' };

  it('is signed and targeted like the SDK, and observed once', async () => {
    const calls: string[] = [];
    observeAwsCalls(({ service, operation }) => {
      calls.push(`${service}.${operation}`);
      return () => calls.push('done');
    });
    answers = [{ status: 200, body: { executionArn: 'arn:1', startDate: 1 } }];
    await expect(startExecution(input)).resolves.toEqual({ executionArn: 'arn:1', startDate: 1 });
    expect(calls).toEqual(['sfn.StartExecution', 'done']);
    const [request] = seen;
    expect(request?.path).toBe('/');
    expect(request?.headers['x-amz-target']).toBe('AWSStepFunctions.StartExecution');
    expect(request?.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=\w+\/\d{8}\/us-east-1\/states\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(JSON.parse(request?.body ?? '')).toEqual(input);
  });

  it('retries a 500 and a throttle, then succeeds', async () => {
    answers = [
      { status: 500, body: { __type: 'InternalFailure' } },
      { status: 400, body: { __type: 'com.amazonaws#ThrottlingException', message: 'slow down' } },
      { status: 200, body: { executionArn: 'arn:2', startDate: 2 } },
    ];
    await expect(startExecution(input)).resolves.toMatchObject({ executionArn: 'arn:2' });
    expect(seen).toHaveLength(3);
  });

  it('abandons an attempt without response headers after the first-byte timeout, and retries it', async () => {
    setFirstByteTimeout(150);
    try {
      answers = [
        { status: 0, body: {}, hang: true },
        { status: 200, body: { executionArn: 'arn:3', startDate: 3 } },
      ];
      await expect(startExecution(input)).resolves.toMatchObject({ executionArn: 'arn:3' });
      expect(seen).toHaveLength(2);
      answers = [0, 1, 2].map(() => ({ status: 0, body: {}, hang: true }));
      await expect(startExecution(input)).rejects.toMatchObject({ name: 'NetworkError' });
    } finally {
      setFirstByteTimeout(undefined);
    }
  });

  it('gives up after three attempts', async () => {
    answers = [0, 1, 2, 3].map(() => ({ status: 503, body: { __type: 'ServiceUnavailable' } }));
    await expect(startExecution(input)).rejects.toMatchObject({ name: 'ServiceUnavailable', status: 503 });
    expect(seen).toHaveLength(3);
  });

  it('does not retry a client error, named by its code', async () => {
    answers = [
      {
        status: 400,
        body: { __type: 'com.amazonaws.swf.service.v2.model#ExecutionAlreadyExists', message: 'exists' },
      },
    ];
    await expect(startExecution(input)).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    expect(seen).toHaveLength(1);
  });
});
