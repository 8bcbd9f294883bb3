/**
 * The reader's page sizes over the chunk chain (shared/log/read-pages.ts): never more than the
 * reader can use or one DynamoDB page holds, and, over chunks of one size, enough that the byte
 * limit ends the read inside the page.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  batchEntryOverheadBytes,
  chunkItemOverheadBytes,
  largestPage,
  nextPageSize,
  nothingSeen,
  queryPageBytes,
  withChunk,
} from '../../shared/log/read-pages';

/** `count` chunks of `batches` inline batches of `size` stored bytes each. */
function seenOf(count: number, batches: number, size: number, inline: boolean) {
  let seen = nothingSeen;
  const chunk = Array.from({ length: batches }, () => ({ sizeBytes: size, ...(inline ? { bytes: new Uint8Array(size) } : {}) }));
  for (let i = 0; i < count; i++) seen = withChunk(seen, chunk);
  return seen;
}

const shape = fc.record({
  count: fc.integer({ min: 0, max: 50 }),
  batches: fc.integer({ min: 1, max: 128 }),
  size: fc.integer({ min: 70, max: 400_000 }),
  inline: fc.boolean(),
  planned: fc.integer({ min: 1, max: 5000 }),
  records: fc.integer({ min: -5, max: 200_000 }),
  bytes: fc.option(fc.integer({ min: -1000, max: 10_000_000 }), { nil: undefined }),
});

describe('nextPageSize', () => {
  it('asks for at least one chunk and never more than a page, the records needed, or (before any chunk is seen) the planned size', () => {
    fc.assert(
      fc.property(shape, ({ count, batches, size, inline, planned, records, bytes }) => {
        const seen = seenOf(count, batches, size, inline);
        const page = nextPageSize(planned, seen, { records, ...(bytes !== undefined ? { storedBytes: bytes } : {}) });
        expect(Number.isInteger(page)).toBe(true);
        expect(page).toBeGreaterThanOrEqual(1);
        expect(page).toBeLessThanOrEqual(Math.max(1, Math.min(largestPage, records)));
        if (count === 0 || bytes === undefined) expect(page).toBeLessThanOrEqual(Math.max(1, planned));
      }),
    );
  });

  it('over chunks of one size, a page of them fits in one DynamoDB page, and covers the bytes wanted and the chunk that ends the read', () => {
    fc.assert(
      fc.property(shape, ({ count, batches, size, inline, planned, records, bytes }) => {
        fc.pre(count > 0);
        const seen = seenOf(count, batches, size, inline);
        const needs = { records, ...(bytes !== undefined ? { storedBytes: bytes } : {}) };
        const page = nextPageSize(planned, seen, needs);
        const itemBytes = (inline ? batches * size : 0) + chunkItemOverheadBytes + batches * batchEntryOverheadBytes;
        if (page > 1) expect(page * itemBytes).toBeLessThanOrEqual(queryPageBytes);
        if (bytes !== undefined) {
          const chunkBytes = batches * size;
          const enough = Math.floor(Math.max(0, bytes) / chunkBytes) + 1;
          const fits = Math.max(1, Math.floor(queryPageBytes / itemBytes));
          expect(page).toBeGreaterThanOrEqual(Math.min(enough, fits, largestPage, Math.max(1, records)));
        }
      }),
    );
  });

  it('a 1 MiB fetch over single-record chunks of 1 KiB records asks, after the first 16, for one page that fits and then the rest', () => {
    const size = 1094;
    const after16 = seenOf(16, 1, size, true);
    const second = nextPageSize(64, after16, { records: 100_000, storedBytes: 1_048_576 - 16 * size });
    // Such a chunk item weighs ~1,442 bytes: 727 fit in DynamoDB's 1 MB page.
    expect(second * 1442).toBeLessThanOrEqual(queryPageBytes);
    expect(second).toBeGreaterThan(600);
    const read = 16 + second;
    const third = nextPageSize(256, seenOf(read, 1, size, true), { records: 100_000, storedBytes: 1_048_576 - read * size });
    // The bytes left need 958 - read chunks, and one more that ends the read: a few more, not 1,000.
    expect(read + third).toBeGreaterThan(958);
    expect(read + third).toBeLessThan(1010);
  });

  it('without a byte limit, pages keep the planned growth, capped by what one page holds', () => {
    expect(nextPageSize(64, seenOf(16, 1, 1094, true), { records: 100_000 })).toBe(64);
    // 32 KiB chunks: about 31 fit in a page.
    const page = nextPageSize(1000, seenOf(16, 30, 1094, true), { records: 100_000 });
    expect(page).toBeGreaterThan(25);
    expect(page).toBeLessThanOrEqual(32);
  });

  it('fences, stubs and empty chunks tell nothing about weight', () => {
    expect(withChunk(nothingSeen, [])).toBe(nothingSeen);
    expect(nextPageSize(16, nothingSeen, { records: 100_000, storedBytes: 1_048_576 })).toBe(16);
  });
});
