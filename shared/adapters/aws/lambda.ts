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
