/**
 * Records in the HTTP API's JSON (docs/api.md, "Produce" and "Fetch"): the JSON shape of a produced record,
 * its conversion to bytes, and the JSON shape of a fetched record. Keys, values and header
 * values are bytes; text that is valid UTF-8 travels as text, anything else as base64.
 */
import { z } from 'zod';
import type { BatchRecord, RecordHeader } from '../records/types';
import { asUtf8 } from '../utf8';

const base64 = z.base64();

export const producedHeaderSchema = z
  .object({
    key: z.string(),
    value: z.string().nullable().optional(),
    valueBase64: base64.optional(),
  })
  .refine((h) => h.value === undefined || h.valueBase64 === undefined, {
    message: 'give value or valueBase64, not both',
  });

export const producedRecordSchema = z
  .object({
    key: z.string().nullable().optional(),
    keyBase64: base64.optional(),
    value: z.unknown().optional(),
    valueBase64: base64.optional(),
    headers: z.array(producedHeaderSchema).optional(),
    partition: z.number().int().min(0).optional(),
    timestamp: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .refine((r) => r.key === undefined || r.keyBase64 === undefined, { message: 'give key or keyBase64, not both' })
  .refine((r) => r.value === undefined || r.valueBase64 === undefined, {
    message: 'give value or valueBase64, not both',
  });

export type ProducedRecord = z.output<typeof producedRecordSchema>;

/** The most headers one record may carry (413 RECORD_TOO_LARGE beyond). */
export const maxHeadersPerRecord = 1000;

/**
 * What each header costs besides its key and value: its JSON frame in a fetched record,
 * `{"key":"","value":null},`. Without it 300,000 empty headers would count as 0 bytes.
 */
export const headerOverheadBytes = 24;

/**
 * The most bytes one record may take in a fetch response, as the Lambda response carries it
 * (base64, JSON-escaped twice: once in the body, once as the body string of the Lambda result).
 * With the envelope of the largest `POST /v1/fetch` response (1,000 partitions, every one an
 * error naming a 249-character topic) it stays inside Lambda's 6 MB: any record produce accepts
 * can be fetched alone, through either route, as text or base64 (test/log/record-limits.test.ts).
 */
export const maxFetchedRecordBytes = 5_000_000;

type SizedRecord = {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[];
};

/**
 * A record's size as fetch's maxBytes and produce's max.message.bytes count it: key, value,
 * header keys (UTF-8) and header values, in bytes, plus `headerOverheadBytes` per header.
 */
export function recordSize(record: SizedRecord): number {
  let size = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const header of record.headers) size += Buffer.byteLength(header.key) + (header.value?.length ?? 0) + headerOverheadBytes;
  return size;
}

/**
 * Bytes a value adds to a Lambda response: its JSON text escaped once more as the `body` string
 * of the Lambda result (every quote and backslash doubles), as Lambda's 6 MB limit counts it.
 */
export function responseBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(JSON.stringify(value))) - 2;
}

const base64Length = (bytes: Uint8Array | null) => (bytes === null ? 0 : 4 * Math.ceil(bytes.length / 3));

/**
 * The most a record can cost in a fetch response in base64 form, wherever it lands: computed
 * without its bytes, from a frame at the largest partition, offset and timestamp plus the base64
 * length of each byte field. Base64 text needs no JSON escaping, so this is exact up to digits.
 */
export function fetchedRecordBytesBound(record: SizedRecord): number {
  const empty = Buffer.alloc(0);
  const frame = toFetchedRecord(
    1_000_000,
    {
      offset: Number.MAX_SAFE_INTEGER,
      timestamp: Number.MAX_SAFE_INTEGER,
      key: record.key && empty,
      value: record.value && empty,
      headers: record.headers.map((h) => ({ key: h.key, value: h.value && empty })),
    },
    true,
  );
  let size = responseBytes(frame) + 1;
  size += base64Length(record.key) + base64Length(record.value);
  for (const header of record.headers) size += base64Length(header.value);
  return size;
}

/** Why a produced record cannot be accepted, checked before anything is written; undefined if it can. */
export function recordLimitViolation(
  record: SizedRecord,
  maxMessageBytes: number,
): { code: 'RECORD_TOO_LARGE'; message: string; details: Record<string, unknown> } | undefined {
  if (record.headers.length > maxHeadersPerRecord) {
    return {
      code: 'RECORD_TOO_LARGE',
      message: `has ${record.headers.length} headers; a record may carry at most ${maxHeadersPerRecord}.`,
      details: { headers: record.headers.length, maxHeaders: maxHeadersPerRecord },
    };
  }
  const size = recordSize(record);
  if (size > maxMessageBytes) {
    return {
      code: 'RECORD_TOO_LARGE',
      message: `is ${size} bytes (key, value and headers, ${headerOverheadBytes} bytes per header included), more than max.message.bytes=${maxMessageBytes}.`,
      details: { size, maxMessageBytes },
    };
  }
  const fetched = fetchedRecordBytesBound(record);
  if (fetched > maxFetchedRecordBytes) {
    return {
      code: 'RECORD_TOO_LARGE',
      message: `would take ${fetched} bytes of a fetch response in base64, more than the ${maxFetchedRecordBytes} a fetch response can carry.`,
      details: { size, fetchedSize: fetched, maxFetchedRecordBytes },
    };
  }
  return undefined;
}

export interface RecordBytes {
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** A string value is its UTF-8 bytes; other JSON is its compact JSON text; null or absent is a tombstone. */
export function valueBytes(value: unknown): Buffer | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export function toRecordBytes(record: ProducedRecord): RecordBytes {
  const key =
    record.keyBase64 !== undefined
      ? Buffer.from(record.keyBase64, 'base64')
      : record.key === undefined || record.key === null
        ? null
        : Buffer.from(record.key, 'utf8');
  const value = record.valueBase64 !== undefined ? Buffer.from(record.valueBase64, 'base64') : valueBytes(record.value);
  const headers = (record.headers ?? []).map((header) => ({
    key: header.key,
    value:
      header.valueBase64 !== undefined
        ? Buffer.from(header.valueBase64, 'base64')
        : header.value === undefined || header.value === null
          ? null
          : Buffer.from(header.value, 'utf8'),
  }));
  return { key, value, headers };
}

function bytesField(name: 'key' | 'value', bytes: Uint8Array | null, forceBase64: boolean): Record<string, string | null> {
  if (bytes === null) return { [name]: null };
  const text = forceBase64 ? undefined : asUtf8(bytes);
  if (text !== undefined) return { [name]: text };
  return { [`${name}Base64`]: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
}

export interface FetchedRecord {
  partition: number;
  offset: number;
  timestamp: number;
  [field: string]: unknown;
}

export function toFetchedRecord(partition: number, record: BatchRecord, forceBase64: boolean): FetchedRecord {
  return {
    partition,
    offset: record.offset,
    timestamp: record.timestamp,
    ...bytesField('key', record.key, forceBase64),
    ...bytesField('value', record.value, forceBase64),
    headers: record.headers.map((header) => ({ key: header.key, ...bytesField('value', header.value, forceBase64) })),
  };
}
