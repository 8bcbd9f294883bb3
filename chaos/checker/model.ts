/**
 * The shapes of the operations in a chaos history: what the workload records and the checker
 * reads. Record values are unique ids, so every read says exactly which write it saw (Elle's
 * "recoverability": a value maps back to the one write that produced it).
 */

export interface ProducedRecord {
  /** Unique over the run; the record's value on the wire. */
  readonly id: string;
  readonly key: string | null;
  /** Where it was sent; -1: no partition given, placed by the key (murmur2 on the partition count in force). */
  readonly partition: number;
  /** UTF-8 bytes of value plus key, to judge RECORD_TOO_LARGE refusals. */
  readonly bytes: number;
}

/** One HTTP produce attempt. Attempts of one logical write share `write` and send the same body. */
export interface ProduceValue {
  readonly topic: string;
  readonly write: string;
  readonly attempt: number;
  readonly idempotencyKey?: string;
  readonly records: readonly ProducedRecord[];
  /** The protocol: HTTP (absent) or the Kafka listener. */
  readonly via?: 'kafka';
}

export interface ProduceResult {
  readonly offsets: readonly { partition: number; offset: number; timestamp: number }[];
  readonly replayed: boolean;
}

export interface FetchRequestPart {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** A fetch of one partition (GET .../records) or several (POST /v1/fetch). */
export interface FetchValue {
  readonly partitions: readonly FetchRequestPart[];
  /** Part of the final reads after the nemesis stopped. */
  readonly final?: boolean;
  /** The protocol: HTTP (absent) or the Kafka listener. */
  readonly via?: 'kafka';
}

export interface FetchedRecord {
  readonly offset: number;
  /** The record's value: a produced id, or null when the value was not one (a garbage read). */
  readonly id: string | null;
  readonly key: string | null;
  readonly timestamp: number;
}

export interface FetchedPartition extends FetchRequestPart {
  readonly records: readonly FetchedRecord[];
  readonly nextOffset: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** Set when this partition of a multi-partition fetch answered an error (e.g. 416). */
  readonly error?: string;
}

export interface FetchResult {
  readonly partitions: readonly FetchedPartition[];
}

export interface OffsetAtValue {
  readonly topic: string;
  readonly partition: number;
  readonly at: 'earliest' | 'latest' | number;
}

export interface OffsetAtResult {
  readonly offset: number | null;
}

export interface CreateTopicValue {
  readonly name: string;
  readonly partitions: number;
  readonly config: Readonly<Record<string, string | number>>;
}

export interface AlterConfigValue {
  readonly topic: string;
  readonly config: Readonly<Record<string, string | number>>;
}

export interface HeartbeatValue {
  readonly group: string;
  readonly memberId: string;
  /** 0 join, -1 leave, else the member's epoch. */
  readonly memberEpoch: number;
  readonly subscribedTopics?: readonly string[];
  /** What the member still holds; absent means unchanged (nothing released). */
  readonly ownedPartitions?: Readonly<Record<string, readonly number[]>>;
  readonly sessionTimeoutMs: number;
}

export interface HeartbeatResult {
  readonly memberId: string;
  readonly memberEpoch: number;
  readonly assignment: Readonly<Record<string, readonly number[]>>;
}

export interface CommitValue {
  readonly group: string;
  readonly memberId: string;
  readonly memberEpoch: number;
  /** Each offset's metadata is `token`, so a read of committed offsets names the commit it saw. */
  readonly token: string;
  readonly offsets: readonly { topic: string; partition: number; offset: number }[];
  /** Why the workload sent it (normal, stale-epoch, after-leave, zombie): for reports only. */
  readonly intent?: string;
}

export interface ReadCommitsValue {
  readonly group: string;
  readonly final?: boolean;
}

export interface ReadCommitsResult {
  readonly offsets: readonly { topic: string; partition: number; offset: number; metadata: string | null }[];
}

/** A violation of a guarantee, with the operations that show it. */
export interface Anomaly {
  /** Jepsen's names where one exists: lost-write, duplicate, inconsistent-offsets, G1a, ... */
  readonly type: string;
  /** The guarantee of docs/guarantees.md it violates. */
  readonly guarantee: number;
  readonly message: string;
  /** Operation ids (HistoryEvent.op) involved. */
  readonly ops: readonly number[];
  readonly details?: Readonly<Record<string, unknown>>;
}

export const pk = (topic: string, partition: number): string => `${topic}/${partition}`;

/** The trigger the workload creates on its triggered topic (before any record), recorded with the timeouts that bound an invocation. */
export interface CreateTriggerValue {
  readonly trigger: string;
  readonly topic: string;
  readonly functionName: string;
  readonly batchSize: number;
  /** The local Lambda server cuts an invocation off (terminating its worker) after this long. */
  readonly functionTimeoutMs: number;
}

/** One invocation of the trigger function, as the function reported it when it started. */
export interface TriggerInvokeValue {
  readonly topic: string;
  readonly partition: number;
  /** The offsets of the event's records, in event order. */
  readonly offsets: readonly number[];
  /** The produced id in each record's value (null when the value is not one). */
  readonly ids: readonly (string | null)[];
  /** Topic-partitions in the event (always 1 for a Logway trigger). */
  readonly partitions: number;
  /** The runtime process that ran the dispatcher and the function: the dispatcher's identity. */
  readonly pid: number;
  readonly requestId: string;
  /** The function's clock when it started (ms since the epoch, the machine's one clock). */
  readonly started: number;
  /** The harness told the function to throw. */
  readonly injectedFailure: boolean;
}

export interface TriggerInvokeResult {
  /** The function's clock when it returned or threw. */
  readonly ended: number;
}

/** The final quiet period: the trigger's state once delivery caught up (or the wait ran out). */
export interface TriggerQuietResult {
  readonly caughtUp: boolean;
  readonly partitions: readonly { partition: number; position: number; lag: number; lastError?: unknown }[];
}

/** A side topic deleted and created again under its name: the operation runs from the first delete attempt to the confirmed creation. */
export interface RecreateTopicValue {
  readonly topic: string;
  readonly partitions: number;
}

export interface RecreateTopicResult {
  /** When a delete answered 2xx or 404 (the old incarnation certainly gone). */
  readonly deletedAt: number | null;
  /** When the first create attempt was sent (no new incarnation before). */
  readonly createdFrom: number | null;
}

/** `PATCH /v1/topics/{topic}` `{partitions}`: grows a topic to this many partitions. */
export interface GrowPartitionsValue {
  readonly topic: string;
  readonly partitions: number;
}
