/**
 * Kafka RecordBatch v2 bytes for Logway's log: encode, decode, header reads
 * and commit-time patches, compression codecs, CRC32C and the partitioner.
 * See docs/records.md.
 */
export type {
  BatchRecord,
  CompressionType,
  DecodeOptions,
  RecordBatch,
  RecordBatchFields,
  RecordBatchHeader,
  RecordBatchInput,
  RecordHeader,
  RecordInput,
  TimestampType,
} from './types';
export { CorruptRecordError, RecordsError, UnsupportedCompressionError, type RecordsErrorCode } from './errors';
export { encodeRecordBatch } from './encode';
export { decodeRecordBatch, decodeRecordBatches } from './decode';
export { readBatchHeader, withBaseOffset, withLogAppendTime } from './header';
export { COMPRESSION_TYPES, isCompressionType } from './compression';
export { zstdImplementation } from './zstd';
export { crc32c, crc32cImplementation } from './crc32c';
export { createRequestPartitioner, murmur2, partitionForKey, toPositive } from './partitioner';
