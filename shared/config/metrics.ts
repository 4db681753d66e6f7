/** Names of the business metrics (shared by the functions that publish them and the dashboard). */
export const METRICS_NAMESPACE = 'PartnerPayouts';
export const SERVICE_NAME = 'partner-payouts';

export const BUSINESS_METRICS = {
  payoutsDrafted: 'PayoutsDrafted',
  rewardsClaimed: 'RewardsClaimed',
  payoutsPaid: 'PayoutsPaid',
  rewardsPaid: 'RewardsPaid',
} as const;
export type BusinessMetric = keyof typeof BUSINESS_METRICS;
