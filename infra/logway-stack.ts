/**
 * The Logway service as one CloudFormation stack, derived from the project's single definitions:
 * the tables and bucket of shared/storage/tables.ts, one Lambda function and one HTTP route per
 * entry of the route table (shared/http/routes.ts) plus the `$default` route's not-found function,
 * one function and EventBridge rule per scheduled function (infra/schedules.ts), each granted
 * exactly the access its entry lists.
 *
 * Secure by default: IAM (SigV4) on every route, TLS-only buckets with public access blocked,
 * encrypted tables with point-in-time recovery, one role per function, cdk-nag clean.
 */
import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { routes as routeTable, type RouteDefinition } from '../shared/http/routes';
import { segmentBucket, tableIds, tables as tableDefinitions } from '../shared/storage/tables';
import { logwayBundling, type NativeModuleMode } from './bundling';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { LogwayHttpApi, type AuthMode } from './constructs/http-api';
import { KafkaGateway, type KafkaGatewayProps } from './constructs/kafka-gateway';
import { LogStorage } from './constructs/log-storage';
import { LogwayFunction, type LogwayFunctionDefaults } from './constructs/logway-function';
import { LogwayObservability, metricsNamespace } from './constructs/observability';
import { TriggerDispatcher } from './constructs/trigger-dispatcher';
import { defaultFunctionMemoryMB } from './function-defaults';
import { handlersDir as defaultHandlersDir, packageVersion } from './project';
import { scheduledFunctions as scheduleTable, type ScheduledFunctionDefinition } from './schedules';

export interface RetentionDefaults {
  /**
   * Default `retention.ms` of topics created without one, passed to every function as
   * LOGWAY_DEFAULT_RETENTION_MS. -1 keeps records forever.
   * @default the library's default (7 days, shared/config.ts)
   */
  readonly retentionMs?: number;
}

export interface LogwayStackProps extends StackProps {
  /**
   * Deployment stage. `dev` is throwaway: tables, buckets and logs are destroyed with the stack.
   * Every other stage (`prod`, `staging`, ...) retains them and turns on table deletion protection.
   */
  readonly stage: string;
  /**
   * How API callers authenticate. 'iam' (default): SigV4-signed requests, authorized by IAM
   * policies on route ARNs. 'none': an open API, refused for any stage but `dev`.
   */
  readonly authMode?: AuthMode;
  readonly retentionDefaults?: RetentionDefaults;
  /** Default route throttling of the API stage. @default 500 requests/s, burst 1000 */
  readonly throttle?: apigwv2.ThrottleSettings;
  /** Email address notified of every alarm (through an encrypted SNS topic). @default none */
  readonly alarmEmail?: string;
  /** Memory of every function, in MB (CPU scales with it). @default 512 (`defaultFunctionMemoryMB`) */
  readonly functionMemoryMB?: number;
  /** Timeout of route functions whose entry sets no `timeoutSeconds`. @default 10 seconds */
  readonly functionTimeout?: Duration;
  /** Retention of function and access logs. @default one month for dev, six months otherwise */
  readonly logRetention?: logs.RetentionDays;
  /** Ship native modules to Lambda ('install') or rely on pure-JS fallbacks. @default 'fallback' */
  readonly nativeModules?: NativeModuleMode;
  /** @default the route table of shared/http/routes.ts */
  readonly routes?: readonly RouteDefinition[];
  /** @default the scheduled functions of infra/schedules.ts */
  readonly scheduledFunctions?: readonly ScheduledFunctionDefinition[];
  /** Where `<name>.ts` handler modules live. @default functions/ */
  readonly handlersDir?: string;
  /**
   * Push delivery (triggers). The dispatcher may invoke only functions tagged
   * `logway:trigger-target=<stack name>` (unless `triggerTaggedFunctions` is false) and those named
   * in `triggerFunctions` (names or ARNs). @default tagged functions only
   */
  readonly triggerFunctions?: readonly string[];
  readonly triggerTaggedFunctions?: boolean;
  /** Build the trigger dispatcher. @default true when the route table has the trigger routes */
  readonly triggers?: boolean;
  /**
   * The Kafka protocol gateway on ECS Fargate behind a TLS Network Load Balancer (`-c kafkaGateway=true`).
   * @default none: the stack serves the HTTP API only
   */
  readonly kafkaGateway?: KafkaGatewayStackProps;
}

/** The Kafka gateway's settings as the CDK app passes them (plain values; see KafkaGatewayProps). */
export interface KafkaGatewayStackProps
  extends Pick<
    KafkaGatewayProps,
    | 'domainName'
    | 'port'
    | 'internetFacing'
    | 'vpc'
    | 'userSecretPrefix'
    | 'minTasks'
    | 'maxTasks'
    | 'appendsPerPartition'
    | 'targetCpuPercent'
    | 'cpu'
    | 'memoryMiB'
    | 'image'
  > {
  /** ARN of the ACM certificate for `domainName`, in the stack's region. */
  readonly certificateArn: string;
  /** A Route 53 hosted zone for the alias record. @default none */
  readonly hostedZone?: { readonly hostedZoneId: string; readonly zoneName: string };
  /** IPv4 or IPv6 CIDR ranges allowed to connect. @default none */
  readonly allowedCidrs?: readonly string[];
  /** Peers allowed to connect besides the CIDRs (security groups, prefix lists). @default none */
  readonly allowedPeers?: readonly ec2.IPeer[];
  /** ARN of the customer managed KMS key of the user secrets. @default none (the AWS managed key) */
  readonly userSecretsKeyArn?: string;
}

/** API Gateway HTTP APIs give up on an integration after 30 s, whatever the function's timeout. */
const httpIntegrationTimeoutLimit = Duration.seconds(30);
const defaultRouteTimeout = Duration.seconds(10);
const defaultScheduleTimeout = Duration.seconds(300);
const lambdaTimeoutLimit = Duration.seconds(900);
const defaultThrottle = { rateLimit: 500, burstLimit: 1000 };

export class LogwayStack extends Stack {
  readonly stage: string;
  readonly storage: LogStorage;
  readonly httpApi: LogwayHttpApi;
  /** Route functions by route name. */
  readonly routeFunctions = new Map<string, LogwayFunction>();
  /** The `$default` route's function: the contract's 404/405 for a request no route takes. */
  readonly notFoundFunction: LogwayFunction;
  /** Scheduled functions by name. */
  readonly scheduledFunctions = new Map<string, LogwayFunction>();
  readonly observability: LogwayObservability;
  /** Push delivery: the trigger dispatcher (absent when the stack has no trigger routes). */
  readonly triggerDispatcher?: TriggerDispatcher;
  /** The Kafka protocol gateway (absent unless `kafkaGateway` is set). */
  readonly kafkaGateway?: KafkaGateway;

  constructor(scope: Construct, id: string, props: LogwayStackProps) {
    super(scope, id, { description: `Logway (${props.stage}): Kafka's model on Lambda, DynamoDB and S3`, ...props });
    const stage = validateStage(props.stage);
    const authMode = props.authMode ?? 'iam';
    this.stage = stage;
    const ephemeral = stage === 'dev';

    if (authMode === 'none') {
      if (!ephemeral) {
        throw new Error(
          `authMode 'none' is allowed only for the dev stage, not '${stage}': an open API would let anyone ` +
            'produce to, read and delete every topic. Deploy with authMode iam.',
        );
      }
      Annotations.of(this).addWarningV2(
        '@logway/infra:authModeNone',
        'authMode none: every API route is open to anyone who knows its URL (no IAM authorization). ' +
          'Use this for throwaway dev stacks only.',
      );
    }

    const removalPolicy = ephemeral ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? (ephemeral ? logs.RetentionDays.ONE_MONTH : logs.RetentionDays.SIX_MONTHS);

    this.storage = new LogStorage(this, 'Storage', {
      removalPolicy,
      deletionProtection: !ephemeral,
      autoDeleteObjects: ephemeral,
    });

    this.httpApi = new LogwayHttpApi(this, 'HttpApi', {
      apiName: this.stackName,
      authMode,
      throttle: { ...defaultThrottle, ...definedOnly(props.throttle ?? {}) },
      accessLogRetention: logRetention,
      removalPolicy,
    });

    const defaults: LogwayFunctionDefaults = {
      handlersDir: props.handlersDir ?? defaultHandlersDir,
      storage: this.storage,
      environment: {
        ...this.storage.environment,
        POWERTOOLS_SERVICE_NAME: this.stackName,
        POWERTOOLS_METRICS_NAMESPACE: metricsNamespace,
        NODE_OPTIONS: '--enable-source-maps',
        LOGWAY_STAGE: stage,
        LOGWAY_VERSION: packageVersion,
        ...retentionEnvironment(props.retentionDefaults),
      },
      memorySize: props.functionMemoryMB ?? defaultFunctionMemoryMB,
      logRetention,
      removalPolicy,
      bundling: logwayBundling(props.nativeModules),
    };

    const routeScope = new Construct(this, 'Routes');
    for (const route of uniqueByName(props.routes ?? routeTable, 'route')) {
      const fn = new LogwayFunction(routeScope, constructId(route.name), {
        name: route.name,
        description: truncate(`Logway ${route.method} ${route.path}: ${route.summary}`),
        tables: route.tables,
        bucket: route.bucket,
        timeout: routeTimeout(route, props.functionTimeout ?? defaultRouteTimeout),
        defaults,
      });
      this.httpApi.addRoute(route, fn.function);
      this.routeFunctions.set(route.name, fn);
    }

    // Touches no data: it only maps the method and path to an error (shared/http/not-found.ts).
    this.notFoundFunction = new LogwayFunction(this, 'NotFound', {
      name: 'not-found',
      description: 'Logway $default route: 404 NOT_FOUND or 405 METHOD_NOT_ALLOWED for a request no route takes',
      tables: {},
      timeout: props.functionTimeout ?? defaultRouteTimeout,
      defaults,
    });
    this.httpApi.addDefaultRoute(this.notFoundFunction.function);

    const scheduleScope = new Construct(this, 'Schedules');
    for (const schedule of uniqueByName(props.scheduledFunctions ?? scheduleTable, 'scheduled function')) {
      const fn = new LogwayFunction(scheduleScope, constructId(schedule.name), {
        name: schedule.name,
        description: truncate(`Logway ${schedule.schedule}: ${schedule.description}`),
        tables: schedule.tables,
        bucket: schedule.bucket,
        timeout: scheduleTimeout(schedule),
        defaults,
      });
      new events.Rule(fn, 'Schedule', {
        description: truncate(`Invokes Logway ${schedule.name}: ${schedule.description}`, 512),
        schedule: events.Schedule.expression(schedule.schedule),
        targets: [new targets.LambdaFunction(fn.function, { retryAttempts: 2 })],
      });
      this.scheduledFunctions.set(schedule.name, fn);
    }

    const wantsTriggers = props.triggers ?? (this.routeFunctions.has('put-trigger') || this.scheduledFunctions.has('trigger-sweep'));
    if (wantsTriggers) {
      this.triggerDispatcher = new TriggerDispatcher(this, 'Triggers', {
        defaults,
        allowedFunctions: props.triggerFunctions,
        allowTaggedFunctions: props.triggerTaggedFunctions,
      });
    }

    if (props.kafkaGateway) {
      const kafka = props.kafkaGateway;
      const { certificateArn, hostedZone, allowedCidrs, allowedPeers, userSecretsKeyArn, ...rest } = kafka;
      this.kafkaGateway = new KafkaGateway(this, 'KafkaGateway', {
        ...rest,
        storage: this.storage,
        environment: defaults.environment,
        certificate: acm.Certificate.fromCertificateArn(this, 'KafkaCertificate', certificateArn),
        ...(hostedZone ? { hostedZone: route53.HostedZone.fromHostedZoneAttributes(this, 'KafkaHostedZone', hostedZone) } : {}),
        allowedClients: [...(allowedCidrs ?? []).map(cidrPeer), ...(allowedPeers ?? [])],
        ...(userSecretsKeyArn ? { userSecretsKey: kms.Key.fromKeyArn(this, 'KafkaUserSecretsKey', userSecretsKeyArn) } : {}),
        logRetention,
        removalPolicy,
      });
      new CfnOutput(this, 'KafkaBootstrapServers', {
        description: 'bootstrap.servers for Kafka clients (security.protocol=SASL_SSL, sasl.mechanism=SCRAM-SHA-512)',
        value: this.kafkaGateway.bootstrapServers,
      });
      new CfnOutput(this, 'KafkaLoadBalancerDnsName', {
        description: 'The Kafka load balancer: point the custom domain at it (done for you with a hosted zone)',
        value: this.kafkaGateway.loadBalancer.loadBalancerDnsName,
      });
      new CfnOutput(this, 'KafkaUserSecretPrefix', {
        description: 'Kafka users are Secrets Manager secrets named <prefix><user> (npm run kafka-user)',
        value: this.kafkaGateway.userSecretPrefix,
      });
    }

    this.observability = new LogwayObservability(this, 'Observability', {
      dashboardName: this.stackName,
      serviceName: this.stackName,
      api: this.httpApi.api,
      functions: [
        ...this.routeFunctions.values(),
        this.notFoundFunction,
        ...this.scheduledFunctions.values(),
        ...(this.triggerDispatcher ? [this.triggerDispatcher.dispatcher] : []),
      ],
      tables: this.storage.tables,
      alarmEmail: props.alarmEmail,
      removalPolicy,
      ...(this.kafkaGateway ? { kafkaGateway: this.kafkaGateway } : {}),
    });

    new CfnOutput(this, 'ApiUrl', {
      description: 'Invoke URL of the HTTP API (requests must be SigV4-signed unless authMode is none)',
      value: this.httpApi.url,
    });
    for (const tableId of tableIds) {
      const definition = tableDefinitions[tableId];
      new CfnOutput(this, `${definition.id}TableName`, {
        description: `DynamoDB ${tableId} table (handlers read it from ${definition.envVar})`,
        value: this.storage.tables[tableId].tableName,
      });
    }
    new CfnOutput(this, 'SegmentBucketName', {
      description: `S3 bucket of segment objects (handlers read it from ${segmentBucket.envVar})`,
      value: this.storage.segmentBucket.bucketName,
    });
    new CfnOutput(this, 'DashboardName', { value: this.observability.dashboard.dashboardName });
    if (this.observability.alarmTopic) {
      new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.alarmTopic.topicArn });
    }
  }
}

/** `10.0.0.0/16` or `2001:db8::/32` as a security group peer. */
function cidrPeer(cidr: string): ec2.IPeer {
  if (/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr)) return ec2.Peer.ipv4(cidr);
  if (/^[0-9a-f:]+\/\d{1,3}$/i.test(cidr)) return ec2.Peer.ipv6(cidr);
  throw new Error(`kafkaGateway.allowedCidrs: '${cidr}' is not an IPv4 or IPv6 CIDR range`);
}

function validateStage(stage: string): string {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(stage)) {
    throw new Error(`Stage '${stage}' must be lower-case letters, digits and hyphens, starting with a letter`);
  }
  return stage;
}

function retentionEnvironment(defaults: RetentionDefaults | undefined): Record<string, string> {
  const retentionMs = defaults?.retentionMs;
  if (retentionMs === undefined) return {};
  if (!Number.isSafeInteger(retentionMs) || (retentionMs < 1 && retentionMs !== -1)) {
    throw new Error(`retentionDefaults.retentionMs must be a positive integer or -1, not ${retentionMs}`);
  }
  return { LOGWAY_DEFAULT_RETENTION_MS: String(retentionMs) };
}

/** A long-polling route sets its own timeout; none may exceed what API Gateway waits for. */
function routeTimeout(route: RouteDefinition, fallback: Duration): Duration {
  if (route.timeoutSeconds === undefined) return fallback;
  const timeout = Duration.seconds(route.timeoutSeconds);
  if (route.timeoutSeconds <= 0 || timeout.toSeconds() > httpIntegrationTimeoutLimit.toSeconds()) {
    throw new Error(
      `Route ${route.name}: timeoutSeconds ${route.timeoutSeconds} is outside 1..30; API Gateway HTTP API ` +
        'integrations time out after 30 s, so a longer function would answer nobody.',
    );
  }
  return timeout;
}

function scheduleTimeout(schedule: ScheduledFunctionDefinition): Duration {
  const seconds = schedule.timeoutSeconds ?? defaultScheduleTimeout.toSeconds();
  if (seconds <= 0 || seconds > lambdaTimeoutLimit.toSeconds()) {
    throw new Error(`Scheduled function ${schedule.name}: timeoutSeconds ${seconds} is outside 1..900`);
  }
  return Duration.seconds(seconds);
}

function uniqueByName<T extends { readonly name: string }>(entries: readonly T[], kind: string): readonly T[] {
  const seen = new Set<string>();
  for (const entry of entries) {
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(entry.name)) {
      throw new Error(`The ${kind} name '${entry.name}' is not a valid handler module name`);
    }
    const id = constructId(entry.name);
    if (seen.has(id)) throw new Error(`Two ${kind}s are named '${entry.name}' (or differ only in case or separators)`);
    seen.add(id);
  }
  return entries;
}

/** `fetch-many` -> `FetchMany`: the construct id of a handler's function. */
function constructId(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

function truncate(text: string, max = 256): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
