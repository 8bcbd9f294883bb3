/**
 * Walking decoded batches from an offset (shared/log/record-walk.ts), as a fetch and a trigger's
 * delivery both do: records in order from the offset, below the high watermark, none skipped,
 * and a position that moves past compaction's gaps but never past a record not yet taken.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { walkRecords } from '../../shared/log/record-walk';
import type { BatchRecord, RecordBatch } from '../../shared/records/types';

/** Batches back to back from `start`, each spanning `span` offsets of which compaction kept some (maybe none). */
const chain = fc
  .record({
    start: fc.integer({ min: 0, max: 1000 }),
    batches: fc.array(fc.record({ span: fc.integer({ min: 1, max: 6 }), kept: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }) }), {
      minLength: 1,
      maxLength: 8,
    }),
  })
  .map(({ start, batches }) => {
    let base = start;
    return batches.map(({ span, kept }) => {
      const offsets = Array.from({ length: span }, (_, i) => base + i).filter((_, i) => kept[i]);
      const batch = { base, lastOffset: base + span - 1, offsets };
      base += span;
      return batch;
    });
  });

const scenario = chain.chain((batches) => {
  const end = batches.at(-1)!.lastOffset + 1;
  // From anywhere in the first batch (a batch may start before the offset) to the last offset.
  return fc.integer({ min: batches[0]!.base, max: end - 1 }).chain((offset) =>
    fc.record({
      batches: fc.constant(batches),
      offset: fc.constant(offset),
      // The end of a batch (a high watermark is always one: a batch is appended whole), or past
      // the chosen batches (the walk must stop at their end).
      highWatermark: fc.oneof(
        fc.constantFrom(...batches.filter((b) => b.lastOffset >= offset).map((b) => b.lastOffset + 1)),
        fc.integer({ min: end, max: end + 3 }),
      ),
      cut: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
    }),
  );
});

const decodedOf = (batches: { offsets: number[] }[]) =>
  batches.map((b) => ({ records: b.offsets.map((offset) => ({ offset }) as BatchRecord) }) as unknown as RecordBatch);

describe('walkRecords', () => {
  it('takes the records from the offset below the high watermark in order, skips none, and stops where it was cut', () => {
    fc.assert(
      fc.property(scenario, ({ batches, offset, highWatermark, cut }) => {
        const taken: number[] = [];
        const next = walkRecords(batches, decodedOf(batches), offset, highWatermark, (record) => {
          if (cut !== undefined && taken.length >= cut) return false;
          taken.push(record.offset);
          return true;
        });
        const eligible = batches.flatMap((b) => b.offsets).filter((o) => o >= offset && o < highWatermark);
        const expected = cut === undefined ? eligible : eligible.slice(0, cut);
        expect(taken).toEqual(expected);
        expect(next).toBeGreaterThanOrEqual(offset);
        expect(next).toBeLessThanOrEqual(highWatermark);
        // Every record below the next position was taken: a consumer resuming there misses nothing.
        for (const o of eligible) if (o < next) expect(taken).toContain(o);
        if (taken.length > 0) expect(next).toBeGreaterThan(taken.at(-1)!);
        // Having taken every record, it resumes past the batches it read, or at the high watermark.
        if (taken.length === eligible.length) expect(next).toBe(Math.min(batches.at(-1)!.lastOffset + 1, highWatermark));
      }),
    );
  });

  it('moves past a batch that compaction emptied', () => {
    const batches = [
      { lastOffset: 4, offsets: [] as number[] },
      { lastOffset: 9, offsets: [7] },
    ];
    const taken: number[] = [];
    const next = walkRecords(batches, decodedOf(batches), 2, 10, (record) => {
      taken.push(record.offset);
      return true;
    });
    expect(taken).toEqual([7]);
    expect(next).toBe(10);
  });

  it('stays at the offset when the first record is refused', () => {
    const batches = [{ lastOffset: 3, offsets: [0, 1, 2, 3] }];
    expect(walkRecords(batches, decodedOf(batches), 1, 4, () => false)).toBe(1);
  });
});
