/**
 * The export bucket: payment files written by the exports function and downloaded by managers through
 * presigned GETs. Private, TLS only, encrypted, access-logged; exports expire after `retention` (the
 * export records stay in the table), and incomplete multipart uploads are cleaned up after a day.
 * `bind` gives a function exactly what creating and downloading exports needs, under `exports/` only.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { EXPORT_PREFIX } from '#shared/adapters/export-store.ts';
import { ENV } from '#shared/config/env.ts';
import type { HouseFunction } from './house-function.ts';
import { acknowledgeWildcardResource, NAG_REASONS } from './nag.ts';

export interface ExportsProps {
  /** The account SEPA files pay from. */
  sepaDebtor: { name: string; iban: string; bic?: string | undefined };
  /** How long export files are kept (default 90 days). */
  retention?: Duration;
  removalPolicy: RemovalPolicy;
  autoDeleteObjects: boolean;
  accessLogsBucket?: IBucket;
}

/** Object-level actions only: multipart uploads are covered by s3:PutObject. */
const EXPORT_ACTIONS = ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:AbortMultipartUpload'];

export class Exports extends Construct {
  readonly bucket: Bucket;
  private readonly sepaDebtor: ExportsProps['sepaDebtor'];

  constructor(scope: Construct, id: string, props: ExportsProps) {
    super(scope, id);
    this.sepaDebtor = props.sepaDebtor;
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      ...(props.accessLogsBucket
        ? { serverAccessLogsBucket: props.accessLogsBucket, serverAccessLogsPrefix: 'exports/' }
        : {}),
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: props.autoDeleteObjects,
      lifecycleRules: [
        {
          id: 'expire-exports',
          prefix: EXPORT_PREFIX,
          expiration: props.retention ?? Duration.days(90),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
  }

  /** Writes, reads (presigned downloads) and deletes (failed exports) under `exports/`, plus the SEPA debtor. */
  bind(fn: HouseFunction): void {
    fn.setEnv(ENV.exportBucket, this.bucket.bucketName)
      .setEnv(ENV.sepaDebtorName, this.sepaDebtor.name)
      .setEnv(ENV.sepaDebtorIban, this.sepaDebtor.iban);
    if (this.sepaDebtor.bic) fn.setEnv(ENV.sepaDebtorBic, this.sepaDebtor.bic);
    fn.fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: EXPORT_ACTIONS,
        resources: [this.bucket.arnForObjects(`${EXPORT_PREFIX}*`)],
      }),
    );
    acknowledgeWildcardResource(
      fn.role,
      this.bucket.arnForObjects(`${EXPORT_PREFIX}*`),
      NAG_REASONS.objectPrefix,
    );
  }
}
