/**
 * The bank-report bucket and its checker as CloudFormation (bundling skipped, as in stack.test.ts): a
 * private, versioned bucket with browser POST from the configured origins; ObjectCreated under
 * `bank-reports/` invoking the checker, which has a DLQ, the table, the bus and SES (sender pinned);
 * object grants under the prefix only, uploads (PutObject) for the route function.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PayoutsStack } from '../../infra/payouts-stack.ts';
import { asList, flatten, type Json, roleStatements, synth } from '../support/cdk.ts';

const PORTAL = 'https://portal.example.com';

describe('bank reports', () => {
  let stack: PayoutsStack;
  let template: Template;
  let resources: Record<string, Json>;
  let bucketId: string;
  let checkerId: string;

  beforeAll(() => {
    ({ stack, template } = synth({ corsOrigins: PORTAL }));
    resources = template.toJSON().Resources;
    bucketId = stack.getLogicalId(stack.bankReports.bucket.node.defaultChild as never);
    checkerId = stack.getLogicalId(stack.bankReports.checker.fn.node.defaultChild as never);
  });

  it('keeps reports in a private, encrypted, versioned bucket that takes browser POSTs from the portal', () => {
    const bucket = resources[bucketId];
    expect(bucket.Properties.PublicAccessBlockConfiguration).toMatchObject({
      BlockPublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.Properties.BucketEncryption).toBeDefined();
    expect(bucket.Properties.CorsConfiguration.CorsRules).toEqual([
      // The configured origins and the web console's (its CloudFront distribution).
      expect.objectContaining({
        AllowedMethods: ['POST'],
        AllowedOrigins: [
          PORTAL,
          { 'Fn::Join': ['', ['https://', expect.objectContaining({ 'Fn::GetAtt': expect.anything() })]] },
        ],
      }),
    ]);
  });

  it('sends ObjectCreated under bank-reports/ to the checker, which has a DLQ and what it works with', () => {
    const notifications = Object.values<Json>(template.findResources('Custom::S3BucketNotifications')).filter(
      (resource) => resource.Properties.BucketName?.Ref === bucketId,
    );
    expect(
      notifications.map((n) => n.Properties.NotificationConfiguration.LambdaFunctionConfigurations),
    ).toEqual([
      [
        {
          Events: ['s3:ObjectCreated:*'],
          Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'bank-reports/' }] } },
          LambdaFunctionArn: { 'Fn::GetAtt': [checkerId, 'Arn'] },
        },
      ],
    ]);
    const checker = resources[checkerId];
    expect(checker.Properties.DeadLetterConfig?.TargetArn?.['Fn::GetAtt']?.[1]).toBe('Arn');
    expect(Object.keys(checker.Properties.Environment.Variables)).toEqual(
      expect.arrayContaining([
        'TABLE_NAME',
        'BANK_REPORT_BUCKET',
        'EVENT_BUS_NAME',
        'MAIL_FROM',
        'MANAGER_EMAIL',
        'STATE_MACHINE_ARN',
      ]),
    );
    expect(checker.Properties.Timeout).toBe(900);
  });

  it('grants object actions under bank-reports/ only: the checker reads and deletes, the routes sign uploads', () => {
    const objects = `{GetAtt:${bucketId}.Arn}/bank-reports/*`;
    const checkerRole = resources[checkerId].Properties.Role['Fn::GetAtt'][0];
    const checkerS3 = roleStatements(template, checkerRole).filter((s) =>
      asList<string>(s.Action).some((a) => a.startsWith('s3:')),
    );
    expect(checkerS3.map((s) => [asList(s.Action).sort(), flatten(s.Resource)])).toEqual(
      expect.arrayContaining([
        [['s3:DeleteObject', 's3:GetObject'], objects],
        [['s3:ListBucket'], `{GetAtt:${bucketId}.Arn}`],
      ]),
    );
    for (const statement of checkerS3)
      expect(flatten(statement.Resource)).toMatch(new RegExp(`^\\{GetAtt:${bucketId}\\.Arn\\}`));
    const ses = roleStatements(template, checkerRole).filter((s) =>
      asList(s.Action).includes('ses:SendEmail'),
    );
    expect(ses).toHaveLength(1);
    expect(ses[0]?.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'payouts@example.com' } });

    const routesId = stack.getLogicalId(stack.api.functions['bank-reports'].fn.node.defaultChild as never);
    const routesRole = resources[routesId].Properties.Role['Fn::GetAtt'][0];
    const routesS3 = roleStatements(template, routesRole).filter((s) =>
      asList<string>(s.Action).some((a) => a.startsWith('s3:')),
    );
    expect(routesS3.map((s) => [asList(s.Action), flatten(s.Resource)])).toEqual([
      [['s3:PutObject'], objects],
    ]);
  });
});
