/**
 * AWS throttling as the client sees it: 429 with Retry-After, never a 500. DynamoDB throttles
 * with ProvisionedThroughputExceededException, ThrottlingException or RequestLimitExceeded
 * (after the SDK's own retries), and inside a transaction with a `ThrottlingError`
 * cancellation reason; S3 with `SlowDown` (503). Retrying later is always safe: a throttled
 * request wrote nothing, and a produce retried with its Idempotency-Key appends once.
 */
import { LogwayError } from '../errors';

const throttlingNames = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'Throttling',
  'SlowDown',
  'TooManyRequestsException',
]);

const throttlingReasons = new Set(['ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded']);

/** Whether a transaction was cancelled because DynamoDB throttled one of its items. */
export function cancelledByThrottling(reasons: readonly { Code?: string }[] | undefined): boolean {
  return (reasons ?? []).some((r) => r.Code !== undefined && throttlingReasons.has(r.Code));
}

export function throttled(what = 'The storage behind this request'): LogwayError {
  return new LogwayError(
    429,
    'THROTTLING_QUOTA_EXCEEDED',
    `${what} is throttled (AWS's request or throughput limits); retry after a short wait (with the same Idempotency-Key for a produce).`,
    {},
    1,
  );
}

/** The 429 an AWS SDK error stands for, if it is throttling; undefined otherwise. */
export function throttlingError(error: unknown): LogwayError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { name?: string; Code?: string; CancellationReasons?: { Code?: string }[] };
  if ((e.name && throttlingNames.has(e.name)) || (e.Code && throttlingNames.has(e.Code))) return throttled();
  if (e.name === 'TransactionCanceledException' && cancelledByThrottling(e.CancellationReasons)) return throttled();
  return undefined;
}
