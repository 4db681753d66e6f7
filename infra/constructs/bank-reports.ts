/**
 * Bank reports: a private bucket the manager uploads pain.002 / camt.054 / camt.053 files to through
 * presigned POSTs (TLS only, encrypted, versioned — reports are accounting records — CORS for the
 * console), and the function that checks and applies each file when it lands (ObjectCreated under
 * `bank-reports/`, a DLQ for events it could not handle). It settles payouts through the table and
 * answers their workflows, publishes `bank_report.applied` and e-mails the manager. Object grants
 * are scoped to the `bank-reports/` prefix.
 */
import { Arn, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  EventType,
  HttpMethods,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { LambdaDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env.ts';
import { BANK_REPORT_MAX_BYTES, BANK_REPORT_PREFIX } from '#shared/domain/bank-reports.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';
import { HouseFunction } from './house-function.ts';
import { acknowledgeManagedPolicy, acknowledgeWildcardResource, NAG_REASONS } from './nag.ts';

export interface BankReportsProps {
  table: ITable;
  bus: IEventBus;
  corsOrigins: string[];
  mailFrom: string;
  managerEmail: string;
  portalUrl: string;
  /** Gives the checker what settling needs of the payout workflow (task answers, new executions). */
  bindWorkflow: (fn: HouseFunction) => void;
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
  autoDeleteObjects: boolean;
  accessLogsBucket: IBucket;
}

export class BankReports extends Construct {
  readonly bucket: Bucket;
  readonly checker: HouseFunction;
  readonly dlq: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: BankReportsProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'bank-reports/',
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: props.autoDeleteObjects,
      cors: [
        {
          allowedOrigins: props.corsOrigins,
          allowedMethods: [HttpMethods.POST],
          allowedHeaders: ['*'],
          maxAge: 3000,
        },
      ],
      lifecycleRules: [
        {
          id: 'expire-deleted-uploads',
          // Oversize uploads are deleted by the checker; their data lingers as noncurrent versions.
          noncurrentVersionExpiration: Duration.days(30),
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });

    this.dlq = new DeadLetterQueue(this, 'CheckerDlq');
    this.checker = new HouseFunction(this, 'CheckerFn', {
      entry: 'bank-report-uploaded',
      description: `Checks each uploaded bank report (≤ ${BANK_REPORT_MAX_BYTES} bytes, pain.002/camt.053/camt.054) and applies its lines`,
      // 10,000 lines take well under a minute; a report is re-run (and resumes) if it ever times out.
      timeout: Duration.minutes(15),
      memorySize: 1024,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      deadLetterQueue: this.dlq,
    })
      .bindTable(ENV.tableName, props.table, 'readWrite')
      .setEnv(ENV.bankReportBucket, this.bucket.bucketName)
      .setEnv(ENV.eventBusName, props.bus.eventBusName)
      .setEnv(ENV.mailFrom, props.mailFrom)
      .setEnv(ENV.managerEmail, props.managerEmail)
      .setEnv(ENV.portalUrl, props.portalUrl);
    props.bus.grantPutEventsTo(this.checker.fn);
    props.bindWorkflow(this.checker);
    // HeadObject and GetObject, then DeleteObject of an oversize or stray upload.
    this.grantObjects(this.checker.role, ['s3:GetObject', 's3:DeleteObject']);
    // So that HeadObject on a key that is gone answers 404 (NotFound), not 403.
    this.checker.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
    );
    // The manager's alerts (a booking of a voided export, lines that changed nothing).
    const identities = Arn.format(
      { service: 'ses', resource: 'identity', resourceName: '*' },
      Stack.of(this),
    );
    this.checker.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [identities],
        conditions: { StringEquals: { 'ses:FromAddress': props.mailFrom } },
      }),
    );
    acknowledgeWildcardResource(this.checker.role, identities, NAG_REASONS.sesIdentity);
    this.bucket.addEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(this.checker.fn), {
      prefix: BANK_REPORT_PREFIX,
    });
    const handler = Stack.of(this).node.children.find((child) =>
      child.node.id.startsWith('BucketNotificationsHandler'),
    );
    const handlerRole = handler?.node.tryFindChild('Role') as Role | undefined;
    if (handlerRole) {
      acknowledgeManagedPolicy(
        handlerRole,
        'service-role/AWSLambdaBasicExecutionRole',
        NAG_REASONS.cdkNotificationsHandler,
      );
    }
  }

  /** The manager routes sign uploads (presigned POST: s3:PutObject) under `bank-reports/` only. */
  bindUploads(fn: HouseFunction): void {
    fn.setEnv(ENV.bankReportBucket, this.bucket.bucketName);
    this.grantObjects(fn.role, ['s3:PutObject']);
  }

  private grantObjects(role: Role, actions: string[]): void {
    const objects = this.bucket.arnForObjects(`${BANK_REPORT_PREFIX}*`);
    role.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [objects] }));
    acknowledgeWildcardResource(role, objects, NAG_REASONS.objectPrefix);
  }
}
