/** Partners: create, read, list, update; a partner's own profile. */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../adapters/clients.ts';
import { isConditionalCheckFailed, keys, type Page, queryPage, stripKeys, table } from '../adapters/table.ts';
import { NotFound } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import type { CreatePartner, Partner, UpdateOwnProfile, UpdatePartner } from '../domain/schemas.ts';

const nowIso = () => new Date().toISOString();

export function toPartner(item: Record<string, unknown>): Partner {
  const partner = stripKeys(item, ['type']) as unknown as Partner;
  return { ...partner, payoutMethod: partner.payoutMethod ?? null };
}

export async function createPartner(input: CreatePartner): Promise<Partner> {
  const at = nowIso();
  const partner: Partner = {
    id: newId('partner'),
    name: input.name,
    email: input.email,
    ...(input.country ? { country: input.country } : {}),
    ...(input.address ? { address: input.address } : {}),
    payoutMethod: input.payoutMethod ?? null,
    createdAt: at,
    updatedAt: at,
  };
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: {
        ...keys.partner(partner.id),
        type: 'partner',
        GSI2PK: 'PARTNERS',
        GSI2SK: `${at}#${partner.id}`,
        ...partner,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
  return partner;
}

export async function findPartner(id: string): Promise<Partner | undefined> {
  const result = await dynamo().send(
    new GetCommand({ TableName: table(), Key: keys.partner(id), ConsistentRead: true }),
  );
  return result.Item ? toPartner(result.Item) : undefined;
}

export async function getPartner(id: string): Promise<Partner> {
  const partner = await findPartner(id);
  if (!partner) throw new NotFound(`No partner ${id}`);
  return partner;
}

export async function listPartners(query: {
  limit: number;
  cursor?: string | undefined;
}): Promise<Page<Partner>> {
  const page = await queryPage({
    index: 'GSI2',
    partition: { name: 'GSI2PK', value: 'PARTNERS' },
    limit: query.limit,
    cursor: query.cursor,
  });
  return { items: page.items.map(toPartner), nextCursor: page.nextCursor };
}

/** Applies a patch: a field set to null is removed, an absent field is left as it is. */
export async function updatePartner(id: string, patch: UpdatePartner | UpdateOwnProfile): Promise<Partner> {
  const sets: string[] = ['#updatedAt = :updatedAt'];
  const removes: string[] = [];
  const names: Record<string, string> = { '#updatedAt': 'updatedAt' };
  const values: Record<string, unknown> = { ':updatedAt': nowIso() };
  for (const [field, value] of Object.entries(patch)) {
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
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toPartner(result.Attributes ?? {});
  } catch (error) {
    if (isConditionalCheckFailed(error)) throw new NotFound(`No partner ${id}`);
    throw error;
  }
}
