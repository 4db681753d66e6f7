/**
 * The payout workflow's ASL, as CDK and `npm start` build it: valid for asl-validator, JSONPath only
 * (aws-local-stepfunctions ignores JSONata and `Assign`), every Task bounded and retried, every
 * callback wait ending in a States.Timeout catch (the reminder / self-healing path), and a graph with
 * no dangling or unreachable state.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type * as z from 'zod/mini';
import { CALLBACK_RESOURCE, WORKFLOW_FILE, workflowDefinition } from '../../infra/workflow/definition.ts';
import { SELF_BILLING_ACTIONS, WORKFLOW_ACTIONS } from '../../shared/domain/workflow-actions.ts';

interface ValidationResult {
  isValid: boolean;
  errors: { message?: string; errorCode?: string }[];
  errorsText: (separator?: string) => string;
}
type AslValidator = (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => ValidationResult;

const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:wf';
const WAIT_SECONDS = 60;

interface Catcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string | null;
}
interface Retrier {
  ErrorEquals: string[];
  MaxAttempts?: number;
}
interface State {
  Type: string;
  Resource?: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: { Next: string }[];
  Catch?: Catcher[];
  Retry?: Retrier[];
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Parameters?: { FunctionName?: string; Payload?: Record<string, unknown> };
}
interface Definition {
  Comment?: string;
  StartAt: string;
  States: Record<string, State>;
  QueryLanguage?: string;
}

const SELF_BILLING_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:self-billing';
const PROCESSING_WAIT_SECONDS = 300;
const text = workflowDefinition(
  { waitSeconds: WAIT_SECONDS, processingWaitSeconds: PROCESSING_WAIT_SECONDS },
  { WorkflowFunctionArn: FUNCTION_ARN, SelfBillingFunctionArn: SELF_BILLING_ARN },
);
const parse = (): Definition => JSON.parse(text) as Definition;
const definition = parse();
const states = Object.entries(definition.States);
const tasks = states.filter(([, state]) => state.Type === 'Task');
const callbacks = tasks.filter(([, state]) => state.Resource === CALLBACK_RESOURCE);

/** Every transition target of a state: Next, Choice branches and Default, Catch targets. */
function targetsOf(state: State): string[] {
  return [
    ...(state.Next ? [state.Next] : []),
    ...(state.Default ? [state.Default] : []),
    ...(state.Choices ?? []).map((choice) => choice.Next),
    ...(state.Catch ?? []).map((catcher) => catcher.Next),
  ];
}

/** Every key of every object in the definition, at any depth, with where it was found. */
function allKeys(value: unknown, path = '$'): { key: string; path: string }[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => allKeys(item, `${path}[${index}]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => [
    { key, path: `${path}.${key}` },
    ...allKeys(child, `${path}.${key}`),
  ]);
}

describe('payout workflow ASL', () => {
  it('passes asl-validator with path and ARN checks', () => {
    // The validator writes a default QueryLanguage into each state: give it its own copy.
    const result = aslValidator(parse(), { checkPaths: true, checkArn: true });
    expect(result.errors, result.errorsText('\n')).toEqual([]);
    expect(result.isValid).toBe(true);
    // The check is not vacuous: a dangling Next fails it.
    const broken = parse();
    (broken.States.Route as State).Default = 'NoSuchState';
    expect(aslValidator(broken).isValid).toBe(false);
  });

  it('resolves every placeholder', () => {
    expect(text).not.toContain('${');
    for (const [name, state] of tasks) {
      // Issuing self-billed documents runs in its own function (the PDF library stays out of the rest).
      const expected = name === 'IssueSelfBilledDocuments' ? SELF_BILLING_ARN : FUNCTION_ARN;
      expect(state.Parameters?.FunctionName, name).toBe(expected);
    }
  });

  it('is JSONPath only: no JSONata, Assign, Arguments or Output anywhere', () => {
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    const forbidden = allKeys(definition).filter(({ key }) =>
      ['QueryLanguage', 'Assign', 'Arguments', 'Output'].includes(key),
    );
    expect(forbidden).toEqual([]);
    expect(text).not.toMatch(/\{%/); // JSONata expressions
  });

  it('bounds every callback wait by the configured interval and catches its timeout', () => {
    expect(callbacks.map(([name]) => name).sort()).toEqual([
      'AwaitManagerValidation',
      'AwaitOutcome',
      'AwaitPartnerValidation',
      'AwaitPayment',
      'AwaitReissue',
    ]);
    for (const [name, state] of callbacks) {
      expect(state.TimeoutSeconds, name).toBe(
        name === 'AwaitOutcome' ? PROCESSING_WAIT_SECONDS : WAIT_SECONDS,
      );
      expect(state.TimeoutSecondsPath, name).toBeUndefined();
      expect(state.Parameters?.Payload?.['token.$'], name).toBe('$$.Task.Token');
      const catchers = state.Catch ?? [];
      const timeout = catchers.findIndex((catcher) => catcher.ErrorEquals.includes('States.Timeout'));
      expect(timeout, `${name} catches States.Timeout`).toBeGreaterThanOrEqual(0);
      // The timeout goes back to Sync (remind / reconcile), ahead of any catch-all.
      expect(catchers[timeout]?.Next, name).toBe('Sync');
      const catchAll = catchers.findIndex((catcher) => catcher.ErrorEquals.includes('States.ALL'));
      if (catchAll >= 0) expect(timeout, name).toBeLessThan(catchAll);
      // A Retry matching the timeout would re-park silently instead of reminding.
      for (const retrier of state.Retry ?? []) {
        expect(retrier.ErrorEquals, name).not.toContain('States.Timeout');
        expect(retrier.ErrorEquals, name).not.toContain('States.ALL');
      }
    }
  });

  it('gives every Task a timeout and a Retry', () => {
    expect(tasks.length).toBeGreaterThanOrEqual(callbacks.length + 4);
    for (const [name, state] of tasks) {
      expect(typeof state.TimeoutSeconds, `${name}.TimeoutSeconds`).toBe('number');
      expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
      expect(state.Retry?.length ?? 0, `${name}.Retry`).toBeGreaterThan(0);
      for (const retrier of state.Retry ?? []) expect(retrier.MaxAttempts ?? 3, name).toBeGreaterThan(0);
    }
  });

  it('has no dangling transition and no unreachable state', () => {
    const names = new Set(Object.keys(definition.States));
    expect(names.has(definition.StartAt)).toBe(true);
    for (const [name, state] of states) {
      for (const target of targetsOf(state)) expect(names.has(target), `${name} → ${target}`).toBe(true);
      const terminal = state.Type === 'Succeed' || state.Type === 'Fail' || state.End === true;
      if (!terminal) expect(targetsOf(state).length, `${name} goes nowhere`).toBeGreaterThan(0);
    }
    const reached = new Set<string>([definition.StartAt]);
    const queue = [definition.StartAt];
    while (queue.length > 0) {
      const state = definition.States[queue.shift() as string];
      for (const target of state ? targetsOf(state) : []) {
        if (!reached.has(target)) {
          reached.add(target);
          queue.push(target);
        }
      }
    }
    expect([...names].filter((name) => !reached.has(name))).toEqual([]);
  });

  it('refuses a wait that is not a positive whole number of seconds', () => {
    for (const waitSeconds of [0, -1, 1.5, Number.NaN]) {
      expect(() => workflowDefinition({ waitSeconds })).toThrow(/positive whole number/);
      expect(() => workflowDefinition({ waitSeconds: 60, processingWaitSeconds: waitSeconds })).toThrow(
        /positive whole number/,
      );
    }
  });
});

describe('the workflow task payloads', () => {
  /** The action schemas of the function a Task invokes, by action name. */
  const schemasOf = (functionArn: unknown) =>
    new Map(
      (functionArn === SELF_BILLING_ARN ? SELF_BILLING_ACTIONS : WORKFLOW_ACTIONS).map((schema) => [
        schema.shape.action.def.values[0],
        schema,
      ]),
    );

  it('are declared once: each Task sends exactly the fields of its action schema', () => {
    const used = new Set<string>();
    for (const [name, state] of tasks) {
      const payload = state.Parameters?.Payload ?? {};
      const action = payload.action;
      expect(typeof action, `${name} names its action`).toBe('string');
      const schema = schemasOf(state.Parameters?.FunctionName).get(action as never);
      expect(schema, `${name}: no schema for action ${String(action)}`).toBeDefined();
      if (!schema) continue;
      used.add(String(action));
      const sent = Object.keys(payload).map((key) => key.replace(/\.\$$/, ''));
      expect(sent.sort(), name).toEqual(Object.keys(schema.shape).sort());
      // The fixed values the ASL writes parse as their field (e.g. a callback's `stage`).
      for (const [key, value] of Object.entries(payload)) {
        if (key.endsWith('.$')) continue;
        const field = (schema.shape as Record<string, z.ZodMiniType>)[key];
        expect(field?.safeParse(value).success, `${name}.${key}`).toBe(true);
      }
    }
    // Every workflow action is a Task of the ASL; `preview` is invoked by the partner-payouts function.
    expect([...used].sort()).toEqual(
      [...WORKFLOW_ACTIONS, ...SELF_BILLING_ACTIONS]
        .map((schema) => schema.shape.action.def.values[0] as string)
        .filter((action) => action !== 'preview')
        .sort(),
    );
  });

  it('parse what the ASL sends, and refuse a payload missing a field', () => {
    const sync = WORKFLOW_ACTIONS[1];
    const input = { action: 'sync', payoutId: 'po_1', stage: 'pending', reminders: 0, signal: null };
    expect(sync.safeParse(input).success).toBe(true);
    expect(sync.safeParse({ ...input, signal: { Error: 'States.Timeout', Cause: 'x' } }).success).toBe(true);
    expect(sync.safeParse({ ...input, stage: 'nowhere' }).success).toBe(false);
    const { reminders: _, ...withoutReminders } = input;
    expect(sync.safeParse(withoutReminders).success).toBe(false);
  });
});

describe('the ASL file', () => {
  const raw = JSON.parse(readFileSync(WORKFLOW_FILE, 'utf8')) as Definition;

  it('points the reader to the transition table, which exists', () => {
    expect(raw.Comment).toContain('shared/domain/payout-rules.ts');
    expect(existsSync(new URL('../../shared/domain/payout-rules.ts', import.meta.url))).toBe(true);
  });

  it("leaves the callback waits' TimeoutSeconds to definition.ts (one source per number)", () => {
    const callbackStates = Object.entries(raw.States).filter(
      ([, state]) => state.Resource === CALLBACK_RESOURCE,
    );
    expect(callbackStates.length).toBe(5);
    for (const [name, state] of callbackStates) expect(state.TimeoutSeconds, name).toBeUndefined();
  });
});
