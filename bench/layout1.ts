/**
 * Layout 1's append, kept only as the benchmark's baseline (docs/performance.md compares the
 * layout-v2 append with it in one run): one TransactWriteItems per request that, for every
 * partition, moves the high watermark in the partition item from the value it expects and puts
 * the batch's index item keyed by its last offset (plus a time-index GSI entry per batch).
 * Nothing in the product writes this shape any more (shared/log/append.ts).
 */
import type { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { IdempotencyRecord, PreparedBatch } from '../shared/log/append';
import { storedResponseAt } from '../shared/log/idempotency';
import type { PartitionHead } from '../shared/log/partition-heads';
import type { TableDefinition } from '../shared/storage/tables';
import { partitionKeyOf } from '../shared/topics/store';

/** Layout 1's batch index table, as it was defined. */
export const layout1BatchesTable: TableDefinition = {
  id: 'Batches',
  envVar: 'LOGWAY_BATCHES_TABLE',
  partitionKey: { name: 'partitionKey', type: 'S' },
  sortKey: { name: 'lastOffset', type: 'N' },
  globalIndexes: [
    {
      indexName: 'byTimestamp',
      partitionKey: { name: 'partitionKey', type: 'S' },
      sortKey: { name: 'maxTimestampSoFar', type: 'N' },
      projectedAttributes: ['baseOffset'],
    },
    {
      // Which batch items point at a segment object (sparse: inline batches have no segmentKey).
      // The retention sweep asks it whether an object it found is referenced at all.
      indexName: 'bySegment',
      partitionKey: { name: 'segmentKey', type: 'S' },
      projectedAttributes: ['segmentPosition'],
    },
  ],
  description:
    'The log index: one item per appended record batch, keyed by its last offset so that ' +
    'one Query (lastOffset >= wanted) finds the batch holding an offset and those after it. ' +
    'Small batches carry their bytes inline; large ones point at a byte range of an S3 segment. ' +
    'The retention sweep keeps its own bookkeeping here under keys no partition has ' +
    '(`segment-refs#<object key>`: which batches of an object were released; `orphan-cursor#<topicId>`).',
};

function advance(head: PartitionHead, batch: PreparedBatch): PartitionHead {
  return {
    highWatermark: head.highWatermark + batch.recordCount,
    logStartOffset: head.logStartOffset,
    maxTimestamp: Math.max(head.maxTimestamp, batch.maxTimestamp),
    sizeBytes: head.sizeBytes + batch.bytes.length,
  };
}

export interface AppendTables {
  readonly partitions: string;
  readonly batches: string;
  readonly idempotency: string;
}

export type AppendTransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

/**
 * The items of one layout-1 append transaction.
 */
export function appendTransactItems(
  tables: AppendTables,
  topicId: string,
  batches: readonly PreparedBatch[],
  heads: ReadonlyMap<number, PartitionHead>,
  baseOffsets: ReadonlyMap<number, number>,
  idempotency: IdempotencyRecord | undefined,
  /** The config version the batches were planned with (`TopicMetadata.configVersion`). */
  topicConfigVersion?: number,
): AppendTransactItems {
  const partitionsTable = tables.partitions;
  const batchesTable = tables.batches;
  const items: AppendTransactItems = [];
  const appendedAt = Date.now();
  const configVersion = topicConfigVersion ?? 0;
  for (const batch of batches) {
    const head = heads.get(batch.partition)!;
    const baseOffset = baseOffsets.get(batch.partition)!;
    const next = advance(head, batch);
    items.push({
      Update: {
        TableName: partitionsTable,
        Key: { partitionKey: partitionKeyOf(topicId, batch.partition) },
        UpdateExpression:
          // sizeBytes is added, not set: the retention sweep subtracts from it concurrently.
          'SET highWatermark = :next, maxTimestamp = :maxTimestamp, logStartOffset = if_not_exists(logStartOffset, :zero) ADD sizeBytes :size',
        // Not deleted, not fenced by a config change newer than the config this append was
        // planned with, and still at the head this appender read.
        ConditionExpression: `attribute_not_exists(deletedAt) AND (attribute_not_exists(configVersion) OR configVersion <= :configVersion) AND ${
          head.highWatermark === 0 ? '(attribute_not_exists(highWatermark) OR highWatermark = :expected)' : 'highWatermark = :expected'
        }`,
        ExpressionAttributeValues: {
          ':configVersion': configVersion,
          ':next': next.highWatermark,
          ':expected': head.highWatermark,
          ':maxTimestamp': next.maxTimestamp,
          ':size': batch.bytes.length,
          ':zero': 0,
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    });
    items.push({
      Put: {
        TableName: batchesTable,
        Item: {
          partitionKey: partitionKeyOf(topicId, batch.partition),
          lastOffset: baseOffset + batch.recordCount - 1,
          baseOffset,
          recordCount: batch.recordCount,
          firstTimestamp: batch.firstTimestamp,
          maxTimestamp: batch.maxTimestamp,
          maxTimestampSoFar: next.maxTimestamp,
          sizeBytes: batch.bytes.length,
          appendedAt,
          ...(batch.location.kind === 'inline'
            ? { bytes: batch.bytes }
            : {
                segmentKey: batch.location.key,
                segmentPosition: batch.location.position,
                segmentBatches: batch.location.batchesInSegment,
              }),
        },
        ConditionExpression: 'attribute_not_exists(partitionKey)',
      },
    });
  }
  if (idempotency) items.push(idempotencyPut(idempotency, baseOffsets, tables.idempotency));
  return items;
}

/** The Idempotency-Key's record in layout 1's append transaction (the response stored with the append). */
function idempotencyPut(
  idempotency: IdempotencyRecord,
  baseOffsets: ReadonlyMap<number, number>,
  table: string,
): AppendTransactItems[number] {
  return {
    Put: {
      TableName: table,
      Item: {
        key: idempotency.key,
        requestHash: idempotency.requestHash,
        response: storedResponseAt(idempotency.template, baseOffsets),
        expiresAt: idempotency.expiresAt,
      },
      // An expired item DynamoDB's TTL has not removed yet no longer counts.
      ConditionExpression: 'attribute_not_exists(#key) OR expiresAt < :now',
      ExpressionAttributeNames: { '#key': 'key' },
      ExpressionAttributeValues: { ':now': Math.floor(Date.now() / 1000) },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}
