/**
 * Byte identity with KafkaJS (kafkajs/src/protocol/recordBatch/v0 and
 * record/v0), the reference the issue names. KafkaJS can only express
 * CreateTime, non-control batches with non-null header values and headers
 * grouped by key in object-key order, so the generators stay inside that.
 */
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { type RecordHeader, decodeRecordBatch, encodeRecordBatch } from '../../shared/records/index';
import { headerKey, safeInteger } from './arbitraries';
import { kafkajs } from './kafkajs';

const require = createRequire(import.meta.url);
const CODEC_IDS = { none: 0, gzip: 1 } as const;

interface CompatRecord {
  key: Buffer | null;
  value: Buffer | null;
  headerPairs: Array<[string, Buffer]>;
  timestampDelta: number;
}

/** KafkaJS takes headers as an object; duplicates become arrays, and Object.keys order wins. */
function kafkajsHeaders(pairs: Array<[string, Buffer]>): Record<string, Buffer | Buffer[]> {
  const headers: Record<string, Buffer | Buffer[]> = Object.create(null);
  for (const [key, value] of pairs) {
    const existing = headers[key];
    headers[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return headers;
}

/** The header list KafkaJS actually writes for that object (record/v0's flatMap). */
function headersAsWritten(headers: Record<string, Buffer | Buffer[]>): RecordHeader[] {
  return Object.keys(headers).flatMap((key) => {
    const value = headers[key]!;
    return Array.isArray(value) ? value.map((v) => ({ key, value: v })) : [{ key, value }];
  });
}

const buffer = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));
const compatRecord: fc.Arbitrary<CompatRecord> = fc.record({
  key: fc.option(buffer, { nil: null }),
  value: fc.option(buffer, { nil: null }),
  headerPairs: fc.array(fc.tuple(fc.oneof(headerKey, fc.constantFrom('dup', '1', '10')), buffer), { maxLength: 5 }),
  timestampDelta: fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 2 ** 40 })),
});

const compatBatch = fc.record({
  compression: fc.constantFrom('none' as const, 'gzip' as const),
  baseOffset: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 50 })),
  firstTimestamp: fc.oneof(
    fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
    safeInteger.filter((t) => t < 2 ** 52),
  ),
  partitionLeaderEpoch: fc.integer({ min: -1, max: 1000 }),
  transactional: fc.boolean(),
  producerId: fc.oneof(fc.constant(-1), fc.maxSafeInteger()),
  producerEpoch: fc.integer({ min: -1, max: 0x7fff }),
  firstSequence: fc.integer({ min: -1, max: 0x7fffffff }),
  records: fc.array(compatRecord, { maxLength: 10 }),
});

type CompatBatch = typeof compatBatch extends fc.Arbitrary<infer T> ? T : never;

async function encodeBoth(b: CompatBatch): Promise<{ ours: Buffer; theirs: Buffer }> {
  const timestamps = b.records.map((r) => b.firstTimestamp + r.timestampDelta);
  const maxTimestamp = timestamps.length ? Math.max(...timestamps) : b.firstTimestamp;
  const lastOffsetDelta = b.records.length - 1;
  const theirs = await kafkajs.RecordBatch({
    compression: CODEC_IDS[b.compression],
    firstOffset: kafkajs.Long.fromValue(b.baseOffset),
    firstTimestamp: b.firstTimestamp,
    maxTimestamp,
    partitionLeaderEpoch: b.partitionLeaderEpoch,
    lastOffsetDelta,
    transactional: b.transactional,
    producerId: kafkajs.Long.fromValue(b.producerId),
    producerEpoch: b.producerEpoch,
    firstSequence: b.firstSequence,
    records: b.records.map((r, i) =>
      kafkajs.Record({
        offsetDelta: i,
        timestampDelta: r.timestampDelta,
        key: r.key,
        value: r.value,
        headers: kafkajsHeaders(r.headerPairs),
      }),
    ),
  });
  const ours = encodeRecordBatch({
    compression: b.compression,
    baseOffset: b.baseOffset,
    firstTimestamp: b.firstTimestamp,
    maxTimestamp,
    partitionLeaderEpoch: b.partitionLeaderEpoch,
    lastOffsetDelta,
    isTransactional: b.transactional,
    producerId: b.producerId,
    producerEpoch: b.producerEpoch,
    baseSequence: b.firstSequence,
    records: b.records.map((r, i) => ({
      key: r.key,
      value: r.value,
      headers: headersAsWritten(kafkajsHeaders(r.headerPairs)),
      timestamp: timestamps[i]!,
    })),
  });
  return { ours, theirs: theirs.buffer };
}

describe('byte identity with KafkaJS', () => {
  it('writes the same bytes as KafkaJS for uncompressed and gzip batches', async () => {
    await fc.assert(
      fc.asyncProperty(compatBatch, async (b) => {
        const { ours, theirs } = await encodeBoth(b);
        expect(ours.toString('hex')).toBe(theirs.toString('hex'));
      }),
      { numRuns: 200 },
    );
  });

  it('KafkaJS decodes what we write (none and gzip: the codecs KafkaJS has built in)', async () => {
    await fc.assert(
      fc.asyncProperty(compatBatch, async (b) => {
        const { ours } = await encodeBoth(b);
        const theirs = await kafkajs.decodeRecordBatch(new kafkajs.Decoder(ours));
        const mine = decodeRecordBatch(ours);
        expect(theirs.firstOffset).toBe(String(mine.baseOffset));
        expect(theirs.maxTimestamp).toBe(String(mine.maxTimestamp));
        expect(theirs.producerId).toBe(String(mine.producerId));
        expect(theirs.inTransaction).toBe(mine.isTransactional);
        expect(
          theirs.records.map((r) => [r.offset, r.timestamp, r.key?.toString('hex') ?? null, r.value?.toString('hex') ?? null]),
        ).toEqual(
          mine.records.map((r) => [
            String(r.offset),
            String(r.timestamp),
            r.key && Buffer.from(r.key).toString('hex'),
            r.value && Buffer.from(r.value).toString('hex'),
          ]),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('matches the record batch inside a KafkaJS Produce v3 request', async () => {
    const produceRequest = require('kafkajs/src/protocol/requests/produce/v3/request') as (args: unknown) => {
      encode(): Promise<{ buffer: Buffer }>;
    };
    const messages = [
      {
        key: Buffer.from('user-1'),
        value: Buffer.from('{"event":"signup"}'),
        headers: { source: Buffer.from('web') },
        timestamp: 1_700_000_000_123,
      },
      { key: null, value: Buffer.from('no key'), headers: {}, timestamp: 1_700_000_000_100 },
      { key: Buffer.from('user-2'), value: null, headers: { a: [Buffer.from('1'), Buffer.from('2')] }, timestamp: 1_700_000_000_200 },
    ];
    for (const [compression, codec] of [
      ['none', 0],
      ['gzip', 1],
    ] as const) {
      const request = await produceRequest({
        acks: -1,
        timeout: 30000,
        compression: codec,
        topicData: [{ topic: 'orders', partitions: [{ partition: 3, firstSequence: 0, messages }] }],
      }).encode();
      // transactionalId(int16 -1) acks(2) timeout(4) topics(4) topic(2+6) partitions(4) partition(4) size(4)
      const at = 2 + 2 + 4 + 4 + 2 + 'orders'.length + 4 + 4;
      const size = request.buffer.readInt32BE(at);
      const theirs = request.buffer.subarray(at + 4, at + 4 + size);
      const ours = encodeRecordBatch({
        compression,
        partitionLeaderEpoch: 0,
        producerEpoch: 0,
        baseSequence: 0,
        records: messages.map((m) => ({
          key: m.key,
          value: m.value,
          timestamp: m.timestamp,
          headers: Object.entries(m.headers).flatMap(([key, v]) => (Array.isArray(v) ? v : [v]).map((value) => ({ key, value }))),
        })),
      });
      expect(ours.toString('hex')).toBe(theirs.toString('hex'));
    }
  });
});
