/**
 * The offset-for-timestamp search on the chunk chain (shared/log/time-search.ts), against a
 * brute-force model: random chains with out-of-order and far-future timestamps, records compacted
 * away (with the stored maxima kept or lowered), a prefix of stubs retention left (with or
 * without their headers), any log start and high watermark (a head read before or after a sweep,
 * an open chunk that grew since). The answer is always the earliest live record at or after T,
 * in at most log2(n) + 1 probes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BatchSummary,
  type ChainReader,
  type ChunkSummary,
  findOffsetForTimestamp,
  narrow,
  nextProbe,
  startSearch,
} from '../../shared/log/time-search';

interface ModelRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly live: boolean;
}
interface ModelBatch extends BatchSummary {
  readonly records: readonly ModelRecord[];
}
interface ModelChunk extends ChunkSummary {
  readonly batches: readonly ModelBatch[];
}

interface Scenario {
  readonly chain: readonly ModelChunk[];
  readonly end: number;
}

const timestamp = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 0, max: 100 }) }, { weight: 1, arbitrary: fc.constant(1_000) });

const shape = fc.record({
  chunks: fc.array(fc.array(fc.array(timestamp, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }), { maxLength: 30 }),
  /** A zero-record chunk at the head: a fence, or the empty open chunk a filling writer put. */
  emptyHead: fc.boolean(),
  removed: fc.uniqueArray(fc.nat({ max: 300 }), { maxLength: 60 }),
  lowerMaxima: fc.boolean(),
  stubs: fc.nat(),
  stubsKeepHeader: fc.boolean(),
  hw: fc.double({ min: 0, max: 1, noNaN: true }),
  logStart: fc.double({ min: 0, max: 1, noNaN: true }),
  at: fc.integer({ min: -2, max: 1_002 }),
});

type Shape = typeof shape extends fc.Arbitrary<infer T> ? T : never;

function build(s: Shape): Scenario {
  const removed = new Set(s.removed);
  const chain: ModelChunk[] = [];
  let offset = 0;
  let before = -1;
  const stubCount = s.stubs % (s.chunks.length + 1);
  s.chunks.forEach((timestamps, i) => {
    const baseOffset = offset;
    const batches: ModelBatch[] = timestamps.map((batch) => {
      const records = batch.map((t) => ({ offset: offset++, timestamp: t, live: !removed.has(offset - 1) }));
      const stored = Math.max(...records.map((r) => r.timestamp));
      const live = Math.max(-1, ...records.filter((r) => r.live).map((r) => r.timestamp));
      return {
        baseOffset: records[0]!.offset,
        lastOffset: records.at(-1)!.offset,
        maxTimestamp: s.lowerMaxima ? live : stored,
        records,
      };
    });
    const storedThrough = Math.max(before, ...timestamps.flat());
    // maxTimestampBefore is written at append and never lowered; compaction may lower the chunk's own maxima.
    const through = Math.max(before, ...batches.map((b) => b.maxTimestamp));
    const stub = i < stubCount;
    chain.push(
      stub
        ? {
            baseOffset,
            end: s.stubsKeepHeader ? offset : baseOffset,
            stub,
            maxTimestampThrough: s.stubsKeepHeader ? through : -1,
            batches: [],
          }
        : { baseOffset, end: offset, stub, maxTimestampThrough: through, batches },
    );
    before = storedThrough;
  });
  if (s.emptyHead) chain.push({ baseOffset: offset, end: offset, stub: false, maxTimestampThrough: before, batches: [] });
  return { chain, end: offset };
}

const readerOf = (chain: readonly ModelChunk[]): ChainReader<ModelChunk, ModelBatch> => ({
  async chunkAtOrBefore(offset) {
    return chain.filter((c) => c.baseOffset <= offset).at(-1);
  },
  async *chunksAfter(baseOffset) {
    yield* chain.filter((c) => c.baseOffset > baseOffset);
  },
  batchesOf: (chunk) => chunk.batches,
  async recordsOf(batch) {
    return batch.records.filter((r) => r.live);
  },
});

function bruteForce(chain: readonly ModelChunk[], at: number, logStart: number, hw: number): number | null {
  for (const chunk of chain) {
    for (const batch of chunk.batches) {
      for (const r of batch.records) if (r.live && r.offset >= logStart && r.offset < hw && r.timestamp >= at) return r.offset;
    }
  }
  return null;
}

describe('offset for a timestamp on the chunk chain', () => {
  it('answers the earliest live record at or after T, in at most log2(n) + 1 probes', async () => {
    await fc.assert(
      fc.asyncProperty(shape, async (s) => {
        const { chain, end } = build(s);
        const hw = Math.round(s.hw * end);
        const logStart = Math.round(s.logStart * hw);
        const found = await findOffsetForTimestamp(readerOf(chain), s.at, logStart, hw);
        expect(found.offset).toBe(bruteForce(chain, s.at, logStart, hw));
        const n = hw - logStart;
        expect(found.probes).toBeLessThanOrEqual(n > 0 ? Math.floor(Math.log2(n)) + 1 : 0);
        // Nothing removed and the log starting at 0: the chunk found holds the answer, and only one batch is decoded.
        if (s.removed.length === 0 && s.stubs % (s.chunks.length + 1) === 0 && logStart === 0) {
          expect(found.chunksScanned).toBe(0);
          expect(found.batchesDecoded).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 3_000 },
    );
  });

  it('finds the first live batch after a far-future record that retention removed, without a walk', async () => {
    // Chunk 0 (retained away) set the running maximum far in the future: every later chunk's running maximum reaches any T.
    const chain: ModelChunk[] = [{ baseOffset: 0, end: 1, stub: true, maxTimestampThrough: 9e12, batches: [] }];
    for (let i = 1; i <= 1_000; i++) {
      const records = [{ offset: i, timestamp: 1_000 + i, live: true }];
      chain.push({
        baseOffset: i,
        end: i + 1,
        stub: false,
        maxTimestampThrough: 9e12,
        batches: [{ baseOffset: i, lastOffset: i, maxTimestamp: 1_000 + i, records }],
      });
    }
    const found = await findOffsetForTimestamp(readerOf(chain), 1_500, 1, 1_001);
    expect(found.offset).toBe(500);
    expect(found.probes).toBeLessThanOrEqual(10);
    // The search lands on the first live chunk; the scan then reads on to the record: the cost of a running maximum set by a removed record.
    expect(found.chunksScanned).toBe(499);
  });

  it('narrows: a chunk reaching T bounds the search from above, one below T or a stub from below', () => {
    const search = startSearch<ChunkSummary>(0, 100);
    const probe = nextProbe(search)!;
    expect(probe).toBe(50);
    const reaching = { baseOffset: 40, end: 60, stub: false, maxTimestampThrough: 10 };
    expect(narrow(search, probe, reaching, 10)).toEqual({ lo: 0, hi: 40, best: reaching });
    expect(narrow(search, probe, reaching, 11)).toEqual({ lo: 60, hi: 100 });
    expect(narrow(search, probe, { ...reaching, stub: true }, 10)).toEqual({ lo: 60, hi: 100 });
    expect(narrow(search, probe, undefined, 10)).toEqual({ lo: 51, hi: 100 });
    expect(nextProbe({ lo: 5, hi: 5 })).toBeUndefined();
  });
});
