/**
 * Scheduled payout drafting: the drafting Lambda (one run per invocation, continuing itself from a
 * checkpoint when a run outlasts it), the EventBridge Scheduler schedule that starts it (time zone,
 * retries, dead-letter queue), and `bindApi` for the payout-runs API function, which drafts now and
 * hands a run that does not finish within API Gateway's 30 s to the drafting Lambda.
 */
import { Arn, ArnFormat, Duration, type RemovalPolicy, Stack, TimeZone } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { DEFAULT_PAYOUT_SCHEDULE } from '#shared/config/drafting.ts';
import { ENV, type EnvName } from '#shared/config/env.ts';
import { parseMinimums } from '#shared/domain/drafting.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';
import { HouseFunction } from './house-function.ts';

export interface DraftingProps {
  table: ITable;
  holdingPeriodDays: number;
  /** `EUR:5000,USD:5000`; empty for no minimum. Checked at synth. */
  minPayoutAmounts: string;
  /** EventBridge Scheduler `cron(…)` (a bare six-field expression is wrapped); default the 1st at 02:00. */
  schedule?: string;
  /** IANA time zone of the schedule (default UTC). */
  timeZone?: string;
  /** Lets a function start payout workflow executions (environment and grant): every drafted payout gets one. */
  bindWorkflow: (fn: HouseFunction) => void;
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
}

/** `cron(0 2 1 * ? *)` as given, `0 2 1 * ? *` wrapped; anything else is refused at synth. */
export function toScheduleExpression(expression: string): string {
  const text = expression.trim();
  if (/^(cron|rate|at)\(.+\)$/.test(text)) return text;
  if (text.split(/\s+/).length === 6) return `cron(${text})`;
  throw new Error(`payoutSchedule must be an EventBridge Scheduler cron expression, not "${expression}"`);
}

function checkTimeZone(timeZone: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    throw new Error(`payoutScheduleTz must be an IANA time zone, not "${timeZone}"`);
  }
  return timeZone;
}

/**
 * The Scheduler target, granted on the function itself: LambdaInvoke's grantInvoke would add `:*`
 * (versions and aliases), which the schedule never invokes.
 */
export class InvokeFunction extends LambdaInvoke {
  protected override addTargetActionToRole(role: IRole): void {
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.targetArn] }),
    );
  }
}

export class Drafting extends Construct {
  readonly function: HouseFunction;
  /** Fixed, so the function can be told its own name and invoke itself without a dependency cycle. */
  readonly functionName: string;
  readonly schedule: Schedule;
  /** Schedule invocations that failed every retry, and drafting runs that failed every async retry. */
  readonly dlq: DeadLetterQueue;
  private readonly draftingEnv: [EnvName, string][];
  private readonly bindWorkflow: (fn: HouseFunction) => void;

  constructor(scope: Construct, id: string, props: DraftingProps) {
    super(scope, id);
    const stack = Stack.of(this);
    parseMinimums(props.minPayoutAmounts);
    this.bindWorkflow = props.bindWorkflow;
    this.draftingEnv = [
      [ENV.holdingPeriodDays, String(props.holdingPeriodDays)],
      [ENV.minPayoutAmounts, props.minPayoutAmounts],
    ];
    this.functionName = `${stack.stackName}-drafting`.slice(0, 64);
    const functionArn = Arn.format(
      {
        service: 'lambda',
        resource: 'function',
        resourceName: this.functionName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      stack,
    );

    this.dlq = new DeadLetterQueue(this, 'Dlq');
    this.function = new HouseFunction(this, 'DraftingFn', {
      entry: 'drafting',
      description:
        'Scheduled payout drafting: one draft per partner and currency; continues past one invocation',
      timeout: Duration.minutes(15),
      memorySize: 1024,
      deadLetterQueue: this.dlq,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    })
      .bindTable(ENV.tableName, props.table, 'readWrite')
      .setEnv(ENV.draftingFunctionName, this.functionName);
    for (const [name, value] of this.draftingEnv) this.function.setEnv(name, value);
    (this.function.fn.node.defaultChild as CfnFunction).functionName = this.functionName;
    // A run that outlasts its invocation continues in the next one: invoke itself, asynchronously.
    // The hand-built ARN, not the construct's: the function's own policy naming it would be a cycle.
    this.function.fn.addToRolePolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [functionArn] }),
    );
    // A failed run is retried (a retry converges: claims are conditional, orphans are recovered).
    this.function.fn.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6) });
    props.bindWorkflow(this.function);

    this.schedule = new Schedule(this, 'Schedule', {
      description: 'Drafts every partner’s due rewards into one draft payout per currency',
      schedule: ScheduleExpression.expression(
        toScheduleExpression(props.schedule ?? DEFAULT_PAYOUT_SCHEDULE),
        TimeZone.of(checkTimeZone(props.timeZone ?? 'UTC')),
      ),
      target: new InvokeFunction(this.function.fn, {
        input: ScheduleTargetInput.fromObject({}),
        deadLetterQueue: this.dlq,
        retryAttempts: 8,
        maxEventAge: Duration.hours(6),
      }),
    });
  }

  /**
   * The payout-runs API function: the drafting settings, the name of the drafting function and the
   * right to invoke it (a run past the API budget continues there), and the workflow start.
   */
  bindApi(fn: HouseFunction): void {
    fn.setEnv(ENV.draftingFunctionName, this.functionName);
    for (const [name, value] of this.draftingEnv) fn.setEnv(name, value);
    // The function itself, not `:*` (versions and aliases) as grantInvoke would allow.
    fn.fn.addToRolePolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.function.fn.functionArn] }),
    );
    this.bindWorkflow(fn);
  }
}
