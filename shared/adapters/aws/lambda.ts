/**
 * Lambda's asynchronous Invoke (REST: `POST /2015-03-31/functions/{name}/invocations` with
 * `X-Amz-Invocation-Type: Event`), signed by hand: see request.ts for why not the SDK client.
 */
import { uriEscape } from './endpoints.ts';
import { sendSigned, serviceTarget } from './request.ts';

/** Queues the event for the function (name, ARN or partial ARN); Lambda answers 202. */
export async function invokeEvent(functionName: string, payload: unknown): Promise<void> {
  const { origin, basePath } = serviceTarget('lambda');
  const response = await sendSigned({
    service: 'lambda',
    operation: 'Invoke',
    method: 'POST',
    origin,
    path: `${basePath}/2015-03-31/functions/${uriEscape(functionName)}/invocations`,
    headers: { 'content-type': 'application/octet-stream', 'x-amz-invocation-type': 'Event' },
    body: JSON.stringify(payload),
    errors: 'json',
  });
  await response.body?.cancel();
}

/** A synchronous Invoke (`RequestResponse`): the function's result, or its error thrown. */
export async function invokeRequestResponse<Output>(functionName: string, payload: unknown): Promise<Output> {
  const { origin, basePath } = serviceTarget('lambda');
  const response = await sendSigned({
    service: 'lambda',
    operation: 'Invoke',
    method: 'POST',
    origin,
    path: `${basePath}/2015-03-31/functions/${uriEscape(functionName)}/invocations`,
    headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' },
    body: JSON.stringify(payload),
    errors: 'json',
  });
  const text = await response.text();
  const functionError = response.headers.get('x-amz-function-error');
  if (functionError) {
    let message = text;
    try {
      const body = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      message = `${body.errorType ?? 'Error'}: ${body.errorMessage ?? ''}`;
    } catch {}
    throw new Error(`${functionName} failed (${functionError}): ${message}`);
  }
  return (text === '' ? null : JSON.parse(text)) as Output;
}
