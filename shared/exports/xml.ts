/**
 * The XML the SEPA files need, written as text: elements with attributes and text, indented two
 * spaces per level, one element per line. A library (xmlbuilder2 and its DOM) would add ~300 KiB to
 * the exports function's cold start for what is escaping five characters and refusing the ones XML
 * 1.0 cannot carry; every generated file is validated against the official XSDs in the tests.
 */

/** A plain description of an element: what the SEPA parts are built as, then written. */
export interface XmlElement {
  name: string;
  attributes?: Readonly<Record<string, string>>;
  text?: string;
  children?: XmlElement[];
}

export function leaf(name: string, text: string, attributes?: Record<string, string>): XmlElement {
  return attributes ? { name, text, attributes } : { name, text };
}

export function node(name: string, ...children: Array<XmlElement | undefined>): XmlElement {
  return { name, children: children.filter((child): child is XmlElement => child !== undefined) };
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};
const MARKUP = /[&<>"']/g;
/** Characters outside XML 1.0's `Char` production (C0 controls but tab, CR, LF; lone surrogates; U+FFFE/F). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this finds
const NOT_XML_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|\p{Surrogate}/u;
const NAME = /^[A-Za-z_][\w.-]*$/;

/** Text or attribute value as XML; throws on a character XML 1.0 cannot carry (never silently dropped). */
export function escapeXml(value: string): string {
  if (NOT_XML_CHAR.test(value)) throw new RangeError(`Not an XML 1.0 character in ${JSON.stringify(value)}`);
  return value.replace(MARKUP, (char) => ENTITIES[char] ?? char);
}

/** Names already checked: a file writes the same few element names for every transaction. */
const checkedNames = new Set<string>();

function tagName(name: string): string {
  if (checkedNames.has(name)) return name;
  if (!NAME.test(name)) throw new RangeError(`Not an XML element or attribute name: ${JSON.stringify(name)}`);
  if (checkedNames.size < 1_000) checkedNames.add(name);
  return name;
}

/** `<name a="…">`: the opening tag. */
export function openTag(name: string, attributes?: Readonly<Record<string, string>>): string {
  let tag = `<${tagName(name)}`;
  for (const [key, value] of Object.entries(attributes ?? {}))
    tag += ` ${tagName(key)}="${escapeXml(value)}"`;
  return `${tag}>`;
}

export function closeTag(name: string): string {
  return `</${name}>`;
}

/** The element and its descendants, one per line, indented from `level` (two spaces each). */
export function writeXml(element: XmlElement, level: number): string {
  const indent = '  '.repeat(level);
  const open = openTag(element.name, element.attributes);
  if (element.children?.length) {
    let xml = `${indent}${open}\n`;
    for (const child of element.children) xml += writeXml(child, level + 1);
    return `${xml}${indent}${closeTag(element.name)}\n`;
  }
  if (element.text === undefined) return `${indent}${open.slice(0, -1)}/>\n`;
  return `${indent}${open}${escapeXml(element.text)}${closeTag(element.name)}\n`;
}
