/**
 * The event a trigger's function receives: the shape Lambda gives a self-managed Kafka event
 * source, so handlers written for Kafka event sources (Powertools' KafkaSelfManagedEventSchema,
 * @aws-lambda-powertools/kafka) run unchanged. Pure.
 *
 * An event must fit Lambda's 6 MB invoke payload. Keys and values travel as base64 (4/3 of their
 * bytes) and header values as JSON arrays of byte numbers (up to 4 characters per byte: "255,"),
 * so a batch is cut to the longest prefix whose JSON fits, measured exactly.
 */
import type { BatchRecord, TimestampType } from '../records/types';

export interface KafkaEventRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: 'CREATE_TIME' | 'LOG_APPEND_TIME';
  key?: string;
  /** Base64; a null value (a tombstone) is the empty string, as the Kafka event schema needs a string. */
  value: string;
  headers: Record<string, number[]>[];
}

export interface SelfManagedKafkaEvent {
  eventSource: 'SelfManagedKafka';
  bootstrapServers: string;
  records: Record<string, KafkaEventRecord[]>;
}

/** A record read for delivery: when its batch was appended and how its timestamp was set. */
export interface DeliverableRecord extends BatchRecord {
  readonly appendedAt: number;
  readonly timestampType: TimestampType;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

export function eventRecord(topic: string, partition: number, record: DeliverableRecord): KafkaEventRecord {
  return {
    topic,
    partition,
    offset: record.offset,
    timestamp: record.timestamp,
    timestampType: record.timestampType === 'LogAppendTime' ? 'LOG_APPEND_TIME' : 'CREATE_TIME',
    ...(record.key ? { key: b64(record.key) } : {}),
    value: record.value ? b64(record.value) : '',
    headers: record.headers.map((header) => ({ [header.key]: header.value ? Array.from(header.value) : [] })),
  };
}

/** The key of a partition's records in the event, as Lambda spells it: `<topic>-<partition>`. */
export const topicPartitionKey = (topic: string, partition: number) => `${topic}-${partition}`;

/** Bytes of the event without records: `{"eventSource":...,"records":{"<key>":[]}}`. */
export function envelopeBytes(topic: string, partition: number, bootstrapServers: string): number {
  return Buffer.byteLength(
    JSON.stringify({ eventSource: 'SelfManagedKafka', bootstrapServers, records: { [topicPartitionKey(topic, partition)]: [] } }),
  );
}

export interface FittedBatch {
  /** The event records that fit (a prefix of the input). */
  readonly records: KafkaEventRecord[];
  /** The exact size of the event they make, in bytes. */
  readonly eventBytes: number;
}

/**
 * The longest prefix of `records` whose event is at most `limitBytes`; empty when even the first
 * record alone does not fit (it can never be delivered: it goes to the failure topic).
 */
export function fitBatch(
  topic: string,
  partition: number,
  records: readonly DeliverableRecord[],
  bootstrapServers: string,
  limitBytes: number,
): FittedBatch {
  let size = envelopeBytes(topic, partition, bootstrapServers);
  const fitted: KafkaEventRecord[] = [];
  for (const record of records) {
    const converted = eventRecord(topic, partition, record);
    const bytes = Buffer.byteLength(JSON.stringify(converted)) + (fitted.length > 0 ? 1 : 0);
    if (size + bytes > limitBytes) break;
    size += bytes;
    fitted.push(converted);
  }
  return { records: fitted, eventBytes: size };
}

export function buildEvent(topic: string, partition: number, records: KafkaEventRecord[], bootstrapServers: string): SelfManagedKafkaEvent {
  return { eventSource: 'SelfManagedKafka', bootstrapServers, records: { [topicPartitionKey(topic, partition)]: records } };
}

/**
 * Lambda's synchronous invoke payload limit is 6 MB; a little is kept back for what the Lambda
 * service adds around the payload.
 */
export const maxEventBytes = 6 * 1024 * 1024 - 1024;
