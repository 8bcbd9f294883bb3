/**
 * The consumer: KafkaJS's `subscribe` / `run({ eachMessage | eachBatch })` over Logway's
 * consumer-group protocol (KIP-848: the service assigns, members reconcile; docs/groups.md).
 * This class is the public face and the partitions' lifecycle; the work is split as KafkaJS
 * splits it (consumerGroup, consumer/runner, offsetManager):
 * - consumer/membership.ts: the heartbeat loop: join, heartbeats, rejoin when fenced;
 * - consumer/partitions.ts: the subscription, the owned partitions, pauses, seeks, and
 *   reconciliation (what an assignment revokes and adds);
 * - consumer/fetcher.ts: one long-poll POST /v1/fetch across the partitions ready to read;
 * - consumer/runner.ts: the fetch loop and delivery to eachMessage / eachBatch;
 * - consumer/offsets.ts: positions against committed offsets, auto-commit, the commit request.
 *
 * Reconciling an assignment (here):
 * - a partition that left the assignment stops being fetched and delivered; once its in-flight
 *   message or batch is done its offset is committed (with auto-commit) and the next heartbeat,
 *   sent at once, releases it by leaving it out of ownedPartitions;
 * - a new partition starts at the group's committed offset, or per auto offset reset (earliest
 *   or latest) when there is none;
 * - FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID, or no successful heartbeat for a whole session, drop
 *   every partition (nothing more is delivered, nothing committed) and rejoin with epoch 0.
 * `disconnect()` stops fetching, commits and leaves the group (epoch -1), so the group moves the
 * partitions at once.
 */
import { randomUUID } from 'node:crypto';
import { serviceDefaults } from '../../shared/config';
import { Fetcher } from './consumer/fetcher';
import { Membership } from './consumer/membership';
import { OffsetCommitter, OffsetTracker } from './consumer/offsets';
import {
  byTopicPartition,
  keyOf,
  PartitionTable,
  reconcile,
  Subscription,
  toOffset,
  topicPartitionOf,
  type PartitionState,
} from './consumer/partitions';
import { defaultRunOptions, Runner } from './consumer/runner';
import type {
  ConsumerEvents,
  ConsumerOptions,
  DisconnectOptions,
  RunOptions,
  TopicPartition,
  TopicPartitionOffset,
} from './consumer/types';
import { segment, type HttpTransport } from './http';
import { backoffDelay, retryOptions, sleep, type RetryOptions } from './retry';
import { Events } from './signal';
import type { Assignment, CommittedOffset } from './types';

/**
 * Bytes a consumer asks each fetch for by default: 4 MiB of the service's 5 MiB most. Fewer,
 * larger fetches are most of the cost per GiB read (docs/performance.md, "Cost"); the service cuts
 * a response to Lambda's 6 MB whatever is asked.
 */
export const defaultConsumerMaxBytes = 4 * 1_048_576;

/** Records a consumer asks each fetch for by default: enough that 1 KiB records fill `defaultConsumerMaxBytes`. */
export const defaultConsumerMaxRecords = 10_000;

export type {
  Batch,
  ConsumerEvents,
  ConsumerOptions,
  DisconnectOptions,
  EachBatchPayload,
  EachMessagePayload,
  OffsetReset,
  RunOptions,
  TopicPartition,
  TopicPartitionOffset,
} from './consumer/types';

export class Consumer {
  readonly groupId: string;
  readonly memberId: string;
  private readonly sessionTimeoutMs: number;
  private readonly retry: RetryOptions;
  private readonly events = new Events<ConsumerEvents>();
  private readonly subscription: Subscription;
  private readonly table = new PartitionTable();
  private readonly tracker = new OffsetTracker(this.table);
  private readonly membership: Membership;
  private readonly committer: OffsetCommitter;
  private readonly runner: Runner;
  /** Revocations and assignments under way. */
  private readonly tasks = new Set<Promise<void>>();
  private started = false;
  private running = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly http: HttpTransport,
    options: ConsumerOptions,
  ) {
    if (!options || typeof options.groupId !== 'string' || options.groupId.length === 0)
      throw new TypeError('consumer: groupId is required');
    this.groupId = options.groupId;
    this.memberId = options.memberId ?? randomUUID();
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? serviceDefaults.sessionTimeoutMs;
    this.retry = retryOptions({ initialRetryTimeMs: 200, maxRetryTimeMs: 10_000, ...options.retry });
    this.subscription = new Subscription(options.autoOffsetReset ?? 'latest');
    const report = (error: unknown, context: string, where?: TopicPartition) => this.report(error, context, where);
    this.membership = new Membership(
      http,
      {
        groupId: this.groupId,
        memberId: this.memberId,
        sessionTimeoutMs: this.sessionTimeoutMs,
        heartbeatIntervalCapMs: options.heartbeatIntervalMs ?? Number.POSITIVE_INFINITY,
        initialHeartbeatIntervalMs: serviceDefaults.heartbeatIntervalMs,
        retry: this.retry,
      },
      {
        running: () => this.running,
        subscribedTopics: () => this.subscription.names(),
        takeSubscriptionChange: () => {
          const changed = this.subscription.changed;
          this.subscription.changed = false;
          return changed;
        },
        restoreSubscriptionChange: () => {
          this.subscription.changed = true;
        },
        ownedPartitions: () => this.table.ownedAssignment(),
        reconcile: (assignment) => this.reconcile(assignment),
        lose: (reason) => this.abandonAll(reason),
        report,
      },
      this.events,
    );
    this.committer = new OffsetCommitter(
      http,
      this.groupId,
      this.memberId,
      this.sessionTimeoutMs,
      this.membership,
      this.tracker,
      this.events,
    );
    const fetcher = new Fetcher(http, {
      maxWaitMs: options.maxWaitTimeInMs ?? 5000,
      maxBytes: options.maxBytes ?? defaultConsumerMaxBytes,
      maxRecords: options.maxRecords ?? defaultConsumerMaxRecords,
    });
    this.runner = new Runner(
      this.table,
      this.subscription,
      fetcher,
      this.tracker,
      this.retry,
      {
        running: () => this.running,
        sessionLapsed: (now) => this.membership.sessionLapsed(now),
        maybeAutoCommit: () => this.maybeAutoCommit(),
        pause: (topicPartitions) => this.pause(topicPartitions),
        resume: (topicPartitions) => this.resume(topicPartitions),
        report,
      },
      this.events,
    );
  }

  /** Listens to a consumer event; returns a function that removes the listener. */
  on<K extends keyof ConsumerEvents>(event: K, listener: (payload: ConsumerEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** Kept for KafkaJS compatibility: the consumer connects on run(). */
  async connect(): Promise<void> {}

  /** Adds topics to the subscription. `fromBeginning` starts them at the earliest offset when the group has none committed. */
  async subscribe(subscription: { topics?: string[]; topic?: string; fromBeginning?: boolean }): Promise<void> {
    const topics = [...(subscription.topics ?? []), ...(subscription.topic ? [subscription.topic] : [])];
    if (topics.length === 0) throw new TypeError('subscribe: name at least one topic');
    this.subscription.add(topics, subscription.fromBeginning);
    if (this.started) this.membership.notify();
  }

  /** Starts consuming; resolves once the loops are running (as KafkaJS's run does). */
  async run(options: RunOptions): Promise<void> {
    if (this.started) throw new Error('run: the consumer is already running');
    if (!options.eachMessage === !options.eachBatch) throw new TypeError('run: give eachMessage or eachBatch (one of them)');
    if (this.subscription.size === 0) throw new TypeError('run: subscribe to a topic first');
    const resolved = { ...defaultRunOptions, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
    this.started = true;
    this.running = true;
    this.tracker.configure(resolved);
    this.membership.start();
    this.runner.start(resolved);
  }

  /** The partitions assigned to this member and delivering (as Kafka's assignment(): from 'partitions.assigned' until 'partitions.revoked'). */
  assignment(): TopicPartition[] {
    return this.table.assignment();
  }

  /** Moves a partition's position; the next fetch reads from `offset`. */
  seek({ topic, partition, offset }: TopicPartitionOffset): void {
    if (this.table.seek(topic, partition, toOffset(offset))) this.runner.refetch();
  }

  /** Stops fetching these partitions (all of a topic's when `partitions` is omitted) until resumed. */
  pause(topicPartitions: { topic: string; partitions?: number[] }[]): void {
    this.table.pause(topicPartitions);
    this.abortFetch();
  }

  resume(topicPartitions: { topic: string; partitions?: number[] }[]): void {
    this.table.resume(topicPartitions);
    this.runner.refetch();
  }

  paused(): { topic: string; partitions: number[] }[] {
    return this.table.paused();
  }

  /**
   * Commits offsets (the next offset to consume, as Kafka) of partitions this member owns.
   * Without an argument, commits every owned partition's processed position.
   */
  async commitOffsets(offsets?: TopicPartitionOffset[]): Promise<void> {
    if (!offsets) return this.committer.commitStates(this.table.states());
    await this.committer.commit(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: toOffset(o.offset) })));
  }

  /**
   * Stops consuming. By default it finishes the message in hand, commits (with auto-commit) and
   * leaves the group, so the group moves this member's partitions at once.
   */
  disconnect(options: DisconnectOptions = {}): Promise<void> {
    if (!this.started) return Promise.resolve();
    this.stopping ??= this.stop(options);
    return this.stopping;
  }

  private async stop({ leaveGroup = true, commit = true }: DisconnectOptions): Promise<void> {
    this.running = false;
    this.runner.refetch();
    await this.runner.stopped();
    await Promise.allSettled([...this.tasks]);
    if (commit && this.tracker.autoCommitEnabled && this.membership.memberEpoch > 0) {
      await this.committer.commitStates(this.table.states()).catch((error) => this.report(error, 'commit on disconnect'));
    }
    await this.membership.stop();
    if (leaveGroup) await this.membership.leave();
    this.table.clear();
    this.membership.close();
    this.events.emit('stop', {});
  }

  private abortFetch(): void {
    this.runner.abortFetch();
  }

  // ---- reconciliation: the partitions' lifecycle ----

  private reconcile(assignment: Assignment): void {
    const { revoked, added } = reconcile(this.table.owned, assignment);
    if (revoked.length > 0) this.track(this.revoke(revoked.map((key) => this.table.get(key)!)));
    if (added.length > 0) this.track(this.assign(added));
  }

  private track(work: Promise<void>): void {
    const task = work.catch((error) => this.report(error, 'reconcile'));
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
  }

  /** Stops delivering the partitions, waits for the message in hand, commits, then releases them on the next heartbeat. */
  private async revoke(states: PartitionState[]): Promise<void> {
    for (const state of states) state.status = 'revoking';
    this.abortFetch();
    await Promise.all(states.map((s) => idle(s)));
    const current = states.filter((s) => this.table.holds(s));
    if (current.length === 0) return;
    if (this.tracker.autoCommitEnabled)
      await this.committer.commitStates(current).catch((error) => this.report(error, 'commit on revocation'));
    const released = this.table.release(current);
    if (released.length > 0) {
      this.events.emit('partitions.revoked', { partitions: released.map(topicPartitionOf).sort(byTopicPartition) });
    }
    this.membership.notify();
  }

  /** Gives new partitions a position (committed offset, else auto offset reset) and starts fetching them. */
  private async assign(keys: string[]): Promise<void> {
    const states = keys.map((key) => this.table.add(key));
    const live = () => states.filter((s) => this.table.holds(s) && s.status === 'initializing');
    for (let attempt = 0; ; attempt++) {
      if (!this.running || live().length === 0) return;
      try {
        await this.initPositions(live());
        break;
      } catch (error) {
        this.report(error, 'initialize partitions');
        await sleep(backoffDelay(attempt, this.retry));
      }
    }
    const activated = live();
    for (const state of activated) {
      this.table.takePendingSeek(state);
      state.status = 'active';
    }
    if (activated.length > 0) {
      this.events.emit('partitions.assigned', {
        partitions: activated.map((s) => ({ topic: s.topic, partition: s.partition, offset: s.position! })).sort(byTopicPartition),
      });
      this.runner.refetch();
    }
  }

  private async initPositions(states: PartitionState[]): Promise<void> {
    const response = await this.http.request<{ offsets: CommittedOffset[] }>({
      method: 'GET',
      path: `/v1/groups/${segment(this.groupId)}/offsets`,
    });
    const committed = new Map(response.body.offsets.map((o) => [keyOf(o.topic, o.partition), o.offset]));
    await Promise.all(
      states.map(async (state) => {
        const offset = committed.get(state.key);
        if (offset !== undefined) {
          state.position = offset;
          state.committed = offset;
        } else if (!this.table.pendingSeeks.has(state.key)) {
          state.position = await this.resetOffset(state);
        }
      }),
    );
  }

  private async resetOffset(state: PartitionState): Promise<number> {
    const response = await this.http.request<{ offset: number }>({
      method: 'GET',
      path: `/v1/topics/${segment(state.topic)}/partitions/${state.partition}/offsets`,
      query: { at: this.subscription.resetOf(state.topic) },
    });
    return response.body.offset;
  }

  /** Drops every partition without committing (fenced, expired, session lapsed); the next heartbeat rejoins. */
  private async abandonAll(reason: string): Promise<void> {
    const states = this.table.states();
    for (const state of states) state.status = 'revoking';
    this.abortFetch();
    await Promise.all(states.map((s) => idle(s)));
    this.table.release(states);
    this.membership.rejoin();
    if (states.length > 0) {
      this.events.emit('partitions.lost', { partitions: states.map(topicPartitionOf).sort(byTopicPartition), reason });
    }
  }

  // ---- commits ----

  private async maybeAutoCommit(): Promise<void> {
    if (!this.tracker.takeAutoCommitTurn()) return;
    await this.committer.commitStates(this.table.states()).catch((error) => this.report(error, 'auto-commit'));
  }

  private report(error: unknown, context: string, where?: TopicPartition): void {
    if (this.events.listenerCount('error') > 0) {
      this.events.emit('error', { error, context, ...(where ? { topic: where.topic, partition: where.partition } : {}) });
    } else {
      const place = where ? ` (${where.topic}-${where.partition})` : '';
      console.error(
        `logway consumer ${this.groupId}: ${context}${place} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

async function idle(state: PartitionState): Promise<void> {
  while (state.processing) await state.processing.catch(() => undefined);
}
