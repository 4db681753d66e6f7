/**
 * The payout statuses in lifecycle order. Typed against the generated API types: a status added to or
 * removed from the contract breaks the build here (Record<PayoutStatus, …> must name each exactly).
 */
import type { PayoutStatus } from './client.ts';

const LIFECYCLE: Record<PayoutStatus, { action: string }> = {
  draft: { action: 'review and validate' },
  pending: { action: 'waiting on the partner' },
  ready: { action: 'export or mark paid' },
  processing: { action: 'waiting on the bank' },
  paid: { action: 'done' },
  failed: { action: 'reissue or cancel' },
  cancelled: { action: 'done' },
};

export const PAYOUT_STATUSES = Object.keys(LIFECYCLE) as PayoutStatus[];

export function nextStep(status: PayoutStatus): string {
  return LIFECYCLE[status].action;
}
