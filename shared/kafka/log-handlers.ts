/**
 * Produce, Fetch, ListOffsets and InitProducerId on the log's own functions, in-process: the
 * client's batches are validated here and appended through shared/log/produce-batches.ts as they
 * came (idempotent producers included), and stored batches are returned as they are with their
 * base offset patched in, so records cross between the Kafka protocol and the HTTP API both ways.
 */
import { log, type BatchIndexItem, type ClientBatch, type ClientBatchOptions, type PartitionHead } from '../log/service';
import { randomInt } from 'node:crypto';
import { loadServiceConfig } from '../config';
import { fetchMetrics } from '../log/metrics';
import { cachedTopic } from '../topics/cache';
import { effectiveTopicConfig } from '../topics/model';
import { getTopic, partitionKeyOf, type TopicMetadata } from '../topics/store';
import { clusterDenied, topicDenied } from './authorization';
import { clientBatches } from './batches';
import type { Message } from './codec';
import { KafkaError, kafkaErrorCodes, throttleTimeOf, toKafkaError, toProduceError } from './errors';
import type { Handler, RequestContext } from './handlers';
import { sleep } from '../runtime/retry';

// biome-ignore lint/suspicious/noExplicitAny: request shapes come from the schema table, read field by field
type Any = any;

// ---- Produce ----

interface PartitionResult {
  index: number;
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  recordErrors: never[];
  errorMessage: string | null;
  /** Not a field of a partition's response (the encoder reads the schema's): its share of the response's throttleTimeMs. */
  throttleTimeMs?: number;
}

async function produce(request: Any, { version, access, broker }: RequestContext): Promise<Message | undefined> {
  const appending: ClientBatchOptions = { groupCommit: broker.appendGroupCommit };
  const responses = await Promise.all(
    request.topicData.map(async (t: Any) => ({
      name: t.name,
      partitionResponses:
        request.transactionalId !== null
          ? t.partitionData.map((p: Any) =>
              failed(p.index, new KafkaError('TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 'Transactions are not supported by Logway yet.')),
            )
          : !access.topic(t.name, 'produce')
            ? t.partitionData.map((p: Any) => failed(p.index, topicDenied(t.name)))
            : await produceTopic(t.name, t.partitionData, version, appending),
    })),
  );
  // A throttled partition asks the client to wait, as a broker over quota does (KIP-219).
  const throttleTimeMs = Math.max(
    0,
    ...responses.flatMap((r: Any) => r.partitionResponses.map((p: PartitionResult) => p.throttleTimeMs ?? 0)),
  );
  // acks=0: the client expects no response at all.
  return request.acks === 0 ? undefined : { responses, throttleTimeMs };
}

async function produceTopic(
  name: string,
  partitions: { index: number; records: Buffer | null }[],
  _version: number,
  appending: ClientBatchOptions,
): Promise<PartitionResult[]> {
  let topic: TopicMetadata;
  try {
    topic = await cachedTopic(name);
  } catch (error) {
    return partitions.map((p) => failed(p.index, error));
  }
  return Promise.all(partitions.map((p) => producePartition(topic, p.index, p.records, appending)));
}

function failed(index: number, error: unknown): PartitionResult {
  const { code, message, throttleTimeMs } = toProduceError(error);
  return {
    index,
    errorCode: code,
    baseOffset: -1,
    logAppendTimeMs: -1,
    logStartOffset: -1,
    recordErrors: [],
    errorMessage: message,
    ...(throttleTimeMs > 0 ? { throttleTimeMs } : {}),
  };
}

async function producePartition(
  initial: TopicMetadata,
  index: number,
  records: Buffer | null,
  appending: ClientBatchOptions,
): Promise<PartitionResult> {
  let topic = initial;
  try {
    if (index < 0 || index >= topic.partitions) {
      topic = await cachedTopic(topic.name, index + 1);
      if (index < 0 || index >= topic.partitions) {
        throw new KafkaError(
          'UNKNOWN_TOPIC_OR_PARTITION',
          `Topic '${topic.name}' has no partition ${index}: it has partitions 0 to ${topic.partitions - 1}.`,
        );
      }
    }
    const config = effectiveTopicConfig(topic.config);
    const service = loadServiceConfig();
    const now = Date.now();
    const logAppendTime = config['message.timestamp.type'] === 'LogAppendTime' ? now : undefined;
    const batches = clientBatches(records, {
      maxMessageBytes: config['max.message.bytes'],
      maxUncompressedBytes: service.maxMaxBytes,
      ...(logAppendTime !== undefined ? { logAppendTime } : {}),
    });
    let baseOffset = -1;
    for (const batch of batches) {
      const offset = await appendBatch(topic, index, batch, appending);
      if (baseOffset < 0) baseOffset = offset;
    }
    return {
      index,
      errorCode: 0,
      baseOffset,
      logAppendTimeMs: logAppendTime ?? -1,
      logStartOffset: -1,
      recordErrors: [],
      errorMessage: null,
    };
  } catch (error) {
    return failed(index, error);
  }
}

/** Appends one batch through the log; returns its base offset (the first attempt's, for a retried idempotent batch). */
async function appendBatch(topic: TopicMetadata, partition: number, batch: ClientBatch, appending: ClientBatchOptions): Promise<number> {
  const outcome = await log.appendClientBatch(topic, partition, batch, appending);
  if (outcome.kind === 'appended') return outcome.baseOffset;
  if (outcome.kind === 'sequence-reused') {
    throw new KafkaError(
      'DUPLICATE_SEQUENCE_NUMBER',
      'This producer already sent a batch with this sequence number and a different record count.',
    );
  }
  if (outcome.kind === 'out-of-order') {
    throw new KafkaError(
      'OUT_OF_ORDER_SEQUENCE_NUMBER',
      `Producer ${batch.header.producerId} skipped sequence numbers on partition ${partition}: a batch before sequence ${batch.header.baseSequence} was not appended. Re-send the batches in order.`,
    );
  }
  throw new KafkaError('NOT_LEADER_OR_FOLLOWER', `Topic '${outcome.topic}' changed while producing to it; refresh metadata and retry.`);
}

// ---- Fetch ----

interface FetchEntry {
  topic: string;
  partition: number;
  offset: number;
  maxBytes: number;
  metadata?: TopicMetadata;
  errorCode: number;
  head?: PartitionHead;
  records?: Buffer[];
}

async function fetchHandler(request: Any, context: RequestContext): Promise<Message> {
  try {
    return await fetchRecords(request, context);
  } catch (error) {
    // A broker over its fetch quota answers at once with no data and throttle_time_ms (KIP-219),
    // and the consumer fetches again after it. A throttled read is that here: an error code would
    // be THROTTLING_QUOTA_EXCEEDED, which KafkaJS does not know and fails its consumer on.
    const throttleTimeMs = throttleTimeOf(error);
    if (throttleTimeMs === undefined) throw error;
    return { throttleTimeMs, errorCode: 0, sessionId: 0, responses: [] };
  }
}

async function fetchRecords(request: Any, { access }: RequestContext): Promise<Message> {
  const service = loadServiceConfig();
  const deadline = Date.now() + Math.min(Math.max(request.maxWaitMs, 0), service.maxWaitMs);
  const minBytes = Math.max(request.minBytes, 0);
  const maxBytes = request.maxBytes > 0 ? request.maxBytes : 0x7fffffff;

  const entries: FetchEntry[] = [];
  for (const t of request.topics) {
    const allowed = access.topic(t.topic, 'consume');
    let metadata: TopicMetadata | undefined;
    try {
      metadata = allowed ? await cachedTopic(t.topic) : undefined;
    } catch {
      metadata = undefined;
    }
    for (const p of t.partitions) {
      const known = metadata !== undefined && p.partition >= 0 && p.partition < metadata.partitions;
      entries.push({
        topic: t.topic,
        partition: p.partition,
        offset: p.fetchOffset,
        maxBytes: p.partitionMaxBytes,
        ...(known ? { metadata } : {}),
        errorCode: !allowed ? kafkaErrorCodes.TOPIC_AUTHORIZATION_FAILED : known ? 0 : kafkaErrorCodes.UNKNOWN_TOPIC_OR_PARTITION,
      });
    }
  }
  const live = entries.filter((e) => e.metadata);
  const keyOf = (e: FetchEntry) => partitionKeyOf(e.metadata!.topicId, e.partition);
  let seen = '';
  for (;;) {
    const heads = await log.readHeadsAcrossTopics(live.map((e) => ({ topicId: e.metadata!.topicId, partition: e.partition })));
    for (const entry of live) {
      entry.head = heads.get(keyOf(entry))!;
      const { logStartOffset, highWatermark } = entry.head;
      entry.errorCode = entry.offset < logStartOffset || entry.offset > highWatermark ? kafkaErrorCodes.OFFSET_OUT_OF_RANGE : 0;
    }
    const fingerprint = live.map((e) => e.head!.highWatermark).join(',');
    let total = 0;
    if (fingerprint !== seen) {
      seen = fingerprint;
      total = await readFetchData(live, maxBytes);
    } else total = live.reduce((sum, e) => sum + (e.records ?? []).reduce((s, b) => s + b.length, 0), 0);
    const done = total >= minBytes || Date.now() >= deadline || live.length === 0 || live.some((e) => e.errorCode !== 0);
    if (done) break;
    await sleep(Math.min(service.longPollIntervalMs, Math.max(0, deadline - Date.now())));
  }
  const byTopic = new Map<string, Message[]>();
  for (const entry of entries) {
    const list = byTopic.get(entry.topic) ?? [];
    byTopic.set(entry.topic, list);
    const head = entry.head;
    list.push({
      partitionIndex: entry.partition,
      errorCode: entry.errorCode,
      highWatermark: head?.highWatermark ?? -1,
      lastStableOffset: head?.highWatermark ?? -1,
      logStartOffset: head?.logStartOffset ?? -1,
      abortedTransactions: null,
      preferredReadReplica: -1,
      records: entry.errorCode === 0 && entry.records?.length ? Buffer.concat(entry.records) : Buffer.alloc(0),
    });
  }
  return { errorCode: 0, sessionId: 0, responses: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) };
}

/**
 * Reads the stored batches from each partition's fetch offset, as a broker fills a fetch: whole
 * batches, the first one even when larger than the limits (so a consumer always progresses),
 * then only batches within the partition's and the response's byte limits. Returns the bytes read.
 */
async function readFetchData(entries: FetchEntry[], maxBytes: number): Promise<number> {
  let total = 0;
  for (const entry of entries) {
    entry.records = [];
    const head = entry.head!;
    if (entry.errorCode !== 0 || entry.offset >= head.highWatermark) continue;
    const chosen: BatchIndexItem[] = [];
    let partitionBytes = 0;
    for await (const item of log.batchesFrom(entry.metadata!.topicId, entry.partition, entry.offset, 4)) {
      if (item.baseOffset >= head.highWatermark) break;
      const first = total === 0 && chosen.length === 0;
      if (!first && (partitionBytes + item.sizeBytes > entry.maxBytes || total + item.sizeBytes > maxBytes)) break;
      chosen.push(item);
      partitionBytes += item.sizeBytes;
      total += item.sizeBytes;
      if (item.lastOffset >= head.highWatermark - 1) break;
    }
    entry.records = await Promise.all(chosen.map((item) => log.batchBytes(item)));
    fetchMetrics.fetched(
      chosen.reduce((sum, item) => sum + item.recordCount, 0),
      partitionBytes,
    );
  }
  return total;
}

// ---- ListOffsets ----

const latest = -1;
const earliest = -2;

async function listOffsets(request: Any, { version, access }: RequestContext): Promise<Message> {
  const topics = await Promise.all(
    request.topics.map(async (t: Any) => {
      // Offsets are part of reading, as the HTTP API grants them with the read routes.
      const allowed = access.topic(t.name, 'consume');
      const topic = allowed ? await getTopic(t.name).catch(() => undefined) : undefined;
      const partitions = await Promise.all(
        t.partitions.map(async (p: Any) => {
          const base = { partitionIndex: p.partitionIndex, leaderEpoch: -1 };
          if (!allowed)
            return { ...base, errorCode: kafkaErrorCodes.TOPIC_AUTHORIZATION_FAILED, oldStyleOffsets: [], timestamp: -1, offset: -1 };
          if (!topic || p.partitionIndex < 0 || p.partitionIndex >= topic.partitions) {
            return { ...base, errorCode: kafkaErrorCodes.UNKNOWN_TOPIC_OR_PARTITION, oldStyleOffsets: [], timestamp: -1, offset: -1 };
          }
          try {
            const { offset, timestamp } = await lookup(topic, p.partitionIndex, p.timestamp);
            return { ...base, errorCode: 0, oldStyleOffsets: version === 0 && offset >= 0 ? [offset] : [], timestamp, offset };
          } catch (error) {
            return { ...base, errorCode: toKafkaError(error).code, oldStyleOffsets: [], timestamp: -1, offset: -1 };
          }
        }),
      );
      return { name: t.name, partitions };
    }),
  );
  return { topics };
}

async function lookup(topic: TopicMetadata, partition: number, timestamp: number): Promise<{ offset: number; timestamp: number }> {
  const head = await log.readHead(topic.topicId, partition);
  if (timestamp === earliest) return { offset: head.logStartOffset, timestamp: -1 };
  if (timestamp === latest || timestamp < 0) return { offset: head.highWatermark, timestamp: -1 };
  const offset = await log.offsetForTimestamp(topic.topicId, partition, timestamp, head);
  if (offset === null) return { offset: -1, timestamp: -1 };
  // Kafka answers with the found record's own timestamp.
  const found = await log.readRecords(topic.topicId, partition, offset, head.highWatermark, { maxRecords: 1, maxBytes: 1 });
  return { offset, timestamp: found.records[0]?.timestamp ?? timestamp };
}

// ---- InitProducerId ----

async function initProducerId(request: Any, { access }: RequestContext): Promise<Message> {
  if (request.transactionalId !== null) {
    return { errorCode: kafkaErrorCodes.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 };
  }
  // Kafka 2.8+: an idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic.
  if (!access.produceAnywhere()) {
    const { code } = toKafkaError(clusterDenied('use an idempotent producer (no produce grant on any topic)'));
    return { errorCode: code, producerId: -1, producerEpoch: -1 };
  }
  // A random 48-bit id, unique enough that two producers never share one in practice, recorded so
  // that its batches' sequences are checked from 0 (shared/log/producer-sequences.ts).
  const producerId = randomInt(1, 2 ** 48 - 1);
  try {
    await log.registerProducer(producerId);
  } catch (error) {
    return { errorCode: toKafkaError(error).code, producerId: -1, producerEpoch: -1 };
  }
  return { errorCode: 0, producerId, producerEpoch: 0 };
}

export const logHandlers: Readonly<Record<number, Handler>> = {
  0: produce,
  1: fetchHandler,
  2: listOffsets,
  22: initProducerId,
};
