/**
 * The Kafka protocol gateway on AWS: a stateless ECS Fargate service (the process of
 * infra/kafka-gateway/main.ts) behind a Network Load Balancer with a TLS listener, in a VPC,
 * autoscaled on CPU. Every task advertises the custom domain (and the listener's port) as the
 * single broker, so clients only ever connect through the load balancer; any task answers any
 * request, because all state is in DynamoDB and S3.
 *
 * Secure by default: TLS at the load balancer with the given ACM certificate; SASL/SCRAM users
 * from Secrets Manager (one secret per user under `userSecretPrefix`, see shared/kafka/users.ts);
 * no client may reach the listener unless `allowedClients` names it; tasks in private subnets,
 * reachable only from the load balancer's security group; a task role with the HTTP API
 * functions' grants for the operations the gateway serves and read access to the user secrets.
 */
import { Arn, ArnFormat, Duration, type RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53targets from 'aws-cdk-lib/aws-route53-targets';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { routes as routeTable, type RouteDefinition, type RouteName, type TableAccess } from '../../shared/http/routes';
import type { TableId } from '../../shared/storage/tables';
import { bundleKafkaGateway } from '../kafka-gateway/bundle';
import type { DataAccess, LogStorage } from './log-storage';

/**
 * The HTTP routes whose operations the gateway serves (produce, fetch, offsets, groups, topic
 * administration): its task role gets exactly their grants, merged. Not the trigger routes.
 */
export const kafkaGatewayRoutes = [
  'create-topic',
  'list-topics',
  'describe-topic',
  'alter-topic',
  'delete-topic',
  'produce',
  'fetch-records',
  'fetch-many',
  'list-offsets',
  'group-heartbeat',
  'commit-offsets',
  'fetch-committed-offsets',
  'list-groups',
  'describe-group',
  'delete-group',
] as const satisfies readonly RouteName[];

/** The union of the listed routes' table and bucket grants. */
export function kafkaGatewayAccess(routes: readonly RouteDefinition[] = routeTable): DataAccess {
  const tables: Partial<Record<TableId, TableAccess>> = {};
  const bucket = new Set<string>();
  for (const name of kafkaGatewayRoutes) {
    const route = routes.find((r) => r.name === name);
    if (!route) throw new Error(`The Kafka gateway's grants name the route '${name}', which the route table lacks`);
    for (const [id, grants] of Object.entries(route.tables) as [TableId, TableAccess][]) {
      tables[id] = [...new Set([...(tables[id] ?? []), ...grants])];
    }
    for (const grant of route.bucket ?? []) bucket.add(grant);
  }
  return { tables, ...(bucket.size > 0 ? { bucket: [...bucket] as DataAccess['bucket'] } : {}) };
}

/** The container's port; the load balancer's listener port is `port`. */
export const gatewayContainerPort = 9092;

export interface KafkaGatewayProps {
  /** The tables and segment bucket the gateway serves (the stack's). */
  readonly storage: LogStorage;
  /** Environment every task gets: table and bucket names, Powertools settings (the functions'). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * The name clients use (`bootstrap.servers=<domainName>:<port>`) and that every task advertises
   * as the single broker. The certificate must cover it.
   */
  readonly domainName: string;
  /** ACM certificate for `domainName`, in the stack's region: the TLS listener's. */
  readonly certificate: acm.ICertificate;
  /**
   * A Route 53 public or private hosted zone in which to create `domainName` as an alias of the
   * load balancer. @default none: point `domainName` at the `KafkaLoadBalancerDnsName` output yourself
   */
  readonly hostedZone?: route53.IHostedZone;
  /** The TLS listener's port. @default 9094 (MSK's TLS port) */
  readonly port?: number;
  /**
   * Who may connect to the listener: CIDR ranges, prefix lists or security groups.
   * @default none: nobody can connect until you name them (the service is private by default)
   */
  readonly allowedClients?: readonly ec2.IPeer[];
  /** An internet-facing load balancer (in public subnets). @default false: internal, in the private subnets */
  readonly internetFacing?: boolean;
  /**
   * The VPC to run in (it needs private subnets with egress and, if internetFacing, public ones).
   * @default a new VPC: 2 AZs, public and private subnets, one NAT gateway, S3 and DynamoDB gateway endpoints, flow logs
   */
  readonly vpc?: ec2.IVpc;
  /** The Secrets Manager names of the users: `<prefix><user>`. @default `<stack name>/kafka-users/` */
  readonly userSecretPrefix?: string;
  /**
   * The customer managed KMS key the user secrets are encrypted with: the task role may decrypt
   * with it, through Secrets Manager only. @default none: the secrets use the AWS managed key, which needs no grant
   */
  readonly userSecretsKey?: kms.IKey;
  /**
   * Chunk writes each task runs at once per partition: the Produce batches that arrive meanwhile
   * go out together in the next write (its group commit, docs/kafka.md "Many producers on one
   * partition"). 0: none, each batch writes alone. Sets `KAFKA_APPENDS_PER_PARTITION`.
   * @default the gateway's own default, one write per partition at a time (`produceAppendsPerPartition`)
   */
  readonly appendsPerPartition?: number;
  /** Fewest tasks (also the initial count). @default 2 (one per AZ) */
  readonly minTasks?: number;
  /** Most tasks. @default 10 */
  readonly maxTasks?: number;
  /** Average CPU the autoscaling keeps the service at. @default 60 (%) */
  readonly targetCpuPercent?: number;
  /** Task CPU units (256, 512, 1024, 2048, 4096). @default 512 */
  readonly cpu?: number;
  /** Task memory in MiB, valid for `cpu` on Fargate. @default 1024 */
  readonly memoryMiB?: number;
  /** @default ARM64 (Graviton, like the functions) */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  /**
   * The container image. @default built by `cdk deploy` from infra/kafka-gateway (the esbuild
   * bundle of main.ts made at synth, and the Dockerfile); deploying it needs Docker or a compatible CLI
   */
  readonly image?: ecs.ContainerImage;
  /** Where the load balancer's access logs go. @default the storage's access-log bucket, prefix kafka-nlb/ */
  readonly accessLogsBucket?: s3.IBucket;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** Of the task and flow log groups. */
  readonly removalPolicy: RemovalPolicy;
}

const fargateMemory: Record<number, (mib: number) => boolean> = {
  256: (m) => [512, 1024, 2048].includes(m),
  512: (m) => m >= 1024 && m <= 4096 && m % 1024 === 0,
  1024: (m) => m >= 2048 && m <= 8192 && m % 1024 === 0,
  2048: (m) => m >= 4096 && m <= 16384 && m % 1024 === 0,
  4096: (m) => m >= 8192 && m <= 30720 && m % 1024 === 0,
};

/** Every prop checked before anything is built; each error says what to change. */
export function validateKafkaGatewayProps(props: KafkaGatewayProps): void {
  const errors: string[] = [];
  const integer = (name: string, value: number | undefined, min: number, max: number) => {
    if (value !== undefined && !Token.isUnresolved(value) && (!Number.isInteger(value) || value < min || value > max)) {
      errors.push(`${name} must be an integer from ${min} to ${max}; got ${value}`);
    }
  };
  if (
    !Token.isUnresolved(props.domainName) &&
    !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(props.domainName)
  ) {
    errors.push(`domainName '${props.domainName}' is not a fully qualified domain name (clients and the certificate need one)`);
  }
  integer('port', props.port, 1, 65535);
  integer('minTasks', props.minTasks, 1, 100);
  integer('maxTasks', props.maxTasks, 1, 100);
  integer('targetCpuPercent', props.targetCpuPercent, 10, 90);
  integer('appendsPerPartition', props.appendsPerPartition, 0, 64);
  if ((props.minTasks ?? 2) > (props.maxTasks ?? 10))
    errors.push(`minTasks (${props.minTasks ?? 2}) exceeds maxTasks (${props.maxTasks ?? 10})`);
  const cpu = props.cpu ?? 512;
  const memory = props.memoryMiB ?? 1024;
  const fits = fargateMemory[cpu];
  if (!fits) errors.push(`cpu must be one of 256, 512, 1024, 2048, 4096; got ${cpu}`);
  else if (!fits(memory)) errors.push(`memoryMiB ${memory} is not a Fargate size for cpu ${cpu}`);
  if (props.userSecretPrefix !== undefined && !/^[A-Za-z0-9/_+=.@-]{1,400}$/.test(props.userSecretPrefix)) {
    errors.push(`userSecretPrefix '${props.userSecretPrefix}' has characters a Secrets Manager name cannot have`);
  }
  const zoneName = props.hostedZone?.zoneName;
  if (zoneName && !Token.isUnresolved(zoneName) && !Token.isUnresolved(props.domainName)) {
    const zone = zoneName.replace(/\.$/, '').toLowerCase();
    const name = props.domainName.toLowerCase();
    if (name !== zone && !name.endsWith(`.${zone}`)) errors.push(`domainName ${props.domainName} is not in the hosted zone ${zone}`);
  }
  if (errors.length > 0) throw new Error(`Invalid KafkaGateway props:\n- ${errors.join('\n- ')}`);
}

export class KafkaGateway extends Construct {
  readonly vpc: ec2.IVpc;
  readonly loadBalancer: elbv2.NetworkLoadBalancer;
  readonly service: ecs.FargateService;
  readonly targetGroup: elbv2.NetworkTargetGroup;
  readonly taskRole: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly listenerSecurityGroup: ec2.SecurityGroup;
  /** `domainName:port`: what clients put in bootstrap.servers. */
  readonly bootstrapServers: string;
  readonly userSecretPrefix: string;

  constructor(scope: Construct, id: string, props: KafkaGatewayProps) {
    super(scope, id);
    validateKafkaGatewayProps(props);
    const stack = Stack.of(this);
    const port = props.port ?? 9094;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    this.userSecretPrefix = props.userSecretPrefix ?? `${stack.stackName}/kafka-users/`;
    this.bootstrapServers = `${props.domainName}:${port}`;

    this.vpc = props.vpc ?? this.defaultVpc(logRetention, props.removalPolicy);

    // ---- the load balancer: TLS on `port`, open only to allowedClients ----
    this.listenerSecurityGroup = new ec2.SecurityGroup(this, 'ListenerSecurityGroup', {
      vpc: this.vpc,
      description: `Kafka gateway load balancer: TLS ${port} from the allowed clients only`,
      allowAllOutbound: false,
    });
    for (const peer of props.allowedClients ?? []) {
      this.listenerSecurityGroup.addIngressRule(peer, ec2.Port.tcp(port), `Kafka clients (TLS ${port})`);
    }
    if (
      (props.allowedClients ?? []).some(
        (peer) => peer.uniqueId === ec2.Peer.anyIpv4().uniqueId || peer.uniqueId === ec2.Peer.anyIpv6().uniqueId,
      )
    ) {
      Validations.of(this.listenerSecurityGroup).acknowledge({
        id: 'AwsSolutions-EC23',
        reason:
          'The deployer opened the Kafka listener to any address through allowedClients; only the one TLS port is open, ' +
          'and every connection must authenticate with SASL/SCRAM before any request is served.',
      });
    }
    this.loadBalancer = new elbv2.NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing: props.internetFacing ?? false,
      vpcSubnets: { subnetType: props.internetFacing ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.listenerSecurityGroup],
      crossZoneEnabled: true,
    });
    const accessLogs = props.accessLogsBucket ?? props.storage.accessLogsBucket;
    this.logAccessLogs(accessLogs, 'kafka-nlb');

    // ---- the tasks ----
    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: logRetention, removalPolicy: props.removalPolicy });
    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Logway Kafka gateway tasks: the data of the HTTP routes it serves, and the Kafka user secrets',
    });
    props.storage.grantAccess(this.taskRole, kafkaGatewayAccess());
    const secretArns = Arn.format(
      {
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${this.userSecretPrefix}*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      stack,
    );
    this.taskRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretArns] }));
    if (props.userSecretsKey) {
      this.taskRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [props.userSecretsKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.${stack.urlSuffix}` } },
        }),
      );
    }
    Validations.of(this.taskRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${nagText(stack.partition, 'AWS::Partition')}:secretsmanager:${nagText(stack.region, 'AWS::Region')}:${nagText(stack.account, 'AWS::AccountId')}:secret:${this.userSecretPrefix}*]`,
      reason:
        'One secret per Kafka user, created after deployment (npm run kafka-user); the wildcard is confined to the ' +
        'gateway user prefix, and Secrets Manager appends a random suffix to every secret ARN.',
    });

    const cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    const cpuArchitecture = props.cpuArchitecture ?? ecs.CpuArchitecture.ARM64;
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryMiB ?? 1024,
      runtimePlatform: { cpuArchitecture, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      taskRole: this.taskRole,
    });
    taskDefinition.addContainer('Gateway', {
      image: props.image ?? this.imageFromSource(cpuArchitecture),
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'kafka-gateway', logGroup: this.logGroup }),
      environment: {
        ...props.environment,
        KAFKA_PORT: String(gatewayContainerPort),
        KAFKA_HOST: '0.0.0.0',
        KAFKA_ADVERTISED_HOST: props.domainName,
        KAFKA_ADVERTISED_PORT: String(port),
        KAFKA_SASL_SECRET_PREFIX: this.userSecretPrefix,
        ...(props.appendsPerPartition !== undefined ? { KAFKA_APPENDS_PER_PARTITION: String(props.appendsPerPartition) } : {}),
      },
      portMappings: [{ containerPort: gatewayContainerPort, protocol: ecs.Protocol.TCP }],
      readonlyRootFilesystem: true,
      stopTimeout: Duration.seconds(30),
      healthCheck: {
        command: [
          'CMD',
          'node',
          '-e',
          `require('net').connect(${gatewayContainerPort},'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))`,
        ],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(20),
      },
    });
    Validations.of(taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds no secrets: table and bucket names, ports, the advertised name and the user secret ' +
        'prefix. Credentials are read from Secrets Manager at run time.',
    });
    if (taskDefinition.executionRole) {
      Validations.of(taskDefinition.executionRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'The execution role CDK makes for the image pull: ecr:GetAuthorizationToken supports no resource-level ' +
          'permissions, so its resource is *; the repository actions are scoped to the asset repository.',
      });
    }

    const taskSecurityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: this.vpc,
      description: `Kafka gateway tasks: ${gatewayContainerPort} from the load balancer only; out to AWS APIs`,
      allowAllOutbound: true,
    });
    taskSecurityGroup.addIngressRule(this.listenerSecurityGroup, ec2.Port.tcp(gatewayContainerPort), 'From the Kafka load balancer');
    this.listenerSecurityGroup.addEgressRule(taskSecurityGroup, ec2.Port.tcp(gatewayContainerPort), 'To the gateway tasks');

    const minTasks = props.minTasks ?? 2;
    this.service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition,
      desiredCount: minTasks,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [taskSecurityGroup],
      assignPublicIp: false,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
    });
    const scaling = this.service.autoScaleTaskCount({ minCapacity: minTasks, maxCapacity: props.maxTasks ?? 10 });
    scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: props.targetCpuPercent ?? 60,
      scaleInCooldown: Duration.minutes(5),
      scaleOutCooldown: Duration.minutes(1),
    });

    const listener = this.loadBalancer.addListener('Tls', {
      port,
      protocol: elbv2.Protocol.TLS,
      certificates: [elbv2.ListenerCertificate.fromCertificateManager(props.certificate)],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
    });
    this.targetGroup = listener.addTargets('Tasks', {
      port: gatewayContainerPort,
      protocol: elbv2.Protocol.TCP,
      targets: [this.service.loadBalancerTarget({ containerName: 'Gateway', containerPort: gatewayContainerPort })],
      // Kafka connections are long-lived: a stopping task's clients get 30 s before it is cut, then reconnect elsewhere.
      deregistrationDelay: Duration.seconds(30),
      healthCheck: {
        protocol: elbv2.Protocol.TCP,
        interval: Duration.seconds(10),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
      },
    });

    if (props.hostedZone) {
      new route53.ARecord(this, 'AliasRecord', {
        zone: props.hostedZone,
        recordName: props.domainName,
        target: route53.RecordTarget.fromAlias(new route53targets.LoadBalancerTarget(this.loadBalancer)),
      });
    }
  }

  /**
   * NLB access logs (TLS connections), set up by hand: CDK's logAccessLogs needs a concrete region,
   * and this stack synthesizes environment-agnostic. The bucket policy is the one the ELB guide
   * gives for Network Load Balancers (delivery.logs.amazonaws.com, this account's log sources only).
   */
  private logAccessLogs(bucket: s3.IBucket, prefix: string): void {
    const stack = Stack.of(this);
    const conditions = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:*` },
    };
    const principal = new iam.ServicePrincipal('delivery.logs.amazonaws.com');
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [principal],
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects(`${prefix}/AWSLogs/${stack.account}/*`)],
        conditions: { ...conditions, StringEquals: { ...conditions.StringEquals, 's3:x-amz-acl': 'bucket-owner-full-control' } },
      }),
    );
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({ principals: [principal], actions: ['s3:GetBucketAcl'], resources: [bucket.bucketArn], conditions }),
    );
    this.loadBalancer.setAttribute('access_logs.s3.enabled', 'true');
    this.loadBalancer.setAttribute('access_logs.s3.bucket', bucket.bucketName);
    this.loadBalancer.setAttribute('access_logs.s3.prefix', prefix);
  }

  private defaultVpc(logRetention: logs.RetentionDays, removalPolicy: RemovalPolicy): ec2.Vpc {
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', { retention: logRetention, removalPolicy });
    return new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
      // DynamoDB and S3 traffic, most of the gateway's, stays off the NAT gateway (and its per-GB charge).
      gatewayEndpoints: {
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
      },
      flowLogs: { All: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: ec2.FlowLogTrafficType.ALL } },
    });
  }

  /** The image from infra/kafka-gateway: bundled now (a placeholder when this synthesis skips bundling), built by `cdk deploy`. */
  private imageFromSource(cpuArchitecture: ecs.CpuArchitecture): ecs.ContainerImage {
    const stack = Stack.of(this);
    const outdir = join(
      stack.node.tryGetContext('logway:kafkaGatewayBuildDir') ?? join(assemblyDir(this), '.kafka-gateway'),
      stack.stackName,
    );
    const { dir } = bundleKafkaGateway(outdir, { placeholder: !stack.bundlingRequired });
    return ecs.ContainerImage.fromAsset(dir, {
      platform: cpuArchitecture === ecs.CpuArchitecture.X86_64 ? Platform.LINUX_AMD64 : Platform.LINUX_ARM64,
    });
  }
}

/** How cdk-nag writes a value in a finding id: itself when known, `<AWS::Region>` for a pseudo parameter. */
function nagText(value: string, pseudo: string): string {
  return Token.isUnresolved(value) ? `<${pseudo}>` : value;
}

function assemblyDir(scope: Construct): string {
  const stage = Stack.of(scope).node.scope as { outdir?: string } | undefined;
  if (!stage?.outdir)
    throw new Error('The Kafka gateway must be in a stack inside an App or Stage (its image is staged in the cloud assembly)');
  return stage.outdir;
}
