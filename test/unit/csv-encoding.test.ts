import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRecords } from '../../shared/exports/csv.ts';
import { parseCsv } from '../support/csv.ts';

describe('encodeRecords (RFC 4180)', () => {
  it('quotes exactly the cells holding a comma, quote, CR or LF, doubling quotes, CRLF after every record', () => {
    expect(encodeRecords([['a', 'b,c', 'say "hi"', 'line\nbreak', 'cr\rhere', '', 'é ü 💶']])).toBe(
      'a,"b,c","say ""hi""","line\nbreak","cr\rhere",,é ü 💶\r\n',
    );
    expect(encodeRecords([['x'], ['y']])).toBe('x\r\ny\r\n');
    expect(encodeRecords([])).toBe('');
  });

  it('round-trips any cells through an independent parser', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string({ unit: 'binary' }), { minLength: 2, maxLength: 6 }), {
          minLength: 1,
          maxLength: 8,
        }),
        (records) => {
          expect(parseCsv(encodeRecords(records))).toEqual(records);
        },
      ),
      { numRuns: 300 },
    );
  });
});
