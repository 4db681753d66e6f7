import { describe, expect, it } from 'vitest';
import {
  CURRENCIES,
  currencyExponent,
  formatMinor,
  isCurrency,
  isMinorAmount,
  parseDecimal,
  sumMinor,
} from '../../shared/domain/money.ts';

const MAX = Number.MAX_SAFE_INTEGER;

describe('currencyExponent', () => {
  it.each([
    ['EUR', 2],
    ['USD', 2],
    ['GBP', 2],
    ['JPY', 0],
    ['KRW', 0],
    ['ISK', 0],
    ['BHD', 3],
    ['KWD', 3],
    ['TND', 3],
    ['CLF', 4],
    ['UYW', 4],
  ])('%s has %i decimals', (currency, exponent) => {
    expect(currencyExponent(currency)).toBe(exponent);
  });

  it.each(['XXX', 'eur', 'EURO', '', 'ZZZ'])('throws on unknown code %j', (currency) => {
    expect(() => currencyExponent(currency)).toThrow(RangeError);
  });
});

describe('isCurrency', () => {
  it.each(['EUR', 'USD', 'JPY', 'BHD', 'CLF', 'CHF'])('accepts %s', (code) => {
    expect(isCurrency(code)).toBe(true);
  });

  it.each(['XXX', 'eur', 'EURO', 'EU', '', ' EUR', 'EUR ', 'XAU', 'constructor'])('refuses %j', (code) => {
    expect(isCurrency(code)).toBe(false);
  });

  it('lists every currency once, sorted, each with an exponent', () => {
    expect(new Set(CURRENCIES).size).toBe(CURRENCIES.length);
    expect([...CURRENCIES].sort()).toEqual(CURRENCIES);
    for (const code of CURRENCIES) {
      expect(code).toMatch(/^[A-Z]{3}$/);
      expect([0, 2, 3, 4]).toContain(currencyExponent(code));
    }
  });
});

describe('isMinorAmount', () => {
  it.each([
    [0, true],
    [1, true],
    [-1, true],
    [MAX, true],
    [-MAX, true],
    [MAX + 1, false],
    [1.5, false],
    [Number.NaN, false],
    [Number.POSITIVE_INFINITY, false],
    ['100', false],
    [null, false],
    [undefined, false],
  ])('%j → %s', (value, expected) => {
    expect(isMinorAmount(value)).toBe(expected);
  });
});

describe('formatMinor', () => {
  it.each([
    [1250, 'EUR', '12.50'],
    [0, 'EUR', '0.00'],
    [1, 'EUR', '0.01'],
    [5, 'EUR', '0.05'],
    [-5, 'EUR', '-0.05'],
    [-1250, 'EUR', '-12.50'],
    [100, 'EUR', '1.00'],
    [123456789, 'EUR', '1234567.89'],
    [MAX, 'EUR', '90071992547409.91'],
    [-MAX, 'EUR', '-90071992547409.91'],
    [1250, 'JPY', '1250'],
    [0, 'JPY', '0'],
    [-7, 'JPY', '-7'],
    [1, 'BHD', '0.001'],
    [-5, 'BHD', '-0.005'],
    [1250, 'BHD', '1.250'],
    [1, 'CLF', '0.0001'],
    [12345, 'CLF', '1.2345'],
    [-10000, 'CLF', '-1.0000'],
  ])('%i %s → %s', (amount, currency, expected) => {
    expect(formatMinor(amount, currency)).toBe(expected);
  });

  it.each([
    [1.5, 'EUR'],
    [MAX + 1, 'EUR'],
    [Number.NaN, 'EUR'],
    [100, 'XXX'],
    [100, 'eur'],
  ])('refuses %j %s', (amount, currency) => {
    expect(() => formatMinor(amount, currency)).toThrow(RangeError);
  });
});

describe('parseDecimal', () => {
  it.each([
    ['12.50', 'EUR', 1250],
    ['12.5', 'EUR', 1250],
    ['12', 'EUR', 1200],
    ['0.01', 'EUR', 1],
    ['-0.05', 'EUR', -5],
    ['007.10', 'EUR', 710],
    [' 3.20 ', 'EUR', 320],
    ['1250', 'JPY', 1250],
    ['-7', 'JPY', -7],
    ['0.001', 'BHD', 1],
    ['-0.005', 'BHD', -5],
    ['1.25', 'BHD', 1250],
    ['0.0001', 'CLF', 1],
    ['90071992547409.91', 'EUR', MAX],
    ['-90071992547409.91', 'EUR', -MAX],
    ['9007199254740991', 'JPY', MAX],
  ])('%j %s → %i', (text, currency, expected) => {
    expect(parseDecimal(text, currency)).toBe(expected);
  });

  it.each([
    ['12.345', 'EUR', /EUR has 2 decimals/],
    ['0.001', 'EUR', /EUR has 2 decimals/],
    ['1.5', 'JPY', /JPY has 0 decimals/],
    ['0.0001', 'BHD', /BHD has 3 decimals/],
    ['0.00001', 'CLF', /CLF has 4 decimals/],
  ])('refuses too many decimals: %j %s', (text, currency, message) => {
    expect(() => parseDecimal(text, currency)).toThrow(message);
  });

  it.each([
    '',
    ' ',
    'abc',
    '12,50',
    '1.2.3',
    '.5',
    '5.',
    '+5',
    '--5',
    '1e3',
    '0x10',
    'NaN',
    'Infinity',
    '12 50',
    '€12.50',
    '12.50 EUR',
  ])('refuses garbage %j', (text) => {
    expect(() => parseDecimal(text, 'EUR')).toThrow(/Not a decimal amount/);
  });

  it.each([
    ['90071992547409.92', 'EUR'],
    ['-90071992547409.92', 'EUR'],
    ['9007199254740992', 'JPY'],
    ['99999999999999999999', 'JPY'],
    ['9007199254740.9920', 'CLF'],
  ])('refuses amounts outside the safe-integer range: %j %s', (text, currency) => {
    expect(() => parseDecimal(text, currency)).toThrow(/out of range/);
  });

  it('refuses an unknown currency', () => {
    expect(() => parseDecimal('1.00', 'XXX')).toThrow(RangeError);
  });

  it.each([
    [1250, 'EUR'],
    [-5, 'EUR'],
    [0, 'EUR'],
    [MAX, 'EUR'],
    [-MAX, 'JPY'],
    [1, 'BHD'],
    [-999, 'BHD'],
    [1, 'CLF'],
    [123456789, 'CLF'],
  ])('round-trips %i %s through formatMinor', (amount, currency) => {
    expect(parseDecimal(formatMinor(amount, currency), currency)).toBe(amount);
  });
});

describe('sumMinor', () => {
  it.each<[string, number[], number]>([
    ['empty', [], 0],
    ['one', [1250], 1250],
    ['several', [1, 2, 3], 6],
    ['clawbacks net out', [1000, -250, -750], 0],
    ['negative total', [100, -300], -200],
    // 0.1 + 0.2 style values in minor units stay exact.
    ['no float drift', [10, 20, 30, 40], 100],
    ['up to the max', [MAX - 1, 1], MAX],
    ['down to the min', [-MAX + 1, -1], -MAX],
    ['large terms that cancel', [MAX, MAX, -MAX, -MAX, 7], 7],
  ])('%s', (_name, amounts, expected) => {
    expect(sumMinor(amounts)).toBe(expected);
  });

  it('is exact where float addition would not be', () => {
    // 2**53 - 1 plus 2 then minus 2: floats lose the last digit on the way, BigInt does not.
    expect(sumMinor([MAX, 2, -2])).toBe(MAX);
    expect(MAX + 2 - 2).not.toBe(MAX);
  });

  it('takes any iterable', () => {
    function* amounts() {
      yield 100;
      yield -40;
    }
    expect(sumMinor(amounts())).toBe(60);
    expect(sumMinor(new Set([5, 6]))).toBe(11);
  });

  it.each<[string, number[]]>([
    ['over the max', [MAX, 1]],
    ['under the min', [-MAX, -1]],
    ['many large terms', [MAX, MAX, MAX]],
  ])('refuses overflow: %s', (_name, amounts) => {
    expect(() => sumMinor(amounts)).toThrow(/safe integer range/);
  });

  it.each<[string, number[]]>([
    ['a fraction', [100, 0.5]],
    ['NaN', [Number.NaN]],
    ['an unsafe term', [MAX + 1, -1]],
    ['Infinity', [Number.POSITIVE_INFINITY]],
  ])('refuses %s', (_name, amounts) => {
    expect(() => sumMinor(amounts)).toThrow(RangeError);
  });
});
