/**
 * Records whose retries or age ran out go to the trigger's onFailure topic through the log's own
 * produce (shared/log/produce.ts): key, value, headers and timestamp kept, plus headers naming the
 * trigger, the source topic, partition and offset, and the error. Each chunk is produced with an
 * Idempotency-Key derived from the trigger's incarnation and the offsets, so a dispatcher that
 * dies after producing and before committing its position cannot write the records twice.
 */
import { log, type ProducibleRecord } from '../log/service';
import { isLogwayError } from '../errors';
import type { DeliverableRecord } from './events';

export const failureHeaders = {
  trigger: 'logway.trigger',
  topic: 'logway.source.topic',
  partition: 'logway.source.partition',
  offset: 'logway.source.offset',
  errorCode: 'logway.error.code',
  errorMessage: 'logway.error.message',
} as const;

export interface FailureContext {
  readonly trigger: string;
  readonly incarnation: string;
  readonly topic: string;
  readonly partition: number;
  readonly error: { readonly code: string; readonly message: string };
}

const bytesOf = (bytes: Uint8Array | null) => (bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null);
const text = (value: string) => Buffer.from(value, 'utf8');

export function failureRecord(record: DeliverableRecord, context: FailureContext): ProducibleRecord {
  return {
    key: bytesOf(record.key),
    value: bytesOf(record.value),
    timestamp: record.timestamp,
    headers: [
      ...record.headers.map((h) => ({ key: h.key, value: bytesOf(h.value) })),
      { key: failureHeaders.trigger, value: text(context.trigger) },
      { key: failureHeaders.topic, value: text(context.topic) },
      { key: failureHeaders.partition, value: text(String(context.partition)) },
      { key: failureHeaders.offset, value: text(String(record.offset)) },
      { key: failureHeaders.errorCode, value: text(context.error.code) },
      { key: failureHeaders.errorMessage, value: text(context.error.message.slice(0, 1000)) },
    ],
  };
}

/** Produce requests of at most this many records and about this many bytes. */
const chunkRecords = 100;
const chunkBytes = 4 * 1024 * 1024;

/** Writes the records to `failureTopic`; throws (a LogwayError saying why) when the topic refuses them. */
export async function sendToFailureTopic(
  failureTopic: string,
  records: readonly DeliverableRecord[],
  context: FailureContext,
): Promise<void> {
  let chunk: DeliverableRecord[] = [];
  let bytes = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    const key = `logway-trigger:${context.incarnation}:${context.partition}:${chunk[0]!.offset}-${chunk.at(-1)!.offset}`;
    try {
      const records = chunk.map((r) => failureRecord(r, context));
      await log.produce(failureTopic, records, { key, requestHash: log.recordsHash(failureTopic, records) });
    } catch (error) {
      // Written before, by a dispatcher that died before committing (its error text may have differed).
      if (!(isLogwayError(error) && error.code === 'IDEMPOTENCY_KEY_REUSED')) throw error;
    }
    chunk = [];
    bytes = 0;
  };
  for (const record of records) {
    const size = (record.key?.length ?? 0) + (record.value?.length ?? 0) + 1024;
    if (chunk.length >= chunkRecords || (chunk.length > 0 && bytes + size > chunkBytes)) await flush();
    chunk.push(record);
    bytes += size;
  }
  await flush();
}
