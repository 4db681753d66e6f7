/**
 * The reconciler: a Lambda run by EventBridge Scheduler every `reconcileIntervalMinutes` (retries, a
 * dead-letter queue; its Errors/Throttles and DLQ alarms come from Observability like every other
 * function's), which restarts lost payout workflows (see shared/usecases/reconcile.ts). Its role
 * reads the payouts by status, records the workflow on a payout, describes executions and starts
 * them: nothing else.
 */
import { Arn, ArnFormat, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env.ts';
import { DEFAULT_RECONCILE_MARGIN_SECONDS } from '#shared/config/reconcile.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';
import { HouseFunction } from './house-function.ts';
import { acknowledgeWildcardResource, NAG_REASONS } from './nag.ts';

export interface ReconcilerProps {
  table: ITable;
  stateMachineArn: string;
  stateMachineName: string;
  /** The human waits' timeout (a workflow reports at least this often). */
  reminderIntervalSeconds: number;
  intervalMinutes: number;
  marginSeconds?: number;
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
}

/** The Scheduler target, granted on the function itself (not `:*`). */
class InvokeFunction extends LambdaInvoke {
  protected override addTargetActionToRole(role: IRole): void {
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.targetArn] }),
    );
  }
}

export class Reconciler extends Construct {
  readonly function: HouseFunction;
  readonly schedule: Schedule;
  readonly dlq: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    if (!Number.isSafeInteger(props.intervalMinutes) || props.intervalMinutes < 1) {
      throw new Error(`reconcileIntervalMinutes must be a positive integer, not ${props.intervalMinutes}`);
    }
    const stack = Stack.of(this);
    this.dlq = new DeadLetterQueue(this, 'Dlq');
    this.function = new HouseFunction(this, 'ReconcilerFn', {
      entry: 'reconciler',
      description: 'Restarts lost payout workflows (and runs the other recoverers)',
      timeout: Duration.minutes(5),
      memorySize: 512,
      deadLetterQueue: this.dlq,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    })
      // The payout workflows (status index, payout item) and exports left building (rolled back).
      .bindTable(ENV.tableName, props.table, 'readWrite')
      .setEnv(ENV.stateMachineArn, props.stateMachineArn)
      .setEnv(ENV.reminderIntervalSeconds, String(props.reminderIntervalSeconds))
      .setEnv(ENV.reconcileIntervalMinutes, String(props.intervalMinutes))
      .setEnv(ENV.reconcileMarginSeconds, String(props.marginSeconds ?? DEFAULT_RECONCILE_MARGIN_SECONDS));
    // A rolled-back export answers the workflows of its payouts (processing → ready).
    this.function.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: [props.stateMachineArn],
      }),
    );
    const executions = Arn.format(
      {
        service: 'states',
        resource: 'execution',
        resourceName: `${props.stateMachineName}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      stack,
    );
    this.function.fn.addToRolePolicy(
      new PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executions] }),
    );
    acknowledgeWildcardResource(this.function.role, executions, NAG_REASONS.stateMachineExecutions);
    this.function.fn.addToRolePolicy(
      new PolicyStatement({ actions: ['states:StartExecution'], resources: [props.stateMachineArn] }),
    );

    this.schedule = new Schedule(this, 'Schedule', {
      description: 'Restarts lost payout workflows',
      schedule: ScheduleExpression.rate(Duration.minutes(props.intervalMinutes)),
      target: new InvokeFunction(this.function.fn, {
        input: ScheduleTargetInput.fromObject({}),
        deadLetterQueue: this.dlq,
        retryAttempts: 2,
        // A run older than the interval is superseded by the next one.
        maxEventAge: Duration.minutes(Math.max(1, props.intervalMinutes)),
      }),
    });
  }
}
