/**
 * Byte layout of a Kafka RecordBatch v2 (DefaultRecordBatch.java):
 *
 *   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 (=2)
 *   | crc uint32 | attributes int16 | lastOffsetDelta int32 | firstTimestamp int64
 *   | maxTimestamp int64 | producerId int64 | producerEpoch int16 | baseSequence int32
 *   | recordCount int32 | records...
 *
 * batchLength counts the bytes after itself. The CRC32C covers attributes to
 * the end, so baseOffset, batchLength, partitionLeaderEpoch and magic can be
 * rewritten without recomputing it (Kafka assigns offsets that way too).
 */
import type { CompressionType } from './types';

export const BASE_OFFSET_AT = 0;
export const BATCH_LENGTH_AT = 8;
export const PARTITION_LEADER_EPOCH_AT = 12;
export const MAGIC_AT = 16;
export const CRC_AT = 17;
export const ATTRIBUTES_AT = 21;
export const LAST_OFFSET_DELTA_AT = 23;
export const FIRST_TIMESTAMP_AT = 27;
export const MAX_TIMESTAMP_AT = 35;
export const PRODUCER_ID_AT = 43;
export const PRODUCER_EPOCH_AT = 51;
export const BASE_SEQUENCE_AT = 53;
export const RECORD_COUNT_AT = 57;
export const RECORDS_AT = 61;

/** Bytes before batchLength starts counting (baseOffset + batchLength). */
export const LOG_OVERHEAD = 12;
/** Size of a batch with no records, and the smallest valid batchLength is this minus LOG_OVERHEAD. */
export const BATCH_HEADER_SIZE = RECORDS_AT;
export const MAGIC_V2 = 2;

export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_BIT = 0x08;
export const TRANSACTIONAL_BIT = 0x10;
export const CONTROL_BIT = 0x20;

/** Codec ids in attributes bits 0-2, as in Kafka's CompressionType. */
export const CODEC_ID: Readonly<Record<CompressionType, number>> = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
};

export const COMPRESSION_BY_CODEC_ID: readonly CompressionType[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Smallest possible encoded record: length, attributes, timestampDelta, offsetDelta, key, value, header count (1 byte each). */
export const MIN_RECORD_SIZE = 7;
