/**
 * Every Logway function's IAM policy as the synthesized CloudFormation template grants it, with
 * its intrinsic functions resolved to concrete ARNs of a reference account, so that
 * test/support/iam-check.ts can evaluate each SDK call a handler makes against it.
 *
 * Synthesis (CDK, without bundling) takes a few seconds; the result is cached on disk under
 * node_modules/.cache/logway, keyed by a hash of everything the stack is built from, so a test run
 * synthesizes at most once and a run on unchanged infrastructure not at all.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LogwayStackProps } from '../../infra/logway-stack';
import { repoRoot } from '../../infra/project';
import { kafkaGatewayFunction } from '../../shared/kafka/server';
import { tableIds, type TableId } from '../../shared/storage/tables';

/** The reference account and region policies are resolved in (any values would do, consistently). */
export const referenceAccount = '123456789012';
export const referenceRegion = 'us-east-1';

/** The ARN a table is known by in resolved policies: its table id, not a physical name. */
export const referenceTableArn = (id: TableId): string => `arn:aws:dynamodb:${referenceRegion}:${referenceAccount}:table/${id}`;
export const referenceBucket = 'logway-segments';
export const referenceBucketArn = `arn:aws:s3:::${referenceBucket}`;

export interface PolicyDocument {
  readonly Version: string;
  readonly Statement: readonly { Effect: string; Action: string | string[]; Resource: string | string[] }[];
}

export interface FunctionPolicies {
  /** Hash of the sources the template was synthesized from. */
  readonly sourceHash: string;
  /** Identity policies by function name (route name or scheduled function name). */
  readonly functions: Readonly<Record<string, PolicyDocument>>;
  /** The role of each function, for AWS-like error messages. */
  readonly roles: Readonly<Record<string, string>>;
}

const cacheDir = join(repoRoot, 'node_modules', '.cache', 'logway');
const cacheFile = join(cacheDir, 'iam-policies.json');

/** Everything the stack's policies can depend on: infra (not the local runtime), shared code, cdk.json, the CDK version. */
function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (path !== join(repoRoot, 'infra', 'local')) walk(path);
      } else if (entry.name.endsWith('.ts')) files.push(path);
    }
  };
  walk(join(repoRoot, 'infra'));
  walk(join(repoRoot, 'shared'));
  files.push(
    join(repoRoot, 'cdk.json'),
    join(repoRoot, 'node_modules', 'aws-cdk-lib', 'package.json'),
    join(repoRoot, 'test', 'infra', 'synth.ts'),
    fileURLToPath(import.meta.url),
  );
  return files.sort();
}

export function policySourceHash(): string {
  const hash = createHash('sha256');
  for (const file of sourceFiles()) {
    hash.update(relative(repoRoot, file));
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * The policies of the stack as `npm run synth` would build it, from the cache when the sources are
 * unchanged. `props` (a test's own route table...) bypasses the cache.
 */
export async function functionPolicies(props?: Partial<LogwayStackProps>): Promise<FunctionPolicies & { synthesizedMs: number }> {
  const sourceHash = policySourceHash();
  if (!props && existsSync(cacheFile) && statSync(cacheFile).size > 0) {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as FunctionPolicies;
    if (cached.sourceHash === sourceHash) return { ...cached, synthesizedMs: 0 };
  }
  const started = performance.now();
  const policies = { sourceHash, ...(await synthesizePolicies(props)) };
  const synthesizedMs = Math.round(performance.now() - started);
  if (!props) {
    mkdirSync(cacheDir, { recursive: true });
    const scratch = `${cacheFile}.${process.pid}`;
    writeFileSync(scratch, JSON.stringify(policies));
    renameSync(scratch, cacheFile);
  }
  return { ...policies, synthesizedMs };
}

async function synthesizePolicies(props: Partial<LogwayStackProps> = {}): Promise<Omit<FunctionPolicies, 'sourceHash'>> {
  // Loaded only on a cache miss: aws-cdk-lib alone takes seconds to import.
  const { synthesize, logicalId, statementsOfRole } = await import('../infra/synth');
  // With the Kafka gateway, so that its task role is checked too (as the function 'kafka-gateway', shared/kafka/server.ts).
  const { stack, template } = synthesize(
    {
      kafkaGateway: {
        domainName: 'kafka.example.com',
        certificateArn: `arn:aws:acm:${referenceRegion}:${referenceAccount}:certificate/iam-check`,
      },
      ...props,
    },
    'LogwayIamCheck',
  );
  const references = new Map<string, string>();
  for (const id of tableIds) references.set(logicalId(stack.storage.tables[id]), referenceTableArn(id));
  references.set(logicalId(stack.storage.segmentBucket), referenceBucketArn);
  const functions: Record<string, PolicyDocument> = {};
  const roles: Record<string, string> = {};
  const dispatcher = stack.triggerDispatcher
    ? [[stack.triggerDispatcher.dispatcher.name, stack.triggerDispatcher.dispatcher] as const]
    : [];
  // It may invoke itself (to hand work on).
  for (const [name, fn] of dispatcher)
    references.set(logicalId(fn.function), `arn:aws:lambda:${referenceRegion}:${referenceAccount}:function:${name}`);
  for (const [name, fn] of [
    ...stack.routeFunctions,
    ['not-found', stack.notFoundFunction] as const,
    ...stack.scheduledFunctions,
    // The trigger dispatcher (the local runtime runs it as this function: infra/local/lambda-dispatcher.ts).
    ...dispatcher,
  ]) {
    const roleId = logicalId(fn.role);
    references.set(logicalId(fn.logGroup), `arn:aws:logs:${referenceRegion}:${referenceAccount}:log-group:${name}`);
    const Statement = statementsOfRole(template, roleId).map((statement) => ({
      Effect: statement.Effect,
      Action: statement.Action,
      Resource: [statement.Resource].flat().map((resource) => resolve(resource, references)),
    }));
    functions[name] = { Version: '2012-10-17', Statement };
    roles[name] = `arn:aws:iam::${referenceAccount}:role/${roleId}`;
  }
  if (stack.kafkaGateway) {
    const roleId = logicalId(stack.kafkaGateway.taskRole);
    const Statement = statementsOfRole(template, roleId).map((statement) => ({
      Effect: statement.Effect,
      Action: statement.Action,
      Resource: [statement.Resource].flat().map((resource) => resolve(resource, references)),
    }));
    functions[kafkaGatewayFunction] = { Version: '2012-10-17', Statement };
    roles[kafkaGatewayFunction] = `arn:aws:iam::${referenceAccount}:role/${roleId}`;
  }
  return { functions, roles };
}

/** Resolves the intrinsics CDK writes into policy resources (GetAtt Arn and StreamArn, Ref, Join, pseudo parameters). */
export function resolve(value: unknown, references: ReadonlyMap<string, string>): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [[fn, args]] = Object.entries(value) as [[string, unknown]];
    if (fn === 'Ref') {
      const name = args as string;
      const pseudo: Record<string, string> = {
        'AWS::Partition': 'aws',
        'AWS::Region': referenceRegion,
        'AWS::AccountId': referenceAccount,
        'AWS::URLSuffix': 'amazonaws.com',
      };
      if (pseudo[name]) return pseudo[name];
      const arn = references.get(name);
      if (arn) return arn.split(/[:/]/).pop()!;
    }
    if (fn === 'Fn::GetAtt') {
      const [id, attribute] = args as [string, string];
      const arn = references.get(id);
      if (arn && attribute === 'Arn') return arn;
      // A table's stream (the trigger dispatcher reads it through its event source mapping).
      if (arn && attribute === 'StreamArn') return `${arn}/stream/reference`;
    }
    if (fn === 'Fn::Join') {
      const [separator, parts] = args as [string, unknown[]];
      return parts.map((part) => resolve(part, references)).join(separator);
    }
  }
  throw new Error(`iam-policies: cannot resolve ${JSON.stringify(value)} in a policy resource; teach resolve() about it`);
}
