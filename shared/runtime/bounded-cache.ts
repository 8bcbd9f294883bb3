/**
 * A per-process cache with a bound on its entries and, optionally, on their age: what a Lambda
 * instance (or a client) keeps between requests without growing without limit. Past
 * `maxEntries` the least recently used entry goes (a Map keeps insertion order; a hit moves the
 * entry to the end). An entry older than `ttlMs` is a miss, and is dropped when seen.
 * Pure and import-free; the clock is injectable for tests.
 */
export interface BoundedCacheOptions {
  /** At most this many entries (at least 1). */
  maxEntries: number;
  /** Entries older than this are misses; default: no expiry. */
  ttlMs?: number;
  /** The clock, in ms (default Date.now). */
  now?: () => number;
}

export class BoundedCache<K, V> {
  private readonly entries = new Map<K, { value: V; storedAt: number }>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: BoundedCacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer; got ${options.maxEntries}`);
    }
    if (options.ttlMs !== undefined && !(options.ttlMs >= 0)) throw new RangeError(`ttlMs must be zero or more; got ${options.ttlMs}`);
    this.maxEntries = options.maxEntries;
    this.ttlMs = options.ttlMs ?? Number.POSITIVE_INFINITY;
    this.now = options.now ?? Date.now;
  }

  /** The live entry's value (and marks it recently used), or undefined. */
  get(key: K): V | undefined {
    const entry = this.live(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Whether a live entry is held (without marking it used). */
  has(key: K): boolean {
    return this.live(key) !== undefined;
  }

  private live(key: K): { value: V; storedAt: number } | undefined {
    const entry = this.entries.get(key);
    if (entry && this.now() - entry.storedAt >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Stores the value (its age starts now), evicting the least recently used entries past maxEntries. */
  set(key: K, value: V): this {
    this.entries.delete(key);
    this.entries.set(key, { value, storedAt: this.now() });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as K);
    return this;
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /** Entries held, expired ones included until they are seen. */
  get size(): number {
    return this.entries.size;
  }
}
