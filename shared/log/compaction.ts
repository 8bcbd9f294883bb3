/**
 * Log compaction for `cleanup.policy=compact`, run by the retention sweep: of the records that
 * share a key, only the latest stays; a tombstone (null value) stays for `deleteRetentionMs`
 * after its batch, then goes too. As in Kafka the newest batch (the "active segment") is never
 * cleaned, offsets never change (compaction leaves gaps, which readers step over), and records
 * without a key are kept. A tombstone's retention counts from when compaction first saw it
 * (`tombstonesSeenAt` on the batch's chunk entry).
 *
 * Compaction works on the chunk chain (layout v2): it rewrites batches of final chunks only,
 * never of the last chunk of the partition (the only one a writer may still join). A chunk is
 * rewritten whole, by a conditional Put of the chunk as read with its `batches` replaced and its
 * `rewrites` counter one higher, conditioned on the counter being what was read and on the chunk
 * not being a stub: a concurrent compaction pass or retention (which stubs the chunk) wins
 * cleanly, and this pass's rewrite of that chunk is dropped. Every other attribute is kept as it
 * was: the chunk's `sizeBytes`, `bytesBefore` and `recordCount` are the chain's as-appended
 * accounting; the bytes compaction frees go to the partition item's `sizeDelta`. A batch in S3
 * is alone in its chunk, and the chunk's top-level `segmentKey`/`segmentPosition` (the
 * `bySegment` index) follow its entry. Readers that raced the rewrite re-read the chunk (read.ts).
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { loadServiceConfig } from '../config';
import { encodeRecordBatch } from '../records';
import type { BatchRecord, RecordInput } from '../records/types';
import type { RecordBatch } from '../records/types';
import { dynamo, tableName } from '../runtime/aws';
import { partitionKeyOf } from '../topics/store';
import { type ChunkItem, batchesOfChunk, chunkEnd, entriesOfChunk, isStub } from './chunks';
import { chunkAtOrBefore, chunksAfter } from './chunk-store';
import { decodeBatch } from './read';
import { updateLivePartition } from './partition-heads';
import { writeSegment } from './segments';
import { growingPageSize, mayRewrite, rewritesAttribute, rewrittenChunk } from './sweep-plan';

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
  const partitionKey = partitionKeyOf(topicId, partition);
  // From the chunk holding the log start to the first chunk at or past the high watermark (or
  // the end): the last chunk read is the last chunk of the partition, or older than it.
  const chunks: ChunkItem[] = [];
  const first = await chunkAtOrBefore(partitionKey, logStartOffset);
  if (!first) return report;
  chunks.push(first);
  if (chunkEnd(first) < highWatermark || isStub(first)) {
    for await (const chunk of chunksAfter(partitionKey, Number(first.baseOffset), growingPageSize())) {
      chunks.push(chunk);
      if (Number(chunk.baseOffset) >= highWatermark) break;
    }
  }
  const lastChunkBaseOffset = Number(chunks.at(-1)!.baseOffset);
  const items = chunks.flatMap(batchesOfChunk).filter((item) => item.lastOffset >= logStartOffset && item.baseOffset < highWatermark);
  if (items.length < 2) return report;

  // Decoding every batch is the price of compaction; it runs in the background sweep only.
  const decoded: RecordBatch[] = [];
  for (const item of items) decoded.push(await decodeBatch(item));
  const latest = new Map<string, number>();
  for (const batch of decoded) {
    for (const record of batch.records) {
      const key = keyOf(record);
      if (key !== undefined) latest.set(key, record.offset);
    }
  }

  const { inlineBatchMaxBytes } = loadServiceConfig();
  const byChunk = new Map<number, number[]>();
  items.forEach((item, i) => {
    if (!mayRewrite(items, i, logStartOffset, lastChunkBaseOffset)) return;
    byChunk.set(item.chunkBaseOffset, [...(byChunk.get(item.chunkBaseOffset) ?? []), i]);
  });
  for (const chunk of chunks) {
    const indexes = byChunk.get(Number(chunk.baseOffset));
    if (!indexes) continue;
    const entries = entriesOfChunk(chunk);
    let changed = false;
    let delta = 0;
    let rewritten = 0;
    let removed = 0;
    const released: { key: string; batches: number; lastOffset: number }[] = [];
    for (const i of indexes) {
      const item = items[i]!;
      const batch = decoded[i]!;
      const entry = entries[item.entryIndex]!;
      // When this cleaner first saw the batch's tombstones (recorded on the entry the first time).
      const seenAt = item.tombstonesSeenAt ?? now;
      const kept = survivors(batch.records, latest, seenAt, now);
      const keepsTombstones = kept.some(isTombstone);
      if (kept.length === batch.records.length) {
        if (keepsTombstones && item.tombstonesSeenAt === undefined) {
          entries[item.entryIndex] = { ...entry, tombstonesSeenAt: now };
          changed = true;
        }
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
        // The batch keeps its offset range (and so the chunk's offsets) even when its last record goes.
        lastOffsetDelta: item.lastOffset - item.baseOffset,
        ...(kept.length === 0 ? { firstTimestamp: item.maxTimestamp, maxTimestamp: item.maxTimestamp } : {}),
      });
      // Only a batch alone in its chunk may live in S3; in a chunk of several, a rewrite (never
      // larger than the inline batch it replaces, but for compression noise) stays inline.
      const location =
        bytes.length <= inlineBatchMaxBytes || entries.length > 1
          ? { bytes }
          : await writeSegment(topicId, [bytes]).then((s) => ({ segmentKey: s.key, segmentPosition: 0, segmentBatches: 1 }));
      const {
        bytes: _bytes,
        segmentKey: oldSegment,
        segmentPosition: _position,
        segmentBatches: oldBatches,
        tombstonesSeenAt: _seen,
        ...metadata
      } = entry;
      entries[item.entryIndex] = {
        ...metadata,
        ...location,
        sizeBytes: bytes.length,
        ...(keepsTombstones ? { tombstonesSeenAt: seenAt } : {}),
      };
      changed = true;
      delta += bytes.length - Number(entry.sizeBytes);
      if (oldSegment !== undefined) released.push({ key: oldSegment, batches: Number(oldBatches ?? 1), lastOffset: item.lastOffset });
      rewritten++;
      removed += batch.records.length - kept.length;
    }
    if (!changed) continue;
    const rewrites = Number((chunk as { rewrites?: number }).rewrites ?? 0);
    try {
      await dynamo().send(
        new PutCommand({
          TableName: tableName('chunks'),
          Item: rewrittenChunk(chunk, entries),
          // Replace exactly the chunk that was compacted: not one retention stubbed meanwhile,
          // nor one another pass already rewrote.
          ConditionExpression: `attribute_exists(partitionKey) AND attribute_not_exists(stub) AND ${
            rewrites === 0 ? `attribute_not_exists(${rewritesAttribute})` : `${rewritesAttribute} = :rewrites`
          }`,
          ...(rewrites === 0 ? {} : { ExpressionAttributeValues: { ':rewrites': rewrites } }),
        }),
      );
    } catch (error) {
      // A segment object this rewrite wrote is now referenced by nothing: the orphan check removes it.
      if (error instanceof ConditionalCheckFailedException) continue;
      throw error;
    }
    if (delta !== 0) {
      await updateLivePartition(topicId, partition, {
        UpdateExpression: 'ADD sizeDelta :delta',
        ExpressionAttributeValues: { ':delta': delta },
      });
    }
    for (const segment of released) await releaseSegment(segment.key, segment.batches, segment.lastOffset);
    report.batchesRewritten += rewritten;
    report.recordsRemoved += removed;
  }
  return report;
}
