/**
 * DynamoDB batch writes, the one way: 25 requests per BatchWriteItem (DynamoDB's limit), and
 * the items DynamoDB leaves unprocessed (throttling) sent again after a backoff until none is
 * left, as the SDK documentation asks.
 */
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './aws';
import { type Backoff, backoffCeiling, sleep } from './retry';

/** A BatchWriteItem request: `{ PutRequest: { Item } }` or `{ DeleteRequest: { Key } }`. */
export type WriteRequest = { PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Record<string, unknown> } };

/** 20 ms doubling to 1 s between rounds of unprocessed items. */
export const unprocessedItemsBackoff: Backoff = { initialRetryTimeMs: 20, maxRetryTimeMs: 1000, multiplier: 2 };

/** Writes every request to `table` (a physical table name), 25 per call, resending unprocessed ones. */
export async function batchWriteAll(table: string, requests: readonly WriteRequest[]): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending = requests.slice(i, i + 25);
    for (let round = 0; pending.length > 0; round++) {
      const result = await dynamo().send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = (result.UnprocessedItems?.[table] as WriteRequest[] | undefined) ?? [];
      if (pending.length > 0) await sleep(backoffCeiling(round, unprocessedItemsBackoff));
    }
  }
}
