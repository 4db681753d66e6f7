/**
 * Least privilege, checked at run time: every DynamoDB request an API handler makes while a test
 * calls it (through ./http.ts `call`) is recorded with the handler's route group, and one its
 * function is not granted in infra/access.ts fails the test (test/support/env.ts), as AWS would
 * refuse it with AccessDenied. Requests a test makes itself (no group) are not checked.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { TABLE_ACCESS } from '../../infra/access.ts';
import { dynamo } from '../../shared/adapters/clients.ts';

/** The route group whose handler is running. */
export const callingGroup = new AsyncLocalStorage<string>();
export const accessViolations: string[] = [];
/** Every (group, action) seen, for the least-privilege test's own check. */
export const accessSeen = new Set<string>();

/** The DocumentClient's and the low-level client's command names → the IAM action. */
const ACTIONS: Record<string, string> = {
  GetCommand: 'GetItem',
  PutCommand: 'PutItem',
  UpdateCommand: 'UpdateItem',
  DeleteCommand: 'DeleteItem',
  QueryCommand: 'Query',
  ScanCommand: 'Scan',
  BatchGetCommand: 'BatchGetItem',
  BatchWriteCommand: 'BatchWriteItem',
  TransactWriteCommand: 'TransactWriteItems',
  TransactGetCommand: 'TransactGetItems',
};
const actionOf = (commandName: string) => ACTIONS[commandName] ?? commandName.replace(/Command$/, '');

let installed: unknown;

/** Installs the recorder on the shared DynamoDB client (once per client). */
export function recordTableAccess(): void {
  const client = dynamo();
  if (installed === client) return;
  installed = client;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const group = callingGroup.getStore();
      if (group !== undefined) {
        const action = actionOf(String(context.commandName ?? ''));
        accessSeen.add(`${group} ${action}`);
        if (!(TABLE_ACCESS[group] ?? []).includes(action as never)) {
          accessViolations.push(
            `${group} called dynamodb:${action}, which infra/access.ts does not grant it`,
          );
        }
      }
      return next(args);
    },
    { step: 'initialize', name: 'leastPrivilegeRecorder', override: true },
  );
}
