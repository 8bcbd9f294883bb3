/**
 * Push delivery against the local runtime (embedded emulators), part of `npm run bench`
 * (`npm run bench -- triggers` runs only this; `npm run bench:triggers` is that alias). It runs in
 * a child process of bench/run.ts (forked, results over IPC), so its in-process runtime and SDK
 * middleware never touch the other benchmarks.
 *
 * - Latency: produce one record, time until the function receives it (median, p99), with a
 *   function that returns at once, woken by DynamoDB Local's stream as on AWS.
 * - Throughput: records per second delivered to such a function when catching up.
 * - Cost on AWS list prices (bench/prices.ts): per million records delivered, from the DynamoDB
 *   and S3 operations the dispatcher made while catching up (counted by SDK middleware; each
 *   DynamoDB operation priced as one unit, as its items are under 1 KB / 4 KB) and its Lambda time;
 *   and per idle trigger-month, from the once-a-minute sweep. Beside them, Kinesis' and MSK's
 *   event source mappings: their published latency and, from the same price table, what reading
 *   the same records and keeping the stream idle cost there.
 *
 * The function is an Invoke endpoint in this process (the Lambda Invoke API over HTTP, reached
 * through @aws-sdk/client-lambda), so the numbers are the dispatcher's, not a handler's.
 */
import { closeServer } from '../shared/http/loopback';
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startLocalTriggers } from '../infra/local/lambda-dispatcher';
import { startLocalRuntime } from '../infra/local/runtime';
import { dynamo, s3Client } from '../shared/runtime/aws';
import { resetLambdaClient } from '../shared/triggers/invoke';
import { prices } from './prices';
import { table } from './report';

export interface TriggersBenchOptions {
  readonly latencySamples: number;
  readonly throughputRecords: number;
  readonly partitions: number;
}

export interface TriggersBenchResults {
  readonly options: TriggersBenchOptions;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number; readonly missed: number };
  readonly recordsPerSecond: number;
  readonly recordsDelivered: number;
  readonly invocations: number;
  readonly valueBytes: number;
  /** Dollars per million records delivered in batches (catching up), by part. */
  readonly deliveryCostParts: Record<string, number>;
  readonly perMillionDelivered: number;
  /** Dollars per million records delivered one per invocation (the latency run). */
  readonly perMillionSingle: number;
  readonly idleStackMonth: number;
  readonly idlePerTriggerMonth: number;
  readonly operations: {
    readonly catchingUp: { reads: number; writes: number; s3Gets: number };
    readonly latencyRun: { reads: number; writes: number; s3Gets: number };
  };
}

/**
 * Kinesis' and MSK's event source mappings, as AWS publishes them (the latency column) and priced
 * from bench/prices.ts (the cost columns): the one place the comparison is stated.
 */
export function publishedComparison(valueBytes: number) {
  const hours = 730;
  const perMillionGb = (1e6 * valueBytes) / 2 ** 30;
  return {
    kinesis: {
      latency: '~200 ms to 1 s (standard polling)',
      p99: 'not published',
      throughput: 'per shard: 2 MB/s read, 5 GetRecords/s shared by consumers',
      perMillionDelivered: perMillionGb * prices.kinesisOnDemand.perGbOut,
      perMillionNote: 'on-demand retrieval',
      idleMonth: prices.kinesisProvisioned.perShardHour * hours,
      idleNote: 'per provisioned shard',
    },
    msk: {
      latency: '500 ms default batching window; < 100 ms only with provisioned pollers',
      p99: 'not published',
      throughput: 'per poller: up to 5 MB/s (provisioned mode)',
      perMillionDelivered: perMillionGb * prices.mskServerless.perGbOut,
      perMillionNote: 'MSK Serverless data out',
      idleMonth: prices.mskServerless.perClusterHour * hours,
      idleNote: 'per MSK Serverless cluster',
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const VALUE_BYTES = 'record-00000-'.length + 80;

/** Measures in this process: starts an in-process runtime and an Invoke endpoint, stops both. */
export async function measureTriggers(
  options: TriggersBenchOptions,
  log: (line: string) => void = () => undefined,
): Promise<TriggersBenchResults> {
  const { latencySamples, throughputRecords, partitions } = options;
  const arrivals = new Map<string, number>();
  let invocations = 0;
  const endpoint = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const now = Date.now();
      invocations++;
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { records: Record<string, { offset: number }[]> };
      for (const [key, records] of Object.entries(event.records)) for (const r of records) arrivals.set(`${key}@${r.offset}`, now);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('null');
    });
  });
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', () => resolve()));
  process.env.AWS_ENDPOINT_URL_LAMBDA = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`;
  resetLambdaClient();

  const runtime = await startLocalRuntime({ port: 0, triggers: false, scheduler: false });
  const triggers = startLocalTriggers();
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${runtime.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  try {
    const counts = { reads: 0, writes: 0, s3Gets: 0 };
    const readCommands = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand']);
    dynamo().middlewareStack.add(
      (next, context) => async (args) => {
        const name = (context as { commandName?: string }).commandName ?? '';
        // Appends are produce's, not delivery's: the dispatcher never writes a transaction.
        if (name === 'TransactWriteItemsCommand') return next(args);
        if (readCommands.has(name) || /Get|Query|Scan/.test(name)) counts.reads++;
        else counts.writes++;
        return next(args);
      },
      { step: 'initialize', name: 'benchCounter' },
    );
    s3Client().middlewareStack.add(
      (next) => async (args) => {
        counts.s3Gets++;
        return next(args);
      },
      { step: 'initialize', name: 'benchCounter' },
    );
    // ---- latency ----
    await call('POST', '/v1/topics', { name: 'latency', partitions: 1 });
    await call('PUT', '/v1/triggers/latency', { topic: 'latency', functionName: 'fn' });
    const latencies: number[] = [];
    for (let i = 0; i < latencySamples; i++) {
      const sent = Date.now();
      const { offsets } = await call('POST', '/v1/topics/latency/records', { records: [{ value: `v${i}` }] });
      const key = `latency-0@${offsets[0].offset}`;
      const deadline = Date.now() + 5_000;
      while (!arrivals.has(key) && Date.now() < deadline) await sleep(2);
      latencies.push((arrivals.get(key) ?? Number.POSITIVE_INFINITY) - sent);
      await sleep(20);
    }
    latencies.sort((a, b) => a - b);
    const latencyCounts = { ...counts };
    counts.reads = 0;
    counts.writes = 0;
    counts.s3Gets = 0;
    if (process.env.BENCH_DEBUG) console.log(JSON.stringify(await call('GET', '/v1/triggers/latency')));

    log(`triggers: latency measured (${latencySamples} samples)`);
    // ---- throughput ----
    await call('POST', '/v1/topics', { name: 'bulk', partitions });
    await call('PUT', '/v1/triggers/bulk', {
      topic: 'bulk',
      functionName: 'fn',
      startingPosition: 'TRIM_HORIZON',
      batchSize: 1000,
      enabled: false,
    });
    const perRequest = 500;
    for (let sent = 0; sent < throughputRecords; sent += perRequest) {
      await call('POST', '/v1/topics/bulk/records', {
        records: Array.from({ length: perRequest }, (_, i) => ({
          value: `record-${sent + i}-${'x'.repeat(80)}`,
          partition: (sent / perRequest) % partitions,
        })),
      });
    }
    const invocationsBefore = invocations;
    const started = Date.now();
    await call('PUT', '/v1/triggers/bulk', { topic: 'bulk', functionName: 'fn', batchSize: 1000 });
    // Enabling does not wake a trigger: one append per partition does.
    await call('POST', '/v1/topics/bulk/records', {
      records: Array.from({ length: partitions }, (_, partition) => ({ value: 'wake', partition })),
    });
    const total = throughputRecords + partitions;
    for (;;) {
      const status = await call('GET', '/v1/triggers/bulk');
      if (status.partitions.every((p: { lag: number }) => p.lag === 0)) break;
      if (Date.now() - started > 300_000) throw new Error('throughput run did not catch up in 5 minutes');
      await sleep(50);
    }
    const seconds = (Date.now() - started) / 1000;
    const recordsPerSecond = total / seconds;
    const delivered = invocations - invocationsBefore;

    // ---- cost model ----
    const p = prices;
    const perMillion = 1e6 / total;
    const gbSeconds = seconds * (p.lambda.memoryMb / 1024); // upper bound: the dispatcher busy the whole run
    const dispatcherInvocations = partitions * 2; // a stream wake-up and its hand-on per partition
    const deliveryCost = {
      dynamodbReads: ((counts.reads * perMillion) / 1e6) * p.dynamodb.perMillionReadUnits,
      dynamodbWrites: ((counts.writes * perMillion) / 1e6) * p.dynamodb.perMillionWriteUnits,
      s3Gets: ((counts.s3Gets * perMillion) / 1000) * p.s3.perThousandGet,
      lambdaCompute: gbSeconds * perMillion * p.lambda.perGbSecondArm64,
      lambdaRequests: ((dispatcherInvocations * perMillion) / 1e6) * p.lambda.perMillionRequests,
    };
    const perMillionTotal = Object.values(deliveryCost).reduce((a, b) => a + b, 0);
    // One record per invocation (the latency phase): every delivery is a wake-up, a lease and an invocation.
    const single = 1e6 / latencySamples;
    const singleCost =
      ((latencyCounts.reads * single) / 1e6) * p.dynamodb.perMillionReadUnits +
      ((latencyCounts.writes * single) / 1e6) * p.dynamodb.perMillionWriteUnits +
      ((latencyCounts.s3Gets * single) / 1000) * p.s3.perThousandGet +
      2 * p.lambda.perMillionRequests +
      1e6 * (percentile(latencies, 50) / 1000) * (p.lambda.memoryMb / 1024) * p.lambda.perGbSecondArm64;
    const sweepsPerMonth = 30 * 24 * 60;
    const sweepMs = 50;
    const idleStack =
      (sweepsPerMonth / 1e6) * p.lambda.perMillionRequests +
      sweepsPerMonth * (sweepMs / 1000) * (p.lambda.memoryMb / 1024) * p.lambda.perGbSecondArm64;
    const idlePerTrigger = ((sweepsPerMonth * 4) / 1e6) * p.dynamodb.perMillionReadUnits;

    const missed = latencies.filter((l) => !Number.isFinite(l)).length;
    log(`triggers: ${total} records delivered in ${seconds.toFixed(1)} s`);
    return {
      options,
      latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1)!, missed },
      recordsPerSecond,
      recordsDelivered: total,
      invocations: delivered,
      valueBytes: VALUE_BYTES,
      deliveryCostParts: deliveryCost,
      perMillionDelivered: perMillionTotal,
      perMillionSingle: singleCost,
      idleStackMonth: idleStack,
      idlePerTriggerMonth: idlePerTrigger,
      operations: { catchingUp: { ...counts }, latencyRun: latencyCounts },
    };
  } finally {
    await triggers.stop();
    await runtime.stop();
    await closeServer(endpoint);
  }
}

const dollars = (n: number) => (n >= 1 ? `$${n.toFixed(2)}` : n >= 0.01 ? `$${n.toFixed(3)}` : `$${n.toFixed(4)}`);

/** The triggers table of the report, Logway beside Kinesis' and MSK's event source mappings. */
export function formatTriggersReport(r: TriggersBenchResults): string {
  const c = publishedComparison(r.valueBytes);
  const o = r.options;
  const rows = [
    ['produce sent → function invoked, median', `${r.latencyMs.p50} ms`, c.kinesis.latency, c.msk.latency],
    ['produce sent → function invoked, p99', `${r.latencyMs.p99} ms`, c.kinesis.p99, c.msk.p99],
    [
      `records/s delivered catching up (${o.partitions} partitions, batchSize 1000, function returns at once)`,
      String(Math.round(r.recordsPerSecond)),
      c.kinesis.throughput,
      c.msk.throughput,
    ],
    [
      `$ per million records delivered, catching up (${r.valueBytes}-byte values)`,
      dollars(r.perMillionDelivered),
      `${dollars(c.kinesis.perMillionDelivered)} (${c.kinesis.perMillionNote})`,
      `${dollars(c.msk.perMillionDelivered)} (${c.msk.perMillionNote})`,
    ],
    ['$ per million records delivered, one record per invocation', dollars(r.perMillionSingle), '', ''],
    [
      '$ per idle trigger-month',
      `${dollars(r.idleStackMonth + r.idlePerTriggerMonth)} (sweep ${dollars(r.idleStackMonth)} per stack + ${dollars(r.idlePerTriggerMonth)} per trigger)`,
      `${dollars(c.kinesis.idleMonth)} ${c.kinesis.idleNote}`,
      `${dollars(c.msk.idleMonth)} ${c.msk.idleNote}`,
    ],
  ];
  return [
    `## Triggers (local runtime, embedded emulators; ${o.latencySamples} latency samples, ${r.recordsDelivered} records; AWS list prices of ${prices.asOf})`,
    '',
    table(['Measure', 'Logway', 'Kinesis ESM', 'MSK ESM'], rows, 1),
    '',
    `Missed latency samples (not delivered within 5 s): ${r.latencyMs.missed}; slowest ${r.latencyMs.max} ms. ${r.invocations} invocations for ${r.recordsDelivered} records.`,
    `Delivery cost parts per million records: ${Object.entries(r.deliveryCostParts)
      .map(([k, v]) => `${k} $${v.toFixed(4)}`)
      .join(', ')}.`,
    `Operations counted while catching up: ${r.operations.catchingUp.reads} DynamoDB reads, ${r.operations.catchingUp.writes} writes, ${r.operations.catchingUp.s3Gets} S3 calls; for ${o.latencySamples} single-record deliveries: ${r.operations.latencyRun.reads} reads, ${r.operations.latencyRun.writes} writes.`,
  ].join('\n');
}

/** Runs `measureTriggers` in a child process (this file, forked) and returns its results. */
export function runTriggersBench(options: TriggersBenchOptions, log: (line: string) => void): Promise<TriggersBenchResults> {
  // The runtime's metrics lines (stdout) are not the report's: only errors and the IPC results come back.
  const child = fork(fileURLToPath(import.meta.url), [JSON.stringify(options)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let results: TriggersBenchResults | undefined;
    child.on('message', (message: { type: string; line?: string; results?: TriggersBenchResults; error?: string }) => {
      if (message.type === 'log') log(message.line!);
      else if (message.type === 'results') results = message.results;
      else if (message.type === 'error') reject(new Error(`triggers benchmark failed: ${message.error}`));
    });
    child.once('exit', (code) => (results ? resolve(results) : reject(new Error(`triggers benchmark exited (${code}) without results`))));
  });
}

// Forked by runTriggersBench: measure, send the results, exit.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  const send = (message: unknown) => new Promise<void>((resolve) => process.send!(message, () => resolve()));
  measureTriggers(JSON.parse(process.argv[2]!) as TriggersBenchOptions, (line) => void send({ type: 'log', line })).then(
    async (results) => {
      await send({ type: 'results', results });
      process.exit(0);
    },
    async (error: unknown) => {
      await send({ type: 'error', error: String((error as Error)?.stack ?? error) });
      process.exit(1);
    },
  );
}
