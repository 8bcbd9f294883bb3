/**
 * The consumer: KafkaJS's `subscribe` / `run({ eachMessage | eachBatch })` over Logway's
 * consumer-group protocol (KIP-848: the service assigns, members reconcile; docs/groups.md).
 *
 * Two loops run while the consumer runs:
 * - the heartbeat loop joins the group (memberEpoch 0, with a client-chosen member id so a
 *   retried join is harmless), heartbeats every heartbeatIntervalMs (the service's, and never more
 *   than a third of the session timeout) reporting the partitions it owns, and reconciles each
 *   response's assignment:
 *     - a partition that left the assignment stops being fetched and delivered; once its
 *       in-flight message or batch is done its offset is committed (with auto-commit) and the
 *       next heartbeat, sent at once, releases it by leaving it out of ownedPartitions;
 *     - a new partition starts at the group's committed offset, or per auto offset reset
 *       (earliest or latest) when there is none;
 *   FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID, or no successful heartbeat for a whole session, drop
 *   every partition (nothing more is delivered, nothing committed) and rejoin with epoch 0;
 * - the fetch loop long-polls POST /v1/fetch across the owned, unpaused partitions and hands the
 *   records to eachMessage / eachBatch in offset order, committing on an interval (auto-commit).
 * OFFSET_OUT_OF_RANGE resets the partition per auto offset reset. `disconnect()` stops fetching,
 * commits and leaves the group (epoch -1), so the group moves the partitions at once.
 */
import { randomUUID } from 'node:crypto';
import { isLogwayApiError, LogwayApiError } from './errors';
import { segment, type HttpTransport } from './http';
import { toMessage, type Message } from './records';
import { backoffDelay, retryOptions, sleep, type RetryOptions } from './retry';
import { Events, Wakeup } from './signal';
import type { Assignment, CommittedOffset, HeartbeatResponse, WireFetchedRecord, WireFetchResult } from './types';

export type OffsetReset = 'earliest' | 'latest';

export interface ConsumerOptions {
  groupId: string;
  /** The member id to join with; default a random UUID (chosen client-side, so a retried join is idempotent). */
  memberId?: string;
  /** The session timeout the service applies to this member (1000 to 300000). Default 45000, as Kafka's. */
  sessionTimeoutMs?: number;
  /** Upper bound of the heartbeat interval; the service's heartbeatIntervalMs and a third of the session timeout are the others. */
  heartbeatIntervalMs?: number;
  /** Where to start a partition the group has no committed offset for (auto.offset.reset). Default 'latest'. */
  autoOffsetReset?: OffsetReset;
  /** Long-poll wait of a fetch (fetch.max.wait.ms). Default 5000. */
  maxWaitTimeInMs?: number;
  /** Bytes per fetch (fetch.max.bytes). Default 1 MiB. */
  maxBytes?: number;
  /** Records per fetch (the service's default: 500). */
  maxRecords?: number;
  /** Backoff after a failed eachMessage/eachBatch (the batch is delivered again from the failed message). */
  retry?: Partial<RetryOptions>;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  offset: number | string;
}

export interface EachMessagePayload {
  topic: string;
  partition: number;
  message: Message;
  /** Heartbeats run in the background; kept for KafkaJS compatibility. */
  heartbeat(): Promise<void>;
  /** Pauses this partition after this message; returns a function that resumes it. */
  pause(): () => void;
}

export interface Batch {
  topic: string;
  partition: number;
  highWatermark: number;
  messages: Message[];
  isEmpty(): boolean;
  firstOffset(): number | null;
  lastOffset(): number;
  /** Records after this batch up to the high watermark. */
  offsetLag(): number;
  /** Records from the first message of this batch to the high watermark. */
  offsetLagLow(): number;
}

export interface EachBatchPayload {
  batch: Batch;
  /** Marks the message at `offset` processed: the partition's position moves past it. */
  resolveOffset(offset: number | string): void;
  heartbeat(): Promise<void>;
  /** Commits processed offsets if the auto-commit interval has passed. */
  commitOffsetsIfNecessary(): Promise<void>;
  /** Offsets processed but not committed yet. */
  uncommittedOffsets(): TopicPartitionOffset[];
  /** False once the consumer is stopping. */
  isRunning(): boolean;
  /** True once the partition was revoked, lost, paused or sought: stop processing this batch. */
  isStale(): boolean;
  pause(): () => void;
}

export interface RunOptions {
  eachMessage?: (payload: EachMessagePayload) => Promise<void>;
  eachBatch?: (payload: EachBatchPayload) => Promise<void>;
  /** Commit processed offsets every autoCommitInterval ms, on revocation and on disconnect. Default true. */
  autoCommit?: boolean;
  /** Default 5000. */
  autoCommitInterval?: number;
  /** After eachBatch returns, resolve every message of the batch. Default true. */
  eachBatchAutoResolve?: boolean;
  /** How many partitions' batches are processed at once. Default 1. */
  partitionsConsumedConcurrently?: number;
}

export interface DisconnectOptions {
  /** Leave the group (memberEpoch -1) so partitions move at once. Default true; false keeps the member until its session expires (Kafka's REMAIN_IN_GROUP). */
  leaveGroup?: boolean;
  /** Commit processed offsets first (with auto-commit). Default true. */
  commit?: boolean;
}

export interface ConsumerEvents {
  /** A join (or rejoin) was accepted. */
  'group.join': { memberId: string; memberEpoch: number };
  /** Partitions were added and have a position. */
  'partitions.assigned': { partitions: (TopicPartition & { offset: number })[] };
  /** Partitions were revoked by the group: processed, committed and released. */
  'partitions.revoked': { partitions: TopicPartition[] };
  /** Partitions were dropped without a commit: the member was fenced, expired or lost its session. */
  'partitions.lost': { partitions: TopicPartition[]; reason: string };
  'offsets.committed': { offsets: (TopicPartition & { offset: number })[] };
  /** A partition's offset was reset by OFFSET_OUT_OF_RANGE. */
  'offset.reset': TopicPartition & { from: number; to: number };
  /** A failure the consumer is handling (retrying, rejoining); eachMessage errors included. */
  error: { error: unknown; context: string } & Partial<TopicPartition>;
  /** disconnect() finished. */
  stop: Record<string, never>;
}

type Status = 'initializing' | 'active' | 'revoking';

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  status: Status;
  /** The next offset to deliver. */
  position: number | null;
  committed: number | null;
  /** Bumped by seek: deliveries of an older fetch are dropped. */
  generation: number;
  processing: Promise<void> | null;
  retryAt: number;
  failures: number;
  highWatermark: number | null;
}

const keyOf = (topic: string, partition: number) => `${topic}:${partition}`;
const maxOffsetsPerCommit = 99;

export class Consumer {
  readonly groupId: string;
  readonly memberId: string;
  private readonly sessionTimeoutMs: number;
  private readonly heartbeatIntervalCap: number;
  private readonly defaultReset: OffsetReset;
  private readonly maxWaitMs: number;
  private readonly maxBytes: number;
  private readonly maxRecords: number | undefined;
  private readonly retry: RetryOptions;
  private readonly events = new Events<ConsumerEvents>();

  private readonly topics = new Map<string, OffsetReset>();
  private subscriptionChanged = false;
  private readonly owned = new Map<string, PartitionState>();
  private readonly pausedPartitions = new Set<string>();
  private readonly pausedTopics = new Set<string>();
  private readonly pendingSeeks = new Map<string, number>();
  private readonly tasks = new Set<Promise<void>>();

  private run_: Required<Omit<RunOptions, 'eachMessage' | 'eachBatch'>> & Pick<RunOptions, 'eachMessage' | 'eachBatch'> = {
    autoCommit: true,
    autoCommitInterval: 5000,
    eachBatchAutoResolve: true,
    partitionsConsumedConcurrently: 1,
  };
  private memberEpoch = 0;
  private serverHeartbeatIntervalMs = 5000;
  private lastHeartbeatSentAt = 0;
  private heartbeatWaiters: { resolve(): void }[] = [];
  private running = false;
  private heartbeating = false;
  private started = false;
  private stopping: Promise<void> | undefined;
  private heartbeatLoopDone: Promise<void> = Promise.resolve();
  private fetchLoopDone: Promise<void> = Promise.resolve();
  private readonly heartbeatWake = new Wakeup();
  private readonly fetchWake = new Wakeup();
  private fetchController: AbortController | undefined;
  private lastAutoCommit = Date.now();
  private commitChain: Promise<unknown> = Promise.resolve();
  private rotation = 0;

  constructor(
    private readonly http: HttpTransport,
    options: ConsumerOptions,
  ) {
    if (!options || typeof options.groupId !== 'string' || options.groupId.length === 0)
      throw new TypeError('consumer: groupId is required');
    this.groupId = options.groupId;
    this.memberId = options.memberId ?? randomUUID();
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 45_000;
    this.heartbeatIntervalCap = options.heartbeatIntervalMs ?? Number.POSITIVE_INFINITY;
    this.defaultReset = options.autoOffsetReset ?? 'latest';
    this.maxWaitMs = options.maxWaitTimeInMs ?? 5000;
    this.maxBytes = options.maxBytes ?? 1_048_576;
    this.maxRecords = options.maxRecords;
    this.retry = retryOptions({ initialRetryTimeMs: 200, maxRetryTimeMs: 10_000, ...options.retry });
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
    for (const topic of topics) {
      if (typeof topic !== 'string') throw new TypeError('subscribe: topics are names (regular expressions are not supported)');
      const reset: OffsetReset =
        subscription.fromBeginning === undefined ? this.defaultReset : subscription.fromBeginning ? 'earliest' : 'latest';
      if (!this.topics.has(topic)) this.subscriptionChanged = true;
      this.topics.set(topic, reset);
    }
    if (this.started) this.heartbeatWake.notify();
  }

  /** Starts consuming; resolves once the loops are running (as KafkaJS's run does). */
  async run(options: RunOptions): Promise<void> {
    if (this.started) throw new Error('run: the consumer is already running');
    if (!options.eachMessage === !options.eachBatch) throw new TypeError('run: give eachMessage or eachBatch (one of them)');
    if (this.topics.size === 0) throw new TypeError('run: subscribe to a topic first');
    this.run_ = { ...this.run_, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
    this.started = true;
    this.running = true;
    this.heartbeating = true;
    this.lastAutoCommit = Date.now();
    this.heartbeatLoopDone = this.heartbeatLoop().catch((error) => this.report(error, 'heartbeat loop'));
    this.fetchLoopDone = this.fetchLoop().catch((error) => this.report(error, 'fetch loop'));
  }

  /** The partitions assigned to this member and delivering (as Kafka's assignment(): from 'partitions.assigned' until 'partitions.revoked'). */
  assignment(): TopicPartition[] {
    return [...this.owned.values()]
      .filter((s) => s.status !== 'initializing')
      .map(({ topic, partition }) => ({ topic, partition }))
      .sort(byTopicPartition);
  }

  /** Moves a partition's position; the next fetch reads from `offset`. */
  seek({ topic, partition, offset }: TopicPartitionOffset): void {
    const value = toOffset(offset);
    const state = this.owned.get(keyOf(topic, partition));
    if (state && state.status !== 'initializing') {
      state.position = value;
      state.generation++;
      state.retryAt = 0;
      this.abortFetch();
      this.fetchWake.notify();
    } else {
      this.pendingSeeks.set(keyOf(topic, partition), value);
    }
  }

  /** Stops fetching these partitions (all of a topic's when `partitions` is omitted) until resumed. */
  pause(topicPartitions: { topic: string; partitions?: number[] }[]): void {
    for (const { topic, partitions } of topicPartitions) {
      if (partitions) for (const p of partitions) this.pausedPartitions.add(keyOf(topic, p));
      else this.pausedTopics.add(topic);
    }
    this.abortFetch();
  }

  resume(topicPartitions: { topic: string; partitions?: number[] }[]): void {
    for (const { topic, partitions } of topicPartitions) {
      if (partitions) for (const p of partitions) this.pausedPartitions.delete(keyOf(topic, p));
      else {
        this.pausedTopics.delete(topic);
        for (const key of [...this.pausedPartitions]) if (key.startsWith(`${topic}:`)) this.pausedPartitions.delete(key);
      }
    }
    this.abortFetch();
    this.fetchWake.notify();
  }

  paused(): { topic: string; partitions: number[] }[] {
    const byTopic = new Map<string, number[]>();
    for (const state of this.owned.values()) {
      if (this.isPaused(state)) byTopic.set(state.topic, [...(byTopic.get(state.topic) ?? []), state.partition]);
    }
    for (const key of this.pausedPartitions) {
      const [topic, p] = splitKey(key);
      const list = byTopic.get(topic) ?? [];
      if (!list.includes(p)) byTopic.set(topic, [...list, p]);
    }
    return [...byTopic.entries()].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
  }

  /**
   * Commits offsets (the next offset to consume, as Kafka) of partitions this member owns.
   * Without an argument, commits every owned partition's processed position.
   */
  async commitOffsets(offsets?: TopicPartitionOffset[]): Promise<void> {
    if (!offsets) return this.commitStates([...this.owned.values()]);
    await this.commit(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: toOffset(o.offset) })));
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
    this.abortFetch();
    this.fetchWake.notify();
    await this.fetchLoopDone;
    await Promise.allSettled([...this.tasks]);
    if (commit && this.run_.autoCommit && this.memberEpoch > 0) {
      await this.commitStates([...this.owned.values()]).catch((error) => this.report(error, 'commit on disconnect'));
    }
    this.heartbeating = false;
    this.heartbeatWake.notify();
    await this.heartbeatLoopDone;
    if (leaveGroup && this.memberEpoch > 0) {
      try {
        await this.http.request({
          method: 'POST',
          path: `/v1/groups/${segment(this.groupId)}/heartbeat`,
          body: { memberId: this.memberId, memberEpoch: -1 },
          timeoutMs: Math.max(1000, this.sessionTimeoutMs),
        });
      } catch (error) {
        // Already gone (expired or fenced) is as good as left.
        if (!(isLogwayApiError(error) && (error.code === 'UNKNOWN_MEMBER_ID' || error.code === 'FENCED_MEMBER_EPOCH'))) {
          this.report(error, 'leave group');
        }
      }
    }
    this.owned.clear();
    this.memberEpoch = 0;
    for (const waiter of this.heartbeatWaiters.splice(0)) waiter.resolve();
    this.events.emit('stop', {});
  }

  // ---- heartbeats and reconciliation ----

  private heartbeatIntervalMs(): number {
    return Math.max(10, Math.min(this.serverHeartbeatIntervalMs, this.heartbeatIntervalCap, Math.floor(this.sessionTimeoutMs / 3)));
  }

  private sessionLapsed(now = Date.now()): boolean {
    return this.memberEpoch > 0 && now - this.lastHeartbeatSentAt > this.sessionTimeoutMs;
  }

  private ownedAssignment(): Assignment {
    const assignment: Assignment = {};
    for (const { topic, partition } of this.owned.values()) (assignment[topic] ??= []).push(partition);
    for (const list of Object.values(assignment)) list.sort((a, b) => a - b);
    return assignment;
  }

  private async heartbeatLoop(): Promise<void> {
    let failures = 0;
    while (this.heartbeating) {
      const sentAt = Date.now();
      const joining = this.memberEpoch === 0;
      if (joining && !this.running) break;
      const subscriptionChanged = this.subscriptionChanged;
      this.subscriptionChanged = false;
      const body = joining
        ? { memberId: this.memberId, memberEpoch: 0, subscribedTopics: [...this.topics.keys()], sessionTimeoutMs: this.sessionTimeoutMs }
        : {
            memberId: this.memberId,
            memberEpoch: this.memberEpoch,
            ownedPartitions: this.ownedAssignment(),
            ...(subscriptionChanged ? { subscribedTopics: [...this.topics.keys()] } : {}),
          };
      let delay: number;
      try {
        const response = await this.http.request<HeartbeatResponse>({
          method: 'POST',
          path: `/v1/groups/${segment(this.groupId)}/heartbeat`,
          body,
          retry: 'none',
          timeoutMs: Math.max(1000, this.sessionTimeoutMs),
        });
        failures = 0;
        const r = response.body;
        this.lastHeartbeatSentAt = sentAt;
        this.memberEpoch = r.memberEpoch;
        this.serverHeartbeatIntervalMs = r.heartbeatIntervalMs;
        if (joining) this.events.emit('group.join', { memberId: r.memberId, memberEpoch: r.memberEpoch });
        if (this.running) this.reconcile(r.assignment);
        for (const waiter of this.heartbeatWaiters.splice(0)) waiter.resolve();
        delay = this.heartbeatIntervalMs();
      } catch (error) {
        if (subscriptionChanged) this.subscriptionChanged = true;
        if (!this.heartbeating) break;
        if (isLogwayApiError(error) && (error.code === 'FENCED_MEMBER_EPOCH' || error.code === 'UNKNOWN_MEMBER_ID')) {
          await this.abandonAll(error.code);
          delay = 0;
        } else {
          failures++;
          this.report(error, joining ? 'join group' : 'heartbeat');
          if (this.sessionLapsed()) await this.abandonAll('SESSION_LAPSED');
          delay = Math.min(
            this.heartbeatIntervalMs(),
            backoffDelay(failures - 1, this.retry, isLogwayApiError(error) ? error.retryAfterMs : 0),
          );
        }
      }
      await this.heartbeatWake.wait(delay);
    }
  }

  /** Resolves after the next successful heartbeat (or after `timeoutMs`). */
  private nextHeartbeat(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.heartbeatWaiters = this.heartbeatWaiters.filter((w) => w !== waiter);
        resolve();
      }, timeoutMs);
      this.heartbeatWaiters.push(waiter);
      this.heartbeatWake.notify();
    });
  }

  private reconcile(assignment: Assignment): void {
    const target = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) for (const p of partitions) target.add(keyOf(topic, p));
    const revoked = [...this.owned.values()].filter((s) => !target.has(s.key) && s.status !== 'revoking');
    const added = [...target].filter((key) => !this.owned.has(key));
    if (revoked.length > 0) this.track(this.revoke(revoked));
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
    await Promise.all(states.map((s) => this.idle(s)));
    const current = states.filter((s) => this.owned.get(s.key) === s);
    if (current.length === 0) return;
    if (this.run_.autoCommit) await this.commitStates(current).catch((error) => this.report(error, 'commit on revocation'));
    const released = current.filter((s) => this.owned.get(s.key) === s);
    for (const state of released) this.owned.delete(state.key);
    if (released.length > 0) {
      this.events.emit('partitions.revoked', {
        partitions: released.map(({ topic, partition }) => ({ topic, partition })).sort(byTopicPartition),
      });
    }
    this.heartbeatWake.notify();
  }

  /** Gives new partitions a position (committed offset, else auto offset reset) and starts fetching them. */
  private async assign(keys: string[]): Promise<void> {
    const states = keys.map((key): PartitionState => {
      const [topic, partition] = splitKey(key);
      const state: PartitionState = {
        topic,
        partition,
        key,
        status: 'initializing',
        position: null,
        committed: null,
        generation: 0,
        processing: null,
        retryAt: 0,
        failures: 0,
        highWatermark: null,
      };
      this.owned.set(key, state);
      return state;
    });
    const live = () => states.filter((s) => this.owned.get(s.key) === s && s.status === 'initializing');
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
      const seek = this.pendingSeeks.get(state.key);
      if (seek !== undefined) {
        state.position = seek;
        this.pendingSeeks.delete(state.key);
      }
      state.status = 'active';
    }
    if (activated.length > 0) {
      this.events.emit('partitions.assigned', {
        partitions: activated.map((s) => ({ topic: s.topic, partition: s.partition, offset: s.position! })).sort(byTopicPartition),
      });
      this.abortFetch();
      this.fetchWake.notify();
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
        } else if (!this.pendingSeeks.has(state.key)) {
          state.position = await this.resetOffset(state);
        }
      }),
    );
  }

  private async resetOffset(state: PartitionState): Promise<number> {
    const at = this.topics.get(state.topic) ?? this.defaultReset;
    const response = await this.http.request<{ offset: number }>({
      method: 'GET',
      path: `/v1/topics/${segment(state.topic)}/partitions/${state.partition}/offsets`,
      query: { at },
    });
    return response.body.offset;
  }

  /** Drops every partition without committing (fenced, expired, session lapsed); the next heartbeat rejoins. */
  private async abandonAll(reason: string): Promise<void> {
    const states = [...this.owned.values()];
    for (const state of states) state.status = 'revoking';
    this.abortFetch();
    await Promise.all(states.map((s) => this.idle(s)));
    for (const state of states) if (this.owned.get(state.key) === state) this.owned.delete(state.key);
    this.memberEpoch = 0;
    if (states.length > 0) {
      this.events.emit('partitions.lost', {
        partitions: states.map(({ topic, partition }) => ({ topic, partition })).sort(byTopicPartition),
        reason,
      });
    }
  }

  private async idle(state: PartitionState): Promise<void> {
    while (state.processing) await state.processing.catch(() => undefined);
  }

  // ---- fetching and delivery ----

  private isPaused(state: PartitionState): boolean {
    return this.pausedTopics.has(state.topic) || this.pausedPartitions.has(state.key);
  }

  /** May the partition's next message of this generation be delivered? */
  private deliverable(state: PartitionState, generation: number): boolean {
    return (
      this.running &&
      this.owned.get(state.key) === state &&
      state.status === 'active' &&
      state.generation === generation &&
      !this.isPaused(state) &&
      !this.sessionLapsed()
    );
  }

  private abortFetch(): void {
    this.fetchController?.abort();
  }

  private async fetchLoop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      const now = Date.now();
      const candidates = [...this.owned.values()].filter((s) => s.status === 'active' && s.position !== null && !this.isPaused(s));
      const ready = this.sessionLapsed(now) ? [] : candidates.filter((s) => s.retryAt <= now);
      if (ready.length === 0) {
        const nextRetry = Math.min(...candidates.map((s) => s.retryAt).filter((t) => t > now));
        await this.fetchWake.wait(Number.isFinite(nextRetry) ? nextRetry - now : 1000);
        await this.maybeAutoCommit();
        continue;
      }
      // Rotate the order so one busy partition cannot starve the others of the fetch's byte budget.
      const start = this.rotation++ % ready.length;
      const order = [...ready.slice(start), ...ready.slice(0, start)];
      const requested = order.map((state) => ({ state, offset: state.position!, generation: state.generation }));
      const controller = new AbortController();
      this.fetchController = controller;
      let results: WireFetchResult[];
      try {
        const response = await this.http.request<{ results: WireFetchResult[] }>({
          method: 'POST',
          path: '/v1/fetch',
          body: {
            partitions: requested.map(({ state, offset }) => ({ topic: state.topic, partition: state.partition, offset })),
            waitMs: this.maxWaitMs,
            maxBytes: this.maxBytes,
            ...(this.maxRecords !== undefined ? { maxRecords: this.maxRecords } : {}),
          },
          signal: controller.signal,
          timeoutMs: this.maxWaitMs + 30_000,
        });
        results = response.body.results;
        failures = 0;
      } catch (error) {
        if (controller.signal.aborted) continue;
        failures++;
        this.report(error, 'fetch');
        await this.fetchWake.wait(backoffDelay(failures - 1, this.retry, isLogwayApiError(error) ? error.retryAfterMs : 0));
        continue;
      } finally {
        if (this.fetchController === controller) this.fetchController = undefined;
      }
      if (controller.signal.aborted) continue;
      await this.deliver(requested, results);
      await this.maybeAutoCommit();
    }
  }

  private async deliver(
    requested: { state: PartitionState; offset: number; generation: number }[],
    results: WireFetchResult[],
  ): Promise<void> {
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
    const concurrency = Math.max(1, this.run_.partitionsConsumedConcurrently);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
        while (next < jobs.length) await jobs[next++]!();
      }),
    );
  }

  private onPartitionError(state: PartitionState, error: { code: string; message: string; [k: string]: unknown }): void {
    if (error.code === 'OFFSET_OUT_OF_RANGE' && typeof error.logStartOffset === 'number' && typeof error.highWatermark === 'number') {
      const reset = this.topics.get(state.topic) ?? this.defaultReset;
      const from = state.position ?? 0;
      state.position = reset === 'earliest' ? error.logStartOffset : error.highWatermark;
      state.generation++;
      this.events.emit('offset.reset', { topic: state.topic, partition: state.partition, from, to: state.position });
      return;
    }
    state.failures++;
    state.retryAt = Date.now() + backoffDelay(state.failures - 1, this.retry);
    this.report(new LogwayApiError(0, error.code, error.message, error), 'fetch partition', state);
  }

  private async process(state: PartitionState, generation: number, records: WireFetchedRecord[], highWatermark: number): Promise<void> {
    // Revoked, paused or sought since the fetch: checked before `processing` is set, so a revocation never misses this batch.
    if (!this.deliverable(state, generation)) return;
    const messages = records.map(toMessage);
    const { topic, partition } = state;
    const current = () => this.owned.get(state.key) === state && state.generation === generation;
    const pause = () => {
      this.pause([{ topic, partitions: [partition] }]);
      return () => this.resume([{ topic, partitions: [partition] }]);
    };
    const heartbeat = async () => undefined;
    const work = async () => {
      if (this.run_.eachBatch) {
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
        await this.run_.eachBatch({
          batch,
          resolveOffset: (offset) => {
            const next = toOffset(offset) + 1;
            if (current() && (state.position === null || next > state.position)) state.position = next;
          },
          heartbeat,
          commitOffsetsIfNecessary: () => this.maybeAutoCommit(),
          uncommittedOffsets: () =>
            [...this.owned.values()]
              .filter((s) => s.position !== null && s.position !== s.committed)
              .map((s) => ({ topic: s.topic, partition: s.partition, offset: s.position! })),
          isRunning: () => this.running,
          isStale: () => !this.deliverable(state, generation),
          pause,
        });
        if (this.run_.eachBatchAutoResolve && current() && (state.position === null || last.offset + 1 > state.position)) {
          state.position = last.offset + 1;
        }
      } else {
        for (const message of messages) {
          if (!this.deliverable(state, generation)) break;
          await this.run_.eachMessage!({ topic, partition, message, heartbeat, pause });
          if (current()) state.position = message.offset + 1;
        }
      }
    };
    state.processing = work();
    try {
      await state.processing;
      state.failures = 0;
    } catch (error) {
      state.failures++;
      state.retryAt = Date.now() + backoffDelay(state.failures - 1, this.retry);
      this.report(error, this.run_.eachBatch ? 'eachBatch' : 'eachMessage', state);
    } finally {
      state.processing = null;
    }
  }

  // ---- commits ----

  private async maybeAutoCommit(): Promise<void> {
    if (!this.run_.autoCommit || Date.now() - this.lastAutoCommit < this.run_.autoCommitInterval) return;
    this.lastAutoCommit = Date.now();
    await this.commitStates([...this.owned.values()]).catch((error) => this.report(error, 'auto-commit'));
  }

  /** Commits the positions of these partitions that moved since their last commit. */
  private commitStates(states: PartitionState[]): Promise<void> {
    const offsets = states
      .filter((s) => s.status !== 'initializing' && s.position !== null && s.position !== s.committed)
      .map((s) => ({ topic: s.topic, partition: s.partition, offset: s.position! }));
    return offsets.length > 0 ? this.commit(offsets) : Promise.resolve();
  }

  /** Commits, one at a time (a late commit never overwrites a newer one), retrying once after a heartbeat on STALE_MEMBER_EPOCH. */
  private commit(offsets: { topic: string; partition: number; offset: number }[]): Promise<void> {
    const run = this.commitChain.then(async () => {
      for (let i = 0; i < offsets.length; i += maxOffsetsPerCommit) {
        let chunk = offsets.slice(i, i + maxOffsetsPerCommit);
        for (let attempt = 0; ; attempt++) {
          if (this.memberEpoch <= 0) {
            throw new LogwayApiError(0, 'NOT_A_MEMBER', `The consumer is not a member of group '${this.groupId}' now: nothing committed.`);
          }
          try {
            await this.http.request({
              method: 'POST',
              path: `/v1/groups/${segment(this.groupId)}/offsets`,
              body: { memberId: this.memberId, memberEpoch: this.memberEpoch, offsets: chunk },
            });
            break;
          } catch (error) {
            if (!isLogwayApiError(error) || error.code !== 'STALE_MEMBER_EPOCH' || attempt >= 2) throw error;
            if (error.details.reason === 'NOT_OWNER' && Array.isArray(error.details.partitions)) {
              const notOwned = new Set((error.details.partitions as TopicPartition[]).map((p) => keyOf(p.topic, p.partition)));
              chunk = chunk.filter((o) => !notOwned.has(keyOf(o.topic, o.partition)));
              if (chunk.length === 0) throw error;
            } else {
              await this.nextHeartbeat(this.sessionTimeoutMs);
            }
          }
        }
        for (const offset of chunk) {
          const state = this.owned.get(keyOf(offset.topic, offset.partition));
          if (state) state.committed = offset.offset;
        }
        this.events.emit('offsets.committed', { offsets: chunk });
      }
    });
    this.commitChain = run.catch(() => undefined);
    return run;
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

function toOffset(offset: number | string): number {
  const value = typeof offset === 'string' ? Number(offset) : offset;
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`offset must be a non-negative integer; got ${offset}`);
  return value;
}

function splitKey(key: string): [string, number] {
  const i = key.lastIndexOf(':');
  return [key.slice(0, i), Number(key.slice(i + 1))];
}

function byTopicPartition(a: TopicPartition, b: TopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}
