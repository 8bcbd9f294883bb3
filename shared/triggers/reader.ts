/**
 * Reads records for delivery through the log's own reader and decoder (`log.batchesFrom`,
 * `log.decodeBatch`), keeping what a trigger needs beyond a fetch: when each batch was appended
 * (its chunk entry's `appendedAt`, the broker's clock, for maximumRecordAgeMs and the batching
 * window) and its timestamp type (for the event's timestampType).
 */
import { log, type BatchIndexItem } from '../log/service';
import type { DeliverableRecord } from './events';

export interface DeliveryRead {
  readonly records: DeliverableRecord[];
  /** Where the next read starts: past the last record returned, or past an offset gap left by compaction. */
  readonly nextOffset: number;
}

/**
 * Up to `maxRecords` records from `offset`, never at or past `highWatermark`. Batches are read
 * until about `maxBytes` of stored bytes (at least one batch), since an event cannot hold more.
 */
export async function readForDelivery(
  topicId: string,
  partition: number,
  offset: number,
  highWatermark: number,
  maxRecords: number,
  maxBytes: number,
): Promise<DeliveryRead> {
  const chosen: BatchIndexItem[] = [];
  let planned = 0;
  let bytes = 0;
  if (offset >= highWatermark) return { records: [], nextOffset: offset };
  const mostNeeded = () => Math.max(1, Math.min(maxRecords, highWatermark - offset) - planned);
  for await (const item of log.batchesFrom(topicId, partition, offset, 8, mostNeeded)) {
    if (item.baseOffset >= highWatermark) break;
    if (chosen.length > 0 && bytes + item.sizeBytes > maxBytes) break;
    chosen.push(item);
    planned += item.lastOffset - Math.max(item.baseOffset, offset) + 1;
    bytes += item.sizeBytes;
    if (planned >= maxRecords || item.lastOffset >= highWatermark - 1) break;
  }
  const decoded = await Promise.all(chosen.map((item) => log.decodeBatch(item)));
  const records: DeliverableRecord[] = [];
  let nextOffset = offset;
  outer: for (let i = 0; i < decoded.length; i++) {
    const batch = decoded[i]!;
    const item = chosen[i]!;
    // Every chunk entry records its append time; the batch's own maximum stands in should one lack it.
    const appendedAt = Number.isFinite(item.appendedAt) ? item.appendedAt : batch.maxTimestamp;
    for (const record of batch.records) {
      if (record.offset < nextOffset) continue;
      if (record.offset >= highWatermark || records.length >= maxRecords) break outer;
      records.push({ ...record, appendedAt, timestampType: batch.timestampType });
      nextOffset = record.offset + 1;
    }
    nextOffset = Math.max(nextOffset, Math.min(item.lastOffset + 1, highWatermark));
  }
  return { records, nextOffset };
}
