/**
 * The client's retry policy: exponential backoff with jitter, never sooner than the server's
 * Retry-After. One implementation for the client and the service: shared/runtime/retry.ts.
 */
export {
  backoffDelay,
  defaultRetryOptions,
  parseRetryAfter,
  retryOptions,
  sleep,
  type RetryOptions,
} from '../../shared/runtime/retry';
