/**
 * The head of each partition: high watermark, log start offset, the running maximum record
 * timestamp and the bytes held. In layout v2 the high watermark, the running maximum and the
 * bytes ever appended come from the last chunk (the head of the chain, docs/storage.md); the log
 * start offset, the bytes retention and compaction released, and the compaction marks from the
 * partition item, which appends never touch. Both are read strongly consistently, in parallel.
 * A partition no record was ever appended to has neither and reads as empty.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, tableName } from '../runtime/aws';
import { partitionKeyOf } from '../topics/store';
import { unprocessedItemsBackoff } from '../runtime/batches';
import { backoffCeiling, sleep } from '../runtime/retry';
import { type ChunkItem, chunkEnd, maxTimestampThrough } from './chunks';
import { firstChunkAfter, readLastChunk } from './chunk-store';
import { chunkLimits, isFence, isFinal, viewOfItem } from './chunk-plan';
import { mapWithConcurrency } from '../runtime/concurrency';

export interface PartitionHead {
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** Largest record timestamp ever appended (Kafka's time index is built on this running max). */
  readonly maxTimestamp: number;
  /** Bytes held by the partition's live batches, for retention.bytes. */
  readonly sizeBytes: number;
  /** High watermark and time of the last compaction. */
  readonly compactedUpTo?: number;
  readonly compactedAt?: number;
  /** The last chunk this head was read from: what a long poll watches (`pollHead`). */
  readonly lastChunk?: LastChunkWatch;
}

/**
 * How a long poll learns cheaply that a partition grew. Records only ever arrive in a new chunk
 * key, unless the last chunk is still joinable (open, within its join window) or is a fence (the
 * next append takes the fence's key). Until `rereadUntil` the poll re-reads the last chunk
 * (billed at its size); after it, a key-only Query for a chunk after `baseOffset` (billed at the
 * minimum, as the head item of layout 1 was).
 */
export interface LastChunkWatch {
  readonly baseOffset: number;
  readonly rereadUntil: number;
}

/** Writers' clocks may differ from the poller's: an open chunk is watched this much past its join window. */
const clockSkewMarginMs = 5_000;

function watchOf(chunk: ChunkItem): LastChunkWatch {
  const view = viewOfItem(chunk as unknown as Record<string, unknown>);
  const rereadUntil = isFence(view)
    ? Number.POSITIVE_INFINITY
    : isFinal(view)
      ? 0
      : view.createdAt + chunkLimits.joinWindowMs + clockSkewMarginMs;
  return { baseOffset: view.baseOffset, rereadUntil };
}

export const emptyHead: PartitionHead = { highWatermark: 0, logStartOffset: 0, maxTimestamp: -1, sizeBytes: 0 };

/**
 * A head from the partition item and the last chunk. The partition item's `sizeDelta` is what
 * retention and compaction released (zero or less); the chunk chain counts every byte appended.
 */
export function headFrom(partitionItem: Record<string, unknown> | undefined, lastChunk: ChunkItem | undefined): PartitionHead {
  if (!lastChunk) return emptyHead;
  const appendedBytes = Number(lastChunk.bytesBefore ?? 0) + Number(lastChunk.sizeBytes ?? 0);
  const highWatermark = chunkEnd(lastChunk);
  return {
    highWatermark,
    logStartOffset: Math.min(highWatermark, Number(partitionItem?.logStartOffset ?? 0)),
    maxTimestamp: maxTimestampThrough(lastChunk),
    sizeBytes: Math.max(0, appendedBytes + Number(partitionItem?.sizeDelta ?? 0)),
    ...(partitionItem?.compactedUpTo !== undefined
      ? { compactedUpTo: Number(partitionItem.compactedUpTo), compactedAt: Number(partitionItem.compactedAt) }
      : {}),
    lastChunk: watchOf(lastChunk),
  };
}

/**
 * The head again if the partition may have grown since `head` was read, else `head` itself: what
 * a long poll calls each interval. See `LastChunkWatch` for what one poll costs. A poll that read
 * the last chunk to find the growth keeps it: only the partition item is read again.
 */
export async function pollHead(topicId: string, partition: number, head: PartitionHead): Promise<PartitionHead> {
  const partitionKey = partitionKeyOf(topicId, partition);
  const growth = await sinceHead(partitionKey, head);
  if (growth === 'unchanged') return head;
  if (growth === 'grown') return readHead(topicId, partition);
  return headFrom(await readPartitionItem(partitionKey), growth.lastChunk);
}

/** `pollHead` for many partitions: only those that may have grown are read again. */
export async function pollHeadsAcrossTopics(
  keys: readonly { topicId: string; partition: number }[],
  heads: ReadonlyMap<string, PartitionHead>,
): Promise<Map<string, PartitionHead>> {
  const unique = [...new Map(keys.map((k) => [partitionKeyOf(k.topicId, k.partition), k])).values()];
  const growths = await mapWithConcurrency(unique, headQueryConcurrency, (k) =>
    sinceHead(partitionKeyOf(k.topicId, k.partition), heads.get(partitionKeyOf(k.topicId, k.partition)) ?? emptyHead),
  );
  const next = new Map(heads);
  const unread = unique.filter((_, i) => growths[i] === 'grown');
  const withChunk = unique.flatMap((k, i) => {
    const growth = growths[i]!;
    return typeof growth === 'object' ? [{ partitionKey: partitionKeyOf(k.topicId, k.partition), lastChunk: growth.lastChunk }] : [];
  });
  const [read, items] = await Promise.all([
    unread.length > 0 ? readHeadsAcrossTopics(unread) : new Map<string, PartitionHead>(),
    withChunk.length > 0 ? readPartitionItems(withChunk.map((w) => w.partitionKey)) : new Map<string, Record<string, unknown>>(),
  ]);
  for (const [key, head] of read) next.set(key, head);
  for (const { partitionKey, lastChunk } of withChunk) next.set(partitionKey, headFrom(items.get(partitionKey), lastChunk));
  return next;
}

/**
 * Whether the partition may have grown since `head`: `grown` when a key-only Query found a chunk
 * after the watched one, the last chunk itself when the poll had to read it (it is still
 * joinable, or a fence) and it moved.
 */
async function sinceHead(partitionKey: string, head: PartitionHead): Promise<'unchanged' | 'grown' | { lastChunk: ChunkItem }> {
  const watch = head.lastChunk;
  if (watch && watch.rereadUntil <= Date.now())
    return (await firstChunkAfter(partitionKey, watch.baseOffset)) !== undefined ? 'grown' : 'unchanged';
  const last = await readLastChunk(partitionKey);
  if (!last) return 'unchanged';
  return last.baseOffset !== watch?.baseOffset || chunkEnd(last) !== head.highWatermark ? { lastChunk: last } : 'unchanged';
}

export async function readHead(topicId: string, partition: number): Promise<PartitionHead> {
  const partitionKey = partitionKeyOf(topicId, partition);
  const [item, last] = await Promise.all([readPartitionItem(partitionKey), readLastChunk(partitionKey)]);
  return headFrom(item, last);
}

async function readPartitionItem(partitionKey: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo().send(new GetCommand({ TableName: tableName('partitions'), Key: { partitionKey }, ConsistentRead: true }));
  return Item;
}

/** Reads several partitions' heads of one topic. */
export async function readHeads(topicId: string, partitions: readonly number[]): Promise<Map<number, PartitionHead>> {
  const byKey = await readHeadsAcrossTopics(partitions.map((partition) => ({ topicId, partition })));
  return new Map(partitions.map((partition) => [partition, byKey.get(partitionKeyOf(topicId, partition)) ?? emptyHead]));
}

/** How many last-chunk Queries one head read keeps in flight. */
const headQueryConcurrency = 32;

/** Heads of any partitions: the partition items in strongly consistent BatchGets, the last chunks in parallel Queries. */
export async function readHeadsAcrossTopics(keys: readonly { topicId: string; partition: number }[]): Promise<Map<string, PartitionHead>> {
  const unique = [...new Set(keys.map((k) => partitionKeyOf(k.topicId, k.partition)))];
  const [items, lastChunks] = await Promise.all([
    readPartitionItems(unique),
    mapWithConcurrency(unique, headQueryConcurrency, (partitionKey) => readLastChunk(partitionKey)),
  ]);
  const heads = new Map<string, PartitionHead>();
  unique.forEach((partitionKey, i) => {
    heads.set(partitionKey, headFrom(items.get(partitionKey), lastChunks[i]));
  });
  return heads;
}

async function readPartitionItems(partitionKeys: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
  const items = new Map<string, Record<string, unknown>>();
  const table = tableName('partitions');
  for (let i = 0; i < partitionKeys.length; i += 100) {
    let pending: Record<string, unknown>[] = partitionKeys.slice(i, i + 100).map((partitionKey) => ({ partitionKey }));
    for (let round = 0; pending.length > 0; round++) {
      const result = await dynamo().send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }));
      for (const item of result.Responses?.[table] ?? []) items.set(item.partitionKey as string, item);
      pending = (result.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
      if (pending.length > 0) await sleep(backoffCeiling(round, unprocessedItemsBackoff));
    }
  }
  return items;
}

/**
 * A bookkeeping update of a partition item (log start, released bytes, compaction marks) that
 * must not touch a deleted topic's partition. `condition`, if given, must hold too. False if the
 * partition is marked deleted or the condition failed.
 */
export async function updateLivePartition(
  topicId: string,
  partition: number,
  update: { UpdateExpression: string; ExpressionAttributeValues: Record<string, unknown>; condition?: string },
): Promise<boolean> {
  const { condition, ...expressions } = update;
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: tableName('partitions'),
        Key: { partitionKey: partitionKeyOf(topicId, partition) },
        ...expressions,
        // The item may not exist yet (appends never write it); a deleted topic's item is marked.
        ConditionExpression: condition ? `(${condition}) AND attribute_not_exists(deletedAt)` : 'attribute_not_exists(deletedAt)',
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
