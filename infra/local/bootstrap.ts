/**
 * Creates Logway's tables and bucket in the emulators (or LocalStack) from the one definition in
 * shared/storage/tables.ts. Idempotent: `npm start` runs it on every start against kept data.
 *
 * Kept data must be of this code's storage layout (`storageLayoutVersion`): a data folder records
 * its layout in `storage-layout.json`, and a folder of another layout is refused before anything
 * is created in it, with what to do. A folder made before layouts were recorded has tables but
 * no marker: layout 1 (so is any set of tables with layout 1's `-batches` table).
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../shared/runtime/retry';
import { segmentBucket, storageLayoutVersion, tableIds, tables, type TableDefinition, type TableId } from '../../shared/storage/tables';
import { packageVersion } from '../project';
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

// ---------------------------------------------------------------------------------------------
// Storage layout of kept data

/** The file in a data folder that records the storage layout of the data in it. */
export const layoutMarkerFile = 'storage-layout.json';

/** The table of layout 1 that layout 2 replaced (`Batches`): its presence means layout 1. */
const layout1TableSuffix = 'batches';

/** What is known about kept data: the layout its folder's marker records, and which of Logway's tables exist. */
export interface KeptData {
  /** From the data folder's marker; undefined when there is no marker (or no data folder). */
  readonly markerVersion?: number;
  /** Names of existing tables that are Logway's under the prefix (any layout's). */
  readonly existingTables: readonly string[];
  /** Whether the tables live in the data folder (DynamoDB Local started on it), so that tables without a marker mean old data. */
  readonly tablesInFolder: boolean;
}

export interface KeptLayout {
  readonly version: number;
  /** How it was told: for the error message. */
  readonly evidence: string;
}

/** The storage layout of kept data, or undefined when there is none (a new folder: this layout). Pure. */
export function keptLayout(kept: KeptData, prefix: string): KeptLayout | undefined {
  const layout1Table = `${prefix}-${layout1TableSuffix}`;
  if (kept.existingTables.includes(layout1Table)) {
    return { version: 1, evidence: `it has the table ${layout1Table}, which layout 1 kept its batches in` };
  }
  if (kept.markerVersion !== undefined) return { version: kept.markerVersion, evidence: `its ${layoutMarkerFile} says so` };
  if (kept.tablesInFolder && kept.existingTables.length > 0) {
    return {
      version: 1,
      evidence: `it has tables (${kept.existingTables.join(', ')}) but no ${layoutMarkerFile}: it was made before layouts were recorded`,
    };
  }
  return undefined;
}

/** Throws, saying what to do, unless kept data is of this code's layout (or there is none). */
export function assertKeptLayout(kept: KeptData, prefix: string, where: string): void {
  const layout = keptLayout(kept, prefix);
  if (!layout || layout.version === storageLayoutVersion) return;
  throw new Error(
    `${where} holds Logway data of storage layout ${layout.version} (${layout.evidence}), but this Logway ` +
      `(${packageVersion}) reads and writes layout ${storageLayoutVersion} and cannot read it. ` +
      'Move the folder aside (or set LOGWAY_DATA_DIR to a new folder) and start again; to keep its records, ' +
      'read them out first with the Logway that wrote them. A deployed stack upgrades as docs/deploy.md says ' +
      '("Upgrading a deployed stack to layout 2").',
  );
}

/** The layout a data folder's marker records, or undefined without one; throws on a marker it cannot read. */
export function readLayoutMarker(dataDir: string): number | undefined {
  const file = join(dataDir, layoutMarkerFile);
  if (!existsSync(file)) return undefined;
  let version: unknown;
  try {
    version = (JSON.parse(readFileSync(file, 'utf8')) as { storageLayoutVersion?: unknown }).storageLayoutVersion;
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${(error as Error).message}): restore it or move the data folder aside and start again.`);
  }
  if (!Number.isSafeInteger(version) || (version as number) < 1) {
    throw new Error(`${file} has no storageLayoutVersion (a positive integer): restore it or move the data folder aside and start again.`);
  }
  return version as number;
}

/** Records this code's layout in a data folder (after its tables exist). */
export function writeLayoutMarker(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true });
  const marker = { storageLayoutVersion, writtenBy: `logway ${packageVersion}`, note: 'The storage layout of the data in this folder.' };
  writeFileSync(join(dataDir, layoutMarkerFile), `${JSON.stringify(marker, null, 2)}\n`);
}

/** Before the emulators start: a folder whose marker records another layout is refused at once. */
export function checkDataFolderMarker(dataDir: string): void {
  const markerVersion = readLayoutMarker(dataDir);
  assertKeptLayout({ markerVersion, existingTables: [], tablesInFolder: false }, '', `The data folder ${dataDir}`);
}

async function existingLogwayTables(client: DynamoDBClient, prefix: string): Promise<string[]> {
  const names = new Set([...Object.values(localResourceNames(prefix).tables), `${prefix}-${layout1TableSuffix}`]);
  return (await listTableNames(client)).filter((name) => names.has(name)).sort();
}

/** Every table DynamoDB lists, all pages (ListTables answers at most 100 names a call). */
export async function listTableNames(client: DynamoDBClient): Promise<string[]> {
  const names: string[] = [];
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    names.push(...(page.TableNames ?? []));
    start = page.LastEvaluatedTableName;
  } while (start);
  return names;
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
  options: {
    embedded: boolean;
    /**
     * The data folder DynamoDB Local keeps these tables in: its layout is checked (marker and
     * tables) before anything is created, and recorded after. Absent: only the tables are checked.
     */
    dataDir?: string;
  },
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
    const kept: KeptData = {
      markerVersion: options.dataDir === undefined ? undefined : readLayoutMarker(options.dataDir),
      existingTables: await existingLogwayTables(dynamodb, prefix),
      tablesInFolder: options.dataDir !== undefined,
    };
    assertKeptLayout(
      kept,
      prefix,
      options.dataDir === undefined ? `DynamoDB at ${endpoints.dynamodb}` : `The data folder ${options.dataDir}`,
    );
    await Promise.all(tableIds.map((id) => ensureTable(dynamodb, tables[id], names.tables[id])));
    await ensureBucket(s3, names.bucket);
    if (options.dataDir !== undefined) writeLayoutMarker(options.dataDir);
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
