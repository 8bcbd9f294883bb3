/**
 * Layout v2 of the log (docs/storage.md, "Append redesign"): the pure decisions of an append.
 *
 * A partition is a chain of chunk items keyed by their base offset. The last chunk is the head:
 * its base offset plus its record count is the high watermark, so an append writes no other
 * item. A chunk is final (its record count will never change) when it was sealed, or when it
 * is full by the limits written into it (`capBytes`, `capBatches`: the chunk carries them, so
 * writers of different versions agree on when it is full). A non-final chunk is open: appends
 * may join it. Only the last chunk can be open, because a chunk is put only at the end of a
 * final one.
 *
 * - Uncontended, an append is one conditional Put of a new sealed chunk at the high watermark. A
 *   writer whose view is stale collides with the chunk that holds that key (the key is taken
 *   exactly when the offsets it would reuse are taken) and learns that chunk from the failure.
 * - A writer that collided (someone else appends to the partition now) puts an open chunk, or
 *   joins the open head with a conditional UpdateItem. Joins never conflict with each other:
 *   DynamoDB applies them one after another, so under contention nearly every attempt succeeds
 *   and waiting is first come first served, not a lottery of retries.
 * - A contended writer whose view is a final chunk joins the chunk at its end, creating it open if
 *   it is not there yet (an UpdateItem creates a missing item), so writers that arrive together at
 *   a boundary all land there one after another; a boundary costs each writer in flight one
 *   failed join (the one that told it the chunk was full).
 *
 * This module holds only decisions; chunk-append.ts does the I/O.
 */
import { maxOfTimestamps } from './chunks';

/** What a writer knows of the last chunk of a partition. */
export interface ChunkView {
  readonly baseOffset: number;
  readonly recordCount: number;
  readonly sizeBytes: number;
  readonly batchCount: number;
  /** Sealed explicitly (at birth, or because it stayed open past the join window). */
  readonly sealed: boolean;
  /** The fill limits of an open chunk, as written into it. */
  readonly capBytes: number;
  readonly capBatches: number;
  /** Epoch ms the chunk was put. An open chunk older than the join window is sealed, not joined. */
  readonly createdAt: number;
  /** The config version in force when the chunk was written (a fence carries the new version). */
  readonly configVersion: number;
  /** A zero-record fence of a deleted topic: no append may follow it. */
  readonly deleted: boolean;
  /** Running maximum record timestamp of the chunks before this one (-1: none). */
  readonly maxTimestampBefore: number;
  /** Largest record timestamp in this chunk (-1: none). */
  readonly maxTimestamp: number;
  /** Stored bytes of the chunks before this one. */
  readonly bytesBefore: number;
}

export interface ChunkLimits {
  /** Bytes after which an open chunk takes no more joins (a join is billed for the whole chunk). */
  readonly openChunkMaxBytes: number;
  /** Batches after which an open chunk takes no more joins. */
  readonly openChunkMaxBatches: number;
  /** An open chunk is joined only this long after it was put; later it is sealed and a new one put. */
  readonly joinWindowMs: number;
}

export const chunkLimits: ChunkLimits = { openChunkMaxBytes: 32 * 1024, openChunkMaxBatches: 128, joinWindowMs: 1000 };

export interface AppendIntent {
  readonly recordCount: number;
  readonly sizeBytes: number;
  /** The config version the batch was planned with. */
  readonly configVersion: number;
  /** This writer has collided with another writer on this partition lately. */
  readonly contended: boolean;
  /** The batch lives in a segment object: such a batch gets a sealed chunk of its own, never joins. */
  readonly alone?: boolean;
}

export type AppendStep =
  /** Put a new chunk at `baseOffset`, sealed unless the partition is contended. */
  | { readonly kind: 'put'; readonly baseOffset: number; readonly sealed: boolean }
  /**
   * Join the open chunk at `baseOffset`. `create`: the chunk before it is final, so this key is
   * where the next chunk goes: the join creates it (open) if no writer has yet, so that writers
   * arriving together at a boundary all land, one after another, instead of racing for the key.
   */
  | { readonly kind: 'join'; readonly baseOffset: number; readonly create?: boolean }
  /** Seal the open chunk at `baseOffset` (it outlived its join window), then plan again. */
  | { readonly kind: 'seal'; readonly baseOffset: number }
  /** The topic changed under the writer: re-read it and plan again. */
  | { readonly kind: 'topic-changed'; readonly reason: 'deleted' | 'config' };

export const endOf = (chunk: ChunkView) => chunk.baseOffset + chunk.recordCount;

/** A fence: a zero-record sealed chunk that a config change or a deletion puts at the head. */
export const isFence = (chunk: ChunkView) => chunk.sealed && chunk.recordCount === 0;

/** Whether the chunk's record count can no longer change. */
export const isFinal = (chunk: ChunkView) => chunk.sealed || chunk.sizeBytes > chunk.capBytes || chunk.batchCount >= chunk.capBatches;

/** Whether `intent` may join the open chunk `chunk` now. */
export function fitsOpenChunk(chunk: ChunkView, intent: AppendIntent, limits: ChunkLimits, now: number): boolean {
  return !isFinal(chunk) && !intent.alone && now - chunk.createdAt <= limits.joinWindowMs;
}

/**
 * The next step of an append given the writer's view of the last chunk (undefined: the
 * partition has no chunk, the log starts at `logStartOffset`).
 */
export function planAppend(
  view: ChunkView | undefined,
  intent: AppendIntent,
  limits: ChunkLimits,
  now: number,
  logStartOffset = 0,
): AppendStep {
  const sealedPut = !intent.contended || intent.alone === true;
  if (!view)
    return sealedPut
      ? { kind: 'put', baseOffset: logStartOffset, sealed: true }
      : { kind: 'join', baseOffset: logStartOffset, create: true };
  if (view.deleted) return { kind: 'topic-changed', reason: 'deleted' };
  if (view.configVersion > intent.configVersion) return { kind: 'topic-changed', reason: 'config' };
  // A fence is replaced by the next chunk at its own key.
  if (isFence(view)) return { kind: 'put', baseOffset: view.baseOffset, sealed: sealedPut };
  if (isFinal(view)) {
    const end = endOf(view);
    return sealedPut ? { kind: 'put', baseOffset: end, sealed: true } : { kind: 'join', baseOffset: end, create: true };
  }
  if (fitsOpenChunk(view, intent, limits, now)) return { kind: 'join', baseOffset: view.baseOffset };
  return { kind: 'seal', baseOffset: view.baseOffset };
}

/** What a chunk put after `predecessor` (the final chunk before it, or a fence it replaces) inherits from it. */
export interface ChunkLineage {
  readonly maxTimestampBefore: number;
  readonly bytesBefore: number;
}

export function successorLineage(predecessor: ChunkView | undefined): ChunkLineage {
  if (!predecessor) return { maxTimestampBefore: -1, bytesBefore: 0 };
  return {
    maxTimestampBefore: Math.max(predecessor.maxTimestampBefore, predecessor.maxTimestamp),
    bytesBefore: predecessor.bytesBefore + predecessor.sizeBytes,
  };
}

/** What decides whether writes may share one chunk write: their batches and the config they were planned with. */
export interface ChunkWriteShape {
  readonly entries: readonly { readonly sizeBytes: number; readonly segmentKey?: string }[];
  readonly configVersion: number;
}

/**
 * Whether `next` may go out in one chunk write with `group` (a process's group commit: the
 * writes queued behind one in flight go out together in the next). They must be planned under
 * one config version (the write is conditioned on one), inline (a segment batch's chunk holds it
 * alone, for the orphan sweep's index), and fit a chunk's cap together, so that the write is a
 * join or a put like any other and no chunk item nears DynamoDB's 400 KB.
 */
export function sharesChunkWrite(group: readonly ChunkWriteShape[], next: ChunkWriteShape, limits: ChunkLimits): boolean {
  const entries = [...group, next].flatMap((write) => write.entries);
  return (
    group.every((write) => write.configVersion === next.configVersion) &&
    entries.every((entry) => entry.segmentKey === undefined) &&
    entries.length <= limits.openChunkMaxBatches &&
    entries.reduce((sum, entry) => sum + entry.sizeBytes, 0) <= limits.openChunkMaxBytes
  );
}

/** The view after this writer's own successful put at `baseOffset`. */
export function viewAfterPut(
  baseOffset: number,
  sealed: boolean,
  intent: Pick<AppendIntent, 'recordCount' | 'sizeBytes' | 'configVersion'> & {
    readonly maxTimestamp?: number;
    readonly contended?: boolean;
    /** Batches the put wrote. @default 1 */
    readonly batchCount?: number;
  },
  limits: ChunkLimits,
  now: number,
  lineage: ChunkLineage = successorLineage(undefined),
): ChunkView {
  return {
    ...lineage,
    maxTimestamp: intent.maxTimestamp ?? -1,
    baseOffset,
    recordCount: intent.recordCount,
    sizeBytes: intent.sizeBytes,
    batchCount: intent.batchCount ?? 1,
    sealed,
    capBytes: limits.openChunkMaxBytes,
    capBatches: limits.openChunkMaxBatches,
    createdAt: now,
    configVersion: intent.configVersion,
    deleted: false,
  };
}

/** A chunk item as DynamoDB returns it (unmarshalled), read as a view. */
export function viewOfItem(item: Record<string, unknown>): ChunkView {
  return {
    baseOffset: Number(item.baseOffset),
    recordCount: Number(item.recordCount ?? 0),
    sizeBytes: Number(item.sizeBytes ?? 0),
    batchCount: Number(item.batchCount ?? 0),
    sealed: item.sealed === true,
    capBytes: Number(item.capBytes ?? 0),
    capBatches: Number(item.capBatches ?? 0),
    createdAt: Number(item.createdAt ?? 0),
    configVersion: Number(item.configVersion ?? 0),
    deleted: item.deletedAt !== undefined,
    maxTimestampBefore: Number(item.maxTimestampBefore ?? -1),
    maxTimestamp: maxOfTimestamps(item.maxTimestamps as Iterable<number> | undefined),
    bytesBefore: Number(item.bytesBefore ?? 0),
  };
}

/**
 * The view after a join of `view`'s chunk, from the join's UPDATED_NEW values: the counters and
 * timestamps it changed. The rest of a chunk never changes while it is open, and the join's
 * condition held it open and at a config this writer satisfies.
 */
export function viewAfterJoinOf(view: ChunkView, updated: Record<string, unknown>): ChunkView {
  return {
    ...view,
    recordCount: Number(updated.recordCount),
    sizeBytes: Number(updated.sizeBytes),
    batchCount: Number(updated.batchCount),
    sealed: false,
    maxTimestamp: maxOfTimestamps(updated.maxTimestamps as Iterable<number> | undefined),
  };
}

/**
 * The first offset of this writer's batch after a join that left the chunk with `countAfter`
 * records: joins apply one at a time, so the batch is the chunk's last `recordCount` records.
 */
export const joinedBaseOffset = (chunkBaseOffset: number, countAfter: number, recordCount: number) =>
  chunkBaseOffset + countAfter - recordCount;

/** A step of an append inside a transaction (several partitions, or an idempotency record). */
export type TransactionalStep =
  /** Put a new sealed chunk at `baseOffset`. */
  | { readonly kind: 'put'; readonly baseOffset: number }
  /**
   * Join the open chunk at `baseOffset` while it holds exactly `expectedCount` records: a
   * transaction returns no attributes, so the writer pins the count it read to know its offsets.
   */
  | { readonly kind: 'join'; readonly baseOffset: number; readonly expectedCount: number }
  /** Seal the open chunk at `baseOffset` first (outside the transaction), then plan again. */
  | { readonly kind: 'seal'; readonly baseOffset: number }
  | { readonly kind: 'topic-changed'; readonly reason: 'deleted' | 'config' };

/** The step of one partition's batch in an append transaction. */
export function planTransactionalAppend(
  view: ChunkView | undefined,
  intent: AppendIntent,
  limits: ChunkLimits,
  now: number,
  logStartOffset = 0,
): TransactionalStep {
  if (!view) return { kind: 'put', baseOffset: logStartOffset };
  if (view.deleted) return { kind: 'topic-changed', reason: 'deleted' };
  if (view.configVersion > intent.configVersion) return { kind: 'topic-changed', reason: 'config' };
  if (isFence(view)) return { kind: 'put', baseOffset: view.baseOffset };
  if (isFinal(view)) return { kind: 'put', baseOffset: endOf(view) };
  if (fitsOpenChunk(view, intent, limits, now)) return { kind: 'join', baseOffset: view.baseOffset, expectedCount: view.recordCount };
  return { kind: 'seal', baseOffset: view.baseOffset };
}

/** The view after this writer's own join of `view` with a batch (offsets pinned: nobody joined between). */
export function viewAfterJoin(
  view: ChunkView,
  intent: Pick<AppendIntent, 'recordCount' | 'sizeBytes'> & { readonly maxTimestamp: number },
): ChunkView {
  return {
    ...view,
    recordCount: view.recordCount + intent.recordCount,
    sizeBytes: view.sizeBytes + intent.sizeBytes,
    batchCount: view.batchCount + 1,
    maxTimestamp: Math.max(view.maxTimestamp, intent.maxTimestamp),
  };
}
