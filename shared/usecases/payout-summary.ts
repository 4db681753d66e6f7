/** The console's home: how many payouts, and how much, in each status and currency. */
import { sumPayoutsInStatus } from '../adapters/payout-store.ts';
import type { PayoutSummary } from '../domain/resources.ts';
import { PAYOUT_STATUSES } from '../domain/schemas.ts';

export async function summarizePayouts(): Promise<PayoutSummary> {
  const perStatus = await Promise.all(
    PAYOUT_STATUSES.map(async (status) => ({ status, sums: await sumPayoutsInStatus(status) })),
  );
  const items: PayoutSummary['items'] = [];
  for (const { status, sums } of perStatus) {
    for (const [currency, { count, amount }] of [...sums].sort(([a], [b]) => a.localeCompare(b))) {
      items.push({ status, currency, count, amount });
    }
  }
  return { items };
}
