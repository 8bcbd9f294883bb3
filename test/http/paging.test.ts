import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareTopicPartition, pageOf } from '../../shared/api/paging';

describe('pageOf', () => {
  it('pages that follow their tokens hold every entry once, in order, each within budget unless it is one entry', () => {
    const entry = fc.record({ topic: fc.constantFrom('a', 'b', 'orders'), partition: fc.nat(50), blob: fc.string({ maxLength: 40 }) });
    fc.assert(
      fc.property(
        fc.uniqueArray(entry, { selector: (e) => `${e.topic}:${e.partition}`, maxLength: 60 }),
        fc.integer({ min: 1, max: 400 }),
        (raw, budget) => {
          const sorted = [...raw].sort((x, y) => compareTopicPartition([x.topic, x.partition], [y.topic, y.partition]));
          const seen: typeof sorted = [];
          let token: string | undefined;
          let guard = 0;
          do {
            const page = pageOf(sorted, (e) => [e.topic, e.partition], compareTopicPartition, token, budget);
            const bytes = page.entries.reduce((sum, e) => sum + JSON.stringify(e).length + 1, 0);
            if (page.entries.length > 1) expect(bytes).toBeLessThanOrEqual(budget);
            seen.push(...page.entries);
            token = page.nextPageToken;
            expect(++guard).toBeLessThanOrEqual(sorted.length + 1);
          } while (token);
          expect(seen).toEqual(sorted);
        },
      ),
      { numRuns: 300 },
    );
  });
});
