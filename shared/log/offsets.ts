/**
 * Offset lookup (Kafka's ListOffsets): earliest, latest, or the earliest offset whose timestamp
 * is at or after T. The time lookup uses the batch index's byTimestamp GSI, keyed by the
 * partition's running maximum timestamp at each batch (as Kafka's time index is): the first
 * batch whose running maximum reaches T holds the answer, and only that batch is decoded.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { invalidRequest, unknownPartition } from '../errors';
import { dynamo, tableName } from '../runtime/aws';
import { queryItems } from '../runtime/paging';
import { tables } from '../storage/tables';
import { requireTopic, partitionKeyOf } from '../topics/store';
import { parsePartition } from './fetch';
import { readHead, type PartitionHead } from './partition-heads';
import { decodeBatch, getBatch, type BatchIndexItem } from './read';

const timeIndex = tables.batches.globalIndexes[0].indexName;

export async function lookupOffset(topicName: string, partitionParam: string, at: string | undefined): Promise<{ offset: number | null }> {
  const partition = parsePartition(partitionParam);
  if (at === undefined) throw invalidRequest("at is required: 'earliest', 'latest' or a timestamp in ms.", { field: 'at' });
  // Kafka's ListOffsets spells latest -1 and earliest -2.
  if (at === '-1') at = 'latest';
  if (at === '-2') at = 'earliest';
  let timestamp: number | undefined;
  if (at !== 'earliest' && at !== 'latest') {
    if (!/^\d+$/.test(at) || !Number.isSafeInteger(Number(at))) {
      throw invalidRequest(`at must be 'earliest', 'latest' or a timestamp in ms; got '${at}'.`, { field: 'at' });
    }
    timestamp = Number(at);
  }
  const topic = await requireTopic(topicName);
  if (partition >= topic.partitions) throw unknownPartition(topicName, partition, topic.partitions);
  const head = await readHead(topic.topicId, partition);
  if (at === 'earliest') return { offset: head.logStartOffset };
  if (at === 'latest') return { offset: head.highWatermark };
  return { offset: await offsetForTimestamp(topic.topicId, partition, timestamp!, head) };
}

export async function offsetForTimestamp(
  topicId: string,
  partition: number,
  timestamp: number,
  head: PartitionHead,
): Promise<number | null> {
  if (head.highWatermark === head.logStartOffset || head.maxTimestamp < timestamp) return null;
  const indexed = await firstIndexedBatchReaching(topicId, partition, timestamp);
  // GSI updates may land out of order: confirm no earlier batch reached the timestamp too.
  const candidate = await earliestBatchReaching(topicId, partition, timestamp, indexed);
  if (!candidate) return null;
  for (const record of (await decodeBatch(candidate)).records) {
    if (record.offset >= head.logStartOffset && record.timestamp >= timestamp) return record.offset;
  }
  return null;
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

/**
 * The GSI is eventually consistent. Starting below `candidate` (or from the newest batch when the
 * index had no answer yet), walk backwards with strongly consistent reads to the earliest batch
 * whose running maximum reaches the timestamp. Normally this reads one small page.
 */
async function earliestBatchReaching(
  topicId: string,
  partition: number,
  timestamp: number,
  candidate: BatchIndexItem | undefined,
): Promise<BatchIndexItem | undefined> {
  let found = candidate;
  for await (const item of queryItems({
    TableName: tableName('batches'),
    KeyConditionExpression: candidate ? 'partitionKey = :pk AND lastOffset < :below' : 'partitionKey = :pk',
    ExpressionAttributeValues: {
      ':pk': partitionKeyOf(topicId, partition),
      ...(candidate ? { ':below': candidate.baseOffset } : {}),
    },
    ScanIndexForward: false,
    ConsistentRead: true,
    Limit: 8,
  })) {
    if ((item as unknown as BatchIndexItem).maxTimestampSoFar < timestamp) return found;
    found = item as unknown as BatchIndexItem;
  }
  return found;
}
