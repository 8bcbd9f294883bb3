import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CorruptRecordError,
  type RecordBatch,
  RecordsError,
  UnsupportedCompressionError,
  crc32c,
  decodeRecordBatch,
  decodeRecordBatches,
  encodeRecordBatch,
  readBatchHeader,
  withBaseOffset,
  withLogAppendTime,
} from '../../shared/records/index';
import { ALL_CODECS, comparable, recordBatch } from './arbitraries';
import { kafkajs } from './kafkajs';

const utf8 = (s: string) => Buffer.from(s, 'utf8');

function sampleBatch(compression: RecordBatch['compression'] = 'none') {
  return encodeRecordBatch({
    compression,
    baseOffset: 100,
    records: [
      { key: utf8('k0'), value: utf8('v0'), timestamp: 1_700_000_000_000, headers: [{ key: 'h', value: utf8('x') }] },
      { key: null, value: utf8('v1'.repeat(50)), timestamp: 1_700_000_000_050 },
      {
        key: utf8(''),
        value: null,
        timestamp: 1_699_999_999_990,
        headers: [
          { key: 'h', value: null },
          { key: 'h', value: utf8('y') },
        ],
      },
    ],
  });
}

/** Rewrites the CRC after a deliberate edit, so the parser (not the checksum) must catch it. */
function fixCrc(bytes: Buffer): Buffer {
  bytes.writeUInt32BE(crc32c(bytes.subarray(21)), 17);
  return bytes;
}

describe('encode/decode round trip', () => {
  it('decode(encode(x)) equals x for arbitrary batches and every codec', () => {
    fc.assert(
      fc.property(recordBatch, (batch) => {
        const bytes = encodeRecordBatch(batch);
        expect(comparable(decodeRecordBatch(bytes))).toEqual(comparable(batch));
        expect(comparable(decodeRecordBatch(bytes, { verifyCrc: false }))).toEqual(comparable(batch));
      }),
      { numRuns: 250 },
    );
  });

  it('fills Kafka Java producer defaults and derives timestamps from the records', () => {
    const batch = decodeRecordBatch(sampleBatch());
    expect(batch).toMatchObject({
      baseOffset: 100,
      partitionLeaderEpoch: -1,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      lastOffsetDelta: 2,
      firstTimestamp: 1_699_999_999_990,
      maxTimestamp: 1_700_000_000_050,
      timestampType: 'CreateTime',
      compression: 'none',
      isTransactional: false,
      isControl: false,
    });
    expect(batch.records.map((r) => [r.offset, r.timestamp])).toEqual([
      [100, 1_700_000_000_000],
      [101, 1_700_000_000_050],
      [102, 1_699_999_999_990],
    ]);
    expect(batch.records[2]!.headers).toEqual([
      { key: 'h', value: null },
      { key: 'h', value: new Uint8Array(utf8('y')) },
    ]);
    expect(batch.records[2]!.key).toEqual(new Uint8Array(0));
    expect(batch.records[2]!.value).toBeNull();
  });

  it('encodes an empty batch the way Kafka describes one (lastOffsetDelta -1, no timestamps)', () => {
    const bytes = encodeRecordBatch({ records: [] });
    expect(bytes.length).toBe(61);
    expect(readBatchHeader(bytes)).toMatchObject({ recordCount: 0, lastOffsetDelta: -1, firstTimestamp: -1, maxTimestamp: -1 });
    expect(decodeRecordBatch(bytes).records).toEqual([]);
  });

  it('stamps records without a timestamp with one clock reading', () => {
    const before = Date.now();
    const batch = decodeRecordBatch(encodeRecordBatch({ records: [{ value: utf8('a') }, { value: utf8('b') }] }));
    const after = Date.now();
    expect(batch.records[0]!.timestamp).toBe(batch.records[1]!.timestamp);
    expect(batch.records[0]!.timestamp).toBeGreaterThanOrEqual(before);
    expect(batch.records[0]!.timestamp).toBeLessThanOrEqual(after);
  });

  it('returns keys, values and header values as plain Uint8Array views into the input', () => {
    const bytes = sampleBatch();
    const record = decodeRecordBatch(bytes).records[0]!;
    for (const view of [record.key!, record.value!, record.headers[0]!.value!]) {
      expect(view.buffer).toBe(bytes.buffer);
      expect(Buffer.isBuffer(view)).toBe(false);
    }
    expect(Buffer.from(record.value!).toString()).toBe('v0');
  });

  it('decodes concatenated batches of mixed codecs', () => {
    const parts = ALL_CODECS.map((codec, i) => withBaseOffset(sampleBatch(codec), i * 3));
    const batches = decodeRecordBatches(Buffer.concat(parts));
    expect(batches.map((b) => b.compression)).toEqual(ALL_CODECS);
    expect(batches.flatMap((b) => b.records.map((r) => r.offset))).toEqual([...Array(15).keys()]);
  });

  it('writes header keys with lone surrogates as U+FFFD, like Buffer and Kafka clients do', () => {
    const bytes = encodeRecordBatch({ records: [{ value: null, headers: [{ key: 'a\ud800b', value: null }] }] });
    expect(decodeRecordBatch(bytes).records[0]!.headers[0]!.key).toBe('a\ufffdb');
  });

  it('refuses values it cannot represent exactly', () => {
    expect(() => encodeRecordBatch({ records: [{ value: null, timestamp: 2 ** 53 }] })).toThrow(RangeError);
    expect(() => encodeRecordBatch({ baseOffset: 5, records: [{ value: null, offset: 5 + 2 ** 31 }] })).toThrow(RangeError);
    expect(() => encodeRecordBatch({ producerEpoch: 40000, records: [] })).toThrow(RangeError);
    expect(() => encodeRecordBatch({ records: [{ value: 'text' as unknown as Uint8Array }] })).toThrow(TypeError);
    expect(() => encodeRecordBatch({ compression: 'brotli' as never, records: [] })).toThrow();
  });
});

describe('readBatchHeader', () => {
  it('reads the header of every codec without decompressing, from the first 61 bytes alone', () => {
    for (const codec of ALL_CODECS) {
      const bytes = sampleBatch(codec);
      const header = readBatchHeader(bytes.subarray(0, 61));
      expect(header).toMatchObject({
        baseOffset: 100,
        lastOffsetDelta: 2,
        lastOffset: 102,
        recordCount: 3,
        firstTimestamp: 1_699_999_999_990,
        maxTimestamp: 1_700_000_000_050,
        sizeInBytes: bytes.length,
        batchLength: bytes.length - 12,
        magic: 2,
        compression: codec,
      });
      expect(header.crc).toBe(crc32c(bytes.subarray(21)));
    }
  });

  it('reads a batch at a position inside a larger buffer', () => {
    const first = sampleBatch();
    const both = Buffer.concat([first, withBaseOffset(sampleBatch('lz4'), 103)]);
    expect(readBatchHeader(both, first.length)).toMatchObject({ baseOffset: 103, compression: 'lz4' });
  });

  it('throws CorruptRecordError for short headers and wrong magic', () => {
    expect(() => readBatchHeader(sampleBatch().subarray(0, 60))).toThrow(/truncated batch header: 60 of 61 bytes/);
    const legacy = Buffer.from(sampleBatch());
    legacy[16] = 1;
    expect(() => readBatchHeader(legacy)).toThrow(/magic 1/);
  });
});

describe('withBaseOffset', () => {
  it('patches the base offset in place without touching the CRC, equal to encoding with that offset', () => {
    fc.assert(
      fc.property(recordBatch, fc.integer({ min: 0, max: 2 ** 50 }), (batch, baseOffset) => {
        const fromZero = encodeRecordBatch({
          ...batch,
          baseOffset: 0,
          records: batch.records.map((r) => ({ ...r, offset: r.offset - batch.baseOffset })),
        });
        const crcBefore = fromZero.readUInt32BE(17);
        const patched = withBaseOffset(fromZero, baseOffset);
        expect(patched).toBe(fromZero);
        expect(patched.readUInt32BE(17)).toBe(crcBefore);
        const direct = encodeRecordBatch({
          ...batch,
          baseOffset,
          records: batch.records.map((r) => ({ ...r, offset: r.offset - batch.baseOffset + baseOffset })),
        });
        if (batch.compression !== 'zstd' && batch.compression !== 'gzip') {
          expect(patched.toString('hex')).toBe(direct.toString('hex'));
        }
        expect(decodeRecordBatch(patched).records.map((r) => r.offset)).toEqual(decodeRecordBatch(direct).records.map((r) => r.offset));
      }),
      { numRuns: 60 },
    );
  });

  it('works through a subarray view of a larger buffer', () => {
    const a = sampleBatch();
    const b = sampleBatch('snappy');
    const log = Buffer.concat([a, b]);
    withBaseOffset(log.subarray(a.length), 7);
    expect(decodeRecordBatches(log).map((batch) => batch.baseOffset)).toEqual([100, 7]);
  });

  it('rejects negative and unsafe offsets', () => {
    expect(() => withBaseOffset(sampleBatch(), -1)).toThrow(RangeError);
    expect(() => withBaseOffset(sampleBatch(), Number.MAX_SAFE_INTEGER)).toThrow(RangeError);
  });
});

describe('withLogAppendTime', () => {
  it('sets the timestamp type and max timestamp, recomputes the CRC, and readers see the append time', () => {
    for (const codec of ALL_CODECS) {
      const bytes = sampleBatch(codec);
      const stamped = withLogAppendTime(bytes, 1_800_000_000_000);
      expect(stamped).toBe(bytes);
      const batch = decodeRecordBatch(stamped);
      expect(batch.timestampType).toBe('LogAppendTime');
      expect(batch.maxTimestamp).toBe(1_800_000_000_000);
      expect(batch.firstTimestamp).toBe(1_699_999_999_990);
      expect(batch.records.map((r) => r.timestamp)).toEqual([1_800_000_000_000, 1_800_000_000_000, 1_800_000_000_000]);
      expect(batch.records.map((r) => r.offset)).toEqual([100, 101, 102]);
    }
  });

  it('is what the encoder writes for a LogAppendTime batch with that max timestamp', () => {
    const input = {
      baseOffset: 9,
      records: [
        { value: utf8('a'), timestamp: 5 },
        { value: utf8('b'), timestamp: 7 },
      ],
    };
    const stamped = withLogAppendTime(encodeRecordBatch(input), 1000);
    expect(stamped.toString('hex')).toBe(
      encodeRecordBatch({ ...input, timestampType: 'LogAppendTime', maxTimestamp: 1000 }).toString('hex'),
    );
  });

  it('KafkaJS reads the stamped batch as LogAppendTime with the append time on every record', async () => {
    const stamped = withLogAppendTime(sampleBatch('gzip'), 1_800_000_000_000);
    const theirs = await kafkajs.decodeRecordBatch(new kafkajs.Decoder(stamped));
    expect(theirs.timestampType).toBe(1);
    expect(theirs.records.map((r) => r.timestamp)).toEqual(['1800000000000', '1800000000000', '1800000000000']);
  });

  it('refuses to re-checksum a corrupt batch', () => {
    const bytes = sampleBatch();
    bytes[70] = bytes[70]! ^ 0xff;
    expect(() => withLogAppendTime(bytes, 1)).toThrow(/CRC32C mismatch/);
  });
});

describe('corrupt input', () => {
  it('names the batch and the CRC position on a CRC mismatch', () => {
    const bytes = sampleBatch('gzip');
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x01;
    let error: unknown;
    try {
      decodeRecordBatch(bytes);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect(error).toMatchObject({ code: 'CORRUPT_MESSAGE', baseOffset: 100, position: 17 });
    expect((error as Error).message).toMatch(
      /^Corrupt record batch with base offset 100 at byte 17: CRC32C mismatch: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}$/,
    );
  });

  it('reports positions relative to the whole input for a later batch', () => {
    const first = sampleBatch();
    const second = withBaseOffset(sampleBatch(), 103);
    second[second.length - 1] = second[second.length - 1]! ^ 0x01;
    expect(() => decodeRecordBatches(Buffer.concat([first, second]))).toThrow(
      expect.objectContaining({ baseOffset: 103, position: first.length + 17 }),
    );
  });

  it('every truncation of every codec throws CorruptRecordError', () => {
    for (const codec of ALL_CODECS) {
      const bytes = sampleBatch(codec);
      for (let length = 0; length < bytes.length; length++) {
        expect(() => decodeRecordBatch(bytes.subarray(0, length))).toThrow(CorruptRecordError);
        if (length > 0) expect(() => decodeRecordBatches(bytes.subarray(0, length), { verifyCrc: false })).toThrow(CorruptRecordError);
      }
    }
  });

  it('a records section cut short behind a valid CRC and length is still caught', () => {
    const bytes = sampleBatch();
    for (let cut = 1; cut < bytes.length - 61; cut++) {
      const shorter = Buffer.from(bytes.subarray(0, bytes.length - cut));
      shorter.writeInt32BE(shorter.length - 12, 8);
      expect(() => decodeRecordBatch(fixCrc(shorter))).toThrow(CorruptRecordError);
    }
  });

  it('rejects trailing bytes after a single batch', () => {
    expect(() => decodeRecordBatch(Buffer.concat([sampleBatch(), Buffer.from([0])]))).toThrow(/1 bytes follow the batch/);
  });

  it('rejects a record count that does not match the records', () => {
    const more = sampleBatch();
    more.writeInt32BE(4, 57);
    expect(() => decodeRecordBatch(fixCrc(more))).toThrow(CorruptRecordError);
    const fewer = sampleBatch();
    fewer.writeInt32BE(2, 57);
    expect(() => decodeRecordBatch(fixCrc(fewer))).toThrow(/bytes follow the last of 2 records/);
    const huge = sampleBatch('lz4');
    huge.writeInt32BE(0x7fffffff, 57);
    expect(() => decodeRecordBatch(fixCrc(huge))).toThrow(/record count 2147483647 cannot fit/);
  });

  it('names the decompressed position for errors inside compressed records', () => {
    const bytes = sampleBatch('gzip');
    bytes.writeInt32BE(2, 57);
    expect(() => decodeRecordBatch(fixCrc(bytes))).toThrow(/at byte \d+ of its decompressed records/);
  });

  it('wraps undecodable compressed data in CorruptRecordError', () => {
    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const bytes = sampleBatch(codec);
      bytes.fill(0x55, 61 + 4, 61 + 12);
      expect(() => decodeRecordBatch(fixCrc(bytes))).toThrow(new RegExp(`cannot decompress ${codec} records`));
    }
  });

  it('caps the decompressed size', () => {
    const big = encodeRecordBatch({ compression: 'gzip', records: [{ value: new Uint8Array(1 << 20) }] });
    expect(big.length).toBeLessThan(4096);
    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const bytes = encodeRecordBatch({ compression: codec, records: [{ value: new Uint8Array(1 << 20) }] });
      expect(() => decodeRecordBatch(bytes, { maxUncompressedBytes: 1 << 16 })).toThrow(CorruptRecordError);
      expect(decodeRecordBatch(bytes).records[0]!.value!.length).toBe(1 << 20);
    }
  });

  it('throws UnsupportedCompressionError for codec ids 5-7', () => {
    for (const codecId of [5, 6, 7]) {
      const bytes = sampleBatch();
      bytes.writeInt16BE(codecId, 21);
      fixCrc(bytes);
      expect(() => decodeRecordBatch(bytes)).toThrow(UnsupportedCompressionError);
      expect(() => readBatchHeader(bytes)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_COMPRESSION_TYPE', codecId }));
    }
  });

  it('random bytes only ever throw RecordsError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (bytes) => {
        expect(() => decodeRecordBatches(bytes)).toThrow(RecordsError);
      }),
      { numRuns: 300 },
    );
  });

  it('random records sections behind a valid header and CRC either decode or throw RecordsError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ALL_CODECS),
        fc.integer({ min: 0, max: 40 }),
        fc.uint8Array({ maxLength: 200 }),
        (codec, count, body) => {
          const header = encodeRecordBatch({ compression: 'none', records: [] });
          const bytes = Buffer.concat([header, body]);
          bytes.writeInt32BE(bytes.length - 12, 8);
          bytes.writeInt16BE(ALL_CODECS.indexOf(codec), 21);
          bytes.writeInt32BE(count, 57);
          try {
            const batch = decodeRecordBatch(fixCrc(bytes));
            expect(batch.records.length).toBe(count);
          } catch (error) {
            expect(error).toBeInstanceOf(RecordsError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random mutations behind a valid CRC either decode or throw RecordsError, for every codec', () => {
    fc.assert(
      fc.property(
        recordBatch,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        (batch, mutations) => {
          const bytes = encodeRecordBatch(batch);
          for (const [at, xor] of mutations) {
            const i = 21 + (at % (bytes.length - 21));
            bytes[i] = bytes[i]! ^ xor;
          }
          fixCrc(bytes);
          try {
            decodeRecordBatch(bytes);
          } catch (error) {
            expect(error).toBeInstanceOf(RecordsError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('header fields outside the safe integer range are reported, not rounded', () => {
    const bytes = sampleBatch();
    bytes.writeBigInt64BE(2n ** 62n, 27); // firstTimestamp
    expect(() => readBatchHeader(fixCrc(bytes))).toThrow(/first timestamp outside the JS safe integer range/);
  });
});
