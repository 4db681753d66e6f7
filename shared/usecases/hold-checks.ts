/**
 * What holds stop, read-only: the active holds of a partner, the checks the lifecycle steps make
 * (409 `on_hold`), the rewards drafting leaves out, and the `hold` a held payout shows. Apart from
 * ./holds.ts (placing, releasing, confirming) so that the functions that only check holds (exports,
 * drafting, partner payouts) bundle no more than this.
 */
import {
  activeHoldsConsistent,
  activeHoldsOf,
  confirmMarkedHolds,
  readHoldMarkers,
} from '../adapters/hold-store.ts';
import { type HoldFacts, holdsOnPayout, holdsOnReward, holdView, isActive } from '../domain/controls.ts';
import { OnHold } from '../domain/errors.ts';
import type { Hold, Payout, Reward } from '../domain/schemas.ts';

/**
 * The active holds that may touch a partner (on them, their payouts, their rewards), read strongly
 * consistently: a hold placed a moment before is seen (../adapters/hold-store.ts).
 */
export async function activeHoldsOfPartner(partnerId: string): Promise<Hold[]> {
  return (await activeHoldsOf(partnerId)).filter(isActive);
}

/** Active holds by partner, read once (scheduled drafting, exports of every ready payout). */
export async function activeHoldsByPartner(): Promise<Map<string, Hold[]>> {
  const byPartner = new Map<string, Hold[]>();
  for (const hold of await activeHoldsConsistent()) {
    const list = byPartner.get(hold.partnerId) ?? [];
    list.push(hold);
    byPartner.set(hold.partnerId, list);
  }
  return byPartner;
}

// ------------------------------------------------------------------ what holds stop

function onHold(what: string, holds: readonly HoldFacts[]): OnHold {
  return new OnHold(`${what} is on hold`, { data: { holdIds: holds.map((hold) => hold.id) } });
}

/** 409 `on_hold` when a hold covers the payout (or, with `rewards`, one of them). */
export async function assertPayoutNotHeld(
  payout: Pick<Payout, 'id' | 'partnerId'>,
  rewards: readonly Pick<Reward, 'id' | 'partnerId'>[] = [],
): Promise<void> {
  const holds = await activeHoldsOfPartner(payout.partnerId);
  if (holds.length === 0) return;
  const covering = holdsOnPayout(holds, payout);
  if (covering.length > 0) throw onHold(`Payout ${payout.id}`, covering);
  const rewardHolds = rewards.flatMap((reward) => holdsOnReward(holds, reward));
  if (rewardHolds.length > 0) {
    throw new OnHold(`Payout ${payout.id} holds a reward that is on hold`, {
      data: {
        holdIds: [...new Set(rewardHolds.map((hold) => hold.id))],
        rewardIds: [...new Set(rewardHolds.map((hold) => hold.targetId))],
      },
    });
  }
}

export async function assertRewardNotHeld(reward: Pick<Reward, 'id' | 'partnerId'>): Promise<void> {
  const covering = holdsOnReward(await activeHoldsOfPartner(reward.partnerId), reward);
  if (covering.length > 0) throw onHold(`Reward ${reward.id}`, covering);
}

/** The rewards no hold covers (drafting leaves the others where they are). */
export function unheldRewards<R extends Pick<Reward, 'id' | 'partnerId'>>(
  rewards: readonly R[],
  holds: readonly HoldFacts[],
): R[] {
  if (holds.length === 0) return [...rewards];
  return rewards.filter((reward) => holdsOnReward(holds, reward).length === 0);
}

/** The rewards as given, or 409 `on_hold` when a hold covers one of them (explicit drafting). */
export function assertRewardsNotHeld<R extends Pick<Reward, 'id' | 'partnerId'>>(
  rewards: readonly R[],
  holds: readonly HoldFacts[],
): R[] {
  const covering = rewards.flatMap((reward) => holdsOnReward(holds, reward));
  if (covering.length > 0) {
    throw new OnHold('Reward(s) on hold cannot be drafted', {
      data: {
        holdIds: [...new Set(covering.map((hold) => hold.id))],
        rewardIds: rewards
          .filter((reward) => holdsOnReward(holds, reward).length > 0)
          .map((reward) => reward.id),
      },
    });
  }
  return [...rewards];
}

/**
 * The hold markers a view of payouts starts from: of one partner, or of all when the payouts are of
 * several partners or their partner is not known yet (one Query: holds are exceptions; see
 * ../adapters/hold-store.ts). Start it beside the payouts' own read. The checks above read the index
 * too.
 */
export function holdMarkers(partnerId?: string): Promise<Hold[]> {
  return readHoldMarkers(partnerId);
}

/**
 * Adds `hold: { partnerMessage? }` to the payouts a hold covers: the markers of the payouts' own
 * partners are confirmed by their hold items (none to read when no marker names them).
 */
export async function showHolds<P extends Pick<Payout, 'id' | 'partnerId'>>(
  payouts: readonly P[],
  markers: readonly Hold[],
): Promise<P[]> {
  const partners = new Set(payouts.map((payout) => payout.partnerId));
  const relevant = markers.filter((marker) => partners.has(marker.partnerId));
  const holds = relevant.length > 0 ? await confirmMarkedHolds(relevant) : [];
  return payouts.map((payout) => {
    const own = holds.filter((hold) => hold.partnerId === payout.partnerId);
    const view = holdView(holdsOnPayout(own, payout));
    return view ? { ...payout, hold: view } : payout;
  });
}

/** `showHolds` after reading the markers of the payouts' partner (or of all, for several partners). */
export async function withHolds<P extends Pick<Payout, 'id' | 'partnerId'>>(
  payouts: readonly P[],
): Promise<P[]> {
  const partners = [...new Set(payouts.map((payout) => payout.partnerId))];
  if (partners.length === 0) return [...payouts];
  return showHolds(payouts, await holdMarkers(partners.length === 1 ? partners[0] : undefined));
}
