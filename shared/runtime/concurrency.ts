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
 * Group commit per key: at most `limit` writes in flight per key; items that arrive meanwhile
 * wait in arrival order, and each freed slot takes the longest-waiting item together with the
 * ones after it that `joins` lets share its write. Nothing waits while a slot is free, so an item
 * that finds one is written alone at once: grouping costs no latency, it happens only behind a
 * write in flight (as a broker's log append takes what queued behind the one before).
 *
 * Hand-written beside mapWithConcurrency: a keyed queue is a map of lanes that must be dropped
 * when idle, and one that hands a slot a group rather than one call, which p-limit (one queue per
 * instance, one call per slot) does not do.
 */
export class KeyedGroupCommit<T, R> {
  private readonly lanes = new Map<string, Lane<T, R>>();

  /**
   * @param limit writes in flight per key
   * @param joins whether `next` may go out in one write with `group` (never asked for a group's first item)
   * @param write writes a key's group, its items in arrival order, and answers one result per item in that order
   */
  constructor(
    readonly limit: number,
    private readonly joins: (group: readonly T[], next: T) => boolean,
    private readonly write: (key: string, group: readonly T[]) => Promise<readonly R[]>,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`A group commit needs a whole limit of at least 1, not ${limit}.`);
  }

  /** Writes `item` under `key`, alone or in a group, and resolves with its own result; a write that throws rejects every item of its group. */
  run(key: string, item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const lane = this.lanes.get(key) ?? { active: 0, waiting: [] };
      this.lanes.set(key, lane);
      lane.waiting.push({ item, resolve, reject });
      this.startWrites(key, lane);
    });
  }

  /** Writes in flight and items waiting for `key` (for tests and metrics). */
  load(key: string): { active: number; waiting: number } {
    const lane = this.lanes.get(key);
    return { active: lane?.active ?? 0, waiting: lane?.waiting.length ?? 0 };
  }

  /** Keys with a write in flight or waiting. */
  get size(): number {
    return this.lanes.size;
  }

  private startWrites(key: string, lane: Lane<T, R>): void {
    while (lane.active < this.limit && lane.waiting.length > 0) {
      const group = [lane.waiting.shift()!];
      const items = [group[0]!.item];
      while (lane.waiting.length > 0 && this.joins(items, lane.waiting[0]!.item)) {
        group.push(lane.waiting.shift()!);
        items.push(group.at(-1)!.item);
      }
      lane.active++;
      void this.writeGroup(key, lane, group, items);
    }
    if (lane.active === 0) this.lanes.delete(key);
  }

  private async writeGroup(key: string, lane: Lane<T, R>, group: readonly Waiter<T, R>[], items: readonly T[]): Promise<void> {
    try {
      const results = await this.write(key, items);
      if (results.length !== group.length) throw new Error(`a group write of ${group.length} items answered ${results.length} results`);
      group.forEach((w, i) => {
        w.resolve(results[i]!);
      });
    } catch (error) {
      for (const w of group) w.reject(error);
    } finally {
      lane.active--;
      this.startWrites(key, lane);
    }
  }
}

interface Waiter<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

interface Lane<T, R> {
  active: number;
  readonly waiting: Waiter<T, R>[];
}
