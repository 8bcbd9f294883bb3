/**
 * AWS SDK clients and resource names for handlers. Clients are created once per process (a
 * Lambda execution environment reuses them across invocations). Endpoints come from the SDK's
 * own AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_S3 variables, which is
 * what lets the same code run against AWS, LocalStack or the embedded emulators.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { segmentBucket, tables, type TableId } from '../storage/tables';

let documentClient: DynamoDBDocumentClient | undefined;
let s3: S3Client | undefined;

export function dynamo(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts: 4 }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
}

export function s3Client(): S3Client {
  // Emulators and LocalStack serve buckets by path, not by virtual host.
  const emulated = Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
  s3 ??= new S3Client({
    forcePathStyle: emulated,
    maxAttempts: 4,
    // s3rver predates S3's flexible checksums; AWS verifies them when a client sends them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
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
