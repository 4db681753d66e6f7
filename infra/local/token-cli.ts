/**
 * `npm run --silent token -- manager [--user <id>] [--roles <r1,r2>]` (default user `manager-local`,
 * roles `admin`) | `npm run --silent token -- partner <partnerId>`: prints one JWT accepted by the
 * local server on the same $DATA_DIR.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isManagerRole, MANAGER_ROLES, type ManagerRole } from '#shared/domain/roles.ts';
import { issueToken } from './tokens.ts';

const USAGE =
  'usage: npm run --silent token -- manager [--user <id>] [--roles <r1,r2>] | partner <partnerId>\n' +
  `roles: ${MANAGER_ROLES.join(', ')}\n`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}`);
  process.exit(2);
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { user: { type: 'string' }, roles: { type: 'string' } },
  });
}
try {
  parsed = parse();
} catch (error) {
  fail((error as Error).message);
}
const [role, partnerId, ...rest] = parsed.positionals;
const dataDir = resolve(process.env.DATA_DIR ?? '.data');

if (role === 'manager' && partnerId === undefined) {
  const names = (parsed.values.roles ?? 'admin')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = names.filter((name) => !isManagerRole(name));
  if (names.length === 0 || unknown.length > 0) fail(`unknown role(s): ${unknown.join(', ') || '(none)'}`);
  const user = parsed.values.user ?? 'manager-local';
  if (!user) fail('--user must not be empty');
  const token = await issueToken(dataDir, { role: 'manager', subject: user, roles: names as ManagerRole[] });
  process.stdout.write(`${token}\n`);
} else if (
  role === 'partner' &&
  partnerId &&
  rest.length === 0 &&
  !parsed.values.roles &&
  !parsed.values.user
) {
  process.stdout.write(`${await issueToken(dataDir, { role: 'partner', partnerId })}\n`);
} else {
  fail('bad arguments');
}
