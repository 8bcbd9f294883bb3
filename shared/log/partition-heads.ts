/**
 * The head of each partition: high watermark, log start offset and the running maximum record
 * timestamp. Read with strong consistency from the partitions table; a partition no record was
 * ever appended to has no item and reads as empty.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, tableName } from '../runtime/aws';
import { partitionKeyOf } from '../topics/store';
import { unprocessedItemsBackoff } from '../runtime/batches';
import { backoffCeiling, sleep } from '../runtime/retry';

export interface PartitionHead {
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** Largest record timestamp ever appended (Kafka's time index is built on this running max). */
  readonly maxTimestamp: number;
  /** Bytes held by the partition's live batches, for retention.bytes. */
  readonly sizeBytes: number;
  /** High watermark and time of the last compaction. */
  readonly compactedUpTo?: number;
  readonly compactedAt?: number;
}

export const emptyHead: PartitionHead = { highWatermark: 0, logStartOffset: 0, maxTimestamp: -1, sizeBytes: 0 };

export function headFromItem(item: Record<string, unknown> | undefined): PartitionHead {
  if (!item || item.highWatermark === undefined) return emptyHead;
  return {
    highWatermark: Number(item.highWatermark),
    logStartOffset: Number(item.logStartOffset ?? 0),
    maxTimestamp: Number(item.maxTimestamp ?? -1),
    sizeBytes: Number(item.sizeBytes ?? 0),
    ...(item.compactedUpTo !== undefined ? { compactedUpTo: Number(item.compactedUpTo), compactedAt: Number(item.compactedAt) } : {}),
  };
}

export async function readHead(topicId: string, partition: number): Promise<PartitionHead> {
  const { Item } = await dynamo().send(
    new GetCommand({ TableName: tableName('partitions'), Key: { partitionKey: partitionKeyOf(topicId, partition) }, ConsistentRead: true }),
  );
  return headFromItem(Item);
}

/** Reads several partitions' heads of one topic in as few strongly consistent BatchGets as possible. */
export async function readHeads(topicId: string, partitions: readonly number[]): Promise<Map<number, PartitionHead>> {
  const byKey = await readHeadsAcrossTopics(partitions.map((partition) => ({ topicId, partition })));
  return new Map(partitions.map((partition) => [partition, byKey.get(partitionKeyOf(topicId, partition)) ?? emptyHead]));
}

export async function readHeadsAcrossTopics(keys: readonly { topicId: string; partition: number }[]): Promise<Map<string, PartitionHead>> {
  const heads = new Map<string, PartitionHead>();
  const table = tableName('partitions');
  const unique = [...new Set(keys.map((k) => partitionKeyOf(k.topicId, k.partition)))];
  for (let i = 0; i < unique.length; i += 100) {
    let pending: Record<string, unknown>[] = unique.slice(i, i + 100).map((partitionKey) => ({ partitionKey }));
    for (let round = 0; pending.length > 0; round++) {
      const result = await dynamo().send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }));
      for (const item of result.Responses?.[table] ?? []) heads.set(item.partitionKey as string, headFromItem(item));
      pending = (result.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
      if (pending.length > 0) await sleep(backoffCeiling(round, unprocessedItemsBackoff));
    }
  }
  for (const partitionKey of unique) if (!heads.has(partitionKey)) heads.set(partitionKey, emptyHead);
  return heads;
}

/**
 * A bookkeeping update of a partition item that must neither re-create a purged item nor touch
 * a deleted topic's partition: conditioned on the item being a live head. False if it is not.
 */
export async function updateLivePartition(
  topicId: string,
  partition: number,
  update: { UpdateExpression: string; ExpressionAttributeValues: Record<string, unknown> },
): Promise<boolean> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: tableName('partitions'),
        Key: { partitionKey: partitionKeyOf(topicId, partition) },
        ...update,
        ConditionExpression: 'attribute_exists(highWatermark) AND attribute_not_exists(deletedAt)',
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
