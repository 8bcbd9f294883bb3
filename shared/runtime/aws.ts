/**
 * AWS SDK clients and resource names for handlers. Clients are created once per process (a
 * Lambda execution environment reuses them across invocations). Endpoints come from the SDK's
 * own AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_S3 variables, which is
 * what lets the same code run against AWS, LocalStack or the embedded emulators.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { AsyncLocalStorage } from 'node:async_hooks';
import { segmentBucket, tables, type TableId } from '../storage/tables';

let documentClient: DynamoDBDocumentClient | undefined;
let s3: S3Client | undefined;

/** One SDK call as a handler makes it: the service, the command (`GetItemCommand`...) and its input. */
export interface AwsRequest {
  readonly service: 'dynamodb' | 's3';
  readonly commandName: string;
  readonly input: Readonly<Record<string, unknown>>;
}

/**
 * Runs before every request of the clients below, before anything is sent; throwing fails the
 * call with that error. Nothing on Lambda sets one: the test suite and the local runtime install
 * the IAM policy check here (test/support/iam-check.ts), so that a call the function's role would
 * be denied on AWS fails the same way locally.
 */
export type AwsRequestCheck = (request: AwsRequest) => void | Promise<void>;

let requestCheck: AwsRequestCheck | undefined;

export function setAwsRequestCheck(check: AwsRequestCheck | undefined): void {
  requestCheck = check;
}

/**
 * Which Logway function (route or scheduled function name) is running. On Lambda each function
 * has its own process; the local runtime calls every handler in one process and sets this
 * around each call, so a request check can tell whose role a call would run under.
 */
const runningFunction = new AsyncLocalStorage<string>();

export function runAsFunction<T>(name: string, body: () => T): T {
  return runningFunction.run(name, body);
}

export function currentFunction(): string | undefined {
  return runningFunction.getStore();
}

function addRequestCheck(service: AwsRequest['service'], client: DynamoDBClient | S3Client): void {
  // The first step of every command: the check sees the call as the handler made it.
  (client.middlewareStack as DynamoDBClient['middlewareStack']).add(
    (next, context) => async (args) => {
      if (requestCheck) {
        const input = (args.input ?? {}) as Record<string, unknown>;
        await requestCheck({ service, commandName: context.commandName ?? 'unknown', input });
      }
      return next(args);
    },
    { step: 'initialize', name: 'logwayRequestCheck', priority: 'high' },
  );
}

export function dynamo(): DynamoDBDocumentClient {
  if (!documentClient) {
    const client = new DynamoDBClient({ maxAttempts: 4 });
    addRequestCheck('dynamodb', client);
    documentClient = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }
  return documentClient;
}

export function s3Client(): S3Client {
  // Emulators and LocalStack serve buckets by path, not by virtual host.
  const emulated = Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
  if (s3) return s3;
  s3 = new S3Client({
    forcePathStyle: emulated,
    maxAttempts: 4,
    // s3rver predates S3's flexible checksums; AWS verifies them when a client sends them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  addRequestCheck('s3', s3);
  return s3;
}

/** Drops cached clients, so that a process that changed its endpoints gets fresh ones. */
export function resetAwsClients(): void {
  documentClient?.destroy();
  s3?.destroy();
  documentClient = undefined;
  s3 = undefined;
}

export function tableName(id: TableId): string {
  const envVar = tables[id].envVar;
  const name = process.env[envVar];
  if (!name) throw new Error(`${envVar} is not set: the ${id} table's name is unknown`);
  return name;
}

export function bucketName(): string {
  const name = process.env[segmentBucket.envVar];
  if (!name) throw new Error(`${segmentBucket.envVar} is not set: the segment bucket is unknown`);
  return name;
}
