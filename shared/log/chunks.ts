/**
 * The stored form of the log (layout v2, docs/storage.md "Append redesign"): what a chunk item
 * holds, and how readers see it as the record batches it carries.
 *
 * A chunk item (table `chunks`, key `(partitionKey, baseOffset)`):
 *
 * | attribute            | what                                                                                  |
 * | -------------------- | ------------------------------------------------------------------------------------- |
 * | `recordCount`        | records in the chunk (its end, `baseOffset + recordCount`, is where the next begins)  |
 * | `sizeBytes`          | stored bytes of its batches as appended (compaction does not change it)               |
 * | `batchCount`         | entries in `batches`                                                                  |
 * | `batches`            | list of {@link ChunkEntry} maps, in offset order                                      |
 * | `sealed`             | final: takes no joins (absent on an open chunk)                                       |
 * | `capBytes`, `capBatches` | an open chunk's fill limits, written into it so all writers agree when it is full |
 * | `createdAt`          | epoch ms the chunk was put                                                            |
 * | `configVersion`      | the topic config version it was written under (a fence carries the new one)           |
 * | `deletedAt`          | on a deletion fence only                                                              |
 * | `maxTimestampBefore` | running maximum record timestamp of every chunk before this one (-1: none)            |
 * | `maxTimestamps`      | number set: each batch's max timestamp (a join ADDs its own; DynamoDB has no max())   |
 * | `bytesBefore`        | sum of `sizeBytes` of every chunk before this one (retention.bytes counts from it)    |
 * | `segmentKey`, `segmentPosition` | a batch stored in S3 (always alone in its chunk), for the `bySegment` index |
 * | `writeIds`           | string set of the batches' `writeId`s (a retried join must not land twice)             |
 * | `rewrites`           | how many times compaction rewrote the chunk's batches (each rewrite is conditioned on it) |
 * | `stub`, `expiresAt`  | a chunk retention removed: only its key is kept, 24 h, so a stale writer collides     |
 *
 * Fences (zero-record sealed chunks a config change or a deletion puts at the head) and the
 * empty open chunk a filling writer opens carry no batches.
 */
import { randomBytes } from 'node:crypto';
import type { BatchIndexItem } from './read';

/** One record batch inside a chunk. */
export interface ChunkEntry {
  readonly recordCount: number;
  /** Stored bytes (inline, or the byte range's length in the segment object). */
  readonly sizeBytes: number;
  readonly firstTimestamp: number;
  readonly maxTimestamp: number;
  /** Epoch ms the append was made (the broker's clock: LogAppendTime and trigger lag use it). */
  readonly appendedAt: number;
  /** RecordBatch v2 bytes with base offset 0 (readers patch the real one in). Absent for an S3 batch. */
  readonly bytes?: Uint8Array;
  readonly segmentKey?: string;
  readonly segmentPosition?: number;
  /** How many batches the segment object holds (its release counts them). */
  readonly segmentBatches?: number;
  /** When compaction first saw this batch's tombstones (their retention counts from it). */
  readonly tombstonesSeenAt?: number;
  /**
   * The append attempt that wrote the batch: a write the SDK retried after a lost response (it
   * committed, the caller saw an error) finds its own batch by it instead of appending it again.
   */
  readonly writeId?: string;
}

/** 72 random bits: unique per append attempt among a chunk's at most 128 batches, and short. */
export const newWriteId = () => randomBytes(9).toString('base64url');

/** Where a writer's own earlier attempt put its batch in `item`, if it did: the batch's base offset. */
export function ownBatchOffset(item: ChunkItem, writeId: string): number | undefined {
  if (!item.writeIds || !(item.writeIds as ReadonlySet<string>).has(writeId)) return undefined;
  return batchesOfChunk(item).find((b) => item.batches?.[b.entryIndex]?.writeId === writeId)?.baseOffset;
}

/** A chunk item as DynamoDB returns it (unmarshalled by the document client). */
export interface ChunkItem {
  readonly partitionKey: string;
  readonly baseOffset: number;
  readonly recordCount?: number;
  readonly sizeBytes?: number;
  readonly batchCount?: number;
  readonly batches?: readonly ChunkEntry[];
  readonly sealed?: boolean;
  readonly capBytes?: number;
  readonly capBatches?: number;
  readonly createdAt?: number;
  readonly configVersion?: number;
  readonly deletedAt?: number;
  readonly maxTimestampBefore?: number;
  readonly maxTimestamps?: ReadonlySet<number>;
  readonly bytesBefore?: number;
  readonly segmentKey?: string;
  readonly segmentPosition?: number;
  readonly rewrites?: number;
  /** The `writeId`s of its batches, as a string set: a join is conditioned on its own not being there. */
  readonly writeIds?: ReadonlySet<string>;
  readonly stub?: boolean;
  readonly expiresAt?: number;
}

/** How long a removed chunk's key stays as a stub (DynamoDB TTL then deletes it, for free). */
export const chunkStubTtlSeconds = 24 * 3600;

/** A writer trusts a head it cached for at most this long, far inside the stubs' 24 hours. */
export const cachedHeadMaxAgeMs = 60_000;

export const isStub = (item: Pick<ChunkItem, 'stub'>) => item.stub === true;

/** Largest of a set of timestamps (-1 for none): a chunk's own running maximum. */
export function maxOfTimestamps(timestamps: Iterable<number> | undefined): number {
  let max = -1;
  for (const t of timestamps ?? []) if (Number(t) > max) max = Number(t);
  return max;
}

/** The running maximum record timestamp up to and including this chunk. */
export const maxTimestampThrough = (item: ChunkItem) =>
  Math.max(Number(item.maxTimestampBefore ?? -1), maxOfTimestamps(item.maxTimestamps));

/** The offset after the chunk's last record: where the next chunk begins. */
export const chunkEnd = (item: Pick<ChunkItem, 'baseOffset' | 'recordCount'>) => Number(item.baseOffset) + Number(item.recordCount ?? 0);

/**
 * The record batches a chunk holds, as the readers' batch index items: each with its real
 * offsets (the chunk's base offset plus the records before it) and where to find it again
 * (`chunkBaseOffset`, `entryIndex`). Stubs, fences and empty chunks hold none.
 */
export function batchesOfChunk(item: ChunkItem): BatchIndexItem[] {
  if (isStub(item) || !item.batches) return [];
  const out: BatchIndexItem[] = [];
  let offset = Number(item.baseOffset);
  item.batches.forEach((entry, entryIndex) => {
    const recordCount = Number(entry.recordCount);
    out.push({
      partitionKey: item.partitionKey,
      chunkBaseOffset: Number(item.baseOffset),
      entryIndex,
      baseOffset: offset,
      lastOffset: offset + recordCount - 1,
      recordCount,
      firstTimestamp: Number(entry.firstTimestamp),
      maxTimestamp: Number(entry.maxTimestamp),
      appendedAt: Number(entry.appendedAt),
      sizeBytes: Number(entry.sizeBytes),
      ...(entry.bytes !== undefined ? { bytes: entry.bytes } : {}),
      ...(entry.segmentKey !== undefined
        ? {
            segmentKey: entry.segmentKey,
            segmentPosition: Number(entry.segmentPosition),
            segmentBatches: Number(entry.segmentBatches ?? 1),
          }
        : {}),
      ...(entry.tombstonesSeenAt !== undefined ? { tombstonesSeenAt: Number(entry.tombstonesSeenAt) } : {}),
    });
    offset += recordCount;
  });
  return out;
}
