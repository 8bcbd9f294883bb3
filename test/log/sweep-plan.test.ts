/**
 * The pure decisions of retention and compaction on the chunk chain (shared/log/sweep-plan.ts):
 * which chunks may become stubs, where the next pass may start reading, which batches
 * compaction may rewrite, and what the rewritten chunk keeps. Property tests over random
 * chains, log starts and sequences of passes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chunkStubTtlSeconds,
  type ChunkEntry,
  type ChunkItem,
  encodeChunkEntry,
  entriesOfChunk,
  ownBatchOffset,
} from '../../shared/log/chunks';
import {
  type ChunkRange,
  batchesToDelete,
  breaches,
  chunksToStub,
  growingPageSize,
  mayRewrite,
  rewrittenChunk,
  stubbedBelowAfter,
  stubItem,
  stubTtlSeconds,
} from '../../shared/log/sweep-plan';

interface ModelChunk extends ChunkRange {
  stub: boolean;
}

/** A chain from record counts: every chunk but the last holds at least one record (a zero-record chunk is only ever the head). */
function chainOf(counts: readonly number[]): ModelChunk[] {
  let offset = 0;
  return counts.map((count, i) => {
    const recordCount = i < counts.length - 1 ? Math.max(1, count) : count;
    const chunk = { baseOffset: offset, end: offset + recordCount, stub: false };
    offset += recordCount;
    return chunk;
  });
}

const chains = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 30 }).map(chainOf);

/** The chunk a reader looks in for an offset: the greatest key at or below it. */
const chunkAtOrBefore = (chain: readonly ModelChunk[], offset: number) => chain.filter((c) => c.baseOffset <= offset).at(-1);

describe('which chunks retention stubs', () => {
  it('never the last chunk, never one reaching the log start, never a stub; every other chunk below the log start', () => {
    fc.assert(
      fc.property(chains, fc.nat(), fc.array(fc.boolean(), { maxLength: 30 }), (chain, startSeed, stubbed) => {
        const highWatermark = chain.at(-1)!.end;
        const logStart = startSeed % (highWatermark + 1);
        const last = chain.at(-1)!;
        // Chunks an earlier pass stubbed: only ones entirely below the log start, never the last.
        chain.forEach((c, i) => {
          c.stub = Boolean(stubbed[i]) && c !== last && c.end <= logStart;
        });
        const chosen = chunksToStub(chain, last.baseOffset, logStart);
        for (const c of chosen) {
          expect(c).not.toBe(last);
          expect(c.stub).toBe(false);
          expect(c.end).toBeLessThanOrEqual(logStart);
        }
        for (const c of chain) {
          if (!c.stub && c !== last && c.end <= logStart) expect(chosen).toContain(c);
        }
        // A reader of any offset the log still holds finds its chunk whole.
        for (let offset = logStart; offset < highWatermark; offset++) {
          const holder = chain.find((c) => c.baseOffset <= offset && offset < c.end)!;
          expect(chosen).not.toContain(holder);
          expect(holder.stub).toBe(false);
        }
      }),
    );
  });

  it('a stale view of the last chunk only keeps more', () => {
    fc.assert(
      fc.property(chains, fc.nat(), fc.nat(), (chain, startSeed, staleSeed) => {
        const logStart = startSeed % (chain.at(-1)!.end + 1);
        const stale = chain[staleSeed % chain.length]!;
        const fresh = chunksToStub(chain, chain.at(-1)!.baseOffset, logStart);
        for (const c of chunksToStub(chain, stale.baseOffset, logStart)) expect(fresh).toContain(c);
      }),
    );
  });

  it('passes that read the chain only from stubbedBelow leave every chunk below the log start a stub, but the last', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.record({ appends: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }), advance: fc.nat(6) }), {
          minLength: 1,
          maxLength: 12,
        }),
        (initial, passes) => {
          const chain = chainOf(initial);
          let logStart = 0;
          let stubbedBelow = 0;
          for (const pass of passes) {
            // Writers append (a zero-record head is replaced, not followed).
            for (const count of pass.appends) {
              const head = chain.at(-1)!;
              if (head.end === head.baseOffset) chain.pop();
              chain.push({ baseOffset: head.end, end: head.end + count, stub: false });
            }
            const highWatermark = chain.at(-1)!.end;
            logStart = Math.min(highWatermark, logStart + pass.advance);
            const last = chain.at(-1)!;
            const from = chunkAtOrBefore(chain, Math.min(stubbedBelow, logStart))?.baseOffset ?? 0;
            const read = chain.filter((c) => c.baseOffset >= from);
            for (const c of chunksToStub(read, last.baseOffset, logStart)) c.stub = true;
            const below = stubbedBelowAfter(read, last.baseOffset, logStart);
            expect(below).toBeLessThanOrEqual(logStart);
            for (const c of chain) if (c.baseOffset < below) expect(c.stub).toBe(true);
            stubbedBelow = Math.max(stubbedBelow, below);
            for (const c of chain) {
              if (c !== last && c.end <= logStart) expect(c.stub).toBe(true);
              if (c.end > logStart || c === last) expect(c.stub).toBe(false);
            }
          }
        },
      ),
    );
  });

  it("a stub outlives every Idempotency-Key record that may name its chunk: a day, or the keys' retention if longer", () => {
    expect(stubTtlSeconds(24)).toBe(chunkStubTtlSeconds);
    expect(stubTtlSeconds(1)).toBe(chunkStubTtlSeconds);
    expect(stubTtlSeconds(72)).toBe(72 * 3600);
    fc.assert(
      fc.property(fc.double({ min: 0, max: 24 * 365, noNaN: true }), fc.integer({ min: 0, max: 2 ** 41 }), (hours, now) => {
        const stub = stubItem({ partitionKey: 't:0', baseOffset: 0 }, now, stubTtlSeconds(hours));
        // A claim made at `now` or before expires with its record at most `hours` later.
        expect(Number(stub.expiresAt)).toBeGreaterThanOrEqual(Math.floor(now / 1000) + hours * 3600);
        expect(Number(stub.expiresAt)).toBeGreaterThanOrEqual(Math.floor(now / 1000) + chunkStubTtlSeconds);
      }),
    );
  });

  it('a stub is the key, for a day, and where each batch landed by its write id', () => {
    const now = 1_700_000_000_123;
    const fence: ChunkItem = { partitionKey: 't:0', baseOffset: 42, recordCount: 0, sealed: true, configVersion: 3 };
    expect(stubItem(fence, now, chunkStubTtlSeconds)).toEqual({
      partitionKey: 't:0',
      baseOffset: 42,
      stub: true,
      expiresAt: Math.floor(now / 1000) + chunkStubTtlSeconds,
    });
    fc.assert(
      fc.property(
        fc.array(fc.record({ recordCount: fc.integer({ min: 1, max: 500 }), withId: fc.boolean() }), { minLength: 1, maxLength: 128 }),
        fc.integer({ min: 0, max: 1e12 }),
        (batches, baseOffset) => {
          const entries: ChunkEntry[] = batches.map(({ recordCount, withId }, i) => ({
            recordCount,
            sizeBytes: 10,
            firstTimestamp: 1,
            maxTimestamp: 1,
            appendedAt: 1,
            bytes: new Uint8Array(10),
            ...(withId ? { writeId: `w${i}` } : {}),
          }));
          const chunk: ChunkItem = {
            partitionKey: 't:0',
            baseOffset,
            recordCount: entries.reduce((sum, e) => sum + e.recordCount, 0),
            batches: entries.map(encodeChunkEntry),
            writeIds: new Set(entries.flatMap((e) => (e.writeId ? [e.writeId] : []))),
          };
          // A DynamoDB round trip: a map of numbers comes back as such.
          const stub = JSON.parse(JSON.stringify(stubItem(chunk, now, chunkStubTtlSeconds))) as ChunkItem;
          expect(stub).toMatchObject({ partitionKey: 't:0', baseOffset, stub: true });
          expect(stub.batches).toBeUndefined();
          for (const [i, e] of entries.entries()) {
            if (e.writeId) expect(ownBatchOffset(stub, e.writeId)).toBe(ownBatchOffset(chunk, e.writeId));
            else expect(ownBatchOffset(stub, `w${i}`)).toBeUndefined();
          }
          expect(ownBatchOffset(stub, 'toString')).toBeUndefined();
        },
      ),
    );
  });
});

describe('where the log start moves', () => {
  const batches = fc.array(fc.record({ maxTimestamp: fc.integer({ min: 0, max: 100 }), sizeBytes: fc.integer({ min: 1, max: 50 }) }), {
    maxLength: 20,
  });
  it('the longest prefix of batches that each breach a limit with the bytes held from them on', () => {
    fc.assert(
      fc.property(
        batches,
        fc.integer({ min: -1, max: 100 }),
        fc.integer({ min: -1, max: 500 }),
        fc.integer({ min: 0, max: 200 }),
        (bs, ms, bytes, now) => {
          const total = bs.reduce((sum, b) => sum + b.sizeBytes, 0);
          const count = batchesToDelete(bs, total, ms, bytes, now);
          let remaining = total;
          for (let i = 0; i < count; i++) {
            expect(breaches(bs[i]!, remaining, ms, bytes, now)).toBe(true);
            remaining -= bs[i]!.sizeBytes;
          }
          if (count < bs.length) expect(breaches(bs[count]!, remaining, ms, bytes, now)).toBe(false);
          if (bytes >= 0 && ms < 0) expect(remaining <= bytes || count === bs.length).toBe(true);
        },
      ),
    );
  });
});

describe('which batches compaction rewrites', () => {
  it('never the newest batch, never one in the last chunk, never one below the log start', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 4 }), { minLength: 1, maxLength: 10 }),
        fc.nat(),
        (shape, startSeed) => {
          const batches: { chunkBaseOffset: number; baseOffset: number; lastOffset: number }[] = [];
          let offset = 0;
          const keys: number[] = [];
          for (const chunk of shape) {
            const chunkBaseOffset = offset;
            keys.push(chunkBaseOffset);
            for (const count of chunk) {
              batches.push({ chunkBaseOffset, baseOffset: offset, lastOffset: offset + count - 1 });
              offset += count;
            }
          }
          const lastKey = keys.at(-1)!;
          const logStart = batches.length ? batches[startSeed % batches.length]!.baseOffset : 0;
          batches.forEach((batch, i) => {
            const may = mayRewrite(batches, i, logStart, lastKey);
            if (i === batches.length - 1 || batch.chunkBaseOffset === lastKey || batch.baseOffset < logStart) expect(may).toBe(false);
            else expect(may).toBe(true);
          });
        },
      ),
    );
  });

  const entry = (sizeBytes: number, s3?: string): ChunkEntry => ({
    recordCount: 2,
    sizeBytes,
    firstTimestamp: 1,
    maxTimestamp: 2,
    appendedAt: 3,
    ...(s3 ? { segmentKey: s3, segmentPosition: 7, segmentBatches: 2 } : { bytes: new Uint8Array(sizeBytes) }),
  });
  const chunk: ChunkItem = {
    partitionKey: 't:0',
    baseOffset: 10,
    recordCount: 2,
    sizeBytes: 9000,
    bytesBefore: 500,
    batchCount: 1,
    batches: [entry(9000, 'segments/t/old')],
    sealed: true,
    createdAt: 5,
    configVersion: 3,
    maxTimestampBefore: 1,
    maxTimestamps: new Set([2]),
    segmentKey: 'segments/t/old',
    segmentPosition: 7,
  };

  it('keeps every header attribute as appended, counts the rewrite, and points the index at the new object', () => {
    const moved = rewrittenChunk(chunk, [{ ...entry(6000, 'segments/t/new'), segmentPosition: 0, segmentBatches: 1 }]);
    expect(moved).toMatchObject({ sizeBytes: 9000, bytesBefore: 500, recordCount: 2, batchCount: 1, sealed: true, configVersion: 3 });
    expect(moved).toMatchObject({ rewrites: 1, segmentKey: 'segments/t/new', segmentPosition: 0 });
    expect(rewrittenChunk(moved, entriesOfChunk(moved)).rewrites).toBe(2);
  });

  it('drops the index attributes when the batch comes inline', () => {
    const inline = rewrittenChunk(chunk, [entry(100)]);
    expect(inline.segmentKey).toBeUndefined();
    expect(inline.segmentPosition).toBeUndefined();
    expect(entriesOfChunk(inline)[0]!.bytes).toHaveLength(100);
    expect(inline.sizeBytes).toBe(9000);
  });
});

it('page sizes grow from 4 to 1000', () => {
  const next = growingPageSize();
  expect([next(), next(), next(), next(), next(), next()]).toEqual([4, 16, 64, 256, 1000, 1000]);
});
