/**
 * One Logway handler as a Lambda function: `functions/<name>.ts` bundled by esbuild for Node.js 22
 * on arm64, its own log group, and a role that can write that log group and touch exactly the
 * tables and bucket its definition lists.
 */
import { type Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { lockFilePath, repoRoot } from '../project';
import type { DataAccess, LogStorage } from './log-storage';

/** What every Logway function shares; the stack decides it once. */
export interface LogwayFunctionDefaults {
  readonly handlersDir: string;
  readonly storage: LogStorage;
  readonly environment: Readonly<Record<string, string>>;
  readonly memorySize: number;
  readonly logRetention: logs.RetentionDays;
  /** Applied to the log group: RETAIN keeps a deleted stage's logs for the post-mortem. */
  readonly removalPolicy: RemovalPolicy;
  readonly bundling: BundlingOptions;
}

export interface LogwayFunctionProps extends DataAccess {
  /** Handler module `functions/<name>.ts`, exporting `handler`. */
  readonly name: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly defaults: LogwayFunctionDefaults;
}

/** The same runtime everywhere: the brief pins Node.js 22 on Graviton. */
export const logwayRuntime = lambda.Runtime.NODEJS_22_X;

export class LogwayFunction extends Construct {
  readonly name: string;
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: LogwayFunctionProps) {
    super(scope, id);
    const { defaults } = props;
    this.name = props.name;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: defaults.logRetention,
      removalPolicy: defaults.removalPolicy,
    });

    // Not the default role with AWSLambdaBasicExecutionRole (logs:* on every log group): this
    // one may only write the function's own log group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Logway ${props.name}: its own log group and the data its definition lists`,
    });
    this.logGroup.grants.write(this.role);
    defaults.storage.grantAccess(this.role, props);

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(defaults.handlersDir, `${props.name}.ts`),
      handler: 'handler',
      projectRoot: repoRoot,
      depsLockFilePath: lockFilePath,
      runtime: logwayRuntime,
      architecture: lambda.Architecture.ARM_64,
      memorySize: defaults.memorySize,
      timeout: props.timeout,
      description: props.description,
      role: this.role,
      logGroup: this.logGroup,
      environment: { ...defaults.environment },
      bundling: defaults.bundling,
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Logway targets nodejs22.x deliberately: the runtime it is built and tested for (esbuild ' +
        'target node22). Moving to nodejs24.x is a tested upgrade, not a lint fix.',
    });
  }
}
