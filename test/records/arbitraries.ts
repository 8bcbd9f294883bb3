/** fast-check generators and comparison helpers shared by the record tests. */
import fc from 'fast-check';
import type { BatchRecord, CompressionType, RecordBatch, RecordHeader } from '../../shared/records/index';

export const ALL_CODECS: CompressionType[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** Safe integers biased to the edges: 0, -1, +-2^53-1, 32-bit boundaries, real-looking epoch millis. */
export const safeInteger = fc.oneof(
  fc.constantFrom(0, -1, 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 52, -(2 ** 52)),
  fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
  fc.maxSafeInteger(),
);

export const nullableBytes = fc.option(fc.uint8Array({ maxLength: 48 }), { nil: null, freq: 4 });

export const headerKey = fc.oneof(fc.constantFrom('', 'trace-id', 'a', 'ключ', '🔑'), fc.string({ unit: 'grapheme', maxLength: 12 }));

export const header: fc.Arbitrary<RecordHeader> = fc.record({ key: headerKey, value: nullableBytes });

/** A decoded-shape batch whose encoding must decode back to itself. */
export const recordBatch: fc.Arbitrary<RecordBatch> = fc
  .record({
    baseOffset: fc.oneof(fc.constantFrom(0, Number.MAX_SAFE_INTEGER - INT32_MAX), fc.integer({ min: 0, max: 2 ** 40 })),
    partitionLeaderEpoch: fc.integer({ min: INT32_MIN, max: INT32_MAX }),
    compression: fc.constantFrom(...ALL_CODECS),
    timestampType: fc.constantFrom('CreateTime' as const, 'CreateTime' as const, 'LogAppendTime' as const),
    isTransactional: fc.boolean(),
    isControl: fc.boolean(),
    lastOffsetDelta: fc.integer({ min: INT32_MIN, max: INT32_MAX }),
    firstTimestamp: safeInteger,
    maxTimestamp: safeInteger,
    producerId: safeInteger,
    producerEpoch: fc.integer({ min: -0x8000, max: 0x7fff }),
    baseSequence: fc.integer({ min: INT32_MIN, max: INT32_MAX }),
    records: fc.array(
      fc.record({
        offsetGap: fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 1000 })),
        timestamp: safeInteger,
        key: nullableBytes,
        value: nullableBytes,
        headers: fc.array(header, { maxLength: 6 }),
      }),
      { maxLength: 12 },
    ),
  })
  .map((b) => {
    let offset = b.baseOffset - 1;
    const records: BatchRecord[] = b.records.map((r) => {
      offset += r.offsetGap;
      return {
        offset,
        // With LogAppendTime readers report maxTimestamp for every record.
        timestamp: b.timestampType === 'LogAppendTime' ? b.maxTimestamp : r.timestamp,
        key: r.key,
        value: r.value,
        headers: r.headers,
      };
    });
    return { ...b, records };
  });

/** Bytes as hex so Buffer views and plain Uint8Arrays compare equal. */
export function comparable(batch: RecordBatch): unknown {
  const hex = (bytes: Uint8Array | null) =>
    bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return {
    ...batch,
    records: batch.records.map((r) => ({
      ...r,
      key: hex(r.key),
      value: hex(r.value),
      headers: r.headers.map((h) => ({ key: h.key, value: hex(h.value) })),
    })),
  };
}

/** Deterministic [0, 1) source (mulberry32) for repeatable randomized tests. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
