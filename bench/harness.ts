/**
 * What the workloads share: the system under test in a child process (bench/server.ts), a
 * keep-alive HTTP client, closed-loop drivers, and latency histograms.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { build, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { emulatorCredentials } from '../infra/local/bootstrap';
import type { Usage } from './cost';
import type { CpuUsage, ServerReady, ServerReply, ServerRequest } from './server';

// ---------------------------------------------------------------------------------------------
// The system under test

export interface Measured {
  readonly usage: Usage;
  readonly cpu: CpuUsage;
}

export interface BenchServer {
  readonly url: string;
  readonly endpoints: { dynamodb: string; s3: string };
  readonly embedded: boolean;
  /** The Kafka protocol listener's bootstrap address, host:port. */
  readonly kafka: string;
  /** A listener on the same data without a group commit (each batch writes alone), host:port. */
  readonly unlimitedKafka: string;
  /** Usage and CPU since the last reset; starts a new count. */
  reset(): Promise<Measured>;
  snapshot(): Promise<Measured>;
  stop(): Promise<void>;
}

export async function startBenchServer(): Promise<BenchServer> {
  const serverPath = fileURLToPath(new URL('./server.ts', import.meta.url));
  // process.execArgv carries tsx's loader, so the child runs TypeScript the same way.
  // The handlers' CloudWatch metrics (EMF lines on stdout) are off: the report is stdout.
  const child: ChildProcess = fork(serverPath, [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, POWERTOOLS_METRICS_DISABLED: 'true' },
  });
  const ready = await new Promise<ServerReady>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`bench server exited (${code}) before it was ready`));
    child.once('exit', onExit);
    child.once('message', (message: ServerReady) => {
      child.off('exit', onExit);
      resolve(message);
    });
  });
  let nextId = 1;
  const pending = new Map<number, (measured: Measured) => void>();
  child.on('message', (message: ServerReply) => {
    if (message.type !== 'reply') return;
    pending.get(message.id)?.({ usage: message.usage, cpu: message.cpu });
    pending.delete(message.id);
  });
  const call = (command: ServerRequest['command']) =>
    new Promise<Measured>((resolve, reject) => {
      if (!child.connected) return reject(new Error('bench server is gone'));
      const id = nextId++;
      pending.set(id, resolve);
      child.send({ id, command } satisfies ServerRequest);
    });
  let stopped: Promise<void> | undefined;
  return {
    url: ready.url,
    endpoints: ready.endpoints,
    embedded: ready.embedded,
    kafka: `127.0.0.1:${ready.kafkaPort}`,
    unlimitedKafka: `127.0.0.1:${ready.unlimitedKafkaPort}`,
    reset: () => call('reset'),
    snapshot: () => call('snapshot'),
    stop: () =>
      (stopped ??= (async () => {
        if (child.exitCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        await Promise.race([call('stop').catch(() => undefined), exited]);
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      })()),
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export interface HttpResult {
  readonly status: number;
  readonly body: Buffer;
}

export function send(
  baseUrl: string,
  method: string,
  path: string,
  body?: Buffer | string,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  const url = new URL(path, baseUrl);
  const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        agent,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export async function sendJson<T>(baseUrl: string, method: string, path: string, body?: unknown): Promise<T> {
  const result = await send(baseUrl, method, path, body === undefined ? undefined : JSON.stringify(body));
  if (result.status >= 300) throw new Error(`${method} ${path}: HTTP ${result.status} ${result.body.toString().slice(0, 300)}`);
  return (result.body.length ? JSON.parse(result.body.toString()) : undefined) as T;
}

// ---------------------------------------------------------------------------------------------
// Latency histograms (values recorded in microseconds)

export function newHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** HdrHistogram compressed base64: decode with hdr-histogram-js to compare or merge runs. */
  readonly histogram: string;
}

export function recordMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
}

export function summarize(histogram: Histogram): LatencySummary {
  const ms = (us: number) => us / 1000;
  return {
    count: histogram.totalCount,
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p90Ms: ms(histogram.getValueAtPercentile(90)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    maxMs: ms(histogram.maxValue),
    meanMs: ms(histogram.mean),
    histogram: histogram.totalCount > 0 ? encodeIntoCompressedBase64(histogram) : '',
  };
}

// ---------------------------------------------------------------------------------------------
// Closed-loop drivers

export interface LoopResult {
  /** Operations that succeeded. */
  readonly ok: number;
  readonly failed: number;
  /** Units of work the successful operations did (records, bytes...), as each reported. */
  readonly units: number;
  readonly elapsedMs: number;
  readonly latency: LatencySummary;
  readonly failures: Record<string, number>;
}

/**
 * Runs `clients` closed loops for `durationMs`: each loop calls `operation(client)` again as soon
 * as the previous call returned. Calls that return a number succeeded and did that many units of
 * work; a returned string is a failure reason. Elapsed time runs until the last call in flight
 * has finished, so no work is counted outside the window it took.
 */
export async function closedLoop(
  clients: number,
  durationMs: number,
  operation: (client: number, iteration: number) => Promise<number | string>,
): Promise<LoopResult> {
  const histogram = newHistogram();
  const failures: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let units = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let iteration = 0; performance.now() < deadline; iteration++) {
        const t0 = performance.now();
        let outcome: number | string;
        try {
          outcome = await operation(client, iteration);
        } catch (error) {
          outcome = (error as Error).name || 'Error';
        }
        if (typeof outcome === 'number') {
          ok++;
          units += outcome;
          recordMs(histogram, performance.now() - t0);
        } else {
          failed++;
          failures[outcome] = (failures[outcome] ?? 0) + 1;
        }
      }
    }),
  );
  return { ok, failed, units, elapsedMs: performance.now() - started, latency: summarize(histogram), failures };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A DynamoDB client of the floor's own, straight to `endpoint` (no HTTP front end, no
 * instrumentation): the embedded emulator's credentials when this run started it.
 */
export function floorDynamoClient(endpoint: string, embedded: boolean): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    maxAttempts: 4,
    ...(embedded ? { credentials: emulatorCredentials } : {}),
  });
}

/** The median (the lower of the two middle values for an even count; 0 for none). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor((sorted.length - 1) / 2)]!;
}
