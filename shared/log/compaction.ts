/**
 * Log compaction for `cleanup.policy=compact`, run by the retention sweep: of the records that
 * share a key, only the latest stays; a tombstone (null value) stays for `deleteRetentionMs`
 * after its batch, then goes too. As in Kafka the newest batch (the "active segment") is never
 * cleaned, offsets never change (compaction leaves gaps, which readers step over), and records
 * without a key are kept. A tombstone's retention counts from when compaction first saw it.
 *
 * A batch is rewritten in place: the same index item (same offsets) gets new bytes, inline or in
 * a new segment object, under a condition on the bytes it replaces, so a concurrent sweep or
 * retention cannot be overwritten. Readers that raced the rewrite re-read the item (read.ts).
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { loadServiceConfig } from '../config';
import { encodeRecordBatch } from '../records';
import type { BatchRecord, RecordInput } from '../records/types';
import { dynamo, tableName } from '../runtime/aws';
import { batchesFrom, decodeBatch, type BatchIndexItem } from './read';
import { updateLivePartition } from './partition-heads';
import { writeSegment } from './segments';

/** Kafka's default delete.retention.ms: how long a tombstone outlives what it deleted. */
export const deleteRetentionMs = 24 * 60 * 60 * 1000;

const keyOf = (record: BatchRecord): string | undefined =>
  record.key === null ? undefined : Buffer.from(record.key.buffer, record.key.byteOffset, record.key.byteLength).toString('base64');

/**
 * Which records of a batch survive: those that are the latest for their key (or have none),
 * minus tombstones the cleaner first saw (in this batch) more than the tombstone retention ago,
 * as Kafka counts delete.retention.ms (KIP-534's delete horizon), not from the producer's
 * timestamp. Pure.
 */
export function survivors(
  records: readonly BatchRecord[],
  latestOffsetByKey: ReadonlyMap<string, number>,
  tombstonesSeenAt: number,
  now: number,
): BatchRecord[] {
  return records.filter((record) => {
    const key = keyOf(record);
    if (key === undefined) return true;
    if (latestOffsetByKey.get(key) !== record.offset) return false;
    return record.value !== null || tombstonesSeenAt >= now - deleteRetentionMs;
  });
}

const isTombstone = (record: BatchRecord) => record.key !== null && record.value === null;

export interface CompactionReport {
  batchesRewritten: number;
  recordsRemoved: number;
}

export async function compactPartition(
  topicId: string,
  partition: number,
  logStartOffset: number,
  highWatermark: number,
  now: number,
  /** Releases the batch at `lastOffset` from segment `key` (idempotent per batch). */
  releaseSegment: (key: string, batchesInSegment: number, lastOffset: number) => Promise<boolean>,
): Promise<CompactionReport> {
  const report: CompactionReport = { batchesRewritten: 0, recordsRemoved: 0 };
  const items: BatchIndexItem[] = [];
  for await (const item of batchesFrom(topicId, partition, logStartOffset, 100)) {
    if (item.baseOffset >= highWatermark) break;
    items.push(item);
  }
  if (items.length < 2) return report;

  // Decoding every batch is the price of compaction; it runs in the background sweep only.
  const decoded = [];
  for (const item of items) decoded.push(await decodeBatch(item));
  const latest = new Map<string, number>();
  for (const batch of decoded) {
    for (const record of batch.records) {
      const key = keyOf(record);
      if (key !== undefined) latest.set(key, record.offset);
    }
  }

  const { inlineBatchMaxBytes } = loadServiceConfig();
  // The newest batch is the active segment: never cleaned.
  for (let i = 0; i < items.length - 1; i++) {
    const item = items[i]!;
    const batch = decoded[i]!;
    // When this cleaner first saw the batch's tombstones (recorded on the item the first time).
    const seenAt = item.tombstonesSeenAt ?? now;
    const kept = survivors(batch.records, latest, seenAt, now);
    const keepsTombstones = kept.some(isTombstone);
    if (kept.length === batch.records.length) {
      if (keepsTombstones && item.tombstonesSeenAt === undefined) await markTombstonesSeen(item, now);
      continue;
    }
    const records: RecordInput[] = kept.map((r) => ({
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: r.timestamp,
      offset: r.offset - item.baseOffset,
    }));
    const bytes = await encodeRecordBatch({
      baseOffset: 0,
      records,
      compression: batch.compression,
      timestampType: batch.timestampType,
      // The batch keeps its offset range (and so its index key) even when its last record goes.
      lastOffsetDelta: item.lastOffset - item.baseOffset,
      ...(kept.length === 0 ? { firstTimestamp: item.maxTimestamp, maxTimestamp: item.maxTimestamp } : {}),
    });
    const location =
      bytes.length <= inlineBatchMaxBytes
        ? { bytes }
        : await writeSegment(topicId, [bytes]).then((s) => ({ segmentKey: s.key, segmentPosition: 0, segmentBatches: 1 }));
    const { bytes: _oldBytes, segmentKey: oldSegment, segmentPosition: _p, segmentBatches: oldBatches, ...rest } = item;
    try {
      await dynamo().send(
        new PutCommand({
          TableName: tableName('batches'),
          Item: {
            ...rest,
            ...location,
            sizeBytes: bytes.length,
            compactedAt: now,
            ...(keepsTombstones ? { tombstonesSeenAt: seenAt } : {}),
          },
          // Replace exactly the bytes that were compacted: not a batch retention deleted meanwhile,
          // nor one another sweep already rewrote.
          ConditionExpression: 'attribute_exists(partitionKey) AND sizeBytes = :oldSize',
          ExpressionAttributeValues: { ':oldSize': item.sizeBytes },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) continue;
      throw error;
    }
    await updateLivePartition(topicId, partition, {
      UpdateExpression: 'ADD sizeBytes :delta',
      ExpressionAttributeValues: { ':delta': bytes.length - item.sizeBytes },
    });
    if (oldSegment) await releaseSegment(oldSegment, oldBatches ?? 1, item.lastOffset);
    report.batchesRewritten++;
    report.recordsRemoved += batch.records.length - kept.length;
  }
  return report;
}

/** Records when compaction first saw a batch's tombstones, from which their retention counts. */
async function markTombstonesSeen(item: BatchIndexItem, now: number): Promise<void> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: tableName('batches'),
        Key: { partitionKey: item.partitionKey, lastOffset: item.lastOffset },
        UpdateExpression: 'SET tombstonesSeenAt = :now',
        ConditionExpression: 'attribute_exists(partitionKey) AND attribute_not_exists(tombstonesSeenAt)',
        ExpressionAttributeValues: { ':now': now },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
