/**
 * Reading the XML the exports write, in the tests: the inner XML of an element and its text. For
 * the flat SEPA and PayPal documents only (elements that do not nest in themselves); the documents
 * themselves are validated against their XSDs with xmllint-wasm.
 */

export function decodeEntities(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** Inner XML of every `<name …>…</name>` (elements that do not nest in themselves). */
export function blocks(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}(?: [^>]*)?>([\\s\\S]*?)</${name}>`, 'g'))].map(
    (match) => match[1] ?? '',
  );
}

/** The text of the first `<name>`, entities decoded. */
export function text(xml: string, name: string): string | undefined {
  const [first] = blocks(xml, name);
  return first === undefined ? undefined : decodeEntities(first);
}
