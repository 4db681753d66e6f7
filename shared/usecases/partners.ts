/** Partners: create, read, list, update; a partner's own profile. */
import { publishEvents } from '../adapters/events.ts';
import { logger } from '../adapters/observability.ts';
import {
  flushPartnerHistoryQuietly,
  PARTNER_HISTORY_FIELDS,
  type PartnerHistoryState,
  partnerHistoryLength,
  readPartnerHistory,
} from '../adapters/partner-history.ts';
import {
  findPartnerItem,
  type PartnerItem,
  patchPartnerItem,
  putNewPartner,
  recordAgreement,
} from '../adapters/partner-store.ts';
import { decodeCursor, encodeCursor, type Page, queryPage, stripKeys } from '../adapters/table.ts';
import { agreementVersion } from '../config/self-billing.ts';
import { Conflict, NotFound, RuleViolation, ValidationFailed } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import type { SelfBillingAgreement } from '../domain/resources.ts';
import type {
  Actor,
  CreatePartner,
  Partner,
  PartnerEvent,
  PayoutMethod,
  UpdateOwnProfile,
  UpdatePartner,
} from '../domain/schemas.ts';
import { type Agreement, agreementFrom, selfBillingState, seriesPrefixOf } from '../domain/self-billing.ts';
import { vatIdCountry } from '../domain/vat-ids.ts';
import { holdForPayoutMethodChange, releaseInvalidMethodHolds } from './holds.ts';

const nowIso = () => new Date().toISOString();

export { findPartnerItem, type PartnerItem };
export function toPartner(item: Record<string, unknown>, now = new Date()): Partner {
  const { selfBilling, selfBillingAgreement, ...partner } = stripKeys(item, [
    'type',
    ...PARTNER_HISTORY_FIELDS,
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
  await putNewPartner(partner);
  return toPartner(partner as unknown as Record<string, unknown>);
}

export async function findPartner(id: string): Promise<Partner | undefined> {
  const item = await findPartnerItem(id);
  return item ? toPartner(item as unknown as Record<string, unknown>) : undefined;
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
  if (patch.billing?.vatId || patch.address || ('country' in patch && patch.country)) {
    const merged = { ...current } as Record<string, unknown>;
    for (const [field, value] of Object.entries(patch)) if (value !== undefined) merged[field] = value;
    checkVatCountry(merged);
  }
  const before = toPartner(current as unknown as Record<string, unknown>);
  const methodChange =
    patch.payoutMethod !== undefined && !samePayoutMethod(before.payoutMethod, patch.payoutMethod);
  if (methodChange) await holdForPayoutMethodChange(id, actor);
  const at = nowIso();
  const change = methodChange
    ? partnerEvent('partner.payout_method_changed', actor, at, {
        from: describeMethod(before.payoutMethod),
        to: describeMethod(patch.payoutMethod ?? null),
      })
    : undefined;
  // Based on what was read: a concurrent change makes this one a 409, never a lost history entry.
  const item = await patchPartnerItem(id, {
    patch: patch as Record<string, unknown>,
    at,
    seen: before.updatedAt,
    ...(change ? { event: change } : {}),
  });
  if (!item) throw new Conflict('The partner was changed by another request; read it again and retry');
  const updated = toPartner(item);
  if (change) {
    await flushPartnerHistoryQuietly({ ...item, id } as PartnerHistoryState);
    await releaseInvalidMethodHolds(id, updated.payoutMethod);
    await publishPartnerEvent(updated, change);
  }
  return updated;
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
  if (!(await recordAgreement(partnerId, agreement))) {
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

/** A partner's history (payout method changes), oldest first, paged by position. */
export async function listPartnerEvents(
  id: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<PartnerEvent>> {
  const item = (await findPartnerItem(id)) as (PartnerItem & PartnerHistoryState) | undefined;
  if (!item) throw new NotFound(`No partner ${id}`);
  const identity = { partnerEvents: id };
  const after = page.cursor ? Number(decodeCursor(page.cursor, ['offset'], identity).offset) : 0;
  if (!Number.isSafeInteger(after) || after < 0) {
    throw new ValidationFailed('The cursor is invalid', {
      errors: [{ path: 'cursor', message: 'invalid cursor' }],
    });
  }
  const items = await readPartnerHistory(item, { after, limit: page.limit });
  const next = after + items.length;
  return {
    items,
    nextCursor:
      items.length > 0 && next < partnerHistoryLength(item)
        ? encodeCursor({ offset: String(next) }, identity)
        : null,
  };
}
