/** Ports of the local runtime: every emulator binds a free port (0) unless one is configured. */
import { createServer } from 'node:net';

/** A port asked for is taken: `npm start` prints the message as its one line and exits non-zero. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(
    readonly what: string,
    readonly port: number,
  ) {
    super(
      `${what}: port ${port} on 127.0.0.1 is already in use (choose another one, or 0 for any free port)`,
    );
  }
}

/**
 * Throws `PortInUseError` when a configured port is taken, for servers that report a failed listen
 * only as an unhandled 'error' event (s3rver). Port 0 (any free port) cannot be taken.
 */
export async function assertPortFree(what: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(what, port) : error),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}
