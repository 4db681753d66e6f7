/**
 * Alarms and the payout-flow dashboard. Every alarm notifies (and clears on) one SNS topic, encrypted
 * with a customer-managed key CloudWatch may use, with an optional e-mail subscription:
 * - each house function: Errors ≥ 1 and Throttles ≥ 1 in 5 minutes;
 * - the API: 5xx ≥ 1 in 5 minutes;
 * - the payout state machine: ExecutionsFailed ≥ 1 and ExecutionsTimedOut ≥ 1;
 * - each dead-letter queue: ApproximateNumberOfMessagesVisible > 0 (an event failed every retry);
 * - the table: ThrottledRequests (every operation the code uses) and Read/WriteThrottleEvents > 0.
 * The stack passes every house function and dead-letter queue it composed (found in the construct
 * tree), so a new one gets its alarms and its dashboard line without being listed here.
 */
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Operation, type TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { BUSINESS_METRICS, METRICS_NAMESPACE, SERVICE_NAME } from '#shared/config/metrics.ts';
import type { HouseFunction } from './house-function.ts';

export interface ObservabilityProps {
  functions: HouseFunction[];
  /** Labelled for alarms and the dashboard, e.g. `Invoices/CheckerDlq`. */
  deadLetterQueues: IQueue[];
  httpApi: IHttpApi;
  stateMachine: StateMachine;
  table: TableV2;
  /** Subscribed to the alarm topic when set. */
  alarmEmail?: string | undefined;
  removalPolicy: RemovalPolicy;
}

const PERIOD = Duration.minutes(5);

/** The DynamoDB operations the code issues (lib-dynamodb Get/BatchGet/Query/Put/Update/Delete/BatchWrite). */
const TABLE_OPERATIONS = [
  Operation.GET_ITEM,
  Operation.BATCH_GET_ITEM,
  Operation.QUERY,
  Operation.PUT_ITEM,
  Operation.UPDATE_ITEM,
  Operation.DELETE_ITEM,
  Operation.BATCH_WRITE_ITEM,
];

/** A queue's place in the stack, e.g. `Invoices/CheckerDlq`. */
function queueLabel(queue: IQueue): string {
  const stack = Stack.of(queue);
  return queue.node.scopes
    .slice(stack.node.scopes.length)
    .map((scope) => scope.node.id)
    .join('/');
}

/** `SUM` of several metrics, missing points counted as 0 (throttling metrics only exist when it happens). */
function sum(label: string, metrics: Record<string, IMetric>): MathExpression {
  return new MathExpression({
    expression: 'SUM(FILL(METRICS(), 0))',
    usingMetrics: metrics,
    label,
    period: PERIOD,
  });
}

export class Observability extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const names = props.functions.map((fn) => fn.name);
    const duplicate = names.find((name, index) => names.indexOf(name) !== index);
    if (duplicate) throw new Error(`Two house functions are named ${duplicate}: alarms need unique names`);

    // CloudWatch publishes to an encrypted topic only with a customer-managed key it may use.
    const key = new Key(this, 'AlarmKey', {
      description: `${stack.stackName}: encrypts the alarm topic`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(7),
      removalPolicy: props.removalPolicy,
    });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: `${stack.stackName} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.action = new SnsAction(this.topic);

    for (const fn of props.functions) {
      this.alarm(`${fn.name}-Errors`, fn.fn.metricErrors({ period: PERIOD, statistic: 'Sum' }), {
        threshold: 1,
        description: `${fn.name}: invocations failed (Lambda Errors) — see its log group`,
      });
      this.alarm(`${fn.name}-Throttles`, fn.fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }), {
        threshold: 1,
        description: `${fn.name}: invocations throttled (Lambda Throttles) — account or reserved concurrency`,
      });
    }

    this.alarm('Api-5xx', props.httpApi.metricServerError({ period: PERIOD, statistic: 'Sum' }), {
      threshold: 1,
      description: 'API: 5xx responses — see the access logs and the functions behind the route',
    });

    const { stateMachine } = props;
    this.alarm('Workflow-ExecutionsFailed', stateMachine.metricFailed({ period: PERIOD, statistic: 'Sum' }), {
      threshold: 1,
      description: 'Payout workflow: executions failed — a payout is stuck until someone looks',
    });
    this.alarm(
      'Workflow-ExecutionsTimedOut',
      stateMachine.metricTimedOut({ period: PERIOD, statistic: 'Sum' }),
      {
        threshold: 1,
        description: 'Payout workflow: executions timed out',
      },
    );

    for (const queue of props.deadLetterQueues) {
      const label = queueLabel(queue);
      this.alarm(
        `${label.replace(/\//g, '-')}-Depth`,
        queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
        {
          threshold: 0,
          operator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          description: `${label}: an asynchronous event failed every retry — inspect, fix, then redrive`,
        },
      );
    }

    const { table } = props;
    const throttledRequests = sum(
      'ThrottledRequests',
      Object.fromEntries(
        TABLE_OPERATIONS.map((operation) => [
          operation.charAt(0).toLowerCase() + operation.slice(1),
          table.metricThrottledRequestsForOperation(operation, { period: PERIOD, statistic: 'Sum' }),
        ]),
      ),
    );
    const throttleEvents = sum('Read + write throttle events', {
      read: table.metric('ReadThrottleEvents', { period: PERIOD, statistic: 'Sum' }),
      write: table.metric('WriteThrottleEvents', { period: PERIOD, statistic: 'Sum' }),
    });
    this.alarm('Table-ThrottledRequests', throttledRequests, {
      threshold: 0,
      operator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: 'Payouts table: requests throttled (ThrottledRequests)',
    });
    this.alarm('Table-ThrottleEvents', throttleEvents, {
      threshold: 0,
      operator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: 'Payouts table: read or write throttle events (ReadThrottleEvents, WriteThrottleEvents)',
    });

    this.dashboard = this.buildDashboard(props, { throttledRequests, throttleEvents });
  }

  private alarm(
    id: string,
    metric: IMetric,
    options: { threshold: number; description: string; operator?: ComparisonOperator },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      metric,
      threshold: options.threshold,
      comparisonOperator: options.operator ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }

  private buildDashboard(
    props: ObservabilityProps,
    table: { throttledRequests: IMetric; throttleEvents: IMetric },
  ): Dashboard {
    const { httpApi, stateMachine, functions } = props;
    const stack = Stack.of(this);
    const graph = (title: string, left: IMetric[], width = 8, right: IMetric[] = []) =>
      new GraphWidget({ title, left, right, width, height: 6, period: PERIOD });
    const per = (fn: HouseFunction, metric: Metric) => metric.with({ label: fn.name });

    const dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${stack.stackName}-payout-flow`,
      defaultInterval: Duration.hours(24),
    });
    dashboard.addWidgets(
      new TextWidget({
        markdown: `# ${stack.stackName}: payout flow\nAPI → workflow → asynchronous work (DLQs) → table. Alarms below notify the alarm topic.`,
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      graph('API requests', [httpApi.metricCount({ statistic: 'Sum', label: 'Requests' })]),
      graph('API latency (ms)', [
        httpApi.metricLatency({ statistic: 'p50', label: 'Latency p50' }),
        httpApi.metricLatency({ statistic: 'p99', label: 'Latency p99' }),
        httpApi.metricIntegrationLatency({ statistic: 'p99', label: 'Integration p99' }),
      ]),
      graph('API errors', [
        httpApi.metricClientError({ statistic: 'Sum', label: '4xx' }),
        httpApi.metricServerError({ statistic: 'Sum', label: '5xx' }),
      ]),
    );
    const business = (name: string, label: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: { service: SERVICE_NAME },
        statistic: 'Sum',
        label,
      });
    dashboard.addWidgets(
      graph(
        'Payouts drafted and paid',
        [
          business(BUSINESS_METRICS.payoutsDrafted, 'Drafted (scheduled runs)'),
          business(BUSINESS_METRICS.payoutsPaid, 'Paid'),
        ],
        12,
      ),
      graph(
        'Rewards claimed and paid',
        [
          business(BUSINESS_METRICS.rewardsClaimed, 'Claimed (scheduled runs)'),
          business(BUSINESS_METRICS.rewardsPaid, 'Paid'),
        ],
        12,
      ),
    );
    dashboard.addWidgets(
      graph(
        'Payout executions',
        [
          stateMachine.metricStarted({ statistic: 'Sum', label: 'Started' }),
          stateMachine.metricSucceeded({ statistic: 'Sum', label: 'Succeeded' }),
          stateMachine.metricFailed({ statistic: 'Sum', label: 'Failed' }),
          stateMachine.metricTimedOut({ statistic: 'Sum', label: 'Timed out' }),
          stateMachine.metricAborted({ statistic: 'Sum', label: 'Aborted (cancelled)' }),
        ],
        24,
      ),
    );
    dashboard.addWidgets(
      graph(
        'Lambda errors',
        functions.map((fn) => per(fn, fn.fn.metricErrors({ statistic: 'Sum' }))),
        12,
      ),
      graph(
        'Lambda duration p99 (ms)',
        functions.map((fn) => per(fn, fn.fn.metricDuration({ statistic: 'p99' }))),
        12,
      ),
    );
    dashboard.addWidgets(
      graph(
        'Dead-letter queue depth',
        props.deadLetterQueues.map((queue) =>
          queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: queueLabel(queue) }),
        ),
      ),
      graph('Table consumed capacity', [
        props.table.metricConsumedReadCapacityUnits({ statistic: 'Sum', label: 'Read units' }),
        props.table.metricConsumedWriteCapacityUnits({ statistic: 'Sum', label: 'Write units' }),
      ]),
      graph('Table throttling', [table.throttledRequests, table.throttleEvents]),
    );
    dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 6 }),
    );
    return dashboard;
  }
}
