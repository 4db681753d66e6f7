/**
 * The web console on AWS: web/dist in a private S3 bucket, served by CloudFront through origin access
 * control (HTTPS only, security headers, SPA fallback: 403/404 → /index.html), with `/config.json`
 * (the API URL and the Cognito hosted UI client) written beside it at deploy time.
 *
 * The console is built during synthesis by a local bundling step (infra/local/console-build.ts: API
 * types from the OpenAPI document, type-check, Vite) into the asset's output directory, so `cdk synth`
 * works from a clean clone without web/dist; tests that skip bundling never build it.
 */
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { DockerImage, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { Policy, Role } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { acknowledge, acknowledgeManagedPolicy, findingText, NAG_REASONS, policyOf } from './nag.ts';

const ROOT = join(import.meta.dirname, '../..');

export interface ConsoleProps {
  removalPolicy: RemovalPolicy;
  autoDeleteObjects: boolean;
  accessLogsBucket: Bucket;
}

export interface ConsoleSettings {
  apiUrl: string;
  cognito?: { issuer: string; domain: string; clientId: string };
}

/** The Content-Security-Policy of the console: its own code, the API and S3 for invoice uploads. */
function contentSecurityPolicy(connect: string[]): string {
  return [
    "default-src 'self'",
    `connect-src 'self' ${connect.join(' ')}`,
    "img-src 'self' data:",
    "style-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join('; ');
}

export class Console extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  /** https://<distribution domain>: the console's origin (CORS, callback and logout URLs). */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ConsoleProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'console/',
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: props.autoDeleteObjects,
    });
    const region = Stack.of(this).region;
    const headers = new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Partner payouts console: security headers',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: contentSecurityPolicy([
            `https://*.execute-api.${region}.amazonaws.com`,
            `https://*.s3.${region}.amazonaws.com`,
            `https://*.s3.amazonaws.com`,
            `https://*.auth.${region}.amazoncognito.com`,
          ]),
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          preload: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: {
          referrerPolicy: HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
          override: true,
        },
        xssProtection: { protection: true, modeBlock: true, override: true },
      },
    });
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Partner payouts console',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        compress: true,
      },
      // The SPA's own routes (/manage/…, /portal/…) are not objects: S3 answers 403 through OAC.
      errorResponses: [403, 404].map((httpStatus) => ({
        httpStatus,
        responseHttpStatus: 200,
        responsePagePath: '/index.html',
        ttl: Duration.seconds(0),
      })),
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: props.accessLogsBucket,
      logFilePrefix: 'console-cdn/',
    });
    this.url = `https://${this.distribution.distributionDomainName}`;
    acknowledge(this.distribution, 'AwsSolutions-CFR4', NAG_REASONS.cloudFrontDefaultCertificate);
    acknowledge(this.distribution, 'AwsSolutions-CFR1', NAG_REASONS.cloudFrontGeo);
    acknowledge(this.distribution, 'AwsSolutions-CFR2', NAG_REASONS.cloudFrontWaf);
  }

  /** Uploads the built console (hashed assets: immutable) and its config.json (no-cache), then invalidates. */
  deploy(settings: ConsoleSettings): void {
    const built = Source.asset(join(ROOT, 'web'), {
      exclude: ['dist', 'node_modules', 'src/api/openapi.d.ts'],
      bundling: {
        image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22'),
        command: [
          'sh',
          '-c',
          'echo "build the console locally: npx tsx infra/local/console-build.ts" && exit 1',
        ],
        local: {
          tryBundle(outputDir: string): boolean {
            execFileSync(join(ROOT, 'node_modules/.bin/tsx'), ['infra/local/console-build.ts'], {
              cwd: ROOT,
              stdio: ['ignore', process.stderr, process.stderr],
            });
            cpSync(join(ROOT, 'web/dist'), outputDir, {
              recursive: true,
              filter: (source) => !source.endsWith('.build-stamp'),
            });
            return true;
          },
        },
      },
    });
    const config = Source.jsonData('config.json', {
      apiUrl: settings.apiUrl,
      auth: settings.cognito
        ? {
            kind: 'cognito',
            issuer: settings.cognito.issuer,
            domain: settings.cognito.domain,
            clientId: settings.cognito.clientId,
            redirectUri: `${this.url}/auth/callback`,
            logoutUri: `${this.url}/sign-in`,
          }
        : { kind: 'local' },
    });
    const assets = new BucketDeployment(this, 'Assets', {
      sources: [built],
      destinationBucket: this.bucket,
      exclude: ['index.html'],
      cacheControl: [CacheControl.fromString('public, max-age=31536000, immutable')],
      prune: false,
      memoryLimit: 512,
    });
    const entry = new BucketDeployment(this, 'Entry', {
      sources: [built, config],
      destinationBucket: this.bucket,
      exclude: ['*'],
      include: ['index.html', 'config.json'],
      cacheControl: [CacheControl.noCache()],
      prune: false,
      memoryLimit: 512,
    });
    // No CloudFront invalidation (CDK would grant it on every distribution): index.html and config.json
    // are served no-cache, so CloudFront revalidates them; the hashed assets never change.
    entry.node.addDependency(assets);
    this.acknowledgeDeploymentHandler();
  }

  /** CDK's singleton BucketDeployment handler: its findings, one by one (after both deployments granted). */
  private acknowledgeDeploymentHandler(): void {
    const handler = Stack.of(this).node.children.find((child) =>
      child.node.id.startsWith('Custom::CDKBucketDeployment'),
    );
    const role = handler?.node.tryFindChild('ServiceRole') as Role | undefined;
    if (!handler || !role) return;
    const reason = NAG_REASONS.cdkBucketDeployment;
    acknowledge(handler, 'AwsSolutions-L1', reason);
    acknowledgeManagedPolicy(role, 'service-role/AWSLambdaBasicExecutionRole', reason);
    const policy = policyOf(role) as Policy;
    const document = policy.document.toJSON() as {
      Statement?: { Action: string | string[]; Resource: unknown }[];
    };
    for (const statement of document.Statement ?? []) {
      for (const action of [statement.Action].flat()) {
        if (action.endsWith('*')) acknowledge(policy, 'AwsSolutions-IAM5', reason, `Action::${action}`);
      }
      for (const resource of [statement.Resource].flat()) {
        const text = findingText(policy, resource);
        if (text.endsWith('/*')) acknowledge(policy, 'AwsSolutions-IAM5', reason, `Resource::${text}`);
      }
    }
  }
}
