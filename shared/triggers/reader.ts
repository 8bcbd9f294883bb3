/**
 * Reads records for delivery through the log's own reader and decoder (`log.chooseBatches`,
 * `log.decodeBatch`, `walkRecords`), keeping what a trigger needs beyond a fetch: when each batch was appended
 * (its chunk entry's `appendedAt`, the broker's clock, for maximumRecordAgeMs and the batching
 * window) and its timestamp type (for the event's timestampType).
 */
import { log, walkRecords } from '../log/service';
import type { DeliverableRecord } from './events';

export interface DeliveryRead {
  readonly records: DeliverableRecord[];
  /** Where the next read starts: past the last record returned, or past an offset gap left by compaction. */
  readonly nextOffset: number;
}

/**
 * Up to `maxRecords` records from `offset`, never at or past `highWatermark`. Batches are read
 * until about `maxBytes` of stored bytes (at least one batch), since an event cannot hold more.
 * Unlike a fetch, a first batch past `offset` is read from where it starts: delivery moves on.
 */
export async function readForDelivery(
  topicId: string,
  partition: number,
  offset: number,
  highWatermark: number,
  maxRecords: number,
  maxBytes: number,
): Promise<DeliveryRead> {
  const chosen = await log.chooseBatches(topicId, partition, offset, highWatermark, { maxRecords, maxStoredBytes: maxBytes }, 8);
  const decoded = await Promise.all(chosen.map((item) => log.decodeBatch(item)));
  const records: DeliverableRecord[] = [];
  const nextOffset = walkRecords(chosen, decoded, offset, highWatermark, (record, batch, index) => {
    if (records.length >= maxRecords) return false;
    const item = chosen[index]!;
    // Every chunk entry records its append time; the batch's own maximum stands in should one lack it.
    const appendedAt = Number.isFinite(item.appendedAt) ? item.appendedAt : batch.maxTimestamp;
    records.push({ ...record, appendedAt, timestampType: batch.timestampType });
    return true;
  });
  return { records, nextOffset };
}
