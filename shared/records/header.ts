/**
 * The fixed 61-byte batch header: reading it without touching the records,
 * and the two in-place rewrites the log does at commit time.
 */
import { asBuffer, writeInt64 } from './bytes';
import { compressionTypeOf } from './compression';
import { crc32c } from './crc32c';
import { CorruptRecordError } from './errors';
import {
  ATTRIBUTES_AT,
  BASE_OFFSET_AT,
  BASE_SEQUENCE_AT,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_AT,
  COMPRESSION_CODEC_MASK,
  CONTROL_BIT,
  CRC_AT,
  FIRST_TIMESTAMP_AT,
  LAST_OFFSET_DELTA_AT,
  LOG_OVERHEAD,
  MAGIC_AT,
  MAGIC_V2,
  MAX_TIMESTAMP_AT,
  PARTITION_LEADER_EPOCH_AT,
  PRODUCER_EPOCH_AT,
  PRODUCER_ID_AT,
  RECORD_COUNT_AT,
  TIMESTAMP_TYPE_BIT,
  TRANSACTIONAL_BIT,
} from './layout';
import type { RecordBatchHeader } from './types';

/**
 * Reads the header of the batch starting at `position`, without checking the
 * CRC and without needing the records to be present (an S3 range read of the
 * first 61 bytes is enough). `sizeInBytes` says where the next batch starts.
 * Throws CorruptRecordError for a short or invalid header,
 * UnsupportedCompressionError for codec ids 5-7.
 */
export function readBatchHeader(bytes: Uint8Array, position = 0): RecordBatchHeader {
  return parseBatchHeader(bytes, position);
}

// Direct big-endian reads: several times cheaper than Buffer#readInt32BE & co. on this hot path.
function int32At(b: Uint8Array, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}

function int16At(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16)) >> 16;
}

/** An int64 field, or NaN when it is not a safe integer (outside +-2^53 the sum may round, but stays unsafe). */
function int64At(b: Uint8Array, p: number): number {
  const value = int32At(b, p) * 4294967296 + (int32At(b, p + 4) >>> 0);
  return Number.isSafeInteger(value) ? value : NaN;
}

function corrupt(detail: string, baseOffset: number | undefined, position: number): never {
  throw new CorruptRecordError(detail, { baseOffset, position });
}

/** readBatchHeader without the default argument; positions in errors are absolute in `b`. */
export function parseBatchHeader(b: Uint8Array, start: number): RecordBatchHeader {
  const available = b.length - start;
  if (available < BATCH_HEADER_SIZE) {
    corrupt(`truncated batch header: ${Math.max(available, 0)} of ${BATCH_HEADER_SIZE} bytes`, undefined, start);
  }
  const baseOffset = int64At(b, start + BASE_OFFSET_AT);
  if (Number.isNaN(baseOffset)) corrupt('base offset outside the JS safe integer range', undefined, start + BASE_OFFSET_AT);
  const batchLength = int32At(b, start + BATCH_LENGTH_AT);
  if (batchLength < BATCH_HEADER_SIZE - LOG_OVERHEAD) {
    corrupt(`batch length ${batchLength} is shorter than a batch header`, baseOffset, start + BATCH_LENGTH_AT);
  }
  const magic = b[start + MAGIC_AT]!;
  if (magic !== MAGIC_V2) corrupt(`magic ${magic}; only v2 record batches (magic 2) are supported`, baseOffset, start + MAGIC_AT);
  const attributes = int16At(b, start + ATTRIBUTES_AT);
  const lastOffsetDelta = int32At(b, start + LAST_OFFSET_DELTA_AT);
  const lastOffset = baseOffset + lastOffsetDelta;
  if (!Number.isSafeInteger(lastOffset)) corrupt('last offset outside the JS safe integer range', baseOffset, start + LAST_OFFSET_DELTA_AT);
  const firstTimestamp = int64At(b, start + FIRST_TIMESTAMP_AT);
  if (Number.isNaN(firstTimestamp)) corrupt('first timestamp outside the JS safe integer range', baseOffset, start + FIRST_TIMESTAMP_AT);
  const maxTimestamp = int64At(b, start + MAX_TIMESTAMP_AT);
  if (Number.isNaN(maxTimestamp)) corrupt('max timestamp outside the JS safe integer range', baseOffset, start + MAX_TIMESTAMP_AT);
  const producerId = int64At(b, start + PRODUCER_ID_AT);
  if (Number.isNaN(producerId)) corrupt('producer id outside the JS safe integer range', baseOffset, start + PRODUCER_ID_AT);
  const recordCount = int32At(b, start + RECORD_COUNT_AT);
  if (recordCount < 0) corrupt(`negative record count ${recordCount}`, baseOffset, start + RECORD_COUNT_AT);
  return {
    baseOffset,
    sizeInBytes: LOG_OVERHEAD + batchLength,
    batchLength,
    partitionLeaderEpoch: int32At(b, start + PARTITION_LEADER_EPOCH_AT),
    magic,
    crc: int32At(b, start + CRC_AT) >>> 0,
    attributes,
    compression: compressionTypeOf(attributes & COMPRESSION_CODEC_MASK),
    timestampType: attributes & TIMESTAMP_TYPE_BIT ? 'LogAppendTime' : 'CreateTime',
    isTransactional: (attributes & TRANSACTIONAL_BIT) !== 0,
    isControl: (attributes & CONTROL_BIT) !== 0,
    lastOffsetDelta,
    lastOffset,
    firstTimestamp,
    maxTimestamp,
    producerId,
    producerEpoch: int16At(b, start + PRODUCER_EPOCH_AT),
    baseSequence: int32At(b, start + BASE_SEQUENCE_AT),
    recordCount,
  };
}

/** CRC32C over attributes..end of the batch that starts at `start` and occupies `sizeInBytes`. */
export function computeBatchCrc(buf: Uint8Array, start: number, sizeInBytes: number): number {
  // A plain view, not Buffer#subarray: same bytes, half the cost on small batches.
  return crc32c(new Uint8Array(buf.buffer, buf.byteOffset + start + ATTRIBUTES_AT, sizeInBytes - ATTRIBUTES_AT));
}

/** Throws CorruptRecordError unless all `header.sizeInBytes` bytes of the batch are present. */
export function requireWholeBatch(buf: Uint8Array, start: number, header: RecordBatchHeader): void {
  const available = buf.length - start;
  if (header.sizeInBytes > available) {
    throw new CorruptRecordError(`truncated batch: declares ${header.sizeInBytes} bytes, ${available} present`, {
      baseOffset: header.baseOffset,
      position: start + BATCH_LENGTH_AT,
    });
  }
}

/** Throws CorruptRecordError unless the whole batch is present and its CRC matches. */
export function verifyBatchCrc(buf: Uint8Array, start: number, header: RecordBatchHeader): void {
  requireWholeBatch(buf, start, header);
  const computed = computeBatchCrc(buf, start, header.sizeInBytes);
  if (computed !== header.crc) {
    throw new CorruptRecordError(
      `CRC32C mismatch: stored 0x${header.crc.toString(16).padStart(8, '0')}, computed 0x${computed.toString(16).padStart(8, '0')}`,
      { baseOffset: header.baseOffset, position: start + CRC_AT },
    );
  }
}

/**
 * Sets the base offset of the batch at the start of `bytes`, IN PLACE, and
 * returns the same bytes. The CRC does not cover baseOffset, so nothing else
 * changes: the log encodes once with baseOffset 0 and assigns real offsets at
 * commit time. Pass a subarray to patch a batch inside a larger buffer.
 */
export function withBaseOffset<T extends Uint8Array>(bytes: T, baseOffset: number): T {
  const buf = asBuffer(bytes);
  const header = parseBatchHeader(buf, 0);
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0 || !Number.isSafeInteger(baseOffset + header.lastOffsetDelta)) {
    throw new RangeError(`baseOffset ${baseOffset} must be a non-negative safe integer (with room for ${header.lastOffsetDelta} more)`);
  }
  writeInt64(buf, BASE_OFFSET_AT, baseOffset);
  return bytes;
}

/**
 * Stamps the batch at the start of `bytes` with LogAppendTime, IN PLACE, as a
 * broker does for topics with message.timestamp.type=LogAppendTime: sets
 * attributes bit 3 and maxTimestamp = appendTime, then recomputes the CRC
 * (which covers both). Readers then report appendTime as every record's
 * timestamp. The existing CRC is verified first so corruption is never
 * laundered into a valid checksum. Returns the same bytes.
 */
export function withLogAppendTime<T extends Uint8Array>(bytes: T, appendTime: number): T {
  if (!Number.isSafeInteger(appendTime)) throw new RangeError(`appendTime ${appendTime} must be a safe integer`);
  const buf = asBuffer(bytes);
  const header = parseBatchHeader(buf, 0);
  verifyBatchCrc(buf, 0, header);
  buf.writeInt16BE(header.attributes | TIMESTAMP_TYPE_BIT, ATTRIBUTES_AT);
  writeInt64(buf, MAX_TIMESTAMP_AT, appendTime);
  buf.writeUInt32BE(computeBatchCrc(buf, 0, header.sizeInBytes), CRC_AT);
  return bytes;
}
