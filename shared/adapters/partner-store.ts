/** Partner items as stored: the resource fields, the self-billing settings and the accepted agreement. */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Partner } from '../domain/resources.ts';
import type { SelfBillingPartner } from '../domain/self-billing.ts';
import { dynamo } from './clients.ts';
import { keys, table } from './table.ts';

export type PartnerItem = Omit<Partner, 'selfBilling'> & SelfBillingPartner;

/** The partner item (consistent read), or undefined. */
export async function findPartnerItem(id: string): Promise<PartnerItem | undefined> {
  const result = await dynamo().send(
    new GetCommand({ TableName: table(), Key: keys.partner(id), ConsistentRead: true }),
  );
  return result.Item as PartnerItem | undefined;
}
