/**
 * The CDK stack, asserted resource by resource (no snapshots): every route of the route table is
 * an IAM-authorized API route backed by its own function, every function can touch exactly what
 * its entry lists, tables and buckets carry their protections, and the outputs name everything.
 */
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LogwayFunction } from '../../infra/constructs/logway-function';
import type { LogwayStack } from '../../infra/logway-stack';
import { scheduledFunctions, type ScheduledFunctionDefinition } from '../../infra/schedules';
import { bucketActions, routes, tableActions, type BucketAccess, type RouteDefinition, type TableAccess } from '../../shared/http/routes';
import { metricNames } from '../../shared/runtime/metrics';
import { segmentBucket, tableIds, tables, type TableDefinition, type TableId } from '../../shared/storage/tables';
import { resolve } from '../support/iam-policies';
import {
  actionsOf,
  fixtureRoutes,
  fixtureSchedules,
  logicalId,
  resourcesOf,
  statementsOfRole,
  synthesize,
  synthesizeFixture,
  type Synthesized,
} from './synth';

const dynamoWriteActions = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
const s3WriteActions = ['s3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'];

/**
 * Asserts that `fn`'s role grants exactly what `access` lists and nothing else: each listed table
 * exactly its actions (Query/Scan also on its named indexes, never `index/*`), segment objects and
 * the bucket exactly the listed S3 actions, its own log group the two write actions, no other
 * resource, no `*`, no Deny and no conditions to reason about.
 */
function expectLeastPrivilege(
  { stack, template }: Synthesized,
  fn: LogwayFunction,
  access: { tables: Partial<Record<TableId, TableAccess>>; bucket?: BucketAccess },
): void {
  const references = new Map<string, string>([[logicalId(fn.logGroup), 'arn:log-group']]);
  for (const id of tableIds) references.set(logicalId(stack.storage.tables[id]), `arn:table/${id}`);
  references.set(logicalId(stack.storage.segmentBucket), 'arn:bucket');
  const granted: Record<string, string[]> = {};
  for (const statement of statementsOfRole(template, logicalId(fn.role))) {
    expect(statement.Effect).toBe('Allow');
    expect((statement as { Condition?: unknown }).Condition).toBeUndefined();
    for (const resource of [statement.Resource].flat()) {
      // Throws on a reference to anything but these tables, the bucket and the function's log group.
      const arn = resolve(resource, references);
      expect(arn, `${fn.name} has a statement on Resource '*'`).not.toBe('*');
      granted[arn] = [...new Set([...(granted[arn] ?? []), ...actionsOf(statement)])].sort();
    }
  }
  const expected: Record<string, string[]> = { 'arn:log-group': ['logs:CreateLogStream', 'logs:PutLogEvents'] };
  for (const [tableId, grants] of Object.entries(access.tables) as [TableId, TableAccess][]) {
    const actions = tableActions(grants);
    expected[`arn:table/${tableId}`] = actions.map((a) => `dynamodb:${a}`).sort();
    const indexActions = actions.filter((a) => a === 'Query' || a === 'Scan').map((a) => `dynamodb:${a}`);
    const definition: TableDefinition = tables[tableId];
    for (const index of definition.globalIndexes ?? []) {
      if (indexActions.length > 0) expected[`arn:table/${tableId}/index/${index.indexName}`] = indexActions.sort();
    }
  }
  if (access.bucket) {
    const actions = bucketActions(access.bucket);
    const objectActions = actions.filter((a) => a !== 'ListBucket').map((a) => `s3:${a}`);
    if (objectActions.length > 0) expected[`arn:bucket/${segmentBucket.segmentPrefix}*`] = objectActions.sort();
    if (actions.includes('ListBucket')) expected['arn:bucket'] = ['s3:ListBucket'];
  }
  expect(granted, `${fn.name}'s role`).toEqual(expected);
}

function routeResource(template: Template, route: RouteDefinition): Record<string, unknown> {
  const matches = Object.values(
    template.findResources('AWS::ApiGatewayV2::Route', {
      Properties: { RouteKey: `${route.method} ${route.path}` },
    }),
  );
  expect(matches, `route ${route.method} ${route.path}`).toHaveLength(1);
  return matches[0]!.Properties as Record<string, unknown>;
}

describe('LogwayStack from the project route table (dev)', () => {
  let synthesized: Synthesized;
  let stack: LogwayStack;
  let template: Template;
  beforeAll(() => {
    synthesized = synthesize({ stage: 'dev' });
    ({ stack, template } = synthesized);
  });

  it('has one API route and one function per route table entry, the $default route, one function and rule per schedule', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', routes.length + 1);
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', routes.length + 1);
    expect(stack.routeFunctions.size).toBe(routes.length);
    expect(stack.scheduledFunctions.size).toBe(scheduledFunctions.length);
    template.resourceCountIs('AWS::Events::Rule', scheduledFunctions.length);
  });

  it.each(routes.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '%s: IAM-authorized route integrated with its own function',
    (_key, route) => {
      const properties = routeResource(template, route);
      expect(properties.AuthorizationType).toBe('AWS_IAM');
      const fn = stack.routeFunctions.get(route.name)!;
      const integrationId = JSON.stringify(properties.Target).match(/"Ref":"([A-Za-z0-9]+)"/)?.[1];
      expect(integrationId).toBeDefined();
      const integration = template.findResources('AWS::ApiGatewayV2::Integration')[integrationId!]!;
      expect(integration.Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
        IntegrationUri: { 'Fn::GetAtt': [logicalId(fn.function), 'Arn'] },
      });
    },
  );

  it('$default: IAM-authorized route to the not-found function, which touches no data', () => {
    const matches = Object.values(template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: '$default' } }));
    expect(matches).toHaveLength(1);
    const properties = matches[0]!.Properties as Record<string, unknown>;
    expect(properties.AuthorizationType).toBe('AWS_IAM');
    const integrationId = JSON.stringify(properties.Target).match(/"Ref":"([A-Za-z0-9]+)"/)?.[1];
    const integration = template.findResources('AWS::ApiGatewayV2::Integration')[integrationId!]!;
    expect(integration.Properties).toMatchObject({
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [logicalId(stack.notFoundFunction.function), 'Arn'] },
    });
    expectLeastPrivilege(synthesized, stack.notFoundFunction, { tables: {} });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [logicalId(stack.notFoundFunction.role), 'Arn'] },
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
    });
  });

  it.each(routes.map((route) => [route.name, route] as const))(
    '%s: function on nodejs22.x arm64 with its timeout and the shared environment',
    (_name, route) => {
      const fn = stack.routeFunctions.get(route.name)!;
      const properties = template.findResources('AWS::Lambda::Function')[logicalId(fn.function)]!.Properties;
      const environment: Record<string, string> = {
        POWERTOOLS_SERVICE_NAME: stack.stackName,
        POWERTOOLS_METRICS_NAMESPACE: 'Logway',
        NODE_OPTIONS: '--enable-source-maps',
      };
      expect(properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 512,
        Timeout: (route as RouteDefinition).timeoutSeconds ?? 10,
        LoggingConfig: { LogGroup: { Ref: logicalId(fn.logGroup) } },
        Environment: { Variables: environment },
      });
      const variables = (properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables;
      for (const id of tableIds) expect(variables[tables[id].envVar]).toEqual({ Ref: logicalId(stack.storage.tables[id]) });
      expect(variables[segmentBucket.envVar]).toEqual({ Ref: logicalId(stack.storage.segmentBucket) });
    },
  );

  it.each(routes.map((route) => [route.name, route] as const))('%s: least-privilege IAM policy', (_name, route) => {
    const definition: RouteDefinition = route;
    expectLeastPrivilege(synthesized, stack.routeFunctions.get(route.name)!, definition);
  });

  it.each(scheduledFunctions.map((schedule) => [schedule.name, schedule] as const))(
    'scheduled %s: EventBridge rule on its schedule, least-privilege IAM policy',
    (name, schedule) => {
      const definition: ScheduledFunctionDefinition = schedule;
      const fn = stack.scheduledFunctions.get(name)!;
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: definition.schedule,
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(fn.function), 'Arn'] } })],
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Role: { 'Fn::GetAtt': [logicalId(fn.role), 'Arn'] },
        Timeout: definition.timeoutSeconds ?? 300,
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
      });
      expectLeastPrivilege(synthesized, fn, definition);
    },
  );

  it('produce can neither delete nor overwrite anything: no s3:DeleteObject, no idempotency update or delete', () => {
    const produce = stack.routeFunctions.get('produce')!;
    const actions = statementsOfRole(template, logicalId(produce.role)).flatMap(actionsOf);
    expect(actions).not.toContain('s3:DeleteObject');
    expect(actions).not.toContain('s3:AbortMultipartUpload');
    expect(actions).not.toContain('dynamodb:DeleteItem');
    expect(actions).not.toContain('dynamodb:BatchWriteItem');
    expect(actions).not.toContain('dynamodb:Scan');
  });

  it('no function holds dynamodb:DescribeTable, stream reads or a wildcard index ARN', () => {
    // The trigger dispatcher is the one stream reader (its event sources); test/triggers/cdk.test.ts checks its grants.
    const dispatcherRole = logicalId(stack.triggerDispatcher!.dispatcher.role);
    const others = Object.values(template.findResources('AWS::IAM::Policy')).filter(
      (policy) => !JSON.stringify(policy.Properties.Roles ?? []).includes(dispatcherRole),
    );
    const text = JSON.stringify(others);
    expect(text).not.toMatch(/DescribeTable|GetRecords|GetShardIterator|\/index\/\*/);
  });

  it('health can touch no table and no bucket', () => {
    const health = stack.routeFunctions.get('health')!;
    const actions = statementsOfRole(template, logicalId(health.role)).flatMap(actionsOf);
    expect(actions.filter((action) => /^(dynamodb|s3):/.test(action))).toEqual([]);
    expect(actions.sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  });

  it.each(tableIds.map((id) => [id, tables[id]] as const))(
    '%s table: keys, indexes, TTL, on-demand, PITR, AWS-managed encryption',
    (tableId, table) => {
      const definition: TableDefinition = table;
      const properties = template.findResources('AWS::DynamoDB::Table')[logicalId(stack.storage.tables[tableId])]!.Properties as Record<
        string,
        unknown
      >;
      expect(properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        KeySchema: [
          { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
          ...(definition.sortKey ? [{ AttributeName: definition.sortKey.name, KeyType: 'RANGE' }] : []),
        ],
      });
      if (definition.ttlAttribute) {
        expect(properties.TimeToLiveSpecification).toEqual({ AttributeName: definition.ttlAttribute, Enabled: true });
      } else {
        expect(properties.TimeToLiveSpecification).toBeUndefined();
      }
      if (definition.stream) {
        expect(properties.StreamSpecification).toEqual({ StreamViewType: definition.stream });
      } else {
        expect(properties.StreamSpecification).toBeUndefined();
      }
      const indexes = (properties.GlobalSecondaryIndexes ?? []) as { IndexName: string; Projection: unknown }[];
      expect(indexes.map((index) => index.IndexName)).toEqual((definition.globalIndexes ?? []).map((i) => i.indexName));
      for (const index of definition.globalIndexes ?? []) {
        expect(indexes.find((i) => i.IndexName === index.indexName)!.Projection).toEqual({
          ProjectionType: 'INCLUDE',
          NonKeyAttributes: [...index.projectedAttributes],
        });
      }
    },
  );

  it('layout 2: a Chunks table (stream and TTL from its definition), no Batches table, and the stream off the partitions table', () => {
    const resources = template.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(resources).filter((id) => /Batches/i.test(id))).toEqual([]);
    const chunks = resources[logicalId(stack.storage.tables.chunks)]!.Properties as Record<string, unknown>;
    expect(chunks).toMatchObject({
      KeySchema: [
        { AttributeName: 'partitionKey', KeyType: 'HASH' },
        { AttributeName: 'baseOffset', KeyType: 'RANGE' },
      ],
      StreamSpecification: { StreamViewType: 'KEYS_ONLY' },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    expect((chunks.GlobalSecondaryIndexes as { IndexName: string }[]).map((i) => i.IndexName)).toEqual(['bySegment']);
    const partitions = resources[logicalId(stack.storage.tables.partitions)]!.Properties as Record<string, unknown>;
    expect(partitions.StreamSpecification).toBeUndefined();
    expect(template.findOutputs('BatchesTableName')).toEqual({});
    expect(Object.keys(template.findOutputs('ChunksTableName'))).toEqual(['ChunksTableName']);
  });

  it('upgrading a layout-1 stack replaces no table: every table but Batches keeps its logical id and key schema', () => {
    // Logical ids and keys as layout 1 synthesized them (docs/deploy.md, "Upgrading a deployed stack
    // to layout 2"): a changed id or key schema would make CloudFormation replace a table holding data.
    const layout1: Partial<Record<TableId, { logicalId: string; keys: string[] }>> = {
      topics: { logicalId: 'StorageTopicsTable67D9A309', keys: ['name'] },
      partitions: { logicalId: 'StoragePartitionsTableA0C0733D', keys: ['partitionKey'] },
      idempotency: { logicalId: 'StorageIdempotencyTable5D6E4193', keys: ['key'] },
      groups: { logicalId: 'StorageGroupsTable508C0E6C', keys: ['groupId'] },
      offsets: { logicalId: 'StorageOffsetsTableAEC6CE7A', keys: ['groupId', 'topicPartition'] },
      triggers: { logicalId: 'StorageTriggersTableED9D7152', keys: ['name', 'item'] },
    };
    const resources = template.findResources('AWS::DynamoDB::Table');
    for (const [tableId, before] of Object.entries(layout1)) {
      expect(logicalId(stack.storage.tables[tableId as TableId]), tableId).toBe(before.logicalId);
      const keySchema = (resources[before.logicalId]!.Properties as { KeySchema: { AttributeName: string }[] }).KeySchema;
      expect(keySchema.map((k) => k.AttributeName)).toEqual(before.keys);
    }
    // The one new table: added by CloudFormation beside the retained, orphaned Batches table.
    expect(Object.keys(resources).sort()).toEqual(
      [...Object.values(layout1).map((t) => t.logicalId), logicalId(stack.storage.tables.chunks)].sort(),
    );
  });

  it('dev tables and buckets are destroyed with the stack', () => {
    for (const table of Object.values(template.findResources('AWS::DynamoDB::Table'))) {
      expect(table.DeletionPolicy).toBe('Delete');
      expect((table.Properties as { DeletionProtectionEnabled: boolean }).DeletionProtectionEnabled).toBe(false);
    }
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
  });

  it('segment bucket: public access blocked, S3-managed encryption, no versioning, multipart cleanup, access logs', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: Match.absent(),
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' })]),
      },
      LoggingConfiguration: { DestinationBucketName: { Ref: logicalId(stack.storage.accessLogsBucket) } },
    });
  });

  it('both buckets deny requests without TLS (and below TLS 1.2)', () => {
    for (const bucket of [stack.storage.segmentBucket, stack.storage.accessLogsBucket]) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: logicalId(bucket) },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
            Match.objectLike({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
          ]),
        },
      });
      template.hasResourceProperties('AWS::S3::Bucket', {
        PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true, RestrictPublicBuckets: true }),
      });
    }
  });

  it('default stage: auto-deployed, throttled, JSON access logs with the fields operators need', () => {
    const stage = template.findResources('AWS::ApiGatewayV2::Stage');
    expect(Object.keys(stage)).toHaveLength(1);
    const properties = Object.values(stage)[0]!.Properties as {
      StageName: string;
      AutoDeploy: boolean;
      DefaultRouteSettings: unknown;
      AccessLogSettings: { Format: string; DestinationArn: unknown };
    };
    expect(properties.StageName).toBe('$default');
    expect(properties.AutoDeploy).toBe(true);
    expect(properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 });
    expect(properties.AccessLogSettings.DestinationArn).toEqual({
      'Fn::GetAtt': [logicalId(stack.httpApi.accessLogGroup), 'Arn'],
    });
    const format = JSON.parse(properties.AccessLogSettings.Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      latency: '$context.responseLatency',
      integrationError: '$context.integrationErrorMessage',
    });
  });

  it('outputs the API URL, every table name and the bucket name', () => {
    const outputs = template.findOutputs('*');
    expect(JSON.stringify(outputs.ApiUrl?.Value)).toContain(logicalId(stack.httpApi.api));
    for (const id of tableIds) {
      expect(outputs[`${tables[id].id}TableName`]?.Value).toEqual({ Ref: logicalId(stack.storage.tables[id]) });
    }
    expect(outputs.SegmentBucketName?.Value).toEqual({ Ref: logicalId(stack.storage.segmentBucket) });
  });

  it('dashboard shows the API, every function and table, and every Logway metric', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]!.Properties);
    for (const name of Object.values(metricNames)) expect(body).toContain(`\\"Logway\\",\\"${name}\\"`);
    for (const name of [
      'Count',
      '4xx',
      '5xx',
      'Latency',
      'Errors',
      'Throttles',
      'Duration',
      'ReadThrottleEvents',
      'ConsumedReadCapacityUnits',
      'ConsumedWriteCapacityUnits',
    ]) {
      expect(body).toContain(name);
    }
    for (const fn of [...stack.routeFunctions.values(), ...stack.scheduledFunctions.values()]) {
      expect(body).toContain(logicalId(fn.function));
    }
    for (const id of tableIds) expect(body).toContain(logicalId(stack.storage.tables[id]));
  });

  it("alarms on API 5xx, every function's errors and throttles, every table's throttling", () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => JSON.stringify(a.Properties));
    // Every route's function, the $default route's not-found function, every scheduled function, the trigger dispatcher.
    expect(alarms).toHaveLength(1 + 2 * (routes.length + 1 + scheduledFunctions.length + 1) + tableIds.length);
    expect(alarms.filter((a) => a.includes('"MetricName":"5xx"'))).toHaveLength(1);
    for (const fn of [
      ...stack.routeFunctions.values(),
      stack.notFoundFunction,
      ...stack.scheduledFunctions.values(),
      stack.triggerDispatcher!.dispatcher,
    ]) {
      const mine = alarms.filter((a) => a.includes(`"Ref":"${logicalId(fn.function)}"`));
      expect(mine.filter((a) => a.includes('"MetricName":"Errors"'))).toHaveLength(1);
      expect(mine.filter((a) => a.includes('"MetricName":"Throttles"'))).toHaveLength(1);
    }
    for (const id of tableIds) {
      const mine = alarms.filter((a) => a.includes(`"Ref":"${logicalId(stack.storage.tables[id])}"`));
      expect(mine).toHaveLength(1);
      expect(mine[0]).toContain('ReadThrottleEvents');
      expect(mine[0]).toContain('WriteThrottleEvents');
      // Throttle metrics are sparse: each term is filled with 0 so the sum exists when one throttles.
      expect(mine[0]).toMatch(/"Expression":"FILL\(\w+, 0\)( \+ FILL\(\w+, 0\))+"/);
    }
    template.resourceCountIs('AWS::SNS::Topic', 0);
  });
});

describe('LogwayStack with a fixture route table and a scheduled function', () => {
  let synthesized: Synthesized;
  beforeAll(() => {
    synthesized = synthesizeFixture();
  });

  it.each(fixtureRoutes.map((route) => [route.name, route] as const))('route %s: least privilege', (name, route) => {
    expectLeastPrivilege(synthesized, synthesized.stack.routeFunctions.get(name)!, route);
  });

  it('a reader cannot write and a group handler cannot touch the log', () => {
    const { stack, template } = synthesized;
    const reader = statementsOfRole(template, logicalId(stack.routeFunctions.get('reader')!.role)).flatMap(actionsOf);
    expect(reader.filter((a) => dynamoWriteActions.includes(a) || s3WriteActions.includes(a))).toEqual([]);
    const groups = statementsOfRole(template, logicalId(stack.routeFunctions.get('groups-only')!.role));
    const referenced = new Set(groups.flatMap((s) => [...resourcesOf(s).logicalIds]));
    for (const id of ['topics', 'partitions', 'chunks', 'idempotency'] as const) {
      expect(referenced).not.toContain(logicalId(stack.storage.tables[id]));
    }
    expect(referenced).not.toContain(logicalId(stack.storage.segmentBucket));
  });

  it('scheduled function: EventBridge rule on its schedule, invoking it, with least privilege', () => {
    const { stack, template } = synthesized;
    const [schedule] = fixtureSchedules;
    const fn = stack.scheduledFunctions.get(schedule.name)!;
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: schedule.schedule,
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(fn.function), 'Arn'] } })],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [logicalId(fn.function), 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: Match.absent(),
      Timeout: schedule.timeoutSeconds,
      Role: { 'Fn::GetAtt': [logicalId(fn.role), 'Arn'] },
    });
    expectLeastPrivilege(synthesized, fn, schedule);
    // Scheduled functions are not routes.
    template.resourceCountIs('AWS::ApiGatewayV2::Route', fixtureRoutes.length + 1);
  });
});

describe('LogwayStack per stage and configuration', () => {
  it('prod retains tables and buckets, with deletion protection and no auto-delete', () => {
    const { template } = synthesize({ stage: 'prod' });
    const resourceTables = Object.values(template.findResources('AWS::DynamoDB::Table'));
    expect(resourceTables).toHaveLength(tableIds.length);
    for (const table of resourceTables) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.UpdateReplacePolicy).toBe('Retain');
      expect((table.Properties as { DeletionProtectionEnabled: boolean }).DeletionProtectionEnabled).toBe(true);
    }
    for (const bucket of Object.values(template.findResources('AWS::S3::Bucket'))) expect(bucket.DeletionPolicy).toBe('Retain');
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  it("refuses authMode 'none' outside dev", () => {
    expect(() => synthesize({ stage: 'prod', authMode: 'none' })).toThrow(/authMode 'none' is allowed only for the dev stage/);
    expect(() => synthesize({ stage: 'staging', authMode: 'none' })).toThrow(/only for the dev stage/);
  });

  it("authMode 'none' on dev opens every route and warns at synth", () => {
    const { stack, template } = synthesize({ stage: 'dev', authMode: 'none' });
    for (const route of Object.values(template.findResources('AWS::ApiGatewayV2::Route'))) {
      expect((route.Properties as { AuthorizationType: string }).AuthorizationType).toBe('NONE');
    }
    Annotations.fromStack(stack).hasWarning('/LogwayTest', Match.stringLikeRegexp('authMode none'));
  });

  it('IAM mode raises no such warning', () => {
    const { stack } = synthesize({ stage: 'prod' });
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('authMode none'));
  });

  it('passes retention defaults, throttling and memory through', () => {
    const { template } = synthesize({
      stage: 'prod',
      retentionDefaults: { retentionMs: 3_600_000 },
      throttle: { rateLimit: 50, burstLimit: 75 },
      functionMemoryMB: 1024,
    });
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties).toMatchObject({
        MemorySize: 1024,
        Environment: { Variables: { LOGWAY_DEFAULT_RETENTION_MS: '3600000', LOGWAY_STAGE: 'prod' } },
      });
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 75 },
    });
  });

  it('leaves retention to the library unless overridden, and rejects a bad value', () => {
    const { template } = synthesize({ stage: 'dev' });
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      const variables = (fn.Properties as { Environment?: { Variables: Record<string, unknown> } }).Environment?.Variables;
      if (variables) expect(variables.LOGWAY_DEFAULT_RETENTION_MS).toBeUndefined();
    }
    expect(() => synthesize({ retentionDefaults: { retentionMs: 0 } })).toThrow(/retentionMs/);
  });

  it('rejects a route timeout API Gateway cannot honour, a bad stage and duplicate names', () => {
    const tooLong = [{ ...fixtureRoutes[0], timeoutSeconds: 45 }];
    expect(() => synthesizeFixture({ routes: tooLong, scheduledFunctions: [] })).toThrow(/outside 1\.\.30/);
    expect(() => synthesize({ stage: 'Prod!' })).toThrow(/Stage 'Prod!'/);
    const twice = [fixtureRoutes[0], { ...fixtureRoutes[0], path: '/v1/other' }];
    expect(() => synthesizeFixture({ routes: twice, scheduledFunctions: [] })).toThrow(/Two routes are named 'reader'/);
  });

  it('with an alarm email: encrypted, TLS-only SNS topic notified by every alarm', () => {
    const { stack, template } = synthesize({ stage: 'prod', alarmEmail: 'ops@example.com' });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
    const topicRef = { Ref: logicalId(stack.observability.alarmTopic!) };
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties).toMatchObject({ AlarmActions: [topicRef], OKActions: [topicRef] });
    }
    expect(template.findOutputs('AlarmTopicArn')).toBeDefined();
  });
});
