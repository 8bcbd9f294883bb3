import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../../shared/runtime/bounded-cache';

describe('BoundedCache', () => {
  it('never holds more than maxEntries, and keeps the most recently used (a model LRU)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.constantFrom('get', 'set', 'delete'), fc.integer({ min: 0, max: 12 })), { maxLength: 200 }),
        (maxEntries, operations) => {
          const cache = new BoundedCache<number, number>({ maxEntries });
          const model: number[] = []; // keys, least recently used first
          let version = 0;
          const values = new Map<number, number>();
          for (const [op, key] of operations) {
            const i = model.indexOf(key);
            if (op === 'set') {
              cache.set(key, ++version);
              values.set(key, version);
              if (i >= 0) model.splice(i, 1);
              model.push(key);
              if (model.length > maxEntries) model.shift();
            } else if (op === 'get') {
              expect(cache.get(key)).toBe(i >= 0 ? values.get(key) : undefined);
              if (i >= 0) model.push(...model.splice(i, 1));
            } else {
              expect(cache.delete(key)).toBe(i >= 0);
              if (i >= 0) model.splice(i, 1);
            }
            expect(cache.size).toBe(model.length);
            expect(cache.size).toBeLessThanOrEqual(maxEntries);
          }
          for (const key of model) expect(cache.has(key)).toBe(true);
        },
      ),
    );
  });

  it('treats an entry as gone once it is ttlMs old', () => {
    let now = 1000;
    const cache = new BoundedCache<string, string>({ maxEntries: 10, ttlMs: 500, now: () => now });
    cache.set('a', 'A');
    now += 499;
    expect(cache.get('a')).toBe('A');
    now += 1;
    expect(cache.has('a')).toBe(false);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
    cache.set('a', 'B');
    expect(cache.get('a')).toBe('B');
  });

  it('a get does not renew an entry’s age; a set does', () => {
    let now = 0;
    const cache = new BoundedCache<string, number>({ maxEntries: 10, ttlMs: 100, now: () => now });
    cache.set('k', 1);
    now = 90;
    expect(cache.get('k')).toBe(1);
    now = 100;
    expect(cache.get('k')).toBeUndefined();
    cache.set('k', 2);
    now = 199;
    expect(cache.get('k')).toBe(2);
  });

  it('refuses nonsensical bounds', () => {
    expect(() => new BoundedCache({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => new BoundedCache({ maxEntries: 1.5 })).toThrow(RangeError);
    expect(() => new BoundedCache({ maxEntries: 1, ttlMs: -1 })).toThrow(RangeError);
    expect(() => new BoundedCache({ maxEntries: 1, ttlMs: Number.NaN })).toThrow(RangeError);
  });
});
