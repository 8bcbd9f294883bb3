/**
 * Shapes of Kafka RecordBatch v2 (magic 2) as Logway sees them.
 *
 * Every int64 field of the wire format (offsets, timestamps, producer id) is a
 * JS number: exact up to Number.MAX_SAFE_INTEGER (2^53 - 1). The encoder
 * refuses unsafe values and the decoder reports them as corrupt, so nothing is
 * ever silently rounded. 2^53 offsets is ~285 years at a million records/s.
 */

export type CompressionType = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export type TimestampType = 'CreateTime' | 'LogAppendTime';

/** Kafka header keys are UTF-8 strings; values are bytes and may be null. Duplicate keys are allowed and kept in order. */
export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

/** A record as decoded: absolute offset and timestamp (ms since the epoch). */
export interface BatchRecord {
  offset: number;
  timestamp: number;
  /**
   * Zero-copy Uint8Array views into the decoded bytes (the input, or the
   * decompressed records), not copies and not Buffers: cheap, but they keep
   * that whole buffer alive and alias it. Copy them if you keep them long or
   * mutate the input. Header values are views too.
   */
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

/** A record to encode. Missing offset means `baseOffset + index`; missing timestamp means "now" (one clock read per batch). */
export interface RecordInput {
  key?: Uint8Array | null;
  value: Uint8Array | null;
  headers?: readonly RecordHeader[];
  timestamp?: number;
  offset?: number;
}

/** Batch-level fields shared by the decoded batch and the cheap header view. */
export interface RecordBatchFields {
  baseOffset: number;
  partitionLeaderEpoch: number;
  compression: CompressionType;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  /** Offset of the last record relative to baseOffset (Kafka keeps it even when compaction removed that record). */
  lastOffsetDelta: number;
  /** Kafka calls it baseTimestamp in Java, firstTimestamp on the wire spec; record timestamps are deltas from it. */
  firstTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

export interface RecordBatch extends RecordBatchFields {
  records: BatchRecord[];
}

/** What `encodeRecordBatch` takes. Omitted fields get the values Kafka's Java producer writes for a non-idempotent producer. */
export interface RecordBatchInput {
  /** Default 0; the log usually encodes with 0 and patches with `withBaseOffset` at commit. */
  baseOffset?: number;
  /** Default -1 (Kafka's NO_PARTITION_LEADER_EPOCH). */
  partitionLeaderEpoch?: number;
  /** Default 'none'. */
  compression?: CompressionType;
  /** Default 'CreateTime'. */
  timestampType?: TimestampType;
  isTransactional?: boolean;
  isControl?: boolean;
  /** Default: largest record offset delta, or -1 for an empty batch. */
  lastOffsetDelta?: number;
  /** Default: smallest record timestamp (as KafkaJS does), so deltas are >= 0. Empty batch: -1. */
  firstTimestamp?: number;
  /** Default: largest record timestamp. Empty batch: -1. */
  maxTimestamp?: number;
  /** Default -1 (no idempotence). */
  producerId?: number;
  /** Default -1. */
  producerEpoch?: number;
  /** Default -1 (Kafka's NO_SEQUENCE). */
  baseSequence?: number;
  records: readonly RecordInput[];
}

/** The fixed-size header of a batch, read without touching (or decompressing) the records. */
export interface RecordBatchHeader extends RecordBatchFields {
  /** Total bytes the batch occupies, including the 12-byte baseOffset + length prefix. */
  sizeInBytes: number;
  /** The int32 `length` field: bytes after itself. */
  batchLength: number;
  magic: number;
  /** Stored CRC32C (unsigned) over attributes..end. */
  crc: number;
  /** Raw int16 attributes, including bits this library does not interpret (e.g. delete horizon, bit 6). */
  attributes: number;
  /** baseOffset + lastOffsetDelta. */
  lastOffset: number;
  recordCount: number;
}

export interface DecodeOptions {
  /** Check the CRC32C before parsing (default true). Skip only for bytes this process wrote itself. */
  verifyCrc?: boolean;
  /**
   * Largest decompressed records section accepted, so a small crafted batch cannot
   * blow up Lambda memory (default 64 MiB; Kafka's default max.message.bytes is ~1 MiB compressed).
   */
  maxUncompressedBytes?: number;
}
