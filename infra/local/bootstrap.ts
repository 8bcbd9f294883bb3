/**
 * Creates Logway's tables and bucket in the emulators (or LocalStack) from the one definition in
 * shared/storage/tables.ts. Idempotent: `npm start` runs it on every start against kept data.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { sleep } from '../../shared/runtime/retry';
import { segmentBucket, tableIds, tables, type TableDefinition, type TableId } from '../../shared/storage/tables';
import type { Endpoints } from './emulators';

/**
 * Credentials for the embedded emulators: s3rver knows only its built-in S3RVER key pair, and
 * DynamoDB Local accepts any alphanumeric key id, so this pair serves both. LocalStack accepts any.
 */
export const emulatorCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalResources {
  /** Environment variables that name each table and the bucket for the handlers. */
  readonly environment: Record<string, string>;
}

export function localResourceNames(prefix: string): { tables: Record<TableId, string>; bucket: string } {
  const names = {} as Record<TableId, string>;
  for (const id of tableIds) names[id] = `${prefix}-${tables[id].id.toLowerCase()}`;
  return { tables: names, bucket: `${prefix}-segments`.toLowerCase() };
}

export function createTableInput(definition: TableDefinition, tableName: string): CreateTableCommandInput {
  const attributes = new Map<string, AttributeDefinition>();
  const keys = [definition.partitionKey, definition.sortKey];
  for (const index of definition.globalIndexes ?? []) keys.push(index.partitionKey, index.sortKey);
  for (const key of keys) {
    if (key) attributes.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes.values()],
    KeySchema: [
      { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
      ...(definition.sortKey ? [{ AttributeName: definition.sortKey.name, KeyType: 'RANGE' as const }] : []),
    ],
    ...(definition.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: definition.stream } } : {}),
    ...(definition.globalIndexes?.length
      ? {
          GlobalSecondaryIndexes: definition.globalIndexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: [
              { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
              ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' as const }] : []),
            ],
            Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...index.projectedAttributes] },
          })),
        }
      : {}),
  };
}

async function ensureTable(client: DynamoDBClient, definition: TableDefinition, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand(createTableInput(definition, tableName)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexes = (Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName).sort();
    const keys = [...(Table?.KeySchema ?? []).map((k) => k.AttributeName), ...indexes.map((i) => `index ${i}`)].join(',');
    const expected = [
      definition.partitionKey.name,
      definition.sortKey?.name,
      ...(definition.globalIndexes ?? []).map((i) => `index ${i.indexName}`).sort(),
    ]
      .filter(Boolean)
      .join(',');
    if (keys !== expected) {
      // Kept data from a Logway whose table layout differed: say so rather than fail obscurely later.
      throw new Error(
        `Table ${tableName} has keys (${keys}) but this Logway expects (${expected}). ` +
          'The data folder was made by another version: move it aside (or set LOGWAY_DATA_DIR to a new folder) and start again.',
      );
    }
    if (Table?.TableStatus === 'ACTIVE' && definition.stream && !Table.StreamSpecification?.StreamEnabled) {
      // A table kept from a Logway without triggers: turn its stream on.
      await client.send(
        new UpdateTableCommand({ TableName: tableName, StreamSpecification: { StreamEnabled: true, StreamViewType: definition.stream } }),
      );
      continue;
    }
    if (Table?.TableStatus === 'ACTIVE') break;
    await sleep(100);
  }
  if (definition.ttlAttribute) {
    try {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: definition.ttlAttribute, Enabled: true },
        }),
      );
    } catch (error) {
      // Enabling TTL twice is a ValidationException ("already enabled"): fine on a restart.
      if ((error as Error).name !== 'ValidationException') throw error;
    }
  }
}

async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

/**
 * Creates every table and the bucket under `prefix` and returns the environment the handlers
 * need to find them (table names, bucket, endpoints and emulator credentials).
 */
export async function bootstrapLocalResources(
  endpoints: Endpoints,
  prefix: string,
  options: { embedded: boolean },
): Promise<LocalResources> {
  const names = localResourceNames(prefix);
  const region = process.env.AWS_REGION ?? 'us-east-1';
  // Against the embedded emulators only their key pair works; against LocalStack keep the caller's.
  const useEmulatorCredentials = options.embedded || (!process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE);
  const credentials = useEmulatorCredentials ? emulatorCredentials : undefined;
  const dynamodb = new DynamoDBClient({ endpoint: endpoints.dynamodb, region, ...(credentials ? { credentials } : {}) });
  const s3 = new S3Client({
    endpoint: endpoints.s3,
    region,
    forcePathStyle: true,
    ...(credentials ? { credentials } : {}),
  });
  try {
    await Promise.all(tableIds.map((id) => ensureTable(dynamodb, tables[id], names.tables[id])));
    await ensureBucket(s3, names.bucket);
  } finally {
    dynamodb.destroy();
    s3.destroy();
  }
  const environment: Record<string, string> = {
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_REGION: region,
    [segmentBucket.envVar]: names.bucket,
  };
  if (credentials) {
    environment.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
    environment.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  }
  for (const id of tableIds) environment[tables[id].envVar] = names.tables[id];
  return { environment };
}
