/**
 * Retries: exponential backoff with full jitter (AWS's recommendation), never sooner than the
 * server's Retry-After.
 */
export interface RetryOptions {
  /** Retries after the first attempt (0: no retry). */
  retries: number;
  /** Ceiling of the first retry's delay. */
  initialRetryTimeMs: number;
  /** Ceiling of any delay (Retry-After may ask for more and is honoured). */
  maxRetryTimeMs: number;
  /** Growth of the ceiling per retry. */
  multiplier: number;
}

export const defaultRetryOptions: RetryOptions = {
  retries: 8,
  initialRetryTimeMs: 100,
  maxRetryTimeMs: 10_000,
  multiplier: 2,
};

export function retryOptions(options: Partial<RetryOptions> | undefined): RetryOptions {
  return { ...defaultRetryOptions, ...options };
}

/**
 * The delay before retry number `attempt` (0 for the first retry): a random value in
 * [ceiling/2, ceiling] where ceiling = min(maxRetryTimeMs, initialRetryTimeMs * multiplier^attempt),
 * and never less than `retryAfterMs`. Half the ceiling is kept fixed so a retry never comes back
 * at once, the other half is random so that clients failing together do not retry together.
 */
export function backoffDelay(attempt: number, options: RetryOptions, retryAfterMs = 0, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxRetryTimeMs, options.initialRetryTimeMs * options.multiplier ** Math.max(0, attempt));
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  return Math.max(Math.round(jittered), Math.max(0, retryAfterMs));
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
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
