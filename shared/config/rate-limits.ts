/** Per-payout request caps of the partner routes (requests per minute), read from the environment. */
import { ENV, intEnv } from './env.ts';

export const DEFAULT_PARTNER_REVIEWS_PER_MINUTE = 60;
export const DEFAULT_INVOICE_UPLOADS_PER_MINUTE = 10;

export interface RateLimits {
  /** Reviews (approve or dispute) of one payout's rewards per minute; 0 turns the cap off. */
  reviewsPerMinute: number;
  /** Invoice upload grants of one payout per minute; 0 turns the cap off. */
  uploadsPerMinute: number;
}

export function rateLimits(): RateLimits {
  return {
    reviewsPerMinute: intEnv(ENV.partnerReviewsPerMinute, DEFAULT_PARTNER_REVIEWS_PER_MINUTE),
    uploadsPerMinute: intEnv(ENV.invoiceUploadsPerMinute, DEFAULT_INVOICE_UPLOADS_PER_MINUTE),
  };
}
