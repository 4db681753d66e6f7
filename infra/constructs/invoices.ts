/**
 * The invoice bucket: private, TLS only, encrypted, versioned (invoices are accounting records),
 * CORS for browser uploads, and the ObjectCreated notification to the checking function (with a
 * DLQ for events it could not handle).
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
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
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env.ts';
import { INVOICE_MAX_BYTES, INVOICE_PREFIX } from '#shared/domain/invoices.ts';
import { HouseFunction } from './house-function.ts';

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
  readonly dlq: Queue;

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

    this.dlq = new Queue(this, 'CheckerDlq', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
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
    this.bucket.grantRead(this.checker.fn, `${INVOICE_PREFIX}*`);
    this.bucket.grantDelete(this.checker.fn, `${INVOICE_PREFIX}*`);
    this.bucket.addEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(this.checker.fn), {
      prefix: INVOICE_PREFIX,
    });
  }

  /** The API may only sign uploads under the invoice prefix (partner routes). */
  bindUploads(fn: HouseFunction): void {
    fn.setEnv(ENV.invoiceBucket, this.bucket.bucketName);
    this.bucket.grantPut(fn.fn, `${INVOICE_PREFIX}*`);
  }

  /** Manager routes read (download links) under the invoice prefix. */
  bindDownloads(fn: HouseFunction): void {
    fn.setEnv(ENV.invoiceBucket, this.bucket.bucketName);
    this.bucket.grantRead(fn.fn, `${INVOICE_PREFIX}*`);
  }
}
