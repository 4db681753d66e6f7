/**
 * Signed webhooks: every domain event on the bus (source `partner-payouts`, any type) goes by an
 * EventBridge rule to one SQS queue (DLQ after 5 receives); the delivery Lambda consumes it, fans
 * each event out into one message per subscribed endpoint on the same queue, and attempts
 * deliveries. A retry waits as an SQS message delay (up to 15 minutes) or, longer, as an EventBridge
 * Scheduler one-time schedule in its own group that sends the message back to the queue and deletes
 * itself. The API's `webhooks` function manages the endpoints, sends `test` events and queues replays.
 *
 * How long each piece keeps a message: the queue 4 days (a message is handled within seconds; only
 * a delivery that keeps throwing stays, up to 5 receives), the DLQ 14 days, a schedule until it
 * fires (≤ 24 h, then deleted; its own retries 24 h, then the DLQ), the rule's target retries 24 h
 * (then the DLQ).
 *
 * The same function sweeps the outbox every 5 minutes (../../shared/adapters/outbox.ts): events
 * recorded with a change (`reward.created`, `export.created`, `payout_run.completed`) that the
 * request or run did not get to publish.
 */
import { Arn, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression, ScheduleGroup, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '#shared/adapters/events.ts';
import { ENV } from '#shared/config/env.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';
import { InvokeFunction } from './drafting.ts';
import { HouseFunction } from './house-function.ts';
import { acknowledgeWildcardResource, NAG_REASONS } from './nag.ts';

export interface WebhooksProps {
  table: ITable;
  bus: IEventBus;
  mailFrom: string;
  managerEmail: string;
  /** `WEBHOOK_RETRY_SCHEDULE`; empty for the default (~5 s … 24 h, about three days). */
  retrySchedule?: string;
  disableAfterDays?: number;
  logDays?: number;
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
}

const DELIVERY_TIMEOUT = Duration.seconds(60);

export class Webhooks extends Construct {
  readonly queue: Queue;
  readonly dlq: DeadLetterQueue;
  readonly delivery: HouseFunction;
  readonly schedulerRole: Role;
  readonly scheduleGroup: ScheduleGroup;
  readonly sweep: Schedule;
  private readonly props: WebhooksProps;

  constructor(scope: Construct, id: string, props: WebhooksProps) {
    super(scope, id);
    this.props = props;
    this.dlq = new DeadLetterQueue(this, 'Dlq');
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      // Six times the function's timeout, as Lambda's SQS event source recommends.
      visibilityTimeout: Duration.seconds(DELIVERY_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.dlq, maxReceiveCount: 5 },
    });
    this.scheduleGroup = new ScheduleGroup(this, 'Retries', {
      removalPolicy: props.removalPolicy,
    });
    this.schedulerRole = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'EventBridge Scheduler: sends due webhook retries to the webhook queue (or its DLQ)',
    });
    this.queue.grantSendMessages(this.schedulerRole);
    this.dlq.grantSendMessages(this.schedulerRole);

    this.delivery = new HouseFunction(this, 'DeliveryFn', {
      entry: 'webhook-delivery',
      description: 'Webhooks: fans domain events out to endpoints, signs and delivers them, retries',
      memorySize: 512,
      timeout: DELIVERY_TIMEOUT,
      // The sweep's schedule invokes it asynchronously: an invocation that failed every retry lands here.
      deadLetterQueue: this.dlq,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.bind(this.delivery);
    this.delivery.fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
        maxConcurrency: 20,
      }),
    );

    // Events recorded with a change but never published (a crash in between) go out within minutes.
    this.sweep = new Schedule(this, 'OutboxSweep', {
      description: 'Publishes domain events recorded with a change but not published (outbox sweep)',
      schedule: ScheduleExpression.rate(Duration.minutes(5)),
      target: new InvokeFunction(this.delivery.fn, {
        input: ScheduleTargetInput.fromObject({ kind: 'sweep' }),
        deadLetterQueue: this.dlq,
        retryAttempts: 2,
        maxEventAge: Duration.minutes(10),
      }),
    });
    props.bus.grantPutEventsTo(this.delivery.fn);
    this.delivery.setEnv(ENV.eventBusName, props.bus.eventBusName);

    new Rule(this, 'Rule', {
      eventBus: props.bus,
      description: 'Every domain event, for the webhook fan-out (endpoints subscribe by type)',
      eventPattern: { source: [EVENT_SOURCE] },
      targets: [
        new SqsQueue(this.queue, {
          deadLetterQueue: this.dlq,
          retryAttempts: 8,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
  }

  /**
   * A function that delivers or queues webhooks (the delivery function, the API's `webhooks`
   * function): the table, the queue, one-time schedules in the group with the scheduler role, the
   * manager's e-mail, and the settings.
   */
  bind(fn: HouseFunction): void {
    const { props } = this;
    const stack = Stack.of(this);
    fn.bindTable(ENV.tableName, props.table, 'readWrite')
      .setEnv(ENV.webhookQueueUrl, this.queue.queueUrl)
      .setEnv(ENV.webhookQueueArn, this.queue.queueArn)
      .setEnv(ENV.webhookDlqArn, this.dlq.queueArn)
      .setEnv(ENV.webhookSchedulerRoleArn, this.schedulerRole.roleArn)
      .setEnv(ENV.webhookScheduleGroup, this.scheduleGroup.scheduleGroupName)
      .setEnv(ENV.mailFrom, props.mailFrom)
      .setEnv(ENV.managerEmail, props.managerEmail);
    if (props.retrySchedule) fn.setEnv(ENV.webhookRetrySchedule, props.retrySchedule);
    if (props.disableAfterDays !== undefined)
      fn.setEnv(ENV.webhookDisableAfterDays, String(props.disableAfterDays));
    if (props.logDays !== undefined) fn.setEnv(ENV.webhookLogDays, String(props.logDays));
    this.queue.grantSendMessages(fn.fn);
    const schedules = Arn.format(
      {
        service: 'scheduler',
        resource: 'schedule',
        resourceName: `${this.scheduleGroup.scheduleGroupName}/*`,
      },
      stack,
    );
    fn.fn.addToRolePolicy(
      new PolicyStatement({ actions: ['scheduler:CreateSchedule'], resources: [schedules] }),
    );
    acknowledgeWildcardResource(fn.role, schedules, NAG_REASONS.webhookSchedules);
    fn.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.schedulerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
    const identities = Arn.format({ service: 'ses', resource: 'identity', resourceName: '*' }, stack);
    fn.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [identities],
        conditions: { StringEquals: { 'ses:FromAddress': props.mailFrom } },
      }),
    );
    acknowledgeWildcardResource(fn.role, identities, NAG_REASONS.sesIdentity);
  }
}
