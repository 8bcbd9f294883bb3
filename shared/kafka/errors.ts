/**
 * Kafka's error codes (org.apache.kafka.common.protocol.Errors), the ones this gateway answers
 * with. Logway's errors already carry Kafka's error names (LogwayError.code), so mapping one to
 * the wire is a lookup by name; a name Kafka lacks maps to the closest code listed in `aliases`.
 */
import { isLogwayError, type LogwayError } from '../errors';
import { throttlingError } from '../log/throttling';
import { RecordsError } from '../records';

export const kafkaErrorCodes = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_FETCH_SIZE: 4,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  MESSAGE_TOO_LARGE: 10,
  OFFSET_METADATA_TOO_LARGE: 12,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  NOT_ENOUGH_REPLICAS: 19,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  INVALID_COMMIT_OFFSET_SIZE: 28,
  TOPIC_AUTHORIZATION_FAILED: 29,
  GROUP_AUTHORIZATION_FAILED: 30,
  CLUSTER_AUTHORIZATION_FAILED: 31,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_SASL_MECHANISM: 33,
  ILLEGAL_SASL_STATE: 34,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  INVALID_REQUEST: 42,
  POLICY_VIOLATION: 44,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  CONCURRENT_TRANSACTIONS: 51,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  SASL_AUTHENTICATION_FAILED: 58,
  UNKNOWN_PRODUCER_ID: 59,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  MEMBER_ID_REQUIRED: 79,
  GROUP_MAX_SIZE_REACHED: 81,
  INVALID_RECORD: 87,
  THROTTLING_QUOTA_EXCEEDED: 89,
  FENCED_MEMBER_EPOCH: 110,
  UNRELEASED_INSTANCE_ID: 111,
  UNSUPPORTED_ASSIGNOR: 112,
  STALE_MEMBER_EPOCH: 113,
} as const;

export type KafkaErrorName = keyof typeof kafkaErrorCodes;

/** Logway codes that are not Kafka names, and the Kafka error a Kafka client understands for each. */
const aliases: Readonly<Record<string, KafkaErrorName>> = {
  RECORD_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  GROUP_TOO_LARGE: 'GROUP_MAX_SIZE_REACHED',
  NOT_FOUND: 'UNKNOWN_TOPIC_OR_PARTITION',
  IDEMPOTENCY_KEY_REUSED: 'INVALID_REQUEST',
};

export function kafkaCode(name: string): number {
  if (name in kafkaErrorCodes) return kafkaErrorCodes[name as KafkaErrorName];
  const alias = aliases[name];
  return alias === undefined ? kafkaErrorCodes.UNKNOWN_SERVER_ERROR : kafkaErrorCodes[alias];
}

/** A failure a handler answers in a response field: Kafka's code and a message for the fields that carry one. */
export class KafkaError extends Error {
  constructor(
    readonly errorName: KafkaErrorName,
    message: string,
  ) {
    super(message);
    this.name = 'KafkaError';
  }
  get code(): number {
    return kafkaErrorCodes[this.errorName];
  }
}

/** The Kafka error code and message of anything a handler caught; unexpected errors are UNKNOWN_SERVER_ERROR. */
export function toKafkaError(error: unknown): { code: number; message: string; unexpected: boolean } {
  // AWS throttling that reached a handler as the SDK threw it is the 429 it is over HTTP (shared/http/handler.ts).
  error = throttlingError(error) ?? error;
  if (error instanceof KafkaError) return { code: error.code, message: error.message, unexpected: false };
  if (isLogwayError(error)) {
    const code = kafkaCode(error.code);
    return { code, message: error.message, unexpected: error.status >= 500 };
  }
  if (error instanceof RecordsError) return { code: kafkaCode(error.code), message: error.message, unexpected: false };
  return { code: kafkaErrorCodes.UNKNOWN_SERVER_ERROR, message: (error as Error)?.message ?? String(error), unexpected: true };
}

/** `error` as the 429 it stands for, if it is throttling: Logway's own, or AWS's as the SDK threw it. */
function asThrottling(error: unknown): LogwayError | undefined {
  const normalized = throttlingError(error) ?? error;
  return isLogwayError(normalized) && normalized.code === 'THROTTLING_QUOTA_EXCEEDED' ? normalized : undefined;
}

/** The wait an error asks for (its Retry-After), in ms as Kafka's throttle_time_ms is. */
const waitMs = (error: LogwayError) => (error.retryAfterSeconds ?? 1) * 1000;

/** How long a throttled operation asks the client to wait (ms), or undefined if `error` is not throttling. */
export function throttleTimeOf(error: unknown): number | undefined {
  const throttled = asThrottling(error);
  return throttled && waitMs(throttled);
}

/**
 * A Produce partition's error, as the producers in use retry it. Kafka answers an overloaded partition by slowing its producers
 * (throttle_time_ms), never with THROTTLING_QUOTA_EXCEEDED, which Kafka sends only for topic
 * admin quotas, and which librdkafka, KafkaJS and kafka-python all treat as a permanent failure of
 * the batch: the producer would drop its records. So a throttled append (a hot partition's key,
 * or the append's deadline) is NOT_ENOUGH_REPLICAS: retriable in every client and, in librdkafka,
 * "not persisted", which is true (a throttled append wrote nothing). `throttleTimeMs` is how
 * long the client should wait, sent as the response's throttle_time_ms.
 */
export function toProduceError(error: unknown): { code: number; message: string; throttleTimeMs: number } {
  const throttled = asThrottling(error);
  if (throttled) {
    return {
      code: kafkaErrorCodes.NOT_ENOUGH_REPLICAS,
      message: `${throttled.message} Nothing of this batch was written; the producer retries it.`,
      throttleTimeMs: waitMs(throttled),
    };
  }
  // A retry of a batch whose first attempt is still appending (a client that timed out and sent it
  // again on another connection): CONCURRENT_TRANSACTIONS would fail it for good, though it may be
  // in the log. REQUEST_TIMED_OUT is retried as "possibly persisted", and the retry gets the
  // batch's offset.
  if (isLogwayError(error) && error.code === 'CONCURRENT_TRANSACTIONS') {
    return { code: kafkaErrorCodes.REQUEST_TIMED_OUT, message: error.message, throttleTimeMs: waitMs(error) };
  }
  const { code, message } = toKafkaError(error);
  return { code, message, throttleTimeMs: 0 };
}

/**
 * A group API's error (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
 * the group admin APIs). A group item that too many members change at once is the HTTP API's 429;
 * Kafka's group coordinator has no such answer, and THROTTLING_QUOTA_EXCEEDED is not retried by
 * librdkafka's, KafkaJS's or kafka-python's group code (KafkaJS does not know the code, and fails
 * on it). COORDINATOR_LOAD_IN_PROGRESS is what every one of them retries in place, after a backoff.
 */
export function toGroupError(error: unknown): { code: number; message: string; unexpected: boolean } {
  const throttled = asThrottling(error);
  if (throttled) return { code: kafkaErrorCodes.COORDINATOR_LOAD_IN_PROGRESS, message: throttled.message, unexpected: false };
  return toKafkaError(error);
}
