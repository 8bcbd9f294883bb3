/**
 * The delivery runner (KafkaJS's consumer/runner): the fetch loop long-polls across the owned,
 * unpaused partitions and hands the records to eachMessage / eachBatch in offset order, up to
 * partitionsConsumedConcurrently partitions at once, committing on an interval (auto-commit).
 * A delivery only happens while its partition is still owned, active, unpaused, at the fetched
 * generation (no seek since) and the session has not lapsed. A failed eachMessage/eachBatch
 * backs the partition off and delivers again from the failed message. OFFSET_OUT_OF_RANGE
 * resets the partition per auto offset reset.
 */
import { isLogwayApiError, LogwayApiError, type LogwayErrorCode } from '../errors';
import { toMessage } from '../records';
import { backoffDelay, type RetryOptions } from '../retry';
import { Wakeup, type Events } from '../signal';
import type { WireFetchedRecord, WireFetchResult } from '../types';
import { type Fetcher, idleWaitMs, readyToFetch, type RequestedPartition } from './fetcher';
import type { OffsetTracker } from './offsets';
import { keyOf, type PartitionState, type PartitionTable, type Subscription, toOffset } from './partitions';
import type { Batch, ConsumerEvents, RunOptions, TopicPartition } from './types';

export type ResolvedRunOptions = Required<Omit<RunOptions, 'eachMessage' | 'eachBatch'>> & Pick<RunOptions, 'eachMessage' | 'eachBatch'>;

export const defaultRunOptions: ResolvedRunOptions = {
  autoCommit: true,
  autoCommitInterval: 5000,
  eachBatchAutoResolve: true,
  partitionsConsumedConcurrently: 1,
};

/** What the runner needs of the consumer. */
export interface RunnerHooks {
  running(): boolean;
  sessionLapsed(now?: number): boolean;
  /** Commits every owned partition's position if the auto-commit interval has passed. */
  maybeAutoCommit(): Promise<void>;
  pause(topicPartitions: { topic: string; partitions?: number[] }[]): void;
  resume(topicPartitions: { topic: string; partitions?: number[] }[]): void;
  report(error: unknown, context: string, where?: TopicPartition): void;
}

export class Runner {
  private options: ResolvedRunOptions = defaultRunOptions;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly wake = new Wakeup();

  constructor(
    private readonly table: PartitionTable,
    private readonly subscription: Subscription,
    private readonly fetcher: Fetcher,
    private readonly tracker: OffsetTracker,
    private readonly retry: RetryOptions,
    private readonly hooks: RunnerHooks,
    private readonly events: Events<ConsumerEvents>,
  ) {}

  get eachBatch(): boolean {
    return this.options.eachBatch !== undefined;
  }

  start(options: ResolvedRunOptions): void {
    this.options = options;
    this.loopDone = this.loop().catch((error) => this.hooks.report(error, 'fetch loop'));
  }

  /** Ends the fetch in flight and wakes the loop: the partitions to read changed. */
  refetch(): void {
    this.fetcher.abort();
    this.wake.notify();
  }

  /** Ends the fetch in flight (a partition stopped being deliverable); the loop goes on. */
  abortFetch(): void {
    this.fetcher.abort();
  }

  /** Waits for the loop to end (after `running` went false and `refetch`). */
  stopped(): Promise<void> {
    return this.loopDone;
  }

  /** May the partition's next message of this generation be delivered? */
  deliverable(state: PartitionState, generation: number): boolean {
    return (
      this.hooks.running() &&
      this.table.holds(state) &&
      state.status === 'active' &&
      state.generation === generation &&
      !this.table.isPaused(state) &&
      !this.hooks.sessionLapsed()
    );
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.hooks.running()) {
      const now = Date.now();
      const candidates = this.table.fetchable();
      const ready = readyToFetch(candidates, now, this.hooks.sessionLapsed(now));
      if (ready.length === 0) {
        await this.wake.wait(idleWaitMs(candidates, now));
        await this.hooks.maybeAutoCommit();
        continue;
      }
      const requested = this.fetcher.plan(ready);
      let results: WireFetchResult[];
      try {
        const outcome = await this.fetcher.fetch(requested);
        if ('aborted' in outcome) {
          if (outcome.answered) failures = 0;
          continue;
        }
        results = outcome.results;
        failures = 0;
      } catch (error) {
        failures++;
        this.hooks.report(error, 'fetch');
        await this.wake.wait(backoffDelay(failures - 1, this.retry, isLogwayApiError(error) ? error.retryAfterMs : 0));
        continue;
      }
      await this.deliver(requested, results);
      await this.hooks.maybeAutoCommit();
    }
  }

  private async deliver(requested: RequestedPartition[], results: WireFetchResult[]): Promise<void> {
    const byKey = new Map(results.map((r) => [keyOf(r.topic, r.partition), r]));
    const jobs: (() => Promise<void>)[] = [];
    for (const { state, offset, generation } of requested) {
      const result = byKey.get(state.key);
      if (!result || !this.deliverable(state, generation) || state.position !== offset) continue;
      if ('error' in result) {
        this.onPartitionError(state, result.error);
        continue;
      }
      state.highWatermark = result.highWatermark;
      const records = result.records.filter((r) => r.offset >= offset);
      if (records.length === 0) {
        // Offsets with no record any more (compaction): move past them.
        if (result.nextOffset > offset) state.position = result.nextOffset;
        continue;
      }
      jobs.push(() => this.process(state, generation, records, result.highWatermark));
    }
    const concurrency = Math.max(1, this.options.partitionsConsumedConcurrently);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
        while (next < jobs.length) await jobs[next++]!();
      }),
    );
  }

  private onPartitionError(state: PartitionState, error: { code: string; message: string; [k: string]: unknown }): void {
    if (
      error.code === ('OFFSET_OUT_OF_RANGE' satisfies LogwayErrorCode) &&
      typeof error.logStartOffset === 'number' &&
      typeof error.highWatermark === 'number'
    ) {
      const reset = this.subscription.resetOf(state.topic);
      const from = state.position ?? 0;
      state.position = reset === 'earliest' ? error.logStartOffset : error.highWatermark;
      state.generation++;
      this.events.emit('offset.reset', { topic: state.topic, partition: state.partition, from, to: state.position });
      return;
    }
    this.backOff(state);
    this.hooks.report(new LogwayApiError(0, error.code, error.message, error, undefined, { origin: 'service' }), 'fetch partition', state);
  }

  private backOff(state: PartitionState): void {
    state.failures++;
    state.retryAt = Date.now() + backoffDelay(state.failures - 1, this.retry);
  }

  private async process(state: PartitionState, generation: number, records: WireFetchedRecord[], highWatermark: number): Promise<void> {
    // Revoked, paused or sought since the fetch: checked before `processing` is set, so a revocation never misses this batch.
    if (!this.deliverable(state, generation)) return;
    const messages = records.map(toMessage);
    const { topic, partition } = state;
    const current = () => this.table.holds(state) && state.generation === generation;
    const pause = () => {
      this.hooks.pause([{ topic, partitions: [partition] }]);
      return () => this.hooks.resume([{ topic, partitions: [partition] }]);
    };
    const heartbeat = async () => undefined;
    const { eachBatch, eachMessage } = this.options;
    const work = async () => {
      if (eachBatch) {
        const last = messages[messages.length - 1]!;
        const batch: Batch = {
          topic,
          partition,
          highWatermark,
          messages,
          isEmpty: () => messages.length === 0,
          firstOffset: () => messages[0]?.offset ?? null,
          lastOffset: () => last.offset,
          offsetLag: () => Math.max(0, highWatermark - (last.offset + 1)),
          offsetLagLow: () => Math.max(0, highWatermark - messages[0]!.offset),
        };
        await eachBatch({
          batch,
          resolveOffset: (offset) => {
            const value = toOffset(offset);
            if (current()) this.tracker.resolve(state, value);
          },
          heartbeat,
          commitOffsetsIfNecessary: () => this.hooks.maybeAutoCommit(),
          uncommittedOffsets: () => this.tracker.uncommitted(),
          isRunning: () => this.hooks.running(),
          isStale: () => !this.deliverable(state, generation),
          pause,
        });
        if (this.options.eachBatchAutoResolve && current()) this.tracker.resolve(state, last.offset);
      } else {
        for (const message of messages) {
          if (!this.deliverable(state, generation)) break;
          await eachMessage!({ topic, partition, message, heartbeat, pause });
          if (current()) this.tracker.processed(state, message.offset);
        }
      }
    };
    state.processing = work();
    try {
      await state.processing;
      state.failures = 0;
    } catch (error) {
      this.backOff(state);
      this.hooks.report(error, eachBatch ? 'eachBatch' : 'eachMessage', state);
    } finally {
      state.processing = null;
    }
  }
}
