/**
 * Reading the chunk chain (layout v2): the last chunk (the head), the chunk holding an offset,
 * and the chunks after it. Every read is strongly consistent: a reader must see every append
 * acknowledged before it started (linearizability, docs/guarantees.md).
 */
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, tableName } from '../runtime/aws';
import { paged } from '../runtime/paging';
import type { ChunkItem } from './chunks';

/** Every attribute of a chunk but its batches: what a writer or a head read needs. */
export const chunkHeaderAttributes = [
  'partitionKey',
  'baseOffset',
  'recordCount',
  'sizeBytes',
  'batchCount',
  'sealed',
  'capBytes',
  'capBatches',
  'createdAt',
  'configVersion',
  'deletedAt',
  'maxTimestampBefore',
  'maxTimestamps',
  'bytesBefore',
  'stub',
] as const;

export const chunkHeaderProjection = chunkHeaderAttributes.join(', ');

/**
 * The last chunk of a partition (header only), or undefined for a partition never appended to.
 * `on`: another client and table (the bench's and the engine tests' own).
 */
export async function readLastChunk(
  partitionKey: string,
  on: { readonly dynamo: DynamoDBDocumentClient; readonly table: string } = { dynamo: dynamo(), table: tableName('chunks') },
): Promise<ChunkItem | undefined> {
  const { Items } = await on.dynamo.send(
    new QueryCommand({
      TableName: on.table,
      KeyConditionExpression: 'partitionKey = :pk',
      ExpressionAttributeValues: { ':pk': partitionKey },
      ProjectionExpression: chunkHeaderProjection,
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  return Items?.[0] as ChunkItem | undefined;
}

/**
 * What a reader of records needs of a chunk (`batchesOfChunk`): a projection returns less to
 * unmarshal (the read is billed for the whole item either way). Writers and sweeps read whole items.
 */
export const batchReaderProjection = 'partitionKey, baseOffset, recordCount, batches, stub';

/** The chunk whose base offset is the greatest at or below `offset` (whole, or the `projection`). */
export async function chunkAtOrBefore(partitionKey: string, offset: number, projection?: string): Promise<ChunkItem | undefined> {
  const { Items } = await dynamo().send(
    new QueryCommand({
      TableName: tableName('chunks'),
      KeyConditionExpression: 'partitionKey = :pk AND baseOffset <= :offset',
      ExpressionAttributeValues: { ':pk': partitionKey, ':offset': offset },
      ...(projection ? { ProjectionExpression: projection } : {}),
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  return Items?.[0] as ChunkItem | undefined;
}

/**
 * The chunks with a base offset above `after`, ascending, page by page. `pageSize` is asked
 * before each page, so a reader can grow its pages as it goes and never read more than it can use.
 */
export async function* chunksAfter(
  partitionKey: string,
  after: number,
  pageSize: () => number,
  projection?: string,
): AsyncGenerator<ChunkItem> {
  const pages = paged((startKey) =>
    dynamo().send(
      new QueryCommand({
        TableName: tableName('chunks'),
        KeyConditionExpression: 'partitionKey = :pk AND baseOffset > :after',
        ExpressionAttributeValues: { ':pk': partitionKey, ':after': after },
        ...(projection ? { ProjectionExpression: projection } : {}),
        ConsistentRead: true,
        Limit: Math.max(1, pageSize()),
        ExclusiveStartKey: startKey,
      }),
    ),
  );
  for await (const item of pages) yield item as unknown as ChunkItem;
}

/** The key of the first chunk after `after`, if any: a Query billed at the minimum when there is none. */
export async function firstChunkAfter(partitionKey: string, after: number): Promise<number | undefined> {
  const { Items } = await dynamo().send(
    new QueryCommand({
      TableName: tableName('chunks'),
      KeyConditionExpression: 'partitionKey = :pk AND baseOffset > :after',
      ExpressionAttributeValues: { ':pk': partitionKey, ':after': after },
      ProjectionExpression: 'baseOffset',
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  return Items?.[0] ? Number(Items[0].baseOffset) : undefined;
}

export async function getChunk(partitionKey: string, baseOffset: number): Promise<ChunkItem | undefined> {
  const { Item } = await dynamo().send(
    new GetCommand({ TableName: tableName('chunks'), Key: { partitionKey, baseOffset }, ConsistentRead: true }),
  );
  return Item as ChunkItem | undefined;
}
