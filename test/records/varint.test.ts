import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptRecordError } from '../../shared/records/errors';
import {
  type ByteCursor,
  readVarint,
  readVarlongPlus,
  sizeOfVarint,
  sizeOfVarlongDelta,
  writeVarint,
  writeVarlongDelta,
} from '../../shared/records/varint';
import { kafkajs } from './kafkajs';

function cursor(bytes: Uint8Array): ByteCursor {
  return {
    bytes,
    pos: 0,
    end: bytes.length,
    fail(detail: string): never {
      throw new CorruptRecordError(detail, { position: this.pos });
    },
  };
}

function encodeVarint(value: number): Uint8Array {
  const buf = new Uint8Array(sizeOfVarint(value));
  expect(writeVarint(buf, 0, value)).toBe(buf.length);
  return buf;
}

function encodeVarlongDelta(to: number, from: number): Uint8Array {
  const buf = new Uint8Array(sizeOfVarlongDelta(to, from));
  expect(writeVarlongDelta(buf, 0, to, from)).toBe(buf.length);
  return buf;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('varint (zigzag int32)', () => {
  // Kafka's ByteUtilsTest.testVarintSerde vectors.
  it.each([
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [63, '7e'],
    [-64, '7f'],
    [64, '8001'],
    [-65, '8101'],
    [8191, 'fe7f'],
    [-8192, 'ff7f'],
    [8192, '808001'],
    [-8193, '818001'],
    [1048575, 'feff7f'],
    [-1048576, 'ffff7f'],
    [1048576, '80808001'],
    [-1048577, '81808001'],
    [134217727, 'feffff7f'],
    [-134217728, 'ffffff7f'],
    [134217728, '8080808001'],
    [-134217729, '8180808001'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
  ])('%i <-> %s', (value, expected) => {
    expect(hex(encodeVarint(value))).toBe(expected);
    expect(readVarint(cursor(Buffer.from(expected, 'hex')))).toBe(value);
  });

  it('matches KafkaJS for any int32 and round-trips', () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), (value) => {
        const ours = encodeVarint(value);
        expect(hex(ours)).toBe(new kafkajs.Encoder().writeVarInt(value).buffer.toString('hex'));
        const c = cursor(ours);
        expect(readVarint(c)).toBe(value);
        expect(c.pos).toBe(ours.length);
      }),
    );
  });

  it('rejects truncated and over-long varints', () => {
    expect(() => readVarint(cursor(Buffer.from('', 'hex')))).toThrow(/truncated varint/);
    expect(() => readVarint(cursor(Buffer.from('8080', 'hex')))).toThrow(/truncated varint/);
    expect(() => readVarint(cursor(Buffer.from('808080808001', 'hex')))).toThrow(/longer than 5 bytes/);
  });
});

describe('varlong (zigzag int64) timestamp deltas', () => {
  it.each([
    [0, 0, '00'],
    [0, 1, '01'],
    [2 ** 31, 0, '8080808010'],
    [Number.MAX_SAFE_INTEGER, 0, 'feffffffffffff1f'],
    [Number.MIN_SAFE_INTEGER, 0, 'fdffffffffffff1f'],
    // The difference 2^54 - 2 is past 2^53: written exactly through the BigInt path.
    [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 'fcffffffffffff3f'],
    [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'fbffffffffffff3f'],
  ])('%i - %i <-> %s', (to, from, expected) => {
    expect(hex(encodeVarlongDelta(to, from))).toBe(expected);
    expect(readVarlongPlus(cursor(Buffer.from(expected, 'hex')), from)).toBe(to);
  });

  it('matches KafkaJS (BigInt-based) for any pair of safe integers and round-trips', () => {
    const safe = fc.oneof(fc.maxSafeInteger(), fc.integer({ min: -1000, max: 1000 }), fc.integer());
    fc.assert(
      fc.property(safe, safe, (to, from) => {
        const ours = encodeVarlongDelta(to, from);
        const reference = new kafkajs.Encoder().writeVarLong(kafkajs.Long.fromValue(BigInt(to) - BigInt(from)));
        expect(hex(ours)).toBe(reference.buffer.toString('hex'));
        const c = cursor(ours);
        expect(readVarlongPlus(c, from)).toBe(to);
        expect(c.pos).toBe(ours.length);
      }),
      { numRuns: 500 },
    );
  });

  it('reads 10-byte varlongs (int64 extremes) and rejects unsafe results', () => {
    const longMax = new kafkajs.Encoder().writeVarLong(kafkajs.Long.fromValue(2n ** 63n - 1n)).buffer;
    expect(hex(longMax)).toBe('feffffffffffffffff01');
    expect(() => readVarlongPlus(cursor(longMax), 0)).toThrow(/safe integer/);
    const longMin = new kafkajs.Encoder().writeVarLong(kafkajs.Long.fromValue(-(2n ** 63n))).buffer;
    expect(() => readVarlongPlus(cursor(longMin), 0)).toThrow(/safe integer/);
    // A delta beyond 2^53 is fine as long as base + delta is safe.
    const bigDelta = new kafkajs.Encoder().writeVarLong(kafkajs.Long.fromValue(2n ** 54n - 2n)).buffer;
    expect(readVarlongPlus(cursor(bigDelta), Number.MIN_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('rejects truncated and over-long varlongs', () => {
    expect(() => readVarlongPlus(cursor(Buffer.from('ffffffff', 'hex')), 0)).toThrow(/truncated varlong/);
    expect(() => readVarlongPlus(cursor(Buffer.from('ffffffffffffffffff', 'hex')), 0)).toThrow(/truncated varlong/);
    expect(() => readVarlongPlus(cursor(Buffer.from('ffffffffffffffffffff01', 'hex')), 0)).toThrow(/longer than 10 bytes/);
  });
});
