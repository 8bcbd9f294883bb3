/**
 * Every failure the client reports is a `LogwayApiError`: an HTTP error answered by the service
 * (its `status`, Kafka-style `code`, `message` and the error's other fields as `details`), an
 * error API Gateway answered itself before any function ran (`{"message": ...}`: code
 * `HTTP_<status>`), or a request that got no answer (`status` 0, code `NETWORK_ERROR` or
 * `REQUEST_TIMEOUT`). `origin` says which, `kind` what went wrong in terms a caller can branch
 * on, `retriable` whether repeating the request may succeed, and `hint` what a person can do.
 */

import { type ErrorCode, errorCatalogue } from '../../shared/error-codes';

/** The codes the service answers with (its catalogue, shared/error-codes.ts). */
export type LogwayErrorCode = ErrorCode;

/** The codes of the errors the client raises itself (status 0, origin `client`). */
export type ClientErrorCode = 'NETWORK_ERROR' | 'REQUEST_TIMEOUT' | 'INVALID_URL' | 'INVALID_RESPONSE' | 'PRODUCER_CLOSED' | 'NOT_A_MEMBER';

/** Who answered: the service's handlers, API Gateway itself, or nobody (the client's own error). */
export type LogwayErrorOrigin = 'service' | 'gateway' | 'client';

/**
 * What went wrong, the same for the service's and API Gateway's answers:
 * - `authentication`: 401/403 about the request's SigV4 signature or credentials;
 * - `authorization`: 403 otherwise (IAM does not allow execute-api:Invoke on the route);
 * - `not-found`: the service's 404 (a topic, partition, group or member it does not know);
 * - `unknown-route`: a path the API does not have (API Gateway's 404, or the service's NOT_FOUND);
 * - `too-large`: 413 (a record over max.message.bytes, or a body over API Gateway's limit);
 * - `throttled`: 429 (the service's or the stage's throttling); retriable, after Retry-After;
 * - `unavailable`: 502/503; retriable;
 * - `timeout`: 408/504, or no answer in time; retriable;
 * - `network`: no answer at all (connection refused or reset); retriable;
 * - `server`: another 5xx; retriable;
 * - `rejected`: another 4xx (invalid request, conflict, out of range...): see `code`;
 * - `client`: raised by the client itself (PRODUCER_CLOSED, NOT_A_MEMBER, INVALID_URL...).
 */
export type LogwayErrorKind =
  | 'authentication'
  | 'authorization'
  | 'not-found'
  | 'unknown-route'
  | 'too-large'
  | 'throttled'
  | 'unavailable'
  | 'timeout'
  | 'network'
  | 'server'
  | 'rejected'
  | 'client';

export class LogwayApiError extends Error {
  override readonly name = 'LogwayApiError';
  /** Who answered (see LogwayErrorOrigin). */
  readonly origin: LogwayErrorOrigin;

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
    options?: { cause?: unknown; origin?: LogwayErrorOrigin },
  ) {
    super(message, options);
    this.origin = options?.origin ?? (status === 0 ? 'client' : code === `HTTP_${status}` ? 'gateway' : 'service');
  }

  /**
   * True for failures worth retrying: throttling (429), service faults (5xx), no response at all,
   * and the service's codes its catalogue marks retriable (409 CONCURRENT_TRANSACTIONS: a lost race,
   * or an earlier attempt under the same Idempotency-Key still appending).
   */
  get retriable(): boolean {
    if (isRetriableStatus(this.status)) return true;
    const entry = (errorCatalogue as Record<string, { retriable: boolean } | undefined>)[this.code];
    return this.origin === 'service' && entry?.retriable === true;
  }

  get kind(): LogwayErrorKind {
    return errorKind(this.status, this.code, this.message, this.details);
  }

  /** What a person can do about it, where the code and message do not say (API Gateway's answers). */
  get hint(): string | undefined {
    return hintFor(this.kind, this.origin);
  }

  override toString(): string {
    const hint = this.hint;
    return `${this.name} [${this.code}]${this.status ? ` (HTTP ${this.status})` : ''}: ${this.message}${hint ? ` (${hint})` : ''}`;
  }
}

export function isRetriableStatus(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

export function isLogwayApiError(error: unknown): error is LogwayApiError {
  return error instanceof LogwayApiError;
}

/** An error the client raises itself, without (or instead of) an answer from the service. */
export function clientError(code: ClientErrorCode, message: string, cause?: unknown): LogwayApiError {
  return new LogwayApiError(0, code, message, {}, undefined, cause === undefined ? undefined : { cause });
}

/**
 * The service's error for a request the client refuses before sending, because the service would
 * refuse it the same way: the code's status from the catalogue, the service's message.
 */
export function serviceRefusal(code: LogwayErrorCode, message: string, details: Record<string, unknown> = {}): LogwayApiError {
  return new LogwayApiError(errorCatalogue[code].status, code, message, details);
}

/**
 * The error one partition of a multi-partition fetch reported (its result's `error`), as the
 * single-partition request would have thrown it: the code's status from the catalogue.
 */
export function partitionResultError(error: { code: string; message: string; [detail: string]: unknown }): LogwayApiError {
  const { code, message, ...details } = error;
  const status = (errorCatalogue as Record<string, { status: number } | undefined>)[code]?.status ?? 0;
  return new LogwayApiError(status, code, message, details);
}

/** Whether `error` is a LogwayApiError with one of these service codes (a misspelt code does not compile). */
export function hasErrorCode(error: unknown, ...codes: LogwayErrorCode[]): error is LogwayApiError {
  return error instanceof LogwayApiError && (codes as string[]).includes(error.code);
}

/**
 * API Gateway's answers to a bad SigV4 signature or unusable credentials (as opposed to an IAM
 * policy that denies the call, which is a bare "Forbidden" or "... is not authorized ...").
 */
const authenticationMessages =
  /signature|security token|missing authentication token|authorization header|credential|access key|request has expired|expired token/i;

function errorKind(status: number, code: string, message: string, details: Record<string, unknown>): LogwayErrorKind {
  if (status === 0)
    return code === ('NETWORK_ERROR' satisfies ClientErrorCode)
      ? 'network'
      : code === ('REQUEST_TIMEOUT' satisfies ClientErrorCode)
        ? 'timeout'
        : 'client';
  if (status === 401) return 'authentication';
  if (status === 403) {
    const errorType = typeof details.errorType === 'string' ? details.errorType : '';
    return authenticationMessages.test(message) || /Signature|UnrecognizedClient|MissingAuthenticationToken/.test(errorType)
      ? 'authentication'
      : 'authorization';
  }
  if (status === 404) return code === ('NOT_FOUND' satisfies LogwayErrorCode) || code === 'HTTP_404' ? 'unknown-route' : 'not-found';
  if (status === 408 || status === 504) return 'timeout';
  if (status === 413) return 'too-large';
  if (status === 429) return 'throttled';
  if (status === 502 || status === 503) return 'unavailable';
  if (status >= 500) return 'server';
  return 'rejected';
}

function hintFor(kind: LogwayErrorKind, origin: LogwayErrorOrigin): string | undefined {
  switch (kind) {
    case 'authentication':
      return 'API Gateway refused the SigV4 signature: check the credentials (profile, expired session), the signing region and the clock';
    case 'authorization':
      return "IAM does not allow this caller execute-api:Invoke on the route: see the caller's policy (docs/deploy.md)";
    case 'unknown-route':
      return 'the API has no such route: check the URL (the base URL, without /v1) and the stage';
    case 'too-large':
      return origin === 'gateway'
        ? 'the request body is over what API Gateway and Lambda accept: send fewer records per request'
        : undefined;
    case 'throttled':
      return origin === 'gateway'
        ? "API Gateway's stage throttling: retried after a backoff; raise the stage's rate limit if it persists"
        : undefined;
    case 'unavailable':
      return origin === 'gateway' ? 'API Gateway could not reach the function: retried after a backoff' : undefined;
    case 'timeout':
      return origin === 'gateway'
        ? "the function did not answer within API Gateway's 30 s integration timeout: retried after a backoff"
        : undefined;
    default:
      return undefined;
  }
}

/**
 * Builds the error from a non-2xx response body: the service's `{error: {code, message, ...}}`,
 * or API Gateway's `{message}` (its `x-amzn-ErrorType` header, when present, goes into
 * `details.errorType`).
 */
export function errorFromResponse(status: number, body: unknown, retryAfterMs?: number, errorType?: string | null): LogwayApiError {
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
        { origin: 'service' },
      );
    }
    const message = (body as { message?: unknown }).message;
    if (typeof message === 'string') return new LogwayApiError(status, `HTTP_${status}`, message, gatewayDetails(errorType), retryAfterMs);
  }
  const text = typeof body === 'string' && body.length > 0 ? body.slice(0, 500) : `HTTP ${status}`;
  return new LogwayApiError(status, `HTTP_${status}`, text, gatewayDetails(errorType), retryAfterMs);
}

/** `x-amzn-ErrorType: ForbiddenException:http://internal.amazon.com/...` → `{ errorType: 'ForbiddenException' }`. */
function gatewayDetails(errorType: string | null | undefined): Record<string, unknown> {
  const name = errorType?.split(':')[0]?.trim();
  return name ? { errorType: name } : {};
}
