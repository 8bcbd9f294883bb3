/**
 * Offset lookup (Kafka's ListOffsets): earliest, latest, or the earliest offset whose timestamp
 * is at or after T. The time lookup uses the batch index's byTimestamp GSI, keyed by the
 * partition's running maximum timestamp at each batch (as Kafka's time index is): the first
 * batch whose running maximum reaches T holds the answer, and only that batch is decoded.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { unknownPartition } from '../errors';
import { dynamo, tableName } from '../runtime/aws';
import { queryItems } from '../runtime/paging';
import { tables } from '../storage/tables';
import { requireTopic, partitionKeyOf } from '../topics/store';
import { readHead, type PartitionHead } from './partition-heads';
import { decodeBatch, getBatch, type BatchIndexItem } from './read';

const timeIndex = 'byTimestamp'; // layout v2: replaced by a search over the chunk chain (in progress)

/** Which offset a lookup asks for: the log start, the high watermark, or the first record at or after a time. */
export type OffsetSpec = 'earliest' | 'latest' | { readonly timestamp: number };

export async function lookupOffset(topicName: string, partition: number, at: OffsetSpec): Promise<{ offset: number | null }> {
  const topic = await requireTopic(topicName);
  if (partition >= topic.partitions) throw unknownPartition(topicName, partition, topic.partitions);
  const head = await readHead(topic.topicId, partition);
  if (at === 'earliest') return { offset: head.logStartOffset };
  if (at === 'latest') return { offset: head.highWatermark };
  return { offset: await offsetForTimestamp(topic.topicId, partition, at.timestamp, head) };
}

export async function offsetForTimestamp(
  topicId: string,
  partition: number,
  timestamp: number,
  head: PartitionHead,
): Promise<number | null> {
  if (head.highWatermark === head.logStartOffset || head.maxTimestamp < timestamp) return null;
  const indexed = await firstIndexedBatchReaching(topicId, partition, timestamp);
  const first = await earliestBatchReaching(topicId, partition, timestamp, head, indexed);
  if (!first) return null;
  return firstRecordAtOrAfter(topicId, partition, timestamp, head, first.baseOffset);
}

async function firstIndexedBatchReaching(topicId: string, partition: number, timestamp: number): Promise<BatchIndexItem | undefined> {
  const { Items } = await dynamo().send(
    new QueryCommand({
      TableName: tableName('batches'),
      IndexName: timeIndex,
      KeyConditionExpression: 'partitionKey = :pk AND maxTimestampSoFar >= :t',
      ExpressionAttributeValues: { ':pk': partitionKeyOf(topicId, partition), ':t': timestamp },
      Limit: 1,
    }),
  );
  const hit = Items?.[0];
  if (!hit) return undefined;
  // The index is eventually consistent: read the batch itself, which retention may have removed.
  return getBatch(topicId, partition, hit.lastOffset as number);
}

const searchProjection = 'baseOffset, lastOffset, maxTimestamp, maxTimestampSoFar';

/** The batch holding `offset`, or the first one after it (strongly consistent, keys only). */
async function batchAtOrAfter(topicId: string, partition: number, offset: number): Promise<BatchIndexItem | undefined> {
  const { Items } = await dynamo().send(
    new QueryCommand({
      TableName: tableName('batches'),
      KeyConditionExpression: 'partitionKey = :pk AND lastOffset >= :offset',
      ExpressionAttributeValues: { ':pk': partitionKeyOf(topicId, partition), ':offset': offset },
      ProjectionExpression: searchProjection,
      ConsistentRead: true,
      Limit: 1,
    }),
  );
  return Items?.[0] as BatchIndexItem | undefined;
}

/**
 * The earliest live batch whose running maximum reaches the timestamp. The running maximum never
 * decreases along the log, so this is a binary search over offsets in [logStartOffset, bound),
 * where bound is the GSI's answer (usually right: then one read below it confirms it) or the
 * high watermark (the GSI had no answer yet). Never a linear walk, however many batches share
 * one running maximum (e.g. after one far-future timestamp).
 */
async function earliestBatchReaching(
  topicId: string,
  partition: number,
  timestamp: number,
  head: PartitionHead,
  indexed: BatchIndexItem | undefined,
): Promise<BatchIndexItem | undefined> {
  let best = indexed && indexed.lastOffset >= head.logStartOffset ? indexed : undefined;
  let hi = best ? best.baseOffset : head.highWatermark;
  const lo0 = head.logStartOffset;
  if (best && hi > lo0) {
    // The common case: the batch just below the GSI's answer does not reach the timestamp.
    const below = await batchAtOrAfter(topicId, partition, hi - 1);
    if (below && below.baseOffset < hi && below.maxTimestampSoFar < timestamp) return best;
  }
  let lo = lo0;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const batch = await batchAtOrAfter(topicId, partition, mid);
    if (!batch || batch.baseOffset >= hi) {
      hi = mid;
    } else if (batch.maxTimestampSoFar >= timestamp) {
      best = batch;
      hi = batch.baseOffset;
    } else {
      lo = batch.lastOffset + 1;
    }
  }
  return best;
}

/**
 * From the first batch whose running maximum reaches the timestamp, the first record at or
 * after it. Usually that batch holds it; if the record that set the running maximum was
 * compacted or retained away, a later batch may: the batches after it are read (their own
 * maxTimestamp filtered server-side, so a few round trips of up to 1 MB each) until one has such
 * a record. Null only when no live record has a timestamp at or after T.
 */
async function firstRecordAtOrAfter(
  topicId: string,
  partition: number,
  timestamp: number,
  head: PartitionHead,
  fromOffset: number,
): Promise<number | null> {
  for await (const item of queryItems({
    TableName: tableName('batches'),
    KeyConditionExpression: 'partitionKey = :pk AND lastOffset >= :from',
    FilterExpression: 'maxTimestamp >= :t',
    ExpressionAttributeValues: { ':pk': partitionKeyOf(topicId, partition), ':from': fromOffset, ':t': timestamp },
    ConsistentRead: true,
  })) {
    const batch = item as unknown as BatchIndexItem;
    if (batch.baseOffset >= head.highWatermark) return null;
    for (const record of (await decodeBatch(batch)).records) {
      if (record.offset >= head.logStartOffset && record.offset < head.highWatermark && record.timestamp >= timestamp) return record.offset;
    }
  }
  return null;
}
