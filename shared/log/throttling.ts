/**
 * AWS throttling as the client sees it: 429 with Retry-After, never a 500. DynamoDB throttles
 * with ProvisionedThroughputExceededException, ThrottlingException or RequestLimitExceeded
 * (after the SDK's own retries), and inside a transaction with a `ThrottlingError`
 * cancellation reason; S3 with `SlowDown` (503). Retrying later is always safe: a throttled
 * request wrote nothing, and a produce retried with its Idempotency-Key appends once.
 */
import { type LogwayError, throttled } from '../errors';

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

const throttledStorage = (cause: unknown) =>
  throttled(
    "The storage behind this request is throttled (AWS's request or throughput limits); retry after a short wait (with the same Idempotency-Key for a produce).",
    {},
    { cause },
  );

/** The 429 an AWS SDK error stands for, if it is throttling; undefined otherwise. */
export function throttlingError(error: unknown): LogwayError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { name?: string; Code?: string; CancellationReasons?: { Code?: string }[] };
  if ((e.name && throttlingNames.has(e.name)) || (e.Code && throttlingNames.has(e.Code))) return throttledStorage(error);
  if (e.name === 'TransactionCanceledException' && cancelledByThrottling(e.CancellationReasons)) return throttledStorage(error);
  return undefined;
}
