/**
 * The controls an export applies before it takes any payout: a held payout (its own or its partner's
 * hold) is not exported (409 `on_hold`); one at or above the approval threshold needs a valid
 * approval (422 `approval_required`); the user who released a payout-method-change hold over it may
 * not export it (422 `same_user`). Named payouts are refused, naming them; an export of every ready
 * payout leaves them out and lists them in `skipped`.
 */
import type { PayoutSnapshot } from '../adapters/export-store.ts';
import { getPayoutItem } from '../adapters/payout-store.ts';
import { holdsOnPayout } from '../domain/controls.ts';
import { type DomainError, OnHold, RuleViolation } from '../domain/errors.ts';
import type { Actor } from '../domain/schemas.ts';
import { aboveThreshold, lacksApproval } from './approvals.ts';
import { NoPayoutsToExport } from './exports.ts';
import { activeHoldsByPartner } from './hold-checks.ts';

export type SkipReason = 'on_hold' | 'approval_required' | 'same_user';
export interface Skipped {
  payoutId: string;
  reason: SkipReason;
}

async function reasonsOf(payouts: ReadonlyMap<string, PayoutSnapshot>, actor: Actor): Promise<Skipped[]> {
  const holds = await activeHoldsByPartner();
  const skipped: Skipped[] = [];
  for (const payout of payouts.values()) {
    if (holdsOnPayout(holds.get(payout.partnerId) ?? [], payout).length > 0) {
      skipped.push({ payoutId: payout.id, reason: 'on_hold' });
    } else if (payout.methodReleasedBy !== undefined && payout.methodReleasedBy === actor.id) {
      skipped.push({ payoutId: payout.id, reason: 'same_user' });
    } else if (aboveThreshold(payout)) {
      // The approval's binding needs the rewards: read in full only the few payouts above the threshold.
      const item = await getPayoutItem(payout.id);
      if (lacksApproval(item)) skipped.push({ payoutId: payout.id, reason: 'approval_required' });
    }
  }
  return skipped;
}

function refusal(reason: SkipReason, ids: string[], named: readonly string[]): DomainError {
  const errors = ids.map((id) => ({ path: `payoutIds[${named.indexOf(id)}]`, message: `${id}: ${reason}` }));
  const data = { payoutIds: ids };
  const list = ids.join(', ');
  if (reason === 'on_hold') return new OnHold(`Payout(s) on hold: ${list}`, { errors, data });
  if (reason === 'same_user') {
    return new RuleViolation(
      'same_user',
      `You released the payout-method-change hold of ${list}: another user exports them`,
      { errors, data },
    );
  }
  return new RuleViolation('approval_required', `Payout(s) need an approval first: ${list}`, {
    errors,
    data,
  });
}

/**
 * Applies the controls to the payouts an export is about to take. Named payouts: throws for the first
 * kind of refusal, naming every payout of that kind. Every ready payout: removes the refused ones
 * from `payouts` and returns them (422 `no_eligible_payouts` when none is left).
 */
export async function gateExport(
  payouts: Map<string, PayoutSnapshot>,
  actor: Actor,
  named: readonly string[] | undefined,
): Promise<Skipped[]> {
  const skipped = await reasonsOf(payouts, actor);
  if (skipped.length === 0) return [];
  if (named) {
    for (const reason of ['on_hold', 'same_user', 'approval_required'] as const) {
      const ids = skipped.filter((entry) => entry.reason === reason).map((entry) => entry.payoutId);
      if (ids.length > 0) throw refusal(reason, ids, named);
    }
  }
  for (const entry of skipped) payouts.delete(entry.payoutId);
  if (payouts.size === 0) {
    throw new NoPayoutsToExport('Every ready payout is held, awaits an approval, or is not yours to export', {
      data: { skipped },
    });
  }
  return skipped;
}
