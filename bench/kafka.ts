/**
 * The Kafka protocol gateway beside the HTTP API, on the same server and the same data: produce
 * (HTTP, KafkaJS, kcat) of 1 KiB records, then reading one data set back (HTTP GET pages,
 * KafkaJS consumer, kcat -C). Records/s, MB/s, and per-request p50/p99 where the client exposes
 * one request at a time (HTTP requests, KafkaJS's request instrumentation events; kcat pipelines
 * everything, so only its totals are reported).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Kafka, logLevel, type ProducerConfig } from 'kafkajs';
import { closedLoop, newHistogram, recordMs, send, sendJson, summarize, type BenchServer, type LatencySummary } from './harness';
import { produceBody, RECORD_VALUE_BYTES } from './workloads';
import { produceAppendsPerPartition } from '../shared/kafka/server';

export interface KafkaBenchOptions {
  readonly produceMs: number;
  readonly clients: number;
  readonly recordsPerRequest: number;
  /** Records in the data set every reader reads back. */
  readonly fetchRecords: number;
  /** Many KafkaJS producers on one partition: the gateway's group commit beside a listener without one. */
  readonly hotPartition: { readonly clients: readonly number[]; readonly pairs: number; readonly cellMs: number };
}

export interface KafkaHotPartitionRow {
  readonly clients: number;
  readonly pair: number;
  /** The listener's chunk writes per partition at a time (its group commit): the shipped default, or none (0). */
  readonly appendsPerPartition: number;
  readonly sends: number;
  /** DynamoDB write units billed per send (one record), failed conditions included: AWS's per-key ceiling is 1,000 of them a second. */
  readonly wruPerSend: number;
  /** DynamoDB requests per send. */
  readonly dynamoRequestsPerSend: number;
  readonly sendsPerSecond: number;
  readonly latency: LatencySummary;
  readonly failed: number;
  /** The partition holds exactly the acknowledged sends (and the warm-up's), no more, no fewer. */
  readonly exact: boolean;
}

export interface KafkaBenchRow {
  readonly workload: 'produce' | 'fetch';
  readonly client: string;
  readonly records: number;
  readonly elapsedMs: number;
  readonly recordsPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly requestLatency: LatencySummary | null;
  readonly note: string;
}

export interface KafkaBenchResults {
  readonly options: KafkaBenchOptions;
  readonly rows: KafkaBenchRow[];
  readonly hotPartition: KafkaHotPartitionRow[];
}

const kcatPath = '/usr/bin/kcat';
const value = 'x'.repeat(RECORD_VALUE_BYTES);

function row(
  workload: KafkaBenchRow['workload'],
  client: string,
  records: number,
  elapsedMs: number,
  latency: LatencySummary | null,
  note: string,
): KafkaBenchRow {
  const seconds = elapsedMs / 1000;
  return {
    workload,
    client,
    records,
    elapsedMs,
    recordsPerSecond: records / seconds,
    megabytesPerSecond: (records * RECORD_VALUE_BYTES) / 1e6 / seconds,
    requestLatency: latency,
    note,
  };
}

const kafkaClient = (server: BenchServer, clientId: string, broker = server.kafka) =>
  new Kafka({ clientId, brokers: [broker], logLevel: logLevel.NOTHING });

/** `count` KafkaJS producers through `broker`, a connection each, connected. */
function connectedProducers(server: BenchServer, count: number, clientIdPrefix: string, broker: string, config: ProducerConfig = {}) {
  return Promise.all(
    Array.from({ length: count }, async (_, c) => {
      const producer = kafkaClient(server, `${clientIdPrefix}${c}`, broker).producer(config);
      await producer.connect();
      return producer;
    }),
  );
}

/**
 * One cell of the hot partition: `clients` KafkaJS producers (a connection each) sending one 1 KiB
 * record at a time, acks=all, to partition 0 of a new one-partition topic through `broker`.
 */
async function hotPartitionCell(
  server: BenchServer,
  broker: string,
  clients: number,
  cellMs: number,
): Promise<Omit<KafkaHotPartitionRow, 'pair' | 'appendsPerPartition'>> {
  const topic = `kbench-hot-${clients}-${Date.now()}`;
  await sendJson(server.url, 'POST', '/v1/topics', { name: topic, partitions: 1 });
  const producers = await connectedProducers(server, clients, 'bench-hot-', broker);
  // Metadata and connections, outside the window.
  await Promise.all(producers.map((p) => p.send({ topic, messages: [{ value, partition: 0 }] })));
  await server.reset();
  const loop = await closedLoop(clients, cellMs, async (c) => {
    await producers[c]!.send({ topic, acks: -1, messages: [{ value, partition: 0 }] });
    return 1;
  });
  const { dynamodb } = (await server.reset()).usage;
  await Promise.all(producers.map((p) => p.disconnect()));
  return {
    clients,
    sends: loop.ok,
    wruPerSend: (dynamodb.wru + dynamodb.gsiWru) / Math.max(1, loop.ok),
    dynamoRequestsPerSend: dynamodb.requests / Math.max(1, loop.ok),
    sendsPerSecond: loop.ok / (loop.elapsedMs / 1000),
    latency: loop.latency,
    failed: loop.failed,
    exact: (await highWatermarks(server, topic)) === loop.ok + clients,
  };
}

/** The hot partition through the shipped listener and the unlimited one, alternating which goes first. */
async function runHotPartition(
  server: BenchServer,
  options: KafkaBenchOptions['hotPartition'],
  progress: (line: string) => void,
): Promise<KafkaHotPartitionRow[]> {
  const rows: KafkaHotPartitionRow[] = [];
  for (const clients of options.clients) {
    for (let pair = 1; pair <= options.pairs; pair++) {
      const order = pair % 2 === 1 ? [produceAppendsPerPartition, 0] : [0, produceAppendsPerPartition];
      for (const appendsPerPartition of order) {
        const broker = appendsPerPartition === 0 ? server.unlimitedKafka : server.kafka;
        const cell = await hotPartitionCell(server, broker, clients, options.cellMs);
        rows.push({ ...cell, pair, appendsPerPartition });
        progress(
          `kafka bench: ${clients} producers on one partition, ${appendsPerPartition ? `group commit of ${appendsPerPartition}` : 'no group commit'} (pair ${pair}): ${cell.sendsPerSecond.toFixed(0)} sends/s, p99 ${cell.latency.p99Ms.toFixed(0)} ms, ${cell.wruPerSend.toFixed(1)} WRU and ${cell.dynamoRequestsPerSend.toFixed(2)} DynamoDB requests per send, ${cell.failed} failed${cell.exact ? '' : ', NOT EXACT'}`,
        );
      }
    }
  }
  return rows;
}

function runKcat(args: string[], input?: NodeJS.ReadableStream | string): Promise<{ code: number | null; stdout: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(kcatPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = 0;
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.length));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (typeof input === 'string') child.stdin.end(input);
    else if (input) input.pipe(child.stdin);
    else child.stdin.end();
  });
}

async function highWatermarks(server: BenchServer, topic: string): Promise<number> {
  const described = await sendJson<{ partitions: { highWatermark: number }[] }>(server.url, 'GET', `/v1/topics/${topic}`);
  return described.partitions.reduce((sum, p) => sum + p.highWatermark, 0);
}

export async function runKafkaBench(
  server: BenchServer,
  options: KafkaBenchOptions,
  progress: (line: string) => void,
): Promise<KafkaBenchResults> {
  if (!existsSync(kcatPath)) throw new Error('kcat is not installed: sudo apt-get install -y kcat');
  const partitions = options.clients;
  for (const name of ['kbench-http', 'kbench-kafkajs', 'kbench-kafkajs-idempotent', 'kbench-kcat', 'kbench-read']) {
    await sendJson(server.url, 'POST', '/v1/topics', { name, partitions });
  }
  const rows: KafkaBenchRow[] = [];
  const n = options.recordsPerRequest;

  // Produce over HTTP: the same record size and count per request as the Kafka clients send.
  const bodies = Array.from({ length: options.clients }, (_, c) => produceBody(n, c));
  const http = await closedLoop(options.clients, options.produceMs, async (c) => {
    const r = await send(server.url, 'POST', '/v1/topics/kbench-http/records', bodies[c]!);
    return r.status === 200 ? n : `${r.status}`;
  });
  rows.push(row('produce', 'HTTP API', http.units, http.elapsedMs, http.latency, `${options.clients} clients x ${n} records/request`));
  progress(`kafka bench: HTTP produce ${rows.at(-1)!.recordsPerSecond.toFixed(0)} records/s`);

  // Produce with KafkaJS: one producer per client, each send() one batch of n records to its
  // partition; then the same with idempotent producers, whose batches also record their sequence
  // (docs/kafka.md, "Idempotent producers"), side by side in one run.
  const kafkaJsProduce = async (topic: string, idempotent: boolean) => {
    const producers = await connectedProducers(
      server,
      options.clients,
      `bench-producer-${idempotent ? 'idempotent-' : ''}`,
      server.kafka,
      idempotent ? { idempotent: true, maxInFlightRequests: 1 } : {},
    );
    const messages = Array.from({ length: n }, () => ({ value }));
    // Metadata, connections and (idempotent) producer ids, outside the window.
    await Promise.all(producers.map((p, c) => p.send({ topic, messages: [{ value, partition: c }] })));
    const loop = await closedLoop(options.clients, options.produceMs, async (c) => {
      await producers[c]!.send({ topic, messages: messages.map((m) => ({ ...m, partition: c })) });
      return n;
    });
    await Promise.all(producers.map((p) => p.disconnect()));
    return loop;
  };
  const kjs = await kafkaJsProduce('kbench-kafkajs', false);
  rows.push(row('produce', 'KafkaJS', kjs.units, kjs.elapsedMs, kjs.latency, `${options.clients} producers x ${n} records/send, acks=all`));
  progress(`kafka bench: KafkaJS produce ${rows.at(-1)!.recordsPerSecond.toFixed(0)} records/s`);
  const idempotent = await kafkaJsProduce('kbench-kafkajs-idempotent', true);
  rows.push(
    row(
      'produce',
      'KafkaJS idempotent',
      idempotent.units,
      idempotent.elapsedMs,
      idempotent.latency,
      `as KafkaJS, with idempotent: true (a claim per batch, a sequence checkpoint per 32)`,
    ),
  );
  progress(`kafka bench: KafkaJS idempotent produce ${rows.at(-1)!.recordsPerSecond.toFixed(0)} records/s`);

  // Produce with kcat: as many records as KafkaJS produced, pipelined by librdkafka (linger 5 ms).
  const kcatRecords = Math.max(kjs.units, n * 10);
  const lines = `${Array.from({ length: kcatRecords }, () => value).join('\n')}\n`;
  const kcatStarted = performance.now();
  const produced = await runKcat(
    ['-b', server.kafka, '-P', '-t', 'kbench-kcat', '-X', 'linger.ms=5', '-X', 'partitioner=murmur2_random'],
    lines,
  );
  const kcatMs = performance.now() - kcatStarted;
  if (produced.code !== 0) throw new Error(`kcat -P failed: ${produced.stderr}`);
  rows.push(
    row(
      'produce',
      'kcat',
      await highWatermarks(server, 'kbench-kcat'),
      kcatMs,
      null,
      'one process, librdkafka batching (includes start-up)',
    ),
  );
  progress(`kafka bench: kcat produce ${rows.at(-1)!.recordsPerSecond.toFixed(0)} records/s`);

  // The data set every reader reads: written once over HTTP, n records per batch, on partition 0.
  const readBody = produceBody(n, 0);
  for (let written = 0; written < options.fetchRecords; written += n)
    await send(server.url, 'POST', '/v1/topics/kbench-read/records', readBody);
  const total = await highWatermarks(server, 'kbench-read');

  // HTTP: sequential 1 MiB pages.
  const pages = newHistogram();
  const httpStarted = performance.now();
  let read = 0;
  for (let offset = 0; offset < total; ) {
    const t0 = performance.now();
    const r = await send(
      server.url,
      'GET',
      `/v1/topics/kbench-read/partitions/0/records?offset=${offset}&maxBytes=1048576&maxRecords=100000`,
    );
    recordMs(pages, performance.now() - t0);
    const page = JSON.parse(r.body.toString()) as { records: unknown[]; nextOffset: number };
    read += page.records.length;
    offset = page.nextOffset;
  }
  rows.push(row('fetch', 'HTTP API', read, performance.now() - httpStarted, summarize(pages), 'GET records, 1 MiB pages'));
  progress(`kafka bench: HTTP fetch ${rows.at(-1)!.megabytesPerSecond.toFixed(1)} MB/s`);

  // KafkaJS consumer: a fresh group reading from the beginning; Fetch latency from its instrumentation.
  const fetches = newHistogram();
  const consumer = kafkaClient(server, 'bench-consumer').consumer({
    groupId: `bench-${Date.now()}`,
    maxBytes: 1 << 20,
    maxBytesPerPartition: 1 << 20,
  });
  consumer.on(consumer.events.REQUEST, (e) => {
    if (e.payload.apiName === 'Fetch') recordMs(fetches, e.payload.duration);
  });
  await consumer.connect();
  await consumer.subscribe({ topic: 'kbench-read', fromBeginning: true });
  let consumed = 0;
  let kjsStarted = 0;
  let kjsEnded = 0;
  const allRead = new Promise<void>((resolve) => {
    void consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        if (consumed === 0) kjsStarted = performance.now();
        consumed += batch.messages.length;
        if (consumed >= total) {
          kjsEnded = performance.now();
          resolve();
        }
      },
    });
  });
  const joinStarted = performance.now();
  await Promise.race([allRead, new Promise((r) => setTimeout(r, 120_000))]);
  await consumer.disconnect();
  rows.push(
    row(
      'fetch',
      'KafkaJS',
      consumed,
      (kjsEnded || performance.now()) - (kjsStarted || joinStarted),
      summarize(fetches),
      'consumer, 1 MiB fetches, from its first batch (group join excluded)',
    ),
  );
  progress(`kafka bench: KafkaJS fetch ${rows.at(-1)!.megabytesPerSecond.toFixed(1)} MB/s`);

  // kcat -C: reads to the end and exits.
  const kcatReadStarted = performance.now();
  const readOut = await runKcat(['-b', server.kafka, '-C', '-t', 'kbench-read', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o\\n']);
  if (readOut.code !== 0) throw new Error(`kcat -C failed: ${readOut.stderr}`);
  rows.push(row('fetch', 'kcat', total, performance.now() - kcatReadStarted, null, 'kcat -C -e (includes start-up)'));
  progress(`kafka bench: kcat fetch ${rows.at(-1)!.megabytesPerSecond.toFixed(1)} MB/s`);
  return { options, rows, hotPartition: await runHotPartition(server, options.hotPartition, progress) };
}

export function formatKafkaReport(results: KafkaBenchResults): string {
  const ms = (l: LatencySummary | null, key: 'p50Ms' | 'p99Ms') => (l && l.count > 0 ? l[key].toFixed(1) : 'n/a');
  const lines = [
    '## Kafka protocol gateway beside the HTTP API',
    '',
    `1 KiB records; produce: ${results.options.clients} concurrent clients, ${results.options.recordsPerRequest} records per request or send; fetch: one data set of ${results.options.fetchRecords} records read back by each client. Latency is per request (HTTP request, Kafka Produce/Fetch request).`,
    '',
    '| workload | client | records | records/s | MB/s | p50 ms | p99 ms | note |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...results.rows.map(
      (r) =>
        `| ${r.workload} | ${r.client} | ${r.records} | ${r.recordsPerSecond.toFixed(0)} | ${r.megabytesPerSecond.toFixed(2)} | ${ms(r.requestLatency, 'p50Ms')} | ${ms(r.requestLatency, 'p99Ms')} | ${r.note} |`,
    ),
  ];
  if (results.hotPartition.length > 0) {
    const byCell = (clients: number, pair: number, limit: number) =>
      results.hotPartition.find((r) => r.clients === clients && r.pair === pair && r.appendsPerPartition === limit);
    lines.push(
      '',
      `### Many producers on one partition: the group commit (${produceAppendsPerPartition} chunk write per partition at a time, as shipped) beside none`,
      '',
      `KafkaJS producers, one connection each, sending one 1 KiB record at a time (acks=all) to one partition, ${results.options.hotPartition.cellMs / 1000} s per cell; the two listeners share one process and one data set, the order alternating from pair to pair. "WRU/send": DynamoDB write units billed per record, failed conditions included (AWS serves 1,000 a second per partition key). "exact": the partition holds exactly the acknowledged records.`,
      '',
      '| producers | pair | shipped: sends/s | none: sends/s | shipped / none | shipped: p99 ms | none: p99 ms | shipped: max ms | none: max ms | shipped: WRU/send | none: WRU/send | failed | exact |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    );
    for (const clients of results.options.hotPartition.clients) {
      for (let pair = 1; pair <= results.options.hotPartition.pairs; pair++) {
        const shipped = byCell(clients, pair, produceAppendsPerPartition);
        const none = byCell(clients, pair, 0);
        if (!shipped || !none) continue;
        lines.push(
          `| ${clients} | ${pair} | ${shipped.sendsPerSecond.toFixed(0)} | ${none.sendsPerSecond.toFixed(0)} | ${(shipped.sendsPerSecond / none.sendsPerSecond).toFixed(2)}x | ${shipped.latency.p99Ms.toFixed(0)} | ${none.latency.p99Ms.toFixed(0)} | ${shipped.latency.maxMs.toFixed(0)} | ${none.latency.maxMs.toFixed(0)} | ${shipped.wruPerSend.toFixed(1)} | ${none.wruPerSend.toFixed(1)} | ${shipped.failed + none.failed} | ${shipped.exact && none.exact ? 'yes' : 'NO'} |`,
        );
      }
    }
  }
  return lines.join('\n');
}
