/**
 * Errors that reach a client. Each carries a code from the catalogue (shared/error-codes.ts), which
 * gives its HTTP status and whether a retry can succeed, and a message a person can act on;
 * `details` are merged into the JSON error object, e.g. the bounds of an OFFSET_OUT_OF_RANGE.
 * A lower-level failure that caused it is kept as `cause` for the logs, never sent.
 */
import { type ErrorCode, errorCatalogue } from './error-codes';

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

export const invalidRequest = (message: string, details: Record<string, unknown> = {}) =>
  new LogwayError('INVALID_REQUEST', message, details);

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

export const throttled = (message: string, details: Record<string, unknown> = {}, options: LogwayErrorOptions = {}) =>
  new LogwayError('THROTTLING_QUOTA_EXCEEDED', message, details, { retryAfterSeconds: 1, ...options });

export const recordListTooLarge = (message: string, details: Record<string, unknown> = {}) =>
  new LogwayError('RECORD_LIST_TOO_LARGE', message, details);

export const recordTooLarge = (message: string, details: Record<string, unknown> = {}) =>
  new LogwayError('RECORD_TOO_LARGE', message, details);

export const serviceFault = (requestId: string | undefined, cause?: unknown) =>
  new LogwayError(
    'UNKNOWN_SERVER_ERROR',
    `The service failed to process the request${requestId ? ` (request id ${requestId})` : ''}; it is safe to retry with the same Idempotency-Key.`,
    {},
    { cause },
  );
