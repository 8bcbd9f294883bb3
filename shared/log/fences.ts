/**
 * Fences (layout v2): after a topic's config changed, its partitions grew, or it is being
 * deleted, a zero-record sealed chunk carrying the new config version (and, for a deletion,
 * `deletedAt`) goes at the head of every partition. Every append is conditioned on the config
 * version it was planned with (chunk-append.ts), so a writer holding older config fails at the
 * fence and re-reads the topic; nothing replaces a deletion fence, so a deleted topic never takes
 * an append again. An open chunk at the head is sealed first, so that no join slips in after.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, tableName } from '../runtime/aws';
import { mapWithConcurrency } from '../runtime/concurrency';
import { type Backoff, fullJitterDelay, sleep } from '../runtime/retry';
import { type ChunkView, chunkLimits, endOf, isFence, isFinal, successorLineage } from './chunk-plan';
import { chunkItem, readLastChunk, sealOpenChunk } from './chunk-append';

export type Fence =
  /** A config change or a growth: writers planned with an older version re-read the topic. */
  | { readonly kind: 'config'; readonly configVersion: number }
  /** A deletion: no writer appends again. */
  | { readonly kind: 'deleted'; readonly configVersion: number; readonly deletedAt: number };

/** What a fence does at a head: nothing (already fenced), seal the open head first, or put the fence. */
export type FenceStep =
  | { readonly kind: 'done' }
  | { readonly kind: 'seal'; readonly baseOffset: number }
  | { readonly kind: 'put'; readonly baseOffset: number };

export function planFence(view: ChunkView | undefined, fence: Fence): FenceStep {
  if (!view) return { kind: 'put', baseOffset: 0 };
  if (view.deleted) return { kind: 'done' };
  // A chunk (or fence) written under this version or a newer one: every writer past it holds it.
  if (fence.kind === 'config' && view.configVersion >= fence.configVersion) return { kind: 'done' };
  if (!isFinal(view)) return { kind: 'seal', baseOffset: view.baseOffset };
  return { kind: 'put', baseOffset: isFence(view) ? view.baseOffset : endOf(view) };
}

/** Between lost rounds on a busy partition: let the writers in flight finish. */
const fenceBackoff: Backoff = { initialRetryTimeMs: 2, maxRetryTimeMs: 100, multiplier: 2 };

/** Rounds one partition's fence may take (each lost round means another writer appended meanwhile). */
const maxFenceRounds = 1000;

/** Puts the fence at the head of every partition (`<topicId>:<partition>` keys), 25 at a time. */
export async function putFences(partitionKeys: readonly string[], fence: Fence): Promise<void> {
  const context = { dynamo: dynamo(), table: tableName('chunks') };
  await mapWithConcurrency(partitionKeys, 25, async (partitionKey) => {
    let view = await readLastChunk(context, partitionKey);
    for (let round = 0; round < maxFenceRounds; round++) {
      const step = planFence(view, fence);
      if (step.kind === 'done') return;
      if (step.kind === 'seal') {
        const sealed = await sealOpenChunk(context, partitionKey, step.baseOffset);
        view = sealed.view ?? (await readLastChunk(context, partitionKey));
        continue;
      }
      try {
        await context.dynamo.send(
          new PutCommand({
            TableName: context.table,
            Item: chunkItem(partitionKey, step.baseOffset, [], {
              sealed: true,
              configVersion: fence.configVersion,
              lineage: successorLineage(view),
              limits: chunkLimits,
              now: Date.now(),
              ...(fence.kind === 'deleted' ? { deletedAt: fence.deletedAt } : {}),
            }),
            // A new key, or a fence of an older config (a deletion replaces a fence of the same version too).
            ConditionExpression: `attribute_not_exists(baseOffset) OR (recordCount = :zero AND sealed = :true AND attribute_not_exists(deletedAt) AND configVersion ${
              fence.kind === 'deleted' ? '<=' : '<'
            } :configVersion)`,
            ExpressionAttributeValues: { ':zero': 0, ':true': true, ':configVersion': fence.configVersion },
          }),
        );
        return;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        view = await readLastChunk(context, partitionKey);
        await sleep(fullJitterDelay(round, fenceBackoff));
      }
    }
    throw new Error(`could not fence ${partitionKey}: writers kept appending for ${maxFenceRounds} rounds`);
  });
}
