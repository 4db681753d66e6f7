/**
 * The HTTP API: a JWT authorizer (Cognito by default, or an external issuer), one Lambda per route
 * group of the route catalogue, and one API route per catalogue entry; the `$default` stage logs every
 * request as JSON to a log group with retention and throttles by default.
 */
import { CfnOutput, type CfnResource, Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  type HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import {
  AccountRecovery,
  CfnUserPoolGroup,
  ClientAttributes,
  FeaturePlan,
  Mfa,
  OAuthScope,
  StandardThreatProtectionMode,
  StringAttribute,
  UserPool,
  UserPoolClient,
  UserPoolClientIdentityProvider,
} from 'aws-cdk-lib/aws-cognito';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULT_CLAIM_NAMES, type ExternalClaimNames } from '#shared/config/auth.ts';
import { ENV, type EnvName } from '#shared/config/env.ts';
import { ROLE_GROUPS } from '#shared/domain/roles.ts';
import {
  FUNCTION_GROUPS,
  type FunctionGroup,
  ROUTES,
  type RouteSpec,
  routeKey,
} from '#shared/http/routes.ts';
import { HouseFunction } from './house-function.ts';
import { acknowledge, NAG_REASONS } from './nag.ts';

export interface ApiProps {
  jwtIssuer?: string | undefined;
  jwtAudience?: string[] | undefined;
  /** The external issuer's claim names (role, roles, partner id); Cognito tokens use their own. */
  jwtClaims?: Partial<ExternalClaimNames> | undefined;
  corsOrigins: string[];
  /** Default route throttling of the stage: steady requests per second and burst. */
  throttle: { rateLimit: number; burstLimit: number };
  /**
   * Each partner route's own throttling (route settings of the stage): partner traffic is held to
   * these, whatever the stage's default allows the manager routes.
   */
  partnerThrottle?: { rateLimit: number; burstLimit: number } | undefined;
  /** Reserved concurrency by API function (route group); none by default. */
  reservedConcurrency?: Partial<Record<FunctionGroup, number>> | undefined;
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
  /** The web console (infra/constructs/console.ts): its origin, and the hosted UI's domain prefix. */
  console?: { url: string; domainPrefix: string } | undefined;
}

/** One JSON object per request (HTTP API `$context` variables); no header or body is logged. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    ip: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    routeKey: '$context.routeKey',
    path: '$context.path',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationLatency: '$context.integrationLatency',
    integrationStatus: '$context.integrationStatus',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
    sub: '$context.authorizer.claims.sub',
  }),
);

const DESCRIPTIONS: Record<FunctionGroup, string> = {
  health: 'GET /health',
  partners: 'Partners and the partner profile',
  rewards: 'Rewards: create, list, accept, refuse',
  payouts: 'Manager payout routes: drafts and transitions',
  'partner-payouts': 'Partner payout routes: review, validate, request changes',
  'payout-runs': 'Payout runs: drafting now, run results',
  exports: 'Exports of ready payouts: payment files in S3, export records',
  holds: 'Holds: place, list, release, confirm',
  'bank-reports': 'Bank reports: presigned uploads, reports and their lines',
  webhooks: 'Webhook endpoints: registration, secrets, test, delivery log, replay',
};

/** The claim names of an external issuer, as the functions read them (../../shared/config/auth.ts). */
function claimEnvironment(claims: Partial<ExternalClaimNames> = {}): Partial<Record<EnvName, string>> {
  const names = { ...DEFAULT_CLAIM_NAMES, ...claims };
  return {
    [ENV.jwtRoleClaim]: names.role,
    [ENV.jwtRolesClaim]: names.roles,
    [ENV.jwtPartnerIdClaim]: names.partnerId,
  };
}

export class Api extends Construct {
  readonly httpApi: HttpApi;
  /** The `$default` stage: access logs and throttling. */
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  readonly functions: Record<FunctionGroup, HouseFunction>;
  readonly userPool?: UserPool;
  /** The console's sign-in: Cognito hosted UI, authorization code + PKCE (public client, no secret). */
  readonly hostedUi?: { issuer: string; domain: string; clientId: string };

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    let issuer = props.jwtIssuer;
    let audience = props.jwtAudience;
    if (!issuer) {
      const pool = new UserPool(this, 'UserPool', {
        selfSignUpEnabled: false,
        signInAliases: { email: true },
        customAttributes: { partner_id: new StringAttribute({ mutable: false, minLen: 1, maxLen: 64 }) },
        passwordPolicy: {
          minLength: 12,
          requireDigits: true,
          requireLowercase: true,
          requireUppercase: true,
          requireSymbols: true,
        },
        accountRecovery: AccountRecovery.EMAIL_ONLY,
        // Managers release payments and partners give their bank details: a second factor (TOTP) for all.
        mfa: Mfa.REQUIRED,
        mfaSecondFactor: { otp: true, sms: false },
        featurePlan: FeaturePlan.PLUS,
        standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION,
        removalPolicy: props.removalPolicy,
      });
      // `managers` (the original group) means admin; the others grant one role each.
      for (const [groupName, role] of Object.entries(ROLE_GROUPS)) {
        new CfnUserPoolGroup(this, groupName === 'managers' ? 'Managers' : `Group-${role}`, {
          userPoolId: pool.userPoolId,
          groupName,
          description: `Payout managers with the role ${role}`,
        });
      }
      const client = new UserPoolClient(this, 'Client', {
        userPool: pool,
        authFlows: { userSrp: true },
        accessTokenValidity: Duration.hours(1),
        idTokenValidity: Duration.hours(1),
      });
      issuer = `https://cognito-idp.${pool.stack.region}.amazonaws.com/${pool.userPoolId}`;
      audience = [client.userPoolClientId];
      if (props.console) {
        const domain = pool.addDomain('HostedUi', {
          cognitoDomain: { domainPrefix: props.console.domainPrefix },
        });
        const consoleClient = pool.addClient('ConsoleClient', {
          generateSecret: false,
          // The hosted UI only: authorization code (the console sends PKCE), no implicit flow, no passwords here.
          authFlows: { userSrp: false, userPassword: false, adminUserPassword: false, custom: false },
          oAuth: {
            flows: { authorizationCodeGrant: true, implicitCodeGrant: false, clientCredentials: false },
            scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
            callbackUrls: [`${props.console.url}/auth/callback`],
            logoutUrls: [`${props.console.url}/sign-in`],
          },
          supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
          preventUserExistenceErrors: true,
          enableTokenRevocation: true,
          readAttributes: new ClientAttributes()
            .withStandardAttributes({ email: true, emailVerified: true, fullname: true })
            .withCustomAttributes('partner_id'),
          // Named, so not "all writable attributes": no custom:* (partner_id) ever.
          writeAttributes: new ClientAttributes().withStandardAttributes({ locale: true }),
          idTokenValidity: Duration.hours(1),
          accessTokenValidity: Duration.hours(1),
          refreshTokenValidity: Duration.hours(12),
        });
        audience.push(consoleClient.userPoolClientId);
        this.hostedUi = { issuer, domain: domain.baseUrl(), clientId: consoleClient.userPoolClientId };
        new CfnOutput(this, 'ConsoleClientId', { value: consoleClient.userPoolClientId });
      }
      this.userPool = pool;
      new CfnOutput(this, 'UserPoolId', { value: pool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: client.userPoolClientId });
    }
    const authorizer = new HttpJwtAuthorizer('Jwt', issuer, { jwtAudience: audience ?? [] });

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Partner payouts API',
      corsPreflight: {
        allowOrigins: [...props.corsOrigins, ...(props.console ? [props.console.url] : [])],
        allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST, CorsHttpMethod.PATCH],
        allowHeaders: ['authorization', 'content-type', 'idempotency-key', 'if-match'],
        maxAge: Duration.hours(1),
      },
      // Added below, with its access logs and throttling (same construct id as the default one).
      createDefaultStage: false,
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: ACCESS_LOG_FORMAT,
      },
    });

    this.functions = Object.fromEntries(
      FUNCTION_GROUPS.map((group) => [
        group,
        new HouseFunction(this, `Fn-${group}`, {
          entry: group,
          description: DESCRIPTIONS[group],
          memorySize: group === 'health' ? 256 : 1024,
          environment: props.jwtIssuer ? claimEnvironment(props.jwtClaims) : {},
          logRetention: props.logRetention,
          removalPolicy: props.removalPolicy,
          reservedConcurrency: props.reservedConcurrency?.[group],
        }),
      ]),
    ) as Record<FunctionGroup, HouseFunction>;
    const partnerRouteSettings: Record<
      string,
      { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }
    > = {};

    const stageResource = this.stage.node.defaultChild as CfnStage;
    const integrations = new Map<FunctionGroup, HttpLambdaIntegration>();
    for (const spec of Object.values(ROUTES) as RouteSpec[]) {
      let integration = integrations.get(spec.group);
      if (!integration) {
        integration = new HttpLambdaIntegration(`Int-${spec.group}`, this.functions[spec.group].fn);
        integrations.set(spec.group, integration);
      }
      const routes = this.httpApi.addRoutes({
        path: spec.path,
        methods: [HttpMethod[spec.method]],
        integration,
        authorizer: spec.access === 'public' ? new HttpNoneAuthorizer() : authorizer,
      });
      if (spec.access === 'partner' && props.partnerThrottle) {
        partnerRouteSettings[routeKey(spec)] = {
          ThrottlingRateLimit: props.partnerThrottle.rateLimit,
          ThrottlingBurstLimit: props.partnerThrottle.burstLimit,
        };
        // Route settings name existing routes: the stage is written after them.
        for (const route of routes)
          stageResource.addResourceDependency(route.node.defaultChild as CfnResource);
      }
      // Any other public route is a finding to answer for.
      if (spec.access === 'public' && spec.method === 'GET' && spec.path === '/health') {
        for (const route of routes) acknowledge(route, 'AwsSolutions-APIG4', NAG_REASONS.publicHealth);
      }
    }
    if (Object.keys(partnerRouteSettings).length > 0) stageResource.routeSettings = partnerRouteSettings;
    new CfnOutput(this, 'ApiUrl', { value: this.httpApi.apiEndpoint });
  }
}
