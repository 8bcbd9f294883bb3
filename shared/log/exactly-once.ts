/**
 * Exactly once without a transaction, for an Idempotency-Key's append to one contended partition
 * (docs/storage.md, "Idempotent appends under contention"). A transaction that joins the open
 * chunk must name the chunk's exact record count, so at most one of W writers wins a round; the
 * others are cancelled, back off and try again. Instead the key is claimed first (a conditional
 * Put of its record, pending), the batch joins the chunk as the single-write path does, carrying
 * the claim's write id, and the record is completed with the response.
 *
 * A claim lasts `claimLeaseMs`, longer than any attempt can still write (a produce stops sending
 * after its 10 s deadline; API Gateway gives up on a route function after 30 s, and Lambda ends it
 * at its timeout). A retry that finds a live claim waits for it; one that finds an expired claim
 * looks for the claim's write id in the partition's chunks from where the claimant started, and
 * either completes the record with the offsets it finds or takes the claim over and appends.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, tableName } from '../runtime/aws';
import { itemInTheWay, wroteThisItem } from '../runtime/lost-response';
import { chunksAfter } from './chunk-store';
import { ownBatchOffset } from './chunks';

/** How long a claim keeps other attempts with the same key waiting before they may take it over. */
export const claimLeaseMs = 60_000;

/** An attempt's claim on an Idempotency-Key, as stored while its append is under way. */
export interface Claim {
  readonly key: string;
  readonly requestHash: string;
  /** Epoch seconds, the TTL attribute. */
  readonly expiresAt: number;
  /** The write id the claimant's chunk entries carry. */
  readonly writeId: string;
  /**
   * Each partition the request appends to, in the request's partition order, with a chunk base
   * offset at or below wherever its batch can land. The append is atomic: the write found in the
   * first partition is in all of them.
   */
  readonly searches: readonly ClaimSearch[];
  /** Epoch ms. */
  readonly leaseUntil: number;
  readonly pending: true;
}

export interface ClaimSearch {
  readonly partition: number;
  readonly partitionKey: string;
  readonly searchFrom: number;
}

export type ExistingRecord = { readonly kind: 'done' } | { readonly kind: 'pending'; readonly claim: Claim } | { readonly kind: 'absent' };

const table = () => tableName('idempotency');

function existingOf(item: Record<string, unknown> | undefined, now: number): ExistingRecord {
  // DynamoDB's TTL deletes expired items lazily; an expired key is as good as gone.
  if (!item || Number(item.expiresAt) < now / 1000) return { kind: 'absent' };
  return item.pending ? { kind: 'pending', claim: item as unknown as Claim } : { kind: 'done' };
}

/** Claims the key; otherwise says what holds it (a lost response of this very claim counts as claimed). */
export async function claimKey(claim: Claim, now = Date.now()): Promise<ExistingRecord | 'claimed'> {
  try {
    await dynamo().send(
      new PutCommand({
        TableName: table(),
        Item: claim,
        ConditionExpression: 'attribute_not_exists(#key) OR expiresAt < :now',
        ExpressionAttributeNames: { '#key': 'key' },
        ExpressionAttributeValues: { ':now': Math.floor(now / 1000) },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return 'claimed';
  } catch (error) {
    if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    if (wroteThisItem(error, claim)) return 'claimed';
    return existingOf(itemInTheWay(error), now);
  }
}

/**
 * Stores the response on the claim `writeId` holds, replacing the pending record (a Put: produce
 * may write idempotency records, never update or delete them). False if another attempt holds it.
 */
export async function completeClaim(
  claim: Pick<Claim, 'key' | 'requestHash' | 'expiresAt' | 'writeId'>,
  response: Buffer,
): Promise<boolean> {
  try {
    await dynamo().send(
      new PutCommand({
        TableName: table(),
        Item: { key: claim.key, requestHash: claim.requestHash, expiresAt: claim.expiresAt, writeId: claim.writeId, response },
        ConditionExpression: 'writeId = :writeId',
        ExpressionAttributeValues: { ':writeId': claim.writeId },
      }),
    );
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/**
 * Gives the key back after an attempt that certainly appended nothing, so a retry need not wait
 * for the lease: the record is replaced by one already expired, which counts as no record.
 */
export async function releaseClaim(claim: Pick<Claim, 'key' | 'requestHash' | 'writeId'>): Promise<void> {
  try {
    await dynamo().send(
      new PutCommand({
        TableName: table(),
        Item: { key: claim.key, requestHash: claim.requestHash, writeId: claim.writeId, expiresAt: 0 },
        ConditionExpression: 'writeId = :writeId AND pending = :true',
        ExpressionAttributeValues: { ':writeId': claim.writeId, ':true': true },
      }),
    );
  } catch (error) {
    if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
  }
}

/** Moves an expired claim to a new attempt; false if the claim changed meanwhile. */
export async function takeOverClaim(expired: Claim, next: Claim): Promise<boolean> {
  try {
    await dynamo().send(
      new PutCommand({
        TableName: table(),
        Item: {
          ...next,
          searches: next.searches.map((search) => {
            const before = expired.searches.find((e) => e.partitionKey === search.partitionKey);
            return before ? { ...search, searchFrom: Math.min(before.searchFrom, search.searchFrom) } : search;
          }),
        },
        ConditionExpression: 'writeId = :writeId AND leaseUntil = :leaseUntil',
        ExpressionAttributeValues: { ':writeId': expired.writeId, ':leaseUntil': expired.leaseUntil },
      }),
    );
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/**
 * Where the batches carrying `writeId` landed, by partition: every partition of the claim, or
 * none (the first is searched first; the append is atomic).
 */
export async function findWrites(searches: readonly ClaimSearch[], writeId: string): Promise<Map<number, number> | undefined> {
  const found = new Map<number, number>();
  for (const search of searches) {
    const offset = await findWrite(search.partitionKey, search.searchFrom, writeId);
    if (offset === undefined) return undefined;
    found.set(search.partition, offset);
  }
  return found;
}

/** Where the batch carrying `writeId` landed in the partition, from chunk `searchFrom` on: its base offset. */
export async function findWrite(partitionKey: string, searchFrom: number, writeId: string): Promise<number | undefined> {
  for await (const chunk of chunksAfter(partitionKey, searchFrom - 1, () => 25)) {
    const offset = ownBatchOffset(chunk, writeId);
    if (offset !== undefined) return offset;
  }
  return undefined;
}
