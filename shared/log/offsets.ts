/**
 * Offset lookup (Kafka's ListOffsets): earliest, latest, or the earliest offset whose timestamp
 * is at or after T. The time lookup needs no time index: it binary-searches the chunk chain by
 * offset on each chunk's running maximum timestamp, which never decreases along the chain, then
 * decodes forward from the chunk found (shared/log/time-search.ts, docs/storage.md "Offsets by
 * timestamp").
 */
import { unknownPartition } from '../errors';
import { requireTopic, partitionKeyOf } from '../topics/store';
import { type ChunkItem, batchesOfChunk, chunkEnd, isStub, maxTimestampThrough } from './chunks';
import { chunkAtOrBefore, chunksAfter } from './chunk-store';
import { readHead, type PartitionHead } from './partition-heads';
import { type BatchIndexItem, decodeBatch, LogRangeMoved } from './read';
import { type ChainReader, type ChunkSummary, findOffsetForTimestamp, type TimeLookup } from './time-search';

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

/**
 * The earliest live offset in [log start, high watermark) of the head the caller read whose
 * record timestamp is at or after `timestamp`; null only if no live record has one.
 */
export async function offsetForTimestamp(
  topicId: string,
  partition: number,
  timestamp: number,
  head: PartitionHead,
): Promise<number | null> {
  return (await timeLookup(topicId, partition, timestamp, head)).offset;
}

/** The lookup with what it read (probes, chunks scanned, batches decoded). */
async function timeLookup(topicId: string, partition: number, timestamp: number, head: PartitionHead): Promise<TimeLookup> {
  // The head's running maximum bounds every record: nothing at or after T, nothing to read.
  if (head.highWatermark <= head.logStartOffset || head.maxTimestamp < timestamp)
    return { offset: null, probes: 0, chunksScanned: 0, batchesDecoded: 0 };
  return findOffsetForTimestamp(chainReader(partitionKeyOf(topicId, partition)), timestamp, head.logStartOffset, head.highWatermark);
}

interface Chunk extends ChunkSummary {
  readonly item: ChunkItem;
}

const summary = (item: ChunkItem | undefined): Chunk | undefined =>
  item && {
    baseOffset: Number(item.baseOffset),
    end: chunkEnd(item),
    stub: isStub(item),
    maxTimestampThrough: maxTimestampThrough(item),
    item,
  };

/**
 * Pages of chunks read after the one found: small first (the answer is usually in the next
 * chunk or two), then eight times larger, up to DynamoDB's 1,000 items (and 1 MB) a page.
 */
const scanPageSizes = (): (() => number) => {
  let next = 8;
  return () => {
    const size = next;
    next = Math.min(1_000, next * 8);
    return size;
  };
};

/** The chunk chain of one partition in DynamoDB: every read strongly consistent. */
function chainReader(partitionKey: string): ChainReader<Chunk, BatchIndexItem> {
  return {
    chunkAtOrBefore: async (offset) => summary(await chunkAtOrBefore(partitionKey, offset)),
    async *chunksAfter(baseOffset) {
      for await (const item of chunksAfter(partitionKey, baseOffset, scanPageSizes())) yield summary(item)!;
    },
    batchesOf: (chunk) => batchesOfChunk(chunk.item),
    async recordsOf(batch) {
      try {
        return (await decodeBatch(batch)).records;
      } catch (error) {
        // Retention removed the batch (or its segment object) since the chunk was read: it holds no live record.
        if (error instanceof LogRangeMoved) return undefined;
        throw error;
      }
    },
  };
}
