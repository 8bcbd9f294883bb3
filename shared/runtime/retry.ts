/**
 * Retrying, the one way: exponential backoff with jitter, Retry-After, and an abortable sleep.
 * Used by the client (HTTP retries, the consumer's loops) and by the service (lost DynamoDB
 * races). Pure and import-free, so the published client bundles it as it is.
 *
 * Two jitters, after AWS's "Exponential Backoff And Jitter":
 * - `backoffDelay` ("equal jitter"): a value in [ceiling/2, ceiling], never below Retry-After.
 *   Half is fixed so a retry never comes back at once (the server asked for room), half random
 *   so that clients failing together do not retry together.
 * - `fullJitterDelay`: a value in [0, ceiling). For lost optimistic-concurrency races, where the
 *   quickest useful retry is immediate and spreading the contenders is all that matters.
 * The ceiling is min(maxRetryTimeMs, initialRetryTimeMs * multiplier^attempt), attempt 0 being
 * the first retry.
 */

export interface Backoff {
  /** Ceiling of the first retry's delay. */
  initialRetryTimeMs: number;
  /** Ceiling of any delay (Retry-After may ask for more and is honoured). */
  maxRetryTimeMs: number;
  /** Growth of the ceiling per retry. */
  multiplier: number;
}

export interface RetryOptions extends Backoff {
  /** Retries after the first attempt (0: no retry). */
  retries: number;
}

/** The client's default: 8 retries, 100 ms growing twofold to 10 s (about 25 s in all). */
export const defaultRetryOptions: RetryOptions = {
  retries: 8,
  initialRetryTimeMs: 100,
  maxRetryTimeMs: 10_000,
  multiplier: 2,
};

export function retryOptions(options: Partial<RetryOptions> | undefined, defaults: RetryOptions = defaultRetryOptions): RetryOptions {
  return { ...defaults, ...options };
}

/** The ceiling of retry number `attempt` (0 for the first retry). */
export function backoffCeiling(attempt: number, options: Backoff): number {
  // The exponent is bounded so a huge attempt number cannot overflow to Infinity * 0 = NaN.
  const exponent = Math.min(Math.max(0, attempt), 64);
  return Math.min(options.maxRetryTimeMs, options.initialRetryTimeMs * options.multiplier ** exponent);
}

/**
 * The delay before retry number `attempt` (0 for the first retry): a random value in
 * [ceiling/2, ceiling], and never less than `retryAfterMs`.
 */
export function backoffDelay(attempt: number, options: Backoff, retryAfterMs = 0, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(attempt, options);
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  return Math.max(Math.round(jittered), Math.max(0, retryAfterMs));
}

/** The delay before retry number `attempt`: a whole number of ms in [0, ceiling). */
export function fullJitterDelay(attempt: number, options: Backoff, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(attempt, options));
}

/** Retry-After: delta seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Sleeps `ms`, or until the signal aborts (then rejects with the signal's reason). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it returns a value, retrying (after `fullJitterDelay`) while it returns
 * `tryAgain`; past `deadlineMs` of retries, throws what `onDeadline` builds. The loop of every
 * optimistic read-modify-write (a lost DynamoDB condition or transaction conflict).
 */
export async function retryUntil<T>(
  attempt: (n: number) => Promise<T | typeof tryAgain>,
  options: { backoff: Backoff; deadlineMs: number; onDeadline: (attempts: number) => Error; random?: () => number },
): Promise<T> {
  const deadline = Date.now() + options.deadlineMs;
  for (let n = 0; ; n++) {
    const result = await attempt(n);
    if (result !== tryAgain) return result as T;
    if (Date.now() >= deadline) throw options.onDeadline(n + 1);
    await sleep(fullJitterDelay(n, options.backoff, options.random));
  }
}

/** What an attempt of `retryUntil` returns to be tried again. */
export const tryAgain: unique symbol = Symbol('tryAgain');
