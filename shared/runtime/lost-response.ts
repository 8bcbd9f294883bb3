/**
 * A conditional write whose response was lost (a dropped connection, a 500 after commit) is sent
 * again by the SDK's retry, and the retry fails its own condition once the first attempt applied.
 * Reporting that as "someone else got there first" would tell the caller a change failed that is
 * in force. Writes that can meet this ask for the item in the way
 * (`ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`) and count the write as done when it is
 * exactly what they wrote: another writer's write of the very same item is indistinguishable,
 * and leaves the state the caller asked for.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { isDeepStrictEqual } from 'node:util';

/** The stored item a failed condition saw, when the write asked for it; undefined otherwise. */
export function itemInTheWay(error: unknown): Record<string, unknown> | undefined {
  const failed = error as { name?: string; Item?: Record<string, AttributeValue> } | undefined;
  if (failed?.name !== 'ConditionalCheckFailedException' || !failed.Item) return undefined;
  return unmarshall(failed.Item);
}

/** True when the write that failed its condition had in fact already applied: the item in the way is `written`. */
export function wroteThisItem(error: unknown, written: object): boolean {
  const stored = itemInTheWay(error);
  return stored !== undefined && isDeepStrictEqual(stored, withoutUndefined(written));
}

/** What the document client stores of an object: undefined members are not written. */
function withoutUndefined(value: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}
