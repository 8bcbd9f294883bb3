/**
 * The partitions a consumer holds, and what it was asked to do with them: the subscription
 * (topics and their auto offset reset), the owned partitions' state, pauses, seeks waiting for
 * a partition to be assigned, and reconciliation (which owned partitions an assignment revokes
 * and which it adds). No I/O: every part of the consumer reads and changes this table.
 */
import type { Assignment } from '../types';
import type { OffsetReset, TopicPartition } from './types';

/**
 * - initializing: assigned, its position being looked up (not delivered, not reported owned to
 *   the app, but reported owned to the group so the assignment is not handed elsewhere);
 * - active: fetched and delivered;
 * - revoking: no longer delivered; committed (with auto-commit) and released once idle.
 */
export type PartitionStatus = 'initializing' | 'active' | 'revoking';

export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  status: PartitionStatus;
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

export const keyOf = (topic: string, partition: number) => `${topic}:${partition}`;

export function splitKey(key: string): [string, number] {
  const i = key.lastIndexOf(':');
  return [key.slice(0, i), Number(key.slice(i + 1))];
}

export function byTopicPartition(a: TopicPartition, b: TopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

export const topicPartitionOf = ({ topic, partition }: TopicPartition): TopicPartition => ({ topic, partition });

export function toOffset(offset: number | string): number {
  const value = typeof offset === 'string' ? Number(offset) : offset;
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`offset must be a non-negative integer; got ${offset}`);
  return value;
}

export function newPartitionState(key: string): PartitionState {
  const [topic, partition] = splitKey(key);
  return {
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
}

/** The topics subscribed to, each with where to start when the group has no committed offset. */
export class Subscription {
  private readonly topics = new Map<string, OffsetReset>();
  /** Set when a topic was added since the last heartbeat that sent the subscription. */
  changed = false;

  constructor(readonly defaultReset: OffsetReset) {}

  add(topics: string[], fromBeginning: boolean | undefined): void {
    for (const topic of topics) {
      if (typeof topic !== 'string') throw new TypeError('subscribe: topics are names (regular expressions are not supported)');
      const reset: OffsetReset = fromBeginning === undefined ? this.defaultReset : fromBeginning ? 'earliest' : 'latest';
      if (!this.topics.has(topic)) this.changed = true;
      this.topics.set(topic, reset);
    }
  }

  get size(): number {
    return this.topics.size;
  }

  names(): string[] {
    return [...this.topics.keys()];
  }

  resetOf(topic: string): OffsetReset {
    return this.topics.get(topic) ?? this.defaultReset;
  }
}

/** What an assignment changes: owned partitions it no longer holds (not already revoking), and partitions new to this member. */
export function reconcile(
  owned: ReadonlyMap<string, Pick<PartitionState, 'status'>>,
  assignment: Assignment,
): { revoked: string[]; added: string[] } {
  const target = new Set<string>();
  for (const [topic, partitions] of Object.entries(assignment)) for (const p of partitions) target.add(keyOf(topic, p));
  const revoked = [...owned].filter(([key, s]) => !target.has(key) && s.status !== 'revoking').map(([key]) => key);
  const added = [...target].filter((key) => !owned.has(key));
  return { revoked, added };
}

export class PartitionTable {
  /** The partitions this member holds, by key. */
  readonly owned = new Map<string, PartitionState>();
  private readonly pausedPartitions = new Set<string>();
  private readonly pausedTopics = new Set<string>();
  /** Seeks of partitions not assigned (or not initialized) yet: applied when they become active. */
  readonly pendingSeeks = new Map<string, number>();

  get(key: string): PartitionState | undefined {
    return this.owned.get(key);
  }

  /** Whether `state` is still the table's state for its partition (not released and re-added since). */
  holds(state: PartitionState): boolean {
    return this.owned.get(state.key) === state;
  }

  states(): PartitionState[] {
    return [...this.owned.values()];
  }

  add(key: string): PartitionState {
    const state = newPartitionState(key);
    this.owned.set(key, state);
    return state;
  }

  /** Releases the partitions that are still these states. */
  release(states: PartitionState[]): PartitionState[] {
    const released = states.filter((s) => this.holds(s));
    for (const state of released) this.owned.delete(state.key);
    return released;
  }

  clear(): void {
    this.owned.clear();
  }

  /** The partitions delivering or being revoked (what Kafka's assignment() reports), sorted. */
  assignment(): TopicPartition[] {
    return this.states()
      .filter((s) => s.status !== 'initializing')
      .map(topicPartitionOf)
      .sort(byTopicPartition);
  }

  /** Every held partition by topic, as a heartbeat's ownedPartitions. */
  ownedAssignment(): Assignment {
    const assignment: Assignment = {};
    for (const { topic, partition } of this.owned.values()) (assignment[topic] ??= []).push(partition);
    for (const list of Object.values(assignment)) list.sort((a, b) => a - b);
    return assignment;
  }

  /**
   * Moves an active partition's position (a new generation, so deliveries of an older fetch are
   * dropped) and returns true; else keeps the seek for when the partition becomes active.
   */
  seek(topic: string, partition: number, offset: number): boolean {
    const state = this.owned.get(keyOf(topic, partition));
    if (state && state.status !== 'initializing') {
      state.position = offset;
      state.generation++;
      state.retryAt = 0;
      return true;
    }
    this.pendingSeeks.set(keyOf(topic, partition), offset);
    return false;
  }

  /** Applies a pending seek to a partition becoming active. */
  takePendingSeek(state: PartitionState): void {
    const seek = this.pendingSeeks.get(state.key);
    if (seek !== undefined) {
      state.position = seek;
      this.pendingSeeks.delete(state.key);
    }
  }

  pause(topicPartitions: { topic: string; partitions?: number[] }[]): void {
    for (const { topic, partitions } of topicPartitions) {
      if (partitions) for (const p of partitions) this.pausedPartitions.add(keyOf(topic, p));
      else this.pausedTopics.add(topic);
    }
  }

  resume(topicPartitions: { topic: string; partitions?: number[] }[]): void {
    for (const { topic, partitions } of topicPartitions) {
      if (partitions) for (const p of partitions) this.pausedPartitions.delete(keyOf(topic, p));
      else {
        this.pausedTopics.delete(topic);
        for (const key of [...this.pausedPartitions]) if (key.startsWith(`${topic}:`)) this.pausedPartitions.delete(key);
      }
    }
  }

  isPaused(state: Pick<PartitionState, 'topic' | 'key'>): boolean {
    return this.pausedTopics.has(state.topic) || this.pausedPartitions.has(state.key);
  }

  /** Paused partitions: owned ones of paused topics, and every partition paused by name. */
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

  /** Active partitions with a position that are not paused: what the fetcher may read. */
  fetchable(): PartitionState[] {
    return this.states().filter((s) => s.status === 'active' && s.position !== null && !this.isPaused(s));
  }
}
