/**
 * `npm start`: the whole backend on loopback. PORT (default 3000; 0 for any free port) and DATA_DIR
 * (default .data/). The emulators take free ports (or LOCAL_DYNAMODB_PORT, LOCAL_S3_PORT), so servers on
 * different PORT and DATA_DIR run side by side.
 */
import { buildConsole } from './console-build.ts';
import { PortInUseError } from './ports.ts';
import { startLocalBackend } from './runtime.ts';

// Local receivers (http://127.0.0.1:…) may get webhooks under `npm start` only; never on AWS.
process.env.WEBHOOKS_ALLOW_PRIVATE ??= 'true';

const port = Number(process.env.PORT ?? 3000);
const optionalPort = (value: string | undefined) => (value ? Number(value) : undefined);
// The console (web/) is built here when web/dist is missing or older than its sources, never by npm
// install. CONSOLE_BUILD=skip serves whatever web/dist holds (tests build it once beforehand).
if (process.env.CONSOLE_BUILD !== 'skip') await buildConsole();
const backend = await startLocalBackend({
  port,
  dynamodbPort: optionalPort(process.env.LOCAL_DYNAMODB_PORT),
  s3Port: optionalPort(process.env.LOCAL_S3_PORT),
  verbose: process.env.VERBOSE === 'true',
}).catch((error: unknown) => {
  // A taken port is the user's to fix: one clear line, no stack trace (the emulators' child
  // processes end with this one).
  if (!(error instanceof PortInUseError)) throw error;
  console.error(`partner-payouts cannot start: ${error.message}`);
  process.exit(1);
});
console.log(`partner-payouts listening on ${backend.url}`);
console.log(`console: ${backend.url}/ (local sign-in)`);

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
