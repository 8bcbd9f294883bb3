/**
 * Exactly once for an Idempotency-Key's append (docs/storage.md, "Idempotent appends: claim, then
 * append"). The key is claimed first (a conditional Put of its record, pending, carrying the
 * request's response with its offsets still unknown), then the batch is appended as a request
 * without a key is, carrying the claim's write id. That is all the attempt writes: the claim names
 * where its write can be found, so the write itself completes it, and whoever reads the claim next
 * finds the write and stores the response. Two single-item writes cost half a transaction of the
 * same items (3 WRU for a 1 KiB record, not 6), and under contention a claim never loses a round
 * to another writer of the partition, as a transaction that names the open chunk's count does.
 *
 * A claim lasts `claimLeaseMs`, longer than any attempt can still write (a produce stops sending
 * after its 10 s deadline; API Gateway gives up on a route function after 30 s, and Lambda ends it
 * at its timeout). A retry looks for the claim's write id in the partition's chunks from where the
 * claimant started: found, it stores the response and replays it; not found, it waits for a live
 * claim, or takes an expired one over and appends.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, tableName } from '../runtime/aws';
import { itemInTheWay, wroteThisItem } from '../runtime/lost-response';
import { appendDeadlineMs } from './chunk-append';
import { chunksAfter } from './chunk-store';
import { ownBatchOffset } from './chunks';
import { decodeStoredResponse, type StoredProduce, storedResponseAt } from './idempotency';

/** How long a claim keeps other attempts with the same key waiting before they may take it over. */
export const claimLeaseMs = 60_000;

/**
 * How long a retry waits for a live claim's write before answering 409 (retriable). A concurrent
 * attempt appends within a few hundred ms even on a contended partition; a claim whose attempt died
 * holds the key for its whole lease, and a retry that waited for that would hold its connection (and
 * on Lambda its billed duration) to its 10 s deadline for nothing.
 */
export const claimWaitMs = 2_000;

/**
 * When waiting on a claim can next end differently: once its attempt is past its own append
 * deadline (its write has landed by then, or it is very likely never to), and once its lease ends
 * (the key can be taken over). A retry told this by Retry-After neither hammers the key nor gives
 * up inside the lease: the client's backoff alone ends sooner than a lease.
 */
export function secondsUntilClaimChanges(claim: Pick<Claim, 'leaseUntil'>, now = Date.now()): number {
  const attemptDeadline = claim.leaseUntil - claimLeaseMs + appendDeadlineMs;
  const next = now < attemptDeadline ? attemptDeadline : claim.leaseUntil;
  return Math.max(1, Math.ceil((next - now) / 1000));
}

/** An attempt's claim on an Idempotency-Key, as stored while its append is under way. */
export interface Claim {
  readonly key: string;
  readonly requestHash: string;
  /** Epoch seconds, the TTL attribute. */
  readonly expiresAt: number;
  /** The write id the claimant's chunk entries carry. */
  readonly writeId: string;
  /**
   * The response to store once the write is found, with every partition's base offset 0
   * (`storedResponseAt`). Absent from claims written before it was kept: a retry then stores its
   * own request's.
   */
  readonly template?: Uint8Array;
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

/** The claim an attempt puts for its request; `searches` name where each partition's write can land from. */
export function claimFor(
  request: Pick<Claim, 'key' | 'requestHash' | 'expiresAt'> & { readonly template: Uint8Array },
  writeId: string,
  searches: readonly ClaimSearch[],
  now = Date.now(),
): Claim {
  const { key, requestHash, expiresAt, template } = request;
  return { key, requestHash, expiresAt, writeId, template, searches, leaseUntil: now + claimLeaseMs, pending: true };
}

export type ExistingRecord =
  | { readonly kind: 'done'; readonly stored: StoredProduce }
  | { readonly kind: 'pending'; readonly claim: Claim }
  | { readonly kind: 'absent' };

const table = () => tableName('idempotency');

function existingOf(item: Record<string, unknown> | undefined, now: number): ExistingRecord {
  // DynamoDB's TTL deletes expired items lazily; an expired key is as good as gone.
  if (!item || Number(item.expiresAt) < now / 1000) return { kind: 'absent' };
  if (item.pending) return { kind: 'pending', claim: item as unknown as Claim };
  return { kind: 'done', stored: { requestHash: item.requestHash as string, response: decodeStoredResponse(item.response as Uint8Array) } };
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
 * Settles a claim whose write has landed: stores the response (`template` if the claim carries
 * none) with the offsets found, so later readers read it without a search. Undefined while the
 * write is not in the chunks (still in flight, or it never landed).
 */
export async function settleClaim(claim: Claim, template = claim.template): Promise<Buffer | undefined> {
  const landed = await findWrites(claim.searches, claim.writeId);
  if (landed === undefined || template === undefined) return undefined;
  const response = storedResponseAt(template, landed);
  // The answer is known either way; storing it only spares the next reader the search.
  await completeClaim(claim, response).catch(() => false);
  return response;
}

/**
 * The stored response under `key`, strongly consistent. A pending claim whose write has landed is
 * settled on the way (its attempt stores nothing after the write): only a claim whose write is
 * not in the chunks reads as pending. A claim of another request than `requestHash` is not
 * searched: its reader refuses the key (422) whatever its write did.
 */
export async function readStoredProduce(key: string, requestHash?: string, now = Date.now()): Promise<StoredProduce | undefined> {
  const { Item } = await dynamo().send(new GetCommand({ TableName: table(), Key: { key }, ConsistentRead: true }));
  const existing = existingOf(Item, now);
  if (existing.kind !== 'pending') return existing.kind === 'done' ? existing.stored : undefined;
  if (requestHash !== undefined && existing.claim.requestHash !== requestHash) return settledOrPending(existing.claim, undefined);
  return settledOrPending(existing.claim, await settleClaim(existing.claim));
}

/** What a reader of `claim` sees: the response its settlement stored, else a pending record. */
export function settledOrPending(claim: Pick<Claim, 'requestHash'>, settled: Buffer | undefined): StoredProduce {
  const { requestHash } = claim;
  return settled ? { requestHash, response: decodeStoredResponse(settled) } : { requestHash, response: undefined, pending: true };
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
  // The write is nearly always in the first chunk or two (the claim names the head its attempt
  // knew), so pages start small and grow: a Query is billed on every item it reads.
  let pageSize = 1;
  for await (const chunk of chunksAfter(partitionKey, searchFrom - 1, () => (pageSize = Math.min(25, pageSize * 2)))) {
    const offset = ownBatchOffset(chunk, writeId);
    if (offset !== undefined) return offset;
  }
  return undefined;
}
