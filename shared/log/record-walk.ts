/**
 * Walking decoded record batches from an offset (pure): what a fetch and a trigger's delivery share
 * once they have chosen and decoded their batches (shared/log/read.ts), each cutting by its own
 * limits in `take`.
 */
import type { BatchRecord, RecordBatch } from '../records/types';
import type { BatchIndexItem } from './read';

/**
 * Walks the records of the chosen batches (`decoded[i]` is `chosen[i]` decoded) from `offset`, below
 * `highWatermark`, handing each to `take` until it returns false. Returns where the next read
 * starts: past the last record taken, or past the end of a batch read to its end, since compaction
 * leaves offset gaps (even whole batches without records) that a consumer must not fetch again.
 */
export function walkRecords(
  chosen: readonly Pick<BatchIndexItem, 'lastOffset'>[],
  decoded: readonly RecordBatch[],
  offset: number,
  highWatermark: number,
  take: (record: BatchRecord, batch: RecordBatch, index: number) => boolean,
): number {
  let nextOffset = offset;
  for (let i = 0; i < decoded.length; i++) {
    const batch = decoded[i]!;
    const item = chosen[i]!;
    for (const record of batch.records) {
      if (record.offset < nextOffset) continue;
      if (record.offset >= highWatermark || !take(record, batch, i)) return nextOffset;
      nextOffset = record.offset + 1;
    }
    nextOffset = Math.max(nextOffset, Math.min(item.lastOffset + 1, highWatermark));
  }
  return nextOffset;
}
