/**
 * The error catalogue: every code Logway answers with, its HTTP status, whether a retry can
 * succeed, and what it means. The service builds its errors from it (shared/errors.ts), the client
 * shares the codes (client/src/errors.ts), and docs/api.md lists them. Names are Kafka's where Kafka
 * has one. Pure data, with no imports, so that the client bundle can take it as it is.
 */

export interface ErrorSpec {
  readonly status: number;
  /** True when the same request can succeed later unchanged (throttling, a race, a fault). */
  readonly retriable: boolean;
  readonly meaning: string;
}

export const errorCatalogue = {
  INVALID_REQUEST: {
    status: 400,
    retriable: false,
    meaning: 'The request is malformed or a field is out of range; the message names the field.',
  },
  INVALID_TOPIC_EXCEPTION: {
    status: 400,
    retriable: false,
    meaning: 'The topic name is illegal: 1 to 249 of [a-zA-Z0-9._-], not "." or "..".',
  },
  INVALID_PARTITIONS: { status: 400, retriable: false, meaning: 'The partition count is out of range, or would shrink.' },
  INVALID_CONFIG: { status: 400, retriable: false, meaning: 'A topic config is unknown or its value is invalid.' },
  INVALID_GROUP_ID: { status: 400, retriable: false, meaning: 'The group id is illegal: 1 to 255 of [a-zA-Z0-9._-].' },
  FORBIDDEN_HOST: { status: 403, retriable: false, meaning: 'A local listener refused a request under a foreign Host (DNS rebinding).' },
  FORBIDDEN_ORIGIN: { status: 403, retriable: false, meaning: 'A local listener refused a request from a foreign web origin (CSRF).' },
  NOT_FOUND: { status: 404, retriable: false, meaning: 'No endpoint has this path.' },
  UNKNOWN_TOPIC_OR_PARTITION: { status: 404, retriable: false, meaning: 'The topic or partition does not exist.' },
  GROUP_ID_NOT_FOUND: { status: 404, retriable: false, meaning: 'The consumer group does not exist.' },
  UNKNOWN_MEMBER_ID: {
    status: 404,
    retriable: false,
    meaning: 'The member is not (or no longer) in the group: rejoin with memberEpoch 0.',
  },
  UNKNOWN_TRIGGER: { status: 404, retriable: false, meaning: 'The trigger does not exist.' },
  METHOD_NOT_ALLOWED: { status: 405, retriable: false, meaning: 'The path exists under other methods, listed in Allow.' },
  TOPIC_ALREADY_EXISTS: { status: 409, retriable: false, meaning: 'A topic of this name exists.' },
  FENCED_MEMBER_EPOCH: { status: 409, retriable: false, meaning: "The member's epoch is fenced: abandon its partitions and rejoin." },
  STALE_MEMBER_EPOCH: {
    status: 409,
    retriable: false,
    meaning: 'The commit used an old epoch or a partition the member does not own: heartbeat, then commit again.',
  },
  NON_EMPTY_GROUP: { status: 409, retriable: false, meaning: 'The operation needs an empty group.' },
  INCONSISTENT_GROUP_PROTOCOL: {
    status: 409,
    retriable: false,
    meaning:
      "The group's members use the other group protocol (Kafka's classic JoinGroup or the consumer heartbeat), or share no assignor.",
  },
  ILLEGAL_GENERATION: { status: 409, retriable: false, meaning: 'A classic-protocol member sent an old generation: rejoin.' },
  REBALANCE_IN_PROGRESS: { status: 409, retriable: true, meaning: 'The classic-protocol group is rebalancing: rejoin.' },
  TRIGGER_ENABLED: {
    status: 409,
    retriable: false,
    meaning: 'The operation needs a disabled trigger: PUT it with "enabled": false first.',
  },
  CONCURRENT_TRANSACTIONS: {
    status: 409,
    retriable: true,
    meaning: 'A concurrent change to the same item won, or an earlier attempt under the same Idempotency-Key is still appending; retry.',
  },
  RECORD_TOO_LARGE: {
    status: 413,
    retriable: false,
    meaning: "A record is larger than the topic's max.message.bytes or a per-record limit.",
  },
  RECORD_LIST_TOO_LARGE: {
    status: 413,
    retriable: false,
    meaning: 'The request holds too many records, partitions or bytes for one atomic append.',
  },
  OFFSET_METADATA_TOO_LARGE: { status: 413, retriable: false, meaning: 'Commit metadata is over its limit.' },
  GROUP_TOO_LARGE: {
    status: 413,
    retriable: false,
    meaning: "The group's state would exceed what one group can hold (members, subscriptions or partitions).",
  },
  OFFSET_OUT_OF_RANGE: {
    status: 416,
    retriable: false,
    meaning: 'The offset is below the log start offset or above the high watermark; both are given.',
  },
  IDEMPOTENCY_KEY_REUSED: { status: 422, retriable: false, meaning: 'The Idempotency-Key was used with another request.' },
  THROTTLING_QUOTA_EXCEEDED: { status: 429, retriable: true, meaning: 'Too many requests or contended appends; wait Retry-After seconds.' },
  CORRUPT_MESSAGE: { status: 500, retriable: false, meaning: 'A stored batch failed its checksum: a fault of the storage.' },
  UNKNOWN_SERVER_ERROR: { status: 500, retriable: true, meaning: 'The service failed; it is safe to retry with the same Idempotency-Key.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalogue;

export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(errorCatalogue, code);
}
