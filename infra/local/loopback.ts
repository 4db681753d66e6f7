/**
 * The one way the local stand-ins serve HTTP: a server on 127.0.0.1 (port 0: any free port), whose
 * handler's failures end the request with a 500 instead of leaving it hanging, which reports a taken
 * port as `PortInUseError`, and closes with its open connections.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PortInUseError } from './ports.ts';

export type LoopbackHandler = (request: IncomingMessage, response: ServerResponse) => unknown;

export interface Loopback {
  server: Server;
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/** The whole body of a request. */
export async function readRequestBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function listenLoopback(
  /** What serves here, for the port-in-use message and the log. */
  what: string,
  handler: LoopbackHandler,
  options: { port?: number | undefined; onError?: (error: unknown) => void } = {},
): Promise<Loopback> {
  const server = createServer((request, response) => {
    Promise.resolve()
      .then(() => handler(request, response))
      .catch((error: unknown) => {
        options.onError?.(error);
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
  });
  const asked = options.port ?? 0;
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(what, asked) : error);
    server.once('error', failed);
    server.listen(asked, '127.0.0.1', () => {
      server.off('error', failed);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
