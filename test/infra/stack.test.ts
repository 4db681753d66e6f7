/**
 * The CDK stack as CloudFormation: Template assertions (bundling skipped by ../support/cdk.ts:
 * esbuild output is not what these tests are about; `npx cdk synth` bundles for real).
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, routeKey } from '../../shared/http/routes.ts';
import { synth } from '../support/cdk.ts';

describe('payouts stack', () => {
  let template: Template;
  beforeAll(() => {
    template = synth().template;
  });

  it('stores payouts in one on-demand, encrypted table with PITR and the four indexes', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'PK', KeyType: 'HASH' },
        { AttributeName: 'SK', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
      GlobalSecondaryIndexes: ['GSI1', 'GSI2', 'GSI3', 'GSI4'].map((name) =>
        Match.objectLike({ IndexName: name }),
      ),
    });
  });

  it('keeps data on prod and lets dev stacks go', () => {
    const dev = synth().template.findResources('AWS::DynamoDB::GlobalTable');
    const prod = synth({ stage: 'prod' }).template.findResources('AWS::DynamoDB::GlobalTable');
    const policies = (resources: Record<string, { DeletionPolicy?: string }>) =>
      Object.values(resources).map((resource) => resource.DeletionPolicy);
    expect(policies(prod)).toContain('Retain');
    expect(policies(dev)).not.toContain('Retain');
  });

  it('guards every non-public route with the JWT authorizer', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
    });
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (resource) => resource.Properties as { RouteKey: string; AuthorizationType?: string },
    );
    const expected = Object.values(ROUTES).map(routeKey).sort();
    expect(routes.map((route) => route.RouteKey).sort()).toEqual(expected);
    for (const route of routes) {
      const spec = Object.values(ROUTES).find((candidate) => routeKey(candidate) === route.RouteKey);
      expect(route.AuthorizationType ?? 'NONE').toBe(spec?.access === 'public' ? 'NONE' : 'JWT');
    }
  });

  it('uses an external issuer when one is configured', () => {
    const external = synth({ jwtIssuer: 'https://issuer.example.com/', jwtAudience: 'payouts' }).template;
    external.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: { Issuer: 'https://issuer.example.com/', Audience: ['payouts'] },
    });
    external.resourceCountIs('AWS::Cognito::UserPool', 0);
  });

  it('passes an external issuer’s claim names to the API functions (defaults role/roles/partner_id)', () => {
    const external = synth({
      jwtIssuer: 'https://issuer.example.com/',
      jwtAudience: 'payouts',
      jwtRolesClaim: 'groups',
    }).template;
    external.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          JWT_ROLE_CLAIM: 'role',
          JWT_ROLES_CLAIM: 'groups',
          JWT_PARTNER_ID_CLAIM: 'partner_id',
        }),
      },
    });
  });

  it('creates a Cognito pool with a managers group and a partner_id attribute by default', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      Schema: Match.arrayWith([Match.objectLike({ Name: 'partner_id' })]),
    });
    for (const group of [
      'managers',
      'payouts-viewer',
      'payouts-program-managers',
      'payouts-finance',
      'payouts-admins',
    ]) {
      template.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: group });
    }
  });

  it('runs every function on Node 22+, ARM64, traced, with its table bound through the environment', () => {
    // Ours are built by the house-defaults construct; CDK's own custom-resource handlers are not.
    const functions = Object.values(template.findResources('AWS::Lambda::Function'))
      .map(
        (resource) =>
          resource.Properties as {
            Runtime: string;
            Architectures: string[];
            TracingConfig: { Mode: string };
            Environment?: { Variables?: Record<string, unknown> };
          },
      )
      .filter((fn) => fn.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'partner-payouts');
    expect(functions.length).toBeGreaterThanOrEqual(5);
    for (const fn of functions) {
      expect(fn.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
      expect(fn.Architectures).toEqual(['arm64']);
      expect(fn.TracingConfig.Mode).toBe('Active');
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: Match.anyValue(),
          IDEMPOTENCY_TABLE_NAME: Match.anyValue(),
        }),
      },
    });
  });

  it('gives every function a log group with retention', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThanOrEqual(5);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
  });
});
