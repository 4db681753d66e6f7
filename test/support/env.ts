/** Runs in each test worker before the test file loads: point the SDK at the shared emulators. */
import { inject } from 'vitest';
import { configureEnvironment } from '../../infra/local/runtime.ts';

configureEnvironment(
  {
    dynamodb: inject('dynamodbEndpoint'),
    s3: inject('s3Endpoint'),
    eventbridge: inject('eventBridgeEndpoint'),
  },
  inject('dataDir'),
);
process.env.POWERTOOLS_LOG_LEVEL = 'CRITICAL';
// Tests use loopback webhook receivers (as `npm start` allows); the SSRF tests turn this off.
process.env.WEBHOOKS_ALLOW_PRIVATE ??= 'true';
