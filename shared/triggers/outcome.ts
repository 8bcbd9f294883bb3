/**
 * What happens after an invocation: the function's response read as Lambda reads it
 * (ReportBatchItemFailures in its Kafka form), and the next step of the partition: move on,
 * retry (maybe bisecting), or give the records up to the failure topic. Pure.
 */
import { type Backoff, backoffCeiling } from '../runtime/retry';
import type { FunctionResponseType } from './model';

export type InvokeOutcome =
  /** The function returned; `payload` is its parsed JSON response (undefined when empty or not JSON). */
  | { readonly kind: 'returned'; readonly payload: unknown }
  /** The function threw, or timed out: counts as a failed attempt. */
  | { readonly kind: 'function-error'; readonly code: string; readonly message: string }
  /** Lambda (or the endpoint) throttled or failed before running the function: retried, not counted. */
  | { readonly kind: 'throttled'; readonly code: string; readonly message: string }
  /** The invocation could not be made (no such function, not allowed, ...): retried later, not counted. */
  | { readonly kind: 'invoke-error'; readonly code: string; readonly message: string };

export interface Batch {
  readonly topicPartition: string;
  /** Offsets delivered, ascending. */
  readonly offsets: readonly number[];
}

export type ResponseReading = { readonly ok: true; readonly failedAt?: number } | { readonly ok: false; readonly message: string };

/**
 * Reads a response under ReportBatchItemFailures: no failures (or none listed) acknowledges the
 * batch; otherwise the lowest failed offset of this partition is where delivery resumes. As
 * Lambda does, a response it cannot read item by item fails the whole batch.
 */
export function readItemFailures(payload: unknown, batch: Batch): ResponseReading {
  if (payload === undefined || payload === null || typeof payload !== 'object' || Array.isArray(payload)) return { ok: true };
  const failures = (payload as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { ok: true };
  if (!Array.isArray(failures)) return { ok: false, message: 'batchItemFailures is not an array' };
  if (failures.length === 0) return { ok: true };
  const delivered = new Set(batch.offsets);
  let lowest: number | undefined;
  for (const failure of failures) {
    const identifier = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (!identifier || typeof identifier !== 'object') {
      return { ok: false, message: 'a batchItemFailures entry has no itemIdentifier' };
    }
    const { 'topic-partition': topicPartition, offset } = identifier as { 'topic-partition'?: unknown; offset?: unknown };
    const number = typeof offset === 'string' && /^\d+$/.test(offset) ? Number(offset) : offset;
    if (topicPartition !== batch.topicPartition || typeof number !== 'number' || !delivered.has(number)) {
      return {
        ok: false,
        message: `batchItemFailures names ${JSON.stringify(identifier).slice(0, 200)}, which is not a record of this batch (${batch.topicPartition} offsets ${batch.offsets[0]} to ${batch.offsets.at(-1)})`,
      };
    }
    lowest = lowest === undefined ? number : Math.min(lowest, number);
  }
  return { ok: true, failedAt: lowest };
}

export interface RetryPolicy {
  readonly maximumRetryAttempts: number;
  readonly bisectBatchOnFunctionError: boolean;
  readonly functionResponseTypes: readonly FunctionResponseType[];
}

export interface AttemptState {
  /** Failed attempts so far of the batch at the current position. */
  readonly attempts: number;
}

export type NextStep =
  /** Acknowledge records before `to`; `attempts` failures already count against the record at `to`. */
  | { readonly kind: 'advance'; readonly to: number; readonly attempts: number; readonly error?: { code: string; message: string } }
  /** Invoke again after `backoffMs` (with at most `bisectLimit` records when set). */
  | {
      readonly kind: 'retry';
      readonly attempts: number;
      readonly backoffMs: number;
      readonly counted: boolean;
      readonly bisectLimit?: number;
      readonly error: { code: string; message: string };
    }
  /** Retries ran out: records `from` to `to` (inclusive) go to the failure topic, or the partition waits on them. */
  | { readonly kind: 'exhausted'; readonly from: number; readonly to: number; readonly error: { code: string; message: string } };

/** Between attempts of one batch: 100 ms doubling to 10 s (no jitter: one dispatcher per partition). */
const attemptBackoff: Backoff = { initialRetryTimeMs: 100, maxRetryTimeMs: 10_000, multiplier: 2 };
/** After consecutive throttles of the function: 100 ms doubling to 5 s. */
const throttleBackoff: Backoff = { initialRetryTimeMs: 100, maxRetryTimeMs: 5_000, multiplier: 2 };

/** Exponential backoff after the n-th failed attempt of one batch (1 for the first). */
export function retryBackoffMs(attempts: number): number {
  return backoffCeiling(attempts - 1, attemptBackoff);
}

/** Backoff after the n-th consecutive throttle (not counted as an attempt). */
export function throttleBackoffMs(throttles: number): number {
  return backoffCeiling(throttles - 1, throttleBackoff);
}

const exhaustedOrRetry = (
  policy: RetryPolicy,
  attempts: number,
  from: number,
  to: number,
  error: { code: string; message: string },
  bisectLimit?: number,
): NextStep => {
  if (policy.maximumRetryAttempts >= 0 && attempts > policy.maximumRetryAttempts) {
    return {
      kind: 'exhausted',
      from,
      to,
      error: { code: 'RETRIES_EXHAUSTED', message: `${error.message} (after ${attempts} attempt${attempts === 1 ? '' : 's'})` },
    };
  }
  return { kind: 'retry', attempts, backoffMs: retryBackoffMs(attempts), counted: true, error, ...(bisectLimit ? { bisectLimit } : {}) };
};

/** With bisectBatchOnFunctionError, a failed batch of more than one record is split: not a retry, the halves are new batches. */
const bisectOr = (
  policy: RetryPolicy,
  state: AttemptState,
  batch: Batch,
  error: { code: string; message: string },
): NextStep | undefined =>
  policy.bisectBatchOnFunctionError && batch.offsets.length > 1
    ? { kind: 'retry', attempts: state.attempts, backoffMs: 0, counted: false, bisectLimit: Math.ceil(batch.offsets.length / 2), error }
    : undefined;

/**
 * The step after invoking with `batch` at the partition's position. `throttles` is how many
 * consecutive throttles preceded this outcome (for their backoff).
 */
export function nextStep(policy: RetryPolicy, state: AttemptState, batch: Batch, outcome: InvokeOutcome, throttles = 0): NextStep {
  const first = batch.offsets[0]!;
  const last = batch.offsets.at(-1)!;
  switch (outcome.kind) {
    case 'throttled':
    case 'invoke-error':
      return {
        kind: 'retry',
        attempts: state.attempts,
        backoffMs: outcome.kind === 'throttled' ? throttleBackoffMs(throttles + 1) : Math.max(1_000, throttleBackoffMs(throttles + 1)),
        counted: false,
        error: { code: outcome.code, message: outcome.message },
      };
    case 'function-error': {
      const error = { code: outcome.code, message: outcome.message };
      return bisectOr(policy, state, batch, error) ?? exhaustedOrRetry(policy, state.attempts + 1, first, last, error);
    }
    case 'returned': {
      if (!policy.functionResponseTypes.includes('ReportBatchItemFailures')) return { kind: 'advance', to: last + 1, attempts: 0 };
      const reading = readItemFailures(outcome.payload, batch);
      if (!reading.ok)
        return exhaustedOrRetry(policy, state.attempts + 1, first, last, { code: 'INVALID_RESPONSE', message: reading.message });
      if (reading.failedAt === undefined) return { kind: 'advance', to: last + 1, attempts: 0 };
      const error = {
        code: 'BATCH_ITEM_FAILURE',
        message: `The function reported offset ${reading.failedAt} of ${batch.topicPartition} as failed`,
      };
      // The function named the record that failed: when its retries run out, only it is given up
      // (delivery goes on after it, and the records after it are delivered again).
      // Nothing of the batch succeeded: with bisecting on, the batch is split as on a function error.
      if (reading.failedAt === first)
        return bisectOr(policy, state, batch, error) ?? exhaustedOrRetry(policy, state.attempts + 1, first, first, error);
      // Progress: the records before the failed one are acknowledged; this was the failed one's first attempt.
      if (policy.maximumRetryAttempts === 0) {
        return {
          kind: 'exhausted',
          from: reading.failedAt,
          to: reading.failedAt,
          error: { code: 'RETRIES_EXHAUSTED', message: `${error.message} (after 1 attempt)` },
        };
      }
      return { kind: 'advance', to: reading.failedAt, attempts: 1, error };
    }
  }
}
