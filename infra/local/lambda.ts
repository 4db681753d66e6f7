/**
 * A loopback stand-in for the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`),
 * for functions that invoke each other (a drafting run continuing in a fresh invocation).
 * `Event` invocations answer 202 and run in the background; others answer the result.
 */
import { type LoopbackHandler, listenLoopback, readRequestBody } from './loopback.ts';

export type LocalFunction = (event: unknown) => Promise<unknown>;

export async function startLocalLambda(options: { functions: Record<string, LocalFunction>; port?: number }) {
  const running = new Set<Promise<unknown>>();
  const handle: LoopbackHandler = async (request, response) => {
    const body = await readRequestBody(request);
    const name = decodeURIComponent(
      /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(request.url ?? '')?.[1] ?? '',
    );
    const fn = options.functions[name.split(':').pop() ?? name] ?? options.functions[name];
    if (request.method !== 'POST' || !fn) {
      response.writeHead(404, {
        'content-type': 'application/json',
        'x-amzn-errortype': 'ResourceNotFoundException',
      });
      response.end(JSON.stringify({ Type: 'User', message: `Function not found: ${name}` }));
      return;
    }
    let event: unknown;
    try {
      event = body.length ? JSON.parse(body.toString('utf8')) : {};
    } catch {
      response.writeHead(400, {
        'content-type': 'application/json',
        'x-amzn-errortype': 'InvalidRequestContentException',
      });
      response.end(JSON.stringify({ Type: 'User', message: 'Could not parse request body into json' }));
      return;
    }
    if (request.headers['x-amz-invocation-type'] === 'Event') {
      const task = fn(event)
        .catch((error: unknown) => console.error(`local lambda ${name} failed`, error))
        .finally(() => running.delete(task));
      running.add(task);
      response.writeHead(202);
      response.end();
      return;
    }
    try {
      const result = await fn(event);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(result ?? null));
    } catch (error) {
      response.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
      response.end(
        JSON.stringify({
          errorType: error instanceof Error ? error.name : 'Error',
          errorMessage: String(error),
        }),
      );
    }
  };
  const loopback = await listenLoopback('the Lambda stand-in', handle, { port: options.port });
  return {
    endpoint: loopback.endpoint,
    /** Resolves when every background invocation has finished. */
    idle: async () => {
      while (running.size) await Promise.all(running);
    },
    close: loopback.close,
  };
}
