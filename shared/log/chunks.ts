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
 * | `batches`            | list of {@link ChunkEntry}s, packed as binaries (`encodeChunkEntry`), in offset order |
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
 * | `writeOffsets`       | on a stub: map of each removed batch's `writeId` to its base offset (see `stubItem`)  |
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

/**
 * A chunk entry as stored: packed into one binary (`encodeChunkEntry`), or a map of the same
 * fields, as the first layout-2 writers stored it (still read, never written).
 *
 * Packed because DynamoDB handles a list of binaries far faster than a list of maps: a contended
 * join rewrites and returns the whole chunk, and with maps of eight attributes each DynamoDB
 * Local applied 1.2-1.5x fewer joins per second (docs/storage.md, "Packed entries"). On AWS a
 * packed entry is also ~40 bytes smaller (no attribute names), which a join is billed for.
 */
export type StoredChunkEntry = Uint8Array | ChunkEntry;

/** Packed entry layout, version 1 (big-endian): */
const packedVersion = 1;
/** version u8, flags u8, recordCount u32, sizeBytes u32, firstTimestamp f64, maxTimestamp f64, appendedAt f64 */
const fixedHeaderBytes = 2 + 4 + 4 + 8 + 8 + 8;
enum PackedFlag {
  Inline = 1,
  Segment = 2,
  TombstonesSeenAt = 4,
  WriteId = 8,
}

/**
 * Packs an entry: the fixed header, then the optional fields its flags name in flag order
 * (tombstonesSeenAt f64; writeId u8 length + UTF-8; segment key u16 length + UTF-8, position f64,
 * batches u32), then the inline RecordBatch bytes to the end.
 */
export function encodeChunkEntry(entry: ChunkEntry): Uint8Array {
  const writeId = entry.writeId !== undefined ? Buffer.from(entry.writeId, 'utf8') : undefined;
  const segmentKey = entry.segmentKey !== undefined ? Buffer.from(entry.segmentKey, 'utf8') : undefined;
  if (writeId && writeId.length > 0xff) throw new RangeError('a chunk entry write id is at most 255 bytes');
  if (segmentKey && segmentKey.length > 0xffff) throw new RangeError('a segment key is at most 65,535 bytes');
  const bytes = entry.bytes;
  const length =
    fixedHeaderBytes +
    (entry.tombstonesSeenAt !== undefined ? 8 : 0) +
    (writeId ? 1 + writeId.length : 0) +
    (segmentKey ? 2 + segmentKey.length + 8 + 4 : 0) +
    (bytes?.length ?? 0);
  const out = Buffer.allocUnsafe(length);
  let flags = 0;
  if (bytes !== undefined) flags |= PackedFlag.Inline;
  if (segmentKey) flags |= PackedFlag.Segment;
  if (entry.tombstonesSeenAt !== undefined) flags |= PackedFlag.TombstonesSeenAt;
  if (writeId) flags |= PackedFlag.WriteId;
  let at = out.writeUInt8(packedVersion, 0);
  at = out.writeUInt8(flags, at);
  at = out.writeUInt32BE(entry.recordCount, at);
  at = out.writeUInt32BE(entry.sizeBytes, at);
  at = out.writeDoubleBE(entry.firstTimestamp, at);
  at = out.writeDoubleBE(entry.maxTimestamp, at);
  at = out.writeDoubleBE(entry.appendedAt, at);
  if (entry.tombstonesSeenAt !== undefined) at = out.writeDoubleBE(entry.tombstonesSeenAt, at);
  if (writeId) {
    at = out.writeUInt8(writeId.length, at);
    at += writeId.copy(out, at);
  }
  if (segmentKey) {
    at = out.writeUInt16BE(segmentKey.length, at);
    at += segmentKey.copy(out, at);
    at = out.writeDoubleBE(entry.segmentPosition ?? 0, at);
    at = out.writeUInt32BE(entry.segmentBatches ?? 1, at);
  }
  if (bytes !== undefined) out.set(bytes, at);
  return out;
}

/** An entry as stored, unpacked (inline bytes are a view of the stored binary, not a copy). */
export function decodeChunkEntry(stored: StoredChunkEntry): ChunkEntry {
  if (!(stored instanceof Uint8Array)) return stored;
  const data = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (data.length < fixedHeaderBytes || data.readUInt8(0) !== packedVersion) {
    throw new Error(
      `A chunk entry has an unknown format (version ${data.length > 0 ? data.readUInt8(0) : 'none'}): written by a newer Logway?`,
    );
  }
  const flags = data.readUInt8(1);
  let at = 2;
  const recordCount = data.readUInt32BE(at);
  const sizeBytes = data.readUInt32BE((at += 4));
  const firstTimestamp = data.readDoubleBE((at += 4));
  const maxTimestamp = data.readDoubleBE((at += 8));
  const appendedAt = data.readDoubleBE((at += 8));
  at += 8;
  let tombstonesSeenAt: number | undefined;
  if (flags & PackedFlag.TombstonesSeenAt) {
    tombstonesSeenAt = data.readDoubleBE(at);
    at += 8;
  }
  let writeId: string | undefined;
  if (flags & PackedFlag.WriteId) {
    const length = data.readUInt8(at);
    writeId = data.toString('utf8', at + 1, at + 1 + length);
    at += 1 + length;
  }
  let segment: Pick<ChunkEntry, 'segmentKey' | 'segmentPosition' | 'segmentBatches'> = {};
  if (flags & PackedFlag.Segment) {
    const length = data.readUInt16BE(at);
    const segmentKey = data.toString('utf8', at + 2, at + 2 + length);
    at += 2 + length;
    segment = { segmentKey, segmentPosition: data.readDoubleBE(at), segmentBatches: data.readUInt32BE(at + 8) };
    at += 12;
  }
  return {
    recordCount,
    sizeBytes,
    firstTimestamp,
    maxTimestamp,
    appendedAt,
    ...(flags & PackedFlag.Inline ? { bytes: data.subarray(at) } : {}),
    ...segment,
    ...(tombstonesSeenAt !== undefined ? { tombstonesSeenAt } : {}),
    ...(writeId !== undefined ? { writeId } : {}),
  };
}

/** The entries of a chunk, unpacked, in offset order (none for stubs, fences and empty chunks). */
export const entriesOfChunk = (item: Pick<ChunkItem, 'batches'>): ChunkEntry[] => (item.batches ?? []).map(decodeChunkEntry);

/** 72 random bits: unique per append attempt among a chunk's at most 128 batches, and short. */
export const newWriteId = () => randomBytes(9).toString('base64url');

/**
 * Where a writer's own earlier attempt put its batch in `item`, if it did: the batch's base
 * offset. A stub still knows (retention may remove a chunk between a write and its retry).
 */
export function ownBatchOffset(item: ChunkItem, writeId: string): number | undefined {
  // The string set answers "not here" without unpacking the entries.
  const offsets = isStub(item) ? item.writeOffsets : item.writeIds?.has(writeId) ? writeOffsetsOf(item) : undefined;
  return offsets && Object.hasOwn(offsets, writeId) ? Number(offsets[writeId]) : undefined;
}

/** Each batch's `writeId` in `item`, with the batch's base offset (what a stub of it keeps). */
export function writeOffsetsOf(item: ChunkItem): Record<string, number> {
  const offsets: Record<string, number> = {};
  let offset = Number(item.baseOffset);
  for (const entry of entriesOfChunk(item)) {
    if (entry.writeId !== undefined) offsets[entry.writeId] = offset;
    offset += Number(entry.recordCount);
  }
  return offsets;
}

/** A chunk item as DynamoDB returns it (unmarshalled by the document client). */
export interface ChunkItem {
  readonly partitionKey: string;
  readonly baseOffset: number;
  readonly recordCount?: number;
  readonly sizeBytes?: number;
  readonly batchCount?: number;
  readonly batches?: readonly StoredChunkEntry[];
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
  /** On a stub: where each batch of the removed chunk landed, by its `writeId`. */
  readonly writeOffsets?: Readonly<Record<string, number>>;
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
  entriesOfChunk(item).forEach((entry, entryIndex) => {
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
