/**
 * Offsets, as KafkaJS's offsetManager keeps them: each partition's position (the next offset to
 * deliver, moved by processed messages and resolveOffset) against what the group has committed,
 * when auto-commit is due, and the commit itself (one at a time, so a late commit never
 * overwrites a newer one; retried once after a heartbeat on STALE_MEMBER_EPOCH).
 * `OffsetTracker` is pure; `OffsetCommitter` does the requests.
 */
import type { StaleReason } from '../../../shared/groups/json';
import { clientError, hasErrorCode } from '../errors';
import { segment, type HttpTransport } from '../http';
import type { Events } from '../signal';
import { keyOf, type PartitionState, type PartitionTable } from './partitions';
import type { ConsumerEvents, TopicPartition } from './types';

export interface CommittableOffset extends TopicPartition {
  offset: number;
}

/** Offsets per commit request (the service takes 100). */
export const maxOffsetsPerCommit = 99;

export class OffsetTracker {
  private autoCommit = true;
  private autoCommitInterval = 5000;
  private lastAutoCommit: number;

  constructor(
    private readonly table: PartitionTable,
    private readonly now: () => number = Date.now,
  ) {
    this.lastAutoCommit = now();
  }

  /** Sets the auto-commit policy and starts its interval now. */
  configure(options: { autoCommit: boolean; autoCommitInterval: number }): void {
    this.autoCommit = options.autoCommit;
    this.autoCommitInterval = options.autoCommitInterval;
    this.lastAutoCommit = this.now();
  }

  get autoCommitEnabled(): boolean {
    return this.autoCommit;
  }

  /** A message was processed: the position moves to the offset after it. */
  processed(state: PartitionState, offset: number): void {
    state.position = offset + 1;
  }

  /** resolveOffset: the position moves past `offset`, never back. */
  resolve(state: PartitionState, offset: number): void {
    const next = offset + 1;
    if (state.position === null || next > state.position) state.position = next;
  }

  /** Positions that moved since their last commit, of every held partition (eachBatch's uncommittedOffsets). */
  uncommitted(): CommittableOffset[] {
    return this.table
      .states()
      .filter((s) => s.position !== null && s.position !== s.committed)
      .map((s) => ({ topic: s.topic, partition: s.partition, offset: s.position! }));
  }

  /** What committing these partitions sends: the positions of initialized partitions that moved since their last commit. */
  toCommit(states: PartitionState[]): CommittableOffset[] {
    return states
      .filter((s) => s.status !== 'initializing' && s.position !== null && s.position !== s.committed)
      .map((s) => ({ topic: s.topic, partition: s.partition, offset: s.position! }));
  }

  /** True (and the interval restarts) when auto-commit is on and its interval has passed. */
  takeAutoCommitTurn(): boolean {
    if (!this.autoCommit || this.now() - this.lastAutoCommit < this.autoCommitInterval) return false;
    this.lastAutoCommit = this.now();
    return true;
  }

  /** The group took these offsets: partitions still held remember them as committed. */
  committed(offsets: CommittableOffset[]): void {
    for (const offset of offsets) {
      const state = this.table.get(keyOf(offset.topic, offset.partition));
      if (state) state.committed = offset.offset;
    }
  }
}

/** Splits offsets into requests the service takes. */
export function commitChunks<T>(offsets: T[], size = maxOffsetsPerCommit): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < offsets.length; i += size) chunks.push(offsets.slice(i, i + size));
  return chunks;
}

/** A chunk without the partitions a NOT_OWNER refusal named. */
export function withoutPartitions(chunk: CommittableOffset[], partitions: TopicPartition[]): CommittableOffset[] {
  const notOwned = new Set(partitions.map((p) => keyOf(p.topic, p.partition)));
  return chunk.filter((o) => !notOwned.has(keyOf(o.topic, o.partition)));
}

/** What the committer needs of the group membership. */
export interface CommitMembership {
  readonly memberEpoch: number;
  /** Resolves after the next successful heartbeat (or after `timeoutMs`). */
  nextHeartbeat(timeoutMs: number): Promise<void>;
}

export class OffsetCommitter {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly http: HttpTransport,
    private readonly groupId: string,
    private readonly memberId: string,
    private readonly sessionTimeoutMs: number,
    private readonly membership: CommitMembership,
    private readonly tracker: OffsetTracker,
    private readonly events: Events<ConsumerEvents>,
  ) {}

  /** Commits the positions of these partitions that moved since their last commit. */
  commitStates(states: PartitionState[]): Promise<void> {
    const offsets = this.tracker.toCommit(states);
    return offsets.length > 0 ? this.commit(offsets) : Promise.resolve();
  }

  /** Commits, one at a time (a late commit never overwrites a newer one), retrying once after a heartbeat on STALE_MEMBER_EPOCH. */
  commit(offsets: CommittableOffset[]): Promise<void> {
    const run = this.chain.then(async () => {
      for (let chunk of commitChunks(offsets)) {
        for (let attempt = 0; ; attempt++) {
          if (this.membership.memberEpoch <= 0) {
            throw clientError('NOT_A_MEMBER', `The consumer is not a member of group '${this.groupId}' now: nothing committed.`);
          }
          try {
            await this.http.request({
              method: 'POST',
              path: `/v1/groups/${segment(this.groupId)}/offsets`,
              body: { memberId: this.memberId, memberEpoch: this.membership.memberEpoch, offsets: chunk },
            });
            break;
          } catch (error) {
            if (!hasErrorCode(error, 'STALE_MEMBER_EPOCH') || attempt >= 2) throw error;
            if (error.details.reason === ('NOT_OWNER' satisfies StaleReason) && Array.isArray(error.details.partitions)) {
              chunk = withoutPartitions(chunk, error.details.partitions as TopicPartition[]);
              if (chunk.length === 0) throw error;
            } else {
              await this.membership.nextHeartbeat(this.sessionTimeoutMs);
            }
          }
        }
        this.tracker.committed(chunk);
        this.events.emit('offsets.committed', { offsets: chunk });
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}
