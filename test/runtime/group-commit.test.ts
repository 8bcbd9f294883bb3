import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyedGroupCommit } from '../../shared/runtime/concurrency';

/** A promise and the functions that settle it, so a test decides when each write finishes. */
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

interface Item {
  readonly id: number;
  readonly key: string;
  /** Items share a write while their weights sum to at most `capacity`. */
  readonly weight: number;
  /** A write whose first item says so throws. */
  readonly fails: boolean;
}

const capacity = 4;
const joins = (group: readonly Item[], next: Item) => group.reduce((sum, item) => sum + item.weight, 0) + next.weight <= capacity;

describe('KeyedGroupCommit', () => {
  it("writes at most `limit` groups per key, never leaves a slot idle while items wait, groups each key's items in arrival order as far as `joins` allows, and answers every item once", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 1, max: 3 }), fc.boolean()), { minLength: 1, maxLength: 30 }),
        // The order in which running writes finish (indexes into those running).
        fc.array(fc.nat(), { maxLength: 60 }),
        async (limit, specs, finishOrder) => {
          const items: Item[] = specs.map(([key, weight, fails], id) => ({ id, key, weight, fails }));
          /** Each write's group, in the order the writes started, and whether every item had arrived by then. */
          const writes: { group: readonly Item[]; afterAllArrived: boolean }[] = [];
          const running = new Map<number, { key: string; gate: ReturnType<typeof deferred> }>();
          let allArrived = false;
          const write = async (key: string, group: readonly Item[]) => {
            // A group is one key's.
            for (const item of group) expect(item.key).toBe(key);
            const index = writes.length;
            writes.push({ group, afterAllArrived: allArrived });
            const gate = deferred();
            running.set(index, { key: group[0]!.key, gate });
            const inFlight = [...running.values()].filter((w) => w.key === group[0]!.key).length;
            expect(inFlight).toBeLessThanOrEqual(limit);
            await gate.promise;
            running.delete(index);
            if (group[0]!.fails) throw new Error(`write of ${group.map((item) => item.id).join(',')} failed`);
            return group.map((item) => `result ${item.id}`);
          };
          const commit = new KeyedGroupCommit<Item, string>(limit, joins, write);
          const answers = items.map((item) =>
            commit.run(item.key, item).then(
              (value) => ({ ok: true, value }),
              (error: Error) => ({ ok: false, value: error.message }),
            ),
          );
          allArrived = true;
          // Whenever things settle, a key with items waiting has all its slots writing.
          const expectNoIdleSlot = () => {
            for (const key of new Set(items.map((item) => item.key))) {
              const { active, waiting } = commit.load(key);
              const inFlight = [...running.values()].filter((w) => w.key === key).length;
              expect(active).toBe(inFlight);
              if (waiting > 0) expect(active).toBe(limit);
            }
          };
          await settle();
          expectNoIdleSlot();
          let step = 0;
          while (running.size > 0) {
            const ids = [...running.keys()];
            running.get(ids[(finishOrder[step++] ?? 0) % ids.length]!)!.gate.resolve();
            await settle();
            expectNoIdleSlot();
          }
          for (const key of new Set(items.map((item) => item.key))) {
            const ofKey = items.filter((item) => item.key === key);
            const groups = writes.filter((w) => w.group[0]!.key === key);
            // Each key's items, group after group in the order the writes started, are its items in arrival order.
            expect(groups.flatMap((w) => w.group.map((item) => item.id))).toEqual(ofKey.map((item) => item.id));
            groups.forEach((w, g) => {
              // Every item of a group was allowed to join the ones before it ...
              for (let i = 1; i < w.group.length; i++) expect(joins(w.group.slice(0, i), w.group[i]!)).toBe(true);
              // ... and a group formed from the queue took every item it could: the next one did not fit.
              const next = groups[g + 1]?.group[0];
              if (w.afterAllArrived && next) expect(joins(w.group, next)).toBe(false);
            });
          }
          // Every item answered once: its own result, or its group's failure.
          const outcomes = await Promise.all(answers);
          outcomes.forEach((outcome, id) => {
            const group = writes.find((w) => w.group.some((item) => item.id === id))!.group;
            expect(outcome).toEqual(
              group[0]!.fails
                ? { ok: false, value: `write of ${group.map((item) => item.id).join(',')} failed` }
                : { ok: true, value: `result ${id}` },
            );
          });
          expect(commit.size).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('writes an item that finds a slot free at once and alone, and the items queued behind a write together in the next', async () => {
    const groups: number[][] = [];
    const first = deferred();
    const commit = new KeyedGroupCommit<number, number>(
      1,
      () => true,
      async (_key, group) => {
        groups.push([...group]);
        if (group[0] === 1) await first.promise;
        return group.map((n) => n * 10);
      },
    );
    const a = commit.run('p', 1);
    await settle();
    expect(groups).toEqual([[1]]);
    const queued = [2, 3, 4].map((n) => commit.run('p', n));
    await settle();
    expect(commit.load('p')).toEqual({ active: 1, waiting: 3 });
    first.resolve();
    expect(await Promise.all([a, ...queued])).toEqual([10, 20, 30, 40]);
    expect(groups).toEqual([[1], [2, 3, 4]]);
    expect(commit.load('p')).toEqual({ active: 0, waiting: 0 });
  });

  it('rejects every item of a write that answers the wrong number of results', async () => {
    const commit = new KeyedGroupCommit<number, number>(
      1,
      () => true,
      async () => [],
    );
    await expect(commit.run('p', 1)).rejects.toThrow('a group write of 1 items answered 0 results');
    expect(commit.size).toBe(0);
  });

  it('refuses a limit that is not a whole number of at least 1', () => {
    const write = async () => [];
    expect(() => new KeyedGroupCommit(0, () => true, write)).toThrow(RangeError);
    expect(() => new KeyedGroupCommit(1.5, () => true, write)).toThrow(RangeError);
  });
});
