/** The partner routes' per-payout caps: a request over its minute's cap is a 429 that changes nothing. */
import { takeRate } from '../adapters/rate-limit.ts';
import { rateLimits } from '../config/rate-limits.ts';
import { RateLimited } from '../domain/errors.ts';

export type RateKind = 'review' | 'invoice-upload';

const limitOf = (kind: RateKind) =>
  kind === 'review' ? rateLimits().reviewsPerMinute : rateLimits().uploadsPerMinute;

const WHAT: Record<RateKind, string> = {
  review: 'reviews',
  'invoice-upload': 'invoice uploads',
};

/** Counts one request of `kind` on the payout, or throws RateLimited (429, `Retry-After`). */
export async function enforcePayoutRate(kind: RateKind, payoutId: string): Promise<void> {
  const limit = limitOf(kind);
  const decision = await takeRate(kind, payoutId, limit);
  if (!decision.allowed) {
    throw new RateLimited(
      `At most ${limit} ${WHAT[kind]} per minute on one payout; retry in ${decision.retryAfterSeconds} s`,
      decision.retryAfterSeconds,
    );
  }
}
