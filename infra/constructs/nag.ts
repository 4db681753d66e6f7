/**
 * cdk-nag (AwsSolutions) acknowledgements, in one place. cdk-nag 3 matches the exact finding id, e.g.
 * `AwsSolutions-IAM5[Resource::<DataTable1234.Arn>/index/*]`, so the helpers compute the finding from
 * the very value the grant used, rendered as cdk-nag renders it (`<Logical.Arn>`, `<AWS::Partition>`):
 * an acknowledgement covers that wildcard and nothing else, and follows the logical id, the partition
 * and the environment. Each goes on the narrowest construct that carries the finding (the role policy
 * the grant wrote to, the route, the role) with one of the reasons below.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import { CfnGlobalTable, CfnTable, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IRole, ManagedPolicy } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/** Why each kind of finding is accepted; every acknowledgement uses one of these. */
export const NAG_REASONS = {
  xray: 'X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions: tracing needs Resource *',
  tableIndexes: "Queries need the table's GSIs; the grant is scoped to this table's indexes",
  objectPrefix:
    "Object keys are generated per upload or export; the grant is scoped to this bucket's key prefix",
  sesIdentity:
    'The verified SES identity (address or domain) is chosen at deploy; ses:FromAddress pins the sender',
  stateMachineServices:
    'X-Ray and CloudWatch Logs log-delivery APIs have no resource-level permissions; Step Functions needs them',
  cdkNotificationsHandler:
    "CDK's bucket-notifications handler runs once per deploy and only logs; its role is managed by CDK",
  publicHealth: 'GET /health is the unauthenticated liveness probe: it returns a constant and reads no data',
  stateMachineExecutions:
    "Execution names are per payout and attempt; DescribeExecution is scoped to this state machine's executions",
  cloudFrontDefaultCertificate:
    'The console is served on its *.cloudfront.net name, whose default certificate CloudFront pins to TLSv1; a custom domain with its own certificate would take TLSv1.2_2021',
  cloudFrontGeo: 'Partners may be anywhere: the console is not restricted by country',
  cloudFrontWaf:
    'The console is static files; every request that matters goes to the API, whose JWT authorizer and throttling guard it',
  cdkBucketDeployment:
    "CDK's BucketDeployment handler copies the built console into its bucket at deploy time; its role and runtime are managed by CDK",
  webhookSchedules:
    'Webhook retries are one-time schedules named per delivery; the grant is scoped to the webhook schedule group',
} as const;

/** A CloudFormation value as cdk-nag prints it in a finding (mirrors its flattenCfnReference). */
export function findingText(scope: IConstruct, value: unknown): string {
  const visit = (node: unknown): string => {
    if (node === undefined) return '';
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
    if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (Array.isArray(record['Fn::Join'])) {
        const [delimiter, items] = record['Fn::Join'] as [string, unknown[]];
        return items.map(visit).join(delimiter);
      }
      if ('Fn::Sub' in record) return visit(record['Fn::Sub']);
      if (Array.isArray(record['Fn::GetAtt'])) {
        const [resource, attribute] = record['Fn::GetAtt'] as [unknown, unknown];
        return `<${visit(resource)}.${visit(attribute)}>`;
      }
      if ('Fn::ImportValue' in record) return visit(record['Fn::ImportValue']);
      if ('Ref' in record) return `<${visit(record.Ref)}>`;
    }
    return JSON.stringify(node);
  };
  return visit(Stack.of(scope).resolve(value));
}

/** One acknowledgement: the rule, with its finding when the rule reports several per resource. */
export function acknowledge(scope: IConstruct, rule: string, reason: string, finding?: string): void {
  Validations.of(scope).acknowledge({ id: finding === undefined ? rule : `${rule}[${finding}]`, reason });
}

/** The construct that carries a role's grants (its default policy), or the role before any grant. */
export function policyOf(role: IRole): IConstruct {
  return role.node.tryFindChild('DefaultPolicy') ?? role;
}

/** IAM5 for one wildcard resource (`resource` is the ARN the grant used) in `role`'s policy. */
export function acknowledgeWildcardResource(role: IRole, resource: string, reason: string): void {
  const policy = policyOf(role);
  acknowledge(policy, 'AwsSolutions-IAM5', reason, `Resource::${findingText(policy, resource)}`);
}

/** IAM4 for one AWS managed policy attached to `role` (by name, e.g. `service-role/…`). */
export function acknowledgeManagedPolicy(role: IRole, policyName: string, reason: string): void {
  const arn = ManagedPolicy.fromAwsManagedPolicyName(policyName).managedPolicyArn;
  acknowledge(role, 'AwsSolutions-IAM4', reason, `Policy::${findingText(role, arn)}`);
}

/** Whether a table of this stack has secondary indexes (its data grants then include `<table>/index/*`). */
export function hasIndexes(table: ITable): boolean {
  const cfn = table.node.defaultChild;
  const stack = Stack.of(table);
  if (cfn instanceof CfnGlobalTable || cfn instanceof CfnTable) {
    const global = stack.resolve(cfn.globalSecondaryIndexes) as unknown[] | undefined;
    const local = stack.resolve(cfn.localSecondaryIndexes) as unknown[] | undefined;
    return (global?.length ?? 0) + (local?.length ?? 0) > 0;
  }
  return false;
}
