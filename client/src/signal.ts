/** A wake-up call between the consumer's loops: `notify` ends the current (or the next) `wait`. */
export class Wakeup {
  private waiters = new Set<() => void>();
  private pending = false;

  notify(): void {
    if (this.waiters.size === 0) {
      this.pending = true;
      return;
    }
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves after `ms`, or at once if notified since the last wait, or when notified. */
  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
    });
  }
}

/** A minimal typed event emitter. */
export class Events<M extends { [K in keyof M]: unknown }> {
  private listeners = new Map<keyof M, Set<(payload: never) => void>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof M>(event: K, listener: (payload: M[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  listenerCount(event: keyof M): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  emit<K extends keyof M>(event: K, payload: M[K]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as (payload: M[K]) => void)(payload);
      } catch (error) {
        // A listener's failure must not break the consumer's loops.
        console.error(`logway: a '${String(event)}' listener threw:`, error);
      }
    }
  }
}
