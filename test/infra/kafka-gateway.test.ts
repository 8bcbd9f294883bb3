/**
 * The Kafka gateway in the stack (`-c kafkaGateway=true`): absent by default; with it, an ECS
 * Fargate service behind a TLS Network Load Balancer whose tasks advertise the custom domain,
 * closed to every client the props do not name, autoscaled, with the HTTP routes' grants.
 * (cdk-nag for these configurations: nag.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { kafkaGatewayAccess, kafkaGatewayRoutes, validateKafkaGatewayProps } from '../../infra/constructs/kafka-gateway';
import type { KafkaGatewayStackProps } from '../../infra/logway-stack';
import { type RouteDefinition, routes } from '../../shared/http/routes';
import { repoRoot } from '../../infra/project';
import { actionsOf, logicalId, statementsOfRole, synthesize } from './synth';

/** Runs infra/app.ts as `cdk synth` does (context in CDK_CONTEXT_JSON, cdk.json's flags included), without bundling. */
function synthApp(context: Record<string, string>) {
  const outdir = mkdtempSync(join(tmpdir(), 'logway-app-'));
  const cdkJson = JSON.parse(readFileSync(join(repoRoot, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'infra/app.ts')], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: {
      ...process.env,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJson.context, 'aws:cdk:bundling-stacks': [], ...context }),
    },
  });
  const template = (() => {
    try {
      return JSON.parse(readFileSync(join(outdir, 'Logway-dev.template.json'), 'utf8')) as {
        Resources: Record<string, { Type: string }>;
        Outputs?: Record<string, unknown>;
      };
    } catch {
      return undefined;
    }
  })();
  rmSync(outdir, { recursive: true, force: true });
  return { status: result.status, output: `${result.stdout}${result.stderr}`, template };
}

const certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';
const gateway = (extra: Partial<KafkaGatewayStackProps> = {}): KafkaGatewayStackProps => ({
  domainName: 'kafka.example.com',
  certificateArn,
  ...extra,
});

describe('Kafka gateway (CDK)', () => {
  it('is not built unless asked for', () => {
    const { template, stack } = synthesize({ stage: 'dev' });
    expect(stack.kafkaGateway).toBeUndefined();
    template.resourceCountIs('AWS::ECS::Service', 0);
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 0);
    template.resourceCountIs('AWS::EC2::VPC', 0);
  });

  it('serves TLS on 9094 with the certificate, forwards TCP to the tasks on 9092, internal by default', () => {
    const { template } = synthesize({ stage: 'prod', kafkaGateway: gateway() });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Type: 'network',
      Scheme: 'internal',
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'access_logs.s3.enabled', Value: 'true' }]),
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 9094,
      Protocol: 'TLS',
      Certificates: [{ CertificateArn: certificateArn }],
      SslPolicy: Match.stringLikeRegexp('TLS13'),
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 9092,
      Protocol: 'TCP',
      TargetType: 'ip',
      HealthCheckProtocol: 'TCP',
    });
    template.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      DesiredCount: 2,
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'DISABLED' } },
    });
  });

  it('every task advertises the custom domain and TLS port as the single broker, and reads users from Secrets Manager', () => {
    const { template } = synthesize({ stage: 'prod', stackName: 'Logway-prod', kafkaGateway: gateway({ port: 9096 }) });
    const [definition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    const container = (definition!.Properties as { ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[] })
      .ContainerDefinitions[0]!;
    const env = Object.fromEntries(container.Environment.map((e) => [e.Name, e.Value]));
    expect(env).toMatchObject({
      KAFKA_ADVERTISED_HOST: 'kafka.example.com',
      KAFKA_ADVERTISED_PORT: '9096',
      KAFKA_PORT: '9092',
      KAFKA_SASL_SECRET_PREFIX: 'Logway-prod/kafka-users/',
    });
    expect(env.LOGWAY_TOPICS_TABLE ?? Object.keys(env).find((k) => k.endsWith('_TABLE'))).toBeDefined();
    // The group commit is the gateway's own default unless the stack names one.
    expect(env).not.toHaveProperty('KAFKA_APPENDS_PER_PARTITION');
    const named = synthesize({ stage: 'prod', kafkaGateway: gateway({ appendsPerPartition: 2 }) }).template;
    const [namedDefinition] = Object.values(named.findResources('AWS::ECS::TaskDefinition'));
    const namedEnv = (namedDefinition!.Properties as { ContainerDefinitions: { Environment: { Name: string; Value: unknown }[] }[] })
      .ContainerDefinitions[0]!.Environment;
    expect(namedEnv).toContainEqual({ Name: 'KAFKA_APPENDS_PER_PARTITION', Value: '2' });
    expect(env).not.toHaveProperty('KAFKA_ALLOW_ANONYMOUS');
    template.hasOutput('KafkaBootstrapServers', { Value: 'kafka.example.com:9096' });
  });

  it('is closed to clients unless the props name them; tasks accept only the load balancer', () => {
    const closed = synthesize({ stage: 'prod', kafkaGateway: gateway() });
    const ingress = (t: typeof closed.template) =>
      Object.values(t.findResources('AWS::EC2::SecurityGroup')).flatMap(
        (sg) =>
          (sg.Properties as { SecurityGroupIngress?: { CidrIp?: string; CidrIpv6?: string; FromPort: number }[] }).SecurityGroupIngress ??
          [],
      );
    expect(ingress(closed.template)).toEqual([]);
    closed.template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 9092,
      ToPort: 9092,
      SourceSecurityGroupId: Match.anyValue(),
    });

    const open = synthesize({ stage: 'prod', kafkaGateway: gateway({ allowedCidrs: ['10.0.0.0/8', '2001:db8::/32'] }) });
    expect(ingress(open.template)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ CidrIp: '10.0.0.0/8', FromPort: 9094 }),
        expect.objectContaining({ CidrIpv6: '2001:db8::/32', FromPort: 9094 }),
      ]),
    );
    expect(ingress(open.template)).toHaveLength(2);
  });

  it('autoscales on CPU between minTasks and maxTasks', () => {
    const { template } = synthesize({ stage: 'prod', kafkaGateway: gateway({ minTasks: 3, maxTasks: 12 }) });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 3, MaxCapacity: 12 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        TargetValue: 60,
      }),
    });
  });

  it('alarms when a task fails the load balancer health check, and has a dashboard row', () => {
    const { template, stack } = synthesize({ stage: 'prod', kafkaGateway: gateway() });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'UnHealthyHostCount',
      Namespace: 'AWS/NetworkELB',
      Threshold: 1,
    });
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(JSON.stringify(dashboard)).toContain('Kafka gateway connections');
    expect(stack.observability.alarms.some((alarm) => alarm.node.id === 'KafkaGatewayUnhealthyTasksAlarm')).toBe(true);
  });

  it('creates the alias record in the hosted zone when one is given', () => {
    const { template } = synthesize({
      stage: 'prod',
      kafkaGateway: gateway({ hostedZone: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' } }),
    });
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'kafka.example.com.',
      Type: 'A',
      HostedZoneId: 'Z0123456789ABCDEFGHIJ',
      AliasTarget: Match.anyValue(),
    });
  });

  it('grants the task role exactly the merged grants of the routes it serves, and the user secrets', () => {
    const { template, stack } = synthesize({ stage: 'prod', stackName: 'Logway-prod', kafkaGateway: gateway() });
    const statements = statementsOfRole(template, logicalId(stack.kafkaGateway!.taskRole));
    const granted = new Set(statements.flatMap(actionsOf));
    const expected = new Set<string>();
    for (const name of kafkaGatewayRoutes) {
      const route: RouteDefinition = routes.find((r) => r.name === name)!;
      for (const grants of Object.values(route.tables))
        for (const g of grants)
          for (const a of g === 'read' ? ['GetItem', 'BatchGetItem', 'Query', 'ConditionCheckItem'] : [g]) expected.add(`dynamodb:${a}`);
      for (const g of route.bucket ?? []) for (const a of g === 'read' ? ['GetObject', 'ListBucket'] : [g]) expected.add(`s3:${a}`);
    }
    expected.add('secretsmanager:GetSecretValue');
    expect([...granted].sort()).toEqual([...expected].sort());
    expect(kafkaGatewayAccess().tables).not.toHaveProperty('triggers');
    const secrets = statements.find((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'))!;
    expect(JSON.stringify(secrets.Resource)).toContain(':secret:Logway-prod/kafka-users/*');
  });

  it('may decrypt the user secrets with a customer managed key, through Secrets Manager only', () => {
    const keyArn = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';
    const { template, stack } = synthesize({ stage: 'prod', kafkaGateway: gateway({ userSecretsKeyArn: keyArn }) });
    const decrypt = statementsOfRole(template, logicalId(stack.kafkaGateway!.taskRole)).find((s) => actionsOf(s).includes('kms:Decrypt'));
    expect(decrypt).toMatchObject({ Resource: keyArn, Condition: { StringEquals: { 'kms:ViaService': expect.anything() } } });
    const without = synthesize({ stage: 'prod', kafkaGateway: gateway() });
    expect(statementsOfRole(without.template, logicalId(without.stack.kafkaGateway!.taskRole)).flatMap(actionsOf)).not.toContain(
      'kms:Decrypt',
    );
  });

  it('builds its own VPC by default: two AZs, one NAT gateway, DynamoDB and S3 gateway endpoints, flow logs', () => {
    const { template } = synthesize({ stage: 'prod', kafkaGateway: gateway() });
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
    template.resourceCountIs('AWS::EC2::Subnet', 4);
  });

  it('the CDK app: -c kafkaGateway=true with a domain and certificate synthesizes cdk-nag clean; without them it says what is missing', () => {
    const on = synthApp({
      kafkaGateway: 'true',
      kafkaDomainName: 'kafka.example.com',
      kafkaCertificateArn: certificateArn,
      kafkaAllowedCidrs: '10.0.0.0/8, 192.168.0.0/16',
    });
    expect(on.status, on.output).toBe(0);
    const types = Object.values(on.template!.Resources).map((r) => r.Type);
    expect(types).toContain('AWS::ECS::Service');
    expect(types).toContain('AWS::ElasticLoadBalancingV2::Listener');
    expect(on.template!.Outputs).toHaveProperty('KafkaBootstrapServers');

    const off = synthApp({});
    expect(off.status, off.output).toBe(0);
    expect(Object.values(off.template!.Resources).map((r) => r.Type)).not.toContain('AWS::ECS::Service');

    const missing = synthApp({ kafkaGateway: 'true' });
    expect(missing.status).not.toBe(0);
    expect(missing.output).toContain('kafkaGateway=true needs -c kafkaDomainName');
  }, 120_000);

  it('refuses bad props with a message that says what to change', () => {
    const base = {
      storage: {} as never,
      environment: {},
      certificate: {} as never,
      removalPolicy: 'retain' as never,
      domainName: 'kafka.example.com',
    };
    expect(() => validateKafkaGatewayProps({ ...base, domainName: 'not a name' })).toThrow('fully qualified domain name');
    expect(() => validateKafkaGatewayProps({ ...base, minTasks: 5, maxTasks: 2 })).toThrow('minTasks (5) exceeds maxTasks (2)');
    expect(() => validateKafkaGatewayProps({ ...base, cpu: 512, memoryMiB: 512 })).toThrow('not a Fargate size');
    expect(() => validateKafkaGatewayProps({ ...base, targetCpuPercent: 99 })).toThrow('targetCpuPercent');
    expect(() => validateKafkaGatewayProps({ ...base, port: 0 })).toThrow('port');
    expect(() => validateKafkaGatewayProps({ ...base, appendsPerPartition: 1.5 })).toThrow(
      'appendsPerPartition must be an integer from 0 to 64',
    );
    expect(() => validateKafkaGatewayProps({ ...base, appendsPerPartition: -1 })).toThrow('appendsPerPartition');
    expect(() => validateKafkaGatewayProps({ ...base, userSecretPrefix: 'bad prefix' })).toThrow('userSecretPrefix');
    expect(() => validateKafkaGatewayProps({ ...base, hostedZone: { zoneName: 'other.org' } as never })).toThrow(
      'not in the hosted zone other.org',
    );
    expect(() => synthesize({ stage: 'prod', kafkaGateway: gateway({ allowedCidrs: ['everyone'] }) })).toThrow('not an IPv4 or IPv6 CIDR');
    expect(() => validateKafkaGatewayProps(base)).not.toThrow();
  });
});
