/** Kafka producer sequences (shared/log/producer-sequences.ts): where a batch stands, wrapping at 2^31. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { furtherForward, lastSequenceOf, sequenceVerdict } from '../../shared/log/producer-sequences';

const space = 2 ** 31;
const sequence = fc.integer({ min: 0, max: space - 1 });

describe('sequenceVerdict', () => {
  it('takes the batch right after the last one, refuses one that skips, and sends one at or behind it to its claim', () => {
    expect(sequenceVerdict(-1, 0)).toBe('next');
    expect(sequenceVerdict(-1, 1)).toBe('out-of-order');
    expect(sequenceVerdict(4, 5)).toBe('next');
    expect(sequenceVerdict(4, 7)).toBe('out-of-order');
    expect(sequenceVerdict(4, 4)).toBe('retry');
    expect(sequenceVerdict(4, 0)).toBe('retry');
    // Nothing known: nothing to refuse the batch on.
    expect(sequenceVerdict(undefined, 123)).toBe('next');
  });

  it('wraps: after 2^31 - 1 comes 0', () => {
    expect(sequenceVerdict(space - 1, 0)).toBe('next');
    expect(sequenceVerdict(space - 2, 1)).toBe('out-of-order');
    expect(sequenceVerdict(3, space - 5)).toBe('retry');
    expect(lastSequenceOf(space - 2, 5)).toBe(2);
  });

  it('for any last sequence, exactly its successor is next, the half ahead skips and the half behind is a retry', () => {
    fc.assert(
      fc.property(sequence, fc.integer({ min: 1, max: space / 2 - 1 }), (last, distance) => {
        expect(sequenceVerdict(last, (last + 1) % space)).toBe('next');
        expect(sequenceVerdict(last, (last + 1 + distance) % space)).toBe('out-of-order');
        expect(sequenceVerdict(last, (last - distance + 1 + space) % space)).toBe('retry');
      }),
    );
  });

  it('a batch that follows the one recorded is always next', () => {
    fc.assert(
      fc.property(sequence, fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 10_000 }), (base, count, nextCount) => {
        const last = lastSequenceOf(base, count);
        const next = (last + 1) % space;
        expect(sequenceVerdict(last, next)).toBe('next');
        expect(sequenceVerdict(lastSequenceOf(next, nextCount), next)).toBe('retry');
      }),
    );
  });
});

describe('furtherForward', () => {
  it('picks the one of two sequences the other is at or behind, so what is known appended never moves back', () => {
    expect(furtherForward(undefined, 4)).toBe(4);
    expect(furtherForward(4, undefined)).toBe(4);
    expect(furtherForward(-1, 7)).toBe(7);
    expect(furtherForward(space - 2, 3)).toBe(3);
    fc.assert(
      fc.property(sequence, fc.integer({ min: 0, max: space / 2 - 1 }), fc.boolean(), (behind, distance, swap) => {
        const ahead = (behind + distance) % space;
        const [a, b] = swap ? [ahead, behind] : [behind, ahead];
        const forward = furtherForward(a, b)!;
        expect(forward).toBe(ahead);
        // Nothing after the result is either input: each input is a retry against it (at or behind).
        expect(sequenceVerdict(forward, a)).toBe('retry');
        expect(sequenceVerdict(forward, b)).toBe('retry');
      }),
    );
  });
});
