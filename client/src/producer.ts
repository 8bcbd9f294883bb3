/**
 * The producer: KafkaJS's `send({ topic, messages })` over Logway's HTTP produce, with Kafka's
 * client-side batching.
 *
 * - Partitioning happens here, with the service's own murmur2 partitioner, so records are grouped
 *   per partition before they leave (keyed records: murmur2(key) % partitions; null keys stick to
 *   one random partition until its batch is sent, as Kafka's sticky partitioner does).
 * - Records wait up to `lingerMs` for company (Kafka's linger.ms); a partition's batch is sent at
 *   once when it reaches `batchSize` bytes (Kafka's batch.size) or `maxBatchRecords` records.
 * - A flush sends ONE request per topic holding every waiting partition's batch (up to 49
 *   partitions and `maxRequestBytes` per request: the service appends a request atomically in one
 *   DynamoDB transaction). A topic has one flush in flight at a time, which keeps per-partition
 *   order across retries.
 * - Each request carries a fresh `Idempotency-Key` (a UUID) that its retries reuse: a retry after
 *   a timeout or a 5xx whose outcome was unknown gets the first attempt's offsets, never a
 *   second copy.
 */
import { randomUUID } from 'node:crypto';
import { requestLimits } from '../../shared/config';
import { partitionForKey } from '../../shared/records/partitioner';
import { BoundedCache } from '../../shared/runtime/bounded-cache';
import { clientError, hasErrorCode, serviceRefusal } from './errors';
import { segment, type HttpTransport } from './http';
import { keyBytes, recordSize, toWireRecord, type ProducerMessage } from './records';
import { retryOptions, type RetryOptions } from './retry';
import type { ProducedOffset, TopicDescription } from './types';

/** DynamoDB transactions take 100 items: a request can append to at most 49 partitions (docs/storage.md). */
export const maxPartitionsPerRequest: number = requestLimits.maxPartitionsPerRequest;
/** Keeps the stored idempotent response well under the service's 350 KB limit. */
export const maxRecordsPerRequest = 20_000;
/**
 * The default batch and request size. A 4 MiB body stays inside Lambda's 6 MB request payload
 * with room for the event's envelope, counted as `eventBytes` does.
 */
export const defaultRequestBytes = 4 * 1_048_576;

/**
 * What one record's JSON takes in the Lambda event, where the whole body is a JSON string: its
 * quotes and backslashes are escaped once more (a JSON value with many quotes nearly doubles),
 * plus the comma that separates it from the next record.
 */
export const eventBytes = (json: string) => Buffer.byteLength(JSON.stringify(json)) - 1;

/** Topics whose metadata a producer keeps at once. */
const maxCachedTopics = 10_000;
/**
 * max.message.bytes when a topic description lacks it (it never does: the service answers the
 * effective config). The registry (shared/topics/configs.ts) builds zod schemas, so the bundle
 * does not import it; test/client/shapes.test.ts keeps this equal to its default.
 */
export const defaultMaxMessageBytes = 1_048_576;

export interface ProducerOptions {
  /** How long a record may wait for others to share its request (Kafka's linger.ms). Default 5. */
  lingerMs?: number;
  /**
   * Bytes per partition per request, of the records' JSON as the Lambda event carries it (escaped once
   * more); a full batch is sent at once (Kafka's batch.size). Default 4 MiB.
   */
  batchSize?: number;
  /** Records per partition per request; a full batch is sent at once. Default 5000. */
  maxBatchRecords?: number;
  /**
   * Bytes of one request body, counted as the Lambda event carries it (Lambda takes 6 MB per
   * invocation, the event's envelope included). Default 4 MiB: large requests are what make
   * Logway cheap per GiB (docs/performance.md, "Cost").
   */
  maxRequestBytes?: number;
  /** Bytes of records waiting or in flight; `send` waits for room beyond it (Kafka's buffer.memory). Default 32 MiB. */
  maxBufferedBytes?: number;
  /** How long a topic's partition count is cached (Kafka's metadata.max.age.ms). Default 300000. */
  metadataMaxAgeMs?: number;
  /** Send an Idempotency-Key with every request so retries never duplicate. Default true. */
  idempotent?: boolean;
  /** Retry policy of produce requests (default: the client's). */
  retry?: Partial<RetryOptions>;
  /** Timeout of one produce attempt. Default: the client's requestTimeoutMs. */
  requestTimeoutMs?: number;
}

export interface ProducerRecord {
  topic: string;
  messages: ProducerMessage[];
}

export interface RecordMetadata {
  topicName: string;
  partition: number;
  offset: number;
  timestamp: number;
}

interface Pending {
  json: string;
  bytes: number;
  partition: number;
  resolve(offset: ProducedOffset): void;
  reject(error: unknown): void;
}

interface PartitionQueue {
  records: Pending[];
  bytes: number;
  /** When its oldest waiting record was enqueued. */
  since: number;
}

interface TopicBuffer {
  topic: string;
  partitions: Map<number, PartitionQueue>;
  records: number;
  timer: NodeJS.Timeout | undefined;
  /** When the timer fires. */
  timerDue: number;
  inFlight: Promise<void> | undefined;
  sticky: number;
}

interface TopicMetadata {
  partitions: number;
  maxMessageBytes: number;
}

/** One request of a flush: whole partition batches, in partition order. */
export interface PlannedRequest {
  batches: { partition: number; records: Pending[] }[];
  bytes: number;
  records: number;
}

export class Producer {
  private readonly lingerMs: number;
  private readonly batchSize: number;
  private readonly maxBatchRecords: number;
  private readonly maxRequestBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly metadataMaxAgeMs: number;
  private readonly idempotent: boolean;
  private readonly retry: RetryOptions | undefined;
  private readonly requestTimeoutMs: number | undefined;
  private readonly buffers = new Map<string, TopicBuffer>();
  private readonly metadata: BoundedCache<string, Promise<TopicMetadata>>;
  private readonly enqueuing = new Set<Promise<unknown>>();
  private readonly spaceWaiters: { bytes: number; resolve(): void }[] = [];
  private bufferedBytes = 0;
  private flushing = 0;
  private closed = false;

  constructor(
    private readonly http: HttpTransport,
    options: ProducerOptions = {},
  ) {
    this.lingerMs = nonNegative('lingerMs', options.lingerMs ?? 5);
    this.batchSize = positive('batchSize', options.batchSize ?? defaultRequestBytes);
    this.maxBatchRecords = positive('maxBatchRecords', Math.min(options.maxBatchRecords ?? 5000, maxRecordsPerRequest));
    this.maxRequestBytes = positive('maxRequestBytes', options.maxRequestBytes ?? defaultRequestBytes);
    this.maxBufferedBytes = positive('maxBufferedBytes', options.maxBufferedBytes ?? 32 * 1_048_576);
    this.metadataMaxAgeMs = nonNegative('metadataMaxAgeMs', options.metadataMaxAgeMs ?? 300_000);
    this.metadata = new BoundedCache({ maxEntries: maxCachedTopics, ttlMs: this.metadataMaxAgeMs });
    this.idempotent = options.idempotent ?? true;
    this.retry = options.retry ? retryOptions({ ...http.retry, ...options.retry }) : undefined;
    this.requestTimeoutMs = options.requestTimeoutMs;
  }

  /** Checks that the service answers (optional: `send` works without it). */
  async connect(): Promise<void> {
    await this.http.request({ method: 'GET', path: '/v1/health' });
  }

  /**
   * Queues the messages and resolves, once every batch holding them was acknowledged, with each
   * message's partition and offset, in the order given. Rejects with the first failure.
   */
  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    const enqueued = this.enqueue(record);
    this.enqueuing.add(enqueued);
    try {
      const acks = await enqueued;
      return await Promise.all(acks);
    } finally {
      this.enqueuing.delete(enqueued);
    }
  }

  /** KafkaJS's sendBatch: several topics at once. */
  async sendBatch({ topicMessages }: { topicMessages: ProducerRecord[] }): Promise<RecordMetadata[]> {
    return (await Promise.all(topicMessages.map((r) => this.send(r)))).flat();
  }

  private async enqueue({ topic, messages }: ProducerRecord): Promise<Promise<RecordMetadata>[]> {
    if (this.closed) throw clientError('PRODUCER_CLOSED', 'The producer was closed; create a new one to send.');
    if (typeof topic !== 'string' || topic.length === 0) throw new TypeError('send: topic is required');
    if (!Array.isArray(messages) || messages.length === 0) return [];
    for (const message of messages) {
      if (message.partition !== undefined && (!Number.isInteger(message.partition) || message.partition < 0)) {
        throw new TypeError(`partition must be a non-negative integer; got ${message.partition}`);
      }
    }
    let metadata = await this.topicMetadata(topic);
    // A partition beyond the cached count may be new: look again before refusing it.
    if (messages.some((m) => m.partition !== undefined && m.partition >= metadata.partitions))
      metadata = await this.topicMetadata(topic, true);
    const partitionCount = metadata.partitions;
    const buffer = this.buffer(topic);
    // Refuse what the service would refuse, here: one bad record would fail a whole shared request.
    messages.forEach((message, index) => {
      if (message.partition !== undefined && message.partition >= partitionCount) {
        throw serviceRefusal(
          'UNKNOWN_TOPIC_OR_PARTITION',
          `Topic '${topic}' has no partition ${message.partition}: it has partitions 0 to ${partitionCount - 1}.`,
          {
            topic,
            partition: message.partition,
          },
        );
      }
      const size = recordSize(message);
      if (size > metadata.maxMessageBytes) {
        throw serviceRefusal(
          'RECORD_TOO_LARGE',
          `messages[${index}] is ${size} bytes, more than topic '${topic}' allows (max.message.bytes=${metadata.maxMessageBytes}).`,
          { field: `messages[${index}]`, size, maxMessageBytes: metadata.maxMessageBytes },
        );
      }
    });

    const prepared = messages.map((message) => {
      const wire = toWireRecord(message);
      let partition: number;
      if (message.partition !== undefined) {
        partition = message.partition;
      } else {
        const key = keyBytes(message.key);
        partition = key === null ? this.stickyPartition(buffer, partitionCount) : partitionForKey(key, partitionCount);
      }
      wire.partition = partition;
      const json = JSON.stringify(wire);
      return { json, partition, bytes: eventBytes(json) };
    });
    const bytes = prepared.reduce((sum, p) => sum + p.bytes, 0);
    await this.reserve(bytes);

    const now = Date.now();
    const acks = prepared.map(
      (p) =>
        new Promise<RecordMetadata>((resolve, reject) => {
          const pending: Pending = {
            ...p,
            resolve: (offset) =>
              resolve({ topicName: topic, partition: offset.partition, offset: offset.offset, timestamp: offset.timestamp }),
            reject,
          };
          let queue = buffer.partitions.get(p.partition);
          if (!queue) {
            queue = { records: [], bytes: 0, since: now };
            buffer.partitions.set(p.partition, queue);
          }
          queue.records.push(pending);
          queue.bytes += p.bytes;
          buffer.records++;
        }),
    );
    this.schedule(buffer);
    return acks;
  }

  /** Sends everything queued and resolves once all of it was acknowledged (or failed). */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      await Promise.allSettled([...this.enqueuing]);
      for (;;) {
        const busy = [...this.buffers.values()].filter((b) => b.records > 0 || b.inFlight);
        if (busy.length === 0) return;
        for (const buffer of busy) if (!buffer.inFlight) this.drain(buffer);
        await Promise.all(busy.map((b) => b.inFlight));
      }
    } finally {
      this.flushing--;
    }
  }

  /** Flushes, then refuses further sends. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  /** KafkaJS's name for close(). */
  disconnect(): Promise<void> {
    return this.close();
  }

  /** A topic's partition count and max.message.bytes, cached for metadataMaxAgeMs. */
  private topicMetadata(topic: string, refresh = false): Promise<TopicMetadata> {
    const cached = refresh ? undefined : this.metadata.get(topic);
    if (cached) return cached;
    const metadata = this.http.request<TopicDescription>({ method: 'GET', path: `/v1/topics/${segment(topic)}` }).then(({ body }) => ({
      partitions: body.partitions.length,
      maxMessageBytes: Number(body.config['max.message.bytes'] ?? defaultMaxMessageBytes) || defaultMaxMessageBytes,
    }));
    metadata.catch(() => {
      if (this.metadata.get(topic) === metadata) this.metadata.delete(topic);
    });
    this.metadata.set(topic, metadata);
    return metadata;
  }

  private buffer(topic: string): TopicBuffer {
    let buffer = this.buffers.get(topic);
    if (!buffer) {
      buffer = { topic, partitions: new Map(), records: 0, timer: undefined, timerDue: 0, inFlight: undefined, sticky: -1 };
      this.buffers.set(topic, buffer);
    }
    return buffer;
  }

  private stickyPartition(buffer: TopicBuffer, partitionCount: number): number {
    if (buffer.sticky < 0 || buffer.sticky >= partitionCount)
      buffer.sticky = Math.min(Math.floor(Math.random() * partitionCount), partitionCount - 1);
    return buffer.sticky;
  }

  private reserve(bytes: number): Promise<void> {
    if (this.spaceWaiters.length === 0 && (this.bufferedBytes === 0 || this.bufferedBytes + bytes <= this.maxBufferedBytes)) {
      this.bufferedBytes += bytes;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.spaceWaiters.push({ bytes, resolve }));
  }

  private release(bytes: number): void {
    this.bufferedBytes -= bytes;
    while (this.spaceWaiters.length > 0) {
      const next = this.spaceWaiters[0]!;
      if (this.bufferedBytes > 0 && this.bufferedBytes + next.bytes > this.maxBufferedBytes) break;
      this.spaceWaiters.shift();
      this.bufferedBytes += next.bytes;
      next.resolve();
    }
  }

  private isReady(buffer: TopicBuffer, now: number): boolean {
    if (this.flushing > 0 || this.closed) return true;
    for (const queue of buffer.partitions.values()) {
      if (queue.bytes >= this.batchSize || queue.records.length >= this.maxBatchRecords) return true;
      if (now - queue.since >= this.lingerMs) return true;
    }
    return false;
  }

  /** Arranges the topic's next flush: now if a batch is full (or linger is over), else when the oldest record's linger ends. */
  private schedule(buffer: TopicBuffer): void {
    if (buffer.inFlight || buffer.records === 0) return;
    const now = Date.now();
    let due: number;
    if (this.isReady(buffer, now)) {
      due = now;
    } else {
      let oldest = now;
      for (const queue of buffer.partitions.values()) oldest = Math.min(oldest, queue.since);
      due = oldest + this.lingerMs;
    }
    if (buffer.timer && buffer.timerDue <= due) return;
    if (buffer.timer) clearTimeout(buffer.timer);
    buffer.timerDue = due;
    // A zero delay still lets the rest of this tick's sends join the request.
    buffer.timer = setTimeout(() => this.drain(buffer), Math.max(0, due - now));
  }

  /** Takes one batch per waiting partition and sends them (one request, or more past 49 partitions or maxRequestBytes). */
  private drain(buffer: TopicBuffer): void {
    if (buffer.timer) clearTimeout(buffer.timer);
    buffer.timer = undefined;
    if (buffer.inFlight || buffer.records === 0) return;
    const requests = this.plan(buffer);
    buffer.inFlight = Promise.all(requests.map((request) => this.sendRequest(buffer.topic, request))).then(() => {
      buffer.inFlight = undefined;
      this.schedule(buffer);
    });
  }

  /** Splits the waiting records into this flush's requests: one batch per partition, at most 49 partitions and maxRequestBytes per request. */
  private plan(buffer: TopicBuffer): PlannedRequest[] {
    const now = Date.now();
    const requests: PlannedRequest[] = [];
    let current: PlannedRequest = { batches: [], bytes: 0, records: 0 };
    const partitions = [...buffer.partitions.keys()].sort((a, b) => a - b);
    for (const partition of partitions) {
      const queue = buffer.partitions.get(partition)!;
      let count = 0;
      let bytes = 0;
      while (
        count < queue.records.length &&
        count < this.maxBatchRecords &&
        (count === 0 || bytes + queue.records[count]!.bytes <= this.batchSize)
      ) {
        bytes += queue.records[count]!.bytes;
        count++;
      }
      const records = queue.records.splice(0, count);
      queue.bytes -= bytes;
      buffer.records -= count;
      if (queue.records.length === 0) buffer.partitions.delete(partition);
      else queue.since = now;
      if (partition === buffer.sticky) buffer.sticky = -1;
      if (
        current.batches.length > 0 &&
        (current.batches.length >= maxPartitionsPerRequest ||
          current.bytes + bytes > this.maxRequestBytes ||
          current.records + count > maxRecordsPerRequest)
      ) {
        requests.push(current);
        current = { batches: [], bytes: 0, records: 0 };
      }
      current.batches.push({ partition, records });
      current.bytes += bytes;
      current.records += count;
    }
    if (current.batches.length > 0) requests.push(current);
    return requests;
  }

  private async sendRequest(topic: string, request: PlannedRequest): Promise<void> {
    const records = request.batches.flatMap((b) => b.records);
    try {
      const response = await this.http.request<{ offsets: ProducedOffset[] }>({
        method: 'POST',
        path: `/v1/topics/${segment(topic)}/records`,
        rawBody: `{"records":[${records.map((r) => r.json).join(',')}]}`,
        headers: this.idempotent ? { 'idempotency-key': randomUUID() } : {},
        retry: this.idempotent ? 'all' : 'throttled',
        ...(this.retry ? { retryOptions: this.retry } : {}),
        ...(this.requestTimeoutMs !== undefined ? { timeoutMs: this.requestTimeoutMs } : {}),
      });
      const offsets = response.body.offsets;
      records.forEach((record, i) => {
        const offset = offsets[i];
        if (offset) record.resolve(offset);
        else record.reject(clientError('INVALID_RESPONSE', `The produce response has no offset for record ${i}.`));
      });
    } catch (error) {
      if (hasErrorCode(error, 'UNKNOWN_TOPIC_OR_PARTITION')) this.metadata.delete(topic);
      for (const record of records) record.reject(error);
    } finally {
      this.release(request.bytes);
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number; got ${value}`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be zero or more; got ${value}`);
  return value;
}
