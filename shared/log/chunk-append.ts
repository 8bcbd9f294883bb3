/**
 * Layout v2 of the log: one batch's append to one partition's chunk chain (the decisions are in
 * chunk-plan.ts; the design and its measurements in docs/storage.md, "Append redesign").
 *
 * Requests that touch several partitions or carry an idempotency record append in one
 * transaction instead (append.ts), with the same conditions.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { throttled } from '../errors';
import {
  type AppendIntent,
  type AppendStep,
  type ChunkLimits,
  type ChunkView,
  chunkLimits,
  endOf,
  isFinal,
  joinedBaseOffset,
  planAppend,
  successorLineage,
  viewAfterPut,
  viewAfterJoinOf,
  viewOfItem,
} from './chunk-plan';
import { type ChunkEntry, type ChunkItem, encodeChunkEntry, isStub, newWriteId, ownBatchOffset } from './chunks';
import { readLastChunk as readLastChunkItem } from './chunk-store';
import { throttlingError } from './throttling';

/** Where a writer keeps the last chunk it saw per partition key (a Map, or a bounded cache with an age limit). */
export interface HeadCache {
  get(partitionKey: string): ChunkView | undefined;
  set(partitionKey: string, view: ChunkView): unknown;
  delete(partitionKey: string): unknown;
}

export interface ChunkAppendContext {
  readonly dynamo: DynamoDBDocumentClient;
  readonly table: string;
  /**
   * Last chunk seen per partition key (a stale entry costs one failed condition, never a wrong
   * offset, as long as it is younger than the stubs retention leaves: see `cachedHeadMaxAgeMs`).
   */
  readonly heads: HeadCache;
  /**
   * Until when (epoch ms) each partition counts as contended: a writer that collided keeps putting
   * open chunks for a while, so that writers following it join instead of racing for keys.
   */
  readonly contendedUntil?: { get(partitionKey: string): number | undefined; set(partitionKey: string, until: number): unknown };
  readonly limits?: ChunkLimits;
  readonly now?: () => number;
  /** Give up (429) after this long of lost rounds. @default 10 s */
  readonly deadlineMs?: number;
  /** Called with each step and its result (the bench counts them). */
  readonly trace?: (step: string, result: string) => void;
}

export interface ChunkBatch {
  /**
   * The batches, in the order their offsets run: one write adds them all, one after another (a
   * process that many producers share sends the batches queued behind a write together in the
   * next one: `AppendOptions.groupCommit`). A segment batch is always written alone.
   */
  readonly entries: readonly ChunkEntry[];
  /** The topic config version the batch was planned with. */
  readonly configVersion: number;
  /**
   * The caller has just read the partition and found no chunk (which `heads` cannot hold): when
   * `heads` has no view either, the append starts from an empty partition instead of reading it
   * again.
   */
  readonly knownEmpty?: boolean;
}

/**
 * The attributes a write's batches add to a chunk: the entries (packed), their max timestamps for
 * the chunk's running maximum, their write ids, and the counters' increments. `joinOrCreateUpdate`
 * appends the entries as `:batch` (a list), `joinUpdateFor` sets them as `:entry`, `:entry1`, ...
 * `:writeId` is the first entry's: the entries land together or not at all, so it alone tells
 * whether the write is in the chunk already.
 */
export const entryValues = (entries: readonly ChunkEntry[], create = false) => ({
  ...(create
    ? { ':batch': entries.map(encodeChunkEntry) }
    : Object.fromEntries(entries.map((e, i) => [entryName(i), encodeChunkEntry(e)]))),
  ':ts': new Set(entries.map((e) => e.maxTimestamp)),
  ':writeIds': new Set(entries.map((e) => e.writeId ?? '')),
  ':writeId': entries[0]!.writeId ?? '',
  ':count': recordsIn(entries),
  ':size': bytesIn(entries),
  ':entryCount': entries.length,
});

export const recordsIn = (entries: readonly ChunkEntry[]) => entries.reduce((sum, e) => sum + e.recordCount, 0);
const bytesIn = (entries: readonly ChunkEntry[]) => entries.reduce((sum, e) => sum + e.sizeBytes, 0);

const entryName = (index: number) => (index === 0 ? ':entry' : `:entry${index}`);

export type ChunkAppendOutcome =
  | {
      readonly kind: 'appended';
      readonly baseOffset: number;
      /** DynamoDB requests made (reads and writes). */
      readonly requests: number;
      /** Write requests that failed their condition. */
      readonly collisions: number;
      /** Write units DynamoDB reported for the writes that succeeded. */
      readonly writeUnits: number;
    }
  | { readonly kind: 'topic-changed'; readonly reason: 'deleted' | 'config' };

/** How long one produce may spend on lost races and re-plans before answering 429 (every append path's default). */
export const appendDeadlineMs = 10_000;
/** How long a collision makes this writer treat the partition as contended (append.ts's paths too). */
export const contentionMemoryMs = 1000;

/** Appends one batch to a partition's chunk chain. */
export async function appendChunk(context: ChunkAppendContext, partitionKey: string, batch: ChunkBatch): Promise<ChunkAppendOutcome> {
  const limits = context.limits ?? chunkLimits;
  const now = context.now ?? Date.now;
  let view = context.heads.get(partitionKey);
  let requests = 0;
  let collisions = 0;
  let writeUnits = 0;
  let contended = (context.contendedUntil?.get(partitionKey) ?? 0) > now();
  let lostInARow = 0;
  const deadline = now() + (context.deadlineMs ?? appendDeadlineMs);
  const entries = batch.entries.map((e) => (e.writeId ? e : { ...e, writeId: newWriteId() }));
  // The orphan sweep finds a segment object's chunk by the chunk's one segment (`bySegment`).
  if (entries.length === 0 || (entries.length > 1 && entries.some((e) => e.segmentKey !== undefined)))
    throw new Error('a chunk write holds one segment batch alone, or one or more inline batches');
  batch = { ...batch, entries };
  const recordCount = recordsIn(entries);
  const sizeBytes = bytesIn(entries);
  // A batch in S3, or a write as large as a chunk, gets a sealed chunk of its own: a join adds at
  // most a chunk's cap to an open chunk, so no chunk item nears DynamoDB's 400 KB.
  const alone = entries[0]!.segmentKey !== undefined || sizeBytes > limits.openChunkMaxBytes;
  const intent = (): AppendIntent => ({
    recordCount,
    sizeBytes,
    configVersion: batch.configVersion,
    contended,
    ...(alone ? { alone } : {}),
  });

  if (!view && !batch.knownEmpty) {
    requests++;
    view = await readLastChunk(context, partitionKey);
  }
  for (;;) {
    if (now() > deadline) {
      throw throttled(
        `Too many concurrent appends to partition ${partitionKey}: gave up after ${requests} requests. Retry, or batch more records per request.`,
        { partitionKey },
      );
    }
    const step = planAppend(view, intent(), limits, now());
    if (step.kind === 'topic-changed') {
      context.heads.delete(partitionKey);
      return step;
    }
    requests++;
    const result = await runStep(context, partitionKey, step, view, batch, limits, now());
    context.trace?.(describeStep(step), `${result.kind}${result.view ? (isFinal(result.view) ? ':final' : ':open') : ':none'}`);
    writeUnits += result.writeUnits;
    if (result.kind === 'done') {
      // Joining, or putting an open chunk, is itself evidence of contention: keep the memory alive
      // while the partition stays hot, or this writer would start putting sealed chunks that
      // every other writer then has to walk past.
      if (step.kind === 'join' || (step.kind === 'put' && !step.sealed))
        context.contendedUntil?.set(partitionKey, now() + contentionMemoryMs);
      if (result.view) context.heads.set(partitionKey, result.view);
      else context.heads.delete(partitionKey);
      return { kind: 'appended', baseOffset: result.baseOffset, requests, collisions, writeUnits };
    }
    if (result.kind === 'lost') {
      collisions++;
      lostInARow++;
      contended = true;
      context.contendedUntil?.set(partitionKey, now() + contentionMemoryMs);
    } else {
      lostInARow = 0;
    }
    if (lostInARow >= 2 && result.view && isFinal(result.view)) {
      // Walking the chain one chunk per round trip: the head is further on, read it.
      requests++;
      lostInARow = 0;
      view = await readLastChunk(context, partitionKey);
    } else if (result.view) {
      view = result.view;
    } else {
      // The item the writer aimed at is gone (retention took it, or it never existed): read the head.
      requests++;
      view = await readLastChunk(context, partitionKey);
    }
  }
}

const describeStep = (step: Exclude<AppendStep, { kind: 'topic-changed' }>) =>
  step.kind === 'put' ? `put-${step.sealed ? 'sealed' : 'open'}` : step.kind === 'join' && step.create ? 'join-next' : step.kind;

type StepResult =
  /** `view`: the chunk after the write, unless it is a stub already (the head is further on). */
  | { kind: 'done'; baseOffset: number; view?: ChunkView; writeUnits: number }
  /** Another writer got there first; `view` is the chunk that was found. */
  | { kind: 'lost'; view?: ChunkView; writeUnits: number }
  /** The step changed the chunk's state (a seal) without appending. */
  | { kind: 'moved'; view?: ChunkView; writeUnits: number };

async function runStep(
  context: ChunkAppendContext,
  partitionKey: string,
  step: Exclude<AppendStep, { kind: 'topic-changed' }>,
  /** The writer's view of the last chunk: the predecessor of a put (or the fence it replaces). */
  view: ChunkView | undefined,
  batch: ChunkBatch,
  limits: ChunkLimits,
  now: number,
): Promise<StepResult> {
  const { entries } = batch;
  const first = entries[0]!;
  try {
    if (step.kind === 'put') {
      const { lineage, ...put } = putWrite(partitionKey, step, view, batch, limits, now);
      const output = await context.dynamo.send(
        new PutCommand({
          TableName: context.table,
          ...put,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      const written = {
        recordCount: recordsIn(entries),
        sizeBytes: bytesIn(entries),
        batchCount: entries.length,
        configVersion: batch.configVersion,
        maxTimestamp: Math.max(...entries.map((e) => e.maxTimestamp)),
      };
      return {
        kind: 'done',
        baseOffset: step.baseOffset,
        view: viewAfterPut(step.baseOffset, step.sealed, written, limits, now, lineage),
        writeUnits: output.ConsumedCapacity?.CapacityUnits ?? 0,
      };
    }
    if (step.kind === 'join') {
      // Joining the chunk the writer has seen, it asks back only what the join changed: the whole
      // chunk (up to its cap) would cross the wire and be encoded and decoded on every join. A
      // join that may create the chunk has nothing to build on, and gets the new (small) item.
      const known = !step.create && view?.baseOffset === step.baseOffset ? view : undefined;
      const output = await context.dynamo.send(
        new UpdateCommand({
          TableName: context.table,
          ...joinWrite(partitionKey, step, view, batch, limits, now),
          ReturnValues: known ? 'UPDATED_NEW' : 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      const joined = known ? viewAfterJoinOf(known, output.Attributes!) : viewOfItem(output.Attributes!);
      return {
        kind: 'done',
        baseOffset: joinedBaseOffset(joined.baseOffset, joined.recordCount, recordsIn(entries)),
        view: joined,
        writeUnits: output.ConsumedCapacity?.CapacityUnits ?? 0,
      };
    }
    const sealed = await sealOpenChunk(context, partitionKey, step.baseOffset);
    return { kind: 'moved', ...(sealed.view ? { view: sealed.view } : {}), writeUnits: sealed.writeUnits };
  } catch (error) {
    const throttling = throttlingError(error);
    if (throttling) throw throttling;
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    // A failed condition is billed as a write of the item's size; DynamoDB does not report it here.
    // A stub (a chunk retention removed) says nothing about the head: the writer reads it.
    const item = error.Item ? unmarshall(error.Item) : undefined;
    const found = item && !isStub(item) ? viewOfItem(item) : undefined;
    // The key is taken by this writer's own earlier attempt (the SDK retried a write that had
    // committed): that attempt is the append, though retention may have made its chunk a stub since.
    const own = item && first.writeId !== undefined && step.kind !== 'seal' ? ownBatchOffset(item as ChunkItem, first.writeId) : undefined;
    if (own !== undefined) return { kind: 'done', baseOffset: own, ...(found ? { view: found } : {}), writeUnits: 0 };
    return { kind: step.kind === 'seal' ? 'moved' : 'lost', ...(found ? { view: found } : {}), writeUnits: 0 };
  }
}

/** The conditional Put of a new chunk holding the batch (a put step), and the lineage it inherits. */
export function putWrite(
  partitionKey: string,
  step: Extract<AppendStep, { kind: 'put' }>,
  view: ChunkView | undefined,
  batch: ChunkBatch,
  limits: ChunkLimits,
  now: number,
) {
  const lineage = successorLineage(view && (view.baseOffset === step.baseOffset || endOf(view) === step.baseOffset) ? view : undefined);
  return {
    lineage,
    Item: chunkItem(partitionKey, step.baseOffset, batch.entries, {
      sealed: step.sealed,
      configVersion: batch.configVersion,
      lineage,
      limits,
      now,
    }),
    ConditionExpression: putCondition,
    ExpressionAttributeValues: { ':zero': 0, ':true': true, ':configVersion': batch.configVersion },
  };
}

/** The conditional UpdateItem of a join step: the batch joins the open chunk (or creates it, at a boundary). */
export function joinWrite(
  partitionKey: string,
  step: Extract<AppendStep, { kind: 'join' }>,
  view: ChunkView | undefined,
  batch: ChunkBatch,
  limits: ChunkLimits,
  now: number,
) {
  return {
    Key: { partitionKey, baseOffset: step.baseOffset },
    // Only a join at the end of a final chunk may create the chunk: that key is a boundary.
    // A join of an existing chunk keeps the shorter expression (DynamoDB Local's time per
    // update grows with it, and one partition's joins queue behind each other).
    UpdateExpression: step.create ? joinOrCreateUpdate : joinUpdateFor(batch.entries.length),
    ConditionExpression: step.create ? `attribute_not_exists(baseOffset) OR (${joinCondition})` : joinCondition,
    ExpressionAttributeValues: {
      ...entryValues(batch.entries, step.create),
      ':configVersion': batch.configVersion,
      ...(step.create
        ? {
            ':zero': 0,
            ':empty': [],
            ':now': now,
            ':capBytes': limits.openChunkMaxBytes,
            ':capBatches': limits.openChunkMaxBatches,
            // What the chunk inherits: the writer's view is the final chunk before it.
            ...lineageValues(successorLineage(view && endOf(view) === step.baseOffset ? view : undefined)),
          }
        : {}),
    },
  };
}

/**
 * Seals the open chunk at `baseOffset` (it outlived its join window, or a fence or a transaction
 * needs it final). Returns the chunk as it is now, sealed by this writer or not; no view if the
 * key holds no chunk (a stub, or nothing).
 */
export async function sealOpenChunk(
  context: Pick<ChunkAppendContext, 'dynamo' | 'table'>,
  partitionKey: string,
  baseOffset: number,
): Promise<{ view?: ChunkView; writeUnits: number }> {
  try {
    const output = await context.dynamo.send(
      new UpdateCommand({
        TableName: context.table,
        Key: { partitionKey, baseOffset },
        UpdateExpression: 'SET sealed = :true',
        ConditionExpression: 'attribute_exists(baseOffset) AND attribute_not_exists(sealed) AND attribute_not_exists(stub)',
        ExpressionAttributeValues: { ':true': true },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return { view: viewOfItem(output.Attributes!), writeUnits: output.ConsumedCapacity?.CapacityUnits ?? 0 };
  } catch (error) {
    const throttling = throttlingError(error);
    if (throttling) throw throttling;
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const item = error.Item ? unmarshall(error.Item) : undefined;
    return { ...(item && !isStub(item) ? { view: viewOfItem(item) } : {}), writeUnits: 0 };
  }
}

/**
 * A put takes a new key, or replaces a fence (sealed, zero records, not a deletion) whose config
 * version this writer's config satisfies. A stub has no record count, so it is never replaced.
 */
export const putCondition =
  'attribute_not_exists(baseOffset) OR (recordCount = :zero AND sealed = :true AND attribute_not_exists(deletedAt) AND configVersion <= :configVersion)';

/**
 * An index past the end of any chunk's `batches`: a SET of a list element that does not exist
 * appends it at the end of the list (docs/storage.md, "A join returns only what it changed"), so
 * the update names the new entry alone, and its UPDATED_NEW values are the counters and the entry,
 * not the whole chunk. `joinCondition` keeps the list shorter than this.
 */
export const appendIndex = 1_000_000;

/**
 * The join of `entryCount` entries: each set past the end, at consecutive indexes, which DynamoDB
 * appends in index order ("If you add multiple elements in a single SET operation, the elements
 * are sorted in order by element number", the update expressions page cited above).
 */
export const joinUpdateFor = (entryCount: number) =>
  `SET ${Array.from({ length: entryCount }, (_, i) => `batches[${appendIndex + i}] = ${entryName(i)}`).join(', ')}, recordCount = recordCount + :count, sizeBytes = sizeBytes + :size, batchCount = batchCount + :entryCount ADD maxTimestamps :ts, writeIds :writeIds`;

/** The join of one entry. */
export const joinUpdate = joinUpdateFor(1);

/**
 * A join that creates the chunk (open, with this batch) when the key is free: the writers that
 * reach a boundary together land one after another, as joins of one chunk do.
 */
export const joinOrCreateUpdate =
  [
    'SET batches = list_append(if_not_exists(batches, :empty), :batch)',
    'recordCount = if_not_exists(recordCount, :zero) + :count',
    'sizeBytes = if_not_exists(sizeBytes, :zero) + :size',
    'batchCount = if_not_exists(batchCount, :zero) + :entryCount',
    'createdAt = if_not_exists(createdAt, :now)',
    'configVersion = if_not_exists(configVersion, :configVersion)',
    'capBytes = if_not_exists(capBytes, :capBytes)',
    'capBatches = if_not_exists(capBatches, :capBatches)',
    'maxTimestampBefore = if_not_exists(maxTimestampBefore, :maxTimestampBefore)',
    'bytesBefore = if_not_exists(bytesBefore, :bytesBefore)',
  ].join(', ') + ' ADD maxTimestamps :ts, writeIds :writeIds';

const lineageValues = (lineage: { maxTimestampBefore: number; bytesBefore: number }) => ({
  ':maxTimestampBefore': lineage.maxTimestampBefore,
  ':bytesBefore': lineage.bytesBefore,
});

/** Open by the limits the chunk carries, so that all writers agree when it is full. */
export const joinCondition =
  'attribute_exists(baseOffset) AND attribute_not_exists(sealed) AND attribute_not_exists(deletedAt) AND attribute_not_exists(stub) AND configVersion <= :configVersion AND sizeBytes <= capBytes AND batchCount < capBatches AND NOT contains(writeIds, :writeId)';

/** A new chunk item holding `entries` (none: an empty open chunk or a fence). */
export function chunkItem(
  partitionKey: string,
  baseOffset: number,
  entries: readonly ChunkEntry[],
  options: {
    readonly sealed: boolean;
    readonly configVersion: number;
    readonly lineage: { readonly maxTimestampBefore: number; readonly bytesBefore: number };
    readonly limits: ChunkLimits;
    readonly now: number;
    readonly deletedAt?: number;
  },
): Record<string, unknown> {
  const segment = entries.length === 1 ? entries[0]!.segmentKey : undefined;
  return {
    partitionKey,
    baseOffset,
    recordCount: recordsIn(entries),
    sizeBytes: bytesIn(entries),
    batchCount: entries.length,
    batches: entries.map(encodeChunkEntry),
    createdAt: options.now,
    configVersion: options.configVersion,
    maxTimestampBefore: options.lineage.maxTimestampBefore,
    bytesBefore: options.lineage.bytesBefore,
    ...(entries.length > 0 ? { maxTimestamps: new Set(entries.map((e) => e.maxTimestamp)) } : {}),
    ...(entries.some((e) => e.writeId !== undefined) ? { writeIds: new Set(entries.flatMap((e) => (e.writeId ? [e.writeId] : []))) } : {}),
    ...(segment !== undefined ? { segmentKey: segment, segmentPosition: entries[0]!.segmentPosition } : {}),
    ...(options.sealed ? { sealed: true } : { capBytes: options.limits.openChunkMaxBytes, capBatches: options.limits.openChunkMaxBatches }),
    ...(options.deletedAt !== undefined ? { deletedAt: options.deletedAt } : {}),
  };
}

/** The last chunk of a partition as a writer's view (strongly consistent), or undefined for a partition never appended to. */
export async function readLastChunk(
  context: Pick<ChunkAppendContext, 'dynamo' | 'table'>,
  partitionKey: string,
): Promise<ChunkView | undefined> {
  const item = await readLastChunkItem(partitionKey, context);
  return item ? viewOfItem(item as unknown as Record<string, unknown>) : undefined;
}
