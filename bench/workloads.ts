/**
 * Logway's workloads over HTTP against the local runtime (bench/server.ts):
 *
 * - produce throughput: 1, 100 and 1000 records of 1 KiB per request, 1, 4 and 16 closed-loop
 *   clients, each client on its own partition of a 16-partition topic; plus 1-record requests
 *   from 4 and 16 clients all on one partition (the contended append);
 * - fetch throughput: sequential fetches (maxBytes 1 MiB) over the data each produce shape wrote;
 * - produce-to-consume latency: a long poll waiting at the high watermark, one record produced,
 *   time until the poll returns it (GET .../records?waitMs and POST /v1/fetch).
 *
 * Every cell resets the server's usage counters first and keeps what it used, for the cost model.
 */
import { randomUUID } from 'node:crypto';
import { defaultConsumerMaxBytes } from '../client/src/consumer';
import { defaultRequestBytes, eventBytes } from '../client/src/producer';
import { encodeRecordBatch } from '../shared/records';
import type { Usage } from './cost';
import type { CpuUsage } from './server';
import { closedLoop, newHistogram, recordMs, send, sendJson, sleep, summarize, type BenchServer, type LatencySummary } from './harness';

export const RECORD_VALUE_BYTES = 1024;
export const PRODUCE_PARTITIONS = 16;

export interface WorkloadOptions {
  /** Length of each produce cell. */
  readonly cellMs: number;
  /** Length of each fetch run. */
  readonly fetchMs: number;
  readonly warmupMs: number;
  readonly latencySamples: { readonly get: number; readonly post: number };
  /** How long the idle long poll (nothing produced) waits, to measure what waiting costs. */
  readonly idleWaitMs: number;
  readonly recordsPerRequest: readonly number[];
  readonly clients: readonly number[];
  /**
   * Client counts of the one-partition cells: beyond `clients`, to show how a boundary's failed
   * joins grow with the writers in flight (docs/performance.md).
   */
  readonly contentionClients: readonly number[];
  /**
   * Interleaved pairs of one-partition cells at 4 and 16 clients, without and with a key: the
   * hot-partition target compares the two over repeated runs, because one pair moves by the
   * machine's ±20-30%. Each pair alternates which cell goes first, so a drift of the machine's
   * speed across a pair does not favour one side.
   */
  readonly hotPartitionPairs: number;
}

/** One interleaved pair: the same partition at 4 and at 16 clients, one right after the other. */
export interface HotPartitionPair {
  readonly pair: number;
  readonly idempotent: boolean;
  /** Which client count ran first in this pair. */
  readonly firstClients: number;
  readonly four: ProduceCell;
  readonly sixteen: ProduceCell;
}

export interface ProduceCell {
  readonly recordsPerRequest: number;
  readonly clients: number;
  /**
   * 'distinct': client i appends to partition i; 'one': every client appends to partition 0;
   * 'spread': every request holds one record for each partition of a 4-partition topic (as the
   * client's flush of a topic does), so every client contends on every partition.
   */
  readonly partitions: 'distinct' | 'one' | 'spread';
  /** Every request carried a fresh Idempotency-Key (the client's default). */
  readonly idempotent?: boolean;
  readonly requests: number;
  readonly failedRequests: number;
  readonly failures: Record<string, number>;
  readonly records: number;
  readonly elapsedMs: number;
  readonly requestsPerSecond: number;
  readonly recordsPerSecond: number;
  /** Record value bytes per second / 10^6. */
  readonly megabytesPerSecond: number;
  readonly latency: LatencySummary;
  readonly usage: Usage;
  readonly cpu: CpuUsage;
}

export interface FetchCell {
  /** The produce shape that wrote the data read: records per request (so batch size). */
  readonly writtenWithRecordsPerRequest: number;
  readonly fetches: number;
  readonly failedFetches: number;
  readonly records: number;
  readonly valueBytes: number;
  readonly elapsedMs: number;
  readonly recordsPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly latency: LatencySummary;
  readonly usage: Usage;
  readonly cpu: CpuUsage;
}

export interface LatencyResult {
  readonly mode: 'GET records?waitMs' | 'POST /v1/fetch';
  readonly samples: number;
  /** Polls that returned without the record (or before it was produced). */
  readonly missed: number;
  /** Produce request: sent -> acknowledged. */
  readonly produce: LatencySummary;
  /** Produce sent -> waiting poll returned the record: the end-to-end figure. */
  readonly wake: LatencySummary;
  /** Produce acknowledged -> poll returned (0 when the poll returned first). */
  readonly wakeAfterAck: LatencySummary;
  readonly usage: Usage;
  /** One poll left waiting at the high watermark until its deadline, with nothing produced. */
  readonly idle: IdleWait;
}

export interface IdleWait {
  readonly waitMs: number;
  /** Wall time the poll took. */
  readonly elapsedMs: number;
  readonly usage: Usage;
}

export interface WorkloadResults {
  readonly produce: ProduceCell[];
  readonly contention: ProduceCell[];
  readonly hotPartitionPairs: HotPartitionPair[];
  readonly fetch: FetchCell[];
  readonly latency: LatencyResult[];
}

/** A 1 KiB value of printable, incompressible-looking text. */
function recordValue(seed: number): string {
  let state = seed * 2654435761 + 1;
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let text = '';
  for (let i = 0; i < RECORD_VALUE_BYTES; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    text += alphabet[state % alphabet.length];
  }
  return text;
}

/**
 * Records per request at the client's defaults: as many bench records as fill
 * `defaultRequestBytes`, counted as the producer counts them (client/src/producer.ts).
 */
export const clientDefaultRecordsPerRequest = Math.floor(
  defaultRequestBytes / eventBytes(`{"partition":0,"value":"${'x'.repeat(RECORD_VALUE_BYTES)}"}`),
);

/** One produce request body: `count` records of 1 KiB on `partition`. */
export function produceBody(count: number, partition: number): Buffer {
  const records: string[] = [];
  for (let i = 0; i < count; i++) records.push(`{"partition":${partition},"value":"${recordValue(partition * 100_003 + i)}"}`);
  return Buffer.from(`{"records":[${records.join(',')}]}`);
}

/** Partitions of the topic the 'spread' cells append to: one record to each per request. */
export const SPREAD_PARTITIONS = 4;

function spreadBody(client: number): Buffer {
  const records = Array.from(
    { length: SPREAD_PARTITIONS },
    (_, partition) => `{"partition":${partition},"value":"${recordValue(client * 100_003 + partition)}"}`,
  );
  return Buffer.from(`{"records":[${records.join(',')}]}`);
}

function errorCode(body: Buffer): string {
  try {
    return (JSON.parse(body.toString()) as { error?: { code?: string }; message?: string }).error?.code ?? 'HTTP error';
  } catch {
    return 'HTTP error';
  }
}

const topicFor = (recordsPerRequest: number) => `bench-r${recordsPerRequest}`;
const contendedTopic = 'bench-contended';
const spreadTopic = 'bench-contended-spread';
const latencyTopic = 'bench-latency';

async function createTopics(server: BenchServer, recordsPerRequest: readonly number[]): Promise<void> {
  for (const count of recordsPerRequest) {
    await sendJson(server.url, 'POST', '/v1/topics', { name: topicFor(count), partitions: PRODUCE_PARTITIONS });
  }
  await sendJson(server.url, 'POST', '/v1/topics', { name: contendedTopic, partitions: 1 });
  await sendJson(server.url, 'POST', '/v1/topics', { name: spreadTopic, partitions: SPREAD_PARTITIONS });
  await sendJson(server.url, 'POST', '/v1/topics', { name: latencyTopic, partitions: 1 });
}

async function produceCell(
  server: BenchServer,
  topic: string,
  recordsPerRequest: number,
  clients: number,
  partitions: 'distinct' | 'one' | 'spread',
  durationMs: number,
  idempotent = false,
): Promise<ProduceCell> {
  const bodies = Array.from({ length: clients }, (_, client) =>
    partitions === 'spread' ? spreadBody(client) : produceBody(recordsPerRequest, partitions === 'one' ? 0 : client),
  );
  const path = `/v1/topics/${topic}/records`;
  await server.reset();
  const loop = await closedLoop(clients, durationMs, async (client) => {
    const headers: Record<string, string> = idempotent ? { 'idempotency-key': randomUUID() } : {};
    const result = await send(server.url, 'POST', path, bodies[client]!, headers);
    return result.status === 200 ? recordsPerRequest : `${result.status} ${errorCode(result.body)}`;
  });
  const { usage, cpu } = await server.reset();
  const seconds = loop.elapsedMs / 1000;
  return {
    cpu,
    recordsPerRequest,
    clients,
    partitions,
    ...(idempotent ? { idempotent } : {}),
    requests: loop.ok,
    failedRequests: loop.failed,
    failures: loop.failures,
    records: loop.units,
    elapsedMs: loop.elapsedMs,
    requestsPerSecond: loop.ok / seconds,
    recordsPerSecond: loop.units / seconds,
    megabytesPerSecond: (loop.units * RECORD_VALUE_BYTES) / 1e6 / seconds,
    latency: loop.latency,
    usage,
  };
}

interface FetchedPage {
  records: { offset: number; value?: string; valueBase64?: string }[];
  nextOffset: number;
  highWatermark: number;
}

/** Records a 1 MiB fetch needs, with some to spare: fewer in the partition and every fetch would stop at its end. */
const FETCH_MIN_RECORDS = 1100;

async function highWatermarkOf(server: BenchServer, topic: string, partition: number): Promise<number> {
  const described = await sendJson<{ partitions: { partition: number; highWatermark: number }[] }>(
    server.url,
    'GET',
    `/v1/topics/${topic}`,
  );
  return described.partitions.find((p) => p.partition === partition)?.highWatermark ?? 0;
}

/** Appends more requests of the same shape to partition 0 until a full 1 MiB fetch fits (1-record requests only need it). */
async function topUp(server: BenchServer, recordsPerRequest: number): Promise<void> {
  const topic = topicFor(recordsPerRequest);
  const missing = FETCH_MIN_RECORDS - (await highWatermarkOf(server, topic, 0));
  if (missing <= 0) return;
  const body = produceBody(recordsPerRequest, 0);
  for (let appended = 0; appended < missing; appended += recordsPerRequest) {
    const result = await send(server.url, 'POST', `/v1/topics/${topic}/records`, body);
    if (result.status !== 200) throw new Error(`top-up produce failed: HTTP ${result.status}`);
  }
}

/** Fetches read 1 MiB, except over the client-defaults shape, which reads as the client's consumer does. */
const fetchMaxBytesFor = (recordsPerRequest: number) =>
  recordsPerRequest === clientDefaultRecordsPerRequest ? defaultConsumerMaxBytes : 1_048_576;

async function fetchCell(server: BenchServer, recordsPerRequest: number, durationMs: number): Promise<FetchCell> {
  const topic = topicFor(recordsPerRequest);
  await topUp(server, recordsPerRequest);
  const highWatermark = await highWatermarkOf(server, topic, 0);
  let offset = 0;
  let records = 0;
  let valueBytes = 0;
  await server.reset();
  const loop = await closedLoop(1, durationMs, async () => {
    const result = await send(
      server.url,
      'GET',
      `/v1/topics/${topic}/partitions/0/records?offset=${offset}&maxBytes=${fetchMaxBytesFor(recordsPerRequest)}&maxRecords=100000`,
    );
    if (result.status !== 200) return `${result.status} ${errorCode(result.body)}`;
    const page = JSON.parse(result.body.toString()) as FetchedPage;
    records += page.records.length;
    for (const record of page.records) valueBytes += record.value?.length ?? 0;
    // Start over before the end of what was produced, so that every fetch is a full one.
    offset = highWatermark - page.nextOffset < FETCH_MIN_RECORDS ? 0 : page.nextOffset;
    return page.records.length;
  });
  const { usage, cpu } = await server.reset();
  const seconds = loop.elapsedMs / 1000;
  return {
    cpu,
    writtenWithRecordsPerRequest: recordsPerRequest,
    fetches: loop.ok,
    failedFetches: loop.failed,
    records,
    valueBytes,
    elapsedMs: loop.elapsedMs,
    recordsPerSecond: records / seconds,
    megabytesPerSecond: valueBytes / 1e6 / seconds,
    latency: loop.latency,
    usage,
  };
}

async function latencyRun(server: BenchServer, mode: LatencyResult['mode'], samples: number, idleWaitMs: number): Promise<LatencyResult> {
  let offset = await highWatermarkOf(server, latencyTopic, 0);
  const body = produceBody(1, 0);
  const produceHistogram = newHistogram();
  const wakeHistogram = newHistogram();
  const afterAckHistogram = newHistogram();
  let missed = 0;
  await server.reset();
  for (let i = 0; i < samples; i++) {
    let wokeAt = 0;
    const poll = (
      mode === 'GET records?waitMs'
        ? send(server.url, 'GET', `/v1/topics/${latencyTopic}/partitions/0/records?offset=${offset}&waitMs=5000`)
        : send(
            server.url,
            'POST',
            '/v1/fetch',
            JSON.stringify({ partitions: [{ topic: latencyTopic, partition: 0, offset }], waitMs: 5000 }),
          )
    ).then((result) => {
      wokeAt = performance.now();
      return result;
    });
    // Let the poll reach its wait loop, at a uniformly random phase of its ~50 ms re-read cycle (the window spans two cycles).
    await sleep(80 + Math.random() * 100);
    const producedAt = performance.now();
    const ack = await send(server.url, 'POST', `/v1/topics/${latencyTopic}/records`, body);
    const ackedAt = performance.now();
    if (ack.status !== 200) throw new Error(`latency produce failed: HTTP ${ack.status} ${ack.body.toString().slice(0, 200)}`);
    const produced = (JSON.parse(ack.body.toString()) as { offsets: { offset: number }[] }).offsets[0]!.offset;
    const result = await poll;
    const parsed = JSON.parse(result.body.toString()) as FetchedPage | { results: FetchedPage[] };
    const page = 'results' in parsed ? parsed.results[0] : parsed;
    const got = result.status === 200 && page?.records.some((r) => r.offset === produced);
    if (!got || wokeAt < producedAt) {
      missed++;
    } else {
      recordMs(produceHistogram, ackedAt - producedAt);
      recordMs(wakeHistogram, wokeAt - producedAt);
      recordMs(afterAckHistogram, Math.max(0, wokeAt - ackedAt));
    }
    offset = produced + 1;
  }
  const { usage } = await server.reset();
  const idleStarted = performance.now();
  const idle =
    mode === 'GET records?waitMs'
      ? await send(server.url, 'GET', `/v1/topics/${latencyTopic}/partitions/0/records?offset=${offset}&waitMs=${idleWaitMs}`)
      : await send(
          server.url,
          'POST',
          '/v1/fetch',
          JSON.stringify({ partitions: [{ topic: latencyTopic, partition: 0, offset }], waitMs: idleWaitMs }),
        );
  const idleElapsedMs = performance.now() - idleStarted;
  if (idle.status !== 200) throw new Error(`idle poll failed: HTTP ${idle.status}`);
  const { usage: idleUsage } = await server.reset();
  return {
    mode,
    samples,
    missed,
    produce: summarize(produceHistogram),
    wake: summarize(wakeHistogram),
    wakeAfterAck: summarize(afterAckHistogram),
    usage,
    idle: { waitMs: idleWaitMs, elapsedMs: idleElapsedMs, usage: idleUsage },
  };
}

/** Calls every route the workloads use once, so module loading and first-call JIT stay out of the figures. */
async function warmUp(server: BenchServer, options: WorkloadOptions): Promise<void> {
  for (const count of options.recordsPerRequest) {
    await send(server.url, 'POST', `/v1/topics/${topicFor(count)}/records`, produceBody(1, PRODUCE_PARTITIONS - 1));
  }
  await send(server.url, 'GET', `/v1/topics/${latencyTopic}/partitions/0/records?offset=0`);
  await send(server.url, 'POST', '/v1/fetch', JSON.stringify({ partitions: [{ topic: latencyTopic, partition: 0, offset: 0 }] }));
  const warmTopic = topicFor(options.recordsPerRequest.includes(100) ? 100 : options.recordsPerRequest[0]!);
  const body = produceBody(100, PRODUCE_PARTITIONS - 1);
  await closedLoop(4, options.warmupMs, async () => {
    const result = await send(server.url, 'POST', `/v1/topics/${warmTopic}/records`, body);
    return result.status === 200 ? 1 : `${result.status}`;
  });
  await send(server.url, 'GET', `/v1/topics/${warmTopic}/partitions/${PRODUCE_PARTITIONS - 1}/records?offset=0&maxBytes=1048576`);
}

export async function runWorkloads(
  server: BenchServer,
  options: WorkloadOptions,
  progress: (line: string) => void = () => undefined,
): Promise<WorkloadResults> {
  await createTopics(server, options.recordsPerRequest);
  await warmUp(server, options);
  await server.reset();

  const produce: ProduceCell[] = [];
  for (const recordsPerRequest of options.recordsPerRequest) {
    for (const clients of options.clients) {
      const cell = await produceCell(server, topicFor(recordsPerRequest), recordsPerRequest, clients, 'distinct', options.cellMs);
      progress(
        `produce ${recordsPerRequest} rec/req x ${clients} clients: ${cell.recordsPerSecond.toFixed(0)} records/s, ${cell.failedRequests} failed`,
      );
      produce.push(cell);
    }
  }
  const contention: ProduceCell[] = [];
  // Without and with an Idempotency-Key (the client sends one with every request by default); one
  // client is the uncontended baseline of each (a keyed append is its claim and its Put).
  for (const idempotent of [false, true]) {
    for (const clients of options.contentionClients) {
      const cell = await produceCell(server, contendedTopic, 1, clients, 'one', options.cellMs, idempotent);
      progress(
        `produce 1 rec/req x ${clients} clients on one partition${idempotent ? ' with Idempotency-Key' : ''}: ${cell.requestsPerSecond.toFixed(0)} appends/s, ${cell.failedRequests} failed`,
      );
      contention.push(cell);
    }
  }
  // Requests that span the topic's partitions, every client on every partition: one transaction each.
  for (const idempotent of [false, true]) {
    for (const clients of options.clients.filter((c) => c > 1)) {
      const cell = await produceCell(server, spreadTopic, SPREAD_PARTITIONS, clients, 'spread', options.cellMs, idempotent);
      progress(
        `produce 1 rec to each of ${SPREAD_PARTITIONS} partitions per req x ${clients} clients${idempotent ? ' with Idempotency-Key' : ''}: ${cell.requestsPerSecond.toFixed(0)} requests/s, ${cell.failedRequests} failed`,
      );
      contention.push(cell);
    }
  }
  const hotPartitionPairs: HotPartitionPair[] = [];
  for (let pair = 0; pair < options.hotPartitionPairs; pair++) {
    for (const idempotent of [false, true]) {
      const order = pair % 2 === 0 ? [4, 16] : [16, 4];
      const cells = new Map<number, ProduceCell>();
      for (const clients of order)
        cells.set(clients, await produceCell(server, contendedTopic, 1, clients, 'one', options.cellMs, idempotent));
      const four = cells.get(4)!;
      const sixteen = cells.get(16)!;
      progress(
        `hot partition pair ${pair + 1}${idempotent ? ' with Idempotency-Key' : ''}: 4 clients ${four.requestsPerSecond.toFixed(0)}/s, 16 clients ${sixteen.requestsPerSecond.toFixed(0)}/s (${(sixteen.requestsPerSecond / four.requestsPerSecond).toFixed(2)}x)`,
      );
      hotPartitionPairs.push({ pair: pair + 1, idempotent, firstClients: order[0]!, four, sixteen });
    }
  }
  const fetch: FetchCell[] = [];
  for (const recordsPerRequest of options.recordsPerRequest) {
    const cell = await fetchCell(server, recordsPerRequest, options.fetchMs);
    progress(`fetch over ${recordsPerRequest}-record batches: ${cell.megabytesPerSecond.toFixed(1)} MB/s`);
    fetch.push(cell);
  }
  const latency: LatencyResult[] = [];
  for (const [mode, samples] of [
    ['GET records?waitMs', options.latencySamples.get],
    ['POST /v1/fetch', options.latencySamples.post],
  ] as const) {
    if (samples <= 0) continue;
    const result = await latencyRun(server, mode, samples, options.idleWaitMs);
    progress(`latency ${mode}: wake p50 ${result.wake.p50Ms.toFixed(1)} ms, p99 ${result.wake.p99Ms.toFixed(1)} ms`);
    latency.push(result);
  }
  return { produce, contention, hotPartitionPairs, fetch, latency };
}

/** The stored batch of `count` 1 KiB records, as produce encodes it. */
export function sampleBatch(count: number): Buffer {
  const value = Buffer.alloc(RECORD_VALUE_BYTES, 0x61);
  const now = Date.now();
  return encodeRecordBatch({
    records: Array.from({ length: count }, () => ({ key: null, value, headers: [], timestamp: now })),
    compression: 'none',
  });
}
