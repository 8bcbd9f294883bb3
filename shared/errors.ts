/**
 * Errors that reach a client. Each carries the HTTP status, a Kafka-style code (Kafka's own error
 * name where one exists) and a message a person can act on; `details` are merged into the JSON
 * error object, e.g. the bounds of an OFFSET_OUT_OF_RANGE.
 */
export class LogwayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** Seconds a throttled client should wait (429 only). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'LogwayError';
  }

  toJSON(): { error: { code: string; message: string; [detail: string]: unknown } } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export function isLogwayError(error: unknown): error is LogwayError {
  return error instanceof LogwayError;
}

export const invalidRequest = (message: string, details: Record<string, unknown> = {}) =>
  new LogwayError(400, 'INVALID_REQUEST', message, details);

export const unknownTopic = (topic: string) =>
  new LogwayError(404, 'UNKNOWN_TOPIC_OR_PARTITION', `Topic '${topic}' does not exist.`, { topic });

export const unknownPartition = (topic: string, partition: number, partitions: number) =>
  new LogwayError(
    404,
    'UNKNOWN_TOPIC_OR_PARTITION',
    `Topic '${topic}' has no partition ${partition}: it has partitions 0 to ${partitions - 1}.`,
    { topic, partition },
  );
