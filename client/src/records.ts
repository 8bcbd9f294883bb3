/**
 * Messages as applications see them (KafkaJS's shapes: keys, values and header values are
 * Buffers on the way out) and their wire form (text when UTF-8, base64 otherwise).
 */
import type { WireFetchedRecord, WireHeader, WireRecord } from './types';

export type Bytes = Buffer | Uint8Array;

/** Header values: strings are sent as UTF-8; a list sends the key once per value (Kafka allows duplicates). */
export type MessageHeaders =
  | Record<string, string | Bytes | null | undefined | (string | Bytes | null)[]>
  | { key: string; value: string | Bytes | null }[];

export interface ProducerMessage {
  /** Keyed messages go to murmur2(key) % partitions, as Kafka's Java client and KafkaJS do. */
  key?: string | Bytes | null;
  /** A string is sent as its UTF-8 bytes, bytes as they are, any other JSON value as its compact JSON text; null is a tombstone. */
  value: unknown;
  headers?: MessageHeaders;
  /** Explicit partition (overrides the key). */
  partition?: number;
  /** CreateTime in ms (number, numeric string or Date); default: when the service appends it. */
  timestamp?: number | string | Date;
}

export interface Message {
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** A header's value, or a list when the key repeats; `headerList` keeps the exact order. */
  headers: Record<string, Buffer | null | (Buffer | null)[]>;
  headerList: { key: string; value: Buffer | null }[];
}

const isBytes = (value: unknown): value is Bytes => value instanceof Uint8Array;
const base64 = (bytes: Bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

function wireHeader(key: string, value: string | Bytes | null | undefined): WireHeader {
  if (value === null || value === undefined) return { key, value: null };
  if (isBytes(value)) return { key, valueBase64: base64(value) };
  return { key, value: String(value) };
}

export function toWireHeaders(headers: MessageHeaders | undefined): WireHeader[] | undefined {
  if (!headers) return undefined;
  const out: WireHeader[] = [];
  if (Array.isArray(headers)) {
    for (const h of headers) out.push(wireHeader(h.key, h.value));
  } else {
    for (const [key, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) out.push(wireHeader(key, v));
      else out.push(wireHeader(key, value));
    }
  }
  return out.length ? out : undefined;
}

export function toTimestamp(value: number | string | Date | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Number(value);
  if (!Number.isSafeInteger(ms) || ms < 0) throw new TypeError(`timestamp must be a non-negative integer of ms; got ${String(value)}`);
  return ms;
}

/** The key's bytes (for partitioning), or null. */
export function keyBytes(key: ProducerMessage['key']): Uint8Array | string | null {
  if (key === null || key === undefined) return null;
  if (isBytes(key)) return key;
  return String(key);
}

const byteLength = (value: string | Bytes | null | undefined): number =>
  value === null || value === undefined ? 0 : typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength;

/** What Logway counts per header besides its key and value (its JSON frame in a fetched record). */
export const headerOverheadBytes = 24;

/** The bytes Logway counts against max.message.bytes: key, value, headers and 24 bytes per header. */
export function recordSize(message: ProducerMessage): number {
  const key =
    message.key === null || message.key === undefined
      ? 0
      : isBytes(message.key)
        ? message.key.byteLength
        : Buffer.byteLength(String(message.key));
  const value = message.value;
  let size =
    key +
    (value === null || value === undefined
      ? 0
      : isBytes(value)
        ? value.byteLength
        : typeof value === 'string'
          ? Buffer.byteLength(value)
          : Buffer.byteLength(JSON.stringify(value)));
  const headers = message.headers;
  if (Array.isArray(headers)) {
    for (const h of headers) size += Buffer.byteLength(h.key) + byteLength(h.value) + headerOverheadBytes;
  } else if (headers) {
    for (const [key, v] of Object.entries(headers)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) size += Buffer.byteLength(key) + byteLength(one) + headerOverheadBytes;
    }
  }
  return size;
}

/** The produce-request form of a message (without its partition). */
export function toWireRecord(message: ProducerMessage): WireRecord {
  const record: WireRecord = {};
  const key = message.key;
  if (key !== null && key !== undefined) {
    if (isBytes(key)) record.keyBase64 = base64(key);
    else record.key = String(key);
  }
  const value = message.value;
  if (isBytes(value)) record.valueBase64 = base64(value);
  else record.value = value === undefined ? null : value;
  const headers = toWireHeaders(message.headers);
  if (headers) record.headers = headers;
  const timestamp = toTimestamp(message.timestamp);
  if (timestamp !== undefined) record.timestamp = timestamp;
  return record;
}

function bytesOf(text: string | null | undefined, b64: string | undefined): Buffer | null {
  if (b64 !== undefined) return Buffer.from(b64, 'base64');
  if (text === null || text === undefined) return null;
  return Buffer.from(text, 'utf8');
}

export function toMessage(record: WireFetchedRecord): Message {
  const headerList = (record.headers ?? []).map((h) => ({ key: h.key, value: bytesOf(h.value, h.valueBase64) }));
  const headers: Message['headers'] = {};
  for (const { key, value } of headerList) {
    const existing = headers[key];
    if (existing === undefined) headers[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[key] = [existing, value];
  }
  return {
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: bytesOf(record.key, record.keyBase64),
    value: bytesOf(record.value, record.valueBase64),
    headers,
    headerList,
  };
}
