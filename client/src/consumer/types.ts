/** The consumer's public shapes (KafkaJS's): options, payloads, events. */
import type { Message } from '../records';
import type { RetryOptions } from '../retry';

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
  /** Bytes per fetch (fetch.max.bytes). Default 4 MiB. */
  maxBytes?: number;
  /** Records per fetch. Default 10000 (a handler's batch is at most one fetch). */
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
