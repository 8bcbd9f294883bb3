/**
 * The retention sweep: removes what topics no longer keep, in the background. Passes may overlap
 * (a slow pass and the next scheduled one) and may die at any step; every step is safe to repeat.
 *
 * - Live topics: the oldest batches of each partition past `retention.ms` (by their largest
 *   record timestamp, as Kafka judges segments) or beyond `retention.bytes`. The log start
 *   offset moves first, conditioned on its old value, then the batch items go; so a reader
 *   either still sees a batch or sees an offset range that starts after it, never a hole. Batch
 *   items left below the log start offset by a pass that died are removed by the next one.
 * - Segment objects: a batch item knows how many batches its object holds. Removing a batch
 *   first adds it to the object's release set (a DynamoDB string set: adding a member twice is a
 *   no-op, so a repeated or overlapping release counts once), deletes the object once every
 *   batch is in the set, and only then deletes the batch item, conditioned on it still pointing
 *   where it was read (compaction may have moved its bytes).
 * - Orphaned segment objects (written, but their append never committed): each pass checks the
 *   objects written since its cursor and older than `orphanGraceMs` against the batch index's
 *   `bySegment` index, and deletes those no batch points at.
 * - Deleted topics: every batch and segment object under the tombstone's topic id, each pass
 *   until `orphanGraceMs` after the deletion (a writer that still held the topic may add an
 *   object late), then the tombstone. The partition items stay, marked deleted, so cached
 *   producers stay fenced out.
 */
import { DeleteObjectCommand, DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { bucketName, dynamo, s3Client, tableName } from '../runtime/aws';
import { batchWriteAll } from '../runtime/batches';
import { segmentBucket, tables } from '../storage/tables';
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
  /** Segment objects no batch ever pointed at (an append that never committed). */
  orphansDeleted: number;
}

/**
 * How old an unreferenced segment object must be before it counts as an orphan: far beyond the
 * longest an append can take between writing its object and committing (its 10 s deadline,
 * within a Lambda invocation of at most 15 minutes).
 */
export const orphanGraceMs = 60 * 60 * 1000;

const segmentIndex = tables.chunks.globalIndexes[0].indexName;

/** Bookkeeping items of the sweep in the batches table, under keys no partition can have. */
const segmentRefsKey = (segmentKey: string) => ({ partitionKey: `segment-refs#${segmentKey}`, lastOffset: 0 });
const orphanCursorKey = (topicId: string) => ({ partitionKey: `orphan-cursor#${topicId}`, lastOffset: 0 });

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

/**
 * Records that one batch of a segment object no longer needs it; deletes the object once every
 * batch it holds was released. Idempotent per batch (`member` names it), so repeated and
 * overlapping releases count once. True when this call deleted the object.
 */
export async function releaseSegmentBatch(key: string, batchesInSegment: number, member: string): Promise<boolean> {
  const { Attributes } = await dynamo().send(
    new UpdateCommand({
      TableName: tableName('batches'),
      Key: segmentRefsKey(key),
      UpdateExpression: 'ADD released :member',
      ExpressionAttributeValues: { ':member': new Set([member]) },
      ReturnValues: 'ALL_NEW',
    }),
  );
  const released = Attributes?.released as Set<string> | undefined;
  if ((released?.size ?? 0) < batchesInSegment) return false;
  await s3Client().send(new DeleteObjectCommand({ Bucket: bucketName(), Key: key }));
  await dynamo().send(new DeleteCommand({ TableName: tableName('batches'), Key: segmentRefsKey(key) }));
  return true;
}

const batchMember = (topicId: string, partition: number, lastOffset: number) => `${partitionKeyOf(topicId, partition)}@${lastOffset}`;

/**
 * Removes one batch: releases its segment (if any), then deletes its item, conditioned on the
 * item still pointing at that segment; if compaction moved its bytes meanwhile, the item is read
 * again and released where it points now. Safe to repeat after a crash at any step.
 */
async function removeBatch(topicId: string, partition: number, read: SweptBatch, report: SweepReport): Promise<void> {
  const key = { partitionKey: partitionKeyOf(topicId, partition), lastOffset: read.lastOffset };
  let batch: SweptBatch | undefined = read;
  for (let attempt = 0; batch && attempt < 5; attempt++) {
    if (batch.segmentKey) {
      if (await releaseSegmentBatch(batch.segmentKey, batch.segmentBatches ?? 1, batchMember(topicId, partition, batch.lastOffset))) {
        report.segmentsDeleted++;
      }
    }
    try {
      await dynamo().send(
        new DeleteCommand({
          TableName: tableName('batches'),
          Key: key,
          ConditionExpression: batch.segmentKey
            ? 'attribute_not_exists(partitionKey) OR segmentKey = :segment'
            : 'attribute_not_exists(partitionKey) OR attribute_not_exists(segmentKey)',
          ...(batch.segmentKey ? { ExpressionAttributeValues: { ':segment': batch.segmentKey } } : {}),
        }),
      );
      return;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const { Item } = await dynamo().send(new GetCommand({ TableName: tableName('batches'), Key: key, ConsistentRead: true }));
      batch = Item as SweptBatch | undefined;
    }
  }
}

async function removeBatches(topicId: string, partition: number, batches: readonly SweptBatch[], report: SweepReport): Promise<void> {
  for (let i = 0; i < batches.length; i += 25) {
    await Promise.all(batches.slice(i, i + 25).map((b) => removeBatch(topicId, partition, b, report)));
  }
}

async function deleteBatchItems(topicId: string, partition: number, batches: readonly SweptBatch[]): Promise<void> {
  await batchWriteAll(
    tableName('batches'),
    batches.map((b) => ({ DeleteRequest: { Key: { partitionKey: partitionKeyOf(topicId, partition), lastOffset: b.lastOffset } } })),
  );
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
    // From offset 0: batch items below the log start offset are what a pass that died after
    // moving the start left behind; they go first (their bytes were already subtracted).
    const read = await oldestBatches(topic.topicId, partition, 0, 100);
    const leftovers = read.filter((b) => b.lastOffset < logStartOffset);
    if (leftovers.length > 0) {
      await removeBatches(topic.topicId, partition, leftovers, report);
      report.batchesDeleted += leftovers.length;
      if (leftovers.length === read.length) continue;
    }
    const candidates = read.filter((b) => b.lastOffset >= logStartOffset);
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
    await removeBatches(topic.topicId, partition, doomed, report);
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
        async (key, batches, lastOffset) => {
          const deleted = await releaseSegmentBatch(key, batches, batchMember(topic.topicId, partition, lastOffset));
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
      await batchWriteAll(
        tableName('batches'),
        keys.map((k) => ({ DeleteRequest: { Key: segmentRefsKey(k.Key) } })),
      );
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
export async function purgeDeletedTopic(tombstone: TopicTombstone, report: SweepReport, now: number = Date.now()): Promise<void> {
  for (let partition = 0; partition < tombstone.partitions; partition++) {
    await deleteAllBatches(tombstone.topicId, partition);
  }
  report.segmentsDeleted += await deleteSegmentObjects(tombstone.topicId);
  // A producer or a compaction pass that still held the topic may write an object under its id
  // after this listing; the tombstone (and this purge, every pass) stays until none can.
  if (now - tombstone.deletedAt >= orphanGraceMs) await removeTombstone(tombstone.topicId);
  report.deletedTopicsPurged++;
}

export function emptySweepReport(): SweepReport {
  return {
    topicsSwept: 0,
    batchesDeleted: 0,
    segmentsDeleted: 0,
    deletedTopicsPurged: 0,
    batchesCompacted: 0,
    recordsCompactedAway: 0,
    orphansDeleted: 0,
  };
}

export async function sweepRetention(now: number = Date.now()): Promise<SweepReport> {
  const report = emptySweepReport();
  const tombstones = await listTombstones();
  for (const tombstone of tombstones) await purgeDeletedTopic(tombstone, report, now);
  for (const { name } of await listTopics()) {
    const topic = await getTopic(name);
    if (!topic) continue;
    await sweepTopic(topic, now, report);
    await sweepOrphans(topic.topicId, now, report);
  }
  return report;
}

/** The creation time segmentKey() put in an object's key: `segments/<topicId>/<date>/<ms>-<uuid>`. */
function segmentCreatedAt(key: string): number {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return Number(name.slice(0, name.indexOf('-')));
}

async function isReferenced(segmentKey: string): Promise<boolean> {
  const { Items } = await dynamo().send(
    new QueryCommand({
      TableName: tableName('batches'),
      IndexName: segmentIndex,
      KeyConditionExpression: 'segmentKey = :key',
      ExpressionAttributeValues: { ':key': segmentKey },
      Limit: 1,
    }),
  );
  return (Items?.length ?? 0) > 0;
}

async function deleteOrphan(key: string, report: SweepReport): Promise<void> {
  await s3Client().send(new DeleteObjectCommand({ Bucket: bucketName(), Key: key }));
  await dynamo().send(new DeleteCommand({ TableName: tableName('batches'), Key: segmentRefsKey(key) }));
  report.orphansDeleted++;
}

/**
 * Checks each segment object of a live topic once, after `orphanGraceMs`: an object no batch
 * points at then never will (its append gave up long ago) and is deleted. Objects are listed
 * from a cursor (keys sort by creation time), so a pass reads only what was written since the
 * last; objects whose batches are removed later are deleted by their release, not here.
 */
async function sweepOrphans(topicId: string, now: number, report: SweepReport): Promise<void> {
  const { Item } = await dynamo().send(
    new GetCommand({ TableName: tableName('batches'), Key: orphanCursorKey(topicId), ConsistentRead: true }),
  );
  const checkedUpTo = Number(Item?.checkedUpTo ?? 0);
  const until = now - orphanGraceMs;
  if (until <= checkedUpTo) return;
  const prefix = `${segmentBucket.segmentPrefix}${topicId}/`;
  const startAfter = checkedUpTo > 0 ? `${prefix}${new Date(checkedUpTo).toISOString().slice(0, 10)}/${checkedUpTo}-~` : undefined;
  let token: string | undefined;
  listing: do {
    const page = await s3Client().send(
      new ListObjectsV2Command({
        Bucket: bucketName(),
        Prefix: prefix,
        ContinuationToken: token,
        ...(token ? {} : { StartAfter: startAfter }),
      }),
    );
    for (const object of page.Contents ?? []) {
      const createdAt = segmentCreatedAt(object.Key!);
      if (!(createdAt <= until)) break listing;
      if (createdAt <= checkedUpTo) continue;
      if (!(await isReferenced(object.Key!))) await deleteOrphan(object.Key!, report);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  await dynamo()
    .send(
      new PutCommand({
        TableName: tableName('batches'),
        Item: { ...orphanCursorKey(topicId), checkedUpTo: until },
        // Overlapping passes: the cursor only moves forward.
        ConditionExpression: 'attribute_not_exists(checkedUpTo) OR checkedUpTo < :until',
        ExpressionAttributeValues: { ':until': until },
      }),
    )
    .catch((error) => {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    });
}
