/**
 * Renders the sample self-billed invoice shown in the README: `npx tsx test/support/render-sample.ts`
 * writes docs/self-billed-invoice-sample.pdf, .xml and the first page as .png (poppler's pdftoppm).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildDocument } from '../../shared/self-billing/model.ts';
import { renderPdf } from '../../shared/self-billing/pdf.ts';
import { renderUbl } from '../../shared/self-billing/ubl.ts';
import { sampleInput } from './self-billing.ts';

const docs = fileURLToPath(new URL('../../docs/', import.meta.url));
mkdirSync(docs, { recursive: true });
const input = sampleInput();
const doc = buildDocument({
  ...input,
  partner: {
    ...input.partner,
    billing: {
      legalName: 'Müller Søren Łukasz GmbH',
      vatId: 'DE136695976',
      taxRegime: 'vat',
      vatRateBps: 1900,
    },
  },
});
const base = `${docs}self-billed-invoice-sample`;
writeFileSync(`${base}.pdf`, await renderPdf(doc));
writeFileSync(`${base}.xml`, renderUbl(doc));
execFileSync('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '1', '-singlefile', `${base}.pdf`, base]);
console.log(`${base}.png`);
