/**
 * The export bucket and the exports function as CloudFormation (bundling skipped, as in
 * stack.test.ts): a private, TLS-only, encrypted, access-logged bucket whose exports expire; the
 * exports function with its bucket, SEPA debtor and tables in the environment, and S3 rights on
 * `exports/*` only (object actions, no wildcard action, no other function with access); cdk-nag's
 * AWS Solutions rules find nothing on the bucket, and nothing on the function that a house function
 * bound to the same tables does not have, but the prefix wildcard itself.
 */
import { Validations } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PayoutsStack } from '../../infra/payouts-stack.ts';
import {
  asList,
  flatten,
  type Json,
  nagSynth,
  roleStatements,
  type Statement,
  synth,
} from '../support/cdk.ts';

const s3Actions = (statement: Statement) =>
  asList(statement.Action).filter((action) => action === '*' || action.startsWith('s3:'));

describe('export bucket and exports function', () => {
  let stack: PayoutsStack;
  let template: Template;
  let bucketId: string;
  let bucket: Json;
  let fnId: string;
  let fn: Json;

  beforeAll(() => {
    ({ stack, template } = synth());
    bucketId = stack.getLogicalId(stack.exports.bucket.node.defaultChild as never);
    bucket = template.toJSON().Resources[bucketId];
    fnId = stack.getLogicalId(stack.api.functions.exports.fn.node.defaultChild as never);
    fn = template.toJSON().Resources[fnId];
    expect(bucket?.Type).toBe('AWS::S3::Bucket');
    expect(fn?.Type).toBe('AWS::Lambda::Function');
  });

  it('blocks all public access, enforces bucket-owner ownership and encrypts at rest', () => {
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.OwnershipControls).toEqual({
      Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }],
    });
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
    ]);
  });

  it('denies every request that is not TLS, and opens the bucket to no one', () => {
    const policies = Object.values<Json>(template.findResources('AWS::S3::BucketPolicy')).filter(
      (policy) => policy.Properties.Bucket?.Ref === bucketId,
    );
    expect(policies).toHaveLength(1);
    const statements = asList<Statement>(policies[0].Properties.PolicyDocument.Statement);
    const tls = statements.filter(
      (statement) =>
        statement.Effect === 'Deny' && statement.Condition?.Bool?.['aws:SecureTransport'] === 'false',
    );
    expect(tls).toHaveLength(1);
    expect(
      asList((tls[0] as Statement).Resource)
        .map(flatten)
        .sort(),
    ).toEqual([`{GetAtt:${bucketId}.Arn}`, `{GetAtt:${bucketId}.Arn}/*`].sort());
    for (const statement of statements.filter((candidate) => candidate.Effect === 'Allow')) {
      expect(flatten(statement.Principal)).not.toMatch(/"\*"|^\*$/);
    }
  });

  it('expires exports after 90 days and cleans up incomplete multipart uploads', () => {
    const rules = bucket.Properties.LifecycleConfiguration.Rules as Json[];
    expect(rules).toEqual([
      expect.objectContaining({
        Status: 'Enabled',
        Prefix: 'exports/',
        ExpirationInDays: 90,
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      }),
    ]);
  });

  it('logs access to the shared access-log bucket', () => {
    const logsId = stack.getLogicalId(stack.accessLogs.node.defaultChild as never);
    expect(bucket.Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logsId },
      LogFilePrefix: 'exports/',
    });
  });

  it('gives the exports function its bucket, the SEPA debtor and its tables', () => {
    expect(fn.Properties.Environment.Variables).toMatchObject({
      EXPORT_BUCKET: { Ref: bucketId },
      SEPA_DEBTOR_NAME: 'Example Company',
      SEPA_DEBTOR_IBAN: 'DE89370400440532013000',
      SEPA_DEBTOR_BIC: 'COBADEFFXXX',
      TABLE_NAME: { Ref: expect.any(String) },
      IDEMPOTENCY_TABLE_NAME: { Ref: expect.any(String) },
    });
    const configured = synth({ sepaDebtorName: 'Acme SE', sepaDebtorIban: 'FR7630006000011234567890189' });
    configured.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          EXPORT_BUCKET: Match.anyValue(),
          SEPA_DEBTOR_NAME: 'Acme SE',
          SEPA_DEBTOR_IBAN: 'FR7630006000011234567890189',
        }),
      },
    });
  });

  it('lets the exports function put, get, delete and abort uploads under exports/ only', () => {
    const statements = roleStatements(template, fn.Properties.Role['Fn::GetAtt'][0]);
    const s3Statements = statements.filter((statement) => s3Actions(statement).length > 0);
    expect(s3Statements).toHaveLength(1);
    const [grant] = s3Statements as [Statement];
    expect(grant.Effect).toBe('Allow');
    expect(asList(grant.Action).sort()).toEqual(
      ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject'].sort(),
    );
    expect(asList(grant.Resource).map(flatten)).toEqual([`{GetAtt:${bucketId}.Arn}/exports/*`]);
    // Its DynamoDB rights are the two tables (and their indexes), nothing else.
    for (const statement of statements.filter((candidate) =>
      asList(candidate.Action).some((action) => action.startsWith('dynamodb:')),
    )) {
      for (const resource of asList(statement.Resource).map(flatten)) expect(resource).not.toBe('*');
    }
  });

  it('gives no other function of ours any right on the export bucket', () => {
    const exportRole = fn.Properties.Role['Fn::GetAtt'][0];
    const roles = Object.keys(template.findResources('AWS::IAM::Role')).filter((role) => role !== exportRole);
    for (const role of roles) {
      for (const statement of roleStatements(template, role)) {
        const resources = asList(statement.Resource).map(flatten);
        const touches = resources.some(
          (resource) => resource.includes(`${bucketId}.Arn`) || resource.includes(`Ref:${bucketId}`),
        );
        // CDK's own auto-delete custom resource empties dev buckets on stack deletion.
        if (touches) expect(role).toMatch(/CustomS3AutoDeleteObjects/);
      }
    }
  });

  it('keeps the bucket on prod and lets dev stacks empty and delete it', () => {
    const prod = synth({ stage: 'prod' });
    const prodBucketId = prod.stack.getLogicalId(prod.stack.exports.bucket.node.defaultChild as never);
    expect(prod.template.toJSON().Resources[prodBucketId].DeletionPolicy).toBe('Retain');
    expect(
      prod.template.findResources('Custom::S3AutoDeleteObjects', {
        Properties: { BucketName: { Ref: prodBucketId } },
      }),
    ).toEqual({});
    expect(bucket.DeletionPolicy).toBe('Delete');
  });

  it('adds no cdk-nag AWS Solutions finding; only its exports/* prefix wildcard is acknowledged', () => {
    const { stack: nagStack, findings } = nagSynth();
    const paths = findings.map((finding) => finding.path);
    // The bucket passes every rule (S1 access logs, S2 public access, S10 TLS, …), so does the function.
    expect(
      paths.filter((path) => path.startsWith('Nag/Exports/') || path.startsWith('Nag/Api/Fn-exports/')),
    ).toEqual([]);
    // Acknowledged on the function beyond what a house function bound to the same tables has
    // (partners): the object prefix, nothing else.
    const acknowledged = (group: 'exports' | 'partners') =>
      nagStack.api.functions[group].node
        .findAll()
        .flatMap((construct) => construct.node.metadata)
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) => Object.keys(entry.data as Record<string, string>))
        .map((id) => id.replace(/^annotation::/i, '').replace(/[0-9A-F]{8}(?=\.Arn>)/, ''));
    const extra = acknowledged('exports').filter((id) => !acknowledged('partners').includes(id));
    expect(extra).toEqual(['AwsSolutions-IAM5[Resource::<ExportsBucket.Arn>/exports/*]']);
  });
});
