/**
 * `npm run --silent token -- manager` | `npm run --silent token -- partner <partnerId>`:
 * prints one JWT accepted by the local server on the same $DATA_DIR.
 */
import { resolve } from 'node:path';
import { issueToken } from './tokens.ts';

const [role, partnerId] = process.argv.slice(2);
const dataDir = resolve(process.env.DATA_DIR ?? '.data');

if (role === 'manager') {
  process.stdout.write(`${await issueToken(dataDir, { role: 'manager' })}\n`);
} else if (role === 'partner' && partnerId) {
  process.stdout.write(`${await issueToken(dataDir, { role: 'partner', partnerId })}\n`);
} else {
  process.stderr.write('usage: npm run --silent token -- manager | partner <partnerId>\n');
  process.exit(2);
}
