/**
 * Pure helpers of the console: how a record's bytes are shown, what a search matches, how the
 * produce form's headers are read, where a browse starts. No DOM here, so they are unit-tested.
 */
import type { FetchedRecordJson, HeaderJson } from '../../shared/api/log-shapes';

/** A key, value or header value as fetched: text when valid UTF-8, else base64, or null. */
export interface FetchedBytes {
  text?: string | null;
  base64?: string;
}

export type Shown =
  | { kind: 'null'; display: string }
  | { kind: 'json'; display: string }
  | { kind: 'text'; display: string }
  | { kind: 'base64'; display: string };

/** JSON objects and arrays are shown indented; non-UTF-8 bytes as base64; a null as such. */
export function showBytes(bytes: FetchedBytes): Shown {
  if (bytes.base64 !== undefined) return { kind: 'base64', display: bytes.base64 };
  if (bytes.text === null || bytes.text === undefined) return { kind: 'null', display: 'null' };
  const text = bytes.text;
  const trimmed = text.trim();
  if ((trimmed.startsWith('{') && trimmed.endsWith('}')) || (trimmed.startsWith('[') && trimmed.endsWith(']'))) {
    try {
      return { kind: 'json', display: JSON.stringify(JSON.parse(trimmed), null, 2) };
    } catch {
      // Not JSON after all: shown as text.
    }
  }
  return { kind: 'text', display: text };
}

/** The API's own shapes (shared/api/log-shapes.ts imports nothing, so the bundle stays small). */
export type FetchedHeader = HeaderJson;
export type FetchedRecord = FetchedRecordJson;

export const recordKey = (r: FetchedRecord): FetchedBytes =>
  r.keyBase64 !== undefined ? { base64: r.keyBase64 } : { text: r.key ?? null };
export const recordValue = (r: FetchedRecord): FetchedBytes =>
  r.valueBase64 !== undefined ? { base64: r.valueBase64 } : { text: r.value ?? null };
export const headerValue = (h: FetchedHeader): FetchedBytes =>
  h.valueBase64 !== undefined ? { base64: h.valueBase64 } : { text: h.value ?? null };

/** Case-insensitive substring search in a record's key, value, header names and values (as shown), and offset. */
export function recordMatches(record: FetchedRecord, query: string): boolean {
  const needle = query.trim().toLowerCase();
  if (!needle) return true;
  const haystacks = [
    showBytes(recordKey(record)).display,
    showBytes(recordValue(record)).display,
    record.value ?? '',
    String(record.offset),
    ...(record.headers ?? []).flatMap((h) => [h.key, showBytes(headerValue(h)).display]),
  ];
  return haystacks.some((h) => h.toLowerCase().includes(needle));
}

/** Orders records by timestamp, then partition, then offset: one timeline across partitions. */
export function compareRecords(a: FetchedRecord, b: FetchedRecord): number {
  return a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset;
}

/** Adds records to a loaded list, once each (a partition and offset is one record), in order. */
export function mergeRecords(loaded: readonly FetchedRecord[], more: readonly FetchedRecord[]): FetchedRecord[] {
  const seen = new Set(loaded.map((r) => `${r.partition}:${r.offset}`));
  const added = more.filter((r) => {
    const id = `${r.partition}:${r.offset}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  return added.length === 0 ? [...loaded] : [...loaded, ...added].sort(compareRecords);
}

/** The produce form's headers: one `name: value` per line; blank lines skipped. */
export function parseHeaderLines(text: string): { headers: { key: string; value: string }[] } | { error: string } {
  const headers: { key: string; value: string }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return { error: `Header line ${i + 1} ('${line.slice(0, 40)}') needs the form name: value.` };
    headers.push({ key: line.slice(0, colon).trim(), value: line.slice(colon + 1).replace(/^ /, '') });
  }
  return { headers };
}

export interface PartitionRange {
  partition: number;
  logStartOffset: number;
  highWatermark: number;
}

/** Where "the latest n" of a partition starts: n before the end, not before the log start. */
export function latestStart(range: PartitionRange, n: number): number {
  return Math.max(range.logStartOffset, range.highWatermark - Math.max(0, n));
}

/** An offset the user typed, clamped into the partition's range (as the API would refuse it outside). */
export function clampOffset(range: PartitionRange, offset: number): number {
  return Math.min(range.highWatermark, Math.max(range.logStartOffset, offset));
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A timestamp as local date and time with milliseconds, ISO-like. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return String(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export const formatCount = (n: number): string => n.toLocaleString('en-US');
