/**
 * The web console as CloudFormation (bundling skipped, as in stack.test.ts): a private bucket read by
 * CloudFront through origin access control only; HTTPS only, security headers, SPA fallback; the
 * Cognito hosted UI client (authorization code only, public, the console's own callback and logout
 * URLs, no writable custom attribute) whose ID tokens the API accepts; the API's and the invoice
 * bucket's CORS allowing the console's origin; config.json written at deploy time. With an external
 * JWT issuer there is no console.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PayoutsStack } from '../../infra/payouts-stack.ts';
import { type Json, only, synth } from '../support/cdk.ts';

describe('the console construct', () => {
  let template: Template;
  let stack: PayoutsStack;
  let distributionId: string;
  let domain: Json;

  beforeAll(() => {
    ({ stack, template } = synth());
    [distributionId] = only(template, 'AWS::CloudFront::Distribution');
    domain = { 'Fn::GetAtt': [distributionId, 'DomainName'] };
  });

  it('keeps the bucket private and lets only this distribution read it (origin access control)', () => {
    const [bucketId, bucket] = Object.entries<Json>(template.findResources('AWS::S3::Bucket')).find(([id]) =>
      id.startsWith('ConsoleBucket'),
    ) as [string, Json];
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.BucketEncryption).toBeDefined();
    expect(bucket.Properties.LoggingConfiguration).toBeDefined();
    const [, oac] = only(template, 'AWS::CloudFront::OriginAccessControl');
    expect(oac.Properties.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: 's3',
      SigningBehavior: 'always',
      SigningProtocol: 'sigv4',
    });
    const policies = Object.values<Json>(template.findResources('AWS::S3::BucketPolicy')).filter(
      (policy) => policy.Properties.Bucket.Ref === bucketId,
    );
    const statements = policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    // Readers: CloudFront, and (dev only) CDK's auto-delete role; nobody else.
    const allows = statements.filter(
      (statement: Json) =>
        statement.Effect === 'Allow' &&
        !JSON.stringify(statement.Principal).includes('CustomS3AutoDeleteObjectsCustomResourceProviderRole'),
    );
    expect(allows).toEqual([
      expect.objectContaining({
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 's3:GetObject',
        Condition: {
          StringEquals: {
            'AWS:SourceArn': expect.objectContaining({ 'Fn::Join': expect.anything() }),
          },
        },
      }),
    ]);
    expect(JSON.stringify(allows[0].Condition)).toContain(distributionId);
    // TLS only.
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('serves over HTTPS only, with security headers and the SPA fallback', () => {
    const [, distribution] = only(template, 'AWS::CloudFront::Distribution');
    const config = distribution.Properties.DistributionConfig;
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('https-only');
    expect(config.Origins).toHaveLength(1);
    expect(config.Origins[0].OriginAccessControlId).toBeDefined();
    expect(config.Origins[0].S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    expect(config.CustomErrorResponses).toEqual([
      { ErrorCode: 403, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 0 },
      { ErrorCode: 404, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 0 },
    ]);
    expect(config.Logging).toBeDefined();
    const [headersId, headers] = only(template, 'AWS::CloudFront::ResponseHeadersPolicy');
    expect(config.DefaultCacheBehavior.ResponseHeadersPolicyId).toEqual({ Ref: headersId });
    const security = headers.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    expect(security.StrictTransportSecurity).toMatchObject({
      AccessControlMaxAgeSec: 31_536_000,
      Override: true,
    });
    expect(security.FrameOptions).toMatchObject({ FrameOption: 'DENY' });
    expect(security.ContentTypeOptions).toMatchObject({ Override: true });
    // A join: connect-src names the region's API and S3 endpoints.
    const csp = JSON.stringify(security.ContentSecurityPolicy.ContentSecurityPolicy);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
  });

  it('signs in through the hosted UI with the authorization code only, on the console’s own URLs', () => {
    only(template, 'AWS::Cognito::UserPoolDomain');
    const clients = Object.entries<Json>(template.findResources('AWS::Cognito::UserPoolClient'));
    const [consoleClientId, consoleClient] = clients.find(
      ([, client]) => client.Properties.AllowedOAuthFlows,
    ) as [string, Json];
    const props = consoleClient.Properties;
    expect(props.AllowedOAuthFlows).toEqual(['code']);
    expect(props.AllowedOAuthFlowsUserPoolClient).toBe(true);
    expect(props.GenerateSecret).toBe(false);
    expect(props.SupportedIdentityProviders).toEqual(['COGNITO']);
    expect(props.AllowedOAuthScopes).toEqual(expect.arrayContaining(['openid']));
    expect(props.CallbackURLs).toEqual([{ 'Fn::Join': ['', ['https://', domain, '/auth/callback']] }]);
    expect(props.LogoutURLs).toEqual([{ 'Fn::Join': ['', ['https://', domain, '/sign-in']] }]);
    expect(props.WriteAttributes.length).toBeGreaterThan(0);
    expect(props.WriteAttributes.filter((name: string) => name.startsWith('custom:'))).toEqual([]);
    expect(props.ReadAttributes).toContain('custom:partner_id');
    expect(props.ExplicitAuthFlows ?? []).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/PASSWORD|CUSTOM_AUTH/)]),
    );
    // The API's JWT authorizer accepts this client's ID tokens (their audience).
    const [, authorizer] = only(template, 'AWS::ApiGatewayV2::Authorizer');
    expect(authorizer.Properties.JwtConfiguration.Audience).toContainEqual({ Ref: consoleClientId });
  });

  it('lets the console’s origin call the API and upload invoices', () => {
    const origin = { 'Fn::Join': ['', ['https://', domain]] };
    const [, api] = only(template, 'AWS::ApiGatewayV2::Api');
    expect(api.Properties.CorsConfiguration.AllowOrigins).toContainEqual(origin);
    const invoices = Object.entries<Json>(template.findResources('AWS::S3::Bucket')).find(([id]) =>
      id.startsWith('InvoicesBucket'),
    )?.[1];
    expect(invoices.Properties.CorsConfiguration.CorsRules[0].AllowedOrigins).toContainEqual(origin);
  });

  it('deploys the built console and a config.json naming the API and the hosted UI client', () => {
    const deployments = Object.values<Json>(template.findResources('Custom::CDKBucketDeployment'));
    expect(deployments).toHaveLength(2);
    const entry = deployments.find((deployment) => deployment.Properties.Include) as Json;
    expect(entry.Properties.Include).toEqual(['index.html', 'config.json']);
    expect(entry.Properties.SystemMetadata).toMatchObject({ 'cache-control': 'no-cache' });
    const markers = JSON.stringify(entry.Properties.SourceMarkers);
    expect(markers).toContain('HttpApi');
    expect(markers).toContain('ConsoleClient');
    expect(markers).toContain('HostedUi');
    const assets = deployments.find((deployment) => !deployment.Properties.Include) as Json;
    expect(assets.Properties.SystemMetadata['cache-control']).toContain('immutable');
    template.hasOutput('ConsoleUrl', { Value: Match.objectLike({ 'Fn::Join': Match.anyValue() }) });
    expect(stack.console?.url).toBeDefined();
  });

  it('links e-mails to the console unless portalUrl names another address', () => {
    const portalUrls = (t: Template) =>
      Object.values<Json>(t.findResources('AWS::Lambda::Function'))
        .map((fn) => fn.Properties.Environment?.Variables?.PORTAL_URL)
        .filter((value) => value !== undefined);
    expect(portalUrls(template).length).toBeGreaterThan(0);
    for (const value of portalUrls(template)) {
      expect(value).toEqual({ 'Fn::Join': ['', ['https://', domain]] });
    }
    const named = synth({ portalUrl: 'https://payouts.example.org' });
    expect(portalUrls(named.template)).toEqual(
      portalUrls(named.template).map(() => 'https://payouts.example.org'),
    );
  });

  it('has no console with an external JWT issuer (it signs in with the Cognito pool)', () => {
    const external = synth({ jwtIssuer: 'https://issuer.example.com', jwtAudience: 'payouts' });
    expect(Object.keys(external.template.findResources('AWS::CloudFront::Distribution'))).toEqual([]);
    expect(external.stack.console).toBeUndefined();
  });
});
