/**
 * The payout workflow's ASL, read from the one JSON file that both CDK and `npm start` run.
 *
 * String placeholders (`${WorkflowFunctionArn}`) stay for CDK's definitionSubstitutions on AWS and
 * are resolved here locally. The callback waits' `TimeoutSeconds` must be numbers, which string
 * substitutions cannot produce, and `TimeoutSecondsPath` is evaluated against different inputs by
 * AWS and by the local interpreter, so the wait is set here from the typed configuration: the JSON
 * file leaves it out (one source for each number), and a value there is refused.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const WORKFLOW_FILE = fileURLToPath(new URL('./payout.asl.json', import.meta.url));

export const WORKFLOW_SUBSTITUTIONS = ['WorkflowFunctionArn', 'SelfBillingFunctionArn'] as const;
export type WorkflowSubstitutions = Record<(typeof WORKFLOW_SUBSTITUTIONS)[number], string>;

export const CALLBACK_RESOURCE = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

interface AslState {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
}

/** The callback wait on the bank's outcome: its timeout is the processing reminder, not the human interval. */
export const PROCESSING_WAIT_STATE = 'AwaitOutcome';

/**
 * The definition with each callback wait set to `waitSeconds` (the wait on a processing payout to
 * `processingWaitSeconds`, default `waitSeconds`), and the given placeholders resolved.
 */
export function workflowDefinition(
  options: { waitSeconds: number; processingWaitSeconds?: number },
  substitutions: Partial<WorkflowSubstitutions> = {},
): string {
  const processingWait = options.processingWaitSeconds ?? options.waitSeconds;
  for (const wait of [options.waitSeconds, processingWait]) {
    if (!Number.isSafeInteger(wait) || wait < 1) {
      throw new Error('The workflow wait must be a positive whole number of seconds');
    }
  }
  const definition = JSON.parse(readFileSync(WORKFLOW_FILE, 'utf8')) as { States: Record<string, AslState> };
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Resource === CALLBACK_RESOURCE) {
      if (state.TimeoutSeconds !== undefined) {
        throw new Error(
          `${name}: the callback wait's TimeoutSeconds comes from the configuration, not the ASL file`,
        );
      }
      state.TimeoutSeconds = name === PROCESSING_WAIT_STATE ? processingWait : options.waitSeconds;
    }
  }
  let text = JSON.stringify(definition, null, 2);
  for (const [name, value] of Object.entries(substitutions)) text = text.replaceAll(`\${${name}}`, value);
  return text;
}
