/**
 * The append (layout v2, docs/storage.md "Append redesign"): a partition is a chain of chunk
 * items and its last chunk is the head, so a request that touches one partition is one
 * conditional write: a Put of a new sealed chunk uncontended, a join of the open head under
 * contention (chunk-append.ts). A request that spans partitions is one DynamoDB transaction of
 * the same writes, so it is atomic across partitions; under contention such a transaction would
 * name each chunk's exact count and lose nearly every round, so the request joins without naming
 * it instead (joinAcrossPartitions). A request with an Idempotency-Key (or a Kafka producer's
 * sequence) claims the key first, with one conditional Put, and then appends as any other
 * (appendExactlyOnce, exactly-once.ts).
 *
 * The topic item is deliberately in neither: every producer of a topic would then touch that
 * one item. Deleting a topic or changing its config puts a fence chunk at each partition's head
 * (fences.ts), and every write is conditioned on the config version it was planned with, so no
 * append lands in a topic after its deletion or under config older than the fence.
 */
import { type CancellationReason, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { idempotencyInProgress, throttled } from '../errors';
import { dynamo, tableName } from '../runtime/aws';
import { partitionKeyOf, type TopicMetadata } from '../topics/store';
import { appendMetrics } from './metrics';
import { cancelledByThrottling } from './throttling';
import { BoundedCache } from '../runtime/bounded-cache';
import { type Backoff, fullJitterDelay, sleep } from '../runtime/retry';
import { KeyedGroupCommit, mapWithConcurrency } from '../runtime/concurrency';
import {
  type AppendIntent,
  type ChunkView,
  chunkLimits,
  planAppend,
  planTransactionalAppend,
  sharesChunkWrite,
  successorLineage,
  type TransactionalStep,
  viewAfterJoin,
  viewAfterPut,
  viewOfItem,
} from './chunk-plan';
import {
  appendChunk,
  type ChunkAppendContext,
  type ChunkAppendOutcome,
  type ChunkBatch,
  chunkItem,
  appendDeadlineMs,
  contentionMemoryMs,
  entryValues,
  joinCondition,
  joinUpdate,
  joinWrite,
  putCondition,
  putWrite,
  readLastChunk,
  recordsIn,
  sealOpenChunk,
} from './chunk-append';
import { cachedHeadMaxAgeMs, type ChunkEntry, type ChunkItem, isStub, newWriteId, ownBatchOffset } from './chunks';
import {
  claimFor,
  claimKey,
  claimWaitMs,
  findWrites,
  releaseClaim,
  secondsUntilClaimChanges,
  settledOrPending,
  settleClaim,
  takeOverClaim,
} from './exactly-once';
import type { StoredProduce } from './idempotency';

/** Where a batch's bytes live: inline in its index item, or a byte range of a segment object. */
export type BatchLocation =
  | { kind: 'inline' }
  /** `batchesInSegment` lets the retention sweep delete the object once all its batches are gone. */
  | { kind: 'segment'; key: string; position: number; batchesInSegment: number };

export interface PreparedBatch {
  readonly partition: number;
  /** RecordBatch v2 bytes encoded with base offset 0: the base offset is not covered by the CRC, readers patch it. */
  readonly bytes: Buffer;
  readonly recordCount: number;
  readonly firstTimestamp: number;
  readonly maxTimestamp: number;
  readonly location: BatchLocation;
}

export interface IdempotencyRecord {
  readonly key: string;
  readonly requestHash: string;
  /** Epoch seconds, the TTL attribute. */
  readonly expiresAt: number;
  /**
   * The response to store, with every partition's base offset 0 (encodeStoredOffsets): the
   * offsets the append gets place it (`storedResponseAt`).
   */
  readonly template: Buffer;
}

export type AppendOutcome =
  | { readonly kind: 'appended'; readonly baseOffsets: ReadonlyMap<number, number> }
  /**
   * The topic changed since the batches were planned: plan again against a fresh read.
   * `deleted`: a partition is marked deleted (the topic was deleted, perhaps recreated, or its
   * deletion is under way); such a partition never takes an append again.
   */
  | { readonly kind: 'topic-changed'; readonly reason?: 'deleted' | 'config' }
  /** The Idempotency-Key's record holds another attempt, as the claim found it (so nobody reads it again). */
  | { readonly kind: 'duplicate'; readonly stored: StoredProduce };

/**
 * The last chunk this process saw, by partition key, for at most `cachedHeadMaxAgeMs`. In Lambda
 * an instance that keeps appending to a partition usually holds the right head, so its append is
 * a single round trip; a stale entry only costs one failed condition, which returns the true head.
 */
const knownHeads = new BoundedCache<string, ChunkView>({ maxEntries: 10_000, ttlMs: cachedHeadMaxAgeMs });
const contendedUntil = new BoundedCache<string, number>({ maxEntries: 10_000 });

export interface AppendOptions {
  /** Give up (429) after this long of lost races. */
  readonly deadlineMs?: number;
  readonly random?: () => number;
  /**
   * The process's group commit of single-partition appends: at most a few chunk writes per
   * partition at once, and the batches queued behind them go out together in the next write. For
   * a process that many producers share (the Kafka gateway), whose writers would otherwise race
   * each other for the partition's head (docs/storage.md, "Writers a shared process groups"). A
   * Lambda environment runs one request at a time and has none.
   */
  readonly groupCommit?: AppendGroupCommit;
}

/** An append waiting in a group commit: its chunk write, and when it gives up (429). */
export interface GroupedAppend extends ChunkBatch {
  /** Epoch ms. */
  readonly deadline: number;
}

export type AppendGroupCommit = KeyedGroupCommit<GroupedAppend, ChunkAppendOutcome>;

/** A group commit of at most `writesPerPartition` chunk writes per partition at once. */
export const appendGroupCommit = (writesPerPartition: number): AppendGroupCommit =>
  new KeyedGroupCommit(writesPerPartition, (group, next) => sharesChunkWrite(group, next, chunkLimits), appendGroup);

/** Full-jitter backoff between lost transaction races: spreads the losers so the next round has fewer contenders. */
export const appendConflictBackoff: Backoff = { initialRetryTimeMs: 2, maxRetryTimeMs: 100, multiplier: 2 };

export function conflictBackoffMs(attempt: number, random: () => number = Math.random): number {
  return fullJitterDelay(attempt, appendConflictBackoff, random);
}

/** A prepared batch as a chunk stores it; `writeId` names the append attempt (see ChunkEntry). */
export function chunkEntryOf(batch: PreparedBatch, appendedAt: number, writeId?: string): ChunkEntry {
  return {
    ...(writeId !== undefined ? { writeId } : {}),
    recordCount: batch.recordCount,
    sizeBytes: batch.bytes.length,
    firstTimestamp: batch.firstTimestamp,
    maxTimestamp: batch.maxTimestamp,
    appendedAt,
    ...(batch.location.kind === 'inline'
      ? { bytes: batch.bytes }
      : { segmentKey: batch.location.key, segmentPosition: batch.location.position, segmentBatches: batch.location.batchesInSegment }),
  };
}

/** The config version an append presents: the topic's, 0 for a topic never altered. */
const configVersionOf = (topic: TopicMetadata) => topic.configVersion ?? 0;

export async function appendBatches(
  topic: TopicMetadata,
  batches: readonly PreparedBatch[],
  idempotency: IdempotencyRecord | undefined,
  options: AppendOptions = {},
): Promise<AppendOutcome> {
  return idempotency ? appendExactlyOnce(topic, batches, idempotency, options) : appendAs(topic, batches, newWriteId(), options);
}

/**
 * One attempt's append, every batch's entry carrying `writeId` (a claim's, for a keyed request).
 * `views`: the heads the caller has just read, by partition (an empty partition's as undefined).
 */
function appendAs(
  topic: TopicMetadata,
  batches: readonly PreparedBatch[],
  writeId: string,
  options: AppendOptions,
  views?: RequestViews,
): Promise<AppendOutcome> {
  if (batches.length === 1) {
    const partition = batches[0]!.partition;
    return appendOne(topic, batches[0]!, options, writeId, views?.has(partition) === true && views.get(partition) === undefined);
  }
  if (batches.some((b) => isContended(partitionKeyOf(topic.topicId, b.partition)))) {
    return joinAcrossPartitions(topic, batches, writeId, options);
  }
  return appendInTransaction(topic, batches, writeId, options);
}

const isContended = (partitionKey: string) => (contendedUntil.get(partitionKey) ?? 0) > Date.now();

/** Between looks at another attempt's live claim on the key. */
const claimWaitBackoff: Backoff = { initialRetryTimeMs: 10, maxRetryTimeMs: 200, multiplier: 2 };

function chunkContext(deadlineMs: number | undefined): ChunkAppendContext {
  return {
    dynamo: dynamo(),
    table: tableName('chunks'),
    heads: knownHeads,
    contendedUntil,
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
  };
}

async function appendOne(
  topic: TopicMetadata,
  batch: PreparedBatch,
  options: AppendOptions,
  writeId: string,
  knownEmpty = false,
): Promise<AppendOutcome> {
  const partitionKey = partitionKeyOf(topic.topicId, batch.partition);
  const write: ChunkBatch = {
    entries: [chunkEntryOf(batch, Date.now(), writeId)],
    configVersion: configVersionOf(topic),
    ...(knownEmpty ? { knownEmpty } : {}),
  };
  // Time spent queued in the group commit counts against the append's deadline.
  const outcome = options.groupCommit
    ? await options.groupCommit.run(partitionKey, { ...write, deadline: Date.now() + (options.deadlineMs ?? appendDeadlineMs) })
    : await appendChunk(chunkContext(options.deadlineMs), partitionKey, write);
  if (outcome.kind === 'topic-changed') return { kind: 'topic-changed', reason: outcome.reason };
  for (let i = 0; i < outcome.collisions; i++) appendMetrics.conflict();
  appendMetrics.appended(outcome.collisions);
  return { kind: 'appended', baseOffsets: new Map([[batch.partition, outcome.baseOffset]]) };
}

/**
 * One chunk write of a group's batches, in the group's order: each batch's offsets follow the one
 * before it's. The write's requests and collisions are the first batch's to report.
 */
async function appendGroup(partitionKey: string, group: readonly GroupedAppend[]): Promise<ChunkAppendOutcome[]> {
  const deadline = Math.min(...group.map((append) => append.deadline));
  const outcome = await appendChunk(chunkContext(Math.max(1, deadline - Date.now())), partitionKey, {
    entries: group.flatMap((append) => append.entries),
    configVersion: group[0]!.configVersion,
    ...(group.every((append) => append.knownEmpty) ? { knownEmpty: true } : {}),
  });
  if (outcome.kind !== 'appended') return group.map(() => outcome);
  let baseOffset = outcome.baseOffset;
  return group.map((append, i) => {
    const own = i === 0 ? { ...outcome, baseOffset } : { ...outcome, baseOffset, requests: 0, collisions: 0, writeUnits: 0 };
    baseOffset += recordsIn(append.entries);
    return own;
  });
}

/**
 * An Idempotency-Key's append: claim the key, append as a request without one does (appendAs),
 * and answer (exactly-once.ts: the claim names where the write is, so it needs no completion).
 * Another attempt's claim on the key is settled if its write has landed; otherwise a live one is
 * waited for and an expired one taken over.
 */
async function appendExactlyOnce(
  topic: TopicMetadata,
  batches: readonly PreparedBatch[],
  idempotency: IdempotencyRecord,
  options: AppendOptions,
): Promise<AppendOutcome> {
  const writeId = newWriteId();
  // The reads the append would start with anyway, made first, so that the claim names where to
  // look for this write (a retry searches from there).
  const { deadline, keyOf, views: heads } = await startAppend(topic, batches, options);
  for (const b of batches) if (heads.get(b.partition)) knownHeads.set(keyOf(b), heads.get(b.partition)!);
  const waitUntil = Math.min(deadline, Date.now() + claimWaitMs);
  for (let round = 0; ; round++) {
    const claim = claimFor(
      idempotency,
      writeId,
      // The head this process knows is at or below wherever the batch lands: the chain only grows.
      batches.map((b) => ({ partition: b.partition, partitionKey: keyOf(b), searchFrom: knownHeads.get(keyOf(b))?.baseOffset ?? 0 })),
    );
    const held = await claimKey(claim);
    if (held !== 'claimed') {
      if (held.kind === 'done') return { kind: 'duplicate', stored: held.stored };
      if (held.kind === 'absent') continue;
      const other = held.claim;
      // Another request under the key: the caller refuses it (422) from the record.
      if (other.requestHash !== idempotency.requestHash) return { kind: 'duplicate', stored: settledOrPending(other, undefined) };
      // Its attempt stores nothing after its write: whether the write is in the chunks decides.
      const settled = await settleClaim(other, other.template ?? idempotency.template);
      if (settled) return { kind: 'duplicate', stored: settledOrPending(other, settled) };
      if (other.leaseUntil > Date.now()) {
        if (Date.now() >= waitUntil) throw idempotencyInProgress(topic.name, secondsUntilClaimChanges(other));
        await sleep(fullJitterDelay(round, claimWaitBackoff, options.random));
        continue;
      }
      if (!(await takeOverClaim(other, claim))) continue;
    }

    let outcome: AppendOutcome;
    try {
      // The heads read before the claim: an empty partition need not be read again.
      outcome = await appendAs(topic, batches, writeId, { ...options, deadlineMs: Math.max(1, deadline - Date.now()) }, heads);
    } catch (error) {
      // Every request this attempt sent has been answered, so the chunks say whether it landed.
      // If they cannot be read either, the claim stays: a retry waits out its lease and looks.
      const landed = await findWrites(claim.searches, writeId).catch(() => 'unknown' as const);
      if (landed === 'unknown') throw error;
      if (landed === undefined) {
        await releaseClaim(claim).catch(() => undefined);
        throw error;
      }
      return { kind: 'appended', baseOffsets: landed };
    }
    if (outcome.kind !== 'appended') await releaseClaim(claim);
    return outcome;
  }
}

/** A cancelled append transaction that DynamoDB throttled: another round now would be throttled too; the client retries later (429). */
function throwIfThrottled(error: TransactionCanceledException, topic: TopicMetadata): void {
  if (!cancelledByThrottling(error.CancellationReasons)) return;
  throw throttled(
    `Appending to topic '${topic.name}' is throttled (DynamoDB's throughput limits); retry after a short wait (with the same Idempotency-Key, if the request has one).`,
    { topic: topic.name },
    { cause: error },
  );
}

/**
 * What one item of a cancelled append transaction says of its partition's head: the chunk that
 * failed its condition (ALL_OLD); null if the condition failed on a stub or returned nothing (the
 * head is elsewhere: read it); undefined if this item's condition did not fail.
 */
function headInCancellation(reason: CancellationReason | undefined): ChunkView | null | undefined {
  if (reason?.Code !== 'ConditionalCheckFailed') return undefined;
  const item = reason.Item ? unmarshall(reason.Item) : undefined;
  return item && !isStub(item) ? viewOfItem(item) : null;
}

/** The writer's view of each partition's last chunk for one request, by partition. */
type RequestViews = Map<number, ChunkView | undefined>;

/** Reads the heads of `which` into `views` (strongly consistent). */
async function readHeads(views: RequestViews, which: readonly PreparedBatch[], keyOf: (b: PreparedBatch) => string): Promise<void> {
  const context = { dynamo: dynamo(), table: tableName('chunks') };
  const read = await mapWithConcurrency(which, headReadConcurrency, (b) => readLastChunk(context, keyOf(b)));
  which.forEach((b, i) => {
    views.set(b.partition, read[i]);
  });
}

/** What the paths of several writes start from: their deadline, the table, each batch's key, the topic's config version, the heads. */
async function startAppend(topic: TopicMetadata, batches: readonly PreparedBatch[], options: AppendOptions) {
  const keyOf = (batch: PreparedBatch) => partitionKeyOf(topic.topicId, batch.partition);
  return {
    deadline: Date.now() + (options.deadlineMs ?? appendDeadlineMs),
    table: tableName('chunks'),
    keyOf,
    configVersion: configVersionOf(topic),
    views: await headsOf(batches, keyOf),
  };
}

/** The head this process knows of each partition, else a read of it. */
async function headsOf(batches: readonly PreparedBatch[], keyOf: (b: PreparedBatch) => string): Promise<RequestViews> {
  const views: RequestViews = new Map();
  for (const b of batches) if (knownHeads.get(keyOf(b))) views.set(b.partition, knownHeads.get(keyOf(b)));
  await readHeads(
    views,
    batches.filter((b) => !views.has(b.partition)),
    keyOf,
  );
  return views;
}

/**
 * Seals the open chunks the plan says must be sealed first (outside their join window, or the
 * batch must be alone), so that the transaction can put after them. False if there were none.
 */
async function sealWhereNeeded(
  views: RequestViews,
  batches: readonly PreparedBatch[],
  steps: readonly { readonly kind: string; readonly baseOffset?: number }[],
  keyOf: (b: PreparedBatch) => string,
): Promise<boolean> {
  const seals = batches.filter((_, i) => steps[i]!.kind === 'seal');
  const context = { dynamo: dynamo(), table: tableName('chunks') };
  await Promise.all(
    seals.map(async (b) => {
      const sealed = await sealOpenChunk(context, keyOf(b), steps[batches.indexOf(b)]!.baseOffset!);
      if (sealed.view) views.set(b.partition, sealed.view);
      else await readHeads(views, [b], keyOf);
    }),
  );
  return seals.length > 0;
}

/**
 * A request spanning contended partitions, without an Idempotency-Key: one transaction that joins
 * each partition's open chunk (or creates it at a boundary) as the single-write path does, naming
 * no record count, so that transactions which do not overlap all commit (a transaction cannot
 * return what it wrote). The offsets are read back after the commit, where the batches carry the
 * write id. Atomic as any transaction: every partition or none.
 */
async function joinAcrossPartitions(
  topic: TopicMetadata,
  batches: readonly PreparedBatch[],
  writeId: string,
  options: AppendOptions,
): Promise<AppendOutcome> {
  const { deadline, table, keyOf, configVersion, views } = await startAppend(topic, batches, options);
  const chunkBatches = new Map(batches.map((b) => [b.partition, { entries: [chunkEntryOf(b, Date.now(), writeId)], configVersion }]));

  for (let attempt = 0; ; attempt++) {
    const now = Date.now();
    const steps = batches.map((b) => {
      const entry = chunkBatches.get(b.partition)!.entries[0]!;
      const alone = entry.segmentKey !== undefined || entry.sizeBytes > chunkLimits.openChunkMaxBytes;
      const intent: AppendIntent = {
        recordCount: b.recordCount,
        sizeBytes: b.bytes.length,
        configVersion,
        contended: true,
        ...(alone ? { alone } : {}),
      };
      return planAppend(views.get(b.partition), intent, chunkLimits, now);
    });
    const changed = steps.find((step) => step.kind === 'topic-changed');
    if (changed?.kind === 'topic-changed') {
      for (const b of batches) knownHeads.delete(keyOf(b));
      return { kind: 'topic-changed', reason: changed.reason };
    }
    if (await sealWhereNeeded(views, batches, steps, keyOf)) continue;
    const transactItems: TransactItems = batches.map((b, i) => {
      const step = steps[i]!;
      const batch = chunkBatches.get(b.partition)!;
      const view = views.get(b.partition);
      if (step.kind === 'put') {
        const { lineage: _lineage, ...put } = putWrite(keyOf(b), step, view, batch, chunkLimits, now);
        return { Put: { TableName: table, ...put, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } };
      }
      if (step.kind !== 'join') throw new Error(`unexpected append step ${step.kind}`);
      return {
        Update: {
          TableName: table,
          ...joinWrite(keyOf(b), step, view, batch, chunkLimits, now),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      };
    });
    try {
      await dynamo().send(new TransactWriteCommand({ TransactItems: transactItems }));
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      throwIfThrottled(error, topic);
      appendMetrics.conflict();
      const reasons = error.CancellationReasons ?? [];
      const reread: PreparedBatch[] = [];
      batches.forEach((b, i) => {
        const head = headInCancellation(reasons[i]);
        if (head) views.set(b.partition, head);
        else if (head === null || reasons[i]?.Code === 'TransactionConflict') reread.push(b);
      });
      if (Date.now() >= deadline) {
        throw throttled(
          `Too many concurrent appends to topic '${topic.name}': gave up after ${attempt + 1} attempts. Retry, or send fewer partitions per request.`,
          { topic: topic.name },
        );
      }
      await sleep(conflictBackoffMs(attempt, options.random));
      await readHeads(views, reread, keyOf);
      continue;
    }
    const baseOffsets = await readBackOffsets(
      batches.map((b, i) => ({
        partition: b.partition,
        partitionKey: keyOf(b),
        baseOffset: (steps[i] as { baseOffset: number }).baseOffset,
      })),
      writeId,
    );
    appendMetrics.appended(attempt);
    return { kind: 'appended', baseOffsets };
  }
}

/** Where each partition's batch carrying `writeId` landed in the chunk it was written to: one consistent BatchGetItem. */
async function readBackOffsets(
  written: readonly { partition: number; partitionKey: string; baseOffset: number }[],
  writeId: string,
): Promise<Map<number, number>> {
  const table = tableName('chunks');
  const items = new Map<string, ChunkItem>();
  let keys: Record<string, unknown>[] = written.map((w) => ({ partitionKey: w.partitionKey, baseOffset: w.baseOffset }));
  for (let round = 0; keys.length > 0; round++) {
    if (round > 0) await sleep(conflictBackoffMs(round));
    const output = await dynamo().send(new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }));
    for (const item of output.Responses?.[table] ?? []) items.set(`${item.partitionKey}|${item.baseOffset}`, item as unknown as ChunkItem);
    keys = (output.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
  }
  const baseOffsets = new Map<number, number>();
  for (const w of written) {
    const item = items.get(`${w.partitionKey}|${w.baseOffset}`);
    const offset = item ? ownBatchOffset(item, writeId) : undefined;
    // The transaction committed this batch into this chunk; entries are never moved out of it.
    if (offset === undefined) throw new Error(`append committed but its batch is not in chunk ${w.partitionKey}@${w.baseOffset}`);
    baseOffsets.set(w.partition, offset);
    // Retention may have made the chunk a stub since the commit: then the head is further on.
    if (isStub(item!)) knownHeads.delete(w.partitionKey);
    else knownHeads.set(w.partitionKey, viewOfItem(item as unknown as Record<string, unknown>));
  }
  return baseOffsets;
}

/** How many head reads a transaction's planning keeps in flight. */
const headReadConcurrency = 16;

/** A request that spans uncontended partitions: one transaction of each partition's write. */
async function appendInTransaction(
  topic: TopicMetadata,
  batches: readonly PreparedBatch[],
  writeId: string,
  options: AppendOptions,
): Promise<AppendOutcome> {
  const { deadline, table, keyOf, configVersion, views } = await startAppend(topic, batches, options);

  for (let attempt = 0; ; attempt++) {
    const now = Date.now();
    const intentOf = (b: PreparedBatch): AppendIntent => ({
      recordCount: b.recordCount,
      sizeBytes: b.bytes.length,
      configVersion,
      contended: false,
      ...(b.location.kind === 'segment' || b.bytes.length > chunkLimits.openChunkMaxBytes ? { alone: true } : {}),
    });
    const steps = batches.map((b) => planTransactionalAppend(views.get(b.partition), intentOf(b), chunkLimits, now));
    const changed = steps.find((s): s is Extract<TransactionalStep, { kind: 'topic-changed' }> => s.kind === 'topic-changed');
    if (changed) {
      for (const b of batches) knownHeads.delete(keyOf(b));
      return { kind: 'topic-changed', reason: changed.reason };
    }
    if (await sealWhereNeeded(views, batches, steps, keyOf)) continue;

    // One write id for every round: a round runs only after the one before was cancelled (the
    // SDK's own retries of a transaction are deduplicated by its ClientRequestToken).
    const entries = batches.map((b) => chunkEntryOf(b, now, writeId));
    const baseOffsets = new Map<number, number>();
    const transactItems: TransactItems = batches.map((b, i) => {
      const step = steps[i] as Exclude<TransactionalStep, { kind: 'topic-changed' | 'seal' }>;
      const view = views.get(b.partition);
      if (step.kind === 'join') {
        baseOffsets.set(b.partition, step.baseOffset + step.expectedCount);
        return {
          Update: {
            TableName: table,
            Key: { partitionKey: keyOf(b), baseOffset: step.baseOffset },
            UpdateExpression: joinUpdate,
            ConditionExpression: `${joinCondition} AND recordCount = :expected`,
            ExpressionAttributeValues: {
              ...entryValues([entries[i]!]),
              ':configVersion': configVersion,
              ':expected': step.expectedCount,
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        };
      }
      baseOffsets.set(b.partition, step.baseOffset);
      return {
        Put: {
          TableName: table,
          Item: chunkItem(keyOf(b), step.baseOffset, [entries[i]!], {
            sealed: true,
            configVersion,
            lineage: successorLineage(view),
            limits: chunkLimits,
            now,
          }),
          ConditionExpression: putCondition,
          ExpressionAttributeValues: { ':zero': 0, ':true': true, ':configVersion': configVersion },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      };
    });
    try {
      await dynamo().send(new TransactWriteCommand({ TransactItems: transactItems }));
      batches.forEach((b, i) => {
        const step = steps[i] as Exclude<TransactionalStep, { kind: 'topic-changed' | 'seal' }>;
        const written = { recordCount: b.recordCount, sizeBytes: b.bytes.length, configVersion, maxTimestamp: b.maxTimestamp };
        const view = views.get(b.partition);
        knownHeads.set(
          keyOf(b),
          step.kind === 'join' && view
            ? viewAfterJoin(view, written)
            : viewAfterPut(step.baseOffset, true, written, chunkLimits, now, successorLineage(view)),
        );
      });
      appendMetrics.appended(attempt);
      return { kind: 'appended', baseOffsets };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      throwIfThrottled(error, topic);
      const reasons = error.CancellationReasons ?? [];
      appendMetrics.conflict();
      // Contended: a transaction names each chunk's exact count, so only one of the writers wins
      // a round. Join without naming it instead (nothing of this transaction committed).
      for (const b of batches) contendedUntil.set(keyOf(b), Date.now() + contentionMemoryMs);
      // What the next path starts from, instead of reading the head again (a partition's first
      // burst would, once per writer): a failed condition returned the chunk that holds the key
      // now (a stub: the head is further on, read it). Other partitions keep what the cache had:
      // their writes were not necessarily checked, so their views are no fresher than before.
      batches.forEach((b, i) => {
        const head = headInCancellation(reasons[i]);
        if (head) knownHeads.set(keyOf(b), head);
        else if (head === null) knownHeads.delete(keyOf(b));
      });
      const rest = { ...options, deadlineMs: Math.max(1, deadline - Date.now()) };
      return joinAcrossPartitions(topic, batches, writeId, rest);
    }
  }
}

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;
