/**
 * The invoice bucket: private, TLS only, encrypted, versioned (invoices are accounting records),
 * CORS for browser uploads, and the ObjectCreated notification to the checking function (with a
 * DLQ for events it could not handle). Each function gets the exact object actions it uses: uploads
 * under `invoices/`, the checker's copies of what passed under `checked/` (written by the checker
 * only, the only objects ever served).
 */
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
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
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { LambdaDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env.ts';
import { CHECKED_INVOICE_PREFIX, INVOICE_MAX_BYTES, INVOICE_PREFIX } from '#shared/domain/invoices.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';
import { HouseFunction } from './house-function.ts';
import { acknowledgeManagedPolicy, acknowledgeWildcardResource, NAG_REASONS } from './nag.ts';

export interface InvoicesProps {
  table: ITable;
  bus: IEventBus;
  corsOrigins: string[];
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
  autoDeleteObjects: boolean;
  accessLogsBucket: Bucket;
}

export class Invoices extends Construct {
  readonly bucket: Bucket;
  readonly checker: HouseFunction;
  readonly dlq: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: InvoicesProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'invoices/',
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
          id: 'expire-rejected-and-replaced-uploads',
          // Rejected uploads are deleted by the checker; their data lingers as noncurrent versions.
          noncurrentVersionExpiration: Duration.days(30),
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });

    this.dlq = new DeadLetterQueue(this, 'CheckerDlq');
    this.checker = new HouseFunction(this, 'CheckerFn', {
      entry: 'invoice-uploaded',
      description: `Checks each uploaded invoice (≤ ${INVOICE_MAX_BYTES} bytes, %PDF-, sha256) and attaches or deletes it`,
      timeout: Duration.minutes(1),
      memorySize: 512,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      deadLetterQueue: this.dlq,
    })
      .bindTable(ENV.tableName, props.table, 'readWrite')
      .setEnv(ENV.invoiceBucket, this.bucket.bucketName)
      .setEnv(ENV.eventBusName, props.bus.eventBusName);
    props.bus.grantPutEventsTo(this.checker.fn);
    // HeadObject and GetObject, then DeleteObject of a rejected upload.
    this.grantObjects(this.checker.role, ['s3:GetObject', 's3:DeleteObject']);
    // PutObject of the checked copy, under a prefix no upload grant (and no other function) writes.
    this.grantObjects(this.checker.role, ['s3:PutObject'], CHECKED_INVOICE_PREFIX);
    // So that HeadObject on a key that is gone answers 404 (NotFound), not 403.
    this.checker.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
    );
    this.bucket.addEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(this.checker.fn), {
      prefix: INVOICE_PREFIX,
    });
    // CDK's singleton handler that writes the notification configuration at deploy.
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

  /** The partner routes sign uploads (presigned POST: s3:PutObject) under the invoice prefix only. */
  bindUploads(fn: HouseFunction): void {
    fn.setEnv(ENV.invoiceBucket, this.bucket.bucketName);
    this.grantObjects(fn.role, ['s3:PutObject']);
  }

  /**
   * The manager routes sign downloads (presigned GET: s3:GetObject) of checked copies only: an object
   * at an upload key is never served.
   */
  bindDownloads(fn: HouseFunction): void {
    fn.setEnv(ENV.invoiceBucket, this.bucket.bucketName);
    this.grantObjects(fn.role, ['s3:GetObject'], CHECKED_INVOICE_PREFIX);
  }

  private grantObjects(role: Role, actions: string[], prefix: string = INVOICE_PREFIX): void {
    const objects = this.bucket.arnForObjects(`${prefix}*`);
    role.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [objects] }));
    acknowledgeWildcardResource(role, objects, NAG_REASONS.objectPrefix);
  }
}
