/**
 * Export-file generators: pure and streaming. They read payout rows one at a time and hand out each
 * file as chunks of text, so memory stays bounded whatever the number of payouts; the caller stores
 * the chunks (S3 upload) and reads the rows (DynamoDB).
 *
 * ```ts
 * const check = checkExportable('paypal', rows);            // refuse early, with reasons
 * for await (const file of generateExport(rows, options)) {
 *   await upload(file.fileName, file.contentType, Readable.from(file.chunks));
 *   record(file.fileName, file.totals());                    // count and amount per currency
 * }
 * ```
 *
 * | format | files                                  | currencies                     |
 * |--------|----------------------------------------|--------------------------------|
 * | csv    | one                                    | any, mixed                     |
 * | paypal | 5,000 payouts per file                 | one, among PayPal's currencies |
 * | wise   | 1,000 payouts per file                 | one source currency            |
 * | sepa   | one (at most `SEPA_MAX_TRANSACTIONS`)  | EUR                            |
 */
import { ExportChecker } from './check.ts';
import { CSV_LAYOUT, type CsvLayout, encodeRecords, PAYPAL_LAYOUT, WISE_LAYOUT } from './csv.ts';
import { ExportError } from './errors.ts';
import { ChunkBuffer, makeFile, RowReader } from './rows.ts';
import { sepaFiles } from './sepa.ts';
import type { ExportFile, ExportOptions, RowSource } from './types.ts';

export {
  checkExportable,
  ExportChecker,
  PAYPAL_CURRENCIES,
  PAYPAL_WHOLE_UNIT_CURRENCIES,
  rowRefusal,
  SEPA_MAX_AMOUNT,
} from './check.ts';
export { CSV_HEADER, PAYPAL_MAX_ROWS_PER_FILE, WISE_HEADER, WISE_MAX_ROWS_PER_FILE } from './csv.ts';
export { ExportError, type ExportErrorCode } from './errors.ts';
export { mergeTotals } from './rows.ts';
export { DEFAULT_SEPA_VERSION, SEPA_MAX_TRANSACTIONS } from './sepa.ts';
export { guardFormula, sepaId, sepaText, toSepaText } from './text.ts';
export type * from './types.ts';

/** Records encoded per call to `encodeRecords`. */
const CSV_BATCH = 256;

const LAYOUTS: Record<'csv' | 'paypal' | 'wise', CsvLayout> = {
  csv: CSV_LAYOUT,
  paypal: PAYPAL_LAYOUT,
  wise: WISE_LAYOUT,
};

/** The CSV formats: one pass, a new file every `maxRowsPerFile` rows. */
async function* csvFiles(
  source: RowSource,
  options: ExportOptions,
  layout: CsvLayout,
): AsyncGenerator<ExportFile> {
  const reader = RowReader.open(source);
  const checker = new ExportChecker(layout.format);
  try {
    if (await reader.atEnd()) throw new ExportError('no_rows', 'Nothing to export');
    for (let index = 0; !(await reader.atEnd()); index += 1) {
      const handle = makeFile(
        { index, fileName: layout.fileName(options.exportId, index), contentType: layout.contentType },
        async function* (totals) {
          const buffer = new ChunkBuffer();
          buffer.push(layout.preamble);
          let batch: string[][] = [];
          while (totals.count < layout.maxRowsPerFile) {
            const row = await reader.next();
            if (!row) break;
            const reason = checker.add(row);
            if (reason) {
              throw new ExportError(
                'row_refused',
                `Payout ${row.payoutId} cannot go into a ${layout.format} file: ${reason}`,
                {
                  payoutId: row.payoutId,
                  reason,
                },
              );
            }
            const problem = checker.currencyProblem();
            if (problem) throw new ExportError('currency_problem', problem);
            totals.add(row);
            batch.push(layout.record(row));
            if (batch.length === CSV_BATCH) {
              buffer.push(encodeRecords(batch));
              batch = [];
              if (buffer.full) yield buffer.take();
            }
          }
          if (batch.length > 0) buffer.push(encodeRecords(batch));
          const rest = buffer.take();
          if (rest !== '') yield rest;
        },
      );
      yield handle.file;
      handle.assertFinished();
    }
  } finally {
    await reader.close();
  }
}

/**
 * Generates the files of an export, one after the other. Read each file's `chunks` to the end before
 * asking for the next file (files share the row source); its `totals()` are then available.
 *
 * Rows are checked as they stream (`rowRefusal`, currency rules): the first refused row stops the
 * generator with an `ExportError`, and the file being written must be discarded. Run `checkExportable`
 * first to report every problem at once. `sepa` checks and sums all rows before yielding its file, so
 * it needs a source it can read twice (see `RowSource`) and the `debtor` option.
 */
export function generateExport(source: RowSource, options: ExportOptions): AsyncIterable<ExportFile> {
  switch (options.format) {
    case 'sepa':
      return sepaFiles(source, options);
    case 'csv':
    case 'paypal':
    case 'wise':
      return csvFiles(source, options, LAYOUTS[options.format]);
    default:
      throw new ExportError('invalid_options', `Unknown export format ${String(options.format)}`);
  }
}
