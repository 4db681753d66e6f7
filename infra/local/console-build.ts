/**
 * Builds the web console (web/): the API types are generated from the OpenAPI document the code
 * builds (shared/http/openapi.ts → web/src/api/openapi.d.ts, with openapi-typescript), the console is
 * type-checked against them (so a contract change breaks the build), then bundled by Vite into
 * web/dist. A stamp (a hash of every input) tells whether web/dist is up to date.
 *
 *   npx tsx infra/local/console-build.ts           build if stale
 *   npx tsx infra/local/console-build.ts --force   build anyway
 *   npx tsx infra/local/console-build.ts --types   only generate the API types
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const WEB_DIR = join(ROOT, 'web');
export const CONSOLE_DIST = join(WEB_DIR, 'dist');
const TYPES_FILE = join(WEB_DIR, 'src/api/openapi.d.ts');
const ROLES_FILE = join(WEB_DIR, 'src/api/route-roles.ts');
const STAMP_FILE = join(CONSOLE_DIST, '.build-stamp');

/** Everything the build reads: the console's sources and the code the OpenAPI document comes from. */
const INPUTS = ['web', 'shared/domain', 'shared/http', 'package-lock.json', 'infra/local/console-build.ts'];
const SKIP = new Set(['dist', 'node_modules', 'openapi.d.ts', 'route-roles.ts']);

function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => !SKIP.has(entry.name) && !entry.name.startsWith('.'))
    .flatMap((entry) => filesUnder(join(path, entry.name)));
}

export function inputHash(): string {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap((input) => filesUnder(join(ROOT, input))).sort()) {
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

export type BuildState = 'missing' | 'stale' | 'fresh';

export function consoleBuildState(): BuildState {
  if (!existsSync(join(CONSOLE_DIST, 'index.html')) || !existsSync(STAMP_FILE)) return 'missing';
  return readFileSync(STAMP_FILE, 'utf8').trim() === inputHash() ? 'fresh' : 'stale';
}

/** openapi-typescript over the document the API serves. */
export async function generateApiTypes(): Promise<void> {
  const { openApiDocument } = await import('#shared/http/openapi.ts');
  const { default: openapiTS, astToString } = await import('openapi-typescript');
  const ast = await openapiTS(openApiDocument() as Parameters<typeof openapiTS>[0]);
  const source = `/** Generated from shared/http/openapi.ts by infra/local/console-build.ts: do not edit. */\n${astToString(ast)}`;
  mkdirSync(dirname(TYPES_FILE), { recursive: true });
  writeIfChanged(TYPES_FILE, source);
  writeIfChanged(ROLES_FILE, routeRolesSource(openApiDocument() as unknown as OpenApiPaths));
}

function writeIfChanged(file: string, source: string): void {
  if (!existsSync(file) || readFileSync(file, 'utf8') !== source) writeFileSync(file, source);
}

type OpenApiPaths = { paths: Record<string, Record<string, { 'x-roles'?: string[] }>> };

/**
 * The roles that may call each manager route, as the OpenAPI document states them (`x-roles`, from
 * the route catalogue's `permission`): the console shows an action only to the roles its route allows.
 */
function routeRolesSource(document: OpenApiPaths): string {
  const entries: string[] = [];
  for (const [path, operations] of Object.entries(document.paths).sort(([a], [b]) => a.localeCompare(b))) {
    for (const [method, operation] of Object.entries(operations)) {
      const roles = operation['x-roles'];
      if (Array.isArray(roles))
        entries.push(`  '${method.toUpperCase()} ${path}': ${JSON.stringify(roles)},`);
    }
  }
  return [
    '/** Generated from the OpenAPI document (x-roles) by infra/local/console-build.ts: do not edit. */',
    'export const ROUTE_ROLES = {',
    ...entries,
    '} as const satisfies Record<string, readonly string[]>;',
    '',
  ].join('\n');
}

export function typecheckConsole(): void {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', WEB_DIR], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

/** The Vite configuration of the console (kept here so the build needs no config file of its own). */
export function viteConfig() {
  return {
    root: WEB_DIR,
    configFile: false as const,
    logLevel: 'warn' as const,
    base: '/',
    oxc: { jsx: { runtime: 'automatic' as const, importSource: 'preact' } },
    build: {
      outDir: CONSOLE_DIST,
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: false,
      reportCompressedSize: false,
    },
  };
}

export async function buildConsole(options: { force?: boolean; log?: (line: string) => void } = {}) {
  const log = options.log ?? ((line: string) => console.log(line));
  const state = consoleBuildState();
  if (state === 'fresh' && !options.force) return { built: false, state };
  const started = Date.now();
  log(`console: build ${state === 'missing' ? 'missing' : 'out of date'}, building web/ into web/dist …`);
  const hash = inputHash();
  await generateApiTypes();
  typecheckConsole();
  const { build } = await import('vite');
  await build(viteConfig());
  writeFileSync(STAMP_FILE, `${hash}\n`);
  log(`console: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { built: true, state };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--types')) await generateApiTypes();
  else await buildConsole({ force: process.argv.includes('--force') });
}
