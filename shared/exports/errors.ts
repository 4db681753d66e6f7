import type { RefusalReason } from './types.ts';

export type ExportErrorCode =
  /** A row fails the format's checks (see `checkExportable`); `payoutId` and `reason` say which and why. */
  | 'row_refused'
  /** The rows' currencies do not fit the format. */
  | 'currency_problem'
  | 'no_rows'
  | 'too_many_rows'
  | 'invalid_options'
  /** SEPA reads its source twice; it was one-shot, or gave different rows the second time. */
  | 'invalid_source'
  /** A file was asked for before the previous file's chunks were read to the end. */
  | 'out_of_order';

/** Why a generator stopped. Nothing it produced before is a complete, usable file. */
export class ExportError extends Error {
  readonly code: ExportErrorCode;
  readonly payoutId: string | undefined;
  readonly reason: RefusalReason | undefined;

  constructor(
    code: ExportErrorCode,
    message: string,
    details: { payoutId?: string; reason?: RefusalReason } = {},
  ) {
    super(message);
    this.name = 'ExportError';
    this.code = code;
    this.payoutId = details.payoutId;
    this.reason = details.reason;
  }
}
