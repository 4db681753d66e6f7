/**
 * Controls before money leaves (roles are in the API construct): the holds function's grants, the
 * approval thresholds of the functions that check them, and the events holds and payout-method
 * changes publish (`hold.*`, `partner.payout_method_changed`, e-mailed by the notifier).
 */
import { Arn, Duration, type RemovalPolicy, Stack, TimeZone } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { EventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { DIGEST_SCHEDULE } from '#shared/config/controls.ts';
import { ENV } from '#shared/config/env.ts';
import { parseThresholds } from '#shared/domain/controls.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';
import { InvokeFunction } from './drafting.ts';
import { HouseFunction } from './house-function.ts';
import { acknowledgeWildcardResource, NAG_REASONS } from './nag.ts';

export interface ControlsProps {
  table: ITable;
  idempotencyTable: ITable;
  bus: EventBus;
  /** `EUR:100000,USD:100000` (minor units); empty: no approval needed. */
  approvalThresholds: string;
  /** The holds function. */
  holds: HouseFunction;
  /** Lets a function answer and start payout workflows (hold confirmation sends payouts back to draft). */
  bindWorkflow: (fn: HouseFunction) => void;
  mailFrom: string;
  /** Who hears of approvals waiting, and of holds due for review (default both: managerEmail). */
  financeEmail: string;
  programManagersEmail: string;
  portalUrl: string;
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
}

export class Controls extends Construct {
  /** The daily digest: approvals waiting (finance), holds past their review date (program managers). */
  readonly digest: HouseFunction;
  readonly digestDlq: DeadLetterQueue;
  private readonly bus: EventBus;
  private readonly approvalThresholds: string;

  constructor(scope: Construct, id: string, props: ControlsProps) {
    super(scope, id);
    this.bus = props.bus;
    this.approvalThresholds = props.approvalThresholds;
    props.holds
      .bindTable(ENV.tableName, props.table, 'readWrite')
      .bindTable(ENV.idempotencyTableName, props.idempotencyTable, 'readWrite');
    this.publishFrom(props.holds);
    props.bindWorkflow(props.holds);
    parseThresholds(props.approvalThresholds);

    this.digestDlq = new DeadLetterQueue(this, 'DigestDlq');
    this.digest = new HouseFunction(this, 'DigestFn', {
      entry: 'controls-digest',
      description:
        'Daily e-mail: payouts waiting for approval (finance), holds due for review (program managers)',
      memorySize: 512,
      timeout: Duration.minutes(1),
      deadLetterQueue: this.digestDlq,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    })
      .bindTable(ENV.tableName, props.table, 'read')
      .setEnv(ENV.mailFrom, props.mailFrom)
      .setEnv(ENV.managerEmail, props.financeEmail)
      .setEnv(ENV.financeEmail, props.financeEmail)
      .setEnv(ENV.programManagersEmail, props.programManagersEmail)
      .setEnv(ENV.portalUrl, props.portalUrl);
    this.checkApprovals(this.digest);
    const identities = Arn.format(
      { service: 'ses', resource: 'identity', resourceName: '*' },
      Stack.of(this),
    );
    this.digest.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [identities],
        conditions: { StringEquals: { 'ses:FromAddress': props.mailFrom } },
      }),
    );
    acknowledgeWildcardResource(this.digest.role, identities, NAG_REASONS.sesIdentity);
    new Schedule(this, 'DigestSchedule', {
      description: 'The controls digest, once a day',
      schedule: ScheduleExpression.expression(DIGEST_SCHEDULE, TimeZone.ETC_UTC),
      target: new InvokeFunction(this.digest.fn, {
        input: ScheduleTargetInput.fromObject({}),
        deadLetterQueue: this.digestDlq,
        retryAttempts: 4,
        maxEventAge: Duration.hours(6),
      }),
    });
  }

  /** The function publishes control events (holds placed automatically, payout-method changes). */
  publishFrom(fn: HouseFunction): void {
    fn.setEnv(ENV.eventBusName, this.bus.eventBusName);
    this.bus.grantPutEventsTo(fn.fn);
  }

  /** The function checks four-eyes approval (payouts: approve, mark paid; exports). */
  checkApprovals(fn: HouseFunction): void {
    if (this.approvalThresholds) fn.setEnv(ENV.approvalThresholds, this.approvalThresholds);
  }
}
