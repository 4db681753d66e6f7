/**
 * Renders the sample self-billed invoice shown in the README: `npm run docs:self-billing-sample`
 * writes docs/self-billed-invoice-sample.pdf and .xml as the code produces them, for a Greek partner
 * (reverse charge to the Dutch company) with Greek, Cyrillic and accented Latin text, and the PDF's
 * first page as .png (poppler's `pdftoppm -png -r 60 -singlefile`). The same input gives the same
 * PDF and XML bytes.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
  number: 'SB7T9Z-2026-00042',
  partner: {
    ...input.partner,
    address: { line1: 'Ερμού 25', city: 'Αθήνα', postalCode: '105 63', country: 'GR' },
    billing: {
      legalName: 'Παπαδόπουλος & Иванов Ι.Κ.Ε.',
      vatId: 'EL094259216',
      taxRegime: 'reverse_charge',
    },
  },
});
const base = join(docs, 'self-billed-invoice-sample');
const pdf = `${base}.pdf`;
writeFileSync(pdf, await renderPdf(doc));
writeFileSync(`${base}.xml`, renderUbl(doc));
execFileSync('pdftoppm', ['-png', '-r', '60', '-f', '1', '-l', '1', '-singlefile', pdf, base]);
console.log(`${base}.{pdf,xml,png}`);
