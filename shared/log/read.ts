/**
 * Reading the log: find the batches holding an offset in the chunk chain (the chunk at or before
 * it, and those after), fetch only the bytes needed (inline, or the exact S3 byte
 * range of each batch), decode, and cut at the limits. Never past the high watermark the caller
 * read, never skipping an offset (docs/guarantees.md, guarantee 4).
 */
import { decodeRecordBatch, withBaseOffset } from '../records';
import type { BatchRecord, RecordBatch } from '../records/types';
import { recordSize } from './json';
import { partitionKeyOf } from '../topics/store';
import { readSegmentRange } from './segments';
import { batchesOfChunk, type ChunkItem } from './chunks';
import { batchReaderProjection, chunkAtOrBefore, chunksAfter, getChunk } from './chunk-store';
import { BoundedCache } from '../runtime/bounded-cache';
import { largestPage, nextPageSize, nothingSeen, withChunk } from './read-pages';
import { walkRecords } from './record-walk';

/** One stored record batch as readers see it (a chunk's entry, expanded by `batchesOfChunk`). */
export interface BatchIndexItem {
  readonly partitionKey: string;
  /** The chunk that holds the batch, and the batch's place in it. */
  readonly chunkBaseOffset: number;
  readonly entryIndex: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly recordCount: number;
  readonly firstTimestamp: number;
  readonly maxTimestamp: number;
  readonly appendedAt: number;
  readonly sizeBytes: number;
  readonly bytes?: Uint8Array;
  readonly segmentKey?: string;
  readonly segmentPosition?: number;
  readonly segmentBatches?: number;
  /** When compaction first saw this batch's tombstones (their retention counts from it). */
  readonly tombstonesSeenAt?: number;
}

export interface ReadLimits {
  readonly maxRecords: number;
  /** Record bytes (key + value + headers) to stop after; the first record is returned whatever its size. */
  readonly maxBytes: number;
}

export interface ReadResult {
  readonly records: BatchRecord[];
  readonly nextOffset: number;
  readonly bytes: number;
}

/**
 * The log under a reader moved: retention removed batches it was about to read (their items or
 * their segment objects are gone). The caller re-reads the head: the offset is now below the
 * log start offset (416), or it reads again.
 */
export class LogRangeMoved extends Error {
  constructor(readonly partitionKey: string) {
    super(`the batches of ${partitionKey} being read were removed by retention`);
    this.name = 'LogRangeMoved';
  }
}

/**
 * Where a chunk is known to start, per partition (besides 0): the last chunk a reader began to
 * read (its first batch was the last one it looked at), which is where a reader that stopped at
 * the byte limit fetches next. A chunk's key never moves (retention leaves a stub under it for a day; a
 * topic created again has new partition keys), so a start seen once stays true; one not found
 * again (a stub whose TTL passed) costs one more round trip, never a wrong read.
 */
const knownChunkStarts = new BoundedCache<string, number>({ maxEntries: 10_000 });

/**
 * The stored batches from the one holding `offset` onwards, read from the chunk chain: the chunk
 * at or before the offset and the chunks after it, two Queries sent together (so a fetch waits one
 * round trip, as with one Query), or, where a chunk is known to start at the offset, one Query
 * from the offset on. The first page asks for `firstPageSize` chunks, bounded by `mostNeeded()`
 * (records the reader can still use: each chunk read is billed); each further page for what
 * `nextPageSize` says: four times more, or, for a reader that says how many stored bytes it can
 * still use (`bytesWanted()`), the chunks those bytes need at the average size of the chunks read
 * so far; never more than one DynamoDB page holds. A stub (a chunk retention removed) ends nothing
 * by itself: its batches are gone, and the caller sees the first batch it gets start after the
 * offset it asked for.
 */
export async function* batchesFrom(
  topicId: string,
  partition: number,
  offset: number,
  firstPageSize: number,
  mostNeeded: () => number = () => largestPage,
  bytesWanted?: () => number,
): AsyncGenerator<BatchIndexItem> {
  const partitionKey = partitionKeyOf(topicId, partition);
  let growth = firstPageSize;
  let seen = nothingSeen;
  const pageSize = () => {
    const size = nextPageSize(growth, seen, { records: mostNeeded(), ...(bytesWanted ? { storedBytes: bytesWanted() } : {}) });
    growth = Math.min(largestPage, growth * 4);
    return size;
  };
  // The first chunk starts at 0.
  const startsHere = offset === 0 || knownChunkStarts.get(partitionKey) === offset;
  // From the offset on (> offset - 1) when a chunk starts there, else after it.
  const following = chunksAfter(partitionKey, startsHere ? offset - 1 : offset, pageSize, batchReaderProjection);
  let holding: ChunkItem | undefined;
  let next: IteratorResult<ChunkItem> | undefined;
  if (startsHere) {
    const first = await following.next();
    if (!first.done && Number(first.value.baseOffset) === offset) holding = first.value;
    else [holding, next] = [await chunkAtOrBefore(partitionKey, offset, batchReaderProjection), first];
  } else {
    // Start the first page of the following chunks while the holding chunk is read.
    [holding, next] = await Promise.all([chunkAtOrBefore(partitionKey, offset, batchReaderProjection), following.next()]);
  }
  let lastStart: number | undefined;
  try {
    if (holding) {
      const batches = batchesOfChunk(holding);
      seen = withChunk(seen, batches);
      for (const batch of batches) if (batch.lastOffset >= offset) yield batch;
    }
    for (next ??= await following.next(); !next.done; next = await following.next()) {
      const batches = batchesOfChunk(next.value);
      seen = withChunk(seen, batches);
      if (batches.length > 0) lastStart = batches[0]!.baseOffset;
      yield* batches;
    }
  } finally {
    if (lastStart !== undefined) knownChunkStarts.set(partitionKey, lastStart);
  }
}

async function storedBytes(item: BatchIndexItem): Promise<Buffer> {
  return item.bytes
    ? Buffer.from(item.bytes.buffer, item.bytes.byteOffset, item.bytes.byteLength)
    : await readSegmentRange(item.segmentKey!, { position: item.segmentPosition!, length: item.sizeBytes });
}

/** The batch's bytes with its real base offset patched in (stored bytes carry 0). */
export async function batchBytes(item: BatchIndexItem): Promise<Buffer> {
  let stored: Buffer;
  try {
    stored = await storedBytes(item);
  } catch (error) {
    // Compaction may have rewritten the batch (and removed its old object) since the index was
    // read: read the batch's current item once more.
    if ((error as Error).name !== 'NoSuchKey') throw error;
    const chunk = await getChunk(item.partitionKey, item.chunkBaseOffset);
    const again = chunk ? batchesOfChunk(chunk)[item.entryIndex] : undefined;
    // Gone too, or still pointing at the removed object: retention took the batch.
    if (!again || again.segmentKey === item.segmentKey) throw new LogRangeMoved(item.partitionKey);
    try {
      stored = await storedBytes(again);
    } catch (again) {
      if ((again as Error).name === 'NoSuchKey') throw new LogRangeMoved(item.partitionKey);
      throw again;
    }
  }
  return withBaseOffset(stored, item.baseOffset);
}

/** The batch an index item points at, decoded (CRC checked) with its real offsets. */
export async function decodeBatch(item: BatchIndexItem): Promise<RecordBatch> {
  return decodeRecordBatch(await batchBytes(item));
}

/** What a reader can use: records, and stored bytes (after the first batch, only batches that fit are chosen). */
export interface BatchChoiceLimits {
  readonly maxRecords: number;
  readonly maxStoredBytes: number;
}

/**
 * The batches to read for records from `offset`, never at or past `highWatermark`, chosen from the
 * chain alone (their bytes are fetched after). A batch is read whole (its CRC covers all of it), so
 * after the first one only batches that fit in what is left of the stored bytes are chosen, as a
 * Kafka broker fills a fetch. The first chosen batch may start after `offset` (retention removed
 * the one holding it since the head was read, or compaction left a gap); the caller decides.
 */
export async function chooseBatches(
  topicId: string,
  partition: number,
  offset: number,
  highWatermark: number,
  limits: BatchChoiceLimits,
  firstPageSize: number,
): Promise<BatchIndexItem[]> {
  const chosen: BatchIndexItem[] = [];
  if (offset >= highWatermark || limits.maxRecords <= 0) return chosen;
  let plannedRecords = 0;
  let plannedBytes = 0;
  // Every batch holds at least one record: never read more batches than records still wanted.
  const mostNeeded = () => Math.max(1, Math.min(limits.maxRecords, highWatermark - offset) - plannedRecords);
  const bytesWanted = () => limits.maxStoredBytes - plannedBytes;
  for await (const item of batchesFrom(topicId, partition, offset, firstPageSize, mostNeeded, bytesWanted)) {
    if (item.baseOffset >= highWatermark) break;
    if (chosen.length > 0 && plannedBytes + item.sizeBytes > limits.maxStoredBytes) break;
    chosen.push(item);
    plannedRecords += item.lastOffset - Math.max(item.baseOffset, offset) + 1;
    plannedBytes += item.sizeBytes;
    if (plannedRecords >= limits.maxRecords || item.lastOffset >= highWatermark - 1) break;
  }
  return chosen;
}

/**
 * Reads records from `offset` (which the caller checked is in [logStartOffset, highWatermark))
 * up to the limits, stopping at `highWatermark`.
 */
export async function readRecords(
  topicId: string,
  partition: number,
  offset: number,
  highWatermark: number,
  limits: ReadLimits,
): Promise<ReadResult> {
  const records: BatchRecord[] = [];
  let bytes = 0;
  if (offset >= highWatermark || limits.maxRecords <= 0) return { records, nextOffset: offset, bytes };
  const chosen = await chooseBatches(
    topicId,
    partition,
    offset,
    highWatermark,
    { maxRecords: limits.maxRecords, maxStoredBytes: limits.maxBytes },
    16,
  );
  // Every offset in [logStartOffset, highWatermark) is in a batch: no batch, or a first batch that
  // starts after the offset, means retention removed the one holding it since the head was read.
  if (chosen.length === 0 || chosen[0]!.baseOffset > offset) throw new LogRangeMoved(partitionKeyOf(topicId, partition));
  const decoded = await Promise.all(chosen.map(decodeBatch));
  const nextOffset = walkRecords(chosen, decoded, offset, highWatermark, (record) => {
    if (records.length >= limits.maxRecords) return false;
    const size = recordSize(record);
    if (records.length > 0 && bytes + size > limits.maxBytes) return false;
    records.push(record);
    bytes += size;
    return true;
  });
  return { records, nextOffset, bytes };
}
