/**
 * Least privilege on AWS (issue 13 §7), on the synthesized stack (bundling skipped): each function's
 * DynamoDB grants are exactly those infra/access.ts declares for it, no function has `dynamodb:*` or
 * Scan, the partner-facing function cannot delete, and no declared action is one the function's
 * bundled source cannot call (the DocumentClient commands its bundled files import). The partner
 * routes have their own throttling, and reserved concurrency is a context option, off by default.
 */
import { readdirSync } from 'node:fs';
import type { Template } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { IDEMPOTENCY_ACTIONS, TABLE_ACCESS } from '../../infra/access.ts';
import { parseReservedConcurrency } from '../../infra/config.ts';
import { HouseFunction } from '../../infra/constructs/house-function.ts';
import type { PayoutsStack } from '../../infra/payouts-stack.ts';
import { FUNCTION_GROUPS, ROUTES, type RouteSpec, routeKey } from '../../shared/http/routes.ts';
import { unavoidableImports } from '../support/bundle.ts';
import { asList, type Json, roleStatements, synth } from '../support/cdk.ts';

const refOf = (value: Json): string =>
  typeof value === 'string' ? value : JSON.stringify(value?.['Fn::GetAtt'] ?? value?.Ref ?? value);

describe('least privilege on AWS', () => {
  let stack: PayoutsStack;
  let template: Template;
  let functions: HouseFunction[];
  let tableArn: string;
  let idempotencyArn: string;

  beforeAll(() => {
    ({ stack, template } = synth());
    functions = HouseFunction.all(stack);
    tableArn = refOf({
      'Fn::GetAtt': [stack.getLogicalId(stack.data.table.node.defaultChild as never), 'Arn'],
    });
    idempotencyArn = refOf({
      'Fn::GetAtt': [stack.getLogicalId(stack.data.idempotencyTable.node.defaultChild as never), 'Arn'],
    });
  });

  /** Function → DynamoDB actions by resource (the table, its indexes, the idempotency table). */
  function dynamoGrants(fn: HouseFunction): Map<string, Set<string>> {
    const roleId = stack.getLogicalId(fn.role.node.defaultChild as never);
    const grants = new Map<string, Set<string>>();
    for (const statement of roleStatements(template, roleId)) {
      const actions = asList<string>(statement.Action).filter((action) => action.startsWith('dynamodb:'));
      if (actions.length === 0) continue;
      expect(statement.Effect).toBe('Allow');
      for (const resource of asList<Json>(statement.Resource)) {
        const flat = JSON.stringify(resource);
        const key = flat.includes('/index/')
          ? 'index'
          : refOf(resource) === tableArn
            ? 'table'
            : refOf(resource) === idempotencyArn
              ? 'idempotency'
              : flat;
        const set = grants.get(key) ?? new Set<string>();
        for (const action of actions) set.add(action.replace('dynamodb:', ''));
        grants.set(key, set);
      }
    }
    return grants;
  }

  it('declares the table access of every function, and of every API route group', () => {
    const entries = readdirSync('functions').sort();
    for (const fn of functions) expect(entries).toContain(fn.name);
    for (const group of FUNCTION_GROUPS) expect(TABLE_ACCESS[group]).toBeDefined();
  });

  it('grants each function exactly its declared actions on the table, Query alone on the indexes', () => {
    for (const fn of functions) {
      const grants = dynamoGrants(fn);
      const unknown = [...grants.keys()].filter((key) => !['table', 'index', 'idempotency'].includes(key));
      expect(unknown, fn.name).toEqual([]);
      const declared = TABLE_ACCESS[fn.name] ?? [];
      expect([...(grants.get('table') ?? [])].sort(), fn.name).toEqual(
        grants.has('table') ? [...declared].sort() : [],
      );
      expect([...(grants.get('index') ?? [])], fn.name).toEqual(grants.has('index') ? ['Query'] : []);
      if (grants.has('idempotency')) {
        expect([...(grants.get('idempotency') ?? [])].sort(), fn.name).toEqual(
          [...IDEMPOTENCY_ACTIONS].sort(),
        );
      }
    }
  });

  it('gives no function dynamodb:* or Scan, and the partner-facing function no delete or batch write', () => {
    for (const fn of functions) {
      for (const actions of dynamoGrants(fn).values()) {
        expect(actions.has('*'), fn.name).toBe(false);
        expect(actions.has('Scan'), fn.name).toBe(false);
        expect(actions.has('DescribeTable') || actions.has('GetRecords'), fn.name).toBe(false);
      }
    }
    const partnerFunctions = functions.filter((fn) =>
      (Object.values(ROUTES) as RouteSpec[]).some(
        (spec) => spec.access === 'partner' && spec.group === fn.name,
      ),
    );
    expect(partnerFunctions.map((fn) => fn.name).sort()).toEqual(['partner-payouts', 'partners']);
    for (const fn of partnerFunctions) {
      const table = dynamoGrants(fn).get('table') ?? new Set();
      for (const action of ['Scan', 'DeleteItem', 'BatchWriteItem'])
        expect(table.has(action), action).toBe(false);
    }
    // Nothing anywhere in the stack's identity policies grants dynamodb:*.
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain('"dynamodb:*"');
  });

  it('grants no action that no bundled source file of the function can call', async () => {
    const COMMANDS: Record<string, string> = {
      GetCommand: 'GetItem',
      BatchGetCommand: 'BatchGetItem',
      QueryCommand: 'Query',
      PutCommand: 'PutItem',
      UpdateCommand: 'UpdateItem',
      DeleteCommand: 'DeleteItem',
      BatchWriteCommand: 'BatchWriteItem',
    };
    for (const [name, declared] of Object.entries(TABLE_ACCESS)) {
      const result = await build({
        entryPoints: [`functions/${name}/handler.ts`],
        bundle: true,
        write: false,
        metafile: true,
        outdir: '/tmp/least-privilege',
        format: 'esm',
        platform: 'node',
        target: 'node22',
        mainFields: ['module', 'main'],
        logLevel: 'silent',
      });
      const imported = new Set(
        [...(unavoidableImports(result.metafile).packages.get('@aws-sdk/lib-dynamodb') ?? [])].flatMap(
          (command) => (COMMANDS[command] ? [COMMANDS[command]] : []),
        ),
      );
      for (const action of declared) expect(imported.has(action), `${name}: ${action}`).toBe(true);
    }
  }, 180_000);

  it('throttles every partner route on its own, below the stage default', () => {
    const stage = Object.values<Json>(template.findResources('AWS::ApiGatewayV2::Stage'))[0];
    const settings = stage.Properties.RouteSettings as Record<string, Json>;
    const partnerRoutes = (Object.values(ROUTES) as RouteSpec[]).filter((spec) => spec.access === 'partner');
    expect(partnerRoutes.length).toBeGreaterThan(5);
    expect(Object.keys(settings).sort()).toEqual(partnerRoutes.map(routeKey).sort());
    const defaults = stage.Properties.DefaultRouteSettings;
    for (const setting of Object.values(settings)) {
      expect(setting).toEqual({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 });
      expect(setting.ThrottlingRateLimit).toBeLessThan(defaults.ThrottlingRateLimit);
    }
    // The stage is written after the routes its settings name.
    const routeIds = Object.entries<Json>(template.findResources('AWS::ApiGatewayV2::Route'))
      .filter(([, route]) => partnerRoutes.some((spec) => routeKey(spec) === route.Properties.RouteKey))
      .map(([id]) => id);
    expect(asList(stage.DependsOn)).toEqual(expect.arrayContaining(routeIds));
    const custom = synth({ partnerThrottleRateLimit: '5', partnerThrottleBurstLimit: '7' }).template;
    const customStage = Object.values<Json>(custom.findResources('AWS::ApiGatewayV2::Stage'))[0];
    expect(Object.values<Json>(customStage.Properties.RouteSettings)[0]).toEqual({
      ThrottlingRateLimit: 5,
      ThrottlingBurstLimit: 7,
    });
  });

  it('reserves no concurrency by default; the reservedConcurrency context reserves it per API function', () => {
    for (const resource of Object.values<Json>(template.findResources('AWS::Lambda::Function'))) {
      expect(resource.Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
    const reservedOf = (built: ReturnType<typeof synth>) =>
      Object.fromEntries(
        FUNCTION_GROUPS.map((group) => {
          const fn = built.stack.api.functions[group].fn;
          const resource =
            built.template.toJSON().Resources[built.stack.getLogicalId(fn.node.defaultChild as never)];
          return [group, resource.Properties.ReservedConcurrentExecutions];
        }),
      );
    expect(Object.values(reservedOf(synth({ reservedConcurrency: '3' })))).toEqual(
      FUNCTION_GROUPS.map(() => 3),
    );
    const some = reservedOf(synth({ reservedConcurrency: 'partner-payouts:5,payouts:10' }));
    expect(some).toMatchObject({ 'partner-payouts': 5, payouts: 10, rewards: undefined });
    expect(() => parseReservedConcurrency('nobody:3')).toThrow(/not an API function/);
    expect(() => parseReservedConcurrency('0')).toThrow(/positive integer/);
  });
});
