/**
 * The PDF of a self-billed document, drawn with pdf-lib (fonts through @pdf-lib/fontkit, subset
 * to the glyphs used) in DejaVu Sans, so Latin, Greek and Cyrillic names print as written. A preview
 * has no number and is marked "PREVIEW" on every page.
 *
 * One face is embedded: bold text is the same glyphs filled and outlined (text rendering mode 2, a
 * stroke of 3 % of the size), which PDF viewers and text extraction treat as ordinary text. A second
 * face (DejaVu Sans Bold) doubled the subsetting and compression work of every document.
 */
import fontkit from '@pdf-lib/fontkit';
import {
  degrees,
  PDFDocument,
  type PDFFont,
  type PDFPage,
  popGraphicsState,
  pushGraphicsState,
  rgb,
  setLineWidth,
  setStrokingColor,
  setTextRenderingMode,
  TextRenderingMode,
} from 'pdf-lib';
import { formatMinor } from '../domain/money.ts';
import type { Address } from '../domain/partner-schemas.ts';
import { loadFont } from './font.ts';
import { formatRate, type Party, type SelfBilledDocument, type TaxBreakdown } from './model.ts';

const A4: [number, number] = [595.28, 841.89];
const MARGIN = 50;
const RIGHT = A4[0] - MARGIN;
const BOTTOM = 70;
const GREY = rgb(0.35, 0.35, 0.35);
const BLACK = rgb(0, 0, 0);
const RED = rgb(0.75, 0.1, 0.1);

export function taxLabel(tax: TaxBreakdown): string {
  switch (tax.category) {
    case 'S':
      return `VAT ${formatRate(tax.rateBps)}%`;
    case 'AE':
      return 'VAT 0% (reverse charge)';
    case 'E':
      return 'VAT 0% (exempt)';
    case 'O':
      return 'VAT (not subject)';
  }
}

export function addressLines(address: Address): string[] {
  return [
    address.line1,
    ...(address.line2 ? [address.line2] : []),
    [address.postalCode, address.city].filter(Boolean).join(' '),
    ...(address.region ? [address.region] : []),
    address.country,
  ];
}

type Fontkit = Parameters<PDFDocument['registerFontkit']>[0];

/**
 * fontkit, parsing each font file once per process: pdf-lib asks fontkit to parse the font for
 * every document it embeds it in, and a fresh parse loses fontkit's layout caches (≈ 300 ms a
 * document instead of ≈ 10 ms). pdf-lib only reads the font object (its subset is a new object).
 */
const parsed = new Map<Uint8Array, ReturnType<Fontkit['create']>>();
const cachingFontkit: Fontkit = {
  create(data, postscriptName) {
    let font = parsed.get(data);
    if (!font) {
      font = fontkit.create(data, postscriptName);
      parsed.set(data, font);
    }
    return font;
  },
};

const widths = new Map<string, number>();
/** Stroke width of bold text, per point of size. */
const BOLD_STROKE = 0.03;

/**
 * Plain glyphs, no OpenType shaping: the documents print Latin, Greek and Cyrillic, which need none,
 * and shaping every string is most of fontkit's time.
 */
const NO_SHAPING = Object.fromEntries(
  ['ccmp', 'locl', 'rlig', 'mark', 'mkmk', 'calt', 'clig', 'liga', 'rclt', 'curs', 'kern'].map((tag) => [
    tag,
    false,
  ]),
);

class Writer {
  page!: PDFPage;
  y = 0;
  readonly pages: PDFPage[] = [];
  constructor(
    private readonly pdf: PDFDocument,
    readonly font: PDFFont,
    private readonly preview: boolean,
  ) {
    this.newPage();
  }

  newPage(): void {
    this.page = this.pdf.addPage(A4);
    this.pages.push(this.page);
    this.y = A4[1] - MARGIN;
    if (this.preview) {
      this.page.drawText('PREVIEW', {
        x: 120,
        y: 250,
        size: 110,
        font: this.font,
        color: rgb(0.85, 0.85, 0.85),
        rotate: degrees(40),
        opacity: 0.5,
      });
    }
  }

  /** Makes room for `height` points, on a new page if needed. */
  room(height: number): void {
    if (this.y - height < BOTTOM) this.newPage();
  }

  text(
    value: string,
    x: number,
    options: { size?: number; bold?: boolean; color?: typeof BLACK; right?: boolean } = {},
  ) {
    const size = options.size ?? 9;
    const color = options.color ?? BLACK;
    const left = options.right ? x - this.width(value, size, options.bold) : x;
    if (options.bold) {
      this.page.pushOperators(
        pushGraphicsState(),
        setTextRenderingMode(TextRenderingMode.FillAndOutline),
        setLineWidth(size * BOLD_STROKE),
        setStrokingColor(color),
      );
    }
    this.page.drawText(value, { x: left, y: this.y, size, font: this.font, color });
    if (options.bold) this.page.pushOperators(popGraphicsState());
  }

  /**
   * Width of a text, from its words' widths (cached per process: laying out text is fontkit's cost);
   * bold text is wider by its outline.
   */
  width(value: string, size: number, bold = false): number {
    let total = 0;
    const words = value.split(' ');
    for (const word of words) {
      let width = widths.get(word);
      if (width === undefined) {
        width = this.font.widthOfTextAtSize(word, 1000);
        if (widths.size > 20_000) widths.clear();
        widths.set(word, width);
      }
      total += width;
    }
    const space = widths.get(' ') ?? this.font.widthOfTextAtSize(' ', 1000);
    widths.set(' ', space);
    return ((total + space * (words.length - 1)) * size) / 1000 + (bold ? size * BOLD_STROKE : 0);
  }

  /** Splits text into lines no wider than `width` (by words; an over-long word is cut). */
  wrap(value: string, width: number, size = 9, bold = false): string[] {
    const lines: string[] = [];
    let current = '';
    for (const word of value.split(/\s+/).filter(Boolean)) {
      const candidate = current ? `${current} ${word}` : word;
      if (this.width(candidate, size, bold) <= width) {
        current = candidate;
        continue;
      }
      if (current) lines.push(current);
      let rest = word;
      while (this.width(rest, size, bold) > width && rest.length > 1) {
        let cut = rest.length - 1;
        while (cut > 1 && this.width(rest.slice(0, cut), size, bold) > width) cut--;
        lines.push(rest.slice(0, cut));
        rest = rest.slice(cut);
      }
      current = rest;
    }
    if (current) lines.push(current);
    return lines.length ? lines : [''];
  }

  rule(): void {
    this.page.drawLine({
      start: { x: MARGIN, y: this.y },
      end: { x: RIGHT, y: this.y },
      thickness: 0.5,
      color: GREY,
    });
  }
}

function party(w: Writer, label: string, who: Party, x: number, top: number): number {
  w.y = top;
  w.text(label, x, { size: 8, color: GREY });
  w.y -= 13;
  w.text(who.name, x, { size: 10, bold: true });
  for (const line of addressLines(who.address)) {
    w.y -= 12;
    w.text(line, x);
  }
  if (who.vatId) {
    w.y -= 12;
    w.text(`VAT ID: ${who.vatId}`, x);
  }
  if (who.taxRegistrationId) {
    w.y -= 12;
    w.text(`Tax number: ${who.taxRegistrationId}`, x);
  }
  return w.y;
}

/** Renders the document; the same input gives the same bytes (fixed dates, no random ids). */
export async function renderPdf(doc: SelfBilledDocument): Promise<Uint8Array> {
  const pdf = await PDFDocument.create({ updateMetadata: false });
  pdf.registerFontkit(cachingFontkit);
  const font = await pdf.embedFont(loadFont(), { subset: true, features: NO_SHAPING });
  const when = new Date(`${doc.issueDate}T00:00:00Z`);
  pdf.setTitle(`${doc.title} ${doc.number ?? 'preview'}`);
  pdf.setProducer('partner-payouts');
  pdf.setCreator('partner-payouts');
  pdf.setCreationDate(when);
  pdf.setModificationDate(when);
  pdf.setLanguage('en');

  const w = new Writer(pdf, font, doc.preview);
  const money = (amount: number) => formatMinor(amount, doc.currency);

  // Title, with the label of the partner's country language beside it.
  w.text(doc.title, MARGIN, { size: 18, bold: true });
  if (doc.localTitle) {
    const titleWidth = w.width(doc.title, 18, true);
    w.text(`· ${doc.localTitle}`, MARGIN + titleWidth + 8, { size: 14, color: GREY });
  }
  w.y -= 18;
  if (doc.preview) {
    w.text('PREVIEW — not an invoice: it has no number until the payout is validated', MARGIN, {
      size: 9,
      bold: true,
      color: RED,
    });
    w.y -= 14;
  }

  // Document facts.
  const facts: Array<[string, string]> = [
    ['Number', doc.number ?? '(assigned on validation)'],
    ['Issue date', doc.issueDate],
    ['Supply period', `${doc.period.start} to ${doc.period.end}`],
    ['Payout', doc.payoutId],
    ['Currency', doc.currency],
  ];
  if (doc.invoiceReference) {
    facts.push(['Credited invoice', `${doc.invoiceReference.number} of ${doc.invoiceReference.issueDate}`]);
  }
  w.y -= 6;
  for (const [label, value] of facts) {
    w.text(label, MARGIN, { color: GREY });
    w.text(value, MARGIN + 90, { bold: label === 'Number' });
    w.y -= 13;
  }

  // Parties: the partner supplies, the company receives.
  const top = w.y - 10;
  const left = party(w, 'SUPPLIER (issued on their behalf)', doc.supplier, MARGIN, top);
  const right = party(w, 'CUSTOMER (issuer)', doc.customer, MARGIN + 260, top);
  w.y = Math.min(left, right) - 24;

  // Lines.
  const colDate = RIGHT - 160;
  const header = () => {
    w.text('#', MARGIN, { size: 8, bold: true });
    w.text('Description', MARGIN + 32, { size: 8, bold: true });
    w.text('Date', colDate, { size: 8, bold: true });
    w.text(`Amount (${doc.currency})`, RIGHT, { size: 8, bold: true, right: true });
    w.y -= 5;
    w.rule();
    w.y -= 12;
  };
  header();
  for (const line of doc.lines) {
    const description = w.wrap(line.description, colDate - MARGIN - 42);
    const height = description.length * 11 + 2;
    if (w.y - height < BOTTOM) {
      w.newPage();
      header();
    }
    w.text(String(line.position), MARGIN);
    w.text(line.date, colDate);
    w.text(money(line.amount), RIGHT, { right: true });
    for (const [i, part] of description.entries()) {
      if (i > 0) w.y -= 11;
      w.text(part, MARGIN + 32);
    }
    w.y -= 13;
  }
  w.y += 6;
  w.rule();
  w.y -= 16;

  // Totals.
  w.room(20 + 14 * (doc.taxes.length * 2 + 2));
  const label = RIGHT - 250;
  w.text('Net total', label);
  w.text(money(doc.net), RIGHT, { right: true });
  for (const tax of doc.taxes) {
    w.y -= 14;
    w.text(`${taxLabel(tax)} on ${money(tax.taxableAmount)}`, label);
    w.text(money(tax.taxAmount), RIGHT, { right: true });
  }
  w.y -= 16;
  w.text(doc.type === 'credit_note' ? 'Total credited' : 'Total due', label, { bold: true, size: 10 });
  w.text(`${doc.currency} ${money(doc.gross)}`, RIGHT, { right: true, bold: true, size: 10 });
  w.y -= 26;

  // Notes: self-billing, reverse charge / exemption, the credited invoice.
  for (const note of doc.notes) {
    const parts = w.wrap(note, RIGHT - MARGIN, 8);
    w.room(parts.length * 10 + 4);
    for (const part of parts) {
      w.text(part, MARGIN, { size: 8 });
      w.y -= 10;
    }
    w.y -= 4;
  }

  for (const [i, page] of w.pages.entries()) {
    const footer = `${doc.number ?? 'PREVIEW'} · page ${i + 1} of ${w.pages.length}`;
    const size = 7;
    page.drawText(footer, {
      x: RIGHT - w.width(footer, size),
      y: 40,
      size,
      font,
      color: GREY,
    });
  }
  return pdf.save({ useObjectStreams: true });
}
