/**
 * The IAM check: every DynamoDB and S3 call a Logway handler makes is evaluated, before it is
 * sent, against the policy of the function making it (from the synthesized template, see
 * iam-policies.ts), with @cloud-copilot/iam-simulate. A call the role would be denied on AWS fails
 * as AWS fails it: DynamoDB's AccessDeniedException (HTTP 400), S3's AccessDenied (HTTP 403).
 * The emulators check no IAM at all; without this, a missing grant shows up only after a deploy.
 *
 * Which function is calling comes from `runAsFunction` (the local gateway and scheduler set it
 * around each handler). Calls made outside any function (a test calling the library directly,
 * bootstrap) are not checked.
 *
 * A call is one or more IAM requests, as AWS authorizes it: BatchGetItem / BatchWriteItem one per
 * table, TransactWriteItems one per item with the item's own action (PutItem, UpdateItem,
 * DeleteItem, ConditionCheckItem), TransactGetItems GetItem per item, a Query on an index the
 * index ARN, DeleteObjects s3:DeleteObject per key, HeadObject s3:GetObject.
 *
 * @cloud-copilot/iam-simulate is AGPL-3.0: a dev dependency used by tests and the local runtime
 * only; no Lambda bundle imports this module (test/infra/bundling.test.ts checks).
 */
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { appendFileSync } from 'node:fs';
import { currentFunction, type AwsRequest, type AwsRequestCheck } from '../../shared/runtime/aws';
import { segmentBucket, tableIds, tables } from '../../shared/storage/tables';
import {
  type FunctionPolicies,
  type PolicyDocument,
  referenceAccount,
  referenceBucket,
  referenceRegion,
  referenceTableArn,
} from './iam-policies';

/** One IAM authorization request. */
export interface Permission {
  readonly action: string;
  readonly resource: string;
}

export interface Denial extends Permission {
  readonly functionName: string;
  readonly commandName: string;
}

/** The reference ARN of a table named in a request: its table id when it is one of Logway's tables. */
function tableArn(physicalName: unknown, indexName?: unknown): string {
  const id = tableIds.find((tableId) => process.env[tables[tableId].envVar] === physicalName);
  const base = id ? referenceTableArn(id) : `arn:aws:dynamodb:${referenceRegion}:${referenceAccount}:table/${String(physicalName)}`;
  return indexName ? `${base}/index/${String(indexName)}` : base;
}

function bucketName(physicalName: unknown): string {
  return physicalName === process.env[segmentBucket.envVar] ? referenceBucket : String(physicalName);
}

type Input = Readonly<Record<string, unknown>>;

const dynamoSingle: Record<string, string> = {
  GetItemCommand: 'GetItem',
  PutItemCommand: 'PutItem',
  UpdateItemCommand: 'UpdateItem',
  DeleteItemCommand: 'DeleteItem',
  QueryCommand: 'Query',
  ScanCommand: 'Scan',
  DescribeTableCommand: 'DescribeTable',
};

const transactWriteActions: Record<string, string> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
};

/** The IAM requests AWS authorizes for one SDK call; throws for a command this check does not know. */
export function permissionsFor(request: AwsRequest): Permission[] {
  const { commandName, input } = request;
  if (request.service === 'dynamodb') {
    const single = dynamoSingle[commandName];
    if (single) return [{ action: `dynamodb:${single}`, resource: tableArn(input.TableName, input.IndexName) }];
    if (commandName === 'BatchGetItemCommand' || commandName === 'BatchWriteItemCommand') {
      const action = commandName === 'BatchGetItemCommand' ? 'dynamodb:BatchGetItem' : 'dynamodb:BatchWriteItem';
      return Object.keys((input.RequestItems ?? {}) as object).map((table) => ({ action, resource: tableArn(table) }));
    }
    if (commandName === 'TransactWriteItemsCommand') {
      return ((input.TransactItems ?? []) as Input[]).map((item) => {
        const [kind, operation] = Object.entries(item).find(([, value]) => value !== undefined) as [string, Input];
        const action = transactWriteActions[kind];
        if (!action) throw new Error(`IAM check: unknown TransactWriteItems entry '${kind}'`);
        return { action: `dynamodb:${action}`, resource: tableArn(operation.TableName) };
      });
    }
    if (commandName === 'TransactGetItemsCommand') {
      return ((input.TransactItems ?? []) as { Get: Input }[]).map((item) => ({
        action: 'dynamodb:GetItem',
        resource: tableArn(item.Get.TableName),
      }));
    }
  } else {
    const bucket = bucketName(input.Bucket);
    const object = (key: unknown) => `arn:aws:s3:::${bucket}/${String(key)}`;
    switch (commandName) {
      case 'GetObjectCommand':
      case 'HeadObjectCommand':
        return [{ action: 's3:GetObject', resource: object(input.Key) }];
      case 'PutObjectCommand':
      case 'CreateMultipartUploadCommand':
      case 'UploadPartCommand':
      case 'CompleteMultipartUploadCommand':
        return [{ action: 's3:PutObject', resource: object(input.Key) }];
      case 'AbortMultipartUploadCommand':
        return [{ action: 's3:AbortMultipartUpload', resource: object(input.Key) }];
      case 'DeleteObjectCommand':
        return [{ action: 's3:DeleteObject', resource: object(input.Key) }];
      case 'DeleteObjectsCommand':
        return ((input.Delete as { Objects?: { Key?: string }[] } | undefined)?.Objects ?? []).map((entry) => ({
          action: 's3:DeleteObject',
          resource: object(entry.Key),
        }));
      case 'ListObjectsV2Command':
      case 'ListObjectsCommand':
      case 'HeadBucketCommand':
        return [{ action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}` }];
    }
  }
  throw new Error(
    `IAM check: ${request.service} ${commandName} is not mapped to IAM actions; add it to permissionsFor() in test/support/iam-check.ts`,
  );
}

export async function isAllowed(policy: FunctionPolicies['functions'][string], roleArn: string, permission: Permission): Promise<boolean> {
  const result = await runSimulation(
    {
      request: {
        principal: roleArn,
        action: permission.action,
        resource: { resource: permission.resource, accountId: referenceAccount },
        contextVariables: {},
      },
      identityPolicies: [{ name: 'role', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`IAM check: simulation failed: ${JSON.stringify(result.errors)}`);
  return result.overallResult === 'Allowed';
}

/** The error AWS answers a denied call with, as the SDK surfaces it. */
export function accessDenied(request: AwsRequest, roleArn: string, functionName: string, permission: Permission): Error {
  const who = `arn:aws:sts::${referenceAccount}:assumed-role/${roleArn.split('/').pop()}/${functionName}`;
  const message =
    `User: ${who} is not authorized to perform: ${permission.action} on resource: ${permission.resource} ` +
    `because no identity-based policy allows the ${permission.action} action`;
  if (request.service === 'dynamodb') {
    return new DynamoDBServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message,
    });
  }
  return new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message });
}

export interface IamCheck {
  readonly check: AwsRequestCheck;
  /** Denials since the last call, oldest first. */
  takeDenials(): Denial[];
  /** How many IAM requests were evaluated. */
  readonly evaluated: number;
}

/**
 * The resource an answer holds for beyond `resource` itself. Every segment object has a key of
 * its own, so memoising S3 answers per object simulated each object's first call and kept an entry
 * per object for the runtime's life. The policies' object resources are literal prefixes ending in
 * `*`, so all objects under one folder get one answer unless a prefix reaches into that folder's
 * names: then, or for any other pattern, the object stays its own scope.
 */
export function answerScope(policy: PolicyDocument, resource: string): string {
  if (!resource.startsWith('arn:aws:s3:::')) return resource;
  const folder = resource.slice(0, resource.lastIndexOf('/') + 1);
  if (!folder.slice('arn:aws:s3:::'.length).includes('/')) return resource;
  for (const statement of policy.Statement) {
    if ('NotResource' in statement) return resource;
    for (const pattern of ([] as unknown[]).concat(statement.Resource ?? [])) {
      if (typeof pattern !== 'string') return resource;
      if (!pattern.startsWith('arn:aws:s3:::')) continue;
      const literal = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
      if (/[*?$]/.test(literal)) return resource;
      // A prefix into the folder's names, or an exact object ARN at or in it, tells objects apart.
      if (literal.startsWith(folder) && (literal.length > folder.length || !pattern.endsWith('*'))) return resource;
    }
  }
  return `${folder}*`;
}

/** A request check that enforces `policies`; each denial is also recorded, since a handler may swallow the error. */
export function iamCheck(policies: Pick<FunctionPolicies, 'functions' | 'roles'>): IamCheck {
  let denials: Denial[] = [];
  let evaluated = 0;
  // The policies are fixed for the check's life and the simulation gets no request context, so
  // one answer per function, action and resource holds: without this, simulating every SDK call
  // took a tenth of the local runtime's CPU under load.
  const answers = new Map<string, Promise<boolean>>();
  const allowed = (functionName: string, roleArn: string, permission: Permission) => {
    const policy = policies.functions[functionName];
    if (!policy) return Promise.resolve(false);
    const key = `${functionName}\n${permission.action}\n${answerScope(policy, permission.resource)}`;
    let answer = answers.get(key);
    if (!answer) {
      answer = isAllowed(policy, roleArn, permission);
      answer.catch(() => answers.delete(key));
      answers.set(key, answer);
    }
    return answer;
  };
  const check: AwsRequestCheck = async (request) => {
    const functionName = currentFunction();
    if (functionName === undefined) return;
    const roleArn = policies.roles[functionName] ?? `arn:aws:iam::${referenceAccount}:role/unknown`;
    for (const permission of permissionsFor(request)) {
      evaluated++;
      // LOGWAY_IAM_TRACE=<file>: one line per IAM request, to see what each function really uses.
      if (process.env.LOGWAY_IAM_TRACE) {
        appendFileSync(process.env.LOGWAY_IAM_TRACE, `${JSON.stringify({ functionName, ...permission })}\n`);
      }
      if (await allowed(functionName, roleArn, permission)) continue;
      denials.push({ ...permission, functionName, commandName: request.commandName });
      throw accessDenied(request, roleArn, functionName, permission);
    }
  };
  return {
    check,
    takeDenials: () => {
      const taken = denials;
      denials = [];
      return taken;
    },
    get evaluated() {
      return evaluated;
    },
  };
}

export function describeDenials(denials: readonly Denial[]): string {
  return denials.map((d) => `${d.functionName}: ${d.action} on ${d.resource} (${d.commandName})`).join('\n  ');
}
