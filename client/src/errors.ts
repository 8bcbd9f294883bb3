/**
 * Every failure the client reports is a `LogwayApiError`: an HTTP error answered by the service
 * (its `status`, Kafka-style `code`, `message` and the error's other fields as `details`), or a
 * request that got no answer (`status` 0, code `NETWORK_ERROR` or `REQUEST_TIMEOUT`).
 */
export class LogwayApiError extends Error {
  override readonly name = 'LogwayApiError';

  constructor(
    /** HTTP status; 0 when no response arrived. */
    readonly status: number,
    /** Kafka-style error name, e.g. UNKNOWN_TOPIC_OR_PARTITION; HTTP_<status> for gateway errors without one. */
    readonly code: string,
    message: string,
    /** The error object's other fields, e.g. `logStartOffset` and `highWatermark` of an OFFSET_OUT_OF_RANGE. */
    readonly details: Record<string, unknown> = {},
    /** Retry-After of a 429/503, in ms. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** True for failures worth retrying: throttling (429), service faults (5xx) and no response at all. */
  get retriable(): boolean {
    return isRetriableStatus(this.status);
  }

  override toString(): string {
    return `${this.name} [${this.code}]${this.status ? ` (HTTP ${this.status})` : ''}: ${this.message}`;
  }
}

export function isRetriableStatus(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

export function isLogwayApiError(error: unknown): error is LogwayApiError {
  return error instanceof LogwayApiError;
}

/** Builds the error from a non-2xx response body: `{error: {code, message, ...}}`, or API Gateway's `{message}`. */
export function errorFromResponse(status: number, body: unknown, retryAfterMs?: number): LogwayApiError {
  if (body && typeof body === 'object') {
    const error = (body as { error?: unknown }).error;
    if (error && typeof error === 'object') {
      const { code, message, ...details } = error as { code?: unknown; message?: unknown; [k: string]: unknown };
      return new LogwayApiError(
        status,
        typeof code === 'string' ? code : `HTTP_${status}`,
        typeof message === 'string' ? message : `HTTP ${status}`,
        details,
        retryAfterMs,
      );
    }
    const message = (body as { message?: unknown }).message;
    if (typeof message === 'string') return new LogwayApiError(status, `HTTP_${status}`, message, {}, retryAfterMs);
  }
  const text = typeof body === 'string' && body.length > 0 ? body.slice(0, 500) : `HTTP ${status}`;
  return new LogwayApiError(status, `HTTP_${status}`, text, {}, retryAfterMs);
}
