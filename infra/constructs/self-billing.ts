/**
 * Self-billed invoices: the bucket that keeps the issued documents (write-once; on `prod` S3 Object
 * Lock in governance mode keeps every version for `INVOICE_RETENTION_YEARS`; other stages are
 * disposable) and the self-billing function, which numbers, renders (pdf-lib, with the DejaVu Sans
 * TTFs copied next to its bundle) and stores them. The workflow runs it as a Task; the partner
 * routes invoke it for a preview; the payout and partner routes sign downloads.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  ObjectLockRetention,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env.ts';
import { SELF_BILLING_PREFIX } from '#shared/domain/self-billing.ts';
import { FONT_FILES } from '#shared/self-billing/font.ts';
import { HouseFunction } from './house-function.ts';
import { acknowledgeWildcardResource, NAG_REASONS } from './nag.ts';

export interface SelfBillingProps {
  table: ITable;
  company: { name: string; address: string; vatId: string };
  /** `prod`: Object Lock (governance) with this retention, data retained. */
  lockRetentionYears?: number;
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
  autoDeleteObjects: boolean;
  accessLogsBucket: Bucket;
}

export class SelfBilling extends Construct {
  readonly bucket: Bucket;
  readonly fn: HouseFunction;

  constructor(scope: Construct, id: string, props: SelfBillingProps) {
    super(scope, id);
    const locked = props.lockRetentionYears !== undefined;
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'self-billing/',
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: props.autoDeleteObjects && !locked,
      ...(locked
        ? {
            objectLockEnabled: true,
            objectLockDefaultRetention: ObjectLockRetention.governance(
              Duration.days(365 * (props.lockRetentionYears as number)),
            ),
          }
        : {}),
    });

    this.fn = new HouseFunction(this, 'Fn', {
      entry: 'self-billing',
      description: 'Issues self-billed invoices and credit notes (PDF + UBL), numbered per partner series',
      memorySize: 1024,
      timeout: Duration.minutes(2),
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      assets: Object.values(FONT_FILES).map((spec) => `node_modules/${spec}`),
    })
      .bindTable(ENV.tableName, props.table, 'readWrite')
      .setEnv(ENV.selfBillingBucket, this.bucket.bucketName)
      .setEnv(ENV.companyName, props.company.name)
      .setEnv(ENV.companyAddress, props.company.address)
      .setEnv(ENV.companyVatId, props.company.vatId);
    // HeadObject, GetObject (hash what a key holds), PutObject (if-none-match), under the prefix.
    this.grantObjects(this.fn, ['s3:GetObject', 's3:PutObject']);
    this.fn.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
    );
  }

  /** Routes that sign downloads of the documents. */
  bindDownloads(fn: HouseFunction): void {
    fn.setEnv(ENV.selfBillingBucket, this.bucket.bucketName);
    this.grantObjects(fn, ['s3:GetObject']);
  }

  /** Routes that ask the function for a preview (synchronous invoke), then sign its download. */
  bindPreview(fn: HouseFunction): void {
    this.bindDownloads(fn);
    fn.setEnv(ENV.selfBillingFunctionName, this.fn.fn.functionName);
    fn.fn.addToRolePolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.fn.fn.functionArn] }),
    );
  }

  private grantObjects(fn: HouseFunction, actions: string[]): void {
    const objects = this.bucket.arnForObjects(`${SELF_BILLING_PREFIX}*`);
    fn.role.addToPrincipalPolicy(new PolicyStatement({ actions, resources: [objects] }));
    acknowledgeWildcardResource(fn.role, objects, NAG_REASONS.objectPrefix);
  }
}
