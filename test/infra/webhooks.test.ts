/**
 * Webhooks as CloudFormation (bundling skipped, as in stack.test.ts): every domain event of the bus
 * to one encrypted queue with a DLQ, consumed by the delivery function with partial batch failures;
 * retries beyond SQS's 15 minutes as one-time schedules in their own group, sent by a role that can
 * only send to the queue and its DLQ; both webhook functions scoped to that group and role.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PayoutsStack } from '../../infra/payouts-stack.ts';
import { type Json, synth } from '../support/cdk.ts';

let template: Template;
let stack: PayoutsStack;

beforeAll(() => {
  ({ stack, template } = synth());
});

const ref = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

describe('webhooks infrastructure', () => {
  it('routes every event of the project source to the queue, whatever its type', () => {
    const rules = Object.values<Json>(template.findResources('AWS::Events::Rule')).filter((rule) =>
      JSON.stringify(rule.Properties.Targets).includes(ref(stack.webhooks.queue)),
    );
    expect(rules).toHaveLength(1);
    expect(rules[0].Properties.EventPattern).toEqual({ source: ['partner-payouts'] });
    expect(rules[0].Properties.Targets[0]).toMatchObject({
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [ref(stack.webhooks.dlq), 'Arn'] } },
      RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 8 },
    });
  });

  it('keeps messages on an encrypted queue with a DLQ, consumed with partial batch failures', () => {
    const queue = template.toJSON().Resources[ref(stack.webhooks.queue)];
    expect(queue.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 4 * 86_400,
      VisibilityTimeout: 360,
      RedrivePolicy: { maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [ref(stack.webhooks.queue), 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('lets the scheduler role send to the queue and its DLQ only', () => {
    const roleId = ref(stack.webhooks.schedulerRole);
    const role = template.toJSON().Resources[roleId];
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
      Service: 'scheduler.amazonaws.com',
    });
    const policies = Object.values<Json>(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes(roleId),
    );
    const statements = policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    const resources = JSON.stringify(statements.map((statement: Json) => statement.Resource));
    expect(resources).toContain(ref(stack.webhooks.queue));
    expect(resources).toContain(ref(stack.webhooks.dlq));
    expect(statements.every((statement: Json) => JSON.stringify(statement.Action).includes('sqs:'))).toBe(
      true,
    );
  });

  it('gives both webhook functions the queue, schedules in their group, the role to pass, and their settings', () => {
    for (const fn of [stack.webhooks.delivery, stack.api.functions.webhooks]) {
      const id = stack.getLogicalId(fn.fn.node.defaultChild as never);
      const variables = template.toJSON().Resources[id].Properties.Environment.Variables;
      expect(Object.keys(variables)).toEqual(
        expect.arrayContaining([
          'TABLE_NAME',
          'WEBHOOK_QUEUE_URL',
          'WEBHOOK_QUEUE_ARN',
          'WEBHOOK_DLQ_ARN',
          'WEBHOOK_SCHEDULER_ROLE_ARN',
          'WEBHOOK_SCHEDULE_GROUP',
          'MAIL_FROM',
          'MANAGER_EMAIL',
        ]),
      );
      expect(variables).not.toHaveProperty('WEBHOOKS_ALLOW_PRIVATE');
      const roleId = stack.getLogicalId(fn.role.node.defaultChild as never);
      const statements = Object.values<Json>(template.findResources('AWS::IAM::Policy'))
        .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(roleId))
        .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
      const create = statements.find((statement: Json) => statement.Action === 'scheduler:CreateSchedule');
      expect(JSON.stringify(create.Resource)).toContain(':schedule/');
      const group = stack.resolve(stack.webhooks.scheduleGroup.scheduleGroupName);
      expect(JSON.stringify(create.Resource)).toContain(
        typeof group === 'string' ? `${group}/*` : JSON.stringify(group),
      );
      const pass = statements.find((statement: Json) => statement.Action === 'iam:PassRole');
      expect(pass.Resource).toEqual({ 'Fn::GetAtt': [ref(stack.webhooks.schedulerRole), 'Arn'] });
      expect(pass.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } });
    }
  });
});
