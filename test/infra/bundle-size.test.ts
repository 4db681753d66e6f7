/**
 * The cold-start size budget (issue #8): every function's bundle, built exactly as CDK builds it, is
 * at most 1.5× a bundle that only creates a DynamoDBDocumentClient. Sizes are deterministic, so this
 * is a test; the init times, which are not, are measured by `npm run bench:coldstart`.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASELINE_SOURCE, bundleAsCdk, ROOT } from '../support/bundle.ts';

const MAX_RATIO = 1.5;
/**
 * Functions on no request's path, left out of the budget: `self-billing` renders PDFs (pdf-lib and
 * fontkit) for the workflow and the preview; keeping it apart is what keeps them out of the API.
 */
const EXEMPT = ['self-billing'];
const FUNCTIONS = readdirSync(join(ROOT, 'functions'))
  .filter((name) => !EXEMPT.includes(name))
  .sort();
const out = mkdtempSync(join(tmpdir(), 'payouts-bundles-'));
let baselineBytes = 0;

beforeAll(async () => {
  baselineBytes = statSync(await bundleAsCdk(out, 'baseline', { contents: BASELINE_SOURCE })).size;
}, 60_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe(`bundle size ≤ ${MAX_RATIO}× a DynamoDBDocumentClient-only bundle`, () => {
  it('has functions to check', () => expect(FUNCTIONS.length).toBeGreaterThanOrEqual(11));

  it.each(FUNCTIONS)(
    '%s',
    async (name) => {
      const file = await bundleAsCdk(out, name, join(ROOT, 'functions', name, 'handler.ts'));
      const bytes = statSync(file).size;
      expect(bytes / baselineBytes, `${name}: ${bytes} bytes vs ${baselineBytes}`).toBeLessThanOrEqual(
        MAX_RATIO,
      );
    },
    60_000,
  );
});
