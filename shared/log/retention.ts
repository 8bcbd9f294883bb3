/**
 * The retention sweep: removes what topics no longer keep, in the background, on the chunk chain
 * (layout v2, docs/storage.md "Retention and segment objects"). Passes may overlap (a slow pass
 * and the next scheduled one) and may die at any step; every step is safe to repeat.
 *
 * - Live topics: the oldest batches of each partition past `retention.ms` (by their largest
 *   record timestamp, as Kafka judges segments) or beyond `retention.bytes`, walking the batches
 *   of the chunks from the log start. The log start offset moves first, to a batch boundary,
 *   conditioned on its old value (the freed bytes go to the partition item's `sizeDelta`); so a
 *   reader either still sees a batch or sees an offset range that starts after it, never a hole.
 *   Then every chunk that lies entirely below the new log start becomes a stub, except the last
 *   chunk of the partition (a writer needs the head). A chunk partly below the start stays whole.
 * - Stubs, not deletes: a removed chunk is overwritten with its key (`stub`, `expiresAt`:
 *   DynamoDB TTL deletes it a day later, or when the keys' retention ends if that is longer), so
 *   a writer whose view of the head is stale collides with it instead of appending below the log
 *   start, and with where its batches landed by write id, so a write whose answer was lost
 *   meanwhile still finds itself (`stubItem`). The partition item's `stubbedBelow` says below
 *   which key every chunk is a stub already, so a pass reads the chain from there; chunks a pass
 *   that died left below the log start are stubbed by the next.
 * - Segment objects: a batch in S3 knows how many batches its object holds. Removing its chunk
 *   first adds the batch to the object's release set (a DynamoDB string set: adding a member
 *   twice is a no-op, so a repeated or overlapping release counts once), deletes the object once
 *   every batch is in the set, and only then stubs the chunk, conditioned on it still pointing
 *   where it was read (compaction may have moved its bytes: then it is read again and released
 *   where it points now).
 * - Orphaned segment objects (written, but their append never committed): each pass checks the
 *   objects written since its cursor and older than `orphanGraceMs` against the chunks table's
 *   `bySegment` index, and deletes those no chunk points at.
 * - Deleted topics: every chunk but the last (the deletion fence) becomes a stub, and every
 *   segment object under the tombstone's topic id goes, each pass until `orphanGraceMs` after
 *   the deletion (a writer that still held the topic may add an object late), then the
 *   tombstone. The partition items and the fences stay, so cached producers stay fenced out.
 */
import { DeleteObjectCommand, DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { loadServiceConfig } from '../config';
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
import { type ChunkItem, batchesOfChunk, chunkEnd, isStub } from './chunks';
import { chunkAtOrBefore, chunksAfter, getChunk, readLastChunk } from './chunk-store';
import { compactPartition } from './compaction';
import { headFrom, readHeads, updateLivePartition } from './partition-heads';
import { breaches, chunksToStub, growingPageSize, stubbedBelowAfter, stubItem, stubTtlSeconds } from './sweep-plan';

/** The stubs' lifetime under this deployment's Idempotency-Key retention (sweep-plan.ts). */
const stubTtl = () => stubTtlSeconds(loadServiceConfig().idempotencyTtlHours);

export { batchesToDelete } from './sweep-plan';

export interface SweepReport {
  topicsSwept: number;
  /** Batches whose chunks retention (or a purge) turned into stubs. */
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

/** Batches one move of the log start removes at most (then the next round moves it again). */
const maxBatchesPerMove = 1000;

const segmentIndex = tables.chunks.globalIndexes[0].indexName;

/** Bookkeeping items of the sweep in the chunks table, under keys no partition can have. */
const segmentRefsKey = (segmentKey: string) => ({ partitionKey: `segment-refs#${segmentKey}`, baseOffset: 0 });
const orphanCursorKey = (topicId: string) => ({ partitionKey: `orphan-cursor#${topicId}`, baseOffset: 0 });

/**
 * The chain from `first` on (the whole chain without it), in key order, stubs included. After
 * `first` the pages grow from one chunk: a pass that keeps the first batch it looks at reads no
 * further (every chunk read is billed for all its bytes).
 */
async function* chainFrom(partitionKey: string, first: ChunkItem | undefined): AsyncGenerator<ChunkItem> {
  if (first) yield first;
  yield* chunksAfter(partitionKey, first ? Number(first.baseOffset) : -1, growingPageSize(1));
}

/**
 * Records that one batch of a segment object no longer needs it; deletes the object once every
 * batch it holds was released. Idempotent per batch (`member` names it), so repeated and
 * overlapping releases count once. True when this call deleted the object.
 */
export async function releaseSegmentBatch(key: string, batchesInSegment: number, member: string): Promise<boolean> {
  const { Attributes } = await dynamo().send(
    new UpdateCommand({
      TableName: tableName('chunks'),
      Key: segmentRefsKey(key),
      UpdateExpression: 'ADD released :member',
      ExpressionAttributeValues: { ':member': new Set([member]) },
      ReturnValues: 'ALL_NEW',
    }),
  );
  const released = Attributes?.released as Set<string> | undefined;
  if ((released?.size ?? 0) < batchesInSegment) return false;
  await s3Client().send(new DeleteObjectCommand({ Bucket: bucketName(), Key: key }));
  await dynamo().send(new DeleteCommand({ TableName: tableName('chunks'), Key: segmentRefsKey(key) }));
  return true;
}

/** A batch's member in its segment object's release set. */
export const batchMember = (partitionKey: string, lastOffset: number) => `${partitionKey}@${lastOffset}`;

/**
 * Removes one chunk: releases each of its batches stored in S3, then overwrites it with a stub,
 * conditioned on it not being one already and still pointing at the object it was read with; if
 * compaction moved its bytes meanwhile, it is read again and released where it points now. Safe
 * to repeat after a crash at any step. True once the chunk is a stub (or gone).
 */
async function removeChunk(read: ChunkItem, now: number, report: SweepReport): Promise<boolean> {
  let chunk: ChunkItem | undefined = read;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (!chunk || isStub(chunk)) return true;
    for (const batch of batchesOfChunk(chunk)) {
      if (batch.segmentKey === undefined) continue;
      if (await releaseSegmentBatch(batch.segmentKey, batch.segmentBatches ?? 1, batchMember(chunk.partitionKey, batch.lastOffset))) {
        report.segmentsDeleted++;
      }
    }
    try {
      await dynamo().send(
        new PutCommand({
          TableName: tableName('chunks'),
          Item: stubItem(chunk, now, stubTtl()),
          ConditionExpression: `attribute_exists(partitionKey) AND attribute_not_exists(stub) AND ${
            chunk.segmentKey !== undefined ? 'segmentKey = :segment' : 'attribute_not_exists(segmentKey)'
          }`,
          ...(chunk.segmentKey !== undefined ? { ExpressionAttributeValues: { ':segment': chunk.segmentKey } } : {}),
        }),
      );
      report.batchesDeleted += chunk.batches?.length ?? 0;
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      chunk = await getChunk(read.partitionKey, Number(read.baseOffset));
    }
  }
  return false;
}

/** Removes chunks 25 at a time; true when every one of them is a stub now. */
async function removeChunks(chunks: readonly ChunkItem[], now: number, report: SweepReport): Promise<boolean> {
  let all = true;
  for (let i = 0; i < chunks.length; i += 25) {
    const done = await Promise.all(chunks.slice(i, i + 25).map((chunk) => removeChunk(chunk, now, report)));
    all &&= done.every(Boolean);
  }
  return all;
}

/**
 * Moves the log start from `oldStart` to `newStart` and takes the freed bytes off the
 * partition's size. False if another pass moved it first (that pass owns these batches) or the
 * topic was deleted (its purge owns the partition).
 */
const moveLogStart = (topicId: string, partition: number, oldStart: number, newStart: number, freed: number) =>
  updateLivePartition(topicId, partition, {
    UpdateExpression: 'SET logStartOffset = :newStart ADD sizeDelta :minusFreed',
    // The item may not exist yet: appends never write it, and a log start of 0 is its absence.
    condition: oldStart === 0 ? 'attribute_not_exists(logStartOffset) OR logStartOffset = :oldStart' : 'logStartOffset = :oldStart',
    ExpressionAttributeValues: { ':newStart': newStart, ':oldStart': oldStart, ':minusFreed': -freed },
  });

/** Moves the partition's `stubbedBelow` mark forward (never back: passes overlap). */
const markStubbedBelow = (topicId: string, partition: number, below: number) =>
  updateLivePartition(topicId, partition, {
    UpdateExpression: 'SET stubbedBelow = :below',
    condition: 'attribute_not_exists(stubbedBelow) OR stubbedBelow < :below',
    ExpressionAttributeValues: { ':below': below },
  });

async function sweepPartition(topic: TopicMetadata, partition: number, now: number, report: SweepReport): Promise<void> {
  const config = effectiveTopicConfig(topic.config);
  const retentionMs = config['retention.ms'];
  const retentionBytes = config['retention.bytes'];
  if (retentionMs < 0 && retentionBytes < 0) return;
  const partitionKey = partitionKeyOf(topic.topicId, partition);
  for (;;) {
    const [{ Item: partitionItem }, last] = await Promise.all([
      dynamo().send(new GetCommand({ TableName: tableName('partitions'), Key: { partitionKey }, ConsistentRead: true })),
      readLastChunk(partitionKey),
    ]);
    if (!last || partitionItem?.deletedAt !== undefined) return;
    const head = headFrom(partitionItem, last);
    const logStart = head.logStartOffset;
    const stubbedBelow = Math.min(Number(partitionItem?.stubbedBelow ?? 0), logStart);
    // From the chunk holding `stubbedBelow`: chunks between it and the log start are stubs, or
    // what a pass that died after moving the start left behind (their bytes were already freed).
    const first = await chunkAtOrBefore(partitionKey, stubbedBelow);
    const read: ChunkItem[] = [];
    let remaining = head.sizeBytes;
    let newStart = logStart;
    let freed = 0;
    let doomed = 0;
    walk: for await (const chunk of chainFrom(partitionKey, first)) {
      read.push(chunk);
      for (const batch of batchesOfChunk(chunk)) {
        if (batch.lastOffset < newStart) continue;
        if (doomed >= maxBatchesPerMove || !breaches(batch, remaining, retentionMs, retentionBytes, now)) break walk;
        remaining -= batch.sizeBytes;
        freed += batch.sizeBytes;
        newStart = batch.lastOffset + 1;
        doomed++;
      }
    }
    if (newStart > logStart && !(await moveLogStart(topic.topicId, partition, logStart, newStart, freed))) return;
    const ranges = read.map((item) => ({ item, baseOffset: Number(item.baseOffset), end: chunkEnd(item), stub: isStub(item) }));
    const lastKey = Number(last.baseOffset);
    const removed = await removeChunks(
      chunksToStub(ranges, lastKey, newStart).map((r) => r.item),
      now,
      report,
    );
    const below = stubbedBelowAfter(ranges, lastKey, newStart);
    if (removed && below > stubbedBelow) await markStubbedBelow(topic.topicId, partition, below);
    if (doomed < maxBatchesPerMove) return;
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
    if (policy.includes('delete')) await sweepPartition(topic, partition, now, report);
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
          const deleted = await releaseSegmentBatch(key, batches, batchMember(partitionKeyOf(topic.topicId, partition), lastOffset));
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

/**
 * Turns every chunk of a deleted topic's partition into a stub but the last (the deletion fence
 * its delete put, or the head it stopped at): a producer that still holds the topic collides
 * with the chunks' keys, or with the fence. Unconditional (a batch write): nothing but
 * compaction rewrites a chunk that is not the last, and it conditions on there being no stub.
 */
async function stubAllButLast(partitionKey: string, now: number, report: SweepReport): Promise<void> {
  const chunks: ChunkItem[] = [];
  for await (const chunk of chainFrom(partitionKey, undefined)) chunks.push(chunk);
  const last = chunks.at(-1);
  if (!last) return;
  const doomed = chunks.filter((chunk) => !isStub(chunk) && Number(chunk.baseOffset) < Number(last.baseOffset));
  const ttlSeconds = stubTtl();
  await batchWriteAll(
    tableName('chunks'),
    doomed.map((chunk) => ({ PutRequest: { Item: { ...stubItem(chunk, now, ttlSeconds) } } })),
  );
  report.batchesDeleted += doomed.reduce((sum, chunk) => sum + (chunk.batches?.length ?? 0), 0);
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
        tableName('chunks'),
        keys.map((k) => ({ DeleteRequest: { Key: segmentRefsKey(k.Key) } })),
      );
      deleted += keys.length;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return deleted;
}

/**
 * Removes everything a deleted topic left behind, then its tombstone: its chunks become stubs
 * (but the last, its deletion fence) and its segment objects go with their release sets. The
 * partition items stay, marked `deletedAt` (a few dozen bytes each), and so do the fences: a
 * producer that still holds the deleted topic's metadata collides with them, and a missing
 * chunk chain would read as an empty, writable partition.
 */
export async function purgeDeletedTopic(tombstone: TopicTombstone, report: SweepReport, now: number = Date.now()): Promise<void> {
  for (let partition = 0; partition < tombstone.partitions; partition++) {
    await stubAllButLast(partitionKeyOf(tombstone.topicId, partition), now, report);
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
      TableName: tableName('chunks'),
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
  await dynamo().send(new DeleteCommand({ TableName: tableName('chunks'), Key: segmentRefsKey(key) }));
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
    new GetCommand({ TableName: tableName('chunks'), Key: orphanCursorKey(topicId), ConsistentRead: true }),
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
        TableName: tableName('chunks'),
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
