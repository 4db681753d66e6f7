/** `npm start`: the whole backend on loopback. PORT (default 3000) and DATA_DIR (default .data/). */
import { buildConsole } from './console-build.ts';
import { startLocalBackend } from './runtime.ts';

const port = Number(process.env.PORT ?? 3000);
// The console (web/) is built here when web/dist is missing or older than its sources, never by npm
// install. CONSOLE_BUILD=skip serves whatever web/dist holds (tests build it once beforehand).
if (process.env.CONSOLE_BUILD === 'skip') console.log('console: build skipped (CONSOLE_BUILD=skip)');
else await buildConsole();
const backend = await startLocalBackend({ port, verbose: process.env.VERBOSE === 'true' });
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
