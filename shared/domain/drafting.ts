/** Scheduled drafting rules: which rewards are due, and which partner × currency groups are paid out. */
import { isCurrency, sumMinor } from './money.ts';

export type SkipReason = 'below_minimum' | 'non_positive_amount';

/** `EUR:5000,USD:5000` → minimum amounts in minor units per currency. */
export function parseMinimums(text: string | undefined): Map<string, number> {
  const minimums = new Map<string, number>();
  for (const part of (text ?? '').split(',')) {
    const entry = part.trim();
    if (!entry) continue;
    const match = /^([A-Z]{3})\s*:\s*(\d+)$/.exec(entry);
    if (!match?.[1] || !match[2] || !isCurrency(match[1])) {
      throw new Error(`MIN_PAYOUT_AMOUNTS: "${entry}" is not CUR:minorUnits`);
    }
    const amount = Number(match[2]);
    if (!Number.isSafeInteger(amount)) throw new Error(`MIN_PAYOUT_AMOUNTS: ${entry} is out of range`);
    minimums.set(match[1], amount);
  }
  return minimums;
}

/** Rewards created at or before this instant are due (the holding period has passed). */
export function holdingCutoff(asOf: string, holdingPeriodDays: number): string {
  return new Date(Date.parse(asOf) - holdingPeriodDays * 24 * 3600 * 1000).toISOString();
}

export type GroupDecision =
  | { draft: true; amount: number }
  | { draft: false; amount: number; reason: SkipReason };

/** A group is drafted when its net amount is positive and reaches the currency's minimum. */
export function decideGroup(
  amounts: readonly number[],
  currency: string,
  minimums: ReadonlyMap<string, number>,
): GroupDecision {
  const amount = sumMinor(amounts);
  if (amount <= 0) return { draft: false, amount, reason: 'non_positive_amount' };
  const minimum = minimums.get(currency);
  if (minimum !== undefined && amount < minimum) return { draft: false, amount, reason: 'below_minimum' };
  return { draft: true, amount };
}
