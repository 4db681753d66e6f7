/**
 * The payout workflow as CloudFormation (bundling skipped, as in stack.test.ts): a Standard state
 * machine, fully logged and traced, running the ASL with bounded callback waits; task responses
 * granted on that state machine only; the notifier behind a rule with a DLQ; the workflow Lambda
 * configured with the reminder settings.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CALLBACK_RESOURCE } from '../../infra/workflow/definition.ts';
import { NOTIFIED_EVENT_TYPES } from '../../shared/domain/notifications.ts';
import { asList, flatten, type Json, only, type Statement, synth } from '../support/cdk.ts';

/** Every IAM statement of the template: policies, managed policies and roles' inline policies. */
function statements(template: Template): { owner: string; statement: Statement }[] {
  const found: { owner: string; statement: Statement }[] = [];
  const add = (owner: string, document: Json) => {
    for (const statement of asList<Statement>(document?.Statement)) found.push({ owner, statement });
  };
  for (const [id, resource] of Object.entries<Json>(template.findResources('AWS::IAM::Policy'))) {
    add(id, resource.Properties.PolicyDocument);
  }
  for (const [id, resource] of Object.entries<Json>(template.findResources('AWS::IAM::ManagedPolicy'))) {
    add(id, resource.Properties.PolicyDocument);
  }
  for (const [id, resource] of Object.entries<Json>(template.findResources('AWS::IAM::Role'))) {
    for (const policy of asList<Json>(resource.Properties.Policies)) add(id, policy.PolicyDocument);
  }
  return found;
}

function grants(statement: Statement, action: string): boolean {
  const [service] = action.split(':');
  return asList(statement.Action).some(
    (candidate) => candidate === action || candidate === '*' || candidate === `${service}:*`,
  );
}

describe('payout workflow stack', () => {
  let template: Template;
  let machineId: string;
  let machine: Json;
  let definition: { States: Record<string, Json> };

  beforeAll(() => {
    template = synth().template;
    [machineId, machine] = only(template, 'AWS::StepFunctions::StateMachine');
    definition = JSON.parse(machine.Properties.DefinitionString);
  });

  it('is a Standard state machine, logging ALL to its log group, traced', () => {
    const properties = machine.Properties;
    expect(properties.StateMachineType).toBe('STANDARD');
    expect(properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(properties.LoggingConfiguration.Level).toBe('ALL');
    expect(properties.LoggingConfiguration.IncludeExecutionData).toBe(false);
    const destinations = properties.LoggingConfiguration.Destinations as Json[];
    expect(destinations).toHaveLength(1);
    const logGroupArn = destinations[0].CloudWatchLogsLogGroup.LogGroupArn;
    const [logGroupId] = logGroupArn['Fn::GetAtt'] as [string, string];
    const logGroup = template.findResources('AWS::Logs::LogGroup')[logGroupId];
    expect(logGroup, 'the log group is part of the stack').toBeDefined();
    expect(logGroup?.Properties.RetentionInDays).toBeGreaterThan(0);
    expect(logGroup?.Properties.LogGroupName).toMatch(/^\/aws\/vendedlogs\/states\//);
  });

  it('waits on every callback task for the reminder interval and catches its timeout', () => {
    const callbacks = Object.entries(definition.States).filter(
      ([, state]) => state.Type === 'Task' && state.Resource === CALLBACK_RESOURCE,
    );
    expect(callbacks.length).toBe(5);
    for (const [name, state] of callbacks) {
      // The wait on a processing payout reminds the manager after PROCESSING_REMINDER_DAYS (5).
      expect(state.TimeoutSeconds, name).toBe(name === 'AwaitOutcome' ? 5 * 24 * 3600 : 3 * 24 * 3600);
      const catchers = (state.Catch ?? []) as { ErrorEquals: string[]; Next: string }[];
      expect(
        catchers.some((catcher) => catcher.ErrorEquals.includes('States.Timeout') && catcher.Next === 'Sync'),
        `${name} catches States.Timeout into Sync`,
      ).toBe(true);
    }
    for (const [name, state] of Object.entries(definition.States)) {
      if (state.Type === 'Task') expect(typeof state.TimeoutSeconds, name).toBe('number');
    }
  });

  it('substitutes the workflow and self-billing function ARNs, and only those, into the definition', () => {
    const placeholders = [...machine.Properties.DefinitionString.matchAll(/\$\{(\w+)\}/g)].map(
      (match: RegExpMatchArray) => match[1],
    );
    expect(new Set(placeholders)).toEqual(new Set(['WorkflowFunctionArn', 'SelfBillingFunctionArn']));
    const [selfBillingId] = machine.Properties.DefinitionSubstitutions.SelfBillingFunctionArn['Fn::GetAtt'];
    expect(
      template.findResources('AWS::Lambda::Function')[selfBillingId]?.Properties.Environment.Variables,
    ).toMatchObject({ COMPANY_NAME: 'Example Company B.V.', COMPANY_VAT_ID: 'NL004495445B01' });
    const substitution = machine.Properties.DefinitionSubstitutions.WorkflowFunctionArn;
    const [functionId] = substitution['Fn::GetAtt'] as [string, string];
    const fn = template.findResources('AWS::Lambda::Function')[functionId];
    expect(fn?.Properties.Environment.Variables).toMatchObject({
      REMINDER_INTERVAL_SECONDS: String(3 * 24 * 3600),
      MAX_REMINDERS: '5',
    });
    // The state machine's role may invoke it.
    const roleId = machine.Properties.RoleArn['Fn::GetAtt'][0] as string;
    const roleStatements = Object.values<Json>(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => asList<Json>(policy.Properties.Roles).some((role) => role.Ref === roleId))
      .flatMap((policy) => asList<Statement>(policy.Properties.PolicyDocument.Statement));
    const invoke = roleStatements.filter(
      (statement) =>
        grants(statement, 'lambda:InvokeFunction') &&
        asList<Json>(statement.Resource).map(flatten).includes(`{GetAtt:${functionId}.Arn}`),
    );
    expect(invoke.length).toBeGreaterThan(0);
  });

  it('grants states:SendTaskSuccess on the payout state machine only, never on *', () => {
    const name = machine.Properties.StateMachineName as string;
    expect(name).toBeTruthy();
    const sendTaskSuccess = statements(template).filter(({ statement }) =>
      grants(statement, 'states:SendTaskSuccess'),
    );
    // The two API groups that commit transitions, and the workflow Lambda (park answers at once).
    expect(sendTaskSuccess.length).toBeGreaterThanOrEqual(3);
    for (const { owner, statement } of sendTaskSuccess) {
      expect(statement.Effect, owner).toBe('Allow');
      const resources = asList<Json>(statement.Resource).map(flatten);
      expect(resources.length, owner).toBeGreaterThan(0);
      for (const resource of resources) {
        expect(resource, owner).not.toContain('*');
        // The construct's ARN, or the hand-built one (which must name the same state machine).
        const ok =
          resource === `{Ref:${machineId}}` ||
          resource ===
            `arn:{Ref:AWS::Partition}:states:{Ref:AWS::Region}:{Ref:AWS::AccountId}:stateMachine:${name}`;
        expect(ok, `${owner}: ${resource}`).toBe(true);
      }
    }
    // Nothing anywhere grants every states action on every resource.
    for (const { owner, statement } of statements(template)) {
      if (asList(statement.Action).some((action) => action.startsWith('states:'))) {
        expect(asList<Json>(statement.Resource).map(flatten), owner).not.toContain('*');
      }
    }
  });

  it('routes the notified events to the notifier, with retries and a DLQ', () => {
    const rules = Object.values<Json>(template.findResources('AWS::Events::Rule')).filter((rule) =>
      (rule.Properties.EventPattern?.['detail-type'] ?? []).includes('payout.validated'),
    );
    expect(rules).toHaveLength(1);
    const rule = rules[0];
    expect(rule.Properties.EventPattern).toEqual({
      source: ['partner-payouts'],
      'detail-type': [...NOTIFIED_EVENT_TYPES],
    });
    expect(rule.Properties.EventBusName).toBeDefined(); // the domain bus, not the default one
    const targets = rule.Properties.Targets as Json[];
    expect(targets).toHaveLength(1);
    const target = targets[0];
    const [notifierId] = target.Arn['Fn::GetAtt'] as [string, string];
    const notifier = template.findResources('AWS::Lambda::Function')[notifierId];
    expect(notifier?.Properties.Environment.Variables).toHaveProperty('MAIL_FROM');
    const [dlqId] = target.DeadLetterConfig.Arn['Fn::GetAtt'] as [string, string];
    expect(
      template.findResources('AWS::SQS::Queue')[dlqId],
      'the DLQ is an SQS queue of the stack',
    ).toBeDefined();
    expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    // EventBridge may write to the DLQ.
    const queuePolicies = Object.values<Json>(template.findResources('AWS::SQS::QueuePolicy')).filter(
      (policy) => asList<Json>(policy.Properties.Queues).some((queue) => queue.Ref === dlqId),
    );
    const allowsEvents = queuePolicies.some((policy) =>
      asList<Json>(policy.Properties.PolicyDocument.Statement).some(
        (statement) =>
          statement.Effect === 'Allow' &&
          statement.Principal?.Service === 'events.amazonaws.com' &&
          asList(statement.Action).includes('sqs:SendMessage'),
      ),
    );
    expect(allowsEvents).toBe(true);
  });

  it('follows the configured reminder interval and count', () => {
    const custom = synth({
      reminderIntervalSeconds: '3600',
      maxReminders: '2',
      processingReminderDays: '2',
    }).template;
    const [, customMachine] = only(custom, 'AWS::StepFunctions::StateMachine');
    const customDefinition = JSON.parse(customMachine.Properties.DefinitionString) as typeof definition;
    const timeouts = Object.entries(customDefinition.States)
      .filter(([, state]) => state.Resource === CALLBACK_RESOURCE)
      .map(([name, state]) => [name, state.TimeoutSeconds]);
    expect(Object.fromEntries(timeouts)).toEqual({
      AwaitManagerValidation: 3600,
      AwaitPartnerValidation: 3600,
      AwaitPayment: 3600,
      AwaitOutcome: 2 * 24 * 3600,
      AwaitReissue: 3600,
    });
    const [functionId] = customMachine.Properties.DefinitionSubstitutions.WorkflowFunctionArn['Fn::GetAtt'];
    expect(
      custom.findResources('AWS::Lambda::Function')[functionId]?.Properties.Environment.Variables,
    ).toMatchObject({
      REMINDER_INTERVAL_SECONDS: '3600',
      MAX_REMINDERS: '2',
      PROCESSING_REMINDER_DAYS: '2',
    });
  });
});
