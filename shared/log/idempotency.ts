/**
 * Idempotency-Key: the key, the request's hash, and the stored form of a produce's response. A
 * retry with the same key and body gets the first response back; another body under the same key
 * is 422 IDEMPOTENCY_KEY_REUSED. How a key is claimed and its response stored: exactly-once.ts.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { idempotencyInProgress, idempotencyKeyReused, invalidRequest, recordListTooLarge } from '../errors';

/** DynamoDB items stop at 400 KB; the stored response must fit with room for the other attributes. */
export const maxStoredResponseBytes = 350 * 1024;

export function validateIdempotencyKey(key: string): void {
  if (key.length === 0 || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw invalidRequest('Idempotency-Key must be 1 to 255 visible ASCII characters.', { field: 'Idempotency-Key' });
  }
}

/**
 * The item key of a produce's Idempotency-Key: scoped to the topic id, so a key lives and dies
 * with its topic (delete and re-create starts afresh) and is per topic (no producer can squat
 * another topic's keys). `/` cannot occur in a topic id.
 */
export function scopedIdempotencyKey(topicId: string, key: string): string {
  return `${topicId}/${key}`;
}

export function requestHash(topic: string, body: unknown): string {
  return createHash('sha256').update(topic).update('\n').update(JSON.stringify(body)).digest('base64');
}

/** The hash of a produce request given as records (callers that have no JSON body to hash). */
export function recordsHash(
  topic: string,
  records: readonly {
    key: Uint8Array | null;
    value: Uint8Array | null;
    headers: readonly { key: string; value: Uint8Array | null }[];
    timestamp?: number | undefined;
    partition?: number | undefined;
  }[],
): string {
  const hash = createHash('sha256').update(topic);
  const part = (bytes: Uint8Array | null) => {
    hash.update(bytes === null ? '\u0000-' : `${bytes.length}:`);
    if (bytes) hash.update(bytes);
  };
  for (const record of records) {
    hash.update(`\n${record.partition ?? ''}/${record.timestamp ?? ''}/${record.headers.length}/`);
    part(record.key);
    part(record.value);
    for (const header of record.headers) {
      part(Buffer.from(header.key, 'utf8'));
      part(header.value);
    }
  }
  return hash.digest('base64');
}

export interface StoredOffset {
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
}

const compactFormat = Buffer.from([0x4c, 0x57, 0x01]);

/** zlib's deflateBound plus the gzip frame: what gzip can make of `n` bytes at worst. */
const gzipBound = (n: number) => n + (n >> 12) + (n >> 14) + (n >> 25) + 13 + 18;

/**
 * Bytes the stored form of a produce response takes at most, known before the append (from the
 * record and partition counts alone), so an oversized one is refused before anything is written.
 */
export function storedOffsetsBytesBound(records: number, partitions: number): number {
  return gzipBound(compactFormat.length + 2 + 12 * partitions + 4 + 9 * records);
}

/**
 * A produce response in a compact fixed-width form: the offsets of one partition's records are
 * consecutive in request order, so per partition its base offset, per record its partition's
 * index and its timestamp (9 bytes a record, whatever the offsets). Gzip'd.
 */
export function encodeStoredOffsets(offsets: readonly StoredOffset[]): Buffer {
  const partitions = new Map<number, { index: number; base: number }>();
  for (const o of offsets) if (!partitions.has(o.partition)) partitions.set(o.partition, { index: partitions.size, base: o.offset });
  if (partitions.size > 255) throw new RangeError('a stored produce response holds at most 255 partitions');
  const raw = Buffer.alloc(compactFormat.length + 2 + 12 * partitions.size + 4 + 9 * offsets.length);
  let at = compactFormat.copy(raw, 0);
  at = raw.writeUInt16BE(partitions.size, at);
  for (const [partition, { base }] of partitions) {
    at = raw.writeUInt32BE(partition, at);
    at = raw.writeDoubleBE(base, at);
  }
  at = raw.writeUInt32BE(offsets.length, at);
  for (const o of offsets) {
    at = raw.writeUInt8(partitions.get(o.partition)!.index, at);
    at = raw.writeDoubleBE(o.timestamp, at);
  }
  const stored = gzipSync(raw);
  if (stored.length > maxStoredResponseBytes) throw responseTooLargeToKeep();
  return stored;
}

/**
 * The stored response of `template` (encodeStoredOffsets of the request's offsets with every
 * partition's base offset 0) with each partition's records placed from its base offset in
 * `baseOffsets`. A claim carries its request's template, so whoever finds where the write landed
 * (the attempt, or any retry, whose own plan may differ: a keyless record's partition is chosen
 * at random per request) stores the same response.
 */
export function storedResponseAt(template: Uint8Array, baseOffsets: ReadonlyMap<number, number>): Buffer {
  const { offsets } = decodeStoredOffsets(gunzipSync(template));
  return encodeStoredOffsets(
    offsets.map((o) => {
      const base = baseOffsets.get(o.partition);
      if (base === undefined) throw new RangeError(`no base offset for partition ${o.partition}`);
      return { ...o, offset: base + o.offset };
    }),
  );
}

function decodeStoredOffsets(raw: Buffer): { offsets: StoredOffset[] } {
  let at = compactFormat.length;
  const count = raw.readUInt16BE(at);
  at += 2;
  const partitions: { partition: number; next: number }[] = [];
  for (let i = 0; i < count; i++) {
    partitions.push({ partition: raw.readUInt32BE(at), next: raw.readDoubleBE(at + 4) });
    at += 12;
  }
  const records = raw.readUInt32BE(at);
  at += 4;
  const offsets: StoredOffset[] = new Array(records);
  for (let i = 0; i < records; i++) {
    const p = partitions[raw.readUInt8(at)]!;
    offsets[i] = { partition: p.partition, offset: p.next++, timestamp: raw.readDoubleBE(at + 1) };
    at += 9;
  }
  return { offsets };
}

const responseTooLargeToKeep = () =>
  recordListTooLarge('The response to this request is too large to keep for Idempotency-Key replay; send fewer records per request.', {
    maxStoredResponseBytes,
  });

export interface StoredProduce {
  readonly requestHash: string;
  readonly response: unknown;
  /** An attempt holds the key by claim and has not stored its response yet (exactly-once.ts). */
  readonly pending?: true;
}

/** A stored response as its reader sees it: the compact form of produce's, or JSON (responses stored before it). */
export function decodeStoredResponse(stored: Uint8Array): unknown {
  const raw = gunzipSync(stored);
  return raw.subarray(0, compactFormat.length).equals(compactFormat) ? decodeStoredOffsets(raw) : JSON.parse(raw.toString('utf8'));
}

/** Replays the stored response when the request is the same, else 422 (409 while its first attempt is still appending). */
export function replayOrReject(stored: StoredProduce, hash: string, key: string, topic: string): unknown {
  if (stored.requestHash !== hash) throw idempotencyKeyReused(key);
  if (stored.pending) throw idempotencyInProgress(topic);
  return stored.response;
}

/** Whether a stored record answers a request before its append: a response to replay, or a reuse to refuse. */
export const answersBeforeAppend = (stored: StoredProduce | undefined, hash: string): stored is StoredProduce =>
  stored !== undefined && (!stored.pending || stored.requestHash !== hash);
