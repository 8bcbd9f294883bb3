/**
 * What the dispatcher's wake-up streams say, read from their keys alone (both streams are
 * KEYS_ONLY). The chunks table's stream carries `{partitionKey, baseOffset}` of every chunk put,
 * joined, sealed, rewritten or removed; only a chunk of a partition (`<topicId>:<partition>`)
 * that was written can mean an append. The retention sweep's own items in that table
 * (`segment-refs#<object key>`, `orphan-cursor#<topicId>`) and removals (retention deleting a
 * chunk, TTL deleting a stub) wake nothing.
 */

/** A stream record as both the Lambda event and the DynamoDB Streams API give it (keys only). */
export interface StreamRecordKeys {
  readonly eventName?: string;
  readonly dynamodb?: { readonly Keys?: Readonly<Record<string, { readonly S?: string; readonly N?: string } | undefined>> };
}

/** `<topicId>:<partition>` (a partition's key in the partitions and chunks tables) → its parts; undefined for any other key. */
export function parsePartitionKey(key: string): { topicId: string; partition: number } | undefined {
  const at = key.lastIndexOf(':');
  if (at <= 0 || key.includes('#')) return undefined;
  const digits = key.slice(at + 1);
  if (!/^\d{1,9}$/.test(digits)) return undefined;
  return { topicId: key.slice(0, at), partition: Number(digits) };
}

/** The partition key a chunks-table stream record may have appended to, or undefined if it cannot be an append. */
export function appendedPartitionKey(record: StreamRecordKeys): string | undefined {
  if (record.eventName === 'REMOVE') return undefined;
  const keys = record.dynamodb?.Keys;
  const partitionKey = keys?.partitionKey?.S;
  if (partitionKey === undefined || keys?.baseOffset?.N === undefined) return undefined;
  return parsePartitionKey(partitionKey) ? partitionKey : undefined;
}
