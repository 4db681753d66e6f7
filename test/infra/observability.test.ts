/**
 * Logs, throttling, dead-letter queues, alarms and the dashboard as CloudFormation (bundling skipped,
 * as in stack.test.ts; one synthesis of the stack for the file): the API's `$default` stage logs JSON
 * to a log group with retention and throttles by default; every log group has a retention; the state
 * machine logs ALL and is traced; every asynchronous target has a DLQ; every house function, the API,
 * the state machine, every DLQ and the table have their alarms, all notifying the encrypted alarm
 * topic; one dashboard shows the payout flow.
 */
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { DefinitionBody, Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config.ts';
import { Observability } from '../../infra/constructs/observability.ts';
import type { PayoutsStack } from '../../infra/payouts-stack.ts';
import { asList, flatten, type Json, synth } from '../support/cdk.ts';

interface AlarmMetric {
  name: string;
  dimensions: Record<string, string>;
}

/** The metrics an alarm watches: its own, or those of its math expression. */
function alarmMetrics(alarm: Json): AlarmMetric[] {
  const dimensions = (list: Json[] | undefined) =>
    Object.fromEntries(asList(list).map((dimension: Json) => [dimension.Name, flatten(dimension.Value)]));
  if (alarm.Properties.MetricName) {
    return [{ name: alarm.Properties.MetricName, dimensions: dimensions(alarm.Properties.Dimensions) }];
  }
  return asList<Json>(alarm.Properties.Metrics)
    .filter((metric) => metric.MetricStat)
    .map((metric) => ({
      name: metric.MetricStat.Metric.MetricName,
      dimensions: dimensions(metric.MetricStat.Metric.Dimensions),
    }));
}

describe('observability', () => {
  let stack: PayoutsStack;
  let template: Template;
  let resources: Record<string, Json>;
  let alarms: Json[];
  let houseFunctionIds: string[];
  let topicId: string;

  const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
  const only = (type: string): [string, Json] => {
    const entries = ofType(type);
    expect(entries, type).toHaveLength(1);
    return entries[0] as [string, Json];
  };
  /** Queues that something names as its dead-letter queue (a work queue is not one). */
  const deadLetterQueueIds = () => {
    const named = new Set<string>();
    const collect = (value: Json, underDeadLetter: boolean): void => {
      if (Array.isArray(value)) for (const item of value) collect(item, underDeadLetter);
      else if (value && typeof value === 'object') {
        for (const [key, inner] of Object.entries(value)) {
          if (underDeadLetter && key === 'Fn::GetAtt') named.add((inner as string[])[0] as string);
          collect(inner, underDeadLetter || /deadletter/i.test(key));
        }
      }
    };
    for (const resource of Object.values(resources)) collect(resource.Properties ?? {}, false);
    return ofType('AWS::SQS::Queue')
      .map(([id]) => id)
      .filter((id) => named.has(id));
  };
  const alarmsOn = (name: string) =>
    alarms.filter((alarm) => alarmMetrics(alarm).some((m) => m.name === name));

  beforeAll(() => {
    ({ stack, template } = synth());
    resources = template.toJSON().Resources;
    alarms = ofType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm);
    houseFunctionIds = ofType('AWS::Lambda::Function')
      .filter(([, fn]) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'partner-payouts')
      .map(([id]) => id);
    topicId = stack.getLogicalId(stack.observability.topic.node.defaultChild as never);
  });

  it('logs every API request as JSON to a log group with retention', () => {
    const [, stage] = only('AWS::ApiGatewayV2::Stage');
    expect(stage.Properties.StageName).toBe('$default');
    expect(stage.Properties.AutoDeploy).toBe(true);
    const settings = stage.Properties.AccessLogSettings;
    const [logGroupId] = settings.DestinationArn['Fn::GetAtt'];
    expect(resources[logGroupId].Type).toBe('AWS::Logs::LogGroup');
    expect(resources[logGroupId].Properties.RetentionInDays).toBe(30);
    const format = JSON.parse(settings.Format);
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      responseLatency: '$context.responseLatency',
      integrationError: '$context.integrationErrorMessage',
    });
    // Nothing that could carry a token or personal data beyond the caller's IP and subject.
    expect(settings.Format).not.toMatch(/header|body|authorizer\.claims\.email/i);
  });

  it('throttles the default stage with the configured defaults', () => {
    const [, stage] = only('AWS::ApiGatewayV2::Stage');
    expect(stage.Properties.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: 100,
      ThrottlingBurstLimit: 200,
    });
  });

  it('reads the throttling from the context, refusing zero', () => {
    const app = new App({ context: { apiThrottleRateLimit: '25', apiThrottleBurstLimit: '50' } });
    expect(loadConfig(app.node)).toMatchObject({ apiThrottleRateLimit: 25, apiThrottleBurstLimit: 50 });
    expect(() => loadConfig(new App({ context: { apiThrottleRateLimit: '0' } }).node)).toThrow(
      /apiThrottleRateLimit/,
    );
  });

  it('gives every log group a retention', () => {
    const groups = ofType('AWS::Logs::LogGroup');
    // A group per house function, the API's access logs, the state machine's.
    expect(groups.length).toBe(houseFunctionIds.length + 2);
    for (const [id, group] of groups) expect(group.Properties.RetentionInDays, id).toBeGreaterThan(0);
  });

  it('logs ALL of the state machine, with execution data, and traces it', () => {
    const [, machine] = only('AWS::StepFunctions::StateMachine');
    expect(machine.Properties.LoggingConfiguration).toMatchObject({
      Level: 'ALL',
      IncludeExecutionData: false,
    });
    expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
  });

  it('gives every asynchronous target a dead-letter queue', () => {
    const queues = new Set(ofType('AWS::SQS::Queue').map(([id]) => id));
    const isQueue = (arn: Json) => queues.has(arn?.['Fn::GetAtt']?.[0]);
    // Targets of EventBridge rules and schedules: a DLQ for what could not be delivered.
    for (const [id, rule] of ofType('AWS::Events::Rule')) {
      for (const target of rule.Properties.Targets as Json[]) {
        expect(isQueue(target.DeadLetterConfig?.Arn), id).toBe(true);
      }
    }
    for (const [id, schedule] of ofType('AWS::Scheduler::Schedule')) {
      expect(isQueue(schedule.Properties.Target.DeadLetterConfig?.Arn), id).toBe(true);
    }
    // Functions invoked asynchronously (rules, schedules, S3 notifications, themselves): a DLQ for
    // events that failed every retry.
    const asyncFunctionIds = new Set<string>(
      [
        ...ofType('AWS::Events::Rule').flatMap(([, rule]) =>
          (rule.Properties.Targets as Json[]).map((target) => target.Arn['Fn::GetAtt']?.[0]),
        ),
        ...ofType('AWS::Scheduler::Schedule').map(
          ([, schedule]) => schedule.Properties.Target.Arn['Fn::GetAtt']?.[0],
        ),
        ...ofType('Custom::S3BucketNotifications').flatMap(([, notifications]) =>
          asList<Json>(notifications.Properties.NotificationConfiguration.LambdaFunctionConfigurations).map(
            (configuration) => configuration.LambdaFunctionArn['Fn::GetAtt'][0],
          ),
        ),
        ...ofType('AWS::Lambda::EventInvokeConfig').map(([, config]) => config.Properties.FunctionName.Ref),
        // (a rule may target a queue: the webhooks' rule; the queue has its DLQ, checked above)
      ].filter((id) => resources[id]?.Type === 'AWS::Lambda::Function'),
    );
    // notifier, drafting, invoice checker, bank-report checker, webhook delivery (its sweep), reconciler, and later ones
    expect(asyncFunctionIds.size).toBeGreaterThanOrEqual(6);
    for (const id of asyncFunctionIds) {
      expect(isQueue(resources[id]?.Properties.DeadLetterConfig?.TargetArn), id).toBe(true);
    }
  });

  it('alarms on errors and throttles of every house function', () => {
    expect(houseFunctionIds.length).toBeGreaterThanOrEqual(11);
    for (const name of ['Errors', 'Throttles']) {
      const watched = alarmsOn(name).map((alarm) => alarmMetrics(alarm)[0]?.dimensions.FunctionName);
      expect(watched.sort(), name).toEqual(houseFunctionIds.map((id) => `{Ref:${id}}`).sort());
    }
  });

  it('alarms on API 5xx, failed and timed-out executions', () => {
    const [apiId] = only('AWS::ApiGatewayV2::Api');
    const [machineId] = only('AWS::StepFunctions::StateMachine');
    expect(alarmsOn('5xx').map((alarm) => alarmMetrics(alarm)[0]?.dimensions)).toEqual([
      { ApiId: `{Ref:${apiId}}` },
    ]);
    for (const name of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      expect(
        alarmsOn(name).map((alarm) => alarmMetrics(alarm)[0]?.dimensions),
        name,
      ).toEqual([{ StateMachineArn: `{Ref:${machineId}}` }]);
    }
  });

  it('alarms as soon as any dead-letter queue holds a message', () => {
    const queueIds = deadLetterQueueIds();
    expect(queueIds.length).toBeGreaterThanOrEqual(4);
    const depth = alarmsOn('ApproximateNumberOfMessagesVisible');
    expect(depth.map((alarm) => alarmMetrics(alarm)[0]?.dimensions.QueueName).sort()).toEqual(
      queueIds.map((id) => `{GetAtt:${id}.QueueName}`).sort(),
    );
    for (const alarm of depth) {
      expect(alarm.Properties).toMatchObject({
        Statistic: 'Maximum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });

  it('alarms on DynamoDB throttling of the payouts table', () => {
    const tableId = stack.getLogicalId(stack.data.table.node.defaultChild as never);
    const throttled = alarmsOn('ThrottledRequests');
    expect(throttled).toHaveLength(1);
    const operations = alarmMetrics(throttled[0]).map((metric) => metric.dimensions);
    expect(operations.map((dimensions) => dimensions.Operation).sort()).toEqual(
      ['BatchGetItem', 'BatchWriteItem', 'DeleteItem', 'GetItem', 'PutItem', 'Query', 'UpdateItem'].sort(),
    );
    for (const dimensions of operations) expect(dimensions.TableName).toBe(`{Ref:${tableId}}`);
    for (const name of ['ReadThrottleEvents', 'WriteThrottleEvents']) {
      const watching = alarmsOn(name);
      expect(watching, name).toHaveLength(1);
      expect(alarmMetrics(watching[0]).find((metric) => metric.name === name)?.dimensions).toEqual({
        TableName: `{Ref:${tableId}}`,
      });
    }
  });

  it('sends every alarm, and its recovery, to the alarm topic', () => {
    const depthAlarms = alarmsOn('ApproximateNumberOfMessagesVisible').length;
    expect(depthAlarms).toBeGreaterThanOrEqual(deadLetterQueueIds().length);
    const otherAlarms = alarms.length - 2 * houseFunctionIds.length - depthAlarms;
    // API 5xx, executions failed and timed out, the table's throttling; later features may add more
    expect(otherAlarms).toBeGreaterThanOrEqual(1 + 2 + 2);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
      expect(alarm.Properties.AlarmDescription).toBeTruthy();
    }
  });

  it('encrypts the topic with a rotated key CloudWatch may use, and takes TLS only', () => {
    const topic = resources[topicId];
    const [keyId] = topic.Properties.KmsMasterKeyId['Fn::GetAtt'];
    const key = resources[keyId];
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const cloudwatch = asList<Json>(key.Properties.KeyPolicy.Statement).find(
      (statement) => statement.Principal?.Service === 'cloudwatch.amazonaws.com',
    );
    expect(asList(cloudwatch?.Action).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    const policies = ofType('AWS::SNS::TopicPolicy').filter(([, policy]) =>
      asList<Json>(policy.Properties.Topics).some((topicRef) => topicRef.Ref === topicId),
    );
    const statements = policies.flatMap(([, policy]) =>
      asList<Json>(policy.Properties.PolicyDocument.Statement),
    );
    expect(
      statements.some(
        (statement) =>
          statement.Effect === 'Deny' && statement.Condition?.Bool?.['aws:SecureTransport'] === 'false',
      ),
    ).toBe(true);
    // No e-mail unless configured.
    expect(ofType('AWS::SNS::Subscription')).toEqual([]);
  });

  it('subscribes the configured alarm e-mail', () => {
    // The construct on its own, with stand-ins, rather than a second synthesis of the whole stack.
    const app = new App();
    const small = new Stack(app, 'Small');
    const parts = new Construct(small, 'Parts');
    const observability = new Observability(small, 'Observability', {
      functions: [],
      deadLetterQueues: [],
      httpApi: new HttpApi(parts, 'Api'),
      stateMachine: new StateMachine(parts, 'Machine', {
        definitionBody: DefinitionBody.fromChainable(new Pass(parts, 'Pass')),
      }),
      table: new TableV2(parts, 'Table', { partitionKey: { name: 'PK', type: AttributeType.STRING } }),
      alarmEmail: 'ops@example.com',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const topicRef = small.getLogicalId(observability.topic.node.defaultChild as never);
    Template.fromStack(small).hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: topicRef },
    });
  });

  it('has one dashboard for the payout flow: API, executions, functions, DLQs and the table', () => {
    const [, dashboard] = only('AWS::CloudWatch::Dashboard');
    expect(dashboard.Properties.DashboardName).toBe('Test-payout-flow');
    const body = flatten(dashboard.Properties.DashboardBody);
    for (const metric of [
      '"Count"',
      '"Latency"',
      '"4xx"',
      '"5xx"',
      '"ExecutionsStarted"',
      '"ExecutionsSucceeded"',
      '"ExecutionsFailed"',
      '"Errors"',
      '"Duration"',
      '"ApproximateNumberOfMessagesVisible"',
      '"ConsumedReadCapacityUnits"',
      '"ConsumedWriteCapacityUnits"',
      '"ThrottledRequests"',
      '"ReadThrottleEvents"',
      // the business metrics the drafting and workflow functions publish (Powertools EMF)
      '"PartnerPayouts","PayoutsDrafted","service","partner-payouts"',
      '"PartnerPayouts","PayoutsPaid","service","partner-payouts"',
      '"RewardsClaimed"',
      '"RewardsPaid"',
    ]) {
      expect(body, metric).toContain(metric);
    }
    // Every house function and every DLQ has its line.
    for (const id of houseFunctionIds) expect(body, id).toContain(`{Ref:${id}}`);
    for (const id of deadLetterQueueIds()) expect(body, id).toContain(`{GetAtt:${id}.QueueName}`);
  });
});
