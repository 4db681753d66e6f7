/**
 * The Powertools logger, one per container.
 *
 * No Powertools Tracer: it pulls in aws-xray-sdk-core (~120 KB minified with its dependencies) and
 * its module initialisation into every function, which the cold-start budget (bench:coldstart) does
 * not allow. Lambda's active tracing still records each invocation and its duration in X-Ray.
 * Business metrics are in ./metrics.ts, imported only by the functions that publish them.
 */
import { Logger } from '@aws-lambda-powertools/logger';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'partner-payouts';

export const logger = new Logger({ serviceName });
