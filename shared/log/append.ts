/**
 * The append (layout v2, docs/storage.md "Append redesign"): a partition is a chain of chunk
 * items and its last chunk is the head, so a request that touches one partition and carries no
 * idempotency record is one conditional write: a Put of a new sealed chunk uncontended, a join of
 * the open head under contention (chunk-append.ts). A request that spans partitions, or records
 * an Idempotency-Key's response (or a Kafka producer's sequence), is one DynamoDB transaction of
 * the same writes plus that record, so it is atomic across partitions and exactly once.
 *
 * The topic item is deliberately in neither: every producer of a topic would then touch that
 * one item. Deleting a topic or changing its config puts a fence chunk at each partition's head
 * (fences.ts), and every write is conditioned on the config version it was planned with, so no
 * append lands in a topic after its deletion or under config older than the fence.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { idempotencyInProgress, throttled } from '../errors';
import { dynamo, tableName } from '../runtime/aws';
import { partitionKeyOf, type TopicMetadata } from '../topics/store';
import { appendMetrics } from './metrics';
import { cancelledByThrottling } from './throttling';
import { BoundedCache } from '../runtime/bounded-cache';
import { type Backoff, fullJitterDelay, sleep } from '../runtime/retry';
import { mapWithConcurrency } from '../runtime/concurrency';
import {
  type AppendIntent,
  type ChunkView,
  chunkLimits,
  planTransactionalAppend,
  successorLineage,
  type TransactionalStep,
  viewAfterJoin,
  viewAfterPut,
  viewOfItem,
} from './chunk-plan';
import {
  appendChunk,
  type ChunkAppendContext,
  chunkItem,
  entryValues,
  joinCondition,
  joinUpdate,
  putCondition,
  readLastChunk,
  sealOpenChunk,
} from './chunk-append';
import { cachedHeadMaxAgeMs, type ChunkEntry, isStub, newWriteId } from './chunks';
import { type Claim, claimKey, claimLeaseMs, completeClaim, findWrite, releaseClaim, takeOverClaim } from './exactly-once';

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
  /** The response to store, computed from the offsets this attempt would get. */
  readonly response: (baseOffsets: ReadonlyMap<number, number>) => Buffer;
}

export type AppendOutcome =
  | { readonly kind: 'appended'; readonly baseOffsets: ReadonlyMap<number, number> }
  /**
   * The topic changed since the batches were planned: plan again against a fresh read.
   * `deleted`: a partition is marked deleted (the topic was deleted, perhaps recreated, or its
   * deletion is under way); such a partition never takes an append again.
   */
  | { readonly kind: 'topic-changed'; readonly reason?: 'deleted' | 'config' }
  /** Another request with the same Idempotency-Key committed first. */
  | { readonly kind: 'duplicate' };

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
}

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
  if (batches.length === 1 && !idempotency) return appendOne(topic, batches[0]!, options);
  if (batches.length === 1 && idempotency && isContended(partitionKeyOf(topic.topicId, batches[0]!.partition)))
    return appendOneExactlyOnce(topic, batches[0]!, idempotency, options);
  return appendInTransaction(topic, batches, idempotency, options);
}

const isContended = (partitionKey: string) => (contendedUntil.get(partitionKey) ?? 0) > Date.now();

/** Between looks at another attempt's live claim on the key. */
const claimWaitBackoff: Backoff = { initialRetryTimeMs: 10, maxRetryTimeMs: 200, multiplier: 2 };

/** How long a collision makes this process append idempotent single-partition requests by claim. */
const contentionMemoryMs = 1000;

function chunkContext(options: AppendOptions, deadlineMs = options.deadlineMs): ChunkAppendContext {
  return {
    dynamo: dynamo(),
    table: tableName('chunks'),
    heads: knownHeads,
    contendedUntil,
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
  };
}

async function appendOne(topic: TopicMetadata, batch: PreparedBatch, options: AppendOptions): Promise<AppendOutcome> {
  const outcome = await appendChunk(chunkContext(options), partitionKeyOf(topic.topicId, batch.partition), {
    entry: chunkEntryOf(batch, Date.now(), newWriteId()),
    configVersion: configVersionOf(topic),
  });
  if (outcome.kind === 'topic-changed') return { kind: 'topic-changed', reason: outcome.reason };
  for (let i = 0; i < outcome.collisions; i++) appendMetrics.conflict();
  appendMetrics.appended(outcome.collisions);
  return { kind: 'appended', baseOffsets: new Map([[batch.partition, outcome.baseOffset]]) };
}

/**
 * An Idempotency-Key's append to one contended partition: claim the key, join the chunk as the
 * single-write path does, complete the key's record (exactly-once.ts). Waits for another attempt's
 * live claim on the key; completes or takes over an expired one.
 */
async function appendOneExactlyOnce(
  topic: TopicMetadata,
  batch: PreparedBatch,
  idempotency: IdempotencyRecord,
  options: AppendOptions,
): Promise<AppendOutcome> {
  const deadline = Date.now() + (options.deadlineMs ?? 10_000);
  const partitionKey = partitionKeyOf(topic.topicId, batch.partition);
  const writeId = newWriteId();
  const responseAt = (baseOffset: number) => idempotency.response(new Map([[batch.partition, baseOffset]]));
  if (!knownHeads.get(partitionKey)) {
    // The read the join would start with anyway, made first, so that the claim names where to
    // look for this write (a retry that takes over an expired claim searches from there).
    const head = await readLastChunk({ dynamo: dynamo(), table: tableName('chunks') }, partitionKey);
    if (head) knownHeads.set(partitionKey, head);
  }
  for (let round = 0; ; round++) {
    const claim: Claim = {
      key: idempotency.key,
      requestHash: idempotency.requestHash,
      expiresAt: idempotency.expiresAt,
      writeId,
      partitionKey,
      // The head this process knows is at or below wherever the batch lands: the chain only grows.
      searchFrom: knownHeads.get(partitionKey)?.baseOffset ?? 0,
      leaseUntil: Date.now() + claimLeaseMs,
      pending: true,
    };
    const held = await claimKey(claim);
    if (held !== 'claimed') {
      if (held.kind === 'done') return { kind: 'duplicate' };
      if (held.kind === 'absent') continue;
      const other = held.claim;
      // Another request under the key: the caller refuses it (422) from the record.
      if (other.requestHash !== idempotency.requestHash) return { kind: 'duplicate' };
      if (other.leaseUntil > Date.now()) {
        if (Date.now() >= deadline) throw idempotencyInProgress(topic.name);
        await sleep(fullJitterDelay(round, claimWaitBackoff, options.random));
        continue;
      }
      const landed = await findWrite(other.partitionKey, other.searchFrom, other.writeId);
      if (landed !== undefined) {
        await completeClaim(other, responseAt(landed));
        return { kind: 'duplicate' };
      }
      if (!(await takeOverClaim(other, claim))) continue;
    }

    let outcome: Awaited<ReturnType<typeof appendChunk>>;
    try {
      outcome = await appendChunk(chunkContext(options, Math.max(1, deadline - Date.now())), partitionKey, {
        entry: chunkEntryOf(batch, Date.now(), writeId),
        configVersion: configVersionOf(topic),
      });
    } catch (error) {
      // Every request this attempt sent has been answered, so the chunks say whether it landed.
      // If they cannot be read either, the claim stays: a retry waits out its lease and looks.
      const landed = await findWrite(partitionKey, claim.searchFrom, writeId).catch(() => 'unknown' as const);
      if (landed === 'unknown') throw error;
      if (landed === undefined) {
        await releaseClaim(claim).catch(() => undefined);
        throw error;
      }
      await completeClaim(claim, responseAt(landed));
      return { kind: 'appended', baseOffsets: new Map([[batch.partition, landed]]) };
    }
    if (outcome.kind === 'topic-changed') {
      await releaseClaim(claim);
      return { kind: 'topic-changed', reason: outcome.reason };
    }
    for (let i = 0; i < outcome.collisions; i++) appendMetrics.conflict();
    appendMetrics.appended(outcome.collisions);
    await completeClaim(claim, responseAt(outcome.baseOffset));
    return { kind: 'appended', baseOffsets: new Map([[batch.partition, outcome.baseOffset]]) };
  }
}

/** How many head reads a transaction's planning keeps in flight. */
const headReadConcurrency = 16;

async function appendInTransaction(
  topic: TopicMetadata,
  batches: readonly PreparedBatch[],
  idempotency: IdempotencyRecord | undefined,
  options: AppendOptions,
): Promise<AppendOutcome> {
  const deadline = Date.now() + (options.deadlineMs ?? 10_000);
  const table = tableName('chunks');
  const context = { dynamo: dynamo(), table };
  const keyOf = (batch: PreparedBatch) => partitionKeyOf(topic.topicId, batch.partition);
  const configVersion = configVersionOf(topic);
  const views = new Map<number, ChunkView | undefined>();
  const readViews = async (which: readonly PreparedBatch[]) => {
    const read = await mapWithConcurrency(which, headReadConcurrency, (b) => readLastChunk(context, keyOf(b)));
    which.forEach((b, i) => {
      views.set(b.partition, read[i]);
    });
  };
  const unknown = batches.filter((b) => knownHeads.get(keyOf(b)) === undefined);
  for (const b of batches) if (!unknown.includes(b)) views.set(b.partition, knownHeads.get(keyOf(b)));
  await readViews(unknown);

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
    const seals = batches.filter((_, i) => steps[i]!.kind === 'seal');
    if (seals.length > 0) {
      // An open chunk this transaction cannot join (outside its join window, or the batch must be
      // alone): seal it, so that the transaction can put after it.
      await Promise.all(
        seals.map(async (b) => {
          const sealed = await sealOpenChunk(context, keyOf(b), (steps[batches.indexOf(b)] as { baseOffset: number }).baseOffset);
          if (sealed.view) views.set(b.partition, sealed.view);
          else await readViews([b]);
        }),
      );
      continue;
    }

    // The SDK's retries of a transaction are deduplicated by its ClientRequestToken; the ids keep
    // the chunks' `writeIds` complete for the single-write path's check.
    const writeId = newWriteId();
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
              ...entryValues(entries[i]!),
              ':count': b.recordCount,
              ':size': b.bytes.length,
              ':one': 1,
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
    if (idempotency) transactItems.push(idempotencyPut(idempotency, baseOffsets));
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
      // Throttled: another round now would be throttled too; the client retries later (429).
      if (cancelledByThrottling(error.CancellationReasons)) {
        throw throttled(
          `Appending to topic '${topic.name}' is throttled (DynamoDB's throughput limits); retry after a short wait with the same Idempotency-Key.`,
          { topic: topic.name },
          { cause: error },
        );
      }
      const reasons = error.CancellationReasons ?? [];
      if (idempotency && reasons[batches.length]?.Code === 'ConditionalCheckFailed') {
        const record = reasons[batches.length]!.Item;
        // An attempt by claim holds the key (exactly-once.ts): wait for it or take it over that way.
        if (batches.length === 1 && record && unmarshall(record).pending)
          return appendOneExactlyOnce(topic, batches[0]!, idempotency, options);
        return { kind: 'duplicate' };
      }
      appendMetrics.conflict();
      if (batches.length === 1 && idempotency) {
        // One partition, contended: a transaction names the chunk's exact count, so only one of
        // the writers wins a round. Claim the key and join instead (nothing of this one committed).
        contendedUntil.set(keyOf(batches[0]!), Date.now() + contentionMemoryMs);
        return appendOneExactlyOnce(topic, batches[0]!, idempotency, { ...options, deadlineMs: Math.max(1, deadline - Date.now()) });
      }
      const reread: PreparedBatch[] = [];
      batches.forEach((b, i) => {
        const reason = reasons[i];
        if (reason?.Code === 'ConditionalCheckFailed') {
          const item = reason.Item ? unmarshall(reason.Item) : undefined;
          if (item && !isStub(item)) views.set(b.partition, viewOfItem(item));
          else reread.push(b);
        } else if (reason?.Code === 'TransactionConflict') {
          // Another writer held the item; it may have moved the head.
          reread.push(b);
        }
      });
      if (reread.length === 0 && !reasons.some((r) => r.Code === 'ConditionalCheckFailed')) {
        const codes = reasons.map((r) => r.Code).join(',');
        throw new Error(`append transaction cancelled for an unexpected reason: ${codes}`);
      }
      if (Date.now() >= deadline) {
        throw throttled(
          `Too many concurrent appends to topic '${topic.name}': gave up after ${attempt + 1} attempts. Retry with the same Idempotency-Key, or batch more records per request.`,
          { topic: topic.name },
        );
      }
      await sleep(conflictBackoffMs(attempt, options.random));
      await readViews(reread);
    }
  }
}

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

/** The Idempotency-Key's record in an append transaction (layout 1's baseline in the bench writes the same). */
export function idempotencyPut(
  idempotency: IdempotencyRecord,
  baseOffsets: ReadonlyMap<number, number>,
  table = tableName('idempotency'),
): TransactItems[number] {
  return {
    Put: {
      TableName: table,
      Item: {
        key: idempotency.key,
        requestHash: idempotency.requestHash,
        response: idempotency.response(baseOffsets),
        expiresAt: idempotency.expiresAt,
      },
      // An expired item DynamoDB's TTL has not removed yet no longer counts.
      ConditionExpression: 'attribute_not_exists(#key) OR expiresAt < :now',
      ExpressionAttributeNames: { '#key': 'key' },
      ExpressionAttributeValues: { ':now': Math.floor(Date.now() / 1000) },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}
