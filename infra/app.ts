/**
 * The CDK app: one Logway stack per stage, configured from CDK context.
 *
 *   npx cdk synth                                   # stage dev, IAM auth
 *   npx cdk deploy -c stage=prod -c alarmEmail=ops@example.com
 *   npx cdk deploy -c stage=dev -c authMode=none    # open API, dev only
 *
 * Context keys: stage (dev), authMode (iam | none), retentionMs, throttleRate, throttleBurst,
 * alarmEmail, memoryMB, nativeModules (fallback | install), stackName (Logway-<stage>),
 * nag (true | false: run the cdk-nag AwsSolutions checks at synth, on by default),
 * triggerFunctions (comma-separated function names or ARNs triggers may invoke, besides functions
 * tagged logway:trigger-target=<stack name>), triggerTaggedFunctions (true | false, default true),
 * kafkaGateway (true | false, default false: the Kafka protocol gateway on ECS Fargate) with
 * kafkaDomainName and kafkaCertificateArn (required with it), kafkaHostedZoneId + kafkaHostedZoneName,
 * kafkaAllowedCidrs (comma-separated), kafkaInternetFacing (true | false), kafkaMinTasks, kafkaMaxTasks,
 * kafkaAppendsPerPartition, kafkaUserSecretsKeyArn
 * (docs/deploy.md "Kafka gateway").
 */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { NativeModuleMode } from './bundling';
import type { AuthMode } from './constructs/http-api';
import { LogwayStack, type KafkaGatewayStackProps } from './logway-stack';

const app = new App();

function context(key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined || value === null || value === '' ? undefined : String(value);
}

function numberContext(key: string): number | undefined {
  const raw = context(key);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`Context ${key}=${raw} is not a number`);
  return value;
}

function oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
  const raw = context(key) ?? fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new Error(`Context ${key}=${raw} must be one of: ${allowed.join(', ')}`);
  }
  return raw as T;
}

const stage = context('stage') ?? 'dev';

function kafkaGateway(): KafkaGatewayStackProps | undefined {
  if (oneOf('kafkaGateway', ['true', 'false'], 'false') === 'false') return undefined;
  const domainName = context('kafkaDomainName');
  const certificateArn = context('kafkaCertificateArn');
  if (!domainName || !certificateArn) {
    throw new Error(
      'kafkaGateway=true needs -c kafkaDomainName=kafka.example.com and -c kafkaCertificateArn=arn:aws:acm:... ' +
        '(a certificate for that name in the stack region): the gateway only serves TLS.',
    );
  }
  const zoneId = context('kafkaHostedZoneId');
  const zoneName = context('kafkaHostedZoneName');
  if ((zoneId === undefined) !== (zoneName === undefined))
    throw new Error('Set both kafkaHostedZoneId and kafkaHostedZoneName, or neither');
  return {
    domainName,
    certificateArn,
    ...(zoneId && zoneName ? { hostedZone: { hostedZoneId: zoneId, zoneName } } : {}),
    allowedCidrs: (context('kafkaAllowedCidrs') ?? '')
      .split(',')
      .map((cidr) => cidr.trim())
      .filter(Boolean),
    internetFacing: oneOf('kafkaInternetFacing', ['true', 'false'], 'false') === 'true',
    userSecretsKeyArn: context('kafkaUserSecretsKeyArn'),
    minTasks: numberContext('kafkaMinTasks'),
    maxTasks: numberContext('kafkaMaxTasks'),
    appendsPerPartition: numberContext('kafkaAppendsPerPartition'),
  };
}
const retentionMs = numberContext('retentionMs');

new LogwayStack(app, context('stackName') ?? `Logway-${stage}`, {
  stage,
  authMode: oneOf<AuthMode>('authMode', ['iam', 'none'], 'iam'),
  retentionDefaults: retentionMs === undefined ? undefined : { retentionMs },
  throttle: { rateLimit: numberContext('throttleRate'), burstLimit: numberContext('throttleBurst') },
  alarmEmail: context('alarmEmail'),
  functionMemoryMB: numberContext('memoryMB'),
  nativeModules: oneOf<NativeModuleMode>('nativeModules', ['fallback', 'install'], 'fallback'),
  triggerFunctions: context('triggerFunctions')
    ?.split(',')
    .map((name) => name.trim())
    .filter(Boolean),
  triggerTaggedFunctions: oneOf('triggerTaggedFunctions', ['true', 'false'], 'true') === 'true',
  kafkaGateway: kafkaGateway(),
  // Unset without AWS credentials: the stack is then environment-agnostic and synthesizes offline.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

Tags.of(app).add('project', 'logway');
Tags.of(app).add('logway:stage', stage);

if (context('nag') !== 'false') {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}
