import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conflictBackoffMs } from '../../shared/log/append';
import { backoffMs } from '../../shared/groups/store';
import {
  backoffCeiling,
  backoffDelay,
  defaultRetryOptions,
  fullJitterDelay,
  parseRetryAfter,
  retryUntil,
  sleep,
  tryAgain,
  type Backoff,
} from '../../shared/runtime/retry';

const backoff = fc.record({
  initialRetryTimeMs: fc.integer({ min: 1, max: 10_000 }),
  maxRetryTimeMs: fc.integer({ min: 1, max: 100_000 }),
  multiplier: fc.double({ min: 1, max: 4, noNaN: true }),
});
const attempt = fc.integer({ min: 0, max: 10_000 });
const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('backoffCeiling', () => {
  it('grows with the attempt and never passes maxRetryTimeMs', () => {
    fc.assert(
      fc.property(backoff, attempt, (b, n) => {
        const ceiling = backoffCeiling(n, b);
        expect(Number.isFinite(ceiling)).toBe(true);
        expect(ceiling).toBeLessThanOrEqual(b.maxRetryTimeMs);
        expect(backoffCeiling(n + 1, b)).toBeGreaterThanOrEqual(ceiling);
      }),
    );
  });
});

describe('backoffDelay (equal jitter)', () => {
  it('lies in [ceiling/2, ceiling] and is never below Retry-After', () => {
    fc.assert(
      fc.property(backoff, attempt, random, fc.integer({ min: -10, max: 100_000 }), (b, n, r, retryAfter) => {
        const ceiling = backoffCeiling(n, b);
        const delay = backoffDelay(n, b, retryAfter, () => r);
        expect(delay).toBeGreaterThanOrEqual(Math.max(Math.round(ceiling / 2), retryAfter));
        expect(delay).toBeLessThanOrEqual(Math.max(Math.round(ceiling), retryAfter));
      }),
    );
  });

  it('keeps the client defaults: 100 ms first, 10 s at most', () => {
    expect(backoffDelay(0, defaultRetryOptions, 0, () => 0)).toBe(50);
    expect(backoffDelay(1000, defaultRetryOptions, 0, () => 0.99999999)).toBe(10_000);
  });
});

describe('fullJitterDelay', () => {
  it('is a whole number in [0, ceiling)', () => {
    fc.assert(
      fc.property(backoff, attempt, random, (b, n, r) => {
        const delay = fullJitterDelay(n, b, () => r);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(Math.max(1, backoffCeiling(n, b)));
      }),
    );
  });

  // The service's two copies, to be replaced by fullJitterDelay with these parameters.
  const appendConflict: Backoff = { initialRetryTimeMs: 2, maxRetryTimeMs: 100, multiplier: 2 };
  const groupConflict: Backoff = { initialRetryTimeMs: 8, maxRetryTimeMs: 250, multiplier: 2 };

  it('is exactly shared/log/append.ts conflictBackoffMs and shared/groups/store.ts backoffMs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), random, (n, r) => {
        expect(fullJitterDelay(n, appendConflict, () => r)).toBe(conflictBackoffMs(n, () => r));
        expect(fullJitterDelay(n, groupConflict, () => r)).toBe(backoffMs(n, () => r));
      }),
    );
  });
});

describe('parseRetryAfter', () => {
  it('reads delta seconds and HTTP dates, and nothing else', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter(' 0.25 ', now)).toBe(250);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:01 GMT', now)).toBe(1000);
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('in a while', now)).toBeUndefined();
  });
});

describe('sleep', () => {
  it('resolves after the delay, and rejects at once with the reason when aborted', async () => {
    const started = Date.now();
    await sleep(20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    await expect(sleep(10, controller.signal)).rejects.toThrow('stop');
  });
});

describe('retryUntil', () => {
  const fast: Backoff = { initialRetryTimeMs: 1, maxRetryTimeMs: 2, multiplier: 2 };

  it('retries while the attempt says tryAgain, then returns its value', async () => {
    const seen: number[] = [];
    const value = await retryUntil(
      async (n) => {
        seen.push(n);
        return n < 3 ? tryAgain : 'done';
      },
      { backoff: fast, deadlineMs: 10_000, onDeadline: () => new Error('late') },
    );
    expect(value).toBe('done');
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  it('gives up with the caller’s error past the deadline', async () => {
    await expect(
      retryUntil(async () => tryAgain, { backoff: fast, deadlineMs: 20, onDeadline: (attempts) => new Error(`gave up after ${attempts}`) }),
    ).rejects.toThrow(/gave up after \d+/);
  });
});
