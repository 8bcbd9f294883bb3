/**
 * Pages of a listing that could outgrow Lambda's 6 MB response: entries are taken in order until
 * their JSON would pass a byte budget, and `nextPageToken` says where the next page starts. The
 * token is opaque to callers (base64url of the last entry's sort key), so the order may change
 * its key without breaking them.
 */
import { invalidRequest } from '../errors';

/** Room under Lambda's 6 MB response for the envelope and the rest of the answer. */
export const listingBudgetBytes = 5_000_000;

export interface Page<T> {
  readonly entries: T[];
  /** Present when entries remain after this page. */
  readonly nextPageToken?: string;
}

export function encodePageToken(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodePageToken(token: string): (string | number)[] {
  try {
    const key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(key) && key.every((part) => typeof part === 'string' || typeof part === 'number')) return key;
  } catch {
    // fall through to the error below
  }
  throw invalidRequest('pageToken is not a token this listing returned; pass nextPageToken from the previous page as it is.', {
    field: 'pageToken',
  });
}

/**
 * One page of `sorted` (ascending by `keyOf`), starting after the entry whose key the token holds,
 * holding as many entries as fit in `budgetBytes` of JSON (always at least one).
 */
export function pageOf<T>(
  sorted: readonly T[],
  keyOf: (entry: T) => (string | number)[],
  compare: (a: (string | number)[], b: (string | number)[]) => number,
  pageToken: string | undefined,
  budgetBytes: number = listingBudgetBytes,
): Page<T> {
  const after = pageToken === undefined ? undefined : decodePageToken(pageToken);
  const start = after === undefined ? 0 : firstAfter(sorted, keyOf, compare, after);
  const entries: T[] = [];
  let used = 0;
  let i = start;
  for (; i < sorted.length; i++) {
    const size = Buffer.byteLength(JSON.stringify(sorted[i]), 'utf8') + 1;
    if (entries.length > 0 && used + size > budgetBytes) break;
    entries.push(sorted[i]!);
    used += size;
  }
  return i < sorted.length ? { entries, nextPageToken: encodePageToken(keyOf(entries[entries.length - 1]!)) } : { entries };
}

function firstAfter<T>(
  sorted: readonly T[],
  keyOf: (entry: T) => (string | number)[],
  compare: (a: (string | number)[], b: (string | number)[]) => number,
  after: (string | number)[],
): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(keyOf(sorted[mid]!), after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Orders [topic, partition] keys as listings sort them: by topic name, then partition number. */
export function compareTopicPartition(a: (string | number)[], b: (string | number)[]): number {
  const [topicA, partitionA] = a as [string, number];
  const [topicB, partitionB] = b as [string, number];
  if (topicA !== topicB) return topicA < topicB ? -1 : 1;
  return Number(partitionA) - Number(partitionB);
}
