import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { logger } from '../shared/runtime/logger';
import { flushMetrics } from '../shared/runtime/metrics';
import { wakePartition } from '../shared/triggers/store';
import { appendedPartitionKey } from '../shared/triggers/stream-keys';
import { handOn, runWork, workForAppends, type PartitionWork } from '../shared/triggers/work';

/** Time kept back from the function's timeout to release leases and hand on. */
const reserveMs = 20_000;

/**
 * The trigger dispatcher (shared/triggers/). Invoked two ways:
 * - by the DynamoDB stream of the chunks table (an append put or joined a chunk; keys
 *   `{partitionKey, baseOffset}`, read by shared/triggers/stream-keys.ts): it finds the triggers on
 *   those topics and hands each partition on as work, at once, so the stream is never held up by a
 *   slow function; likewise for the sweep's wake-up items ('w#<n>') arriving on the triggers
 *   table's stream;
 * - asynchronously with `{ work }` (from itself, or the once-a-minute sweep): it delivers those
 *   partitions until its time runs out and hands what is left to a fresh invocation.
 */
export const handler = async (event: DynamoDBStreamEvent | { work: PartitionWork[] }, context?: Partial<Context>): Promise<void> => {
  try {
    if ('Records' in event) {
      const appends: string[] = [];
      const wakes: PartitionWork[] = [];
      for (const record of event.Records) {
        const appended = appendedPartitionKey(record);
        if (appended) appends.push(appended);
        const keys = record.dynamodb?.Keys;
        const partition = keys?.item?.S ? wakePartition(keys.item.S) : undefined;
        if (keys?.name?.S && partition !== undefined) wakes.push({ trigger: keys.name.S, partition });
      }
      await handOn([...(await workForAppends(appends)), ...wakes]);
      return;
    }
    const remaining = context?.getRemainingTimeInMillis?.() ?? 60_000;
    const { handOn: left } = await runWork(event.work ?? [], { deadline: Date.now() + Math.max(1_000, remaining - reserveMs) });
    if (left.length > 0) {
      logger.info('Handing trigger work on', { partitions: left.length });
      await handOn(left);
    }
  } finally {
    flushMetrics();
  }
};
