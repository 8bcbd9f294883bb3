import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyedLimiter } from '../../shared/runtime/concurrency';

/** A promise and the functions that settle it, so a test decides when each call finishes. */
function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedLimiter', () => {
  it("runs at most `limit` calls per key, keeps every slot busy while calls wait, and starts each key's calls in arrival order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        // Each call: its key, and whether it fails.
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.boolean()), { minLength: 1, maxLength: 30 }),
        // The order in which running calls are finished (indexes into those running).
        fc.array(fc.nat(), { maxLength: 60 }),
        async (limit, calls, finishOrder) => {
          const limiter = new KeyedLimiter(limit);
          const started: number[] = [];
          const running = new Map<number, ReturnType<typeof deferred>>();
          const results = calls.map(([key, fails], i) =>
            limiter
              .run(key, async () => {
                started.push(i);
                const gate = deferred();
                running.set(i, gate);
                const active = [...running.keys()].filter((j) => calls[j]![0] === key).length;
                expect(active).toBeLessThanOrEqual(limit);
                await gate.promise;
                running.delete(i);
                if (fails) throw new Error(`call ${i} failed`);
                return i;
              })
              .then(
                (value) => ({ ok: true, value }),
                (error: Error) => ({ ok: false, value: error.message }),
              ),
          );
          // Whenever things settle, a key with calls still waiting has all its slots busy: keys
          // do not wait on each other, and a freed slot is never left idle.
          const expectNoIdleSlot = () => {
            for (const key of new Set(calls.map(([k]) => k))) {
              const ofKey = calls.flatMap(([k], i) => (k === key ? [i] : []));
              const waiting = ofKey.filter((i) => !started.includes(i)).length;
              const active = ofKey.filter((i) => running.has(i)).length;
              if (waiting > 0) expect(active).toBe(limit);
            }
          };
          await settle();
          expectNoIdleSlot();
          let step = 0;
          while (running.size > 0) {
            const ids = [...running.keys()];
            const pick = ids[(finishOrder[step++] ?? 0) % ids.length]!;
            running.get(pick)!.resolve();
            await settle();
            expectNoIdleSlot();
          }
          // Each key's calls started in the order they arrived.
          for (const key of new Set(calls.map(([k]) => k))) {
            const order = started.filter((i) => calls[i]![0] === key);
            expect(order).toEqual([...order].sort((x, y) => x - y));
          }
          const outcomes = await Promise.all(results);
          // Every call ran once, and a failure (a thrown error) released its slot like a success.
          expect(started.sort((x, y) => x - y)).toEqual(calls.map((_, i) => i));
          outcomes.forEach((outcome, i) => {
            expect(outcome).toEqual(calls[i]![1] ? { ok: false, value: `call ${i} failed` } : { ok: true, value: i });
          });
          expect(limiter.size).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('hands a freed slot to the oldest waiter, not to a call that arrives later', async () => {
    const limiter = new KeyedLimiter(1);
    const order: string[] = [];
    const first = deferred();
    const a = limiter.run('p', async () => {
      order.push('a');
      await first.promise;
    });
    const b = limiter.run('p', async () => {
      order.push('b');
    });
    await settle();
    expect(limiter.load('p')).toEqual({ active: 1, waiting: 1 });
    first.resolve();
    const c = limiter.run('p', async () => {
      order.push('c');
    });
    await Promise.all([a, b, c]);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(limiter.load('p')).toEqual({ active: 0, waiting: 0 });
  });

  it('refuses a limit that is not a whole number of at least 1', () => {
    expect(() => new KeyedLimiter(0)).toThrow(RangeError);
    expect(() => new KeyedLimiter(1.5)).toThrow(RangeError);
  });
});
