/**
 * cdk-nag's AWS Solutions checks on the whole app, as `npx cdk synth` runs them (cdk.json's context and
 * feature flags; bundling skipped): no unacknowledged finding on the dev stack, on a prod stack pinned
 * to an account and region (partition literals, account and region inside ARNs) or on a stack using an
 * external JWT issuer. A non-compliant queue in a throwaway stack of the same app is reported, so the
 * check can fail. Every acknowledgement names its rule (with the finding for IAM4/IAM5), gives one of
 * the shared reasons, and matches a finding on the construct it sits on (none is stale); the blanket
 * `Resource::*` ones cover the services that have no resource-level permissions, nothing else.
 * One synthesis for the whole file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config.ts';
import { NAG_REASONS } from '../../infra/constructs/nag.ts';
import { PayoutsStack } from '../../infra/payouts-stack.ts';
import { type Finding, type Json, NO_BUNDLING, nagReport } from '../support/cdk.ts';

interface Acknowledgement {
  id: string;
  reason: string;
  path: string;
}

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'));

/** A stack's configuration as `-c name=value` would give it. */
function configFor(app: App, id: string, context: Record<string, string>) {
  const scope = new Construct(app, `${id}Context`);
  for (const [name, value] of Object.entries(context)) scope.node.setContext(name, value);
  return loadConfig(scope.node);
}

describe('cdk-nag AWS Solutions checks', () => {
  let outdir: string;
  let app: App;
  let synthError: unknown;
  let findings: Finding[];
  let rawFindings: Finding[];
  let acknowledgements: Acknowledgement[];

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'nag-'));
    app = new App({ outdir, context: { ...cdkJson.context, ...NO_BUNDLING } });
    new PayoutsStack(app, 'Dev', { config: configFor(app, 'Dev', {}) });
    new PayoutsStack(app, 'Prod', {
      config: configFor(app, 'Prod', { stage: 'prod', alarmEmail: 'ops@example.com' }),
      env: { account: '123456789012', region: 'eu-west-1' },
    });
    new PayoutsStack(app, 'External', {
      config: configFor(app, 'External', {
        jwtIssuer: 'https://issuer.example.com/',
        jwtAudience: 'payouts',
      }),
    });
    // The control: a queue with no DLQ and no TLS-only policy must be reported.
    new Queue(new Stack(app, 'Throwaway'), 'Plain');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    try {
      app.synth();
    } catch (error) {
      synthError = error;
    }
    findings = nagReport(outdir);
    // The same checks with every acknowledgement ignored: what each one answers for.
    const raw = new AwsSolutionsChecks();
    (raw as Json).isAcknowledged = () => false;
    rawFindings = raw.validateScope(app).violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => ({
        rule: violation.ruleName,
        path: resource.constructPath ?? '',
      })),
    );
    acknowledgements = app.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
            id: id.replace(/^annotation::/i, ''),
            reason,
            path: construct.node.path,
          })),
        )
        .filter((acknowledgement) => acknowledgement.id.startsWith('AwsSolutions-')),
    );
  });

  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it('reports a non-compliant resource, so synthesis fails on a finding', () => {
    expect(synthError).toBeInstanceOf(Error);
    const control = findings.filter((finding) => finding.path.startsWith('Throwaway/'));
    expect(control.map((finding) => finding.rule)).toEqual(
      expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']),
    );
  });

  it('finds nothing unacknowledged in the payouts stacks (dev, prod in an environment, external issuer)', () => {
    expect(findings.filter((finding) => !finding.path.startsWith('Throwaway/'))).toEqual([]);
    // The checks did look at them: without acknowledgements, there would be findings in each.
    for (const stack of ['Dev', 'Prod', 'External']) {
      expect(rawFindings.some((finding) => finding.path.startsWith(`${stack}/`))).toBe(true);
    }
  });

  it('gives every acknowledgement a shared reason of a full sentence', () => {
    expect(acknowledgements.length).toBeGreaterThan(0);
    const reasons: string[] = Object.values(NAG_REASONS);
    for (const acknowledgement of acknowledgements) {
      expect(acknowledgement.reason.length, acknowledgement.id).toBeGreaterThanOrEqual(20);
      expect(reasons, acknowledgement.id).toContain(acknowledgement.reason);
    }
  });

  it('acknowledges IAM findings one by one, with the wildcard or managed policy they are about', () => {
    for (const { id } of acknowledgements.filter((candidate) => /-IAM[45]/.test(candidate.id))) {
      expect(id).toMatch(/^AwsSolutions-IAM(4\[Policy::|5\[(Resource|Action)::).+\]$/);
    }
  });

  it('has no stale acknowledgement: each answers a finding on its own construct or below', () => {
    for (const acknowledgement of acknowledgements) {
      const answered = rawFindings.some(
        (finding) =>
          finding.rule === acknowledgement.id &&
          (finding.path === acknowledgement.path || finding.path.startsWith(`${acknowledgement.path}/`)),
      );
      expect(answered, `${acknowledgement.path}: ${acknowledgement.id}`).toBe(true);
    }
  });

  it('uses Resource::* only for the APIs that have no resource-level permissions', () => {
    const allowed =
      /^(xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups))$/;
    const blanket = acknowledgements.filter((acknowledgement) =>
      acknowledgement.id.endsWith('[Resource::*]'),
    );
    expect(blanket.length).toBeGreaterThan(0);
    for (const acknowledgement of blanket) {
      const policy = app.node.findAll().find((construct) => construct.node.path === acknowledgement.path);
      const cfn = policy?.node.defaultChild as Json;
      const document = Stack.of(policy as Construct).resolve(cfn.policyDocument);
      for (const statement of document.Statement as Json[]) {
        const resources = [statement.Resource].flat();
        if (!resources.includes('*')) continue;
        for (const action of [statement.Action].flat()) expect(action, acknowledgement.path).toMatch(allowed);
      }
    }
  });
});
