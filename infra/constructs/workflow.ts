/**
 * The payout workflow: the Standard state machine running infra/workflow/payout.asl.json, its
 * Lambda, the domain-event bus, and the notifier that e-mails on the events that call for it.
 */
import { Arn, ArnFormat, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '#shared/adapters/events.ts';
import { ENV } from '#shared/config/env.ts';
import { NOTIFIED_EVENT_TYPES } from '#shared/domain/notifications.ts';
import { workflowDefinition } from '../workflow/definition.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';
import { HouseFunction } from './house-function.ts';
import { acknowledgeWildcardResource, NAG_REASONS } from './nag.ts';

export interface WorkflowProps {
  table: ITable;
  reminderIntervalSeconds: number;
  maxReminders: number;
  /** The wait on a processing payout before the manager is reminded. */
  processingReminderDays?: number;
  mailFrom: string;
  managerEmail: string;
  portalUrl: string;
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
  /** Issues self-billed documents: the IssueSelfBilledDocuments task (./self-billing.ts). */
  selfBillingFunction: HouseFunction;
}

export class Workflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly stateMachineArn: string;
  readonly stateMachineName: string;
  readonly bus: EventBus;
  readonly workflowFunction: HouseFunction;
  readonly notifier: HouseFunction;
  /** Events the rule could not deliver, and notifications that failed every Lambda retry. */
  readonly notifierDlq: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: WorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const stateMachineName = `${stack.stackName}-payout`;
    this.stateMachineName = stateMachineName;
    // Built by hand: the workflow Lambda needs the ARN, and the state machine needs the Lambda's.
    this.stateMachineArn = Arn.format(
      {
        service: 'states',
        resource: 'stateMachine',
        resourceName: stateMachineName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      stack,
    );
    this.bus = new EventBus(this, 'Bus', { eventBusName: `${stack.stackName}-events` });

    this.workflowFunction = new HouseFunction(this, 'WorkflowFn', {
      entry: 'workflow',
      description: 'Payout workflow steps: park token, sync, remind, follow-ups',
      timeout: Duration.minutes(5),
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    })
      .bindTable(ENV.tableName, props.table, 'readWrite')
      .setEnv(ENV.eventBusName, this.bus.eventBusName)
      .setEnv(ENV.stateMachineArn, this.stateMachineArn)
      .setEnv(ENV.reminderIntervalSeconds, String(props.reminderIntervalSeconds))
      .setEnv(ENV.maxReminders, String(props.maxReminders))
      .setEnv(ENV.processingReminderDays, String(props.processingReminderDays ?? 5));
    this.bus.grantPutEventsTo(this.workflowFunction.fn);

    const logGroup = new LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromString(
        workflowDefinition({
          waitSeconds: props.reminderIntervalSeconds,
          processingWaitSeconds: (props.processingReminderDays ?? 5) * 24 * 3600,
        }),
      ),
      definitionSubstitutions: {
        WorkflowFunctionArn: this.workflowFunction.fn.functionArn,
        SelfBillingFunctionArn: props.selfBillingFunction.fn.functionArn,
      },
      // Every event (cdk-nag SF1), without execution data: task tokens and payout details stay out of CloudWatch.
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    // The function itself, not `:*` (versions and aliases) as grantInvoke would allow: the
    // definition invokes the unqualified ARN.
    this.stateMachine.addToRolePolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.workflowFunction.fn.functionArn, props.selfBillingFunction.fn.functionArn],
      }),
    );
    // Tracing and logging add X-Ray and logs:*LogDelivery* actions on *.
    acknowledgeWildcardResource(this.stateMachine.role, '*', NAG_REASONS.stateMachineServices);
    // The hand-built ARN, not the construct's: granting on the construct would be a cycle.
    this.workflowFunction.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:StartExecution'],
        resources: [this.stateMachineArn],
      }),
    );

    this.notifierDlq = new DeadLetterQueue(this, 'NotifierDlq');
    this.notifier = new HouseFunction(this, 'NotifierFn', {
      entry: 'notifier',
      description: 'E-mails partners and managers about payout events',
      memorySize: 512,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      // EventBridge hands the event over asynchronously: a notification that fails every Lambda
      // retry lands here too, not only one the rule could not deliver.
      deadLetterQueue: this.notifierDlq,
    })
      .bindTable(ENV.tableName, props.table, 'read')
      .setEnv(ENV.mailFrom, props.mailFrom)
      .setEnv(ENV.managerEmail, props.managerEmail)
      .setEnv(ENV.portalUrl, props.portalUrl);
    const identities = Arn.format({ service: 'ses', resource: 'identity', resourceName: '*' }, stack);
    this.notifier.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [identities],
        conditions: { StringEquals: { 'ses:FromAddress': props.mailFrom } },
      }),
    );
    acknowledgeWildcardResource(this.notifier.role, identities, NAG_REASONS.sesIdentity);
    new Rule(this, 'NotifyRule', {
      eventBus: this.bus,
      description: 'Payout events that e-mail a partner or the managers',
      eventPattern: { source: [EVENT_SOURCE], detailType: [...NOTIFIED_EVENT_TYPES] },
      targets: [
        new LambdaFunction(this.notifier.fn, {
          deadLetterQueue: this.notifierDlq,
          retryAttempts: 8,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
  }

  /** API functions that start executions and answer task tokens. */
  bindApi(fn: HouseFunction): void {
    fn.setEnv(ENV.stateMachineArn, this.stateMachineArn);
    this.stateMachine.grantTaskResponse(fn.fn);
    this.stateMachine.grantStartExecution(fn.fn);
  }
}
