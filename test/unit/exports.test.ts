/**
 * Export-file generators: every format's output is parsed back (a small RFC 4180 parser below, regexes
 * over XSD-validated XML) and compared with expectations computed here, independently of the code
 * under test: literal decimal strings, BigInt sums, hand-written transliterations.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import type { ExportRecord } from '../../shared/adapters/export-store.ts';
import { newId } from '../../shared/domain/ids.ts';
import type { PayoutMethod, SepaVersion } from '../../shared/domain/schemas.ts';
import {
  checkExportable,
  ExportError,
  type ExportFile,
  type ExportFormat,
  type ExportOptions,
  type ExportRow,
  type FileTotals,
  generateExport,
  mergeTotals,
  type RefusalReason,
  type RowSource,
  toSepaText,
} from '../../shared/exports/index.ts';
import { EVENT_PAYOUT_IDS_MAX, exportEventData } from '../../shared/usecases/export-void.ts';
import { parseCsv } from '../support/csv.ts';
import { blocks, decodeEntities, text } from '../support/xml-reading.ts';

// ---------------------------------------------------------------- fixtures

const IBAN_DE = 'DE89370400440532013000';
const IBAN_FR = 'FR7630006000011234567890189';
const IBAN_NL = 'NL91ABNA0417164300';
const IBAN_BR = 'BR1800360305000010009795493C1'; // valid, but Brazil is not in SEPA
const CREATED_AT = new Date('2025-03-04T05:06:07.890Z');

let sequence = 0;
function row(overrides: Partial<ExportRow> = {}): ExportRow {
  sequence += 1;
  const n = String(sequence).padStart(6, '0');
  return {
    payoutId: `po_01JQ00000000000000000${n.slice(-5)}`,
    partnerId: `pt_01JQ00000000000000000${n.slice(-5)}`,
    partnerName: 'Jane Doe',
    partnerEmail: 'jane@example.com',
    amount: 1250,
    currency: 'EUR',
    payoutMethod: null,
    remittance: 'Partner payout',
    ...overrides,
  };
}

const sepa = (overrides: Partial<Extract<PayoutMethod, { type: 'sepa' }>> = {}): PayoutMethod => ({
  type: 'sepa',
  accountHolder: 'Jane Doe',
  iban: IBAN_DE,
  ...overrides,
});
const paypal = (email = 'jane@example.com'): PayoutMethod => ({ type: 'paypal', email });
const wise = (overrides: Partial<Extract<PayoutMethod, { type: 'wise' }>> = {}): PayoutMethod => ({
  type: 'wise',
  email: 'jane@example.com',
  accountHolder: 'Jane Doe Ltd',
  ...overrides,
});

function options(format: ExportFormat, extra: Partial<ExportOptions> = {}): ExportOptions {
  return { format, exportId: 'ex_01JQ0000000000000000000001', createdAt: CREATED_AT, ...extra };
}

const DEBTOR = { name: 'Acme Partner Programs GmbH', iban: IBAN_DE, bic: 'COBADEFFXXX' };

interface Collected {
  fileName: string;
  contentType: string;
  text: string;
  totals: FileTotals;
}

async function collect(source: RowSource, opts: ExportOptions): Promise<Collected[]> {
  const files: Collected[] = [];
  for await (const file of generateExport(source, opts)) {
    let text = '';
    for await (const chunk of file.chunks) text += chunk;
    files.push({ fileName: file.fileName, contentType: file.contentType, text, totals: file.totals() });
  }
  return files;
}

async function only(source: RowSource, opts: ExportOptions): Promise<Collected> {
  const files = await collect(source, opts);
  expect(files).toHaveLength(1);
  const [file] = files;
  if (!file) throw new Error('no file');
  return file;
}

async function failure(source: RowSource, opts: ExportOptions): Promise<ExportError> {
  try {
    await collect(source, opts);
  } catch (error) {
    if (error instanceof ExportError) return error;
    throw error;
  }
  throw new Error('expected the export to fail');
}

/** Independent totals: BigInt sums per currency. */
function expectedTotals(rows: ExportRow[]): FileTotals {
  const sums = new Map<string, bigint>();
  for (const r of rows) sums.set(r.currency, (sums.get(r.currency) ?? 0n) + BigInt(r.amount));
  return {
    count: rows.length,
    amounts: [...sums.keys()].sort().map((currency) => ({ currency, amount: Number(sums.get(currency)) })),
  };
}

/** Independent decimal formatting through BigInt division. */
function decimal(amount: bigint, exponent: number): string {
  if (exponent === 0) return amount.toString();
  const scale = 10n ** BigInt(exponent);
  return `${amount / scale}.${(amount % scale).toString().padStart(exponent, '0')}`;
}

// ---------------------------------------------------------------- checkExportable

describe('checkExportable', () => {
  const cases: Array<{
    name: string;
    format: ExportFormat;
    row: Partial<ExportRow>;
    reason?: RefusalReason;
  }> = [
    { name: 'csv takes a payout without method', format: 'csv', row: { payoutMethod: null } },
    { name: 'csv refuses a zero amount', format: 'csv', row: { amount: 0 }, reason: 'invalid_amount' },
    {
      name: 'csv refuses a fractional amount',
      format: 'csv',
      row: { amount: 12.5 },
      reason: 'invalid_amount',
    },
    {
      name: 'csv refuses an unknown currency',
      format: 'csv',
      row: { currency: 'EURO' },
      reason: 'invalid_amount',
    },
    { name: 'paypal takes a paypal method', format: 'paypal', row: { payoutMethod: paypal() } },
    {
      name: 'paypal needs a method',
      format: 'paypal',
      row: { payoutMethod: null },
      reason: 'no_payout_method',
    },
    {
      name: 'paypal refuses sepa',
      format: 'paypal',
      row: { payoutMethod: sepa() },
      reason: 'wrong_payout_method',
    },
    {
      name: 'paypal refuses wise',
      format: 'paypal',
      row: { payoutMethod: wise() },
      reason: 'wrong_payout_method',
    },
    {
      name: 'paypal refuses a bad e-mail',
      format: 'paypal',
      row: { payoutMethod: paypal('not-an-email') },
      reason: 'invalid_email',
    },
    {
      name: 'paypal refuses a blank e-mail',
      format: 'paypal',
      row: { payoutMethod: paypal(' ') },
      reason: 'missing_email',
    },
    {
      name: 'paypal refuses HUF cents',
      format: 'paypal',
      row: { payoutMethod: paypal(), currency: 'HUF', amount: 123_456 },
      reason: 'amount_not_supported',
    },
    {
      name: 'paypal takes whole HUF',
      format: 'paypal',
      row: { payoutMethod: paypal(), currency: 'HUF', amount: 123_400 },
    },
    {
      name: 'paypal takes JPY',
      format: 'paypal',
      row: { payoutMethod: paypal(), currency: 'JPY', amount: 1_251 },
    },
    {
      name: 'wise takes email + holder + IBAN in EUR',
      format: 'wise',
      row: { payoutMethod: wise({ iban: IBAN_FR }) },
    },
    {
      name: 'wise needs an IBAN for EUR',
      format: 'wise',
      row: { payoutMethod: wise() },
      reason: 'missing_iban',
    },
    {
      name: 'wise needs an IBAN when the target currency is EUR',
      format: 'wise',
      row: { currency: 'USD', payoutMethod: wise({ currency: 'EUR' }) },
      reason: 'missing_iban',
    },
    { name: 'wise takes USD by e-mail', format: 'wise', row: { currency: 'USD', payoutMethod: wise() } },
    {
      name: 'wise takes EUR payout to a USD account without IBAN',
      format: 'wise',
      row: { payoutMethod: wise({ currency: 'USD' }) },
    },
    {
      name: 'wise refuses an invalid IBAN',
      format: 'wise',
      row: { payoutMethod: wise({ iban: 'DE00370400440532013000' }) },
      reason: 'invalid_iban',
    },
    {
      name: 'wise needs an account holder',
      format: 'wise',
      row: { currency: 'USD', payoutMethod: wise({ accountHolder: '  ' }) },
      reason: 'missing_account_holder',
    },
    {
      name: 'wise refuses paypal',
      format: 'wise',
      row: { payoutMethod: paypal() },
      reason: 'wrong_payout_method',
    },
    { name: 'sepa takes a sepa method', format: 'sepa', row: { payoutMethod: sepa() } },
    { name: 'sepa needs a method', format: 'sepa', row: { payoutMethod: null }, reason: 'no_payout_method' },
    {
      name: 'sepa refuses wise',
      format: 'sepa',
      row: { payoutMethod: wise({ iban: IBAN_FR }) },
      reason: 'wrong_payout_method',
    },
    {
      name: 'sepa refuses a bad IBAN checksum',
      format: 'sepa',
      row: { payoutMethod: sepa({ iban: 'DE00370400440532013000' }) },
      reason: 'invalid_iban',
    },
    {
      name: 'sepa refuses a non-SEPA IBAN',
      format: 'sepa',
      row: { payoutMethod: sepa({ iban: IBAN_BR }) },
      reason: 'iban_not_sepa',
    },
    {
      name: 'sepa refuses a bad BIC',
      format: 'sepa',
      row: { payoutMethod: sepa({ bic: 'NOTABIC' }) },
      reason: 'invalid_bic',
    },
    {
      name: 'sepa refuses a name without Latin letters',
      format: 'sepa',
      row: { payoutMethod: sepa({ accountHolder: '王芳' }) },
      reason: 'unrepresentable_name',
    },
    {
      name: 'sepa refuses more than EUR 999,999,999.99',
      format: 'sepa',
      row: { payoutMethod: sepa(), amount: 100_000_000_000 },
      reason: 'amount_not_supported',
    },
    {
      name: 'sepa takes EUR 999,999,999.99',
      format: 'sepa',
      row: { payoutMethod: sepa(), amount: 99_999_999_999 },
    },
  ];

  it.each(cases)('$name', ({ format, row: overrides, reason }) => {
    const r = row(overrides);
    const result = checkExportable(format, [r]);
    expect(result.missing).toEqual(reason ? [{ payoutId: r.payoutId, partnerId: r.partnerId, reason }] : []);
  });

  const currencyCases: Array<{ format: ExportFormat; currencies: string[]; problem: RegExp | undefined }> = [
    { format: 'csv', currencies: ['EUR', 'JPY', 'BHD'], problem: undefined },
    { format: 'paypal', currencies: ['EUR', 'EUR'], problem: undefined },
    { format: 'paypal', currencies: ['EUR', 'USD'], problem: /one currency.*EUR, USD/ },
    { format: 'paypal', currencies: ['BHD'], problem: /PayPal does not pay out in BHD/ },
    { format: 'wise', currencies: ['BHD', 'BHD'], problem: undefined },
    { format: 'wise', currencies: ['GBP', 'EUR'], problem: /one source currency.*EUR, GBP/ },
    { format: 'sepa', currencies: ['EUR'], problem: undefined },
    { format: 'sepa', currencies: ['EUR', 'CHF'], problem: /EUR only.*CHF/ },
  ];
  it.each(currencyCases)('$format with $currencies', ({ format, currencies, problem }) => {
    const result = checkExportable(
      format,
      currencies.map((currency) => row({ currency, amount: 100, payoutMethod: null })),
    );
    if (problem) expect(result.currencyProblem).toMatch(problem);
    else expect(result.currencyProblem).toBeUndefined();
  });

  it('lists every refused payout, not only the first', () => {
    const rows = [
      row({ payoutMethod: sepa() }),
      row({ payoutMethod: null }),
      row({ payoutMethod: paypal() }),
    ];
    expect(checkExportable('sepa', rows).missing.map((m) => [m.payoutId, m.reason])).toEqual([
      [rows[1]?.payoutId, 'no_payout_method'],
      [rows[2]?.payoutId, 'wrong_payout_method'],
    ]);
  });
});

// ---------------------------------------------------------------- text

describe('toSepaText', () => {
  it.each([
    ['Société Générale & Fils', 'Societe Generale + Fils'],
    ['Müller & Söhne GmbH, Straße 5', 'Muller + Sohne GmbH, Strasse 5'],
    ['Łódź Œuvre Ærø', 'Lodz OEuvre AEro'],
    ['O’Brien “quoted” — dash', "O'Brien 'quoted' - dash"],
    ['po_01JQ', 'po-01JQ'],
    ['tab\tand\nnewline   spaces ', 'tab and newline spaces'],
    ['emoji 🎉 and 王 dropped', 'emoji and dropped'],
    ['a@b.com #1 $2 %3 *4 =5', 'ab.com 1 2 3 4 5'],
  ])('%s → %s', (input, expected) => {
    expect(toSepaText(input)).toBe(expected);
    expect(expected).toMatch(/^[A-Za-z0-9/\-?:().,'+ ]*$/);
  });
});

// ---------------------------------------------------------------- csv

describe('generic csv', () => {
  it('writes a header and one field-by-field row per payout, amounts in each currency exponent', async () => {
    const rows = [
      row({
        partnerName: 'Société Générale & Fils',
        amount: 1250,
        currency: 'EUR',
        payoutMethod: sepa({
          accountHolder: 'Müller & Söhne',
          iban: 'DE89 3704 0044 0532 0130 00',
          bic: 'COBADEFFXXX',
        }),
      }),
      row({
        partnerName: 'Tanaka, "Taro"\nJr.',
        amount: 1250,
        currency: 'JPY',
        payoutMethod: paypal('taro@example.jp'),
      }),
      row({ amount: 1250, currency: 'BHD', payoutMethod: wise({ currency: 'USD' }) }),
      row({ amount: 5, currency: 'EUR', payoutMethod: null }),
    ];
    const file = await only(rows, options('csv'));
    expect(file.fileName).toBe('ex_01JQ0000000000000000000001.csv');
    expect(file.contentType).toMatch(/^text\/csv; charset=utf-8/);
    expect(file.text.startsWith('\ufeff')).toBe(true);
    const [header, ...records] = parseCsv(file.text.slice(1));
    expect(header).toEqual([
      'payout_id',
      'partner_id',
      'partner_name',
      'partner_email',
      'amount',
      'amount_minor',
      'currency',
      'payout_method',
      'account_holder',
      'iban',
      'bic',
      'account_email',
      'account_currency',
      'payment_reference',
    ]);
    const [sepaRow, paypalRow, wiseRow, noneRow] = rows;
    expect(records).toEqual([
      [
        sepaRow?.payoutId,
        sepaRow?.partnerId,
        'Société Générale & Fils',
        'jane@example.com',
        '12.50',
        '1250',
        'EUR',
        'sepa',
        'Müller & Söhne',
        IBAN_DE,
        'COBADEFFXXX',
        '',
        '',
        '',
      ],
      [
        paypalRow?.payoutId,
        paypalRow?.partnerId,
        'Tanaka, "Taro"\nJr.',
        'jane@example.com',
        '1250',
        '1250',
        'JPY',
        'paypal',
        '',
        '',
        '',
        'taro@example.jp',
        '',
        '',
      ],
      [
        wiseRow?.payoutId,
        wiseRow?.partnerId,
        'Jane Doe',
        'jane@example.com',
        '1.250',
        '1250',
        'BHD',
        'wise',
        'Jane Doe Ltd',
        '',
        '',
        'jane@example.com',
        'USD',
        '',
      ],
      [
        noneRow?.payoutId,
        noneRow?.partnerId,
        'Jane Doe',
        'jane@example.com',
        '0.05',
        '5',
        'EUR',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
      ],
    ]);
    expect(file.totals).toEqual({
      count: 4,
      amounts: [
        { currency: 'BHD', amount: 1250 },
        { currency: 'EUR', amount: 1255 },
        { currency: 'JPY', amount: 1250 },
      ],
    });
  });

  it('guards text cells against formula injection, but not the amounts', async () => {
    const rows = [
      row({ partnerName: '=HYPERLINK("http://evil","x")', partnerEmail: '@SUM(A1)' }),
      row({ partnerName: '+cmd|/c calc!A0', partnerEmail: '-2+3@example.com' }),
      row({ partnerName: '\tTabbed', remittance: 'x' }),
      row({ partnerName: 'Safe = fine', payoutMethod: sepa({ accountHolder: '-Minus Ltd' }) }),
    ];
    const [, ...records] = parseCsv((await only(rows, options('csv'))).text.slice(1));
    expect(records.map((r) => [r[2], r[3], r[8]])).toEqual([
      [`'=HYPERLINK("http://evil","x")`, "'@SUM(A1)", ''],
      ["'+cmd|/c calc!A0", "'-2+3@example.com", ''],
      ["'\tTabbed", 'jane@example.com', ''],
      ['Safe = fine', 'jane@example.com', "'-Minus Ltd"],
    ]);
    expect(records.map((r) => [r[4], r[5]])).toEqual(Array(4).fill(['12.50', '1250']));
  });

  it('streams: the first chunk comes before the source is exhausted', async () => {
    let pulled = 0;
    const total = 50_000;
    async function* source(): AsyncGenerator<ExportRow> {
      for (let i = 0; i < total; i += 1) {
        pulled += 1;
        yield row({ partnerName: `Partner ${i}` });
      }
    }
    for await (const file of generateExport(source(), options('csv'))) {
      for await (const chunk of file.chunks) {
        expect(chunk.length).toBeGreaterThan(0);
        break;
      }
      break;
    }
    expect(pulled).toBeGreaterThan(0);
    expect(pulled).toBeLessThan(total / 2);
  });

  it('refuses to start the next file before the previous one is read', async () => {
    const rows = Array.from({ length: 1_001 }, () => row({ payoutMethod: wise({ iban: IBAN_FR }) }));
    const files = generateExport(rows, options('wise'))[Symbol.asyncIterator]();
    const first = await files.next();
    expect(first.done).toBe(false);
    await expect(files.next()).rejects.toMatchObject({ code: 'out_of_order' });
  });

  it('refuses an empty export', async () => {
    expect((await failure([], options('csv'))).code).toBe('no_rows');
  });
});

// ---------------------------------------------------------------- paypal

describe('paypal', () => {
  it('writes recipient, amount, currency, reference, note; no header', async () => {
    const rows = [
      row({ amount: 1250, payoutMethod: paypal('anne@example.fr'), remittance: 'Merci Société & Co' }),
      row({ amount: 99, payoutMethod: paypal('bob@example.com'), remittance: '=1+2\r\nsecond line' }),
    ];
    const file = await only(rows, options('paypal'));
    expect(file.fileName).toBe('ex_01JQ0000000000000000000001-paypal-001.csv');
    expect(parseCsv(file.text)).toEqual([
      ['anne@example.fr', '12.50', 'EUR', rows[0]?.payoutId, 'Merci Société & Co'],
      ['bob@example.com', '0.99', 'EUR', rows[1]?.payoutId, "'=1+2 second line"],
    ]);
    expect(file.totals).toEqual({ count: 2, amounts: [{ currency: 'EUR', amount: 1349 }] });
  });

  it('writes JPY and HUF in whole units', async () => {
    const jpy = await only(
      [row({ amount: 1250, currency: 'JPY', payoutMethod: paypal() })],
      options('paypal'),
    );
    expect(parseCsv(jpy.text)[0]?.[1]).toBe('1250');
    const huf = await only(
      [row({ amount: 123_400, currency: 'HUF', payoutMethod: paypal() })],
      options('paypal'),
    );
    expect(parseCsv(huf.text)[0]?.slice(1, 3)).toEqual(['1234', 'HUF']);
  });

  it('splits at 5,000 rows per file', async () => {
    const rows = Array.from({ length: 5_001 }, (_, i) => row({ amount: 100 + i, payoutMethod: paypal() }));
    const files = await collect(rows, options('paypal'));
    expect(files.map((f) => f.fileName)).toEqual([
      'ex_01JQ0000000000000000000001-paypal-001.csv',
      'ex_01JQ0000000000000000000001-paypal-002.csv',
    ]);
    const parsed = files.map((f) => parseCsv(f.text));
    expect(parsed.map((records) => records.length)).toEqual([5_000, 1]);
    expect(parsed.flat().map((r) => r[3])).toEqual(rows.map((r) => r.payoutId));
    expect(parsed.flat().map((r) => r[1])).toEqual(rows.map((r) => decimal(BigInt(r.amount), 2)));
    expect(files.map((f) => f.totals)).toEqual([
      expectedTotals(rows.slice(0, 5_000)),
      expectedTotals(rows.slice(5_000)),
    ]);
    expect(mergeTotals(files.map((f) => f.totals))).toEqual(expectedTotals(rows));
  });

  it('keeps exactly 5,000 rows in one file', async () => {
    const rows = Array.from({ length: 5_000 }, () => row({ payoutMethod: paypal() }));
    expect(await collect(rows, options('paypal'))).toHaveLength(1);
  });

  it('stops on a currency PayPal cannot pay, or on a second currency', async () => {
    expect((await failure([row({ currency: 'BHD', payoutMethod: paypal() })], options('paypal'))).code).toBe(
      'currency_problem',
    );
    const mixed = [row({ payoutMethod: paypal() }), row({ currency: 'USD', payoutMethod: paypal() })];
    expect((await failure(mixed, options('paypal'))).code).toBe('currency_problem');
  });

  it('stops on a row without a PayPal method, naming it', async () => {
    const bad = row({ payoutMethod: sepa() });
    const error = await failure([row({ payoutMethod: paypal() }), bad], options('paypal'));
    expect(error).toMatchObject({
      code: 'row_refused',
      payoutId: bad.payoutId,
      reason: 'wrong_payout_method',
    });
  });
});

// ---------------------------------------------------------------- wise

describe('wise', () => {
  const HEADER = [
    'name',
    'recipientEmail',
    'paymentReference',
    'receiverType',
    'amountCurrency',
    'amount',
    'sourceCurrency',
    'targetCurrency',
    'IBAN',
  ];

  it('writes the batch header and one transfer per payout', async () => {
    const rows = [
      row({
        amount: 1250,
        payoutMethod: wise({
          accountHolder: 'Müller & Söhne',
          email: 'm@example.de',
          iban: 'FR76 3000 6000 0112 3456 7890 189',
        }),
      }),
      row({ amount: 7, payoutMethod: wise({ accountHolder: '@Evil', currency: 'USD' }) }),
    ];
    const file = await only(rows, options('wise'));
    expect(file.fileName).toBe('ex_01JQ0000000000000000000001-wise-001.csv');
    expect(parseCsv(file.text)).toEqual([
      HEADER,
      [
        'Müller & Söhne',
        'm@example.de',
        rows[0]?.payoutId,
        'BUSINESS',
        'target',
        '12.50',
        'EUR',
        'EUR',
        IBAN_FR,
      ],
      ["'@Evil", 'jane@example.com', rows[1]?.payoutId, 'BUSINESS', 'source', '0.07', 'EUR', 'USD', ''],
    ]);
  });

  it('writes JPY and BHD amounts in their exponents', async () => {
    const jpy = await only([row({ amount: 1250, currency: 'JPY', payoutMethod: wise() })], options('wise'));
    expect(parseCsv(jpy.text)[1]?.slice(5, 8)).toEqual(['1250', 'JPY', 'JPY']);
    const bhd = await only([row({ amount: 1250, currency: 'BHD', payoutMethod: wise() })], options('wise'));
    expect(parseCsv(bhd.text)[1]?.slice(5, 8)).toEqual(['1.250', 'BHD', 'BHD']);
    expect(bhd.totals).toEqual({ count: 1, amounts: [{ currency: 'BHD', amount: 1250 }] });
  });

  it('splits at 1,000 rows per file, each with its header', async () => {
    const rows = Array.from({ length: 1_001 }, (_, i) =>
      row({ amount: 1_000 + i, currency: 'GBP', payoutMethod: wise() }),
    );
    const files = await collect(rows, options('wise'));
    expect(files.map((f) => f.fileName)).toEqual([
      'ex_01JQ0000000000000000000001-wise-001.csv',
      'ex_01JQ0000000000000000000001-wise-002.csv',
    ]);
    const parsed = files.map((f) => parseCsv(f.text));
    expect(parsed.map((records) => records[0])).toEqual([HEADER, HEADER]);
    expect(parsed.map((records) => records.length - 1)).toEqual([1_000, 1]);
    expect(parsed.flatMap((records) => records.slice(1).map((r) => r[2]))).toEqual(
      rows.map((r) => r.payoutId),
    );
    expect(files.map((f) => f.totals)).toEqual([
      expectedTotals(rows.slice(0, 1_000)),
      expectedTotals(rows.slice(1_000)),
    ]);
  });

  it('keeps exactly 1,000 rows in one file', async () => {
    const rows = Array.from({ length: 1_000 }, () => row({ currency: 'USD', payoutMethod: wise() }));
    expect(await collect(rows, options('wise'))).toHaveLength(1);
  });
});

// ---------------------------------------------------------------- sepa

const XSD: Record<SepaVersion, string> = {
  'pain.001.001.09': readFileSync(
    new URL('../fixtures/iso20022/pain.001.001.09.xsd', import.meta.url),
    'utf8',
  ),
  'pain.001.001.03': readFileSync(
    new URL('../fixtures/iso20022/pain.001.001.03.xsd', import.meta.url),
    'utf8',
  ),
};

async function validate(xml: string, version: SepaVersion) {
  return validateXML({
    xml: [{ fileName: 'export.xml', contents: xml }],
    schema: [{ fileName: `${version}.xsd`, contents: XSD[version] }],
  });
}

function texts(xml: string, name: string): string[] {
  return blocks(xml, name).map(decodeEntities);
}

describe.each(['pain.001.001.09', 'pain.001.001.03'] as const)('sepa %s', (version) => {
  const sepaOptions = (extra: Partial<ExportOptions> = {}) =>
    options('sepa', { sepaVersion: version, debtor: DEBTOR, ...extra });
  const bicTag = version === 'pain.001.001.09' ? 'BICFI' : 'BIC';

  const longName = `Ève-Marie d’Artagnan & Associés ${'x'.repeat(80)}`;
  const rows = (): ExportRow[] => [
    row({
      amount: 10,
      payoutMethod: sepa({ accountHolder: 'Müller & Söhne GmbH', iban: IBAN_DE, bic: 'COBADEFFXXX' }),
      address: {
        line1: 'Königstraße 12',
        line2: 'Hinterhaus',
        city: 'München',
        postalCode: '80331',
        country: 'DE',
      },
      remittance: 'Partner payout für März – “Q1”',
    }),
    row({
      amount: 20,
      payoutMethod: sepa({ accountHolder: longName, iban: 'FR76 3000 6000 0112 3456 7890 189' }),
      remittance: `Partner payout ${'r'.repeat(200)}`,
    }),
    row({
      amount: 99_999_999_999,
      payoutMethod: sepa({ accountHolder: 'Zoë Ltd', iban: IBAN_NL, bic: 'DEUTDE01' }),
      address: { line1: '1 Canal Street', city: 'Amsterdam', country: 'NL' },
      remittance: '',
    }),
  ];

  it('is valid against the XSD, with exact totals and field-by-field transactions', async () => {
    const input = rows();
    const file = await only(input, sepaOptions({ executionDate: new Date('2025-03-10T00:00:00Z') }));
    expect(file.fileName).toBe(`ex_01JQ0000000000000000000001-${version}.xml`);
    expect(file.contentType).toBe('application/xml; charset=utf-8');
    const result = await validate(file.text, version);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
    const xml = file.text;
    expect(xml).toContain(`xmlns="urn:iso:std:iso:20022:tech:xsd:${version}"`);

    // totals: 0.10 + 0.20 + 999,999,999.99, the largest amount SEPA allows
    const sum = input.reduce((total, r) => total + BigInt(r.amount), 0n);
    expect(decimal(sum, 2)).toBe('1000000000.29');
    const groupHeader = blocks(xml, 'GrpHdr')[0] ?? '';
    const paymentInfo = (blocks(xml, 'PmtInf')[0] ?? '').replace(/<CdtTrfTxInf>[\s\S]*/, '');
    for (const part of [groupHeader, paymentInfo]) {
      expect(text(part, 'NbOfTxs')).toBe('3');
      expect(text(part, 'CtrlSum')).toBe('1000000000.29');
    }
    expect(text(groupHeader, 'MsgId')).toBe('ex-01JQ0000000000000000000001');
    expect(text(groupHeader, 'CreDtTm')).toBe('2025-03-04T05:06:07Z');
    expect(text(blocks(groupHeader, 'InitgPty')[0] ?? '', 'Nm')).toBe('Acme Partner Programs GmbH');
    expect(text(paymentInfo, 'PmtMtd')).toBe('TRF');
    expect(text(paymentInfo, 'BtchBookg')).toBe('true');
    expect(text(blocks(paymentInfo, 'SvcLvl')[0] ?? '', 'Cd')).toBe('SEPA');
    expect(text(paymentInfo, 'ChrgBr')).toBe('SLEV');
    if (version === 'pain.001.001.09')
      expect(paymentInfo).toMatch(/<ReqdExctnDt>\s*<Dt>2025-03-10<\/Dt>\s*<\/ReqdExctnDt>/);
    else expect(paymentInfo).toMatch(/<ReqdExctnDt>2025-03-10<\/ReqdExctnDt>/);
    expect(text(blocks(paymentInfo, 'DbtrAcct')[0] ?? '', 'IBAN')).toBe(IBAN_DE);
    expect(text(blocks(paymentInfo, 'DbtrAgt')[0] ?? '', bicTag)).toBe('COBADEFFXXX');

    const txs = blocks(xml, 'CdtTrfTxInf');
    expect(txs).toHaveLength(3);
    const [first, second, third] = txs.map((tx) => ({
      endToEnd: text(tx, 'EndToEndId'),
      amount: tx.match(/<InstdAmt Ccy="EUR">([^<]*)<\/InstdAmt>/)?.[1],
      bic: text(blocks(tx, 'CdtrAgt')[0] ?? '', bicTag),
      name: text(blocks(tx, 'Cdtr')[0] ?? '', 'Nm'),
      address: blocks(tx, 'PstlAdr')[0],
      iban: text(blocks(tx, 'CdtrAcct')[0] ?? '', 'IBAN'),
      remittance: text(tx, 'Ustrd'),
    }));
    expect(first).toMatchObject({
      endToEnd: input[0]?.payoutId.replace('_', '-'),
      amount: '0.10',
      bic: 'COBADEFFXXX',
      name: 'Muller + Sohne GmbH',
      iban: IBAN_DE,
      remittance: "Partner payout fur Marz - 'Q1'",
    });
    expect(second).toMatchObject({ amount: '0.20', bic: undefined, address: undefined, iban: IBAN_FR });
    const expectedLong = `Eve-Marie d'Artagnan + Associes ${'x'.repeat(80)}`.slice(0, 70);
    expect(second?.name).toBe(expectedLong);
    expect(second?.remittance).toBe(`Partner payout ${'r'.repeat(200)}`.slice(0, 140));
    expect(third).toMatchObject({
      amount: '999999999.99',
      name: 'Zoe Ltd',
      iban: IBAN_NL,
      remittance: undefined,
    });
    // DEUTDE01 is a valid BIC, but the .03 schema's pattern refuses a location code starting with 0
    expect(third?.bic).toBe(version === 'pain.001.001.09' ? 'DEUTDE01' : undefined);

    const munich = first?.address ?? '';
    const amsterdam = third?.address ?? '';
    if (version === 'pain.001.001.09') {
      expect(munich).toMatch(
        /^\s*<PstCd>80331<\/PstCd>\s*<TwnNm>Munchen<\/TwnNm>\s*<Ctry>DE<\/Ctry>\s*<AdrLine>Konigstrasse 12<\/AdrLine>\s*<AdrLine>Hinterhaus<\/AdrLine>\s*$/,
      );
      expect(amsterdam).toMatch(
        /^\s*<TwnNm>Amsterdam<\/TwnNm>\s*<Ctry>NL<\/Ctry>\s*<AdrLine>1 Canal Street<\/AdrLine>\s*$/,
      );
    } else {
      expect(munich).toMatch(
        /^\s*<Ctry>DE<\/Ctry>\s*<AdrLine>Konigstrasse 12, Hinterhaus<\/AdrLine>\s*<AdrLine>80331 Munchen<\/AdrLine>\s*$/,
      );
      expect(amsterdam).toMatch(
        /^\s*<Ctry>NL<\/Ctry>\s*<AdrLine>1 Canal Street<\/AdrLine>\s*<AdrLine>Amsterdam<\/AdrLine>\s*$/,
      );
    }
    expect(
      texts(xml, 'Nm').every((name) => name.length <= 70 && /^[A-Za-z0-9/\-?:().,'+ ]+$/.test(name)),
    ).toBe(true);
    expect(file.totals).toEqual(expectedTotals(input));
  });

  it('writes Othr/Id NOTPROVIDED for a debtor without BIC', async () => {
    const file = await only(rows(), sepaOptions({ debtor: { name: 'Acme', iban: IBAN_DE } }));
    expect((await validate(file.text, version)).valid).toBe(true);
    expect(blocks(file.text, 'DbtrAgt')[0]).toMatch(
      /<FinInstnId>\s*<Othr>\s*<Id>NOTPROVIDED<\/Id>\s*<\/Othr>\s*<\/FinInstnId>/,
    );
  });

  it('stays valid for 2,500 payouts, each transaction in order', async () => {
    const input = Array.from({ length: 2_500 }, (_, i) =>
      row({
        amount: 1 + ((i * 7_919) % 100_000),
        partnerName: `Partner ${i}`,
        payoutMethod: sepa({ accountHolder: `Ümlaut & Co ${i}` }),
      }),
    );
    const file = await only(() => input, sepaOptions());
    const result = await validate(file.text, version);
    expect(result.errors).toEqual([]);
    const sum = input.reduce((total, r) => total + BigInt(r.amount), 0n);
    expect(texts(file.text, 'CtrlSum')).toEqual([decimal(sum, 2), decimal(sum, 2)]);
    expect(texts(file.text, 'NbOfTxs')).toEqual(['2500', '2500']);
    expect(texts(file.text, 'EndToEndId')).toEqual(input.map((r) => r.payoutId.replace('_', '-')));
    expect(texts(file.text, 'InstdAmt')).toEqual(input.map((r) => decimal(BigInt(r.amount), 2)));
    expect(texts(file.text, 'Nm').slice(2, 4)).toEqual(['Umlaut + Co 0', 'Umlaut + Co 1']);
  });

  it('sums 10,000 large payouts exactly', async () => {
    const input = Array.from({ length: 10_000 }, (_, i) =>
      row({ amount: 1 + ((i * 104_729_000_017) % 99_999_999_999), payoutMethod: sepa() }),
    );
    const sum = input.reduce((total, r) => total + BigInt(r.amount), 0n);
    expect(decimal(sum, 2)).toBe('4999559022792.64');
    // these amounts do trip floats: adding the euro amounts as numbers misses the exact total by a cent
    const floatSum = input.reduce((total, r) => total + r.amount / 100, 0);
    expect(floatSum.toFixed(2)).not.toBe(decimal(sum, 2));
    const file = await only(input, sepaOptions());
    const head = file.text.slice(0, file.text.indexOf('<CdtTrfTxInf>'));
    expect(texts(head, 'CtrlSum')).toEqual(['4999559022792.64', '4999559022792.64']);
    expect(texts(head, 'NbOfTxs')).toEqual(['10000', '10000']);
    expect(file.totals).toEqual({ count: 10_000, amounts: [{ currency: 'EUR', amount: Number(sum) }] });
  });

  it('the XSD check catches a broken file (the validation can fail)', async () => {
    const file = await only(rows(), sepaOptions());
    const broken = file.text.replace(/<NbOfTxs>3<\/NbOfTxs>/, '<NbOfTxs>three</NbOfTxs>');
    expect((await validate(broken, version)).valid).toBe(false);
    const tooLong = file.text.replace(/<Nm>Zoe Ltd<\/Nm>/, `<Nm>${'Z'.repeat(141)}</Nm>`);
    expect((await validate(tooLong, version)).valid).toBe(false);
  });
});

describe('sepa refusals', () => {
  const sepaOptions = (extra: Partial<ExportOptions> = {}) => options('sepa', { debtor: DEBTOR, ...extra });

  it('refuses non-EUR payouts before writing anything', async () => {
    const rows = [row({ payoutMethod: sepa() }), row({ currency: 'CHF', payoutMethod: sepa() })];
    const iterator = generateExport(rows, sepaOptions())[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toMatchObject({ code: 'currency_problem' });
  });

  it('refuses a payout without SEPA details, naming it', async () => {
    const bad = row({ payoutMethod: sepa({ iban: IBAN_BR }) });
    const error = await failure([row({ payoutMethod: sepa() }), bad], sepaOptions());
    expect(error).toMatchObject({ code: 'row_refused', payoutId: bad.payoutId, reason: 'iban_not_sepa' });
  });

  it('needs the debtor account', async () => {
    expect((await failure([row({ payoutMethod: sepa() })], options('sepa'))).code).toBe('invalid_options');
    const badIban = sepaOptions({ debtor: { name: 'Acme', iban: IBAN_BR } });
    expect((await failure([row({ payoutMethod: sepa() })], badIban)).code).toBe('invalid_options');
  });

  it('needs a source it can read twice', async () => {
    function* oneShot(): Generator<ExportRow> {
      yield row({ payoutMethod: sepa() });
    }
    expect((await failure(oneShot(), sepaOptions())).code).toBe('invalid_source');
    expect((await collect(() => oneShot(), sepaOptions())).map((f) => f.totals.count)).toEqual([1]);
  });

  it('fails the file when the second pass reads different rows', async () => {
    const first = [row({ payoutMethod: sepa(), amount: 100 })];
    const second = [row({ payoutMethod: sepa(), amount: 101 })];
    let calls = 0;
    const source = () => {
      calls += 1;
      return calls === 1 ? first : second;
    };
    expect((await failure(source, sepaOptions())).code).toBe('invalid_source');
  });
});

describe('ExportFile', () => {
  it('withholds totals until the chunks are read', async () => {
    const files: ExportFile[] = [];
    for await (const file of generateExport([row()], options('csv'))) {
      expect(() => file.totals()).toThrow(ExportError);
      for await (const _ of file.chunks) {
        // drain
      }
      expect(file.totals().count).toBe(1);
      files.push(file);
    }
    expect(files).toHaveLength(1);
  });
});

describe('the hot path’s memo of pure string functions', () => {
  it('computes each key once, answers the same (also undefined/null), and starts afresh when full', async () => {
    const { boundedMemo, toSepaText } = await import('../../shared/exports/text.ts');
    const calls: string[] = [];
    const memo = boundedMemo((key: string) => {
      calls.push(key);
      return key === 'none' ? null : key.toUpperCase();
    }, 2);
    expect([memo('a'), memo('a'), memo('none'), memo('none')]).toEqual(['A', 'A', null, null]);
    expect(calls).toEqual(['a', 'none']);
    memo('b'); // full: the cache starts afresh with `b`
    memo('a');
    expect(calls).toEqual(['a', 'none', 'b', 'a']);
    // Transliteration through the memo is the same, first call or later.
    for (let round = 0; round < 2; round++) {
      expect(toSepaText('Müller & Söhne  GmbH ')).toBe('Muller + Sohne GmbH');
      expect(toSepaText('Ærø ß')).toBe('AEro ss');
    }
  });
});

describe("an export's events", () => {
  const record = {
    id: 'exp_01J0000000000000000000000',
    format: 'sepa',
    status: 'active',
    payoutCount: 0,
    totals: [{ currency: 'EUR', amount: 1 }],
    fileName: 'payouts.xml',
    sha256: 'a'.repeat(64),
    createdAt: '2026-11-30T00:00:00.000Z',
    files: [],
    version: 2,
  } as unknown as ExportRecord;
  const ids = (count: number) =>
    Array.from({ length: count }, (_, index) => newId('payout', 1_790_000_000_000 + index));

  it('carry the payout ids up to EVENT_PAYOUT_IDS_MAX', () => {
    const few = ids(EVENT_PAYOUT_IDS_MAX);
    expect(exportEventData(record, few).payoutIds).toEqual(few);
    expect(exportEventData(record, few).payoutIdsOmitted).toBeUndefined();
  });

  it('of a larger export leave them out and say so, so the event fits an EventBridge entry (256 KB)', () => {
    const many = ids(10_000);
    // What the ids alone would weigh: over the entry's limit, so the event could never be published.
    expect(Buffer.byteLength(JSON.stringify(many))).toBeGreaterThan(256 * 1024);
    const data = exportEventData(record, many);
    expect(data.payoutIds).toBeUndefined();
    expect(data.payoutIdsOmitted).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(data))).toBeLessThan(4 * 1024);
  });
});
