/**
 * Powertools logger and metrics, one of each per container.
 *
 * No Powertools Tracer: it pulls in aws-xray-sdk-core (~120 KB minified with its dependencies) and
 * its module initialisation into every function, which the cold-start budget (bench:coldstart) does
 * not allow. Lambda's active tracing still records each invocation and its duration in X-Ray.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'partner-payouts';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({
  serviceName,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'PartnerPayouts',
});
