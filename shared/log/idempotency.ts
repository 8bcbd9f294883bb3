/**
 * Idempotency-Key: a produce's response is stored under its key in the same transaction as the
 * append, so "appended" and "remembered" cannot disagree. A retry with the same key and body gets
 * the first response back; another body under the same key is 422 IDEMPOTENCY_KEY_REUSED.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { invalidRequest, LogwayError } from '../errors';
import { dynamo, tableName } from '../runtime/aws';

/** DynamoDB items stop at 400 KB; the stored response must fit with room for the other attributes. */
export const maxStoredResponseBytes = 350 * 1024;

export function validateIdempotencyKey(key: string): void {
  if (key.length === 0 || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw invalidRequest('Idempotency-Key must be 1 to 255 visible ASCII characters.', { field: 'Idempotency-Key' });
  }
}

export function requestHash(topic: string, body: unknown): string {
  return createHash('sha256').update(topic).update('\n').update(JSON.stringify(body)).digest('base64');
}

export function encodeStoredResponse(response: unknown): Buffer {
  const stored = gzipSync(JSON.stringify(response));
  if (stored.length > maxStoredResponseBytes) {
    throw new LogwayError(
      'RECORD_LIST_TOO_LARGE',
      'The response to this request is too large to keep for Idempotency-Key replay; send fewer records per request.',
    );
  }
  return stored;
}

export interface StoredProduce {
  readonly requestHash: string;
  readonly response: unknown;
}

export async function readStoredProduce(key: string): Promise<StoredProduce | undefined> {
  const { Item } = await dynamo().send(new GetCommand({ TableName: tableName('idempotency'), Key: { key }, ConsistentRead: true }));
  if (!Item) return undefined;
  // DynamoDB's TTL deletes expired items lazily; an expired key is as good as gone.
  if (Number(Item.expiresAt) < Date.now() / 1000) return undefined;
  const response = JSON.parse(gunzipSync(Item.response as Uint8Array).toString('utf8')) as unknown;
  return { requestHash: Item.requestHash as string, response };
}

/** Replays the stored response when the request is the same, else 422. */
export function replayOrReject(stored: StoredProduce, hash: string, key: string): unknown {
  if (stored.requestHash !== hash) {
    throw new LogwayError(
      'IDEMPOTENCY_KEY_REUSED',
      `Idempotency-Key '${key}' was already used with a different request; use a new key for a new request.`,
      { idempotencyKey: key },
    );
  }
  return stored.response;
}
