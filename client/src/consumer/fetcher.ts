/**
 * The fetcher: one long-poll POST /v1/fetch across the partitions ready to read, each from its
 * position. The order rotates from one fetch to the next so that one busy partition cannot
 * starve the others of the response's byte budget. A fetch can be aborted (a partition was
 * revoked, paused or sought), which ends the long poll at once.
 */
import type { HttpTransport } from '../http';
import type { WireFetchResult } from '../types';
import type { PartitionState } from './partitions';

/** A partition as one fetch asked for it: deliveries check the state is still at this offset and generation. */
export interface RequestedPartition {
  state: PartitionState;
  offset: number;
  generation: number;
}

export type FetchOutcome = { results: WireFetchResult[] } | { aborted: true; answered: boolean };

export interface FetcherOptions {
  /** Long-poll wait (fetch.max.wait.ms). */
  maxWaitMs: number;
  maxBytes: number;
  maxRecords: number | undefined;
}

/** `ready` rotated to start at `turn` (mod its length). */
export function rotate<T>(ready: readonly T[], turn: number): T[] {
  if (ready.length === 0) return [];
  const start = turn % ready.length;
  return [...ready.slice(start), ...ready.slice(0, start)];
}

/** The partitions to read now: none while the session lapsed, else those not backing off after a failure. */
export function readyToFetch(candidates: readonly PartitionState[], now: number, sessionLapsed: boolean): PartitionState[] {
  return sessionLapsed ? [] : candidates.filter((s) => s.retryAt <= now);
}

/** How long to wait when nothing is ready: until the earliest backoff ends, else a second. */
export function idleWaitMs(candidates: readonly PartitionState[], now: number): number {
  const nextRetry = Math.min(...candidates.map((s) => s.retryAt).filter((t) => t > now));
  return Number.isFinite(nextRetry) ? nextRetry - now : 1000;
}

export class Fetcher {
  private controller: AbortController | undefined;
  private turn = 0;

  constructor(
    private readonly http: HttpTransport,
    private readonly options: FetcherOptions,
  ) {}

  /** The partitions in this fetch's order, each at its position. */
  plan(ready: readonly PartitionState[]): RequestedPartition[] {
    return rotate(ready, this.turn++).map((state) => ({ state, offset: state.position!, generation: state.generation }));
  }

  /** Fetches. Throws the request's failure, unless the fetch was aborted (then `aborted`, and whether the service had answered). */
  async fetch(requested: RequestedPartition[]): Promise<FetchOutcome> {
    const controller = new AbortController();
    this.controller = controller;
    const { maxWaitMs, maxBytes, maxRecords } = this.options;
    try {
      const response = await this.http.request<{ results: WireFetchResult[] }>({
        method: 'POST',
        path: '/v1/fetch',
        body: {
          partitions: requested.map(({ state, offset }) => ({ topic: state.topic, partition: state.partition, offset })),
          waitMs: maxWaitMs,
          maxBytes,
          ...(maxRecords !== undefined ? { maxRecords } : {}),
        },
        signal: controller.signal,
        timeoutMs: maxWaitMs + 30_000,
      });
      return controller.signal.aborted ? { aborted: true, answered: true } : { results: response.body.results };
    } catch (error) {
      if (controller.signal.aborted) return { aborted: true, answered: false };
      throw error;
    } finally {
      if (this.controller === controller) this.controller = undefined;
    }
  }

  /** Ends the fetch in flight (its results are dropped). */
  abort(): void {
    this.controller?.abort();
  }
}
