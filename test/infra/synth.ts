/**
 * Builds a LogwayStack the way `cdk synth` does (same cdk.json feature flags) but without
 * bundling: the context `aws:cdk:bundling-stacks: []` makes NodejsFunction skip esbuild, which
 * keeps a synthesis of ~20 functions to a second or two.
 */
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogwayStack, type LogwayStackProps } from '../../infra/logway-stack';
import { repoRoot } from '../../infra/project';
import type { ScheduledFunctionDefinition } from '../../infra/schedules';
import type { RouteDefinition } from '../../shared/http/routes';

const cdkJson = JSON.parse(readFileSync(join(repoRoot, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };

export function newApp(): App {
  return new App({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
}

export interface Synthesized {
  readonly app: App;
  readonly stack: LogwayStack;
  readonly template: Template;
}

export function synthesize(props: Partial<LogwayStackProps> = {}, id = 'LogwayTest'): Synthesized {
  const app = newApp();
  const stack = new LogwayStack(app, id, { stage: 'dev', ...props });
  return { app, stack, template: Template.fromStack(stack) };
}

/** A route table with the access shapes the real one will have, backed by stub handlers. */
export const fixtureHandlersDir = join(repoRoot, 'test/infra/fixtures/functions');

export const fixtureRoutes = [
  {
    name: 'reader',
    method: 'GET',
    path: '/v1/topics/{topic}/partitions/{partition}/records',
    summary: 'Reads the log',
    tables: { topics: ['read'], partitions: ['read'], chunks: ['read'] },
    bucket: ['read'],
    timeoutSeconds: 29,
  },
  {
    name: 'writer',
    method: 'POST',
    path: '/v1/topics/{topic}/records',
    summary: 'Appends to the log',
    tables: { topics: ['read'], partitions: ['read'], chunks: ['read', 'PutItem', 'UpdateItem'], idempotency: ['read', 'PutItem'] },
    bucket: ['PutObject'],
  },
  {
    name: 'groups-only',
    method: 'POST',
    path: '/v1/groups/{group}/heartbeat',
    summary: 'Touches groups only',
    tables: { groups: ['read', 'PutItem', 'UpdateItem', 'DeleteItem'], offsets: ['Query'] },
  },
  { name: 'no-data', method: 'GET', path: '/v1/ping', summary: 'Touches nothing', tables: {} },
] as const satisfies readonly RouteDefinition[];

export const fixtureSchedules = [
  {
    name: 'sweeper',
    schedule: 'rate(15 minutes)',
    description: 'Sweeps expired chunks',
    tables: { topics: ['Scan'], chunks: ['Query', 'BatchWriteItem'] },
    bucket: ['ListBucket', 'DeleteObject'],
    timeoutSeconds: 600,
  },
] as const satisfies readonly ScheduledFunctionDefinition[];

export function synthesizeFixture(props: Partial<LogwayStackProps> = {}): Synthesized {
  return synthesize(
    {
      handlersDir: fixtureHandlersDir,
      routes: fixtureRoutes,
      scheduledFunctions: fixtureSchedules,
      ...props,
    },
    'LogwayFixture',
  );
}

export function logicalId(construct: IConstruct): string {
  const resource = construct instanceof CfnElement ? construct : construct.node.defaultChild;
  if (!(resource instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(resource).getLogicalId(resource);
}

export interface PolicyStatement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

/** Every statement of every identity policy attached to the role with this logical id. */
export function statementsOfRole(template: Template, roleLogicalId: string): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const properties = policy.Properties as { Roles: unknown[]; PolicyDocument: { Statement: PolicyStatement[] } };
    if (properties.Roles.some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleLogicalId }))) {
      statements.push(...properties.PolicyDocument.Statement);
    }
  }
  const role = template.findResources('AWS::IAM::Role')[roleLogicalId];
  if (!role) throw new Error(`No role ${roleLogicalId}`);
  const inline = (role.Properties as { Policies?: { PolicyDocument: { Statement: PolicyStatement[] } }[] }).Policies ?? [];
  for (const policy of inline) statements.push(...policy.PolicyDocument.Statement);
  return statements;
}

export const actionsOf = (statement: PolicyStatement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

/** Logical ids a statement's Resource refers to (Ref or Fn::GetAtt), and whether it has a bare '*'. */
export function resourcesOf(statement: PolicyStatement): { logicalIds: Set<string>; wildcard: boolean } {
  const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
  const text = JSON.stringify(resources);
  const logicalIds = new Set<string>();
  for (const match of text.matchAll(/"Fn::GetAtt":\["([A-Za-z0-9]+)"|"Ref":"([A-Za-z0-9]+)"/g)) {
    logicalIds.add((match[1] ?? match[2])!);
  }
  return { logicalIds, wildcard: resources.includes('*') };
}
