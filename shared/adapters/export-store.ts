/**
 * Exports in storage: the files in S3 (streamed up part by part, hashed on the way, downloaded through
 * presigned GETs) and the export records in the table, plus the batched reads an export needs (ready
 * payouts page by page, payouts and partners 100 keys per BatchGetItem) and the link from each payout
 * to the exports it was in.
 *
 * | item              | PK          | SK         | GSI4                    |
 * |-------------------|-------------|------------|-------------------------|
 * | export            | EXPORT#id   | EXPORT     | EXPORTS / createdAt#id  |
 * | its payout ids    | EXPORT#id   | PAYOUT_IDS |                         |
 *
 * The payout ids (up to 10,000, ~300 KB) live in an item of their own, so that listing exports reads
 * only the small records; getting one export reads both with one Query.
 */
import { createHash } from 'node:crypto';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type NativeAttributeValue,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ENV, requireEnv } from '../config/env.ts';
import type {
  Address,
  ExportFormat,
  PayoutEvent,
  PayoutMethod,
  PayoutStatus,
  SepaVersion,
} from '../domain/schemas.ts';
import { dynamo, s3 } from './clients.ts';
import { isConditionalCheckFailed, keys, type Page, queryPage, table } from './table.ts';

/** Every export object lives under this prefix (the only one the exports function may touch). */
export const EXPORT_PREFIX = 'exports/';
export const EXPORT_URL_EXPIRES_SECONDS = 15 * 60;

/** S3 multipart parts: at least 5 MiB (S3's minimum but for the last part); one in flight at a time. */
const PART_BYTES = 8 * 1024 * 1024;
const BATCH_GET_KEYS = 100;
const BATCH_GET_CONCURRENCY = 8;
const PAYOUT_IDS_SK = 'PAYOUT_IDS';

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
  const { client, sdk } = await s3();
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
        new sdk.CreateMultipartUploadCommand({ ...target, ContentType: contentType }),
      );
      if (!created.UploadId) throw new Error(`S3 gave no upload id for ${key}`);
      uploadId = created.UploadId;
    }
    const PartNumber = parts.length + 1;
    parts.push({ ETag: '', PartNumber });
    const sent = await client.send(
      new sdk.UploadPartCommand({ ...target, UploadId: uploadId, PartNumber, Body: body }),
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
      await client.send(new sdk.PutObjectCommand({ ...target, ContentType: contentType, Body: rest }));
    } else {
      await inFlight;
      if (rest.length > 0) await sendPart(rest);
      await client.send(
        new sdk.CompleteMultipartUploadCommand({
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
        .send(new sdk.AbortMultipartUploadCommand({ ...target, UploadId: uploadId }))
        .catch(() => undefined);
    }
    throw error;
  }
}

/** Deletes export objects (the files of an export that could not be completed). */
export async function deleteExportObjects(objectKeys: readonly string[]): Promise<void> {
  const { client, sdk } = await s3();
  for (const key of objectKeys) {
    await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket(), Key: key }));
  }
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
  const { client, sdk } = await s3();
  const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
  const url = await getSignedUrl(
    client,
    new sdk.GetObjectCommand({
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
  format: ExportFormat;
  sepaVersion?: SepaVersion;
  payoutCount: number;
  totals: { currency: string; amount: number }[];
  files: StoredExportFile[];
  /** The first file's name and checksum. */
  fileName: string;
  sha256: string;
  createdAt: string;
  createdBy: string;
}

const RECORD_FIELDS: readonly (keyof ExportRecord)[] = [
  'id',
  'format',
  'sepaVersion',
  'payoutCount',
  'totals',
  'files',
  'fileName',
  'sha256',
  'createdAt',
  'createdBy',
];

function toRecord(item: Record<string, unknown>): ExportRecord {
  const record: Record<string, unknown> = {};
  for (const field of RECORD_FIELDS) if (item[field] !== undefined) record[field] = item[field];
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

/**
 * Remembers on the payout that it was in an export: its `exportIds` and a history entry. Neither its
 * status nor its version changes, so an `If-Match` taken before the export still holds. False when
 * the payout no longer exists.
 */
export async function linkPayoutToExport(
  payoutId: string,
  exportId: string,
  event: PayoutEvent,
): Promise<boolean> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.payout(payoutId),
        UpdateExpression:
          'SET exportIds = list_append(if_not_exists(exportIds, :none), :exportIds), #events = list_append(if_not_exists(#events, :none), :events)',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeNames: { '#events': 'events' },
        ExpressionAttributeValues: { ':none': [], ':exportIds': [exportId], ':events': [event] },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

// ------------------------------------------------------------------ what an export reads

/** The fields of a payout an export needs. */
export interface PayoutSnapshot {
  id: string;
  partnerId: string;
  currency: string;
  amount: number;
  status: PayoutStatus;
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
  expression: '#id, #partnerId, #currency, #amount, #status',
  names: {
    '#id': 'id',
    '#partnerId': 'partnerId',
    '#currency': 'currency',
    '#amount': 'amount',
    '#status': 'status',
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
    amount: Number(item.amount),
    status: item.status as PayoutStatus,
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
 * Ready payouts, oldest first, read from the status index a page (up to 1 MB) at a time, optionally
 * of one currency. Reads at most `max` of them: the caller learns there are more than it can take
 * without reading them all.
 */
export async function readyPayouts(options: {
  currency?: string | undefined;
  max: number;
}): Promise<PayoutSnapshot[]> {
  const found: PayoutSnapshot[] = [];
  const values: Record<string, NativeAttributeValue> = { ':pk': 'PAYOUT_STATUS#ready' };
  if (options.currency !== undefined) values[':currency'] = options.currency;
  let startKey: Record<string, NativeAttributeValue> | undefined;
  do {
    const result = await dynamo().send(
      new QueryCommand({
        TableName: table(),
        IndexName: 'GSI2',
        KeyConditionExpression: 'GSI2PK = :pk',
        FilterExpression: options.currency === undefined ? undefined : '#currency = :currency',
        ProjectionExpression: PAYOUT_PROJECTION.expression,
        ExpressionAttributeNames: PAYOUT_PROJECTION.names,
        ExpressionAttributeValues: values,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of result.Items ?? []) {
      found.push(toPayoutSnapshot(item));
      if (found.length >= options.max) return found;
    }
    startKey = result.LastEvaluatedKey;
  } while (startKey);
  return found;
}

/** Consistent BatchGetItem of many keys: 100 per request, a few requests in flight, retries unprocessed keys. */
async function batchGet(
  itemKeys: readonly Record<string, string>[],
  projection: { expression: string; names: Record<string, string> },
): Promise<Record<string, unknown>[]> {
  const batches: Record<string, string>[][] = [];
  for (let start = 0; start < itemKeys.length; start += BATCH_GET_KEYS) {
    batches.push(itemKeys.slice(start, start + BATCH_GET_KEYS));
  }
  const found: Record<string, unknown>[] = [];
  const readBatch = async (batch: Record<string, string>[]) => {
    let pending: Record<string, NativeAttributeValue>[] = batch;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) {
        if (attempt > 10) throw new Error('BatchGetItem left keys unprocessed');
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 20 * 2 ** attempt)));
      }
      const result: BatchGetCommandOutput = await dynamo().send(
        new BatchGetCommand({
          RequestItems: {
            [table()]: {
              Keys: pending,
              ConsistentRead: true,
              ProjectionExpression: projection.expression,
              ExpressionAttributeNames: projection.names,
            },
          },
        }),
      );
      for (const item of result.Responses?.[table()] ?? []) found.push(item);
      pending = result.UnprocessedKeys?.[table()]?.Keys ?? [];
    }
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(BATCH_GET_CONCURRENCY, batches.length) }, async () => {
      for (let batch = batches[next++]; batch; batch = batches[next++]) await readBatch(batch);
    }),
  );
  return found;
}

/** The payouts of these ids, read consistently; unknown ids are absent from the map. */
export async function payoutSnapshots(ids: readonly string[]): Promise<Map<string, PayoutSnapshot>> {
  const items = await batchGet([...new Set(ids)].map(keys.payout), PAYOUT_PROJECTION);
  return new Map(items.map((item) => [String(item.id), toPayoutSnapshot(item)]));
}

/** The partners of these ids, read consistently; unknown ids are absent from the map. */
export async function partnerSnapshots(ids: readonly string[]): Promise<Map<string, PartnerSnapshot>> {
  const items = await batchGet([...new Set(ids)].map(keys.partner), PARTNER_PROJECTION);
  return new Map(items.map((item) => [String(item.id), toPartnerSnapshot(item)]));
}
