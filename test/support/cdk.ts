/**
 * The infra tests' one way to synthesize the stack, with bundling skipped (esbuild output is not what
 * they are about; `npx cdk synth` bundles for real), and the readers of its template they share.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { expect } from 'vitest';
import { loadConfig } from '../../infra/config.ts';
import { PayoutsStack } from '../../infra/payouts-stack.ts';

/** CloudFormation as the template gives it: untyped JSON. */
export type Json = any;

/** Context that skips bundling: the functions' code assets are not built. */
export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] } as const;

/** The stack `Test` synthesized with `context` (as `-c name=value` gives it), and its template. */
export function synth(context: Record<string, string> = {}): { stack: PayoutsStack; template: Template } {
  const app = new App({ context: { ...NO_BUNDLING, ...context } });
  const stack = new PayoutsStack(app, 'Test', { config: loadConfig(app.node) });
  return { stack, template: Template.fromStack(stack) };
}

export interface Finding {
  rule: string;
  path: string;
}

/** The findings of the validation report that `app.synth()` wrote to `outdir`. */
export function nagReport(outdir: string): Finding[] {
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
  return report.pluginReports.flatMap((plugin: Json) =>
    plugin.violations.flatMap((violation: Json) =>
      violation.violatingConstructs.map((construct: Json) => ({
        rule: violation.ruleName,
        path: construct.constructPath,
      })),
    ),
  );
}

/**
 * The stack `Nag` synthesized under cdk-nag's AWS Solutions checks (in a throwaway outdir), and what
 * they found. The synthesis must pass; the findings say what each test looks at.
 */
export function nagSynth(context: Record<string, string> = {}): { stack: PayoutsStack; findings: Finding[] } {
  const outdir = mkdtempSync(join(tmpdir(), 'nag-'));
  try {
    const app = new App({ outdir, context: { ...NO_BUNDLING, ...context } });
    const stack = new PayoutsStack(app, 'Nag', { config: loadConfig(app.node) });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
    return { stack, findings: nagReport(outdir) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export const asList = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** A CloudFormation value as text: intrinsics become `{Ref:X}` / `{GetAtt:X.Attr}` markers, joins joined. */
export function flatten(value: Json): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(flatten).join(',');
  if (value && typeof value === 'object') {
    if ('Ref' in value) return `{Ref:${value.Ref}}`;
    if ('Fn::GetAtt' in value) return `{GetAtt:${(value['Fn::GetAtt'] as string[]).join('.')}}`;
    if ('Fn::Join' in value) {
      const [separator, parts] = value['Fn::Join'] as [string, Json[]];
      return parts.map(flatten).join(separator);
    }
  }
  return JSON.stringify(value);
}

/** The one resource of `type` in the template, as `[logicalId, resource]`. */
export function only(template: Template, type: string): [string, Json] {
  const entries = Object.entries<Json>(template.findResources(type));
  expect(entries, type).toHaveLength(1);
  return entries[0] as [string, Json];
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource?: Json;
  Principal?: Json;
  Condition?: Json;
}

/**
 * The statements of every identity policy of a role, attached or inline. The role is named by its
 * logical id, or by the `{ "Fn::GetAtt": [id, "Arn"] }` a function's `Role` property holds.
 */
export function roleStatements(template: Template, role: string | Json): Statement[] {
  const roleId: string = typeof role === 'string' ? role : (role['Fn::GetAtt'] as [string, string])[0];
  const found: Statement[] = [];
  for (const resource of Object.values<Json>(template.findResources('AWS::IAM::Policy'))) {
    if (asList<Json>(resource.Properties.Roles).some((ref) => ref.Ref === roleId))
      found.push(...asList<Statement>(resource.Properties.PolicyDocument.Statement));
  }
  const resource = template.findResources('AWS::IAM::Role')[roleId];
  for (const policy of asList<Json>(resource?.Properties.Policies)) {
    found.push(...asList<Statement>(policy.PolicyDocument.Statement));
  }
  return found;
}
