/**
 * Produce: check a request's records against the limits, partition them as Kafka's Java client
 * does, encode one RecordBatch v2 per partition, put large batches in one S3 segment object,
 * then append every partition in one transaction (docs/guarantees.md, guarantees 1-3).
 *
 * Transport-neutral: callers pass records as bytes (the HTTP adapter parses JSON into them in
 * shared/api/log-requests.ts; the trigger dispatcher builds them itself).
 */
import { z } from 'zod';
import { loadServiceConfig } from '../config';
import {
  type LogwayError,
  recordLimitExceeded,
  recordListTooLarge,
  throttled,
  topicBeingDeleted,
  unknownPartition,
  unknownTopic,
} from '../errors';
import { sleep } from '../runtime/retry';
import { createRequestPartitioner, encodeRecordBatch } from '../records';
import type { CompressionType, RecordInput } from '../records/types';
import { cachedTopic, forgetTopic } from '../topics/cache';
import { effectiveTopicConfig } from '../topics/model';
import { getTopic, type TopicMetadata } from '../topics/store';
import { appendBatches, type PreparedBatch } from './append';
import { appendDeadlineMs } from './chunk-append';
import { readStoredProduce } from './exactly-once';
import {
  encodeStoredOffsets,
  maxStoredResponseBytes,
  answersBeforeAppend,
  replayOrReject,
  scopedIdempotencyKey,
  type StoredProduce,
  storedOffsetsBytesBound,
} from './idempotency';
import { produceMetrics } from './metrics';
import { writeSegment } from './segments';
import { producedRecordSchema, type RecordBytes, recordLimitViolation, responseBytes } from './json';
import { responseBudgetBytes } from './fetch';

export const produceRequestSchema = z.object({
  records: z.array(producedRecordSchema).min(1, 'a produce request needs at least one record'),
});

export type ProduceRequest = z.output<typeof produceRequestSchema>;

/** A record to produce: its bytes, and optionally the partition and timestamp the producer chose. */
export interface ProducibleRecord extends RecordBytes {
  readonly partition?: number | undefined;
  readonly timestamp?: number | undefined;
}

/**
 * An Idempotency-Key (validated) and the hash of the request it came with: a retry with the
 * same key and hash gets the first response, with another hash it is refused.
 */
export interface ProduceIdempotency {
  readonly key: string;
  readonly requestHash: string;
}

export interface ProducedOffset {
  partition: number;
  offset: number;
  timestamp: number;
}

export interface ProduceResponse {
  offsets: ProducedOffset[];
}

export interface ProduceOutcome {
  readonly response: ProduceResponse;
  /** True when an Idempotency-Key retry got the first attempt's response. */
  readonly replayed: boolean;
}

/**
 * DynamoDB transactions take at most 100 items: one idempotency record and two items (partition
 * head, batch index) per partition leave room for 49 partitions per request.
 */
export const maxPartitionsPerRequest = 49;

/**
 * The most records one produce request may carry (413 RECORD_LIST_TOO_LARGE beyond): its
 * response (at most `producedOffsetBytes` a record) then always fits Lambda's 6 MB, and its
 * stored Idempotency-Key response DynamoDB's 400 KB item. Checked before anything is written.
 */
export const maxRecordsPerRequest = 20_000;

/** The most one record's entry can take in a produce response, as Lambda counts it. */
export const producedOffsetBytes =
  responseBytes({ partition: 1_000_000, offset: Number.MAX_SAFE_INTEGER, timestamp: Number.MAX_SAFE_INTEGER }) + 1;

/** Bytes a produce response of `records` records takes at most. */
export const produceResponseBytesBound = (records: number) => responseBytes({ offsets: [] }) + records * producedOffsetBytes;

function checkResponseFits(records: number): void {
  if (records > maxRecordsPerRequest || produceResponseBytesBound(records) > responseBudgetBytes) {
    throw recordListTooLarge(
      `This request has ${records} records; one request may carry at most ${maxRecordsPerRequest}. Split it into several requests.`,
      { field: 'records', records, maxRecords: maxRecordsPerRequest },
    );
  }
}

function compressionOf(configured: string): CompressionType {
  // 'producer' keeps what the producer sent; HTTP producers send records uncompressed.
  if (configured === 'producer' || configured === 'uncompressed') return 'none';
  return configured as CompressionType;
}

interface PlannedPartition {
  partition: number;
  records: RecordInput[];
  /** Index of each record in the request, in partition order. */
  requestIndexes: number[];
}

function plan(
  topic: TopicMetadata,
  records: readonly RecordBytes[],
  explicit: (number | undefined)[],
  now: number,
  timestamps: (number | undefined)[],
): PlannedPartition[] {
  const partitionFor = createRequestPartitioner(topic.partitions);
  const byPartition = new Map<number, PlannedPartition>();
  records.forEach((record, index) => {
    const requested = explicit[index];
    if (requested !== undefined && requested >= topic.partitions) {
      throw unknownPartition(topic.name, requested, topic.partitions);
    }
    const partition = requested ?? partitionFor(record.key);
    let planned = byPartition.get(partition);
    if (!planned) {
      planned = { partition, records: [], requestIndexes: [] };
      byPartition.set(partition, planned);
    }
    planned.records.push({ key: record.key, value: record.value, headers: record.headers, timestamp: timestamps[index] ?? now });
    planned.requestIndexes.push(index);
  });
  return [...byPartition.values()].sort((a, b) => a.partition - b.partition);
}

/** Produces `records` (at least one) to the topic, exactly once per Idempotency-Key when there is one. */
export async function produce(
  topicName: string,
  records: readonly ProducibleRecord[],
  idempotency?: ProduceIdempotency,
): Promise<ProduceOutcome> {
  const config = loadServiceConfig();
  const idempotencyKey = idempotency?.key;
  const hash = idempotency?.requestHash;
  const highestExplicitPartition = records.reduce((max, r) => Math.max(max, r.partition ?? -1), -1);
  // A keyed request is not looked up before its append: the append's own condition on the key's
  // record finds a stored one (an outcome of 'duplicate'), so a first attempt, the common case,
  // costs no read and one round trip fewer. It is looked up first only where something would
  // happen before that condition: a refusal on the topic's current config (the first attempt may
  // have been accepted under older config, and its retry replays), or a segment object written
  // to S3 (a replay would leave it orphaned).
  const storedAnswer = async (): Promise<ProduceOutcome | undefined> => {
    if (idempotencyKey === undefined || hash === undefined) return undefined;
    const stored = await storedForCurrentTopic(topicName, idempotencyKey, hash, highestExplicitPartition + 1);
    // A claim of this very request whose write is not in the chunks yet: the append settles it
    // (it waits for the claim, or takes it over).
    if (!answersBeforeAppend(stored, hash)) return undefined;
    return { response: replayOrReject(stored, hash, idempotencyKey, topicName) as ProduceResponse, replayed: true };
  };
  const replayOr = async (refusal: unknown): Promise<ProduceOutcome> => {
    const answer = await storedAnswer();
    if (answer) return answer;
    throw refusal;
  };

  checkResponseFits(records.length);
  const recordBytes = records;
  let totalBytes = 0;
  // One deadline for the whole request: lost races, and re-plans after the topic changed.
  const deadline = Date.now() + appendDeadlineMs;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) {
      if (Date.now() >= deadline) throw topicChangingTooOften(topicName);
      await sleep(replanDelayMs(attempt));
    }
    let topic = await cachedTopic(topicName, highestExplicitPartition + 1);
    // Refuse a record only on config a fresh read confirms: a cached topic may predate a raise.
    // (A lowered limit binds through the append's config-version condition.)
    const violates = (t: TopicMetadata) => {
      const limit = effectiveTopicConfig(t.config)['max.message.bytes'];
      return recordBytes.some((record) => recordLimitViolation(record, limit) !== undefined);
    };
    if (violates(topic)) {
      forgetTopic(topicName);
      topic = await cachedTopic(topicName, highestExplicitPartition + 1);
    }
    const topicConfig = effectiveTopicConfig(topic.config);
    const maxMessageBytes = topicConfig['max.message.bytes'];
    for (const [index, record] of recordBytes.entries()) {
      const violation = recordLimitViolation(record, maxMessageBytes);
      if (violation) return replayOr(recordLimitExceeded(topicName, index, violation));
    }

    const now = Date.now();
    const logAppendTime = topicConfig['message.timestamp.type'] === 'LogAppendTime';
    const planned = plan(
      topic,
      recordBytes,
      records.map((r) => r.partition),
      now,
      records.map((r) => (logAppendTime ? now : r.timestamp)),
    );
    if (planned.length > maxPartitionsPerRequest) {
      return replayOr(
        recordListTooLarge(
          `This request writes to ${planned.length} partitions; one request can append atomically to at most ${maxPartitionsPerRequest}. Split it, or group records by partition.`,
          { partitions: planned.length, maxPartitions: maxPartitionsPerRequest },
        ),
      );
    }

    if (idempotencyKey !== undefined && storedOffsetsBytesBound(records.length, planned.length) > maxStoredResponseBytes) {
      return replayOr(
        recordListTooLarge(
          'The response to this request is too large to keep for Idempotency-Key replay; send fewer records per request.',
          {
            records: records.length,
            maxStoredResponseBytes,
          },
        ),
      );
    }

    const compression = compressionOf(topicConfig['compression.type']);
    const encoded = await Promise.all(
      planned.map(async (p) => ({
        planned: p,
        bytes: await encodeRecordBatch({
          records: p.records,
          compression,
          timestampType: logAppendTime ? 'LogAppendTime' : 'CreateTime',
        }),
      })),
    );
    totalBytes = encoded.reduce((sum, e) => sum + e.bytes.length, 0);
    const large = encoded.filter((e) => e.bytes.length > config.inlineBatchMaxBytes);
    if (large.length > 0) {
      const answer = await storedAnswer();
      if (answer) return answer;
    }
    const segment =
      large.length > 0
        ? await writeSegment(
            topic.topicId,
            large.map((e) => e.bytes),
          )
        : undefined;
    const batches: PreparedBatch[] = encoded.map((e) => {
      const largeIndex = large.indexOf(e);
      // A loop, not Math.min(...spread): a request may hold more records than a call has arguments.
      let firstTimestamp = Infinity;
      let maxTimestamp = -Infinity;
      for (const record of e.planned.records) {
        firstTimestamp = Math.min(firstTimestamp, record.timestamp!);
        maxTimestamp = Math.max(maxTimestamp, record.timestamp!);
      }
      return {
        partition: e.planned.partition,
        bytes: e.bytes,
        recordCount: e.planned.records.length,
        firstTimestamp,
        maxTimestamp,
        location:
          segment && largeIndex >= 0
            ? { kind: 'segment', key: segment.key, position: segment.positions[largeIndex]!, batchesInSegment: large.length }
            : { kind: 'inline' },
      };
    });

    const responseFor = (baseOffsets: ReadonlyMap<number, number>): ProduceResponse => {
      const offsets: ProducedOffset[] = new Array(records.length);
      for (const p of planned) {
        const base = baseOffsets.get(p.partition)!;
        p.requestIndexes.forEach((requestIndex, i) => {
          offsets[requestIndex] = { partition: p.partition, offset: base + i, timestamp: p.records[i]!.timestamp! };
        });
      }
      return { offsets };
    };

    const outcome = await appendBatches(
      topic,
      batches,
      idempotencyKey !== undefined && hash !== undefined
        ? {
            key: scopedIdempotencyKey(topic.topicId, idempotencyKey),
            requestHash: hash,
            expiresAt: Math.floor(Date.now() / 1000) + Math.round(config.idempotencyTtlHours * 3600),
            template: encodeStoredOffsets(responseFor(new Map(planned.map((p) => [p.partition, 0]))).offsets),
          }
        : undefined,
      { deadlineMs: Math.max(1, deadline - Date.now()) },
    );
    if (outcome.kind === 'appended') {
      produceMetrics.produced(records.length, totalBytes);
      return { response: responseFor(outcome.baseOffsets), replayed: false };
    }
    if (outcome.kind === 'duplicate') {
      const stored = await confirmedUnder(topic, outcome.stored);
      // The key is a deleted topic's (this process's cached metadata): plan against the new one.
      if ('replacedBy' in stored) {
        forgetTopic(topicName);
        continue;
      }
      return { response: replayOrReject(stored, hash!, idempotencyKey!, topicName) as ProduceResponse, replayed: true };
    }
    // The topic changed: plan again against what it is now.
    forgetTopic(topicName);
    if (outcome.reason === 'deleted') {
      // A partition marked deleted never takes an append again. If the topic of that name is
      // still the same topic, its deletion is under way (or crashed halfway and will be
      // finished by a retried DELETE): it is gone for producers, not worth a retry loop.
      const fresh = await getTopic(topicName);
      if (!fresh) throw unknownTopic(topicName);
      if (fresh.topicId === topic.topicId) {
        throw topicBeingDeleted(topicName);
      }
    }
  }
}

/**
 * The stored response for this key under the topic of that name as it is now. Keys are scoped to
 * the topic id: a topic deleted and created again does not replay the old topic's offsets, and
 * one topic's producers cannot take another's keys.
 */
async function storedForCurrentTopic(topicName: string, key: string, requestHash: string, partitionsNeeded: number) {
  const found = await storedUnder(await cachedTopic(topicName, partitionsNeeded), key, requestHash);
  if (!found || !('replacedBy' in found)) return found;
  forgetTopic(topicName);
  return readStoredProduce(scopedIdempotencyKey(found.replacedBy.topicId, key), requestHash);
}

/**
 * The key's stored response under `topic`. A hit is confirmed with a fresh read of the topic,
 * since `topic` may be cached metadata of a topic deleted since: then the hit is not this
 * request's, and the topic that replaced it is returned instead.
 */
async function storedUnder(
  topic: TopicMetadata,
  key: string,
  requestHash: string,
): Promise<StoredProduce | undefined | { replacedBy: TopicMetadata }> {
  const stored = await readStoredProduce(scopedIdempotencyKey(topic.topicId, key), requestHash);
  return stored && confirmedUnder(topic, stored);
}

/** `stored`, found under `topic`'s scope of a key, if a fresh read confirms `topic` is still the topic of its name. */
async function confirmedUnder(topic: TopicMetadata, stored: StoredProduce): Promise<StoredProduce | { replacedBy: TopicMetadata }> {
  const fresh = await getTopic(topic.name);
  if (!fresh) throw unknownTopic(topic.name);
  return fresh.topicId === topic.topicId ? stored : { replacedBy: fresh };
}

/** A short, growing pause before planning again against a topic that changed (10 ms a try, at most 200). */
const replanDelayMs = (attempt: number) => Math.min(200, 10 * attempt);

function topicChangingTooOften(topic: string): LogwayError {
  return throttled(`Topic '${topic}' kept changing while this request was being appended; retry (with the same Idempotency-Key).`, {
    topic,
  });
}
