/**
 * Bundles a Lambda entry exactly as CDK does (the esbuild options of infra/constructs/house-function.ts),
 * for the cold-start benchmark and the bundle-size budget test.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { BUNDLING } from '../../infra/constructs/house-function.ts';

export const ROOT = resolve('.');

/** A module that only creates a DynamoDBDocumentClient: what every function is measured against. */
export const BASELINE_SOURCE = `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
export const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
export const handler = async () => client.config.region;
`;

/** Bundles `entry` (a file, or source text) to `<outDir>/<name>/index.mjs`; returns that path. */
export async function bundleAsCdk(
  outDir: string,
  name: string,
  entry: string | { contents: string },
): Promise<string> {
  const outfile = join(outDir, name, 'index.mjs');
  mkdirSync(join(outDir, name), { recursive: true });
  await build({
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
  });
  return outfile;
}
