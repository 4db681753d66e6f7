/**
 * Bank reports in storage: the uploaded files in S3 (presigned POST in, streamed GET out) and the
 * report records and their lines in the table.
 *
 * | item                   | PK                 | SK             | GSI4                        |
 * |------------------------|--------------------|----------------|-----------------------------|
 * | report                 | BANKREPORT#id      | REPORT         | BANK_REPORTS / createdAt#id |
 * | its lines, page p      | BANKREPORT#id      | LINES#0000042  |                             |
 * | first report of bytes  | BANKREPORT_SHA#hex | SHA            |                             |
 *
 * Line results are stored a page at a time: page p holds lines p·100 … p·100 + 99 in file order (the
 * last page fewer), as one JSON string attribute, and is written once all its lines are applied. A
 * page's key is its position in the file, so applying a report again writes the same items: a run
 * that crashed half-way and runs again keeps the pages it wrote and applies the lines of the others
 * again (settlement is idempotent: what the crashed run settled is then `already_applied`). One item
 * per 100 lines instead of one per line: a 10,000-line report writes 100 items, not 10,000.
 * `GET /bank-reports/{id}/lines` pages lines, not items: its cursor names the last line returned
 * (`LINE#0000041`), whatever page holds it.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import {
  GetCommand,
  type NativeAttributeValue,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { LineOutcome } from '../bank-reports/types.ts';
import { ENV, requireEnv } from '../config/env.ts';
import {
  BANK_REPORT_CONTENT_TYPE,
  BANK_REPORT_MAX_BYTES,
  BANK_REPORT_UPLOAD_EXPIRES_SECONDS,
  type BankReportCounts,
  type BankReportStatus,
  type LineResult,
} from '../domain/bank-reports.ts';
import { ValidationFailed } from '../domain/errors.ts';
import { deleteUpload, headUpload, presignUpload } from './checked-upload.ts';
import { dynamo, s3 } from './clients.ts';
import {
  decodeCursor,
  encodeCursor,
  isConditionalCheckFailed,
  type Page,
  queryPage,
  table,
} from './table.ts';

const REPORT_SK = 'REPORT';
const LINE_PREFIX = 'LINE#';

export const reportKey = (id: string) => ({ PK: `BANKREPORT#${id}`, SK: REPORT_SK });
/** A line's position as the lines' cursor names it (no item has this key). */
const lineKey = (reportId: string, index: number) => ({
  PK: `BANKREPORT#${reportId}`,
  SK: `${LINE_PREFIX}${String(index).padStart(7, '0')}`,
});
const PAGE_PREFIX = 'LINES#';
const pageKey = (reportId: string, page: number) => ({
  PK: `BANKREPORT#${reportId}`,
  SK: `${PAGE_PREFIX}${String(page).padStart(7, '0')}`,
});

let bucketName: string | undefined;
function bucket(): string {
  bucketName ??= requireEnv(ENV.bankReportBucket);
  return bucketName;
}

// ------------------------------------------------------------------ files in S3

export async function presignReportUpload(key: string, fileName: string) {
  return presignUpload({
    bucket: bucket(),
    key,
    contentType: BANK_REPORT_CONTENT_TYPE,
    fileName,
    maxBytes: BANK_REPORT_MAX_BYTES,
    expiresSeconds: BANK_REPORT_UPLOAD_EXPIRES_SECONDS,
  });
}

/** The object's size, or undefined when it is gone. */
export async function reportObjectSize(key: string): Promise<number | undefined> {
  return (await headUpload(bucket(), key))?.size;
}

/** The object's bytes as they arrive (a stream: memory holds a chunk, not the file). */
export async function readReportObject(
  key: string,
): Promise<AsyncIterable<Uint8Array> | Iterable<Uint8Array>> {
  return (await openReportObject(key)).body;
}

/**
 * The object's bytes and ETag; with `ifMatch`, S3 answers only if the object is still the one of
 * that ETag (412 otherwise), so a second read sees the bytes the first one checked.
 */
export async function openReportObject(
  key: string,
  ifMatch?: string,
): Promise<{ body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>; etag?: string }> {
  const object = await s3().send(
    new GetObjectCommand({ Bucket: bucket(), Key: key, ...(ifMatch ? { IfMatch: ifMatch } : {}) }),
  );
  return {
    body: (object.Body ?? []) as Readable | Uint8Array[],
    ...(object.ETag ? { etag: object.ETag } : {}),
  };
}

export async function deleteReportObject(key: string): Promise<void> {
  await deleteUpload(bucket(), key);
}

// ------------------------------------------------------------------ reports

export interface ExportRejectionRecord {
  exportId?: string;
  messageId: string;
  /** Set when the bank refused one payment information block (all its payments), not the file. */
  paymentInfoId?: string;
  reasonCode?: string;
  reason: string;
  result: string;
}

export interface BankReportRecord {
  id: string;
  fileName: string;
  key: string;
  status: BankReportStatus;
  sha256?: string;
  size?: number;
  message?: string;
  messageId?: string;
  rejectionReason?: string;
  duplicateOf?: string;
  counts: BankReportCounts;
  exportRejection?: ExportRejectionRecord;
  createdAt: string;
  createdBy: string;
  receivedAt?: string;
  appliedAt?: string;
  /** Follow-ups still to do after the report was applied (event, e-mails), cleared one by one. */
  pending?: string[];
  /** Epoch milliseconds until which a run holds the report (internal, not shown). */
  leaseUntil?: number;
}

const RECORD_FIELDS: readonly (keyof BankReportRecord)[] = [
  'id',
  'fileName',
  'key',
  'status',
  'sha256',
  'size',
  'message',
  'messageId',
  'rejectionReason',
  'duplicateOf',
  'counts',
  'exportRejection',
  'createdAt',
  'createdBy',
  'receivedAt',
  'appliedAt',
  'pending',
];

function toRecord(item: Record<string, unknown>): BankReportRecord {
  const record: Record<string, unknown> = {};
  for (const field of RECORD_FIELDS) if (item[field] !== undefined) record[field] = item[field];
  return record as unknown as BankReportRecord;
}

export async function putReport(record: BankReportRecord): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: {
        ...reportKey(record.id),
        type: 'bankReport',
        GSI4PK: 'BANK_REPORTS',
        GSI4SK: `${record.createdAt}#${record.id}`,
        ...record,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

export async function findReport(id: string): Promise<BankReportRecord | undefined> {
  const result = await dynamo().send(
    new GetCommand({ TableName: table(), Key: reportKey(id), ConsistentRead: true }),
  );
  return result.Item ? toRecord(result.Item) : undefined;
}

export async function listReportRecords(page: {
  limit: number;
  cursor?: string | undefined;
}): Promise<Page<BankReportRecord>> {
  const result = await queryPage({
    index: 'GSI4',
    partition: { name: 'GSI4PK', value: 'BANK_REPORTS' },
    limit: page.limit,
    cursor: page.cursor,
    ascending: false,
  });
  return { items: result.items.map(toRecord), nextCursor: result.nextCursor };
}

/**
 * Sets fields of a report while it is in one of `from`; false when it is not (another run moved it).
 * `removePending` takes follow-ups off the pending list.
 */
export async function updateReport(
  id: string,
  update: {
    from: readonly BankReportStatus[];
    set?: Partial<BankReportRecord>;
    remove?: (keyof BankReportRecord)[];
    removePending?: string;
    /** Take the report for a run until `until`, unless another run holds it past `now`. */
    lease?: { until: number; now: number };
  },
): Promise<boolean> {
  const names: Record<string, string> = { '#status': 'status' };
  const values: Record<string, NativeAttributeValue> = {};
  const sets: string[] = [];
  Object.entries(update.set ?? {}).forEach(([field, value], index) => {
    names[`#s${index}`] = field;
    values[`:s${index}`] = value;
    sets.push(`#s${index} = :s${index}`);
  });
  const removes = (update.remove ?? []).map((field, index) => {
    names[`#r${index}`] = field;
    return `#r${index}`;
  });
  const conditions = [`#status IN (${update.from.map((_, i) => `:from${i}`).join(', ')})`];
  update.from.forEach((status, i) => {
    values[`:from${i}`] = status;
  });
  if (update.lease) {
    names['#lease'] = 'leaseUntil';
    values[':leaseUntil'] = update.lease.until;
    values[':leaseNow'] = update.lease.now;
    sets.push('#lease = :leaseUntil');
    conditions.push('(attribute_not_exists(#lease) OR #lease < :leaseNow)');
  }
  if (update.removePending !== undefined) {
    // The list is small (a few names): rewritten whole, conditioned on what was read.
    const current = await findReport(id);
    const pending = (current?.pending ?? []).filter((name) => name !== update.removePending);
    names['#pending'] = 'pending';
    values[':pending'] = pending;
    sets.push('#pending = :pending');
  }
  const expression = [
    sets.length > 0 ? `SET ${sets.join(', ')}` : '',
    removes.length > 0 ? `REMOVE ${removes.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: reportKey(id),
        UpdateExpression: expression,
        ConditionExpression: `attribute_exists(PK) AND ${conditions.join(' AND ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: Object.keys(values).length > 0 ? values : undefined,
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Records `reportId` as the first report of these bytes; answers the first report's id (maybe this one). */
export async function claimReportBytes(sha256: string, reportId: string): Promise<string> {
  const key = { PK: `BANKREPORT_SHA#${sha256}`, SK: 'SHA' };
  try {
    await dynamo().send(
      new PutCommand({
        TableName: table(),
        Item: { ...key, type: 'bankReportSha', reportId },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
    return reportId;
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
  const existing = await dynamo().send(
    new GetCommand({ TableName: table(), Key: key, ConsistentRead: true }),
  );
  return String(existing.Item?.reportId ?? reportId);
}

// ------------------------------------------------------------------ lines

export interface StoredLine {
  /** Position in the report (0-based): the line's key. */
  index: number;
  endToEndId: string;
  payoutId?: string;
  outcome: LineOutcome;
  reasonCode?: string;
  reason?: string;
  amount?: number;
  currency?: string;
  paymentReference?: string;
  returned?: boolean;
  reversal?: boolean;
  result: LineResult;
  detail?: string;
}

const LINE_FIELDS: readonly (keyof StoredLine)[] = [
  'endToEndId',
  'payoutId',
  'outcome',
  'reasonCode',
  'reason',
  'amount',
  'currency',
  'paymentReference',
  'returned',
  'reversal',
  'result',
  'detail',
];

function toLine(item: Record<string, unknown>): StoredLine {
  const line: Record<string, unknown> = { index: Number(item.index) };
  for (const field of LINE_FIELDS) if (item[field] !== undefined) line[field] = item[field];
  return line as unknown as StoredLine;
}

/** Lines a page item holds (the last page of a report fewer). */
export const LINES_PER_PAGE = 100;

/** Writes one page: `lines` are lines `page·LINES_PER_PAGE …` in file order. Idempotent. */
export async function putLinePage(
  reportId: string,
  page: number,
  lines: readonly StoredLine[],
): Promise<void> {
  for (let offset = 0; offset < lines.length; offset++) {
    if (lines[offset]?.index !== page * LINES_PER_PAGE + offset) {
      throw new Error(`Page ${page} of bank report ${reportId} lacks line ${page * LINES_PER_PAGE + offset}`);
    }
  }
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: {
        ...pageKey(reportId, page),
        type: 'bankReportLines',
        reportId,
        page,
        count: lines.length,
        lines: JSON.stringify(lines.map(({ index: _index, ...line }) => line)),
      },
    }),
  );
}

function pageLines(item: Record<string, unknown>): StoredLine[] {
  const page = Number(item.page);
  const parsed = JSON.parse(String(item.lines ?? '[]')) as Record<string, unknown>[];
  return parsed.map((line, offset) => toLine({ ...line, index: page * LINES_PER_PAGE + offset }));
}

/** The pages of a report from `firstPage` on, in file order, each with its lines. */
async function* linePages(
  reportId: string,
  options: { firstPage?: number; pages?: number } = {},
): AsyncGenerator<{ page: number; lines: StoredLine[] }> {
  let startKey: Record<string, NativeAttributeValue> | undefined;
  let read = 0;
  do {
    const result = await dynamo().send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'PK = :pk AND SK BETWEEN :first AND :last',
        ExpressionAttributeValues: {
          ':pk': `BANKREPORT#${reportId}`,
          ':first': pageKey(reportId, options.firstPage ?? 0).SK,
          ':last': `${PAGE_PREFIX}9999999`,
        },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
        ...(options.pages ? { Limit: options.pages - read } : {}),
      }),
    );
    for (const item of result.Items ?? []) {
      read += 1;
      yield { page: Number(item.page), lines: pageLines(item) };
    }
    startKey = options.pages && read >= options.pages ? undefined : result.LastEvaluatedKey;
  } while (startKey);
}

/** The pages already recorded for a report (a run that resumes skips their lines), with their lines' results. */
export async function recordedPages(reportId: string): Promise<Map<number, LineResult[]>> {
  const found = new Map<number, LineResult[]>();
  for await (const { page, lines } of linePages(reportId)) {
    found.set(
      page,
      lines.map((line) => line.result),
    );
  }
  return found;
}

/** Every recorded line that `keep` keeps, in file order (read a page at a time). */
export async function recordedLinesWhere(
  reportId: string,
  keep: (line: StoredLine) => boolean,
): Promise<StoredLine[]> {
  const kept: StoredLine[] = [];
  for await (const { lines } of linePages(reportId)) kept.push(...lines.filter(keep));
  return kept;
}

/**
 * A page of lines (in file order) after the cursor's line. The cursor is bound to the query as
 * `queryPage` binds its cursors; it names the last line returned, so pages of the API and page items
 * need not align.
 */
export async function listLineRecords(
  reportId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<StoredLine>> {
  const partition = `BANKREPORT#${reportId}`;
  const identity = { i: null, p: partition, s: LINE_PREFIX, f: null, a: true };
  let start = 0;
  if (page.cursor) {
    const key = decodeCursor(page.cursor, ['PK', 'SK'], identity);
    const match = /^LINE#(\d{7})$/.exec(key.SK ?? '');
    if (key.PK !== partition || !match) {
      throw new ValidationFailed('The cursor is invalid', {
        errors: [{ path: 'cursor', message: 'invalid cursor' }],
      });
    }
    start = Number(match[1]) + 1;
  }
  const items: StoredLine[] = [];
  // One line past the page tells whether another page exists.
  const firstPage = Math.floor(start / LINES_PER_PAGE);
  const pages = Math.floor((start + page.limit) / LINES_PER_PAGE) - firstPage + 1;
  for await (const stored of linePages(reportId, { firstPage, pages })) {
    for (const line of stored.lines) if (line.index >= start && items.length <= page.limit) items.push(line);
  }
  if (items.length <= page.limit) return { items, nextCursor: null };
  const returned = items.slice(0, page.limit);
  const last = returned[returned.length - 1] as StoredLine;
  return { items: returned, nextCursor: encodeCursor(lineKey(reportId, last.index), identity) };
}
