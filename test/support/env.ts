/** Runs in each test worker before the test file loads: point the SDK at the shared emulators. */
import { afterEach, inject } from 'vitest';
import { configureEnvironment } from '../../infra/local/runtime.ts';
import { accessViolations } from './access.ts';
import { pendingViolations } from './contract.ts';

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

// A contract violation throws at the call (test/support/http.ts); one a test swallowed (e.g. in
// Promise.allSettled) still fails that test here.
afterEach(({ task }) => {
  // An API handler called DynamoDB beyond its grants (test/support/access.ts).
  const denied = accessViolations.splice(0);
  if (denied.length > 0 && task.result?.state !== 'fail') {
    throw new Error(`Least privilege broken:\n${[...new Set(denied)].join('\n')}`);
  }
  const violations = pendingViolations.splice(0);
  if (violations.length > 0 && task.result?.state !== 'fail') {
    throw new Error(`Responses broke the OpenAPI contract:\n${[...new Set(violations)].join('\n')}`);
  }
});
