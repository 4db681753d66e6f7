/**
 * Plumbing shared by the generators: reading a row source one row at a time, running totals, and
 * batching output text into chunks.
 */
import { sumMinor } from '../domain/money.ts';
import { ExportError } from './errors.ts';
import type { CurrencyTotal, ExportFile, ExportRow, FileTotals, RowIterable, RowSource } from './types.ts';

/** Output is handed out in pieces of about this many UTF-16 units. */
export const CHUNK_SIZE = 64 * 1024;

function isAsyncIterable(value: RowIterable): value is AsyncIterable<ExportRow> {
  return typeof (value as Partial<AsyncIterable<ExportRow>>)[Symbol.asyncIterator] === 'function';
}

type RowIterator = Iterator<ExportRow> | AsyncIterator<ExportRow>;

function iteratorOf(iterable: RowIterable): RowIterator {
  return isAsyncIterable(iterable) ? iterable[Symbol.asyncIterator]() : iterable[Symbol.iterator]();
}

/** Reads a row source one row at a time, with one row of look-ahead. */
export class RowReader {
  readonly #iterator: RowIterator;
  #peeked: IteratorResult<ExportRow> | undefined;
  #closed = false;

  private constructor(iterator: RowIterator) {
    this.#iterator = iterator;
  }

  /** Opens the source once. */
  static open(source: RowSource): RowReader {
    return new RowReader(iteratorOf(typeof source === 'function' ? source() : source));
  }

  /**
   * Opens the source for the first of two passes, failing (before reading anything) when it cannot be
   * read a second time: a generator object or other iterator that is its own iterable.
   */
  static openTwice(source: RowSource): { first: RowReader; second: () => RowReader } {
    if (typeof source === 'function') {
      return { first: RowReader.open(source), second: () => RowReader.open(source) };
    }
    const iterator = iteratorOf(source);
    if ((iterator as unknown) === source) {
      throw new ExportError(
        'invalid_source',
        'This format reads its rows twice: pass an array, a re-iterable collection or a function returning a fresh iterable',
      );
    }
    return { first: new RowReader(iterator), second: () => new RowReader(iteratorOf(source)) };
  }

  async next(): Promise<ExportRow | undefined> {
    const result = this.#peeked ?? (await this.#iterator.next());
    this.#peeked = undefined;
    if (result.done) {
      this.#closed = true;
      return undefined;
    }
    return result.value;
  }

  /** True when the source has no more rows. */
  async atEnd(): Promise<boolean> {
    if (this.#closed) return true;
    this.#peeked ??= await this.#iterator.next();
    return this.#peeked.done === true;
  }

  /** Lets go of the source early (runs its `finally` blocks, closes its connections). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#iterator.return?.();
  }
}

/** Count and per-currency sums of rows, exact: amounts are integers and sums stay safe integers. */
export class TotalsAccumulator {
  #count = 0;
  readonly #amounts = new Map<string, number>();

  add(row: ExportRow): void {
    this.#count += 1;
    this.#amounts.set(row.currency, sumMinor([this.#amounts.get(row.currency) ?? 0, row.amount]));
  }

  get count(): number {
    return this.#count;
  }

  amountOf(currency: string): number {
    return this.#amounts.get(currency) ?? 0;
  }

  result(): FileTotals {
    const amounts: CurrencyTotal[] = [...this.#amounts]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([currency, amount]) => ({ currency, amount }));
    return { count: this.#count, amounts };
  }
}

/** Sums the totals of several files (e.g. all parts of one export). */
export function mergeTotals(totals: Iterable<FileTotals>): FileTotals {
  let count = 0;
  const amounts = new Map<string, number>();
  for (const file of totals) {
    count += file.count;
    for (const { currency, amount } of file.amounts) {
      amounts.set(currency, sumMinor([amounts.get(currency) ?? 0, amount]));
    }
  }
  return {
    count,
    amounts: [...amounts]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([currency, amount]) => ({ currency, amount })),
  };
}

/** Collects small pieces of text and releases them as chunks of about `CHUNK_SIZE`. */
export class ChunkBuffer {
  #parts: string[] = [];
  #length = 0;

  push(text: string): void {
    this.#parts.push(text);
    this.#length += text.length;
  }

  get full(): boolean {
    return this.#length >= CHUNK_SIZE;
  }

  /** Everything collected so far, and empties the buffer. */
  take(): string {
    const chunk = this.#parts.join('');
    this.#parts = [];
    this.#length = 0;
    return chunk;
  }
}

/** An `ExportFile` whose chunks come from `produce`, plus what the generator needs to know about it. */
export interface FileHandle {
  file: ExportFile;
  /** Throws the error that stopped the chunks, or `out_of_order` if they were not read to the end. */
  assertFinished(): void;
}

export function makeFile(
  meta: { index: number; fileName: string; contentType: string },
  produce: (totals: TotalsAccumulator) => AsyncGenerator<string, void, undefined>,
): FileHandle {
  const totals = new TotalsAccumulator();
  let started = false;
  let finished = false;
  let failure: { error: unknown } | undefined;

  async function* run(): AsyncGenerator<string, void, undefined> {
    try {
      yield* produce(totals);
      finished = true;
    } catch (error) {
      failure = { error };
      throw error;
    }
  }

  const notFinished = () =>
    new ExportError('out_of_order', `${meta.fileName}: read its chunks to the end first`);

  return {
    file: {
      ...meta,
      chunks: {
        [Symbol.asyncIterator]: () => {
          if (started) throw new ExportError('out_of_order', `${meta.fileName}: its chunks can be read once`);
          started = true;
          return run();
        },
      },
      totals: () => {
        if (!finished) throw notFinished();
        return totals.result();
      },
    },
    assertFinished: () => {
      if (failure) throw failure.error;
      if (!finished) throw notFinished();
    },
  };
}
