/**
 * The packed chunk entry (shared/log/chunks.ts): every entry a writer can store comes back as it
 * went in, the map form the first layout-2 writers stored still reads, and a packed entry is
 * smaller in DynamoDB's accounting than the map it replaces.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ChunkEntry,
  type ChunkItem,
  batchesOfChunk,
  decodeChunkEntry,
  encodeChunkEntry,
  entriesOfChunk,
  ownBatchOffset,
} from '../../shared/log/chunks';
import { itemSize } from '../../bench/cost';

const timestamp = fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 2 ** 53 - 1 }));
const entryArbitrary: fc.Arbitrary<ChunkEntry> = fc
  .record(
    {
      recordCount: fc.integer({ min: 1, max: 2 ** 31 }),
      sizeBytes: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      firstTimestamp: timestamp,
      maxTimestamp: timestamp,
      appendedAt: fc.integer({ min: 0, max: 2 ** 53 - 1 }),
      tombstonesSeenAt: fc.integer({ min: 0, max: 2 ** 53 - 1 }),
      writeId: fc.string({ maxLength: 40 }),
      where: fc.oneof(
        fc.uint8Array({ maxLength: 2000 }).map((bytes) => ({ bytes })),
        fc.record({
          segmentKey: fc.string({ minLength: 1, maxLength: 200 }),
          segmentPosition: fc.integer({ min: 0, max: 2 ** 40 }),
          segmentBatches: fc.integer({ min: 1, max: 100_000 }),
        }),
      ),
    },
    { requiredKeys: ['recordCount', 'sizeBytes', 'firstTimestamp', 'maxTimestamp', 'appendedAt', 'where'] },
  )
  .map(({ where, ...rest }) => ({ ...rest, ...where }));

const normalized = (entry: ChunkEntry) => ({ ...entry, ...(entry.bytes ? { bytes: Buffer.from(entry.bytes) } : {}) });

describe('packed chunk entries', () => {
  it('decode to the entry that was encoded', () => {
    fc.assert(
      fc.property(entryArbitrary, (entry) => {
        expect(normalized(decodeChunkEntry(encodeChunkEntry(entry)))).toEqual(normalized(entry));
      }),
      { numRuns: 500 },
    );
  });

  it('read the same through batchesOfChunk and ownBatchOffset as the map form does', () => {
    fc.assert(
      fc.property(fc.array(entryArbitrary, { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 1e9 }), (entries, baseOffset) => {
        const withIds = entries.map((e, i) => ({ ...e, writeId: `w${i}` }));
        const asMaps: ChunkItem = { partitionKey: 't:0', baseOffset, batches: withIds, writeIds: new Set(withIds.map((e) => e.writeId)) };
        const packed: ChunkItem = { ...asMaps, batches: withIds.map(encodeChunkEntry) };
        const strip = (items: ReturnType<typeof batchesOfChunk>) =>
          items.map(({ bytes, ...rest }) => ({ ...rest, bytes: bytes && Buffer.from(bytes) }));
        expect(strip(batchesOfChunk(packed))).toEqual(strip(batchesOfChunk(asMaps)));
        const last = withIds.length - 1;
        expect(ownBatchOffset(packed, `w${last}`)).toBe(ownBatchOffset(asMaps, `w${last}`));
        expect(ownBatchOffset(packed, 'absent')).toBeUndefined();
        expect(entriesOfChunk(packed).map((e) => e.writeId)).toEqual(withIds.map((e) => e.writeId));
      }),
      { numRuns: 200 },
    );
  });

  it('are smaller in DynamoDB item size than the map form', () => {
    const entry: ChunkEntry = {
      recordCount: 1,
      sizeBytes: 1100,
      firstTimestamp: 1_764_000_000_000,
      maxTimestamp: 1_764_000_000_000,
      appendedAt: 1_764_000_000_123,
      writeId: 'AbCdEfGhIjKl',
      bytes: new Uint8Array(1100),
    };
    const size = (batches: unknown[]) => itemSize({ batches });
    // 1,100 bytes of batch either way; the map spends ~70 bytes on attribute names.
    expect(size([entry]) - size([encodeChunkEntry(entry)])).toBeGreaterThan(30);
    expect(size([encodeChunkEntry(entry)])).toBeLessThan(size([entry]));
  });

  it('refuse a format they do not know, saying so', () => {
    const future = Buffer.from(encodeChunkEntry({ recordCount: 1, sizeBytes: 0, firstTimestamp: 0, maxTimestamp: 0, appendedAt: 0 }));
    future[0] = 9;
    expect(() => decodeChunkEntry(future)).toThrow(/unknown format \(version 9\)/);
  });
});
