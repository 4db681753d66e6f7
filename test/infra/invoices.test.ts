/**
 * The invoice bucket and its checker as CloudFormation (bundling skipped, as in stack.test.ts): a
 * private, TLS-only, encrypted, versioned bucket with browser POST from the configured origins and
 * noncurrent versions expiring; ObjectCreated under `invoices/` invoking the checker, which has a
 * DLQ; and uploads granted to the partner routes under that prefix only.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PayoutsStack } from '../../infra/payouts-stack.ts';
import { asList, flatten, type Json, roleStatements, type Statement, synth } from '../support/cdk.ts';

const PORTAL = 'https://portal.example.com';
/** The context of every synthesis here: browser uploads from the portal. */
const CONTEXT = { corsOrigins: PORTAL };

const s3Actions = (statement: Statement) =>
  asList(statement.Action).filter((action) => action === '*' || action.startsWith('s3:'));

describe('invoice bucket', () => {
  let stack: PayoutsStack;
  let template: Template;
  let bucketId: string;
  let bucket: Json;
  let checkerId: string;

  beforeAll(() => {
    ({ stack, template } = synth(CONTEXT));
    bucketId = stack.getLogicalId(stack.invoices.bucket.node.defaultChild as never);
    bucket = template.toJSON().Resources[bucketId];
    checkerId = stack.getLogicalId(stack.invoices.checker.fn.node.defaultChild as never);
    expect(bucket?.Type).toBe('AWS::S3::Bucket');
  });

  it('blocks all public access and enforces bucket-owner ownership (no ACLs)', () => {
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.OwnershipControls).toEqual({
      Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }],
    });
  });

  it('denies every request that is not TLS', () => {
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
    const [deny] = tls as [Statement];
    expect(asList(deny.Action)).toEqual(['s3:*']);
    expect(flatten(deny.Principal)).toMatch(/^\{"AWS":"\*"\}$|^\*$/);
    // The bucket itself and every object in it.
    expect(asList(deny.Resource).map(flatten).sort()).toEqual(
      [`{GetAtt:${bucketId}.Arn}`, `{GetAtt:${bucketId}.Arn}/*`].sort(),
    );
    // Nothing in the bucket policy opens the bucket to everyone.
    for (const statement of statements.filter((candidate) => candidate.Effect === 'Allow')) {
      expect(flatten(statement.Principal)).not.toMatch(/"\*"|^\*$/);
    }
  });

  it('encrypts at rest and keeps every version (invoices are accounting records)', () => {
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { ServerSideEncryptionByDefault: { SSEAlgorithm: expect.stringMatching(/^(AES256|aws:kms)$/) } },
    ]);
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
  });

  it('allows browser POSTs from the configured origins only', () => {
    const rules = bucket.Properties.CorsConfiguration.CorsRules as Json[];
    expect(rules).toHaveLength(1);
    expect(rules[0].AllowedMethods).toEqual(['POST']);
    // The configured origins, and the web console's (its CloudFront distribution).
    const consoleOrigin = {
      'Fn::Join': [
        '',
        ['https://', { 'Fn::GetAtt': [expect.stringMatching(/^ConsoleDistribution/), 'DomainName'] }],
      ],
    };
    expect(rules[0].AllowedOrigins).toEqual([PORTAL, consoleOrigin]);

    const several = synth({ corsOrigins: `${PORTAL}, https://admin.example.com` });
    several.template.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: {
        CorsRules: [
          Match.objectLike({
            AllowedMethods: ['POST'],
            AllowedOrigins: [
              PORTAL,
              'https://admin.example.com',
              Match.objectLike({ 'Fn::Join': Match.anyValue() }),
            ],
          }),
        ],
      },
    });
    // Without the Cognito pool there is no console: the configured origins only.
    const external = synth({ ...CONTEXT, jwtIssuer: 'https://issuer.example.com', jwtAudience: 'payouts' });
    external.template.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: { CorsRules: [Match.objectLike({ AllowedOrigins: [PORTAL] })] },
    });
  });

  it('expires noncurrent versions (deleted rejects, replaced uploads) with an enabled lifecycle rule', () => {
    const rules = bucket.Properties.LifecycleConfiguration.Rules as Json[];
    const noncurrent = rules.filter((rule) => rule.NoncurrentVersionExpiration !== undefined);
    expect(noncurrent).toHaveLength(1);
    expect(noncurrent[0].Status).toBe('Enabled');
    expect(noncurrent[0].NoncurrentVersionExpiration.NoncurrentDays).toBeGreaterThan(0);
    // Current invoices are never expired by a rule.
    for (const rule of rules) {
      expect(rule.ExpirationInDays).toBeUndefined();
      expect(rule.ExpirationDate).toBeUndefined();
    }
  });

  it('sends ObjectCreated under invoices/ to the checker, and lets S3 invoke it from this bucket only', () => {
    const notifications = Object.values<Json>(template.findResources('Custom::S3BucketNotifications')).filter(
      (resource) => resource.Properties.BucketName?.Ref === bucketId,
    );
    expect(notifications).toHaveLength(1);
    const configuration = notifications[0].Properties.NotificationConfiguration;
    expect(configuration.LambdaFunctionConfigurations).toEqual([
      {
        Events: ['s3:ObjectCreated:*'],
        Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'invoices/' }] } },
        LambdaFunctionArn: { 'Fn::GetAtt': [checkerId, 'Arn'] },
      },
    ]);
    expect(configuration.QueueConfigurations).toBeUndefined();
    expect(configuration.TopicConfigurations).toBeUndefined();

    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [checkerId, 'Arn'] },
      Principal: 's3.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [bucketId, 'Arn'] },
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
  });

  it('gives the checker a dead-letter queue, encrypted, and the bucket and table it works on', () => {
    const checker = template.toJSON().Resources[checkerId];
    expect(checker.Type).toBe('AWS::Lambda::Function');
    const dlqArn = checker.Properties.DeadLetterConfig?.TargetArn;
    expect(dlqArn?.['Fn::GetAtt']?.[1]).toBe('Arn');
    const dlq = template.toJSON().Resources[dlqArn['Fn::GetAtt'][0]];
    expect(dlq.Type).toBe('AWS::SQS::Queue');
    expect(dlq.Properties.SqsManagedSseEnabled ?? dlq.Properties.KmsMasterKeyId).toBeTruthy();
    expect(checker.Properties.Environment.Variables).toMatchObject({
      INVOICE_BUCKET: { Ref: bucketId },
      TABLE_NAME: { Ref: expect.any(String) },
    });

    const roleId = checker.Properties.Role['Fn::GetAtt'][0];
    const statements = roleStatements(template, roleId);
    const sends = statements.filter((statement) => asList(statement.Action).includes('sqs:SendMessage'));
    expect(sends.map((statement) => flatten(statement.Resource))).toContain(
      `{GetAtt:${dlqArn['Fn::GetAtt'][0]}.Arn}`,
    );
    // The checker reads and deletes objects under the invoice prefix, nowhere else.
    for (const statement of statements.filter((candidate) => s3Actions(candidate).length > 0)) {
      for (const resource of asList(statement.Resource).map(flatten)) {
        expect(resource).not.toBe('*');
        expect(resource.startsWith(`{GetAtt:${bucketId}.Arn}`)).toBe(true);
      }
      if (s3Actions(statement).some((action) => /^s3:(Get|Delete)Object/.test(action))) {
        expect(asList(statement.Resource).map(flatten)).toEqual([`{GetAtt:${bucketId}.Arn}/invoices/*`]);
      }
      // It alone writes the checked copies, and only there.
      if (s3Actions(statement).includes('s3:PutObject')) {
        expect(asList(statement.Resource).map(flatten)).toEqual([`{GetAtt:${bucketId}.Arn}/checked/*`]);
      }
    }
    const puts = statements.filter((statement) => s3Actions(statement).includes('s3:PutObject'));
    expect(puts).toHaveLength(1);
  });

  it('lets the partner routes put objects under invoices/ only, with no wildcard resource for S3', () => {
    const fnId = stack.getLogicalId(stack.api.functions['partner-payouts'].fn.node.defaultChild as never);
    const fn = template.toJSON().Resources[fnId];
    expect(fn.Properties.Environment.Variables.INVOICE_BUCKET).toEqual({ Ref: bucketId });
    const statements = roleStatements(template, fn.Properties.Role['Fn::GetAtt'][0]);

    // Its statements on the invoice bucket (it also reads self-billed documents from their own bucket).
    const s3Statements = statements.filter(
      (statement) =>
        s3Actions(statement).length > 0 &&
        asList(statement.Resource).some((resource) => flatten(resource).includes(bucketId)),
    );
    expect(s3Statements.length).toBeGreaterThan(0);
    for (const statement of s3Statements) {
      expect(statement.Effect).toBe('Allow');
      expect(s3Actions(statement)).not.toContain('*');
      expect(s3Actions(statement)).not.toContain('s3:*');
      expect(asList(statement.Resource).map(flatten)).toEqual([`{GetAtt:${bucketId}.Arn}/invoices/*`]);
    }
    const puts = s3Statements.filter((statement) => asList(statement.Action).includes('s3:PutObject'));
    expect(puts).toHaveLength(1);
    // Signing an upload is all it does: no read, delete or bucket-level rights.
    const actions = s3Statements.flatMap(s3Actions);
    expect(actions.filter((action) => /^s3:(Get|Delete|List|PutBucket)/.test(action))).toEqual([]);
  });

  it('lets the manager routes read checked invoices (download links) under checked/ only, never an upload key', () => {
    const fnId = stack.getLogicalId(stack.api.functions.payouts.fn.node.defaultChild as never);
    const fn = template.toJSON().Resources[fnId];
    const statements = roleStatements(template, fn.Properties.Role['Fn::GetAtt'][0]);
    const reads = statements.filter(
      (statement) =>
        asList(statement.Action).some((action) => action === 's3:GetObject' || action === 's3:GetObject*') &&
        asList(statement.Resource).some((resource) => flatten(resource).includes(bucketId)),
    );
    expect(reads.length).toBeGreaterThan(0);
    for (const statement of reads) {
      expect(asList(statement.Resource).map(flatten)).toContain(`{GetAtt:${bucketId}.Arn}/checked/*`);
    }
    const objectResources = statements
      .filter((statement) => s3Actions(statement).length > 0)
      .flatMap((statement) => asList(statement.Resource).map(flatten))
      .filter((resource) => resource.includes(bucketId) && resource.includes('/'));
    for (const resource of objectResources) expect(resource).toBe(`{GetAtt:${bucketId}.Arn}/checked/*`);
  });

  it('keeps the bucket on prod and lets dev stacks empty and delete it', () => {
    const prod = synth({ ...CONTEXT, stage: 'prod' });
    const prodBucket =
      prod.template.toJSON().Resources[
        prod.stack.getLogicalId(prod.stack.invoices.bucket.node.defaultChild as never)
      ];
    expect(prodBucket.DeletionPolicy).toBe('Retain');
    expect(
      prod.template.findResources('Custom::S3AutoDeleteObjects', {
        Properties: {
          BucketName: { Ref: prod.stack.getLogicalId(prod.stack.invoices.bucket.node.defaultChild as never) },
        },
      }),
    ).toEqual({});
    expect(bucket.DeletionPolicy).toBe('Delete');
  });
});
