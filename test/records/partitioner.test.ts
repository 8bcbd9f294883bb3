import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRequestPartitioner, murmur2, partitionForKey, toPositive } from '../../shared/records/index';
import { seededRandom } from './arbitraries';
import { kafkajs } from './kafkajs';

describe('murmur2', () => {
  // Kafka's UtilsTest.testMurmur2 (the Java client's own vectors).
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('murmur2(%j) = %i as in Java', (key, expected) => {
    expect(murmur2(Buffer.from(key))).toBe(expected);
    expect(murmur2(key)).toBe(expected);
  });

  it("matches KafkaJS's Java-compatible murmur2 on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (key) => {
        expect(murmur2(key)).toBe(kafkajs.murmur2(Buffer.from(key)));
      }),
      { numRuns: 500 },
    );
  });

  it('hashes strings as UTF-8', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), (key) => {
        expect(murmur2(key)).toBe(murmur2(Buffer.from(key, 'utf8')));
      }),
      { numRuns: 100 },
    );
  });
});

describe('partitionForKey', () => {
  it('toPositive clears the sign bit (not Math.abs)', () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(5)).toBe(5);
  });

  it.each([
    // toPositive(murmur2(key)) % n computed from the Java vectors above.
    ['21', 12, (-973932308 & 0x7fffffff) % 12],
    ['foobar', 7, (-790332482 & 0x7fffffff) % 7],
    ['abc', 3, 479470107 % 3],
  ])('key %j over %i partitions', (key, n, expected) => {
    expect(partitionForKey(Buffer.from(key), n)).toBe(expected);
  });

  it("agrees with KafkaJS's DefaultPartitioner for every keyed message", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 1, max: 1000 }), (key, n) => {
        const partitioner = kafkajs.DefaultPartitioner();
        const partitionMetadata = Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 1 }));
        const expected = partitioner({ topic: 't', partitionMetadata, message: { key: Buffer.from(key) } });
        expect(partitionForKey(key, n)).toBe(expected);
        expect(createRequestPartitioner(n)(key)).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a non-positive partition count', () => {
    expect(() => partitionForKey(Buffer.from('k'), 0)).toThrow(RangeError);
    expect(() => createRequestPartitioner(1.5)).toThrow(RangeError);
  });
});

describe('createRequestPartitioner (sticky null keys)', () => {
  it('sends every null-key record of one request to the same partition, keyed records by hash', () => {
    const partition = createRequestPartitioner(8, () => 0.6);
    expect([null, null, Buffer.from('21'), null].map((key) => partition(key))).toEqual([4, 4, partitionForKey('21', 8), 4]);
  });

  it('draws the random partition only once, and only when a null key appears', () => {
    let draws = 0;
    const partition = createRequestPartitioner(5, () => {
      draws++;
      return 0.99;
    });
    partition(Buffer.from('a'));
    expect(draws).toBe(0);
    partition(null);
    partition(null);
    expect(draws).toBe(1);
  });

  it('stays in range even for a random source that returns 1', () => {
    expect(createRequestPartitioner(3, () => 1)(null)).toBe(2);
    expect(createRequestPartitioner(3, () => 0)(null)).toBe(0);
  });

  it('spreads requests evenly across partitions', () => {
    const partitions = 12;
    const requests = 24_000;
    const random = seededRandom(7);
    const counts = new Array<number>(partitions).fill(0);
    for (let i = 0; i < requests; i++) counts[createRequestPartitioner(partitions, random)(null)]!++;
    const expected = requests / partitions;
    // Chi-square with 11 degrees of freedom: 31.3 is the 0.001 critical value.
    const chiSquare = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(chiSquare).toBeLessThan(31.3);
    expect(Math.min(...counts)).toBeGreaterThan(expected * 0.9);
  });

  it('uses Math.random by default', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) seen.add(createRequestPartitioner(4)(null));
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });
});
