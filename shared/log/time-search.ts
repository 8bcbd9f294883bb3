/**
 * The earliest offset whose record timestamp is at or after T (Kafka's ListOffsets by time), on
 * the chunk chain alone: no time index (docs/storage.md, "Offsets by timestamp").
 *
 * Every chunk carries `maxTimestampBefore`, the running maximum record timestamp of all chunks
 * before it, so `maxTimestampThrough` (that, or its own batches' maximum if larger) never
 * decreases along the chain and bounds every record up to and including the chunk. Hence:
 *
 * 1. The first live chunk whose running maximum reaches T is found by a binary search over
 *    offsets in [log start, high watermark): each probe reads the chunk at or before an offset
 *    (one strongly consistent Query) and halves what is left. Every record before that chunk is
 *    below T.
 * 2. From it, batches whose own maximum reaches T are decoded in offset order until one holds a
 *    live record at or after T: usually the first. A later one may, when the record that set the
 *    running maximum was compacted away, retained away, or lies below the log start; then the
 *    chunks after it are read on. Null only if no live record qualifies.
 *
 * Stubs (chunks retention removed) hold no live records: a probe that finds one moves right.
 * They are a prefix of the chain, so the search stays monotone.
 *
 * The decisions are pure (`narrow`); `findOffsetForTimestamp` runs them against any
 * {@link ChainReader} (DynamoDB in shared/log/offsets.ts, a model in the tests).
 */

/** What the search needs of a chunk. */
export interface ChunkSummary {
  readonly baseOffset: number;
  /** The offset after its last record. */
  readonly end: number;
  readonly stub: boolean;
  /** The running maximum record timestamp through this chunk (-1: none). */
  readonly maxTimestampThrough: number;
}

/** One batch of a chunk, as the forward scan sees it. */
export interface BatchSummary {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
}

/** The state of the binary search: the answer chunk starts in [lo, hi), or is `best`. */
export interface TimeSearch<C extends ChunkSummary> {
  readonly lo: number;
  readonly hi: number;
  /** The earliest chunk found so far whose running maximum reaches T. */
  readonly best?: C;
}

export const startSearch = <C extends ChunkSummary>(logStartOffset: number, highWatermark: number): TimeSearch<C> => ({
  lo: logStartOffset,
  hi: highWatermark,
});

/** The offset to probe next (read the chunk at or before it), or undefined when the search is done. */
export const nextProbe = (search: TimeSearch<ChunkSummary>): number | undefined =>
  search.lo < search.hi ? Math.floor((search.lo + search.hi) / 2) : undefined;

/**
 * The search after probing `probe`, given the chunk at or before it (undefined: none). A chunk
 * whose running maximum reaches T is a candidate, and the answer chunk is it or earlier; a chunk
 * below T (or a stub, or none) rules out every offset up to its end and the probe.
 */
export function narrow<C extends ChunkSummary>(
  search: TimeSearch<C>,
  probe: number,
  chunk: C | undefined,
  timestamp: number,
): TimeSearch<C> {
  if (chunk && !chunk.stub && chunk.maxTimestampThrough >= timestamp)
    return { lo: search.lo, hi: Math.min(search.hi, chunk.baseOffset), best: chunk };
  return { ...search, lo: Math.max(search.lo, probe + 1, chunk?.end ?? 0) };
}

/** Whether a batch can hold the answer: live offsets and a record at or after T. */
export const batchMayHold = (batch: BatchSummary, timestamp: number, logStartOffset: number, highWatermark: number) =>
  batch.maxTimestamp >= timestamp && batch.lastOffset >= logStartOffset && batch.baseOffset < highWatermark;

/** How the search reads a partition's chain. */
export interface ChainReader<C extends ChunkSummary, B extends BatchSummary> {
  /** The chunk with the greatest base offset at or below `offset`. */
  chunkAtOrBefore(offset: number): Promise<C | undefined>;
  /** The chunks after the one at `baseOffset`, ascending. */
  chunksAfter(baseOffset: number): AsyncIterable<C>;
  batchesOf(chunk: C): readonly B[];
  /** The batch's live records (compaction may have removed some), or undefined if the batch is gone. */
  recordsOf(batch: B): Promise<readonly { readonly offset: number; readonly timestamp: number }[] | undefined>;
}

export interface TimeLookup {
  readonly offset: number | null;
  /** Chunk reads the binary search made. */
  readonly probes: number;
  /** Chunks read after the one found, and batches decoded. */
  readonly chunksScanned: number;
  readonly batchesDecoded: number;
}

/** The earliest live offset in [logStartOffset, highWatermark) whose record timestamp is at or after `timestamp`. */
export async function findOffsetForTimestamp<C extends ChunkSummary, B extends BatchSummary>(
  reader: ChainReader<C, B>,
  timestamp: number,
  logStartOffset: number,
  highWatermark: number,
): Promise<TimeLookup> {
  let search = startSearch<C>(logStartOffset, highWatermark);
  let probes = 0;
  for (let probe = nextProbe(search); probe !== undefined; probe = nextProbe(search)) {
    probes++;
    search = narrow(search, probe, await reader.chunkAtOrBefore(probe), timestamp);
  }
  let chunksScanned = 0;
  let batchesDecoded = 0;
  const result = (offset: number | null): TimeLookup => ({ offset, probes, chunksScanned, batchesDecoded });
  if (!search.best) return result(null);

  const scan = async (chunk: C): Promise<number | null | undefined> => {
    if (chunk.baseOffset >= highWatermark) return null;
    if (chunk.stub) return undefined;
    for (const batch of reader.batchesOf(chunk)) {
      if (batch.baseOffset >= highWatermark) return null;
      if (!batchMayHold(batch, timestamp, logStartOffset, highWatermark)) continue;
      batchesDecoded++;
      for (const record of (await reader.recordsOf(batch)) ?? []) {
        if (record.offset >= logStartOffset && record.offset < highWatermark && record.timestamp >= timestamp) return record.offset;
      }
    }
    return undefined;
  };
  const first = await scan(search.best);
  if (first !== undefined) return result(first);
  for await (const chunk of reader.chunksAfter(search.best.baseOffset)) {
    chunksScanned++;
    const found = await scan(chunk);
    if (found !== undefined) return result(found);
  }
  return result(null);
}
