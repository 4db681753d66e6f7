/** Partners: create, read, list, update; a partner's own profile. */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../adapters/clients.ts';
import { findPartnerItem, type PartnerItem } from '../adapters/partner-store.ts';
import { isConditionalCheckFailed, keys, type Page, queryPage, stripKeys, table } from '../adapters/table.ts';
import { agreementVersion } from '../config/self-billing.ts';
import { NotFound, RuleViolation, ValidationFailed } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import type { SelfBillingAgreement } from '../domain/resources.ts';
import type { CreatePartner, Partner, UpdateOwnProfile, UpdatePartner } from '../domain/schemas.ts';
import { type Agreement, agreementFrom, selfBillingState, seriesPrefixOf } from '../domain/self-billing.ts';
import { vatIdCountry } from '../domain/vat-ids.ts';

const nowIso = () => new Date().toISOString();

export { findPartnerItem, type PartnerItem };

export function toPartner(item: Record<string, unknown>, now = new Date()): Partner {
  const { selfBilling, selfBillingAgreement, ...partner } = stripKeys(item, [
    'type',
  ]) as unknown as PartnerItem;
  const stored = { ...partner, selfBilling, selfBillingAgreement } as PartnerItem;
  const state = selfBillingState(stored, now);
  return {
    ...partner,
    payoutMethod: partner.payoutMethod ?? null,
    ...(selfBilling || selfBillingAgreement
      ? {
          selfBilling: {
            enabled: selfBilling?.enabled ?? false,
            seriesPrefix: seriesPrefixOf(stored),
            active: state.active,
            ...(state.active ? {} : { inactiveReason: state.reason }),
            ...(selfBillingAgreement ? { agreement: selfBillingAgreement } : {}),
          },
        }
      : {}),
  };
}

/** A VAT id names its country: it must be the partner's (their address's, else their country). */
function checkVatCountry(partner: {
  billing?: { vatId?: string | undefined } | null | undefined;
  address?: { country: string } | null | undefined;
  country?: string | null | undefined;
}): void {
  const vatId = partner.billing?.vatId;
  const country = partner.address?.country ?? partner.country ?? undefined;
  if (!vatId || !country) return;
  if (vatIdCountry(vatId) !== country) {
    throw new ValidationFailed(`The VAT id ${vatId} is not one of the partner's country (${country})`, {
      errors: [{ path: 'billing.vatId', message: `must be a VAT id of ${country}` }],
    });
  }
}

export async function createPartner(input: CreatePartner): Promise<Partner> {
  checkVatCountry(input);
  const at = nowIso();
  const partner: PartnerItem = {
    id: newId('partner'),
    name: input.name,
    email: input.email,
    ...(input.country ? { country: input.country } : {}),
    ...(input.address ? { address: input.address } : {}),
    payoutMethod: input.payoutMethod ?? null,
    ...(input.billing ? { billing: input.billing } : {}),
    ...(input.selfBilling ? { selfBilling: input.selfBilling } : {}),
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
  return toPartner(partner as unknown as Record<string, unknown>);
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
  return { items: page.items.map((item) => toPartner(item)), nextCursor: page.nextCursor };
}

/** Applies a patch: a field set to null is removed, an absent field is left as it is. */
export async function updatePartner(id: string, patch: UpdatePartner | UpdateOwnProfile): Promise<Partner> {
  if (patch.billing?.vatId || patch.address || ('country' in patch && patch.country)) {
    const current = await findPartnerItem(id);
    if (!current) throw new NotFound(`No partner ${id}`);
    const merged = { ...current };
    for (const [field, value] of Object.entries(patch)) {
      if (value !== undefined) (merged as Record<string, unknown>)[field] = value;
    }
    checkVatCountry(merged);
  }
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

/**
 * The partner accepts the self-billing agreement (the version in force) for twelve months. The
 * manager must have enabled self-billing for them first.
 */
export async function acceptSelfBillingAgreement(
  partnerId: string,
  now = new Date(),
): Promise<SelfBillingAgreement> {
  const agreement: Agreement = agreementFrom(agreementVersion(), now);
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.partner(partnerId),
        UpdateExpression: 'SET selfBillingAgreement = :agreement, updatedAt = :at',
        ConditionExpression: 'attribute_exists(PK) AND selfBilling.enabled = :true',
        ExpressionAttributeValues: { ':agreement': agreement, ':at': agreement.acceptedAt, ':true': true },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    if (!(await findPartnerItem(partnerId))) throw new NotFound(`No partner ${partnerId}`);
    throw new RuleViolation(
      'self_billing_inactive',
      'Self-billing is not enabled for you; ask the program manager',
      {
        data: { reason: 'not_enabled' },
      },
    );
  }
  return agreement;
}
