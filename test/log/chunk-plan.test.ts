/**
 * The layout-v2 append decisions (shared/log/chunk-plan.ts), against a model of DynamoDB's
 * conditional writes: any interleaving of writers' steps keeps the chain gapless and every
 * acknowledged batch at the offsets it was told.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AppendIntent,
  type AppendStep,
  type ChunkLimits,
  type ChunkView,
  endOf,
  isFinal,
  joinedBaseOffset,
  planAppend,
  planTransactionalAppend,
  sharesChunkWrite,
  successorLineage,
  viewAfterJoin,
  viewAfterPut,
} from '../../shared/log/chunk-plan';
import { planFence } from '../../shared/log/fences';

const limits: ChunkLimits = { openChunkMaxBytes: 300, openChunkMaxBatches: 4, joinWindowMs: 1000 };

interface ModelChunk extends ChunkView {
  readonly batches: readonly string[];
}

/** One partition's chunks, with the conditions chunk-append.ts writes, applied atomically. */
class ModelTable {
  readonly chunks = new Map<number, ModelChunk>();
  last(): ModelChunk | undefined {
    const keys = [...this.chunks.keys()].sort((a, b) => a - b);
    return keys.length ? this.chunks.get(keys.at(-1)!) : undefined;
  }
  apply(
    step: Exclude<AppendStep, { kind: 'topic-changed' }>,
    tag: string,
    intent: AppendIntent,
    now: number,
  ): { ok: true; baseOffset: number; view: ChunkView } | { ok: false; found?: ChunkView } {
    const existing = this.chunks.get(step.baseOffset);
    if (step.kind === 'put') {
      const replaceable =
        existing && existing.recordCount === 0 && existing.sealed && !existing.deleted && existing.configVersion <= intent.configVersion;
      if (existing && !replaceable) return { ok: false, found: existing };
      const view = viewAfterPut(step.baseOffset, step.sealed, intent, limits, now);
      this.chunks.set(step.baseOffset, { ...view, batches: [tag] });
      return { ok: true, baseOffset: step.baseOffset, view };
    }
    if (step.kind === 'join') {
      if (!existing) {
        // A join at a boundary creates the chunk, open.
        if (!step.create) return { ok: false };
        const created: ModelChunk = { ...viewAfterPut(step.baseOffset, false, intent, limits, now), batches: [tag] };
        this.chunks.set(step.baseOffset, created);
        return { ok: true, baseOffset: step.baseOffset, view: created };
      }
      const open = !existing.sealed && !existing.deleted && existing.configVersion <= intent.configVersion && !isFinal(existing);
      if (!open) return { ok: false, found: existing };
      const next: ModelChunk = {
        ...existing,
        recordCount: existing.recordCount + intent.recordCount,
        sizeBytes: existing.sizeBytes + intent.sizeBytes,
        batchCount: existing.batchCount + 1,
        batches: [...existing.batches, tag],
      };
      this.chunks.set(step.baseOffset, next);
      return { ok: true, baseOffset: joinedBaseOffset(next.baseOffset, next.recordCount, intent.recordCount), view: next };
    }
    if (!existing) return { ok: false };
    const sealed = { ...existing, sealed: true };
    this.chunks.set(step.baseOffset, sealed);
    return { ok: false, found: sealed };
  }
}

interface Writer {
  view: ChunkView | undefined;
  contended: boolean;
  pending?: { tag: string; recordCount: number; sizeBytes: number };
  done: number;
}

describe('chunk plan against a model of conditional writes', () => {
  it('any interleaving: gapless chain, each acknowledged batch exactly at its offsets, only the last chunk open', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 10, max: 200 }), fc.boolean()), {
          minLength: 1,
          maxLength: 120,
        }),
        (writerCount, schedule) => {
          const table = new ModelTable();
          const writers: Writer[] = Array.from({ length: writerCount }, () => ({ view: undefined, contended: false, done: 0 }));
          const acked = new Map<string, number>();
          let now = 0;
          for (const [pick, recordCount, sizeBytes, reread] of schedule) {
            now += 7;
            const index = pick % writerCount;
            const writer = writers[index]!;
            if (!writer.pending) writer.pending = { tag: `w${index}-${writer.done}:${recordCount}`, recordCount, sizeBytes };
            if (reread || !writer.view) writer.view = table.last();
            const intent: AppendIntent = {
              recordCount: writer.pending.recordCount,
              sizeBytes: writer.pending.sizeBytes,
              configVersion: 0,
              contended: writer.contended,
            };
            const step = planAppend(writer.view, intent, limits, now);
            expect(step.kind).not.toBe('topic-changed');
            if (step.kind === 'topic-changed') return;
            const result = table.apply(step, writer.pending.tag, intent, now);
            if (result.ok) {
              expect(acked.has(writer.pending.tag)).toBe(false);
              acked.set(writer.pending.tag, result.baseOffset);
              writer.view = result.view;
              writer.pending = undefined;
              writer.done++;
            } else {
              if (step.kind !== 'seal') writer.contended = true;
              writer.view = result.found ?? table.last();
            }
          }
          // The chain: contiguous, final chunks everywhere but the end, batches where they were acknowledged.
          const keys = [...table.chunks.keys()].sort((a, b) => a - b);
          let next = keys[0] ?? 0;
          expect(next).toBe(0);
          const stored = new Map<string, number>();
          keys.forEach((key, i) => {
            const chunk = table.chunks.get(key)!;
            expect(chunk.baseOffset).toBe(next);
            if (i < keys.length - 1) expect(isFinal(chunk) || chunk.recordCount === 0).toBe(true);
            let offset = chunk.baseOffset;
            for (const tag of chunk.batches) {
              stored.set(tag, offset);
              offset += Number(tag.split(':')[1]);
            }
            expect(offset).toBe(endOf(chunk));
            next = offset;
          });
          expect(stored).toEqual(acked);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a writer holding older config, or facing a deleted topic, is told so and writes nothing', () => {
    const fence: ChunkView = { ...viewAfterPut(5, true, { recordCount: 0, sizeBytes: 0, configVersion: 3, contended: false }, limits, 0) };
    const intent = (configVersion: number): AppendIntent => ({ recordCount: 1, sizeBytes: 10, configVersion, contended: false });
    expect(planAppend(fence, intent(2), limits, 0)).toEqual({ kind: 'topic-changed', reason: 'config' });
    expect(planAppend(fence, intent(3), limits, 0)).toEqual({ kind: 'put', baseOffset: 5, sealed: true });
    expect(planAppend({ ...fence, deleted: true }, intent(9), limits, 0)).toEqual({ kind: 'topic-changed', reason: 'deleted' });
  });

  it('uncontended appends are one sealed put at the high watermark; contended ones join or open chunks', () => {
    const sealed = viewAfterPut(0, true, { recordCount: 3, sizeBytes: 100, configVersion: 0, contended: false }, limits, 0);
    const calm: AppendIntent = { recordCount: 1, sizeBytes: 10, configVersion: 0, contended: false };
    expect(planAppend(sealed, calm, limits, 10)).toEqual({ kind: 'put', baseOffset: 3, sealed: true });
    // After a final chunk a contended writer joins the chunk at its end, creating it if no one has.
    expect(planAppend(sealed, { ...calm, contended: true }, limits, 10)).toEqual({ kind: 'join', baseOffset: 3, create: true });
    const filled: ChunkView = {
      ...viewAfterPut(0, false, { recordCount: 3, sizeBytes: 100, configVersion: 0, contended: true }, limits, 0),
      batchCount: limits.openChunkMaxBatches,
    };
    expect(planAppend(filled, { ...calm, contended: true }, limits, 10)).toEqual({ kind: 'join', baseOffset: 3, create: true });
    expect(planAppend(undefined, { ...calm, contended: true }, limits, 10)).toEqual({ kind: 'join', baseOffset: 0, create: true });
    const open = viewAfterPut(3, false, { recordCount: 1, sizeBytes: 10, configVersion: 0, contended: true }, limits, 0);
    expect(planAppend(open, calm, limits, 10)).toEqual({ kind: 'join', baseOffset: 3 });
    // Past its join window an open chunk is sealed, not joined (a join is billed for the whole chunk).
    expect(planAppend(open, calm, limits, 5000)).toEqual({ kind: 'seal', baseOffset: 3 });
    // A batch in a segment object never joins.
    expect(planAppend(sealed, { ...calm, contended: true, alone: true }, limits, 10)).toEqual({ kind: 'put', baseOffset: 3, sealed: true });
  });

  it('in a transaction: puts after a final chunk or over a fence, joins an open one with its count pinned, seals one it cannot join', () => {
    const calm: AppendIntent = { recordCount: 2, sizeBytes: 10, configVersion: 1, contended: false };
    expect(planTransactionalAppend(undefined, calm, limits, 0)).toEqual({ kind: 'put', baseOffset: 0 });
    const sealed = viewAfterPut(0, true, { recordCount: 3, sizeBytes: 100, configVersion: 1 }, limits, 0);
    expect(planTransactionalAppend(sealed, calm, limits, 10)).toEqual({ kind: 'put', baseOffset: 3 });
    const open = viewAfterPut(3, false, { recordCount: 5, sizeBytes: 50, configVersion: 1 }, limits, 0);
    expect(planTransactionalAppend(open, calm, limits, 10)).toEqual({ kind: 'join', baseOffset: 3, expectedCount: 5 });
    expect(planTransactionalAppend(open, calm, limits, 5000)).toEqual({ kind: 'seal', baseOffset: 3 });
    expect(planTransactionalAppend(open, { ...calm, alone: true }, limits, 10)).toEqual({ kind: 'seal', baseOffset: 3 });
    const fence = viewAfterPut(8, true, { recordCount: 0, sizeBytes: 0, configVersion: 2 }, limits, 0);
    expect(planTransactionalAppend(fence, calm, limits, 10)).toEqual({ kind: 'topic-changed', reason: 'config' });
    expect(planTransactionalAppend(fence, { ...calm, configVersion: 2 }, limits, 10)).toEqual({ kind: 'put', baseOffset: 8 });
    expect(planTransactionalAppend({ ...fence, deleted: true }, { ...calm, configVersion: 9 }, limits, 10)).toEqual({
      kind: 'topic-changed',
      reason: 'deleted',
    });
    // The writer's own view after a pinned join is exact.
    expect(viewAfterJoin(open, { recordCount: 2, sizeBytes: 10, maxTimestamp: 7 })).toMatchObject({
      recordCount: 7,
      sizeBytes: 60,
      batchCount: 2,
      maxTimestamp: 7,
    });
  });

  it('a fence seals an open head, goes after a final one, replaces an older fence, and stops at a newer version or a deletion', () => {
    const config = { kind: 'config', configVersion: 3 } as const;
    const deletion = { kind: 'deleted', configVersion: 3, deletedAt: 1 } as const;
    expect(planFence(undefined, config)).toEqual({ kind: 'put', baseOffset: 0 });
    const open = viewAfterPut(4, false, { recordCount: 2, sizeBytes: 10, configVersion: 1 }, limits, 0);
    expect(planFence(open, config)).toEqual({ kind: 'seal', baseOffset: 4 });
    expect(planFence({ ...open, sealed: true }, config)).toEqual({ kind: 'put', baseOffset: 6 });
    const olderFence = viewAfterPut(6, true, { recordCount: 0, sizeBytes: 0, configVersion: 2 }, limits, 0);
    expect(planFence(olderFence, config)).toEqual({ kind: 'put', baseOffset: 6 });
    expect(planFence({ ...olderFence, configVersion: 3 }, config)).toEqual({ kind: 'done' });
    // A deletion goes even after a chunk of the same version, and nothing goes after a deletion.
    expect(planFence({ ...olderFence, configVersion: 3 }, deletion)).toEqual({ kind: 'put', baseOffset: 6 });
    expect(planFence({ ...olderFence, deleted: true }, config)).toEqual({ kind: 'done' });
  });

  it("a chunk's lineage carries the running maximum timestamp and the bytes of every chunk before it", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ size: fc.nat(5000), maxTimestamp: fc.integer({ min: -1, max: 1e6 }) }), { minLength: 1, maxLength: 30 }),
        (chunks) => {
          let view: ChunkView | undefined;
          let offset = 0;
          for (const chunk of chunks) {
            const lineage = successorLineage(view);
            view = viewAfterPut(
              offset,
              true,
              { recordCount: 1, sizeBytes: chunk.size, configVersion: 0, maxTimestamp: chunk.maxTimestamp },
              limits,
              0,
              lineage,
            );
            offset += 1;
          }
          const after = successorLineage(view);
          expect(after.bytesBefore).toBe(chunks.reduce((sum, c) => sum + c.size, 0));
          expect(after.maxTimestampBefore).toBe(Math.max(-1, ...chunks.map((c) => c.maxTimestamp)));
        },
      ),
    );
  });
});

describe("sharesChunkWrite (a group commit's rule)", () => {
  const inline = (sizeBytes: number, configVersion = 0) => ({ entries: [{ sizeBytes }], configVersion });
  it('groups inline writes of one config version while they fit a chunk by bytes and batches', () => {
    expect(sharesChunkWrite([inline(100)], inline(200), limits)).toBe(true);
    expect(sharesChunkWrite([inline(100), inline(100)], inline(101), limits)).toBe(false);
    expect(sharesChunkWrite([inline(1), inline(1), inline(1)], inline(1), limits)).toBe(true);
    expect(sharesChunkWrite([inline(1), inline(1), inline(1), inline(1)], inline(1), limits)).toBe(false);
    expect(sharesChunkWrite([inline(1)], inline(1, 1), limits)).toBe(false);
    expect(sharesChunkWrite([{ entries: [{ sizeBytes: 1, segmentKey: 's' }], configVersion: 0 }], inline(1), limits)).toBe(false);
    expect(sharesChunkWrite([inline(1)], { entries: [{ sizeBytes: 1, segmentKey: 's' }], configVersion: 0 }, limits)).toBe(false);
  });

  it('never lets a group pass the chunk cap, so its write is a join or a put like any other', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 12 }), (sizes) => {
        const group = [inline(sizes[0]!)];
        for (const size of sizes.slice(1)) if (sharesChunkWrite(group, inline(size), limits)) group.push(inline(size));
        const total = group.reduce((sum, w) => sum + w.entries[0]!.sizeBytes, 0);
        expect(group.length === 1 || total <= limits.openChunkMaxBytes).toBe(true);
        expect(group.length).toBeLessThanOrEqual(limits.openChunkMaxBatches);
      }),
    );
  });
});
