/**
 * A Produce request's record batches, validated as a broker validates them before they reach
 * the log: whole batches, magic 2, CRC32C, every record decompressed within bounds, the topic's
 * max.message.bytes for the batch and for each record (the rule HTTP produce applies), no
 * transactional or control batches. The bytes kept are the client's, compression included,
 * with the base offset set to 0 as every stored batch has it (readers patch the real one in).
 */
import { decodeRecordBatch, readBatchHeader, withBaseOffset, withLogAppendTime, type RecordBatchHeader } from '../records';
import { recordLimitViolation } from '../log/json';
import type { ClientBatch } from '../log/produce-batches';
import { KafkaError } from './errors';

export interface BatchLimits {
  readonly maxMessageBytes: number;
  /** Largest decompressed records section accepted. */
  readonly maxUncompressedBytes: number;
  /** Set when the topic stamps LogAppendTime: the batch is stamped with it. */
  readonly logAppendTime?: number;
}

/** Splits and validates the records field of one partition; throws KafkaError naming what is wrong. */
export function clientBatches(records: Buffer | null, limits: BatchLimits): ClientBatch[] {
  if (records === null || records.length === 0)
    throw new KafkaError('INVALID_RECORD', 'The produce request has no records for this partition.');
  const batches: ClientBatch[] = [];
  let position = 0;
  while (position < records.length) {
    let header: RecordBatchHeader;
    try {
      header = readBatchHeader(records, position);
    } catch (error) {
      throw new KafkaError('CORRUPT_MESSAGE', (error as Error).message);
    }
    if (position + header.sizeInBytes > records.length) {
      throw new KafkaError(
        'CORRUPT_MESSAGE',
        `The record batch at byte ${position} declares ${header.sizeInBytes} bytes but only ${records.length - position} were sent.`,
      );
    }
    if (header.sizeInBytes > limits.maxMessageBytes) {
      throw new KafkaError(
        'MESSAGE_TOO_LARGE',
        `A record batch of ${header.sizeInBytes} bytes is more than the topic allows (max.message.bytes=${limits.maxMessageBytes}).`,
      );
    }
    if (header.isTransactional)
      throw new KafkaError('INVALID_RECORD', 'Transactional batches are not supported by Logway yet; produce without a transactional.id.');
    if (header.isControl) throw new KafkaError('INVALID_RECORD', 'Control batches cannot be produced.');
    // A copy: the request frame is not ours to keep, and the base offset is patched in place.
    const bytes = Buffer.from(records.subarray(position, position + header.sizeInBytes));
    let decoded: ReturnType<typeof decodeRecordBatch>;
    try {
      decoded = decodeRecordBatch(bytes, { maxUncompressedBytes: limits.maxUncompressedBytes });
    } catch (error) {
      const code =
        (error as { code?: string }).code === 'UNSUPPORTED_COMPRESSION_TYPE' ? 'UNSUPPORTED_COMPRESSION_TYPE' : 'CORRUPT_MESSAGE';
      throw new KafkaError(code, (error as Error).message);
    }
    if (decoded.records.length === 0) throw new KafkaError('INVALID_RECORD', 'A record batch holds no records.');
    let firstTimestamp = Infinity;
    let maxTimestamp = -Infinity;
    decoded.records.forEach((record, i) => {
      // The rule HTTP produce applies, so that every record a Kafka client appends can also be
      // fetched through the HTTP API and delivered by triggers (headers counted, fetch bound).
      const violation = recordLimitViolation(record, limits.maxMessageBytes);
      if (violation) throw new KafkaError('MESSAGE_TOO_LARGE', `Record ${i} of a batch ${violation.message}`);
      if (record.offset !== header.baseOffset + i)
        throw new KafkaError(
          'INVALID_RECORD',
          `Record ${i} of a batch has offset delta ${record.offset - header.baseOffset}; a producer's deltas are 0, 1, 2...`,
        );
      firstTimestamp = Math.min(firstTimestamp, record.timestamp);
      maxTimestamp = Math.max(maxTimestamp, record.timestamp);
    });
    if (decoded.lastOffsetDelta !== decoded.records.length - 1)
      throw new KafkaError('INVALID_RECORD', "The batch's last offset delta does not match its record count.");
    withBaseOffset(bytes, 0);
    if (limits.logAppendTime !== undefined) {
      withLogAppendTime(bytes, limits.logAppendTime);
      firstTimestamp = maxTimestamp = limits.logAppendTime;
    }
    batches.push({ bytes, header, recordCount: decoded.records.length, firstTimestamp, maxTimestamp });
    position += header.sizeInBytes;
  }
  return batches;
}
