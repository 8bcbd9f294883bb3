/**
 * The retention sweep: removes what topics no longer keep, in the background.
 *
 * - Live topics: the oldest batches of each partition past `retention.ms` (by their largest
 *   record timestamp, as Kafka judges segments) or beyond `retention.bytes`. The log start
 *   offset moves first, conditioned on its old value, then the batch items go; so a reader
 *   either still sees a batch or sees an offset range that starts after it, never a hole.
 * - Segment objects: a batch item knows how many batches its object holds; each deleted batch
 *   increments the object's counter and the last one deletes the object.
 * - Deleted topics: every batch, partition item and segment object under the tombstone's topic
 *   id, then the tombstone.
 */
import { DeleteObjectCommand, DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { BatchWriteCommand, DeleteCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { bucketName, dynamo, s3Client, tableName } from '../runtime/aws';
import { segmentBucket } from '../storage/tables';
import { effectiveTopicConfig } from '../topics/model';
import {
  listTombstones,
  listTopics,
  partitionKeyOf,
  removeTombstone,
  getTopic,
  type TopicMetadata,
  type TopicTombstone,
} from '../topics/store';
import { compactPartition } from './compaction';
import { readHeads, updateLivePartition, type PartitionHead } from './partition-heads';

interface SweptBatch {
  readonly lastOffset: number;
  readonly baseOffset: number;
  readonly maxTimestamp: number;
  readonly sizeBytes: number;
  readonly segmentKey?: string;
  readonly segmentBatches?: number;
}

export interface SweepReport {
  topicsSwept: number;
  batchesDeleted: number;
  segmentsDeleted: number;
  deletedTopicsPurged: number;
  batchesCompacted: number;
  recordsCompactedAway: number;
}

/** Days a segment's deletion counter outlives it, in case its object was already removed. */
const segmentCounterTtlSeconds = 400 * 24 * 3600;

/**
 * Which leading batches retention removes: Kafka deletes whole segments from the start of the
 * log while either limit is breached, and stops at the first segment both limits keep.
 */
export function batchesToDelete(
  batches: readonly Pick<SweptBatch, 'maxTimestamp' | 'sizeBytes'>[],
  totalBytes: number,
  retentionMs: number,
  retentionBytes: number,
  now: number,
): number {
  let remaining = totalBytes;
  let count = 0;
  for (const batch of batches) {
    const expired = retentionMs >= 0 && batch.maxTimestamp < now - retentionMs;
    const oversize = retentionBytes >= 0 && remaining > retentionBytes;
    if (!expired && !oversize) break;
    remaining -= batch.sizeBytes;
    count++;
  }
  return count;
}

async function oldestBatches(topicId: string, partition: number, from: number, limit: number): Promise<SweptBatch[]> {
  const { Items } = await dynamo().send(
    new QueryCommand({
      TableName: tableName('batches'),
      KeyConditionExpression: 'partitionKey = :pk AND lastOffset >= :from',
      ExpressionAttributeValues: { ':pk': partitionKeyOf(topicId, partition), ':from': from },
      ProjectionExpression: 'lastOffset, baseOffset, maxTimestamp, sizeBytes, segmentKey, segmentBatches',
      ConsistentRead: true,
      Limit: limit,
    }),
  );
  return (Items ?? []) as SweptBatch[];
}

async function deleteBatchItems(topicId: string, partition: number, batches: readonly SweptBatch[]): Promise<void> {
  const table = tableName('batches');
  for (let i = 0; i < batches.length; i += 25) {
    let requests: Record<string, unknown>[] = batches.slice(i, i + 25).map((b) => ({
      DeleteRequest: { Key: { partitionKey: partitionKeyOf(topicId, partition), lastOffset: b.lastOffset } },
    }));
    for (let round = 0; requests.length > 0; round++) {
      const result = await dynamo().send(new BatchWriteCommand({ RequestItems: { [table]: requests as never } }));
      requests = (result.UnprocessedItems?.[table] as Record<string, unknown>[] | undefined) ?? [];
      if (requests.length) await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** round)));
    }
  }
}

/** Counts one more deleted batch of a segment object; deletes the object after its last batch. */
async function releaseSegment(key: string, batchesInSegment: number): Promise<boolean> {
  const counterKey = `segment-refs#${key}`;
  const { Attributes } = await dynamo().send(
    new UpdateCommand({
      TableName: tableName('idempotency'),
      Key: { key: counterKey },
      UpdateExpression: 'ADD deletedBatches :one SET expiresAt = :expiresAt',
      ExpressionAttributeValues: { ':one': 1, ':expiresAt': Math.floor(Date.now() / 1000) + segmentCounterTtlSeconds },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  if (Number(Attributes?.deletedBatches) < batchesInSegment) return false;
  await s3Client().send(new DeleteObjectCommand({ Bucket: bucketName(), Key: key }));
  await dynamo().send(new DeleteCommand({ TableName: tableName('idempotency'), Key: { key: counterKey } }));
  return true;
}

async function sweepPartition(
  topic: TopicMetadata,
  partition: number,
  head: PartitionHead,
  now: number,
  report: SweepReport,
): Promise<void> {
  const config = effectiveTopicConfig(topic.config);
  const retentionMs = config['retention.ms'];
  const retentionBytes = config['retention.bytes'];
  if (retentionMs < 0 && retentionBytes < 0) return;
  let logStartOffset = head.logStartOffset;
  let totalBytes = head.sizeBytes;
  for (;;) {
    const candidates = await oldestBatches(topic.topicId, partition, logStartOffset, 100);
    const count = batchesToDelete(candidates, totalBytes, retentionMs, retentionBytes, now);
    if (count === 0) return;
    const doomed = candidates.slice(0, count);
    const newStart = doomed[doomed.length - 1]!.lastOffset + 1;
    const freed = doomed.reduce((sum, b) => sum + b.sizeBytes, 0);
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: tableName('partitions'),
          Key: { partitionKey: partitionKeyOf(topic.topicId, partition) },
          UpdateExpression: 'SET logStartOffset = :newStart ADD sizeBytes :minusFreed',
          // Never on a partition of a deleted topic: its purge owns it.
          ConditionExpression: 'logStartOffset = :oldStart AND attribute_not_exists(deletedAt)',
          ExpressionAttributeValues: { ':newStart': newStart, ':oldStart': logStartOffset, ':minusFreed': -freed },
        }),
      );
    } catch (error) {
      // Another sweep moved the start first; it owns these batches.
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
    await deleteBatchItems(topic.topicId, partition, doomed);
    for (const batch of doomed) {
      if (batch.segmentKey && (await releaseSegment(batch.segmentKey, batch.segmentBatches ?? 1))) report.segmentsDeleted++;
    }
    report.batchesDeleted += doomed.length;
    logStartOffset = newStart;
    totalBytes -= freed;
    if (count < candidates.length) return;
  }
}

export async function sweepTopic(topic: TopicMetadata, now: number, report: SweepReport): Promise<void> {
  const policy = effectiveTopicConfig(topic.config)['cleanup.policy'].split(',');
  const partitions = Array.from({ length: topic.partitions }, (_, i) => i);
  const heads = await readHeads(topic.topicId, partitions);
  for (const partition of partitions) {
    const head = heads.get(partition)!;
    if (head.highWatermark <= head.logStartOffset) continue;
    // As in Kafka, time and size retention apply only to topics whose policy includes delete.
    if (policy.includes('delete')) await sweepPartition(topic, partition, head, now, report);
    if (policy.includes('compact')) {
      const current = (await readHeads(topic.topicId, [partition])).get(partition)!;
      // Nothing appended since the last compaction: nothing new to supersede. Still compact
      // hourly, so tombstones past their retention go even from a quiet partition.
      const quiet = current.compactedUpTo === current.highWatermark && now - (current.compactedAt ?? 0) < 3_600_000;
      if (quiet) continue;
      const compacted = await compactPartition(
        topic.topicId,
        partition,
        current.logStartOffset,
        current.highWatermark,
        now,
        async (key, batches) => {
          const deleted = await releaseSegment(key, batches);
          if (deleted) report.segmentsDeleted++;
          return deleted;
        },
      );
      report.batchesCompacted += compacted.batchesRewritten;
      report.recordsCompactedAway += compacted.recordsRemoved;
      await updateLivePartition(topic.topicId, partition, {
        UpdateExpression: 'SET compactedUpTo = :hw, compactedAt = :now',
        ExpressionAttributeValues: { ':hw': current.highWatermark, ':now': now },
      });
    }
  }
  report.topicsSwept++;
}

async function deleteAllBatches(topicId: string, partition: number): Promise<void> {
  for (;;) {
    const batches = await oldestBatches(topicId, partition, 0, 100);
    if (batches.length === 0) return;
    await deleteBatchItems(topicId, partition, batches);
  }
}

async function deleteSegmentObjects(topicId: string): Promise<number> {
  let deleted = 0;
  let token: string | undefined;
  do {
    const page = await s3Client().send(
      new ListObjectsV2Command({ Bucket: bucketName(), Prefix: `${segmentBucket.segmentPrefix}${topicId}/`, ContinuationToken: token }),
    );
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length) {
      await s3Client().send(new DeleteObjectsCommand({ Bucket: bucketName(), Delete: { Objects: keys, Quiet: true } }));
      deleted += keys.length;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return deleted;
}

/**
 * Removes everything a deleted topic left behind, then its tombstone. The partition items stay,
 * marked `deletedAt` (a few dozen bytes each): a producer that still holds the deleted topic's
 * metadata conditions its append on that mark, and a missing item would read as an empty,
 * writable partition.
 */
export async function purgeDeletedTopic(tombstone: TopicTombstone, report: SweepReport): Promise<void> {
  for (let partition = 0; partition < tombstone.partitions; partition++) {
    await deleteAllBatches(tombstone.topicId, partition);
  }
  report.segmentsDeleted += await deleteSegmentObjects(tombstone.topicId);
  await removeTombstone(tombstone.topicId);
  report.deletedTopicsPurged++;
}

export async function sweepRetention(now: number = Date.now()): Promise<SweepReport> {
  const report: SweepReport = {
    topicsSwept: 0,
    batchesDeleted: 0,
    segmentsDeleted: 0,
    deletedTopicsPurged: 0,
    batchesCompacted: 0,
    recordsCompactedAway: 0,
  };
  for (const tombstone of await listTombstones()) await purgeDeletedTopic(tombstone, report);
  for (const { name } of await listTopics()) {
    const topic = await getTopic(name);
    if (topic) await sweepTopic(topic, now, report);
  }
  return report;
}
