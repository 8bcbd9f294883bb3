/**
 * Errors that reach a client. Each carries a code from the catalogue (shared/error-codes.ts), which
 * gives its HTTP status and whether a retry can succeed, and a message a person can act on;
 * `details` are merged into the JSON error object, e.g. the bounds of an OFFSET_OUT_OF_RANGE.
 * A lower-level failure that caused it is kept as `cause` for the logs, never sent.
 */
import { type ErrorCode, errorCatalogue } from './error-codes';
import type { StaleReason, UnknownMemberReason } from './groups/json';

export type { ErrorCode } from './error-codes';

export interface LogwayErrorOptions {
  /** Seconds a throttled client should wait (sent as Retry-After). */
  readonly retryAfterSeconds?: number;
  readonly cause?: unknown;
}

export class LogwayError extends Error {
  override readonly name = 'LogwayError';
  readonly status: number;
  readonly retriable: boolean;
  readonly retryAfterSeconds?: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options: LogwayErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = errorCatalogue[code].status;
    this.retriable = errorCatalogue[code].retriable;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toJSON(): { error: { code: ErrorCode; message: string; [detail: string]: unknown } } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export function isLogwayError(error: unknown): error is LogwayError {
  return error instanceof LogwayError;
}

type Details = Record<string, unknown>;

/*
 * The builders: how shared/ makes each code's errors, in the catalogue's order. A code whose
 * message is always the same sentence has a builder taking the facts (`groupNotFound(groupId)`);
 * a code raised for many different reasons takes the message and details from its caller.
 * Only this file calls `new LogwayError` (test/conventions.test.ts checks).
 */

export const invalidRequest = (message: string, details: Details = {}) => new LogwayError('INVALID_REQUEST', message, details);

export const invalidTopic = (message: string, details: Details = {}) => new LogwayError('INVALID_TOPIC_EXCEPTION', message, details);

export const invalidPartitions = (message: string, details: Details = {}) => new LogwayError('INVALID_PARTITIONS', message, details);

export const partitionsCannotShrink = (topic: string, currentPartitions: number) =>
  invalidPartitions(
    `Topic '${topic}' has ${currentPartitions} partitions; partitions can only grow, so ask for more than ${currentPartitions}.`,
    { field: 'partitions', currentPartitions },
  );

export const invalidConfig = (message: string, details: Details = {}) => new LogwayError('INVALID_CONFIG', message, details);

/** The codes Kafka gives a bad value of some request fields (shared/api/validation.ts). */
export type FieldErrorCode = 'INVALID_TOPIC_EXCEPTION' | 'INVALID_PARTITIONS' | 'INVALID_CONFIG';

const fieldErrorBuilders = { INVALID_TOPIC_EXCEPTION: invalidTopic, INVALID_PARTITIONS: invalidPartitions, INVALID_CONFIG: invalidConfig };

/** The error of a request field whose bad value Kafka has a code for. */
export const fieldError = (code: FieldErrorCode, message: string, field: string) => fieldErrorBuilders[code](message, { field });

export const invalidGroupId = (groupId: string) =>
  new LogwayError('INVALID_GROUP_ID', `Group id '${groupId.slice(0, 300)}' is illegal: use 1 to 255 of [a-zA-Z0-9._-].`, {
    group: groupId.slice(0, 300),
  });

/** No route has this path; `path` as shown to the caller (already shortened). */
export const endpointNotFound = (method: string, path: string) =>
  new LogwayError('NOT_FOUND', `No such endpoint: ${method.toUpperCase()} ${path}. The API lives under /v1; see GET /v1/openapi.json.`, {
    path,
  });

export const unknownTopic = (topic: string) => new LogwayError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${topic}' does not exist.`, { topic });

export const unknownPartition = (topic: string, partition: number, partitions: number) =>
  new LogwayError(
    'UNKNOWN_TOPIC_OR_PARTITION',
    `Topic '${topic}' has no partition ${partition}: it has partitions 0 to ${partitions - 1}.`,
    {
      topic,
      partition,
    },
  );

/** The topic's deletion is under way (its partitions are fenced): gone for producers. */
export const topicBeingDeleted = (topic: string) =>
  new LogwayError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${topic}' is being deleted.`, { topic });

/** The offset is outside [logStartOffset, highWatermark] of the partition. */
export const offsetOutOfRange = (
  topic: string,
  partition: number,
  offset: number,
  head: { readonly logStartOffset: number; readonly highWatermark: number },
) =>
  new LogwayError(
    'OFFSET_OUT_OF_RANGE',
    `Offset ${offset} is out of range for ${topic}-${partition}: valid offsets are ${head.logStartOffset} to ${head.highWatermark} (the high watermark, where the next record will be).`,
    { topic, partition, offset, logStartOffset: head.logStartOffset, highWatermark: head.highWatermark },
  );

export const groupNotFound = (groupId: string) =>
  new LogwayError('GROUP_ID_NOT_FOUND', `Group '${groupId}' does not exist.`, { group: groupId });

/** A consumer-protocol member the group does not have (classic-protocol members: classicGroupError). */
export const unknownMember = (groupId: string, memberId: string, reason: UnknownMemberReason = 'UNKNOWN') =>
  new LogwayError(
    'UNKNOWN_MEMBER_ID',
    reason === 'EXPIRED'
      ? `Member '${memberId}' of group '${groupId}' missed its session timeout and is no longer a member: abandon its partitions and rejoin with memberEpoch 0.`
      : `Group '${groupId}' has no member '${memberId}': abandon its partitions and rejoin with memberEpoch 0.`,
    { group: groupId, memberId, reason },
  );

export const unknownTrigger = (name: string) => new LogwayError('UNKNOWN_TRIGGER', `Trigger '${name}' does not exist.`, { trigger: name });

/** `allow`: the methods the path takes, without repeats. */
export const methodNotAllowed = (method: string, path: string, allow: readonly string[]) =>
  new LogwayError('METHOD_NOT_ALLOWED', `${method.toUpperCase()} is not allowed on ${path}; use ${allow.join(', ')}.`, {
    method: method.toUpperCase(),
    allow: [...allow],
  });

export const topicAlreadyExists = (topic: string) => new LogwayError('TOPIC_ALREADY_EXISTS', `Topic '${topic}' already exists.`, { topic });

export const fencedMemberEpoch = (groupId: string, memberId: string, sent: number, current: number) =>
  new LogwayError(
    'FENCED_MEMBER_EPOCH',
    `Member '${memberId}' of group '${groupId}' sent epoch ${sent} but its epoch is ${current}: abandon all partitions and rejoin with memberEpoch 0.`,
    { group: groupId, memberId, memberEpoch: sent, currentMemberEpoch: current },
  );

export const staleMemberEpoch = (
  groupId: string,
  memberId: string,
  sent: number,
  current: number,
  reason: StaleReason,
  partitions: { topic: string; partition: number }[] = [],
) =>
  new LogwayError(
    'STALE_MEMBER_EPOCH',
    reason === 'STALE_EPOCH'
      ? `Member '${memberId}' of group '${groupId}' committed with epoch ${sent} but its epoch is ${current}: heartbeat to learn its assignment, then commit again.`
      : `Member '${memberId}' of group '${groupId}' does not own ${partitions
          .map((p) => `${p.topic}-${p.partition}`)
          .join(', ')}: only the current owner may commit a partition's offset. Heartbeat to learn the current assignment.`,
    { group: groupId, memberId, memberEpoch: sent, currentMemberEpoch: current, reason, ...(partitions.length ? { partitions } : {}) },
  );

export const nonEmptyGroup = (groupId: string, members: number, action: string) =>
  new LogwayError(
    'NON_EMPTY_GROUP',
    `Group '${groupId}' has ${members} active member${members === 1 ? '' : 's'}: ${action} only while it is empty (every member left or its session expired).`,
    { group: groupId, members },
  );

/** A consumer-protocol member may not join while members of Kafka's classic protocol are in the group. */
export const classicMembersPresent = (groupId: string) =>
  new LogwayError(
    'INCONSISTENT_GROUP_PROTOCOL',
    `Group '${groupId}' has members using Kafka's classic protocol (JoinGroup); a consumer-protocol member cannot join it until they leave.`,
    {
      group: groupId,
    },
  );

/** The codes a classic-protocol (JoinGroup/SyncGroup) request fails with, for many reasons each. */
export type ClassicGroupErrorCode = 'INCONSISTENT_GROUP_PROTOCOL' | 'ILLEGAL_GENERATION' | 'REBALANCE_IN_PROGRESS' | 'UNKNOWN_MEMBER_ID';

export const classicGroupError = (code: ClassicGroupErrorCode, message: string, groupId: string) =>
  new LogwayError(code, message, { group: groupId });

export const triggerEnabled = (name: string) =>
  new LogwayError(
    'TRIGGER_ENABLED',
    `Trigger '${name}' is enabled: disable it first (PUT it with "enabled": false), then reset its position, then enable it again.`,
    { trigger: name },
  );

/** A conditional write lost to a concurrent change of the same item; the message says what to re-read. */
export const concurrentChange = (message: string, details: Details = {}, options: LogwayErrorOptions = {}) =>
  new LogwayError('CONCURRENT_TRANSACTIONS', message, details, options);

export const recordTooLarge = (message: string, details: Details = {}) => new LogwayError('RECORD_TOO_LARGE', message, details);

export const recordListTooLarge = (message: string, details: Details = {}) => new LogwayError('RECORD_LIST_TOO_LARGE', message, details);

/** Record `index` of a produce request breaks a per-record limit (`violation` says which, and by how much). */
export const recordLimitExceeded = (topic: string, index: number, violation: { message: string; details: Details }) =>
  recordTooLarge(`records[${index}] of topic '${topic}' ${violation.message}`, { field: `records[${index}]`, ...violation.details });

/** An Idempotency-Key came back with a different request. */
export const idempotencyKeyReused = (key: string) =>
  new LogwayError(
    'IDEMPOTENCY_KEY_REUSED',
    `Idempotency-Key '${key}' was already used with a different request; use a new key for a new request.`,
    { idempotencyKey: key },
  );

export const offsetMetadataTooLarge = (index: number, bytes: number, max: number) =>
  new LogwayError('OFFSET_METADATA_TOO_LARGE', `offsets[${index}].metadata is ${bytes} bytes; at most ${max} bytes (UTF-8) are kept.`, {
    field: `offsets[${index}].metadata`,
    bytes,
    maxBytes: max,
  });

export const groupTooLarge = (groupId: string, bytes: number, maxBytes: number, members: number) =>
  new LogwayError(
    'GROUP_TOO_LARGE',
    `Group '${groupId}' would hold ${Math.round(bytes / 1024)} KB of state (${members} members with their subscriptions and assignments); one group holds at most ${Math.round(maxBytes / 1024)} KB. Subscribe fewer or shorter-named topics per member, or split the consumers into several groups.`,
    { group: groupId, bytes, maxBytes, members },
  );

export const throttled = (message: string, details: Details = {}, options: LogwayErrorOptions = {}) =>
  new LogwayError('THROTTLING_QUOTA_EXCEEDED', message, details, { retryAfterSeconds: 1, ...options });

export const tooManyGroupConflicts = (groupId: string, attempts: number) =>
  throttled(`Too many concurrent changes to group '${groupId}': gave up after ${attempts} attempts. Retry shortly.`, { group: groupId });

/** Stored bytes failed their checksum or could not be decoded (`cause`: the decoder's error). */
export const corruptMessage = (message: string, cause: unknown) => new LogwayError('CORRUPT_MESSAGE', message, {}, { cause });

export const serviceFault = (requestId: string | undefined, cause?: unknown) =>
  new LogwayError(
    'UNKNOWN_SERVER_ERROR',
    `The service failed to process the request${requestId ? ` (request id ${requestId})` : ''}; it is safe to retry with the same Idempotency-Key.`,
    {},
    { cause },
  );

/**
 * Another attempt of the same request (same Idempotency-Key) is still appending: its outcome will
 * be replayed. `retryAfterSeconds`: when the answer can next change (sent as Retry-After).
 */
export const idempotencyInProgress = (topic: string, retryAfterSeconds?: number) =>
  concurrentChange(
    `Another attempt of this request (same Idempotency-Key) to topic '${topic}' is still being appended; retry with the same key to get its response.`,
    { topic },
    retryAfterSeconds === undefined ? {} : { retryAfterSeconds },
  );
