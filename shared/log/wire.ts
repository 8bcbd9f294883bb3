/**
 * Records on the wire (DESIGN.md "Records on the wire"): the JSON shape of a produced record,
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

/**
 * A record's size as fetch's maxBytes and produce's max.message.bytes count it: key, value,
 * header keys (UTF-8) and header values, in bytes.
 */
export function recordSize(record: {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[];
}): number {
  let size = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const header of record.headers) size += Buffer.byteLength(header.key) + (header.value?.length ?? 0);
  return size;
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
