/**
 * House defaults for every Lambda: Node 24 on ARM64, ESM bundle with the SDK inside, minified with
 * source maps, X-Ray tracing, a log group with retention and a role that may write to that log group
 * only (no AWSLambdaBasicExecutionRole, which may write to every log group of the account). `bind*`
 * helpers grant IAM and set the environment variable together, so a function never has one without
 * the other; the wildcards a grant needs are acknowledged for cdk-nag where it is made (./nag.ts).
 */

import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { ENV, type EnvName } from '#shared/config/env.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#shared/config/metrics.ts';
import { IDEMPOTENCY_ACTIONS, TABLE_ACCESS } from '../access.ts';
import { acknowledgeWildcardResource, hasIndexes, NAG_REASONS } from './nag.ts';

const READ_ACTIONS = new Set(['GetItem', 'BatchGetItem', 'Query']);

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The esbuild options CDK bundles with; the cold-start benchmark reuses them. */
export const BUNDLING = {
  format: 'esm',
  target: 'node24',
  platform: 'node',
  minify: true,
  sourceMap: true,
  mainFields: ['module', 'main'],
  banner:
    "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
} as const;

export interface HouseFunctionProps {
  /** Folder under functions/ holding handler.ts. */
  entry: string;
  description: string;
  memorySize?: number;
  timeout?: Duration;
  environment?: Partial<Record<EnvName, string>>;
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
  /** For asynchronous triggers: events that failed every retry land here. */
  deadLetterQueue?: IQueue;
  /** Reserved concurrency (a cap, and a floor kept for it); unset: none. */
  reservedConcurrency?: number | undefined;
  /** Files copied next to the bundle (`index.mjs`), by path relative to the project root. */
  assets?: string[];
}

export class HouseFunction extends Construct {
  /** Every house function under `scope`, in construct-tree order (alarms, dashboard). */
  static all(scope: IConstruct): HouseFunction[] {
    return scope.node.findAll().filter((child): child is HouseFunction => child instanceof HouseFunction);
  }

  readonly fn: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  /** The entry folder: names the function in alarms and on the dashboard. */
  readonly name: string;

  constructor(scope: Construct, id: string, props: HouseFunctionProps) {
    super(scope, id);
    this.name = props.entry;
    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.logGroup = logGroup;
    this.role = new Role(this, 'ServiceRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.entry}: writes its own log group; grants are added by bind*`,
    });
    logGroup.grantWrite(this.role);
    this.fn = new NodejsFunction(this, 'Function', {
      entry: `${root}functions/${props.entry}/handler.ts`,
      handler: 'handler',
      projectRoot: root,
      depsLockFilePath: `${root}package-lock.json`,
      description: props.description,
      role: this.role,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(29),
      tracing: Tracing.ACTIVE,
      deadLetterQueue: props.deadLetterQueue,
      ...(props.reservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrency }
        : {}),
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLING.target,
        minify: BUNDLING.minify,
        sourceMap: BUNDLING.sourceMap,
        mainFields: [...BUNDLING.mainFields],
        banner: BUNDLING.banner,
        externalModules: [],
        ...(props.assets?.length
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (inputDir: string, outputDir: string) =>
                  (props.assets ?? []).map((asset) => `cp "${inputDir}/${asset}" "${outputDir}/"`),
              },
            }
          : {}),
      },
    });
    // Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords on *.
    acknowledgeWildcardResource(this.role, '*', NAG_REASONS.xray);
  }

  setEnv(name: EnvName, value: string): this {
    this.fn.addEnvironment(name, value);
    return this;
  }

  /**
   * Sets the table's variable and grants exactly the actions this function calls on it: for the
   * payouts table those of ../access.ts `TABLE_ACCESS` (by entry), for the idempotency table those of
   * Powertools idempotency. `access` narrows further (`read`: its read actions only).
   */
  bindTable(name: EnvName, table: ITable, access: 'read' | 'readWrite'): this {
    this.setEnv(name, table.tableName);
    let actions: readonly string[];
    if (name === ENV.idempotencyTableName) actions = IDEMPOTENCY_ACTIONS;
    else {
      const declared = TABLE_ACCESS[this.name];
      if (!declared) throw new Error(`infra/access.ts declares no table access for ${this.name}`);
      actions = access === 'read' ? declared.filter((action) => READ_ACTIONS.has(action)) : declared;
    }
    if (actions.length === 0) return this;
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: actions.map((action) => `dynamodb:${action}`),
        resources: [table.tableArn],
      }),
    );
    // Only a Query reads an index.
    if (actions.includes('Query') && hasIndexes(table)) {
      const indexes = `${table.tableArn}/index/*`;
      this.role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['dynamodb:Query'], resources: [indexes] }),
      );
      acknowledgeWildcardResource(this.role, indexes, NAG_REASONS.tableIndexes);
    }
    return this;
  }
}
