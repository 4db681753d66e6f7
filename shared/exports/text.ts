/**
 * Text helpers for export files: SEPA (EPC) transliteration, length cuts, CSV formula-injection guard.
 */

/**
 * The EPC "Basic Latin" character set every SEPA bank must accept (EPC217-08, SCT rulebook):
 * `a-z A-Z 0-9 / - ? : ( ) . , ' +` and space.
 */
const SEPA_ONLY = /^[A-Za-z0-9/\-?:().,'+ ]*$/;
/** A character outside the set (code point, so an emoji is one match). */
const NOT_SEPA = /[^A-Za-z0-9/\-?:().,'+ ]/gu;
const WHITESPACE = /^\s$/u;

/**
 * Characters that Unicode decomposition does not reduce to the basic set, mapped the way EPC217-08 and
 * the German DK guidelines suggest (ß → ss, & → +, typographic quotes and dashes to ASCII, …).
 * Anything not covered here or by decomposition is dropped.
 */
const SEPA_MAP: Readonly<Record<string, string>> = {
  ß: 'ss',
  ẞ: 'SS',
  æ: 'ae',
  Æ: 'AE',
  œ: 'oe',
  Œ: 'OE',
  ø: 'o',
  Ø: 'O',
  å: 'a',
  Å: 'A',
  đ: 'd',
  Đ: 'D',
  ð: 'd',
  Ð: 'D',
  þ: 'th',
  Þ: 'TH',
  ł: 'l',
  Ł: 'L',
  ı: 'i',
  ħ: 'h',
  Ħ: 'H',
  ŧ: 't',
  Ŧ: 'T',
  '&': '+',
  _: '-',
  '"': "'",
  '`': "'",
  '´': "'",
  '‘': "'",
  '’': "'",
  '‚': "'",
  '“': "'",
  '”': "'",
  '„': "'",
  '«': "'",
  '»': "'",
  '‐': '-',
  '‑': '-',
  '‒': '-',
  '–': '-',
  '—': '-',
  '−': '-',
  '[': '(',
  ']': ')',
  '{': '(',
  '}': ')',
  '<': '(',
  '>': ')',
  ';': ',',
  '!': '.',
  '\\': '/',
  '|': '/',
  '€': 'EUR',
};

/**
 * Remembers the results of a pure function of a string, at most `max` of them (then it starts
 * afresh): an export checks a row in its first pass and checks and writes it in its second, so each
 * name, town and IBAN would otherwise be worked out two or three times per file.
 */
export function boundedMemo<T>(compute: (key: string) => T, max = 20_000): (key: string) => T {
  let cache = new Map<string, T>();
  return (key) => {
    const known = cache.get(key);
    if (known !== undefined || cache.has(key)) return known as T;
    const value = compute(key);
    if (cache.size >= max) cache = new Map();
    cache.set(key, value);
    return value;
  };
}

/**
 * Transliterates to the EPC basic character set: accents dropped (é → e), special letters and signs
 * mapped (ß → ss, & → +), whitespace runs collapsed to one space, everything else removed; trimmed.
 */
export function toSepaText(text: string): string {
  if (SEPA_ONLY.test(text) && !text.includes('  ') && text.trim() === text) return text;
  return transliterate(text);
}

const transliterate = boundedMemo((text: string): string =>
  text
    .normalize('NFKD')
    .replace(NOT_SEPA, (char) => (WHITESPACE.test(char) ? ' ' : (SEPA_MAP[char] ?? '')))
    .replace(/ {2,}/g, ' ')
    .trim(),
);

/** Cuts to at most `max` UTF-16 units without leaving a trailing space or a lone surrogate half. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end).trimEnd();
}

/** SEPA free text: transliterated, then cut to the field's maximum length. */
export function sepaText(text: string, max: number): string {
  return cut(toSepaText(text), max);
}

/**
 * A SEPA identifier (MsgId, PmtInfId, EndToEndId: Max35Text). EPC rules on top of the character set: no
 * spaces, must not start or end with `/` and must not contain `//`. `_`, which the payout and export ids
 * use, is outside the set and becomes `-` (`po_01J…` → `po-01J…`, reversible since ULIDs have no `-`).
 */
export function sepaId(text: string, max = 35): string {
  const id = toSepaText(text)
    .replace(/ /g, '')
    .replace(/\/{2,}/g, '/')
    .replace(/^\/+|\/+$/g, '');
  return cut(id, max).replace(/\/+$/, '');
}

/**
 * Guards a CSV cell against formula injection (OWASP "CSV injection"): a cell starting with `=`, `+`,
 * `-`, `@`, tab or carriage return gets a leading `'`, so spreadsheet software shows it as text.
 */
export function guardFormula(cell: string): string {
  const first = cell.charCodeAt(0);
  // = + - @ \t \r
  if (first === 61 || first === 43 || first === 45 || first === 64 || first === 9 || first === 13) {
    return `'${cell}`;
  }
  return cell;
}
