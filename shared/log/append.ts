/**
 * The append: one DynamoDB transaction per produce request that, for every partition it
 * touches, moves the high watermark from the value it expects to expected + records and puts
 * the batch's index item, and records the Idempotency-Key's response when there is one.
 *
 * The topic item is deliberately not in the transaction: every producer of a topic would then
 * touch that one item, capping the whole topic at one item's write rate. Instead deleting a
 * topic marks its partition items deleted first, and every append is conditioned on its
 * partition item not being marked, so no append lands in a topic after its deletion.
 *
 * Many Lambda instances append to one partition at once. The conditional transaction keeps
 * their offsets gapless and never overlapping; a loser learns the current head from the
 * failed condition itself (ReturnValuesOnConditionCheckFailure), so a retry needs no extra read.
 */
import { TransactionCanceledException, type CancellationReason } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { throttled } from '../errors';
import { dynamo, tableName } from '../runtime/aws';
import { partitionKeyOf, type TopicMetadata } from '../topics/store';
import { headFromItem, readHeads, type PartitionHead } from './partition-heads';
import { appendMetrics } from './metrics';
import { cancelledByThrottling } from './throttling';
import { BoundedCache } from '../runtime/bounded-cache';
import { type Backoff, fullJitterDelay, sleep } from '../runtime/retry';

/** Where a batch's bytes live: inline in its index item, or a byte range of a segment object. */
export type BatchLocation =
  | { kind: 'inline' }
  /** `batchesInSegment` lets the retention sweep delete the object once all its batches are gone. */
  | { kind: 'segment'; key: string; position: number; batchesInSegment: number };

export interface PreparedBatch {
  readonly partition: number;
  /** RecordBatch v2 bytes encoded with base offset 0: the base offset is not covered by the CRC, readers patch it. */
  readonly bytes: Buffer;
  readonly recordCount: number;
  readonly firstTimestamp: number;
  readonly maxTimestamp: number;
  readonly location: BatchLocation;
}

export interface IdempotencyRecord {
  readonly key: string;
  readonly requestHash: string;
  /** Epoch seconds, the TTL attribute. */
  readonly expiresAt: number;
  /** The response to store, computed from the offsets this attempt would get. */
  readonly response: (baseOffsets: ReadonlyMap<number, number>) => Buffer;
}

export type AppendOutcome =
  | { readonly kind: 'appended'; readonly baseOffsets: ReadonlyMap<number, number> }
  /**
   * The topic changed since the batches were planned: plan again against a fresh read.
   * `deleted`: a partition is marked deleted (the topic was deleted, perhaps recreated, or its
   * deletion is under way); such a partition never takes an append again.
   */
  | { readonly kind: 'topic-changed'; readonly reason?: 'deleted' | 'config' }
  /** Another request with the same Idempotency-Key committed first. */
  | { readonly kind: 'duplicate' };

/**
 * Heads this process last saw, by partition key. In Lambda an instance that keeps appending to a
 * partition usually holds the right head, so its append is a single round trip; a stale entry
 * only costs one failed condition, which returns the true head.
 */
const knownHeads = new BoundedCache<string, PartitionHead>({ maxEntries: 10_000 });

function remember(key: string, head: PartitionHead): void {
  knownHeads.set(key, head);
}

export interface AppendOptions {
  /** Give up (429) after this long of lost races. */
  readonly deadlineMs?: number;
  readonly random?: () => number;
}

/** Full-jitter backoff between lost races: spreads the losers so the next round has fewer contenders. */
export const appendConflictBackoff: Backoff = { initialRetryTimeMs: 2, maxRetryTimeMs: 100, multiplier: 2 };

export function conflictBackoffMs(attempt: number, random: () => number = Math.random): number {
  return fullJitterDelay(attempt, appendConflictBackoff, random);
}

export async function appendBatches(
  topic: TopicMetadata,
  batches: readonly PreparedBatch[],
  idempotency: IdempotencyRecord | undefined,
  options: AppendOptions = {},
): Promise<AppendOutcome> {
  const deadline = Date.now() + (options.deadlineMs ?? 10_000);
  const heads = new Map<number, PartitionHead>();
  const unknown = batches.filter((b) => !knownHeads.has(partitionKeyOf(topic.topicId, b.partition)));
  if (unknown.length > 0) {
    const read = await readHeads(
      topic.topicId,
      unknown.map((b) => b.partition),
    );
    for (const [partition, head] of read) heads.set(partition, head);
  }
  for (const batch of batches) {
    if (!heads.has(batch.partition)) heads.set(batch.partition, knownHeads.get(partitionKeyOf(topic.topicId, batch.partition))!);
  }

  for (let attempt = 0; ; attempt++) {
    const baseOffsets = new Map(batches.map((b) => [b.partition, heads.get(b.partition)!.highWatermark]));
    const transactItems = appendTransactItems(
      appendTables(),
      topic.topicId,
      batches,
      heads,
      baseOffsets,
      idempotency,
      configVersionOf(topic),
    );
    try {
      await dynamo().send(new TransactWriteCommand({ TransactItems: transactItems }));
      for (const batch of batches) {
        const head = heads.get(batch.partition)!;
        remember(partitionKeyOf(topic.topicId, batch.partition), advance(head, batch));
      }
      appendMetrics.appended(attempt);
      return { kind: 'appended', baseOffsets };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      // Throttled: another round now would be throttled too; the client retries later (429).
      if (cancelledByThrottling(error.CancellationReasons)) {
        throw throttled(
          `Appending to topic '${topic.name}' is throttled (DynamoDB's throughput limits); retry after a short wait with the same Idempotency-Key.`,
          { topic: topic.name },
          { cause: error },
        );
      }
      const verdict = readCancellation(error.CancellationReasons ?? [], batches, heads, idempotency !== undefined, configVersionOf(topic));
      if (verdict === 'topic-changed' || verdict === 'config-changed' || verdict === 'duplicate') {
        for (const batch of batches) knownHeads.delete(partitionKeyOf(topic.topicId, batch.partition));
        if (verdict === 'duplicate') return { kind: verdict };
        return { kind: 'topic-changed', reason: verdict === 'config-changed' ? 'config' : 'deleted' };
      }
      appendMetrics.conflict();
      if (Date.now() >= deadline) {
        throw throttled(
          `Too many concurrent appends to topic '${topic.name}': gave up after ${attempt + 1} attempts. Retry with the same Idempotency-Key, or batch more records per request.`,
          { topic: topic.name },
        );
      }
      if (verdict === 'transaction-conflict') {
        // Another transaction held an item; the heads may not have moved, so re-read them.
        await sleep(conflictBackoffMs(attempt, options.random));
        const fresh = await readHeads(
          topic.topicId,
          batches.map((b) => b.partition),
        );
        for (const [partition, head] of fresh) heads.set(partition, head);
      } else {
        await sleep(conflictBackoffMs(attempt, options.random));
      }
    }
  }
}

function advance(head: PartitionHead, batch: PreparedBatch): PartitionHead {
  return {
    highWatermark: head.highWatermark + batch.recordCount,
    logStartOffset: head.logStartOffset,
    maxTimestamp: Math.max(head.maxTimestamp, batch.maxTimestamp),
    sizeBytes: head.sizeBytes + batch.bytes.length,
  };
}

type Verdict = 'head-moved' | 'transaction-conflict' | 'topic-changed' | 'config-changed' | 'duplicate';

/** The config version an append presents: the topic's, 0 for a topic never altered. */
const configVersionOf = (topic: TopicMetadata) => topic.configVersion ?? 0;

/**
 * Reads why DynamoDB cancelled the transaction. Reasons come in TransactItems order:
 * [(partition update, batch put) per batch, idempotency put?].
 */
function readCancellation(
  reasons: CancellationReason[],
  batches: readonly PreparedBatch[],
  heads: Map<number, PartitionHead>,
  hasIdempotency: boolean,
  configVersion: number,
): Verdict {
  if (hasIdempotency && reasons[batches.length * 2]?.Code === 'ConditionalCheckFailed') return 'duplicate';
  let moved = false;
  let deleted = false;
  let configChanged = false;
  batches.forEach((batch, i) => {
    const reason = reasons[i * 2];
    if (reason?.Code === 'ConditionalCheckFailed') {
      const item = reason.Item ? unmarshall(reason.Item) : undefined;
      if (item?.deletedAt !== undefined) deleted = true;
      if (Number(item?.configVersion ?? 0) > configVersion) configChanged = true;
      moved = true;
      heads.set(batch.partition, headFromItem(item));
    }
  });
  if (deleted) return 'topic-changed';
  if (configChanged) return 'config-changed';
  if (moved) return 'head-moved';
  if (reasons.some((r) => r.Code === 'TransactionConflict' || r.Code === 'ConditionalCheckFailed')) {
    return 'transaction-conflict';
  }
  const codes = reasons.map((r) => r.Code).join(',');
  throw new Error(`append transaction cancelled for an unexpected reason: ${codes}`);
}

export interface AppendTables {
  readonly partitions: string;
  readonly batches: string;
  readonly idempotency: string;
}

const appendTables = (): AppendTables => ({
  partitions: tableName('partitions'),
  batches: tableName('batches'),
  idempotency: tableName('idempotency'),
});

export type AppendTransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

/**
 * The items of one append transaction. Exported so the benchmark's DynamoDB floor measures
 * exactly this shape.
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
  if (idempotency) {
    items.push({
      Put: {
        TableName: tables.idempotency,
        Item: {
          key: idempotency.key,
          requestHash: idempotency.requestHash,
          response: idempotency.response(baseOffsets),
          expiresAt: idempotency.expiresAt,
        },
        // An expired item DynamoDB's TTL has not removed yet no longer counts.
        ConditionExpression: 'attribute_not_exists(#key) OR expiresAt < :now',
        ExpressionAttributeNames: { '#key': 'key' },
        ExpressionAttributeValues: { ':now': Math.floor(Date.now() / 1000) },
      },
    });
  }
  return items;
}
