/** The partner-payouts stack: composes the feature constructs; no resource is defined here. */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { ENV } from '#shared/config/env.ts';
import type { PayoutsConfig } from './config.ts';
import { Api } from './constructs/api.ts';
import { BankReports } from './constructs/bank-reports.ts';
import { Console } from './constructs/console.ts';
import { Controls } from './constructs/controls.ts';
import { Data } from './constructs/data.ts';
import { DeadLetterQueue } from './constructs/dead-letter-queue.ts';
import { Drafting } from './constructs/drafting.ts';
import { Exports } from './constructs/exports.ts';
import { HouseFunction } from './constructs/house-function.ts';
import { Invoices } from './constructs/invoices.ts';
import { Observability } from './constructs/observability.ts';
import { Reconciler } from './constructs/reconciler.ts';
import { SelfBilling } from './constructs/self-billing.ts';
import { Webhooks } from './constructs/webhooks.ts';
import { Workflow } from './constructs/workflow.ts';

export interface PayoutsStackProps extends StackProps {
  config: PayoutsConfig;
}

const RETENTION: Record<number, RetentionDays> = {
  7: RetentionDays.ONE_WEEK,
  14: RetentionDays.TWO_WEEKS,
  30: RetentionDays.ONE_MONTH,
  90: RetentionDays.THREE_MONTHS,
  180: RetentionDays.SIX_MONTHS,
  365: RetentionDays.ONE_YEAR,
};

export class PayoutsStack extends Stack {
  readonly data: Data;
  readonly api: Api;
  readonly workflow: Workflow;
  readonly invoices: Invoices;
  readonly exports: Exports;
  readonly drafting: Drafting;
  readonly reconciler: Reconciler;
  readonly controls: Controls;
  readonly bankReports: BankReports;
  readonly webhooks: Webhooks;
  readonly accessLogs: Bucket;
  readonly console?: Console;
  readonly observability: Observability;
  readonly selfBilling: SelfBilling;

  constructor(scope: Construct, id: string, props: PayoutsStackProps) {
    super(scope, id, props);
    const { config } = props;
    const prod = config.stage === 'prod';
    const removalPolicy = prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = RETENTION[config.logRetentionDays] ?? RetentionDays.ONE_MONTH;

    this.data = new Data(this, 'Data', { removalPolicy, deletionProtection: prod });
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(prod ? 365 : 30) }],
      removalPolicy,
      autoDeleteObjects: !prod,
    });
    // The web console (CloudFront + S3) signs in with the Cognito pool's hosted UI, so only with that pool.
    if (!config.jwtIssuer) {
      this.console = new Console(this, 'Console', {
        removalPolicy,
        autoDeleteObjects: !prod,
        accessLogsBucket: this.accessLogs,
      });
    }
    const corsOrigins = [...config.corsOrigins, ...(this.console ? [this.console.url] : [])];
    this.api = new Api(this, 'Api', {
      jwtIssuer: config.jwtIssuer,
      jwtAudience: config.jwtAudience,
      jwtClaims: {
        ...(config.jwtRoleClaim ? { role: config.jwtRoleClaim } : {}),
        ...(config.jwtRolesClaim ? { roles: config.jwtRolesClaim } : {}),
        ...(config.jwtPartnerIdClaim ? { partnerId: config.jwtPartnerIdClaim } : {}),
      },
      corsOrigins: config.corsOrigins,
      console: this.console
        ? { url: this.console.url, domainPrefix: `partner-payouts-${config.stage}-${this.account}` }
        : undefined,
      throttle: { rateLimit: config.apiThrottleRateLimit, burstLimit: config.apiThrottleBurstLimit },
      partnerThrottle: {
        rateLimit: config.partnerThrottleRateLimit,
        burstLimit: config.partnerThrottleBurstLimit,
      },
      reservedConcurrency: config.reservedConcurrency,
      logRetention,
      removalPolicy,
    });

    const { table, idempotencyTable } = this.data;
    const fns = this.api.functions;
    fns.partners
      .bindTable(ENV.tableName, table, 'readWrite')
      .bindTable(ENV.idempotencyTableName, idempotencyTable, 'readWrite');
    fns.rewards
      .bindTable(ENV.tableName, table, 'readWrite')
      .bindTable(ENV.idempotencyTableName, idempotencyTable, 'readWrite');
    fns.payouts
      .bindTable(ENV.tableName, table, 'readWrite')
      .bindTable(ENV.idempotencyTableName, idempotencyTable, 'readWrite');
    fns['partner-payouts']
      .bindTable(ENV.tableName, table, 'readWrite')
      .bindTable(ENV.idempotencyTableName, idempotencyTable, 'readWrite');

    // E-mail links lead to the console unless `portalUrl` names another address.
    const portalUrl =
      this.node.tryGetContext('portalUrl') === undefined && this.console
        ? this.console.url
        : config.portalUrl;
    this.selfBilling = new SelfBilling(this, 'SelfBilling', {
      table,
      company: { name: config.companyName, address: config.companyAddress, vatId: config.companyVatId },
      ...(prod ? { lockRetentionYears: config.invoiceRetentionYears } : {}),
      logRetention,
      removalPolicy,
      autoDeleteObjects: !prod,
      accessLogsBucket: this.accessLogs,
    });
    this.selfBilling.bindDownloads(fns.payouts);
    this.selfBilling.bindPreview(fns['partner-payouts']);
    fns.partners.setEnv(ENV.selfBillingAgreementVersion, config.selfBillingAgreementVersion);

    this.workflow = new Workflow(this, 'Workflow', {
      selfBillingFunction: this.selfBilling.fn,
      table,
      reminderIntervalSeconds: config.reminderIntervalSeconds,
      maxReminders: config.maxReminders,
      processingReminderDays: config.processingReminderDays,
      mailFrom: config.mailFrom,
      managerEmail: config.managerEmail,
      portalUrl,
      logRetention,
      removalPolicy,
    });
    // The notifier is idempotent on each history entry's id: its records live in the idempotency table.
    this.workflow.notifier.bindTable(ENV.idempotencyTableName, idempotencyTable, 'readWrite');
    this.invoices = new Invoices(this, 'Invoices', {
      table,
      bus: this.workflow.bus,
      corsOrigins,
      logRetention,
      removalPolicy,
      autoDeleteObjects: !prod,
      accessLogsBucket: this.accessLogs,
    });
    this.exports = new Exports(this, 'Exports', {
      sepaDebtor: { name: config.sepaDebtorName, iban: config.sepaDebtorIban, bic: config.sepaDebtorBic },
      removalPolicy,
      autoDeleteObjects: !prod,
      accessLogsBucket: this.accessLogs,
    });
    fns.exports
      .bindTable(ENV.tableName, table, 'readWrite')
      .bindTable(ENV.idempotencyTableName, idempotencyTable, 'readWrite');
    this.exports.bind(fns.exports);
    this.invoices.bindUploads(fns['partner-payouts']);
    this.invoices.bindDownloads(fns.payouts);
    fns.payouts.setEnv(ENV.eventBusName, this.workflow.bus.eventBusName);
    fns['partner-payouts'].setEnv(ENV.eventBusName, this.workflow.bus.eventBusName);
    this.workflow.bus.grantPutEventsTo(fns.payouts.fn);
    this.workflow.bindApi(fns.payouts);
    // Exports move payouts to processing (their workflows are answered) and publish export.voided.
    fns.exports.setEnv(ENV.eventBusName, this.workflow.bus.eventBusName);
    this.workflow.bus.grantPutEventsTo(fns.exports.fn);
    this.workflow.bindApi(fns.exports);
    fns.payouts.setEnv(ENV.returnWindowDays, String(config.returnWindowDays));
    this.workflow.bindApi(fns['partner-payouts']);
    fns['partner-payouts']
      .setEnv(ENV.partnerReviewsPerMinute, String(config.partnerReviewsPerMinute))
      .setEnv(ENV.invoiceUploadsPerMinute, String(config.invoiceUploadsPerMinute));

    this.controls = new Controls(this, 'Controls', {
      table,
      idempotencyTable,
      bus: this.workflow.bus,
      approvalThresholds: config.approvalThresholds,
      holds: fns.holds,
      bindWorkflow: (fn) => this.workflow.bindApi(fn),
      mailFrom: config.mailFrom,
      financeEmail: config.financeEmail ?? config.managerEmail,
      programManagersEmail: config.programManagersEmail ?? config.managerEmail,
      portalUrl,
      logRetention,
      removalPolicy,
    });
    this.controls.publishFrom(fns.partners);
    this.controls.publishFrom(fns.exports);
    this.controls.checkApprovals(fns.payouts);
    this.controls.checkApprovals(fns.exports);

    this.drafting = new Drafting(this, 'Drafting', {
      table,
      holdingPeriodDays: config.holdingPeriodDays,
      minPayoutAmounts: config.minPayoutAmounts,
      schedule: config.payoutSchedule,
      timeZone: config.payoutScheduleTz,
      // Drafted payouts get their workflow execution: the ARN and StartExecution, nothing more.
      bindWorkflow: (fn) => {
        fn.setEnv(ENV.stateMachineArn, this.workflow.stateMachineArn);
        this.workflow.stateMachine.grantStartExecution(fn.fn);
      },
      logRetention,
      removalPolicy,
    });
    fns['payout-runs']
      .bindTable(ENV.tableName, table, 'readWrite')
      .bindTable(ENV.idempotencyTableName, idempotencyTable, 'readWrite');
    this.drafting.bindApi(fns['payout-runs']);

    this.bankReports = new BankReports(this, 'BankReports', {
      table,
      bus: this.workflow.bus,
      corsOrigins,
      mailFrom: config.mailFrom,
      managerEmail: config.managerEmail,
      portalUrl,
      bindWorkflow: (fn) => this.workflow.bindApi(fn),
      logRetention,
      removalPolicy,
      autoDeleteObjects: !prod,
      accessLogsBucket: this.accessLogs,
    });
    fns['bank-reports']
      .bindTable(ENV.tableName, table, 'readWrite')
      .bindTable(ENV.idempotencyTableName, idempotencyTable, 'readWrite');
    this.bankReports.bindUploads(fns['bank-reports']);
    this.webhooks = new Webhooks(this, 'Webhooks', {
      table,
      bus: this.workflow.bus,
      mailFrom: config.mailFrom,
      managerEmail: config.managerEmail,
      logRetention,
      removalPolicy,
    });
    fns.webhooks.bindTable(ENV.idempotencyTableName, idempotencyTable, 'readWrite');
    this.webhooks.bind(fns.webhooks);
    if (this.console && this.api.hostedUi) {
      this.console.deploy({ apiUrl: this.api.httpApi.apiEndpoint, cognito: this.api.hostedUi });
      new CfnOutput(this, 'ConsoleUrl', { value: this.console.url });
    }

    // Last: alarms and the dashboard for every house function and dead-letter queue composed above.
    this.reconciler = new Reconciler(this, 'Reconciler', {
      table,
      stateMachineArn: this.workflow.stateMachineArn,
      stateMachineName: this.workflow.stateMachineName,
      reminderIntervalSeconds: config.reminderIntervalSeconds,
      intervalMinutes: config.reconcileIntervalMinutes,
      logRetention,
      removalPolicy,
    });

    this.observability = new Observability(this, 'Observability', {
      functions: HouseFunction.all(this),
      deadLetterQueues: DeadLetterQueue.all(this),
      httpApi: this.api.httpApi,
      stateMachine: this.workflow.stateMachine,
      table,
      alarmEmail: config.alarmEmail,
      removalPolicy,
    });
  }
}
