/** Partners: create, read, list, update; a partner's own profile. */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../adapters/clients.ts';
import { publishEvents } from '../adapters/events.ts';
import { logger } from '../adapters/observability.ts';
import {
  decodeCursor,
  encodeCursor,
  isConditionalCheckFailed,
  keys,
  type Page,
  queryPage,
  stripKeys,
  table,
} from '../adapters/table.ts';
import { Conflict, NotFound, ValidationFailed } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import type {
  Actor,
  CreatePartner,
  Partner,
  PartnerEvent,
  PayoutMethod,
  UpdateOwnProfile,
  UpdatePartner,
} from '../domain/schemas.ts';
import { holdForPayoutMethodChange, releaseInvalidMethodHolds } from './holds.ts';

const nowIso = () => new Date().toISOString();

export function toPartner(item: Record<string, unknown>): Partner {
  const partner = stripKeys(item, ['type', 'events']) as unknown as Partner;
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

/**
 * Applies a patch: a field set to null is removed, an absent field is left as it is. A change of
 * payout method is a history entry on the partner (in the same write), takes a PAYOUT_METHOD_CHANGED
 * hold first while a payout is ready or processing, releases the PAYOUT_METHOD_INVALID holds after,
 * and tells the partner (event `partner.payout_method_changed`, e-mailed).
 */
export async function updatePartner(
  id: string,
  patch: UpdatePartner | UpdateOwnProfile,
  actor: Actor = { role: 'system', id: 'partners' },
): Promise<Partner> {
  const current = await findPartnerItem(id);
  if (!current) throw new NotFound(`No partner ${id}`);
  const before = toPartner(current);
  const methodChange =
    patch.payoutMethod !== undefined && !samePayoutMethod(before.payoutMethod, patch.payoutMethod);
  if (methodChange) await holdForPayoutMethodChange(id, actor);
  const at = nowIso();
  const sets: string[] = ['#updatedAt = :updatedAt'];
  const removes: string[] = [];
  const names: Record<string, string> = { '#updatedAt': 'updatedAt' };
  const values: Record<string, unknown> = { ':updatedAt': at, ':seen': before.updatedAt };
  const change = methodChange
    ? partnerEvent('partner.payout_method_changed', actor, at, {
        from: describeMethod(before.payoutMethod),
        to: describeMethod(patch.payoutMethod ?? null),
      })
    : undefined;
  if (change) {
    sets.push('#events = list_append(if_not_exists(#events, :none), :event)');
    names['#events'] = 'events';
    values[':none'] = [];
    values[':event'] = [change];
  }
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
        // Based on what was read: a concurrent change makes this one a 409, never a lost history entry.
        ConditionExpression: 'attribute_exists(PK) AND #updatedAt = :seen',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    const updated = toPartner(result.Attributes ?? {});
    if (change) {
      await releaseInvalidMethodHolds(id, updated.payoutMethod);
      await publishPartnerEvent(updated, change);
    }
    return updated;
  } catch (error) {
    if (isConditionalCheckFailed(error)) {
      throw new Conflict('The partner was changed by another request; read it again and retry');
    }
    throw error;
  }
}

async function findPartnerItem(id: string): Promise<Record<string, unknown> | undefined> {
  const result = await dynamo().send(
    new GetCommand({ TableName: table(), Key: keys.partner(id), ConsistentRead: true }),
  );
  return result.Item?.type === 'partner' ? result.Item : undefined;
}

function samePayoutMethod(a: PayoutMethod | null, b: PayoutMethod | null): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

function sorted(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value ?? null;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** A payout method as a history entry shows it: the kind, the holder, the account's last characters. */
export function describeMethod(method: PayoutMethod | null): Record<string, string> | null {
  if (!method) return null;
  const tail = (value: string) => `…${value.slice(-4)}`;
  if (method.type === 'sepa')
    return { type: 'sepa', accountHolder: method.accountHolder, iban: tail(method.iban) };
  if (method.type === 'paypal') return { type: 'paypal', email: maskEmail(method.email) };
  return {
    type: 'wise',
    accountHolder: method.accountHolder,
    email: maskEmail(method.email),
    ...(method.iban ? { iban: tail(method.iban) } : {}),
  };
}

function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  return `${local.slice(0, 1)}…@${domain}`;
}

function partnerEvent(type: string, actor: Actor, at: string, data: Record<string, unknown>): PartnerEvent {
  return { id: newId('event'), type, at, actor, data };
}

async function publishPartnerEvent(partner: Partner, event: PartnerEvent): Promise<void> {
  try {
    await publishEvents([
      {
        type: event.type,
        detail: { partnerId: partner.id, partner: { id: partner.id, name: partner.name }, event },
        resources: [event.id],
      },
    ]);
  } catch (error) {
    logger.error('Publishing a partner event failed', { partnerId: partner.id, type: event.type, error });
  }
}

/** A partner's history (payout method changes), oldest first. */
export async function listPartnerEvents(
  id: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<PartnerEvent>> {
  const item = await findPartnerItem(id);
  if (!item) throw new NotFound(`No partner ${id}`);
  const identity = { partnerEvents: id };
  const offset = page.cursor ? Number(decodeCursor(page.cursor, ['offset'], identity).offset) : 0;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new ValidationFailed('The cursor is invalid', {
      errors: [{ path: 'cursor', message: 'invalid cursor' }],
    });
  }
  const events = (item.events ?? []) as PartnerEvent[];
  const next = offset + page.limit;
  return {
    items: events.slice(offset, next),
    nextCursor: next < events.length ? encodeCursor({ offset: String(next) }, identity) : null,
  };
}
