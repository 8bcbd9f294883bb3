/**
 * Layout v2 of the log: the append's I/O (the decisions are in chunk-plan.ts; the design and its
 * measurements in docs/storage.md, "Append redesign").
 *
 * One partition, no Idempotency-Key. Requests that touch several partitions or carry a key keep
 * a transaction (of these same Puts plus the idempotency record).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { TableDefinition } from '../storage/tables';
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
  viewAfterPut,
  viewOfItem,
} from './chunk-plan';

/**
 * The v2 chunk table: a partition's chunks in offset order. Not in shared/storage/tables.ts yet
 * (nothing deployed uses it); the bench and the tests create it with createTableInput.
 */
export const chunkTable: TableDefinition = {
  id: 'Chunks',
  envVar: 'LOGWAY_CHUNKS_TABLE',
  partitionKey: { name: 'partitionKey', type: 'S' },
  sortKey: { name: 'baseOffset', type: 'N' },
  description: "Layout v2 of the log: one item per chunk of a partition's batches, keyed by its base offset.",
};

/** Every attribute of a chunk but its bytes: what a writer needs to plan. */
const chunkHeaderAttributes = [
  'baseOffset',
  'recordCount',
  'sizeBytes',
  'batchCount',
  'sealed',
  'capBytes',
  'capBatches',
  'createdAt',
  'configVersion',
  'deletedAt',
];

export interface ChunkAppendContext {
  readonly dynamo: DynamoDBDocumentClient;
  readonly table: string;
  /** Last chunk seen per partition key (a stale entry costs one failed condition, never a wrong offset). */
  readonly heads: Map<string, ChunkView>;
  /**
   * Until when (epoch ms) each partition counts as contended: a writer that collided keeps putting
   * open chunks for a while, so that writers following it join instead of racing for keys.
   */
  readonly contendedUntil?: Map<string, number>;
  readonly limits?: ChunkLimits;
  readonly now?: () => number;
  /** Called with each step and its result (the bench counts them). */
  readonly trace?: (step: string, result: string) => void;
}

export interface ChunkBatch {
  readonly bytes: Uint8Array;
  readonly recordCount: number;
  readonly configVersion: number;
}

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

const deadlineMs = 10_000;
/** How long a collision makes this writer treat the partition as contended. */
const contentionMemoryMs = 1000;

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
  let noChunkAt: number | undefined;
  const deadline = now() + deadlineMs;
  const size = batch.bytes.byteLength;
  const intent = (): AppendIntent => ({
    recordCount: batch.recordCount,
    sizeBytes: size,
    configVersion: batch.configVersion,
    contended,
    ...(noChunkAt !== undefined ? { noChunkAt } : {}),
  });

  if (!view) {
    requests++;
    view = await readLastChunk(context, partitionKey);
  }
  for (;;) {
    if (now() > deadline) throw new Error(`append to ${partitionKey} gave up after ${requests} requests`);
    const step = planAppend(view, intent(), limits, now());
    if (step.kind === 'topic-changed') {
      context.heads.delete(partitionKey);
      return step;
    }
    requests++;
    const result = await runStep(context, partitionKey, step, batch, limits, now());
    context.trace?.(describeStep(step), `${result.kind}${result.view ? (isFinal(result.view) ? ':final' : ':open') : ':none'}`);
    writeUnits += result.writeUnits;
    if (result.kind === 'done') {
      // Joining, or putting an open chunk, is itself evidence of contention: keep the memory alive
      // while the partition stays hot, or this writer would start putting sealed chunks that
      // every other writer then has to walk past.
      if (step.kind === 'join' || (step.kind === 'put' && !step.sealed))
        context.contendedUntil?.set(partitionKey, now() + contentionMemoryMs);
      let head = result.view;
      if (!head.sealed && isFinal(head)) {
        // This join filled the chunk: open the next one where the other writers will look.
        requests++;
        const opened = await openNext(context, partitionKey, head, batch.configVersion, limits, now());
        writeUnits += opened.writeUnits;
        head = opened.view ?? head;
      }
      context.heads.set(partitionKey, head);
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
    } else if (step.kind === 'join' && step.speculative && !result.view) {
      // Nobody has opened the next chunk yet: put it.
      noChunkAt = step.baseOffset;
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
  step.kind === 'put' ? `put-${step.sealed ? 'sealed' : 'open'}` : step.kind === 'join' && step.speculative ? 'join-next' : step.kind;

type StepResult =
  | { kind: 'done'; baseOffset: number; view: ChunkView; writeUnits: number }
  /** Another writer got there first; `view` is the chunk that was found. */
  | { kind: 'lost'; view?: ChunkView; writeUnits: number }
  /** The step changed the chunk's state (a seal) without appending. */
  | { kind: 'moved'; view?: ChunkView; writeUnits: number };

async function runStep(
  context: ChunkAppendContext,
  partitionKey: string,
  step: Exclude<AppendStep, { kind: 'topic-changed' }>,
  batch: ChunkBatch,
  limits: ChunkLimits,
  now: number,
): Promise<StepResult> {
  const size = batch.bytes.byteLength;
  try {
    if (step.kind === 'put') {
      const output = await context.dynamo.send(
        new PutCommand({
          TableName: context.table,
          Item: {
            partitionKey,
            baseOffset: step.baseOffset,
            recordCount: batch.recordCount,
            sizeBytes: size,
            batchCount: 1,
            batches: [batch.bytes],
            createdAt: now,
            configVersion: batch.configVersion,
            ...(step.sealed ? { sealed: true } : { capBytes: limits.openChunkMaxBytes, capBatches: limits.openChunkMaxBatches }),
          },
          // A new key, or a fence (sealed, zero records) this writer's config satisfies.
          ConditionExpression:
            'attribute_not_exists(baseOffset) OR (recordCount = :zero AND sealed = :true AND attribute_not_exists(deletedAt) AND configVersion <= :configVersion)',
          ExpressionAttributeValues: { ':zero': 0, ':true': true, ':configVersion': batch.configVersion },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      const written = { recordCount: batch.recordCount, sizeBytes: size, configVersion: batch.configVersion, contended: !step.sealed };
      return {
        kind: 'done',
        baseOffset: step.baseOffset,
        view: viewAfterPut(step.baseOffset, step.sealed, written, limits, now),
        writeUnits: output.ConsumedCapacity?.CapacityUnits ?? 0,
      };
    }
    if (step.kind === 'join') {
      const output = await context.dynamo.send(
        new UpdateCommand({
          TableName: context.table,
          Key: { partitionKey, baseOffset: step.baseOffset },
          UpdateExpression:
            'SET batches = list_append(batches, :batch), recordCount = recordCount + :count, sizeBytes = sizeBytes + :size, batchCount = batchCount + :one',
          // Open by the limits the chunk carries, so that all writers agree when it is full.
          ConditionExpression:
            'attribute_exists(baseOffset) AND attribute_not_exists(sealed) AND attribute_not_exists(deletedAt) AND configVersion <= :configVersion AND sizeBytes <= capBytes AND batchCount < capBatches',
          ExpressionAttributeValues: {
            ':batch': [batch.bytes],
            ':count': batch.recordCount,
            ':size': size,
            ':one': 1,
            ':configVersion': batch.configVersion,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      const view = viewOfItem(output.Attributes!);
      return {
        kind: 'done',
        baseOffset: joinedBaseOffset(view.baseOffset, view.recordCount, batch.recordCount),
        view,
        writeUnits: output.ConsumedCapacity?.CapacityUnits ?? 0,
      };
    }
    const output = await context.dynamo.send(
      new UpdateCommand({
        TableName: context.table,
        Key: { partitionKey, baseOffset: step.baseOffset },
        UpdateExpression: 'SET sealed = :true',
        ConditionExpression: 'attribute_exists(baseOffset) AND attribute_not_exists(sealed)',
        ExpressionAttributeValues: { ':true': true },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return { kind: 'moved', view: viewOfItem(output.Attributes!), writeUnits: output.ConsumedCapacity?.CapacityUnits ?? 0 };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    // A failed condition is billed as a write of the item's size; DynamoDB does not report it here.
    const found = error.Item ? viewOfItem(unmarshall(error.Item)) : undefined;
    return { kind: step.kind === 'seal' ? 'moved' : 'lost', ...(found ? { view: found } : {}), writeUnits: 0 };
  }
}

/**
 * Puts an empty open chunk after the chunk this writer filled, where the other writers of a
 * contended partition look for it. It may lose to one of them putting a chunk there first.
 */
async function openNext(
  context: ChunkAppendContext,
  partitionKey: string,
  filled: ChunkView,
  configVersion: number,
  limits: ChunkLimits,
  now: number,
): Promise<{ view?: ChunkView; writeUnits: number }> {
  const baseOffset = endOf(filled);
  try {
    const output = await context.dynamo.send(
      new PutCommand({
        TableName: context.table,
        Item: {
          partitionKey,
          baseOffset,
          recordCount: 0,
          sizeBytes: 0,
          batchCount: 0,
          batches: [],
          createdAt: now,
          configVersion,
          capBytes: limits.openChunkMaxBytes,
          capBatches: limits.openChunkMaxBatches,
        },
        ConditionExpression: 'attribute_not_exists(baseOffset)',
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return {
      view: {
        ...viewAfterPut(baseOffset, false, { recordCount: 0, sizeBytes: 0, configVersion, contended: true }, limits, now),
        batchCount: 0,
      },
      writeUnits: output.ConsumedCapacity?.CapacityUnits ?? 0,
    };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return { writeUnits: 0 };
  }
}

/** The last chunk of a partition (strongly consistent), or undefined for a partition never appended to. */
export async function readLastChunk(
  context: Pick<ChunkAppendContext, 'dynamo' | 'table'>,
  partitionKey: string,
): Promise<ChunkView | undefined> {
  const { Items } = await context.dynamo.send(
    new QueryCommand({
      TableName: context.table,
      KeyConditionExpression: 'partitionKey = :pk',
      ExpressionAttributeValues: { ':pk': partitionKey },
      ProjectionExpression: chunkHeaderAttributes.join(', '),
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  const item = Items?.[0];
  return item ? viewOfItem(item) : undefined;
}
