/**
 * The payout workflow's ASL, read from the one JSON file that both CDK and `npm start` run.
 *
 * String placeholders (`${WorkflowFunctionArn}`) stay for CDK's definitionSubstitutions on AWS and
 * are resolved here locally. The callback waits' `TimeoutSeconds` must be numbers, which string
 * substitutions cannot produce, and `TimeoutSecondsPath` is evaluated against different inputs by
 * AWS and by the local interpreter, so the wait is set here from the typed configuration.
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

/** The definition with each callback wait set to `waitSeconds`, and the given placeholders resolved. */
export function workflowDefinition(
  options: { waitSeconds: number },
  substitutions: Partial<WorkflowSubstitutions> = {},
): string {
  if (!Number.isSafeInteger(options.waitSeconds) || options.waitSeconds < 1) {
    throw new Error('The workflow wait must be a positive whole number of seconds');
  }
  const definition = JSON.parse(readFileSync(WORKFLOW_FILE, 'utf8')) as { States: Record<string, AslState> };
  for (const state of Object.values(definition.States)) {
    if (state.Resource === CALLBACK_RESOURCE) state.TimeoutSeconds = options.waitSeconds;
  }
  let text = JSON.stringify(definition, null, 2);
  for (const [name, value] of Object.entries(substitutions)) text = text.replaceAll(`\${${name}}`, value);
  return text;
}
