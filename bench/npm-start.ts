/**
 * `npm start` from cold, as a user meets it: the service started exactly as `npm start` starts it
 * (infra/local/start.ts: DynamoDB Local on disk, the IAM check on), and as soon as it prints its
 * start line, 16 closed-loop producers send 1-record requests of 1 KiB to one partition: the
 * hot-partition scenario in its first seconds, without an Idempotency-Key and, from another cold
 * start, with one on every request (the client's default). Beside it, interleaved, the same start with the
 * warm-up off and fsync kept (LOGWAY_WARMUP_MS=0 LOGWAY_FSYNC=1: how `npm start` ran before it
 * warmed DynamoDB Local and dropped fsync; docs/local-runtime.md, "Warm at start, and disk writes").
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnNpmStart } from '../infra/local/processes';
import { closedLoop, type LatencySummary, send, sendJson } from './harness';
import { table } from './report';
import { produceBody } from './workloads';

export interface NpmStartOptions {
  /** How long the producers run after the start line. */
  readonly durationMs: number;
  readonly clients: number;
  /** Pairs of starts (baseline, then as shipped). */
  readonly repetitions: number;
}

export const npmStartVariants = {
  'as shipped': {},
  'no warm-up, fsync kept': { LOGWAY_WARMUP_MS: '0', LOGWAY_FSYNC: '1' },
} as const satisfies Record<string, Record<string, string>>;

export type NpmStartVariant = keyof typeof npmStartVariants;

export interface NpmStartCell {
  readonly variant: NpmStartVariant;
  readonly repetition: number;
  /** Every request carried an Idempotency-Key. */
  readonly keyed: boolean;
  /** From spawning `npm start`'s process to its start line. */
  readonly startMs: number;
  /** What the start line said: DynamoDB Local's files without fsync (eatmydata found). */
  readonly skipsFsync: boolean;
  readonly clients: number;
  readonly requests: number;
  readonly failedRequests: number;
  readonly failures: Record<string, number>;
  readonly requestsPerSecond: number;
  readonly latency: LatencySummary;
}

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly startMs: number;
  readonly output: () => string;
}

async function startNpmStart(dataDir: string, variant: NpmStartVariant): Promise<Started> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    KAFKA_PORT: '0',
    LOGWAY_DATA_DIR: dataDir,
    ...npmStartVariants[variant],
  };
  // Settings of the bench's own shell are not the variant's.
  for (const name of ['LOGWAY_WARMUP_MS', 'LOGWAY_FSYNC']) if (!(name in npmStartVariants[variant])) delete env[name];
  const spawned = performance.now();
  const { child, output } = spawnNpmStart(env);
  const deadline = Date.now() + 60_000;
  while (!output().includes('Logway is running')) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`npm start printed no start line within 60 s:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { child, url: `http://127.0.0.1:${port}`, startMs: performance.now() - spawned, output };
}

async function stopNpmStart(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function cell(variant: NpmStartVariant, repetition: number, keyed: boolean, options: NpmStartOptions): Promise<NpmStartCell> {
  const dataDir = mkdtempSync(join(tmpdir(), 'logway-bench-start-'));
  const started = await startNpmStart(dataDir, variant);
  try {
    await sendJson(started.url, 'POST', '/v1/topics', { name: 'hot', partitions: 1 });
    const body = produceBody(1, 0);
    const loop = await closedLoop(options.clients, options.durationMs, async () => {
      const headers: Record<string, string> = keyed ? { 'idempotency-key': randomUUID() } : {};
      const result = await send(started.url, 'POST', '/v1/topics/hot/records', body, headers);
      return result.status === 200 ? 1 : `${result.status}`;
    });
    return {
      variant,
      repetition,
      keyed,
      startMs: started.startMs,
      skipsFsync: started.output().includes('without fsync'),
      clients: options.clients,
      requests: loop.ok,
      failedRequests: loop.failed,
      failures: loop.failures,
      requestsPerSecond: loop.ok / (loop.elapsedMs / 1000),
      latency: loop.latency,
    };
  } finally {
    await stopNpmStart(started.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runNpmStartBench(options: NpmStartOptions, log: (line: string) => void): Promise<NpmStartCell[]> {
  const cells: NpmStartCell[] = [];
  for (let repetition = 1; repetition <= options.repetitions; repetition++) {
    for (const keyed of [false, true])
      for (const variant of ['no warm-up, fsync kept', 'as shipped'] as const) {
        const result = await cell(variant, repetition, keyed, options);
        log(
          `npm start (${variant}, ${keyed ? 'with' : 'without'} a key, #${repetition}): started in ${result.startMs.toFixed(0)} ms; ${result.requestsPerSecond.toFixed(0)} appends/s, ` +
            `p99 ${result.latency.p99Ms.toFixed(0)} ms, max ${result.latency.maxMs.toFixed(0)} ms, ${result.failedRequests} failed`,
        );
        cells.push(result);
      }
  }
  return cells;
}

export function formatNpmStartBench(cells: readonly NpmStartCell[]): string {
  const header = ['`npm start`', 'Idempotency-Key', 'run', 'start ms', 'fsync', 'appends/s', 'p50 ms', 'p99 ms', 'max ms', 'failed'];
  const rows = cells.map((c) => [
    c.variant,
    c.keyed ? 'yes' : 'no',
    String(c.repetition),
    c.startMs.toFixed(0),
    c.skipsFsync ? 'off' : 'kept',
    c.requestsPerSecond.toFixed(0),
    c.latency.p50Ms.toFixed(1),
    c.latency.p99Ms.toFixed(0),
    c.latency.maxMs.toFixed(0),
    String(c.failedRequests),
  ]);
  const clients = cells[0]?.clients ?? 16;
  return [
    `## \`npm start\` from cold: ${clients} producers of 1-record requests on one partition, from the start line on`,
    '',
    table(header, rows),
  ].join('\n');
}
