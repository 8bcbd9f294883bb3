/**
 * Fetch, for one partition or many, with long polling. A waiting fetch re-reads the partition
 * heads every `longPollIntervalMs` (one strongly consistent read per partition, batched) and
 * returns as soon as a record exists at the wanted offset, or empty at the deadline.
 */
import { z } from 'zod';
import { loadServiceConfig, serviceDefaults } from '../config';
import { LogwayError, offsetOutOfRange, unknownPartition, unknownTopic } from '../errors';
import { schemaOnce } from '../api/validation';
import { topicNameSchema } from '../topics/model';
import { getTopic, partitionKeyOf, requireTopic, type TopicMetadata } from '../topics/store';
import { fetchMetrics } from './metrics';
import { pollHead, pollHeadsAcrossTopics, readHead, readHeadsAcrossTopics, type PartitionHead } from './partition-heads';
import { LogRangeMoved, readRecords, type ReadResult } from './read';
import type { BatchRecord } from '../records/types';
import { responseBytes, toFetchedRecord, type FetchedRecord } from './json';
import { sleep } from '../runtime/retry';

const config = () => loadServiceConfig();

/**
 * Bytes a fetch response may take: Lambda's 6 MB response limit, less room for the Lambda
 * result's own fields (status code, headers). Everything is counted as Lambda counts it: the
 * JSON body escaped once more as the result's `body` string (`responseBytes`).
 */
export const responseBudgetBytes = serviceDefaults.lambdaPayloadLimitBytes - 2048;

const largestOffset = Number.MAX_SAFE_INTEGER;

/** The envelope of a single-partition fetch response at its largest. */
const singleFetchEnvelopeBytes = responseBytes({
  records: [],
  nextOffset: largestOffset,
  highWatermark: largestOffset,
  logStartOffset: largestOffset,
});

/** What the records of a single-partition fetch may take. */
export const responseRecordBudgetBytes = responseBudgetBytes - singleFetchEnvelopeBytes;

interface ResponseBudget {
  remaining: number;
}

/**
 * Turns decoded records into wire records within the response budget. A record that would not
 * fit as text travels as base64 (only ever the first record of a response; produce accepts no
 * record whose base64 form would not fit, see `maxFetchedRecordBytes`); the page ends before the
 * first record that does not fit at all.
 */
function toResponseRecords(
  partition: number,
  records: BatchRecord[],
  base64: boolean,
  budget: ResponseBudget,
  first: boolean,
): { records: FetchedRecord[]; consumed: number } {
  const out: FetchedRecord[] = [];
  for (const record of records) {
    let wire = toFetchedRecord(partition, record, base64);
    let size = responseBytes(wire) + 1;
    if (size > budget.remaining && first && out.length === 0 && !base64) {
      wire = toFetchedRecord(partition, record, true);
      size = responseBytes(wire) + 1;
    }
    if (size > budget.remaining && !(first && out.length === 0)) break;
    out.push(wire);
    budget.remaining -= size;
  }
  return { records: out, consumed: out.length };
}

/** Query strings arrive as text; numbers are parsed strictly so "1e3" or "12abc" are 400s. */
const integerParam = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, `${name} must be an integer`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`));

function buildFetchQuerySchema() {
  const limits = config();
  return z.object({
    offset: integerParam('offset', 0, Number.MAX_SAFE_INTEGER),
    maxRecords: integerParam('maxRecords', 1, 100_000).optional(),
    maxBytes: integerParam('maxBytes', 1, limits.maxMaxBytes).optional(),
    waitMs: integerParam('waitMs', 0, 3_600_000).optional(),
    encoding: z.enum(['base64', 'auto']).optional(),
  });
}

function buildMultiFetchSchema() {
  const limits = config();
  return z.object({
    partitions: z
      .array(
        z.object({
          // A legal name, so that the error an unknown topic gets stays small.
          topic: topicNameSchema,
          partition: z.number().int().min(0),
          offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
        }),
      )
      .min(1, 'name at least one partition')
      .max(1000),
    maxBytes: z.number().int().min(1).max(limits.maxMaxBytes).optional(),
    maxRecords: z.number().int().min(1).max(100_000).optional(),
    waitMs: z.number().int().min(0).max(3_600_000).optional(),
    encoding: z.enum(['base64', 'auto']).optional(),
  });
}

/** What a single-partition fetch asks for (the HTTP API's query string, parsed). */
export type FetchParams = z.output<ReturnType<typeof buildFetchQuerySchema>>;

/** What a multi-partition fetch asks for (the HTTP API's body, parsed). */
export type MultiFetchRequest = z.output<ReturnType<typeof buildMultiFetchSchema>>;

export interface PartitionFetchResult {
  records: FetchedRecord[];
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
}

/** Waits until `hasData(heads)` or the deadline, re-reading heads each interval. */
async function waitForData<T>(read: () => Promise<T>, hasData: (value: T) => boolean, waitMs: number, initial: T): Promise<T> {
  const { longPollIntervalMs, maxWaitMs } = config();
  const deadline = Date.now() + Math.min(waitMs, maxWaitMs);
  let value = initial;
  if (hasData(value) || waitMs <= 0) return value;
  fetchMetrics.longPollWaited();
  while (Date.now() < deadline) {
    await sleep(Math.min(longPollIntervalMs, Math.max(0, deadline - Date.now())));
    value = await read();
    if (hasData(value)) break;
  }
  return value;
}

function checkOffset(topic: TopicMetadata, partition: number, offset: number, head: PartitionHead): void {
  if (offset < head.logStartOffset || offset > head.highWatermark) throw offsetOutOfRange(topic.name, partition, offset, head);
}

export async function fetchPartition(topicName: string, partition: number, params: FetchParams): Promise<PartitionFetchResult> {
  const limits = config();
  const topic = await requireTopic(topicName);
  if (partition >= topic.partitions) throw unknownPartition(topicName, partition, topic.partitions);

  const initial = await readHead(topic.topicId, partition);
  checkOffset(topic, partition, params.offset, initial);
  let polled = initial;
  const head = await waitForData(
    async () => {
      polled = await pollHead(topic.topicId, partition, polled);
      return polled;
    },
    (h) => h.highWatermark > params.offset,
    params.waitMs ?? 0,
    initial,
  );
  const result = await readWithinRange(topic, partition, params.offset, head.highWatermark, {
    maxRecords: params.maxRecords ?? limits.defaultMaxRecords,
    maxBytes: params.maxBytes ?? limits.defaultMaxBytes,
  });
  const page = toResponseRecords(partition, result.records, params.encoding === 'base64', { remaining: responseRecordBudgetBytes }, true);
  fetchMetrics.fetched(page.consumed, result.bytes);
  return {
    records: page.records,
    nextOffset: nextOffsetAfter(result, page.consumed),
    highWatermark: head.highWatermark,
    logStartOffset: head.logStartOffset,
  };
}

/**
 * Reads records, turning a race with retention (the batches being read were removed since the
 * head was read) into what a fresh head says: 416 if the offset is now below the log start
 * offset, else a second read.
 */
async function readWithinRange(
  topic: TopicMetadata,
  partition: number,
  offset: number,
  highWatermark: number,
  limits: { maxRecords: number; maxBytes: number },
): Promise<ReadResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await readRecords(topic.topicId, partition, offset, highWatermark, limits);
    } catch (error) {
      if (!(error instanceof LogRangeMoved)) throw error;
      const head = await readHead(topic.topicId, partition);
      if (offset < head.logStartOffset || attempt > 0) throw offsetOutOfRange(topic.name, partition, offset, head);
    }
  }
}

/** Where the next fetch starts when the response kept only the first `kept` records read. */
function nextOffsetAfter(read: ReadResult, kept: number): number {
  return kept < read.records.length ? read.records[kept]!.offset : read.nextOffset;
}

export type MultiFetchResult =
  | ({ topic: string; partition: number } & PartitionFetchResult)
  | { topic: string; partition: number; error: { code: string; message: string; [detail: string]: unknown } };

/**
 * Fetches several partitions (of one or more topics) in one call, returning as soon as any of
 * them has data. Problems with one partition (unknown, offset out of range) are reported in
 * that partition's result, as Kafka's Fetch does, so one bad entry does not fail the rest.
 */
export async function fetchMany(request: MultiFetchRequest): Promise<{ results: MultiFetchResult[] }> {
  const limits = config();
  const topics = new Map<string, TopicMetadata | undefined>();
  await Promise.all(
    [...new Set(request.partitions.map((p) => p.topic))].map(async (name) => {
      topics.set(name, await getTopic(name));
    }),
  );

  type Entry = { topic: string; partition: number; offset: number; metadata?: TopicMetadata; error?: LogwayError };
  const entries: Entry[] = request.partitions.map((p) => {
    const metadata = topics.get(p.topic);
    if (!metadata) return { ...p, error: unknownTopic(p.topic) };
    if (p.partition >= metadata.partitions) return { ...p, error: unknownPartition(p.topic, p.partition, metadata.partitions) };
    return { ...p, metadata };
  });
  const live = entries.filter((e) => e.metadata);
  const keyOf = (e: Entry) => partitionKeyOf(e.metadata!.topicId, e.partition);
  const readAll = () => readHeadsAcrossTopics(live.map((e) => ({ topicId: e.metadata!.topicId, partition: e.partition })));

  let heads = await readAll();
  for (const entry of live) {
    const head = heads.get(keyOf(entry))!;
    if (entry.offset < head.logStartOffset || entry.offset > head.highWatermark) {
      entry.error = offsetOutOfRange(entry.topic, entry.partition, entry.offset, head);
    }
  }
  const waiting = live.filter((e) => !e.error);
  let polled = heads;
  const poll = async () => {
    polled = await pollHeadsAcrossTopics(
      live.map((e) => ({ topicId: e.metadata!.topicId, partition: e.partition })),
      polled,
    );
    return polled;
  };
  heads = await waitForData(poll, (h) => waiting.some((e) => h.get(keyOf(e))!.highWatermark > e.offset), request.waitMs ?? 0, heads);

  const base64 = request.encoding === 'base64';
  // The records may take what the envelope (every result without its records) leaves.
  const envelope = responseBytes({
    results: entries.map((entry) =>
      entry.error
        ? { topic: entry.topic, partition: entry.partition, ...entry.error.toJSON() }
        : {
            topic: entry.topic,
            partition: entry.partition,
            records: [],
            nextOffset: largestOffset,
            highWatermark: largestOffset,
            logStartOffset: largestOffset,
          },
    ),
  });
  const responseBudget: ResponseBudget = { remaining: responseBudgetBytes - envelope };
  let budgetBytes = request.maxBytes ?? limits.defaultMaxBytes;
  let budgetRecords = request.maxRecords ?? limits.defaultMaxRecords;
  const results: MultiFetchResult[] = [];
  let anyRecords = false;
  for (const entry of entries) {
    if (entry.error) {
      results.push({ topic: entry.topic, partition: entry.partition, ...entry.error.toJSON() });
      continue;
    }
    const head = heads.get(keyOf(entry))!;
    const read =
      budgetBytes > 0 && budgetRecords > 0
        ? await readWithinRange(entry.metadata!, entry.partition, entry.offset, head.highWatermark, {
            maxRecords: budgetRecords,
            maxBytes: budgetBytes,
          }).catch((error: unknown) => {
            if (error instanceof LogwayError && error.code === 'OFFSET_OUT_OF_RANGE') return error;
            throw error;
          })
        : { records: [], nextOffset: entry.offset, bytes: 0 };
    if (read instanceof LogwayError) {
      results.push({ topic: entry.topic, partition: entry.partition, ...read.toJSON() });
      continue;
    }
    const page = toResponseRecords(entry.partition, read.records, base64, responseBudget, !anyRecords);
    anyRecords ||= page.consumed > 0;
    budgetBytes -= read.bytes;
    budgetRecords -= page.consumed;
    fetchMetrics.fetched(page.consumed, read.bytes);
    results.push({
      topic: entry.topic,
      partition: entry.partition,
      records: page.records,
      nextOffset: nextOffsetAfter(read, page.consumed),
      highWatermark: head.highWatermark,
      logStartOffset: head.logStartOffset,
    });
  }
  return { results };
}

export const fetchQuerySchema = schemaOnce(buildFetchQuerySchema);

export const multiFetchSchema = schemaOnce(buildMultiFetchSchema);
