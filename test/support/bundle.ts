/**
 * Bundles a Lambda entry exactly as CDK does (the esbuild options of infra/constructs/house-function.ts),
 * for the cold-start benchmark and the bundle-size budget test, and builds each function's baseline:
 * what no implementation of that function can avoid.
 *
 * A function's baseline is a bundle (same esbuild options) that imports only the third-party
 * packages the function must use — the AWS SDK clients of the services it calls, with the commands
 * and presigners it uses, and a maintained library for a format it must read or write (IBANs, PDF,
 * XML) — and creates its SDK clients lazily, on the first call, as shared/adapters/clients.ts does.
 * The names are read from the function's own bundle: every `import { … } from '<package>'` of our
 * source files that reached the bundle, for the packages in `UNAVOIDABLE`. Everything else — our
 * code, its schemas (zod), middy, Powertools, ulid — is what the function adds on top.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { BUNDLING } from '../../infra/constructs/house-function.ts';

export const ROOT = resolve('.');

/** A module that only creates a DynamoDBDocumentClient: the reference figure of the benchmark. */
export const DOCUMENT_CLIENT_SOURCE = `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
let client;
export const handler = async () => {
  client ??= DynamoDBDocumentClient.from(new DynamoDBClient({}));
  return client.config.region;
};
`;

/**
 * Packages a function cannot do without when it calls AWS or handles the format: the SDK (clients,
 * DocumentClient, presigners), and the maintained parsers/writers the rules require instead of
 * hand-rolled ones (IBAN checks, PDF, XML, webhook signatures).
 */
const UNAVOIDABLE =
  /^(@aws-sdk\/[^/]+|ibantools|pdf-lib|@pdf-lib\/fontkit|saxes|xmlbuilder2|standardwebhooks|jsvat-next)$/;

/** `import { a, b as c, type D } from 'pkg'` and `import x from 'pkg'` (types skipped). */
const IMPORT = /import\s+(type\s+)?(?:(\w+)|\{([^}]*)\}|\*\s+as\s+(\w+))\s+from\s+'([^']+)'/g;

export interface BaselineImports {
  /** Package → the named values imported from it (`default` for a default import). */
  packages: Map<string, Set<string>>;
}

/**
 * The unavoidable packages and names that our source files in a bundle import, keeping only the
 * packages that still have code in the bundle after tree-shaking (clients.ts names every SDK client;
 * a function gets only those it calls). Names are per package, not per use: a command imported by a
 * file whose other code the function uses counts even if that command is shaken out (a few hundred
 * bytes; in the baseline's favour).
 */
export function unavoidableImports(metafile: Metafile): BaselineImports {
  const output = Object.values(metafile.outputs).find((candidate) => candidate.entryPoint !== undefined);
  const kept = Object.entries(output?.inputs ?? {}).filter(([, input]) => input.bytesInOutput > 0);
  const bundledPackages = new Set(
    kept.map(([file]) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1]).filter(Boolean),
  );
  const packages = new Map<string, Set<string>>();
  for (const [file] of kept) {
    if (file.includes('node_modules') || !/\.ts$/.test(file)) continue;
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const match of text.matchAll(IMPORT)) {
      const [, typeOnly, defaultName, named, namespace, from] = match;
      if (typeOnly || !from || !UNAVOIDABLE.test(from) || !bundledPackages.has(from)) continue;
      const names = packages.get(from) ?? new Set<string>();
      if (defaultName) names.add('default');
      if (namespace) names.add('*');
      for (const part of (named ?? '').split(',')) {
        const name = part.trim();
        if (name === '' || name.startsWith('type ')) continue;
        names.add(name.split(/\s+as\s+/)[0] as string);
      }
      if (names.size > 0) packages.set(from, names);
    }
  }
  return { packages };
}

/**
 * The baseline module: imports those names, and on the first call creates every SDK client among
 * them (the DocumentClient over a DynamoDBClient), as the function would.
 */
export function baselineSource({ packages }: BaselineImports): string {
  const lines: string[] = [];
  const values: string[] = [];
  const clients: string[] = [];
  const documents = packages.get('@aws-sdk/lib-dynamodb')?.has('DynamoDBDocumentClient') ?? false;
  if (documents) lines.push(`import { DynamoDBClient as DocumentsClient } from '@aws-sdk/client-dynamodb';`);
  let index = 0;
  for (const [from, names] of [...packages].sort(([a], [b]) => a.localeCompare(b))) {
    const specifiers: string[] = [];
    for (const name of [...names].sort()) {
      const local = `v${index++}`;
      if (name === '*') {
        lines.push(`import * as ${local} from '${from}';`);
        values.push(local);
        continue;
      }
      specifiers.push(`${name} as ${local}`);
      values.push(local);
      if (name === 'DynamoDBDocumentClient') clients.push(`${local}.from(new DocumentsClient({}))`);
      else if (name === 'DynamoDBClient' && documents)
        continue; // the one under the DocumentClient
      else if (/^@aws-sdk\/client-/.test(from) && /Client$/.test(name)) clients.push(`new ${local}({})`);
    }
    if (specifiers.length > 0) lines.push(`import { ${specifiers.join(', ')} } from '${from}';`);
  }
  lines.push(
    `const used = [${values.join(', ')}];`,
    'let clients;',
    `export const handler = async () => { clients ??= [${clients.join(', ')}]; return used.length + clients.length; };`,
  );
  return `${lines.join('\n')}\n`;
}

export interface Bundled {
  file: string;
  bytes: number;
  metafile: Metafile;
}

/** Bundles `entry` (a file, or source text) to `<outDir>/<name>/index.mjs`. */
export async function bundleAsCdk(
  outDir: string,
  name: string,
  entry: string | { contents: string },
): Promise<Bundled> {
  const outfile = join(outDir, name, 'index.mjs');
  mkdirSync(join(outDir, name), { recursive: true });
  const result = await build({
    ...(typeof entry === 'string'
      ? { entryPoints: [entry] }
      : { stdin: { contents: entry.contents, resolveDir: ROOT, loader: 'ts' as const } }),
    outfile,
    bundle: true,
    format: BUNDLING.format,
    target: BUNDLING.target,
    platform: BUNDLING.platform,
    minify: BUNDLING.minify,
    sourcemap: BUNDLING.sourceMap ? 'external' : false,
    mainFields: [...BUNDLING.mainFields],
    banner: { js: BUNDLING.banner },
    absWorkingDir: ROOT,
    logLevel: 'error',
    metafile: true,
  });
  const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith('index.mjs'));
  return { file: outfile, bytes: output?.[1].bytes ?? 0, metafile: result.metafile };
}

/** A function's bundle and its own baseline's. */
export async function bundleWithBaseline(
  outDir: string,
  name: string,
): Promise<{ fn: Bundled; baseline: Bundled; imports: BaselineImports }> {
  const fn = await bundleAsCdk(outDir, name, join(ROOT, 'functions', name, 'handler.ts'));
  const imports = unavoidableImports(fn.metafile);
  const baseline = await bundleAsCdk(outDir, `${name}.baseline`, { contents: baselineSource(imports) });
  return { fn, baseline, imports };
}

/**
 * The bundle a function is held to: its own baseline, or — for a function that needs no SDK client at
 * all (`health`), whose baseline is an empty module and no meaningful floor — the DocumentClient-only
 * reference bundle.
 */
export function budgetBaseline(
  bundled: { baseline: Bundled; imports: BaselineImports },
  documentClient: Bundled,
): Bundled {
  const needsClient = [...bundled.imports.packages.keys()].some((pkg) => pkg.startsWith('@aws-sdk/'));
  return needsClient ? bundled.baseline : documentClient;
}

/** Bytes of a bundle by where they come from: a package (name → bytes), or our own sources. */
function bytesByOrigin(bundled: Bundled): Map<string, number> {
  const output = Object.values(bundled.metafile.outputs).find(
    (candidate) => candidate.entryPoint !== undefined,
  );
  const origins = new Map<string, number>();
  for (const [file, input] of Object.entries(output?.inputs ?? {})) {
    const origin = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? '(own code)';
    origins.set(origin, (origins.get(origin) ?? 0) + input.bytesInOutput);
  }
  return origins;
}

/**
 * What a function adds on top of its baseline, split in two: the libraries it carries that the
 * baseline does not (middy, Powertools, zod, ulid…: packages absent from the baseline bundle), and
 * its own code (our sources). `librariesRatio` is the ratio the function would have with no code of
 * its own at all: the floor its required libraries set.
 */
export function addedBytes(
  fn: Bundled,
  baseline: Bundled,
): { libraries: Map<string, number>; librariesBytes: number; ownBytes: number; librariesRatio: number } {
  const inBaseline = bytesByOrigin(baseline);
  const libraries = new Map<string, number>();
  let ownBytes = 0;
  for (const [origin, bytes] of bytesByOrigin(fn)) {
    if (origin === '(own code)') ownBytes += bytes;
    else if (!inBaseline.has(origin)) libraries.set(origin, bytes);
  }
  const librariesBytes = [...libraries.values()].reduce((sum, bytes) => sum + bytes, 0);
  return {
    libraries,
    librariesBytes,
    ownBytes,
    librariesRatio: (baseline.bytes + librariesBytes) / baseline.bytes,
  };
}
