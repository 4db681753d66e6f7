/**
 * Exports in storage: the files in S3 (streamed up part by part, hashed on the way, downloaded through
 * presigned GETs) and the export records in the table, plus the batched reads an export needs (ready
 * payout ids page by page, payouts and partners 100 keys per BatchGetItem, a few in flight) and the
 * links from each payout to the exports it was in.
 *
 * | item              | PK          | SK          | GSI4                    |
 * |-------------------|-------------|-------------|-------------------------|
 * | export            | EXPORT#id   | EXPORT      | EXPORTS / createdAt#id  |
 * | its payout ids    | EXPORT#id   | PAYOUT_IDS  |                         |
 * | link of a payout  | PAYOUT#pid  | E2E#<endToEndId> |                    |
 *
 * The payout ids (up to 10,000, ~300 KB) live in an item of their own, so that listing exports reads
 * only the small records; getting one export reads both with one Query.
 *
 * A link (`type: 'payout_export'`) is a small item in the payout's own partition, next to the payout
 * item (SK `PAYOUT`), keyed by the EndToEndId the export wrote for the payout: it is both what
 * `exportsOfPayout` lists and the reference a bank report resolves an EndToEndId with (one item per
 * payout and export). It carries no index attribute, so writing one touches no index: 10,000 links
 * are 400 BatchWriteItem requests, where updating each payout item would rewrite its three index
 * entries. A link may outlive a failed export (see `createExport`): readers keep only links whose
 * export record exists. Older data has the link at `EXPORT#<exportId>` and a separate reference item
 * (`type: 'export_ref'`) at `E2E#<endToEndId>`; both are still read.
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  DeleteCommand,
  GetCommand,
  type NativeAttributeValue,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ENV, requireEnv } from '../config/env.ts';
import type {
  Actor,
  Address,
  ExportFormat,
  ExportStatus,
  PayoutEvent,
  PayoutMethod,
  PayoutStatus,
  SepaVersion,
} from '../domain/schemas.ts';
import { dynamo, s3 } from './clients.ts';
import { OUTBOX, type OutboxEntry } from './outbox.ts';
import { flushHistoryQuietly, type HistoryState } from './payout-history.ts';
import {
  BATCH_CONCURRENCY,
  batchGet as batchGetItems,
  batchWrite,
  isConditionalCheckFailed,
  keys,
  type Limiter,
  limiter,
  type Page,
  queryPage,
  table,
  VERSION_BUMP,
} from './table.ts';

/** Every export object lives under this prefix (the only one the exports function may touch). */
export const EXPORT_PREFIX = 'exports/';
export const EXPORT_URL_EXPIRES_SECONDS = 15 * 60;

/** S3 multipart parts: at least 5 MiB (S3's minimum but for the last part); one in flight at a time. */
const PART_BYTES = 8 * 1024 * 1024;
const PAYOUT_IDS_SK = 'PAYOUT_IDS';
/** Links written before they became the EndToEndId items (still read). */
const LEGACY_LINK_SK_PREFIX = 'EXPORT#';
const REF_SK_PREFIX = 'E2E#';
const LINK_TYPE = 'payout_export';

/**
 * The item of one EndToEndId a payout was exported under (`PAYOUT#pid` / `E2E#<id>`), in the payout's
 * partition: the export's link (`putExportLinks`), which a bank report reads, one small item per
 * export of the payout, so nothing grows on the payout item. An export whose take was not followed by
 * its links never became active (recovery rolls it back), so no file carrying that EndToEndId was
 * ever handed out.
 */
const refKey = (payoutId: string, endToEndId: string) => ({
  PK: keys.payout(payoutId).PK,
  SK: `${REF_SK_PREFIX}${endToEndId}`,
});

export function exportObjectKey(exportId: string, fileName: string): string {
  return `${EXPORT_PREFIX}${exportId}/${fileName}`;
}

let bucketName: string | undefined;
function bucket(): string {
  bucketName ??= requireEnv(ENV.exportBucket);
  return bucketName;
}

// ------------------------------------------------------------------ files in S3

export interface StoredObject {
  size: number;
  /** Hex SHA-256 of the bytes stored. */
  sha256: string;
}

/**
 * Streams text chunks into one S3 object: one PutObject when the whole file fits in a part, else a
 * multipart upload whose parts are sent while the next one is generated. Memory holds at most about
 * two parts, whatever the size of the file. A failure aborts the multipart upload: nothing is left.
 */
export async function uploadExportFile(
  key: string,
  contentType: string,
  chunks: AsyncIterable<string>,
): Promise<StoredObject> {
  const client = s3();
  const target = { Bucket: bucket(), Key: key };
  const hash = createHash('sha256');
  let size = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let uploadId: string | undefined;
  const parts: { ETag: string; PartNumber: number }[] = [];
  let inFlight: Promise<void> | undefined;

  const sendPart = async (body: Buffer): Promise<void> => {
    if (uploadId === undefined) {
      const created = await client.send(
        new CreateMultipartUploadCommand({ ...target, ContentType: contentType }),
      );
      if (!created.UploadId) throw new Error(`S3 gave no upload id for ${key}`);
      uploadId = created.UploadId;
    }
    const PartNumber = parts.length + 1;
    parts.push({ ETag: '', PartNumber });
    const sent = await client.send(
      new UploadPartCommand({ ...target, UploadId: uploadId, PartNumber, Body: body }),
    );
    if (!sent.ETag) throw new Error(`S3 gave no ETag for part ${PartNumber} of ${key}`);
    parts[PartNumber - 1] = { ETag: sent.ETag, PartNumber };
  };
  const takePending = (): Buffer => {
    const body = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return body;
  };

  try {
    for await (const chunk of chunks) {
      const bytes = Buffer.from(chunk, 'utf8');
      hash.update(bytes);
      size += bytes.length;
      pending.push(bytes);
      pendingBytes += bytes.length;
      if (pendingBytes >= PART_BYTES) {
        const body = takePending();
        await inFlight;
        inFlight = sendPart(body);
        // Handled when awaited; this only keeps a failure from counting as unhandled meanwhile.
        inFlight.catch(() => undefined);
      }
    }
    const rest = takePending();
    if (inFlight === undefined) {
      await client.send(new PutObjectCommand({ ...target, ContentType: contentType, Body: rest }));
    } else {
      await inFlight;
      if (rest.length > 0) await sendPart(rest);
      if (uploadId === undefined) throw new Error(`S3 gave no upload id for ${key}`);
      await client.send(
        new CompleteMultipartUploadCommand({
          ...target,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    }
    return { size, sha256: hash.digest('hex') };
  } catch (error) {
    await inFlight?.catch(() => undefined);
    if (uploadId !== undefined) {
      await client
        .send(new AbortMultipartUploadCommand({ ...target, UploadId: uploadId }))
        .catch(() => undefined);
    }
    throw error;
  }
}

/** Deletes export objects (the files of an export that could not be completed). */
export async function deleteExportObjects(objectKeys: readonly string[]): Promise<void> {
  for (const key of objectKeys) await s3().send(new DeleteObjectCommand({ Bucket: bucket(), Key: key }));
}

export interface Download {
  url: string;
  expiresAt: string;
}

/** A presigned GET that downloads the file under its name. */
export async function presignExportDownload(
  file: { key: string; fileName: string; contentType: string },
  now: number = Date.now(),
): Promise<Download> {
  const url = await getSignedUrl(
    s3(),
    new GetObjectCommand({
      Bucket: bucket(),
      Key: file.key,
      ResponseContentType: file.contentType,
      ResponseContentDisposition: `attachment; filename="${file.fileName.replace(/["\\]/g, '')}"`,
    }),
    { expiresIn: EXPORT_URL_EXPIRES_SECONDS },
  );
  return { url, expiresAt: new Date(now + EXPORT_URL_EXPIRES_SECONDS * 1000).toISOString() };
}

// ------------------------------------------------------------------ export records

export interface StoredExportFile {
  fileName: string;
  /** S3 key, under `exports/<exportId>/`. */
  key: string;
  contentType: string;
  size: number;
  sha256: string;
  payoutCount: number;
  totals: { currency: string; amount: number }[];
}

export interface ExportRecord {
  id: string;
  status: ExportStatus;
  /** The export's number (a table-wide counter), written into every EndToEndId of its file. */
  sequence: number;
  format: ExportFormat;
  /** The currency asked for (every ready payout of it), when the request named none. */
  currency?: string;
  sepaVersion?: SepaVersion;
  payoutCount: number;
  totals: { currency: string; amount: number }[];
  files: StoredExportFile[];
  /** The first file's name and checksum. */
  fileName: string;
  sha256: string;
  createdAt: string;
  createdBy: string;
  voidedAt?: string;
  voidReason?: string;
  /** The Idempotency-Key of the request that created it (scoped to its caller). */
  requestKey?: string;
  /** Goes up by one with every change (building 1, active 2, voided 3). */
  version?: number;
}

const RECORD_FIELDS: readonly (keyof ExportRecord)[] = [
  'id',
  'status',
  'sequence',
  'currency',
  'voidedAt',
  'voidReason',
  'requestKey',
  'format',
  'sepaVersion',
  'payoutCount',
  'totals',
  'files',
  'fileName',
  'sha256',
  'createdAt',
  'createdBy',
  'version',
];

function toRecord(item: Record<string, unknown>): ExportRecord {
  const record: Record<string, unknown> = {};
  for (const field of RECORD_FIELDS) if (item[field] !== undefined) record[field] = item[field];
  // Exports written before statuses existed were complete when written.
  record.status ??= 'active';
  record.sequence ??= 0;
  record.version ??= 1;
  return record as unknown as ExportRecord;
}

/** Stores an export: its payout ids first, then the record that makes it visible. */
export async function putExport(record: ExportRecord, payoutIds: readonly string[]): Promise<void> {
  const key = keys.export(record.id);
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: { PK: key.PK, SK: PAYOUT_IDS_SK, type: 'exportPayouts', id: record.id, payoutIds },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: {
        ...key,
        type: 'export',
        GSI4PK: 'EXPORTS',
        GSI4SK: `${record.createdAt}#${record.id}`,
        ...record,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

/** An export and its payout ids (one consistent Query), or undefined. */
export async function findExport(
  id: string,
): Promise<{ record: ExportRecord; payoutIds: string[] } | undefined> {
  const result = await dynamo().send(
    new QueryCommand({
      TableName: table(),
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': keys.export(id).PK },
      ConsistentRead: true,
    }),
  );
  const items = result.Items ?? [];
  const record = items.find((item) => item.SK === keys.export(id).SK);
  if (!record) return undefined;
  const ids = items.find((item) => item.SK === PAYOUT_IDS_SK)?.payoutIds;
  return { record: toRecord(record), payoutIds: Array.isArray(ids) ? ids.map(String) : [] };
}

/** Export records, newest first. */
export async function listExportRecords(page: {
  limit: number;
  cursor?: string | undefined;
}): Promise<Page<ExportRecord>> {
  const result = await queryPage({
    index: 'GSI4',
    partition: { name: 'GSI4PK', value: 'EXPORTS' },
    limit: page.limit,
    cursor: page.cursor,
    ascending: false,
  });
  return { items: result.items.map(toRecord), nextCursor: result.nextCursor };
}

// ------------------------------------------------------------------ links from payouts to exports

/** What a payout remembers of an export it was in. */
export interface ExportLink {
  exportId: string;
  format: ExportFormat;
  /** The export's first file. */
  fileName: string;
  createdAt: string;
}

/**
 * Writes one link item per payout (BatchWriteItem, 25 items a request, a few requests in flight,
 * unprocessed items retried with backoff), at the EndToEndId the export wrote for it: the reference a
 * bank report resolves (see `resolveExportRef`). Written after the payouts are taken and before the
 * export becomes active, so an active export's every EndToEndId resolves. Idempotent: writing the same
 * links again changes nothing. Throws when a batch cannot be written; the links already written stay
 * (readers ignore them while their export record does not exist).
 */
export async function putExportLinks(
  links: readonly { payoutId: string; endToEndId: string }[],
  link: ExportLink,
): Promise<void> {
  const items = links.map(({ payoutId, endToEndId }) => ({
    PutRequest: {
      Item: {
        ...refKey(payoutId, endToEndId),
        type: LINK_TYPE,
        exportId: link.exportId,
        endToEndId,
        format: link.format,
        fileName: link.fileName,
        createdAt: link.createdAt,
      },
    },
  }));
  await batchWrite(items);
}

/** The items of a payout's partition under one sort-key prefix (consistent Query, every page). */
async function partitionItems(
  payoutId: string,
  prefix: string,
): Promise<Record<string, NativeAttributeValue>[]> {
  const items: Record<string, NativeAttributeValue>[] = [];
  let startKey: Record<string, NativeAttributeValue> | undefined;
  do {
    const result = await dynamo().send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ProjectionExpression: '#type, exportId, #format, fileName, createdAt',
        ExpressionAttributeNames: { '#type': 'type', '#format': 'format' },
        ExpressionAttributeValues: { ':pk': keys.payout(payoutId).PK, ':prefix': prefix },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...(result.Items ?? []));
    startKey = result.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/**
 * The links of a payout, one per export (two consistent Queries of its partition: the `E2E#` links and
 * the older `EXPORT#` ones), whether or not their exports exist: see `existingExportIds`.
 */
export async function payoutExportLinks(payoutId: string): Promise<ExportLink[]> {
  const [current, legacy] = await Promise.all([
    partitionItems(payoutId, REF_SK_PREFIX),
    partitionItems(payoutId, LEGACY_LINK_SK_PREFIX),
  ]);
  const links = new Map<string, ExportLink>();
  for (const item of [...legacy, ...current]) {
    // Older reference items (`export_ref`) name an export whose link is at `EXPORT#`.
    if (item.type !== LINK_TYPE) continue;
    links.set(String(item.exportId), {
      exportId: String(item.exportId),
      format: item.format as ExportFormat,
      fileName: String(item.fileName),
      createdAt: String(item.createdAt),
    });
  }
  return [...links.values()];
}

/** Which of these exports have a record (read consistently). */
export async function existingExportIds(ids: readonly string[]): Promise<Set<string>> {
  const items = await batchGet([...new Set(ids)].map(keys.export), {
    expression: '#id',
    names: { '#id': 'id' },
  });
  return new Set(items.map((item) => String(item.id)));
}

/** Whether the payout exists (one consistent GetItem of its key only). */
export async function payoutExists(payoutId: string): Promise<boolean> {
  const result = await dynamo().send(
    new GetCommand({
      TableName: table(),
      Key: keys.payout(payoutId),
      ProjectionExpression: '#id',
      ExpressionAttributeNames: { '#id': 'id' },
      ConsistentRead: true,
    }),
  );
  return result.Item !== undefined;
}

// ------------------------------------------------------------------ what an export reads

/** The fields of a payout an export needs. */
export interface PayoutSnapshot {
  id: string;
  partnerId: string;
  currency: string;
  amount: number;
  status: PayoutStatus;
  /** The workflow's parked task, answered once the payout is in an active export. */
  task?: { token: string; stage: PayoutStatus };
  /** The export that holds it, while processing. */
  exportId?: string;
  /** The payout method validated with it (exports pay this, not the partner's current one). */
  payoutMethod?: PayoutMethod;
  /** Four-eyes approval and its binding; who released a payout-method-change hold over it. */
  approval?: { by: string };
  approvalHash?: string;
  methodReleasedBy?: string;
}

/** The fields of a partner an export needs. */
export interface PartnerSnapshot {
  id: string;
  name: string;
  email: string;
  payoutMethod: PayoutMethod | null;
  address?: Address;
}

const PAYOUT_PROJECTION = {
  expression:
    '#id, #partnerId, #currency, #amount, #amountToPay, #status, #task, #exportId, #payoutMethod, #approval, #approvalHash, #methodReleasedBy',
  names: {
    '#payoutMethod': 'payoutMethod',
    '#approval': 'approval',
    '#approvalHash': 'approvalHash',
    '#methodReleasedBy': 'methodReleasedBy',
    '#id': 'id',
    '#partnerId': 'partnerId',
    '#currency': 'currency',
    '#amount': 'amount',
    '#amountToPay': 'amountToPay',
    '#status': 'status',
    '#task': 'task',
    '#exportId': 'exportId',
  },
};
const PARTNER_PROJECTION = {
  expression: '#id, #name, #email, #payoutMethod, #address',
  names: {
    '#id': 'id',
    '#name': 'name',
    '#email': 'email',
    '#payoutMethod': 'payoutMethod',
    '#address': 'address',
  },
};

function toPayoutSnapshot(item: Record<string, unknown>): PayoutSnapshot {
  return {
    id: String(item.id),
    partnerId: String(item.partnerId),
    currency: String(item.currency),
    // What the bank pays: the amount plus the VAT of a self-billed invoice under the vat regime.
    amount: Number(item.amountToPay ?? item.amount),
    status: item.status as PayoutStatus,
    ...(item.task ? { task: item.task as PayoutSnapshot['task'] & object } : {}),
    ...(typeof item.exportId === 'string' ? { exportId: item.exportId } : {}),
    ...(item.payoutMethod ? { payoutMethod: item.payoutMethod as PayoutMethod } : {}),
    ...(item.approval ? { approval: item.approval as { by: string } } : {}),
    ...(typeof item.approvalHash === 'string' ? { approvalHash: item.approvalHash } : {}),
    ...(typeof item.methodReleasedBy === 'string' ? { methodReleasedBy: item.methodReleasedBy } : {}),
  };
}

function toPartnerSnapshot(item: Record<string, unknown>): PartnerSnapshot {
  const snapshot: PartnerSnapshot = {
    id: String(item.id),
    name: typeof item.name === 'string' ? item.name : '',
    email: typeof item.email === 'string' ? item.email : '',
    payoutMethod: (item.payoutMethod as PayoutMethod | undefined) ?? null,
  };
  if (item.address) snapshot.address = item.address as Address;
  return snapshot;
}

/**
 * The ids of ready payouts, oldest first, optionally of one currency, a page of the status index (up
 * to 1 MB read) at a time, so that the caller can read the payouts of one page while the next is
 * read. The index is eventually consistent: a payout it lists may no longer be ready. Stops after
 * `max` ids: the caller learns there are more than it can take without reading them all.
 */
export async function* readyPayoutIds(options: {
  currency?: string | undefined;
  max: number;
}): AsyncGenerator<string[]> {
  const values: Record<string, NativeAttributeValue> = { ':pk': 'PAYOUT_STATUS#ready' };
  const names: Record<string, string> = { '#id': 'id' };
  if (options.currency !== undefined) {
    values[':currency'] = options.currency;
    names['#currency'] = 'currency';
  }
  let count = 0;
  let startKey: Record<string, NativeAttributeValue> | undefined;
  do {
    const result = await dynamo().send(
      new QueryCommand({
        TableName: table(),
        IndexName: 'GSI2',
        KeyConditionExpression: 'GSI2PK = :pk',
        FilterExpression: options.currency === undefined ? undefined : '#currency = :currency',
        ProjectionExpression: '#id',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ExclusiveStartKey: startKey,
      }),
    );
    const ids = (result.Items ?? []).slice(0, options.max - count).map((item) => String(item.id));
    count += ids.length;
    if (ids.length > 0) yield ids;
    startKey = result.LastEvaluatedKey;
  } while (startKey && count < options.max);
}

/** Consistent BatchGetItem (./table.ts) of many keys, projected; items come back in no given order. */
function batchGet(
  itemKeys: readonly Record<string, string>[],
  projection: { expression: string; names: Record<string, string> },
  run?: Limiter,
): Promise<Record<string, unknown>[]> {
  return batchGetItems(itemKeys, { projection: Object.values(projection.names), ...(run ? { run } : {}) });
}

/** Reads payouts and partners for an export, every request through one limiter (a few in flight). */
export interface SnapshotReader {
  /** The payouts of these ids, read consistently; unknown ids are absent. */
  payouts(ids: readonly string[]): Promise<PayoutSnapshot[]>;
  /** The partners of these ids, read consistently; unknown ids are absent. */
  partners(ids: readonly string[]): Promise<PartnerSnapshot[]>;
}

export function snapshotReader(concurrency: number = BATCH_CONCURRENCY): SnapshotReader {
  const run = limiter(concurrency);
  return {
    payouts: async (ids) =>
      (await batchGet([...new Set(ids)].map(keys.payout), PAYOUT_PROJECTION, run)).map(toPayoutSnapshot),
    partners: async (ids) =>
      (await batchGet([...new Set(ids)].map(keys.partner), PARTNER_PROJECTION, run)).map(toPartnerSnapshot),
  };
}

// ------------------------------------------------------------------ export lifecycle (building → active | voided)

const COUNTER_KEY = { PK: 'COUNTER#EXPORT', SK: 'COUNTER' };
const BUILDING_INDEX = 'EXPORT_STATUS#building';
const REQUEST_KEY_PREFIX = 'EXPORT_REQUEST#';

/** The next export sequence number (one atomic counter; one write per export). */
export async function nextExportSequence(): Promise<number> {
  const result = await dynamo().send(
    new UpdateCommand({
      TableName: table(),
      Key: COUNTER_KEY,
      UpdateExpression: 'ADD #seq :one',
      ExpressionAttributeNames: { '#seq': 'sequence' },
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Number(result.Attributes?.sequence);
}

/**
 * Claims a request key for an export id: the first request with the key names the export; a retry
 * (after a crash) gets the id the first one chose. Returns the export id that holds the key.
 */
export async function claimExportRequestKey(requestKey: string, exportId: string): Promise<string> {
  const key = { PK: `${REQUEST_KEY_PREFIX}${requestKey}`, SK: 'EXPORT_REQUEST' };
  try {
    await dynamo().send(
      new PutCommand({
        TableName: table(),
        Item: { ...key, type: 'exportRequest', exportId },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
    return exportId;
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
  const found = await dynamo().send(new GetCommand({ TableName: table(), Key: key, ConsistentRead: true }));
  return String(found.Item?.exportId);
}

/**
 * Writes an export in `building`: first the payout ids it may take (so that recovery knows every
 * payout it may have moved), then the record, in the sparse `EXPORT_STATUS#building` index partition.
 */
export async function putBuildingExport(
  record: ExportRecord,
  candidateIds: readonly string[],
): Promise<void> {
  const key = keys.export(record.id);
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: {
        PK: key.PK,
        SK: PAYOUT_IDS_SK,
        type: 'exportPayouts',
        id: record.id,
        payoutIds: candidateIds,
        candidates: true,
      },
    }),
  );
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: {
        ...key,
        type: 'export',
        GSI4PK: 'EXPORTS',
        GSI4SK: `${record.createdAt}#${record.id}`,
        GSI2PK: BUILDING_INDEX,
        GSI2SK: `${record.createdAt}#${record.id}`,
        ...record,
        status: 'building',
        version: 1,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

/**
 * The export's final payout ids (those it won, in file order), replacing the candidates. When it won
 * every candidate (`candidates`, the list `putBuildingExport` wrote, in the same order), the list
 * stored is already that one: only its `candidates` mark goes (no second copy of up to 10,000 ids).
 */
export async function putExportPayoutIds(
  exportId: string,
  payoutIds: readonly string[],
  candidates?: readonly string[],
): Promise<void> {
  if (
    candidates !== undefined &&
    candidates.length === payoutIds.length &&
    candidates.every((id, index) => payoutIds[index] === id)
  ) {
    await dynamo()
      .send(
        new UpdateCommand({
          TableName: table(),
          Key: { PK: keys.export(exportId).PK, SK: PAYOUT_IDS_SK },
          UpdateExpression: 'REMOVE candidates',
          // The candidates of this export as written (a resumed export could meet another list).
          ConditionExpression: 'candidates = :yes AND size(payoutIds) = :count',
          ExpressionAttributeValues: { ':yes': true, ':count': payoutIds.length },
        }),
      )
      .catch(async (error: unknown) => {
        if (!isConditionalCheckFailed(error)) throw error;
        await putExportPayoutIds(exportId, payoutIds);
      });
    return;
  }
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: {
        PK: keys.export(exportId).PK,
        SK: PAYOUT_IDS_SK,
        type: 'exportPayouts',
        id: exportId,
        payoutIds,
      },
    }),
  );
}

/** building → active, with its files and totals; false when it is no longer building. */
export async function activateExport(
  record: Pick<ExportRecord, 'id' | 'payoutCount' | 'totals' | 'files' | 'fileName' | 'sha256'>,
  /** Events recorded with the activation (../adapters/outbox.ts). */
  outbox: readonly OutboxEntry[] = [],
): Promise<boolean> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.export(record.id),
        UpdateExpression: `SET #status = :active, payoutCount = :count, totals = :totals, files = :files, fileName = :fileName, sha256 = :sha, ${VERSION_BUMP.set}${outbox.length > 0 ? ', #outbox = :outbox' : ''} REMOVE GSI2PK, GSI2SK`,
        ConditionExpression: '#status = :building',
        ExpressionAttributeNames: {
          '#status': 'status',
          ...VERSION_BUMP.names,
          ...(outbox.length > 0 ? { '#outbox': OUTBOX } : {}),
        },
        ExpressionAttributeValues: {
          ...(outbox.length > 0 ? { ':outbox': outbox } : {}),
          ':active': 'active',
          ':building': 'building',
          ':count': record.payoutCount,
          ':totals': record.totals,
          ':files': record.files,
          ':fileName': record.fileName,
          ':sha': record.sha256,
          ...VERSION_BUMP.values,
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** `from` → voided, with the reason; false when the export is not in one of `from`, else its new version. */
export async function markExportVoided(
  exportId: string,
  from: readonly ExportStatus[],
  reason: string,
  at: string,
): Promise<false | { version: number }> {
  const values: Record<string, NativeAttributeValue> = { ':voided': 'voided', ':at': at, ':reason': reason };
  const names = from.map((status, index) => {
    values[`:from${index}`] = status;
    return `:from${index}`;
  });
  try {
    const result = await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.export(exportId),
        UpdateExpression: `SET #status = :voided, voidedAt = :at, voidReason = :reason, ${VERSION_BUMP.set} REMOVE GSI2PK, GSI2SK`,
        ConditionExpression: `#status IN (${names.join(', ')})`,
        ExpressionAttributeNames: { '#status': 'status', ...VERSION_BUMP.names },
        ExpressionAttributeValues: { ...values, ...VERSION_BUMP.values },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return { version: Number(result.Attributes?.version ?? 1) };
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/**
 * Undoes `markExportVoided` of `at` (voided → active), for a void that found, after marking the
 * export, that a payout of it had meanwhile been settled (see ../usecases/export-void.ts). False when
 * the export is no longer voided by that void.
 */
export async function unmarkExportVoided(exportId: string, at: string): Promise<boolean> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.export(exportId),
        UpdateExpression: `SET #status = :active, ${VERSION_BUMP.set} REMOVE voidedAt, voidReason`,
        ConditionExpression: '#status = :voided AND voidedAt = :at',
        ExpressionAttributeNames: { '#status': 'status', ...VERSION_BUMP.names },
        ExpressionAttributeValues: {
          ':active': 'active',
          ':voided': 'voided',
          ':at': at,
          ...VERSION_BUMP.values,
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Exports still `building` that were created before `before` (ISO), oldest first, at most `limit`. */
export async function buildingExportsBefore(before: string, limit: number): Promise<string[]> {
  const result = await dynamo().send(
    new QueryCommand({
      TableName: table(),
      IndexName: 'GSI2',
      KeyConditionExpression: 'GSI2PK = :pk AND GSI2SK < :before',
      ExpressionAttributeValues: { ':pk': BUILDING_INDEX, ':before': before },
      ProjectionExpression: 'id',
      Limit: limit,
    }),
  );
  return (result.Items ?? []).map((item) => String(item.id));
}

/** Deletes an export record and its payout ids (an export that took nothing and wrote nothing). */
export async function deleteExportRecord(exportId: string): Promise<void> {
  const key = keys.export(exportId);
  await dynamo().send(new DeleteCommand({ TableName: table(), Key: { PK: key.PK, SK: PAYOUT_IDS_SK } }));
  await dynamo().send(new DeleteCommand({ TableName: table(), Key: key }));
}

/** The reference a payout keeps of each export it was taken into. */
export interface ExportRef {
  endToEndId: string;
  exportId: string;
}

/**
 * The export an EndToEndId of this payout was written by: the payout's current export when it names
 * that EndToEndId (no read), a reference kept on older payout items (`exportRefs`, before the
 * reference items), else the reference item (one GetItem).
 */
export async function resolveExportRef(
  payout: { id: string; exportId?: unknown; endToEndId?: unknown; exportRefs?: unknown },
  endToEndId: string,
): Promise<ExportRef | undefined> {
  const wanted = endToEndId.trim();
  if (payout.endToEndId === wanted && typeof payout.exportId === 'string') {
    return { endToEndId: wanted, exportId: payout.exportId };
  }
  const legacy = Array.isArray(payout.exportRefs) ? (payout.exportRefs as ExportRef[]) : [];
  const kept = legacy.find((candidate) => candidate.endToEndId === wanted);
  if (kept) return kept;
  const result = await dynamo().send(
    new GetCommand({ TableName: table(), Key: refKey(payout.id, wanted), ConsistentRead: true }),
  );
  return typeof result.Item?.exportId === 'string'
    ? { endToEndId: wanted, exportId: result.Item.exportId }
    : undefined;
}

/**
 * ready → processing for one export: one conditional UpdateItem that records the export, the
 * EndToEndId and the history entry (left in the outbox). The EndToEndId's item is the export's link,
 * written in batches once the payouts are taken (`putExportLinks`). False when the payout is not ready
 * (another export, or a transition, won).
 */
export async function takePayout(
  payoutId: string,
  take: { exportId: string; endToEndId: string; at: string; event: PayoutEvent },
): Promise<boolean> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.payout(payoutId),
        // Short placeholders: a request's expressions are parsed on every call (by DynamoDB, and by
        // the local emulator at a cost that grows with their length); this one runs once per payout.
        // #s status, #v version, #q seq (history entries), #o outbox, :p processing, :r ready.
        UpdateExpression:
          'SET #s = :p, GSI2PK = :g, #v = #v + :n, #q = #q + :n, #o = list_append(#o, :e), reminders = :z, updatedAt = :t, processingAt = :t, exportId = :x, endToEndId = :i',
        ConditionExpression: '#s = :r',
        // The history entry goes to the payout's outbox (see ./payout-history.ts).
        ExpressionAttributeNames: { '#s': 'status', '#v': 'version', '#q': 'seq', '#o': 'outbox' },
        ExpressionAttributeValues: {
          ':p': 'processing',
          ':r': 'ready',
          ':g': 'PAYOUT_STATUS#processing',
          ':n': 1,
          ':z': 0,
          ':e': [take.event],
          ':t': take.at,
          ':x': take.exportId,
          ':i': take.endToEndId,
        },
      }),
    );
    // The entry stays in the outbox (readers show it from there), as a settling bank-report line
    // leaves its own: the payout's workflow, signalled once the export is active, materializes it
    // in its sync, or the payout's next change does (see ./payout-history.ts).
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/**
 * processing → ready for a payout held by `exportId` (void, rollback): the export and EndToEndId are
 * removed (its reference item stays). Returns the payout as written, or undefined when it
 * was not processing in that export (already released, or settled).
 */
export async function releasePayoutFromExport(
  payoutId: string,
  exportId: string,
  at: string,
  event: PayoutEvent,
): Promise<Record<string, unknown> | undefined> {
  try {
    const result = await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.payout(payoutId),
        UpdateExpression:
          'SET #status = :ready, GSI2PK = :gsi, #version = #version + :one, #seq = #seq + :one, #outbox = list_append(#outbox, :events), updatedAt = :at REMOVE exportId, endToEndId, processingAt',
        ConditionExpression: '#status = :processing AND exportId = :x',
        ExpressionAttributeNames: {
          '#status': 'status',
          '#version': 'version',
          '#seq': 'seq',
          '#outbox': 'outbox',
        },
        ExpressionAttributeValues: {
          ':processing': 'processing',
          ':ready': 'ready',
          ':gsi': 'PAYOUT_STATUS#ready',
          ':one': 1,
          ':events': [event],
          ':at': at,
          ':x': exportId,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    if (result.Attributes) await flushHistoryQuietly(result.Attributes as HistoryState, 1);
    return result.Attributes;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return undefined;
    throw error;
  }
}

/** What settlement reads of a payout: status, amount, its export and every EndToEndId it had. */
export interface PayoutSettlementView {
  id: string;
  partnerId: string;
  status: PayoutStatus;
  amount: number;
  /** `amount` plus VAT where self-billing puts VAT on top: what an export paid. */
  amountToPay?: number;
  currency: string;
  exportId?: string;
  endToEndId?: string;
  /** Kept on payout items written before the reference items (see `resolveExportRef`). */
  exportRefs?: ExportRef[];
  reissuedAs?: string;
  paidAt?: string;
}

export async function payoutSettlementView(payoutId: string): Promise<PayoutSettlementView | undefined> {
  const result = await dynamo().send(
    new GetCommand({
      TableName: table(),
      Key: keys.payout(payoutId),
      ConsistentRead: true,
      ProjectionExpression:
        '#id, partnerId, #status, amount, amountToPay, currency, exportId, endToEndId, exportRefs, reissuedAs, paidAt',
      ExpressionAttributeNames: { '#id': 'id', '#status': 'status' },
    }),
  );
  const item = result.Item;
  if (!item) return undefined;
  return {
    id: String(item.id),
    partnerId: String(item.partnerId),
    status: item.status as PayoutStatus,
    amount: Number(item.amount),
    ...(typeof item.amountToPay === 'number' ? { amountToPay: item.amountToPay } : {}),
    currency: String(item.currency),
    ...(typeof item.exportId === 'string' ? { exportId: item.exportId } : {}),
    ...(typeof item.endToEndId === 'string' ? { endToEndId: item.endToEndId } : {}),
    ...(Array.isArray(item.exportRefs) ? { exportRefs: item.exportRefs as ExportRef[] } : {}),
    ...(typeof item.reissuedAs === 'string' ? { reissuedAs: item.reissuedAs } : {}),
    ...(typeof item.paidAt === 'string' ? { paidAt: item.paidAt } : {}),
  };
}

/** The status of an export (consistent read), or undefined. */
export async function exportStatusOf(exportId: string): Promise<ExportStatus | undefined> {
  const result = await dynamo().send(
    new GetCommand({
      TableName: table(),
      Key: keys.export(exportId),
      ConsistentRead: true,
      ProjectionExpression: '#status',
      ExpressionAttributeNames: { '#status': 'status' },
    }),
  );
  if (!result.Item) return undefined;
  return (result.Item.status as ExportStatus | undefined) ?? 'active';
}

export type { Actor };
