import { describe, expect, it } from 'vitest';
import { escapeXml, leaf, node, openTag, writeXml } from '../../shared/exports/xml.ts';

describe('XML writer (SEPA files)', () => {
  it('escapes the five markup characters and keeps everything else XML 1.0 allows', () => {
    expect(escapeXml(`Tom & Jerry <"O'Brien"> ≥ 5 €`)).toBe(
      'Tom &amp; Jerry &lt;&quot;O&apos;Brien&quot;&gt; ≥ 5 €',
    );
    expect(escapeXml('tab\tline\ncr\r💶 é')).toBe('tab\tline\ncr\r💶 é');
  });

  it.each([
    ['NUL', 'a\u0000b'],
    ['a C0 control', 'bell\u0007'],
    ['a lone surrogate', 'x\ud800y'],
    ['U+FFFE', 'x\ufffey'],
  ])('refuses %s rather than writing a file no parser accepts', (_, value) => {
    expect(() => escapeXml(value)).toThrow(RangeError);
  });

  it('writes one element per line, two spaces per level, attributes escaped', () => {
    const xml = writeXml(
      node('Amt', leaf('InstdAmt', '12.50', { Ccy: 'EUR' }), undefined, node('Cdtr', leaf('Nm', 'A & B'))),
      1,
    );
    expect(xml).toBe(
      '  <Amt>\n    <InstdAmt Ccy="EUR">12.50</InstdAmt>\n    <Cdtr>\n      <Nm>A &amp; B</Nm>\n    </Cdtr>\n  </Amt>\n',
    );
    expect(openTag('Document', { xmlns: 'urn:x?a="1"&b' })).toBe(
      '<Document xmlns="urn:x?a=&quot;1&quot;&amp;b">',
    );
    expect(writeXml({ name: 'Empty' }, 0)).toBe('<Empty/>\n');
  });

  it('refuses names that are not XML names', () => {
    expect(() => writeXml(leaf('a b', 'x'), 0)).toThrow(RangeError);
    expect(() => openTag('Ok', { 'x"y': 'v' })).toThrow(RangeError);
  });
});
