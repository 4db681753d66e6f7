/**
 * Scheduled drafting as CloudFormation (bundling skipped, as in stack.test.ts): the EventBridge
 * Scheduler schedule (cron, time zone, retries, DLQ) targeting the drafting Lambda; the drafting Lambda
 * (15 minutes, its settings, its own name, invoking itself, starting workflow executions); the
 * payout-runs API function allowed to hand a run to it.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { toScheduleExpression } from '../../infra/constructs/drafting.ts';
import { asList, flatten, type Json, nagSynth, roleStatements, synth } from '../support/cdk.ts';

/** The functions whose environment has `name` = `value` (or just has `name`). */
function functionsWith(template: Template, name: string, value?: unknown): [string, Json][] {
  return Object.entries<Json>(template.findResources('AWS::Lambda::Function')).filter(([, fn]) => {
    const variables = fn.Properties.Environment?.Variables ?? {};
    return (
      name in variables && (value === undefined || JSON.stringify(variables[name]) === JSON.stringify(value))
    );
  });
}

/**
 * The drafting schedule (a cron; the webhooks' outbox sweep is a rate, the controls' daily digest a
 * schedule of the Controls construct).
 */
function draftingSchedule(template: Template): Json {
  const found = Object.entries<Json>(template.findResources('AWS::Scheduler::Schedule'))
    .filter(
      ([id, schedule]) =>
        !id.startsWith('Controls') && String(schedule.Properties.ScheduleExpression).startsWith('cron('),
    )
    .map(([, schedule]) => schedule);
  expect(found).toHaveLength(1);
  return found[0];
}

function draftingFunction(template: Template): [string, Json] {
  const found = Object.entries<Json>(template.findResources('AWS::Lambda::Function')).filter(
    ([, fn]) => fn.Properties.FunctionName === 'Test-drafting',
  );
  expect(found).toHaveLength(1);
  return found[0] as [string, Json];
}

function payoutRunsFunction(template: Template): [string, Json] {
  const found = Object.entries<Json>(template.findResources('AWS::Lambda::Function')).filter(
    ([, fn]) => fn.Properties.Description === 'Payout runs: drafting now, run results',
  );
  expect(found).toHaveLength(1);
  return found[0] as [string, Json];
}

const allows = (statement: Json, action: string) =>
  statement.Effect === 'Allow' && asList<string>(statement.Action).includes(action);

describe('scheduled drafting stack', () => {
  let template: Template;
  let scheduleProps: Json;
  let fnId: string;
  let fn: Json;

  beforeAll(() => {
    template = synth().template;
    scheduleProps = draftingSchedule(template).Properties;
    [fnId, fn] = draftingFunction(template);
  });

  it('schedules drafting on the 1st of each month at 02:00 UTC by default', () => {
    expect(scheduleProps.ScheduleExpression).toBe('cron(0 2 1 * ? *)');
    expect(scheduleProps.ScheduleExpressionTimezone).toBe('UTC');
    expect(scheduleProps.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
    expect(scheduleProps.State ?? 'ENABLED').toBe('ENABLED');
  });

  it('targets the drafting function, with retries and a dead-letter queue', () => {
    const target = scheduleProps.Target;
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    expect(JSON.parse(target.Input)).toEqual({});
    expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(target.RetryPolicy.MaximumEventAgeInSeconds).toBeGreaterThan(0);
    const [dlqId] = target.DeadLetterConfig.Arn['Fn::GetAtt'] as [string, string];
    const dlq = template.findResources('AWS::SQS::Queue')[dlqId];
    expect(dlq, 'the DLQ is a queue of the stack').toBeDefined();
    expect(dlq?.Properties.SqsManagedSseEnabled ?? dlq?.Properties.KmsMasterKeyId).toBeTruthy();

    // The scheduler's role may invoke the function and send to the DLQ.
    const statements = roleStatements(template, target.RoleArn);
    expect(
      statements.some(
        (statement) =>
          allows(statement, 'lambda:InvokeFunction') &&
          asList(statement.Resource).map(flatten).includes(`{GetAtt:${fnId}.Arn}`),
      ),
    ).toBe(true);
    expect(
      statements.some(
        (statement) =>
          allows(statement, 'sqs:SendMessage') &&
          asList(statement.Resource).map(flatten).includes(`{GetAtt:${dlqId}.Arn}`),
      ),
    ).toBe(true);
    // Failed runs, after Lambda's own retries, land in the same queue.
    expect(fn.Properties.DeadLetterConfig.TargetArn).toEqual({ 'Fn::GetAtt': [dlqId, 'Arn'] });
    const configs = Object.values<Json>(template.findResources('AWS::Lambda::EventInvokeConfig')).filter(
      (config) => config.Properties.FunctionName.Ref === fnId,
    );
    expect(configs).toHaveLength(1);
    expect(configs[0].Properties.MaximumRetryAttempts).toBe(2);
  });

  it('runs the drafting function for up to 15 minutes with the drafting settings and its own name', () => {
    expect(fn.Properties.Timeout).toBe(900);
    expect(fn.Properties.MemorySize).toBe(1024);
    const variables = fn.Properties.Environment.Variables;
    expect(variables).toMatchObject({
      HOLDING_PERIOD_DAYS: '0',
      MIN_PAYOUT_AMOUNTS: '',
      DRAFTING_FUNCTION_NAME: 'Test-drafting',
    });
    expect(variables.TABLE_NAME).toBeDefined();
    expect(flatten(variables.STATE_MACHINE_ARN)).toContain('stateMachine:Test-payout');
  });

  it('lets the drafting function invoke itself, start workflow executions and use the table', () => {
    const statements = roleStatements(template, fn.Properties.Role);
    const invoke = statements.filter((statement) => allows(statement, 'lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect(asList(invoke[0]?.Resource).map(flatten)).toEqual([
      expect.stringMatching(/:lambda:.*:function:Test-drafting$/),
    ]);
    const start = statements.filter((statement) => allows(statement, 'states:StartExecution'));
    expect(start.length).toBeGreaterThan(0);
    for (const statement of start) expect(flatten(statement.Resource)).not.toBe('*');
    expect(statements.some((statement) => allows(statement, 'states:SendTaskSuccess'))).toBe(false);
    expect(statements.some((statement) => allows(statement, 'dynamodb:UpdateItem'))).toBe(true);
    expect(statements.some((statement) => allows(statement, 'dynamodb:BatchWriteItem'))).toBe(true);
  });

  it('lets the payout-runs API function hand a run to the drafting function', () => {
    const [, api] = payoutRunsFunction(template);
    const variables = api.Properties.Environment.Variables;
    expect(variables).toMatchObject({
      DRAFTING_FUNCTION_NAME: 'Test-drafting',
      HOLDING_PERIOD_DAYS: '0',
      MIN_PAYOUT_AMOUNTS: '',
    });
    for (const name of ['TABLE_NAME', 'IDEMPOTENCY_TABLE_NAME', 'STATE_MACHINE_ARN']) {
      expect(variables[name], name).toBeDefined();
    }
    const statements = roleStatements(template, api.Properties.Role);
    expect(
      statements.some(
        (statement) =>
          allows(statement, 'lambda:InvokeFunction') &&
          asList(statement.Resource).map(flatten).includes(`{GetAtt:${fnId}.Arn}`),
      ),
    ).toBe(true);
    expect(statements.some((statement) => allows(statement, 'states:StartExecution'))).toBe(true);
    // Only the drafting and payout-runs functions are told the drafting function's name.
    expect(
      functionsWith(template, 'DRAFTING_FUNCTION_NAME')
        .map(([id]) => id)
        .sort(),
    ).toEqual([fnId, payoutRunsFunction(template)[0]].sort());
  });

  it('follows the configured schedule, time zone and drafting settings', () => {
    const custom = synth({
      payoutSchedule: 'cron(30 6 ? * MON *)',
      payoutScheduleTz: 'Europe/Paris',
      holdingPeriodDays: '14',
      minPayoutAmounts: 'EUR:5000,USD:5000',
    }).template;
    const props = draftingSchedule(custom).Properties;
    expect(props.ScheduleExpression).toBe('cron(30 6 ? * MON *)');
    expect(props.ScheduleExpressionTimezone).toBe('Europe/Paris');
    const [, customFn] = draftingFunction(custom);
    expect(customFn.Properties.Environment.Variables).toMatchObject({
      HOLDING_PERIOD_DAYS: '14',
      MIN_PAYOUT_AMOUNTS: 'EUR:5000,USD:5000',
    });
    expect(payoutRunsFunction(custom)[1].Properties.Environment.Variables).toMatchObject({
      HOLDING_PERIOD_DAYS: '14',
      MIN_PAYOUT_AMOUNTS: 'EUR:5000,USD:5000',
    });
    // A bare six-field expression is wrapped.
    const bare = synth({ payoutSchedule: '0 3 15 * ? *' }).template;
    expect(draftingSchedule(bare).Properties.ScheduleExpression).toBe('cron(0 3 15 * ? *)');
  });

  it('passes cdk-nag AWS Solutions checks: schedule, its role, the DLQ and both functions', () => {
    // The whole stack is clean (test/infra/nag.test.ts); what matters here is the drafting part:
    // the scheduler's role invokes the function itself (no `:*`), the DLQ is used as one.
    const { findings } = nagSynth();
    const rulesUnder = (prefix: string) =>
      findings.filter((finding) => finding.path.startsWith(prefix)).map((finding) => finding.rule);
    expect(rulesUnder('Nag/Drafting/')).toEqual([]);
    expect(rulesUnder('Nag/SchedulerRoleForTarget')).toEqual([]);
    expect(rulesUnder('Nag/Api/Fn-payout-runs/')).toEqual([]);
  });

  it('refuses a malformed schedule, time zone or minimum at synth', () => {
    expect(() => synth({ payoutSchedule: 'every month' }).template).toThrow(/payoutSchedule/);
    expect(() => synth({ payoutScheduleTz: 'Mars/Olympus' }).template).toThrow(/payoutScheduleTz/);
    expect(() => synth({ minPayoutAmounts: 'EUR=5000' }).template).toThrow(/MIN_PAYOUT_AMOUNTS/);
  });
});

describe('toScheduleExpression', () => {
  it('keeps Scheduler expressions and wraps a bare cron', () => {
    expect(toScheduleExpression('cron(0 2 1 * ? *)')).toBe('cron(0 2 1 * ? *)');
    expect(toScheduleExpression(' 0 2 1 * ? * ')).toBe('cron(0 2 1 * ? *)');
    expect(toScheduleExpression('rate(1 day)')).toBe('rate(1 day)');
    expect(() => toScheduleExpression('0 2 1 * *')).toThrow();
  });
});
