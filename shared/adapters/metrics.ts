/**
 * Business metrics of the payout flow (CloudWatch embedded metric format via Powertools), published
 * by the asynchronous functions where each fact happens once: drafting runs and paid payouts.
 *
 * The HTTP functions publish none: API Gateway already counts requests, 4xx and 5xx per stage (on the
 * dashboard, 5xx alarmed), and Powertools Metrics would cost every API function ~12 KiB of bundle
 * and its initialisation at cold start.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { BUSINESS_METRICS, type BusinessMetric, METRICS_NAMESPACE, SERVICE_NAME } from '../config/metrics.ts';

export const metrics = new Metrics({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
});

/** Adds counts and publishes them at once (no middleware: most invocations have nothing to count). */
export function publishCounts(counts: Partial<Record<BusinessMetric, number>>): void {
  let added = false;
  for (const [key, value] of Object.entries(counts) as [BusinessMetric, number][]) {
    if (!value) continue;
    metrics.addMetric(BUSINESS_METRICS[key], MetricUnit.Count, value);
    added = true;
  }
  if (added) metrics.publishStoredMetrics();
}
