/** `npm start`: the whole backend on loopback. PORT (default 3000) and DATA_DIR (default .data/). */
import { startLocalBackend } from './runtime.ts';

// Local receivers (http://127.0.0.1:…) may get webhooks under `npm start` only; never on AWS.
process.env.WEBHOOKS_ALLOW_PRIVATE ??= 'true';

const port = Number(process.env.PORT ?? 3000);
const backend = await startLocalBackend({ port, verbose: process.env.VERBOSE === 'true' });
console.log(`partner-payouts listening on ${backend.url}`);

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`partner-payouts stopping (${signal})`);
  const timer = setTimeout(() => process.exit(1), 10_000);
  await backend.close();
  clearTimeout(timer);
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
