/**
 * Test helpers for self-billed documents: text out of a PDF with poppler's `pdftotext` (an
 * independent, maintained parser; poppler-utils), UBL validated against the OASIS UBL 2.1 XSDs
 * vendored in test/fixtures/ubl (see its SOURCE.md) with xmllint-wasm, and read back with saxes.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fontkit from '@pdf-lib/fontkit';
import { decodePDFRawStream, PDFDict, PDFDocument, PDFName, PDFRawStream } from 'pdf-lib';
import { SaxesParser } from 'saxes';
import { validateXML } from 'xmllint-wasm';
import type { DocumentInput } from '../../shared/self-billing/model.ts';

const UBL = fileURLToPath(new URL('../fixtures/ubl/', import.meta.url));

/** The PDF's text, laid out as on the page (`pdftotext -layout`), one string per line. */
export function pdfText(pdf: Uint8Array): string[] {
  const text = execFileSync('pdftotext', ['-layout', '-enc', 'UTF-8', '-', '-'], {
    input: pdf,
    encoding: 'utf8',
  });
  return text.split('\n').map((line) => line.trimEnd());
}

/** `pdffonts` rows: the font name and whether it is embedded. */
export function pdfFonts(pdf: Uint8Array): Array<{ name: string; embedded: boolean; unicode: boolean }> {
  const out = execFileSync('pdffonts', ['-'], { input: pdf, encoding: 'utf8' });
  return out
    .split('\n')
    .slice(2)
    .filter(Boolean)
    .map((row) => {
      const cols = row.trim().split(/\s+/);
      // name type… encoding emb sub uni object ID
      return { name: cols[0] ?? '', embedded: cols.at(-5) === 'yes', unicode: cols.at(-3) === 'yes' };
    });
}

/**
 * The glyphs of every font embedded in the PDF, parsed with fontkit: how many there are, how many
 * have no outline and how many cannot be read. Text extraction alone cannot see a subsetter that
 * drops outlines (the text is still in the ToUnicode map, the page shows blanks).
 */
export async function embeddedGlyphs(
  pdf: Uint8Array,
): Promise<Array<{ glyphs: number; empty: number; broken: number }>> {
  const document = await PDFDocument.load(pdf);
  const fonts: Array<{ glyphs: number; empty: number; broken: number }> = [];
  for (const [, object] of document.context.enumerateIndirectObjects()) {
    if (!(object instanceof PDFDict) || object.get(PDFName.of('Type')) !== PDFName.of('FontDescriptor'))
      continue;
    const stream = document.context.lookup(object.get(PDFName.of('FontFile2')));
    if (!(stream instanceof PDFRawStream)) continue;
    const font = fontkit.create(decodePDFRawStream(stream).decode());
    let empty = 0;
    let broken = 0;
    for (let id = 1; id < font.numGlyphs; id++) {
      try {
        if (font.getGlyph(id).path.toSVG() === '') empty++;
      } catch {
        broken++;
      }
    }
    fonts.push({ glyphs: font.numGlyphs - 1, empty, broken });
  }
  return fonts;
}

let preload: Array<{ fileName: string; contents: string }> | undefined;

export async function validateUbl(xml: string, root: 'Invoice' | 'CreditNote') {
  preload ??= readdirSync(`${UBL}common`).map((file) => ({
    fileName: `common/${file}`,
    contents: readFileSync(`${UBL}common/${file}`, 'utf8'),
  }));
  const schema = `maindoc/UBL-${root}-2.1.xsd`;
  return validateXML({
    xml: [{ fileName: 'document.xml', contents: xml }],
    schema: [{ fileName: schema, contents: readFileSync(`${UBL}${schema}`, 'utf8') }],
    preload,
  });
}

export interface XmlNode {
  name: string;
  attributes: Record<string, string>;
  text: string;
  children: XmlNode[];
}

/** Parses XML into a small tree (local names), with saxes. */
export function parseXml(xml: string): XmlNode {
  const parser = new SaxesParser({ xmlns: true });
  const stack: XmlNode[] = [];
  let root: XmlNode | undefined;
  parser.on('opentag', (tag) => {
    const node: XmlNode = {
      name: tag.local ?? tag.name,
      attributes: Object.fromEntries(Object.values(tag.attributes).map((a) => [a.local, a.value])),
      text: '',
      children: [],
    };
    stack.at(-1)?.children.push(node);
    root ??= node;
    stack.push(node);
  });
  parser.on('text', (text) => {
    const top = stack.at(-1);
    if (top) top.text += text;
  });
  parser.on('closetag', () => {
    const node = stack.pop();
    if (node) node.text = node.text.trim();
  });
  parser.write(xml).close();
  if (!root) throw new Error('empty XML');
  return root;
}

/** Children by a path of local names: `at(root, 'LegalMonetaryTotal', 'PayableAmount')`. */
export function all(node: XmlNode, ...path: string[]): XmlNode[] {
  let level = [node];
  for (const name of path) level = level.flatMap((n) => n.children.filter((c) => c.name === name));
  return level;
}

export function one(node: XmlNode, ...path: string[]): XmlNode {
  const found = all(node, ...path);
  if (found.length !== 1) throw new Error(`${path.join('/')}: ${found.length} elements`);
  return found[0] as XmlNode;
}

// ---------------------------------------------------------------- sample documents

export const COMPANY = {
  name: 'Acme Partner Programs B.V.',
  address: { line1: 'Keizersgracht 1', city: 'Amsterdam', postalCode: '1015 CJ', country: 'NL' },
  vatId: 'NL123456789B01',
};

/** A German partner with names in three scripts, a reward, a bonus and a clawback. */
export function sampleInput(overrides: Partial<DocumentInput> = {}): DocumentInput {
  return {
    type: 'invoice',
    number: 'SBF9KQ2X-2026-00001',
    issueDate: '2026-11-29',
    payout: { id: 'po_01JD8X4ZC0M3N6QF9KQ2XW7T5B', currency: 'EUR', amount: 30000 },
    rewards: [
      {
        id: 'rw_01JD8X4ZC0M3N6QF9KQ2XW7T01',
        amount: 12500,
        description: 'Commission — Müller GmbH, Søren & Łukasz',
        createdAt: '2026-10-02T10:00:00.000Z',
      },
      {
        id: 'rw_01JD8X4ZC0M3N6QF9KQ2XW7T02',
        amount: 20000,
        description: 'Bonus Παπαδόπουλος / Иванов / Zoë Ñuñez',
        createdAt: '2026-10-15T09:30:00.000Z',
      },
      {
        id: 'rw_01JD8X4ZC0M3N6QF9KQ2XW7T03',
        amount: -2500,
        description: 'Clawback: refunded order 4411',
        createdAt: '2026-10-30T16:45:00.000Z',
      },
    ],
    partner: {
      id: 'pt_01JD8X4ZC0M3N6QF9KQ2XW7T9Z',
      address: { line1: 'Hauptstraße 5', city: 'München', postalCode: '80331', country: 'DE' },
      billing: { legalName: 'Müller Søren Łukasz GmbH', vatId: 'DE123456789', taxRegime: 'reverse_charge' },
    },
    company: COMPANY,
    ...overrides,
  };
}
