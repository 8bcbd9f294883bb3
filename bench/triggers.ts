/**
 * `npm run bench:triggers`: push delivery against the local runtime (embedded emulators).
 *
 * - Latency: produce one record, time until the function receives it (median, p99), with a
 *   function that returns at once, woken by DynamoDB Local's stream as on AWS.
 * - Throughput: records per second delivered to such a function when catching up.
 * - Cost on AWS list prices (bench/prices.ts): per million records delivered, from the DynamoDB
 *   and S3 operations the dispatcher made while catching up (counted by SDK middleware; each
 *   DynamoDB operation priced as one unit, as its items are under 1 KB / 4 KB) and its Lambda time;
 *   and per idle trigger-month, from the once-a-minute sweep.
 *
 * The function is an Invoke endpoint in this process (the Lambda Invoke API over HTTP, reached
 * through @aws-sdk/client-lambda), so the numbers are the dispatcher's, not a handler's.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startLocalTriggers } from '../infra/local/lambda-dispatcher';
import { startLocalRuntime } from '../infra/local/runtime';
import { dynamo, s3Client } from '../shared/runtime/aws';
import { resetLambdaClient } from '../shared/triggers/invoke';
import { prices } from './prices';

const quick = process.argv.includes('quick');
const latencySamples = Number(process.env.BENCH_SAMPLES ?? (quick ? 60 : 200));
const throughputRecords = quick ? 5_000 : 20_000;
const partitions = 4;

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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

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

  console.log('## Triggers (local runtime, embedded emulators)\n');
  console.log('| Measure | Logway | Kinesis ESM | MSK ESM |');
  console.log('| --- | --- | --- | --- |');
  console.log(
    `| produce-to-invocation latency, median | ${percentile(latencies, 50)} ms | ~200 ms to 1 s (standard polling) | ~500 ms default window; < 100 ms needs provisioned pollers |`,
  );
  console.log(`| produce-to-invocation latency, p99 | ${percentile(latencies, 99)} ms | | |`);
  console.log(
    `| records/s delivered (${partitions} partitions, batchSize 1000, function returns at once) | ${Math.round(recordsPerSecond)} | | |`,
  );
  console.log(`| invocations for ${total} records | ${delivered} | | |`);
  console.log(`| cost per million records delivered (AWS list prices, ${p.asOf}) | $${perMillionTotal.toFixed(3)} | | |`);
  console.log(`| cost per million records delivered one per invocation (the latency run) | $${singleCost.toFixed(2)} | | |`);
  console.log(
    `| idle trigger-month | $${(idleStack + idlePerTrigger).toFixed(3)} (sweep $${idleStack.toFixed(3)} per stack + $${idlePerTrigger.toFixed(3)} per trigger) | ~$11 per shard | MSK Serverless cluster ~$547 |`,
  );
  console.log(
    '\nDelivery cost parts per million records:',
    Object.fromEntries(Object.entries(deliveryCost).map(([k, v]) => [k, `$${v.toFixed(4)}`])),
  );
  console.log(`Operations counted while catching up: ${counts.reads} DynamoDB reads, ${counts.writes} writes, ${counts.s3Gets} S3 calls.`);
  console.log(
    `Operations counted for ${latencySamples} single-record deliveries: ${latencyCounts.reads} reads, ${latencyCounts.writes} writes.`,
  );
} finally {
  await triggers.stop();
  await runtime.stop();
  endpoint.closeAllConnections();
  endpoint.close();
}
