/** Partner items as stored: the resource fields, the self-billing settings and the accepted agreement. */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Partner } from '../domain/resources.ts';
import type { PartnerEvent } from '../domain/schemas.ts';
import type { SelfBillingPartner } from '../domain/self-billing.ts';
import { dynamo } from './clients.ts';
import { commitExpression } from './partner-history.ts';
import { isConditionalCheckFailed, keys, table, writeIf } from './table.ts';

export type PartnerItem = Omit<Partner, 'selfBilling'> & SelfBillingPartner;

/** The partner item (consistent read), or undefined. */
export async function findPartnerItem(id: string): Promise<PartnerItem | undefined> {
  const result = await dynamo().send(
    new GetCommand({ TableName: table(), Key: keys.partner(id), ConsistentRead: true }),
  );
  return result.Item as PartnerItem | undefined;
}

/** Puts a new partner item (listed by creation time). */
export async function putNewPartner(partner: { id: string; createdAt: string }): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: {
        ...keys.partner(partner.id),
        type: 'partner',
        GSI2PK: 'PARTNERS',
        GSI2SK: `${partner.createdAt}#${partner.id}`,
        ...partner,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
}

/**
 * Applies a patch to the partner as last read (`seen`: its `updatedAt`): absent fields stay, null
 * ones are removed (a null `payoutMethod` is stored), `event` is appended to its history in the
 * same write. Undefined when the partner changed meanwhile or does not exist.
 */
export async function patchPartnerItem(
  id: string,
  change: { patch: Record<string, unknown>; at: string; seen: string; event?: PartnerEvent },
): Promise<Record<string, unknown> | undefined> {
  const sets: string[] = ['#updatedAt = :updatedAt'];
  const removes: string[] = [];
  const names: Record<string, string> = { '#updatedAt': 'updatedAt' };
  const values: Record<string, unknown> = { ':updatedAt': change.at, ':seen': change.seen };
  if (change.event) {
    // The entry commits with the change, as an item of its own after (./partner-history.ts).
    const commit = commitExpression(change.event);
    sets.push(commit.set);
    Object.assign(names, commit.names);
    Object.assign(values, commit.values);
  }
  for (const [field, value] of Object.entries(change.patch)) {
    if (value === undefined) continue;
    names[`#${field}`] = field;
    if (value === null && field !== 'payoutMethod') {
      removes.push(`#${field}`);
    } else {
      sets.push(`#${field} = :${field}`);
      values[`:${field}`] = value;
    }
  }
  try {
    const result = await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.partner(id),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: 'attribute_exists(PK) AND #updatedAt = :seen',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return result.Attributes ?? {};
  } catch (error) {
    if (isConditionalCheckFailed(error)) return undefined;
    throw error;
  }
}

/** Records the partner's accepted self-billing agreement; false unless the partner has it enabled. */
export async function recordAgreement(
  partnerId: string,
  agreement: { acceptedAt: string },
): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: table(),
      Key: keys.partner(partnerId),
      UpdateExpression: 'SET selfBillingAgreement = :agreement, updatedAt = :at',
      ConditionExpression: 'attribute_exists(PK) AND selfBilling.enabled = :true',
      ExpressionAttributeValues: { ':agreement': agreement, ':at': agreement.acceptedAt, ':true': true },
    }),
  );
}
