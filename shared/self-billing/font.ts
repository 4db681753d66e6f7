/**
 * The font embedded in the PDFs: DejaVu Sans (Latin, Greek, Cyrillic), as shipped by the npm package
 * `dejavu-fonts-ttf`. Its licence (Bitstream Vera's, DejaVu changes public domain) allows embedding
 * and redistribution. (Noto Sans was tried first: fontkit's subsetter drops most of its glyphs.)
 *
 * Bundled for Lambda, the TTF files are copied next to the function's `index.mjs` (CDK's
 * `afterBundling` hook, see infra/constructs/self-billing.ts), so they are read from beside the
 * bundle. Run from source (tests, `npm start`), they are resolved in node_modules. Either way they
 * are read once per process (and parsed once, see ./pdf.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const FONT_FILES = {
  regular: 'dejavu-fonts-ttf/ttf/DejaVuSans.ttf',
} as const;

/** One face: bold is drawn (see ./pdf.ts). */
export type FontWeight = keyof typeof FONT_FILES;

const cache = new Map<FontWeight, Uint8Array>();

/** The path of a font file: beside the bundle when bundled, else in the package. */
export function fontPath(weight: FontWeight = 'regular'): string {
  const spec = FONT_FILES[weight];
  const besideBundle = fileURLToPath(new URL(`./${spec.split('/').pop()}`, import.meta.url));
  if (existsSync(besideBundle)) return besideBundle;
  return createRequire(import.meta.url).resolve(spec);
}

export function loadFont(weight: FontWeight = 'regular'): Uint8Array {
  let bytes = cache.get(weight);
  if (!bytes) {
    bytes = new Uint8Array(readFileSync(fontPath(weight)));
    cache.set(weight, bytes);
  }
  return bytes;
}
