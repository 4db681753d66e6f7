/**
 * The run-time half of least privilege (test/support/access.ts): a partner route's DynamoDB requests
 * are recorded under its function and checked against infra/access.ts, and a request beyond the
 * grants is caught (as AWS would answer AccessDenied).
 */
import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { API_TABLE_ACCESS } from '../../infra/access.ts';
import { dynamo } from '../../shared/adapters/clients.ts';
import { table } from '../../shared/adapters/table.ts';
import { newId } from '../../shared/domain/ids.ts';
import { accessSeen, accessViolations, callingGroup, recordTableAccess } from '../support/access.ts';
import { expectOk } from '../support/expect.ts';
import { call, manager, partner } from '../support/http.ts';

afterEach(() => {
  accessViolations.splice(0);
});

describe('least privilege at run time', () => {
  it('records the actions each API function calls, within its grants', async () => {
    const partnerId = expectOk(
      await call(manager, 'POST', '/partners', {
        body: { name: 'Least Privilege', email: `lp+${newId('reward')}@example.com` },
      }),
      201,
    ).id as string;
    expectOk(await call(partner(partnerId), 'GET', '/partner/payouts'));
    expect(accessSeen.has('partners PutItem') || accessSeen.has('partners UpdateItem')).toBe(true);
    expect(accessSeen.has('partner-payouts Query')).toBe(true);
    expect(accessViolations).toEqual([]);
    for (const seen of accessSeen) {
      const [group, action] = seen.split(' ') as [keyof typeof API_TABLE_ACCESS, string];
      expect(API_TABLE_ACCESS[group]).toContain(action);
    }
  });

  it('catches a call the function is not granted (a partner function deleting or scanning)', async () => {
    recordTableAccess();
    await callingGroup.run('partner-payouts', async () => {
      await dynamo().send(
        new DeleteCommand({ TableName: table(), Key: { PK: `LP#${newId('reward')}`, SK: 'X' } }),
      );
      await dynamo().send(new ScanCommand({ TableName: table(), Limit: 1 }));
    });
    expect(accessViolations).toEqual([
      'partner-payouts called dynamodb:DeleteItem, which infra/access.ts does not grant it',
      'partner-payouts called dynamodb:Scan, which infra/access.ts does not grant it',
    ]);
  });
});
