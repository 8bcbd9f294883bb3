/**
 * The pure decisions of the retention sweep and of compaction on the chunk chain (layout v2,
 * docs/storage.md "Retention and segment objects"): where the log start moves, which chunks may
 * become stubs, which batches compaction may rewrite, and the items those writes put. The I/O is
 * in retention.ts and compaction.ts.
 */
import { type ChunkEntry, type ChunkItem, chunkStubTtlSeconds, encodeChunkEntry, writeOffsetsOf } from './chunks';

/** What retention needs to know of a batch (an expanded chunk entry). */
export interface RetainedBatch {
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly sizeBytes: number;
}

/**
 * Which leading batches retention removes: Kafka deletes whole segments from the start of the
 * log while either limit is breached, and stops at the first segment both limits keep. Here a
 * batch plays the segment: the new log start is always a batch boundary.
 */
export function batchesToDelete(
  batches: readonly Pick<RetainedBatch, 'maxTimestamp' | 'sizeBytes'>[],
  totalBytes: number,
  retentionMs: number,
  retentionBytes: number,
  now: number,
): number {
  let remaining = totalBytes;
  let count = 0;
  for (const batch of batches) {
    if (!breaches(batch, remaining, retentionMs, retentionBytes, now)) break;
    remaining -= batch.sizeBytes;
    count++;
  }
  return count;
}

/** Whether the oldest kept batch goes, with `remaining` bytes held from it on. */
export function breaches(
  batch: Pick<RetainedBatch, 'maxTimestamp'>,
  remaining: number,
  retentionMs: number,
  retentionBytes: number,
  now: number,
): boolean {
  const expired = retentionMs >= 0 && batch.maxTimestamp < now - retentionMs;
  const oversize = retentionBytes >= 0 && remaining > retentionBytes;
  return expired || oversize;
}

/** A chunk's key and offset range, as the sweep read it. */
export interface ChunkRange {
  readonly baseOffset: number;
  /** `baseOffset + recordCount`: where the next chunk begins. */
  readonly end: number;
  readonly stub?: boolean;
}

/**
 * The chunks retention turns into stubs: those that lie entirely below the log start, are not
 * stubs already, and are not the last chunk of the partition. `lastBaseOffset` is the key of the
 * last chunk as read at any time: the chain only grows, so a chunk with a smaller key is never
 * the last again, and a stale read only keeps more. A chunk partly below the log start stays
 * whole (readers skip its batches below the start).
 */
export function chunksToStub<T extends ChunkRange>(chunks: readonly T[], lastBaseOffset: number, logStartOffset: number): T[] {
  return chunks.filter((chunk) => !chunk.stub && chunk.baseOffset < lastBaseOffset && chunk.end <= logStartOffset);
}

/**
 * Below which key every chunk is a stub once the chunks `chunksToStub(chunks, lastBaseOffset,
 * logStartOffset)` chose were all stubbed: the key of the first chunk read that stays (the one
 * holding the log start, or the last chunk, which must be looked at again once it is no longer
 * the last), and never past the log start. `chunks` is what a pass read, in key order, from a
 * key below which every chunk already was a stub. The next pass reads the chain from here, not
 * from offset 0 through a day of stubs.
 */
export function stubbedBelowAfter(chunks: readonly ChunkRange[], lastBaseOffset: number, logStartOffset: number): number {
  const stubbed = new Set(chunksToStub(chunks, lastBaseOffset, logStartOffset));
  const firstKept = chunks.find((chunk) => !chunk.stub && !stubbed.has(chunk));
  return Math.min(firstKept?.baseOffset ?? logStartOffset, logStartOffset, lastBaseOffset);
}

/**
 * How long a stub lives: a day, and at least as long as an Idempotency-Key's record. A retry
 * that finds an expired claim searches the chunks the claim names for its write; the claim was
 * made before the write, and so before any stub of its chunk, so a stub that outlives the key's
 * record is there for every such search (a deployment may keep keys longer than a day).
 */
export function stubTtlSeconds(idempotencyTtlHours: number): number {
  return Math.max(chunkStubTtlSeconds, Math.ceil(idempotencyTtlHours * 3600));
}

/**
 * What a removed chunk becomes: its key, for `ttlSeconds`, so that a writer whose view of the
 * head is stale collides with it instead of appending below the log start; and where each of its
 * batches landed, by write id, so that a write whose answer was lost while retention removed its
 * chunk (the SDK's retry, or a retry's search for an expired claim's write) finds that it landed
 * instead of appending again. At most 128 batches: a few KB.
 */
export function stubItem(chunk: ChunkItem, nowMs: number, ttlSeconds: number): ChunkItem {
  const writeOffsets = writeOffsetsOf(chunk);
  return {
    partitionKey: chunk.partitionKey,
    baseOffset: Number(chunk.baseOffset),
    stub: true,
    expiresAt: Math.floor(nowMs / 1000) + ttlSeconds,
    ...(Object.keys(writeOffsets).length > 0 ? { writeOffsets } : {}),
  };
}

/** A batch as compaction considers it: where it is, and its offsets. */
export interface CompactedBatch {
  readonly chunkBaseOffset: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
}

/**
 * Whether compaction may rewrite a batch: it is at or above the log start, it is not the newest
 * batch of the partition (Kafka's active segment), and its chunk is not the last chunk (the only
 * one that may still be open: a writer may be joining it). `batches` are the partition's
 * batches below the high watermark, in offset order; `lastChunkBaseOffset` is the key of the
 * last chunk read.
 */
export function mayRewrite(
  batches: readonly CompactedBatch[],
  index: number,
  logStartOffset: number,
  lastChunkBaseOffset: number,
): boolean {
  const batch = batches[index]!;
  return index < batches.length - 1 && batch.baseOffset >= logStartOffset && batch.chunkBaseOffset < lastChunkBaseOffset;
}

/** The attribute compaction counts its rewrites of a chunk in; every rewrite is conditioned on it. */
export const rewritesAttribute = 'rewrites';

export interface RewrittenChunk extends ChunkItem {
  readonly rewrites: number;
}

/**
 * The chunk compaction puts: every attribute as read (its `sizeBytes`, `bytesBefore` and
 * `recordCount` are the chain's as-appended accounting; the bytes compaction frees go to the
 * partition item's `sizeDelta`), its batches replaced (packed, as every writer stores them), its rewrite count one higher. A batch in
 * S3 is alone in its chunk, and the chunk's top-level `segmentKey`/`segmentPosition` (what the
 * `bySegment` index lists) follow it, or go when its bytes come inline.
 */
export function rewrittenChunk(read: ChunkItem & { readonly rewrites?: number }, batches: readonly ChunkEntry[]): RewrittenChunk {
  const { segmentKey: _key, segmentPosition: _position, ...rest } = read;
  const inS3 = batches.length === 1 && batches[0]!.segmentKey !== undefined ? batches[0]! : undefined;
  return {
    ...rest,
    batches: batches.map(encodeChunkEntry),
    rewrites: Number(read.rewrites ?? 0) + 1,
    ...(inS3 ? { segmentKey: inS3.segmentKey!, segmentPosition: Number(inS3.segmentPosition ?? 0) } : {}),
  };
}

/**
 * Page sizes for a sweep reading a chain: 4 chunks first (most partitions have little to
 * remove, and a chunk read is billed for all its bytes), then four times more each page, up to
 * 1000. Each call of the returned function is the next page's size.
 */
export function growingPageSize(first = 4, most = 1000): () => number {
  let size = first;
  return () => {
    const current = size;
    size = Math.min(most, size * 4);
    return current;
  };
}
