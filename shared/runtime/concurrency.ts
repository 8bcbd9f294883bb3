/**
 * `fn` over every item with at most `limit` calls in flight, results in input order. For fan-outs
 * to DynamoDB (one Query per partition) that must not open hundreds of sockets at once.
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * At most `limit` calls in flight per key, the rest waiting in arrival order (first come, first
 * served). Hand-written beside mapWithConcurrency: a keyed limiter is a map of lanes that must be
 * dropped when idle, which p-limit (one queue per instance) does not do for us.
 */
export class KeyedLimiter {
  private readonly lanes = new Map<string, { active: number; readonly waiting: (() => void)[] }>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`A keyed limiter needs a whole limit of at least 1, not ${limit}.`);
  }

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const lane = this.lanes.get(key) ?? { active: 0, waiting: [] };
    this.lanes.set(key, lane);
    if (lane.active < this.limit) lane.active++;
    else await new Promise<void>((resolve) => lane.waiting.push(resolve));
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, so a newcomer cannot overtake the queue.
      const next = lane.waiting.shift();
      if (next) next();
      else if (--lane.active === 0) this.lanes.delete(key);
    }
  }

  /** Calls in flight and waiting for `key` (for tests and metrics). */
  load(key: string): { active: number; waiting: number } {
    const lane = this.lanes.get(key);
    return { active: lane?.active ?? 0, waiting: lane?.waiting.length ?? 0 };
  }

  /** Keys with a call in flight. */
  get size(): number {
    return this.lanes.size;
  }
}
