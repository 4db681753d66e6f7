/**
 * What each function may do on the payouts table: exactly the DynamoDB actions its code calls, by
 * function (entry folder under functions/). `HouseFunction.bindTable` grants these and nothing else
 * (no `dynamodb:*`, no Scan, no DescribeTable, no streams); `Query` also on the table's indexes.
 *
 * How it stays true (test/infra/least-privilege.test.ts and test/support/access.ts):
 * - no function is granted an action that no source file in its bundle can call (the DocumentClient
 *   commands its bundled files import), and every function has an entry;
 * - every integration test records each DynamoDB request an API handler makes (through `call`) and
 *   fails on one its function is not granted here, so a new call without its grant fails the suite.
 * The API functions are keyed by their route group (../shared/http/route-spec.ts `FUNCTION_GROUPS`):
 * a new group does not type-check until its access is declared.
 */
import type { FunctionGroup } from '#shared/http/route-spec.ts';

export const TABLE_ACTIONS = [
  'GetItem',
  'BatchGetItem',
  'Query',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
] as const;
export type TableAction = (typeof TABLE_ACTIONS)[number];

const READ: readonly TableAction[] = ['GetItem', 'BatchGetItem', 'Query'];
const WRITE: readonly TableAction[] = [...READ, 'PutItem', 'UpdateItem'];

/** The API functions (one per route group). */
export const API_TABLE_ACCESS: Record<FunctionGroup, readonly TableAction[]> = {
  health: [],
  partners: WRITE,
  rewards: WRITE,
  // A manual draft that claimed nothing deletes its payout item again.
  payouts: [...WRITE, 'DeleteItem'],
  // Partner-facing: reads its payouts, writes reviews, validations and their history; never deletes.
  'partner-payouts': WRITE,
  // Runs drafting in-process within its budget (batched payout writes).
  'payout-runs': [...WRITE, 'BatchWriteItem'],
  // Links a payout to each export in batches; deletes the record of an export that took nothing.
  exports: [...WRITE, 'DeleteItem', 'BatchWriteItem'],
  holds: WRITE,
  'bank-reports': WRITE,
  // Deletes an endpoint.
  webhooks: [...WRITE, 'DeleteItem', 'BatchWriteItem'],
};

/** Every function that reads or writes the payouts table, by entry folder. */
export const TABLE_ACCESS: Record<string, readonly TableAction[]> = {
  ...API_TABLE_ACCESS,
  // Stores a report's lines in batches.
  'bank-report-uploaded': [...WRITE, 'BatchWriteItem'],
  'controls-digest': READ,
  drafting: [...WRITE, 'BatchWriteItem'],
  'invoice-uploaded': WRITE,
  notifier: ['GetItem', 'Query'],
  // Payout workflows (status index, payout item) and exports left building (rolled back).
  reconciler: WRITE,
  'self-billing': WRITE,
  // Appends delivery log entries in batches.
  'webhook-delivery': [...WRITE, 'BatchWriteItem'],
  workflow: WRITE,
};

/** Powertools idempotency records (its persistence layer's calls). */
export const IDEMPOTENCY_ACTIONS: readonly string[] = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'];
