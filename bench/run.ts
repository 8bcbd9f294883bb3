/**
 * `npm run bench`: Logway's benchmarks against the local runtime, side by side with their
 * baselines, in one command. Prints Markdown tables and writes bench/results/<timestamp>.json.
 *
 *   npm run bench               everything (about 4 minutes on 2 cores)
 *   npm run bench -- quick      the same, shortened (about 1.5 minutes): for checking, not quoting
 *   npm run bench -- codec      only the record-batch codec benchmark
 *   npm run bench -- no-codec   everything but the codec (also: no-coldstart, no-floor, no-kafka)
 *   npm run bench -- kafka      only the Kafka gateway beside the HTTP API (bench/kafka.ts)
 *   npm run bench -- triggers   only push delivery (bench/triggers.ts; also npm run bench:triggers)
 *   npm run bench -- no-triggers  everything but push delivery
 *   npm run bench -- probes     only the append-design probes for a hot partition (bench/append-probes.ts)
 *   npm run bench -- start      only `npm start` from cold beside its old start (bench/npm-start.ts; no-start skips it)
 *
 * Order: the system under test starts in a child process (bench/server.ts); the HTTP workloads
 * run, then the floor (raw DynamoDB Local and s3rver rates); the server stops; then triggers (in a
 * child process with its own runtime: produce-to-invocation latency, delivery rate and cost beside
 * Kinesis' and MSK's event source mappings); then `npm start` from cold (bench/npm-start.ts, child
 * processes); then cold start and the codec, which need a quiet machine. On a shared machine run it under the test lock:
 * `flock /tmp/logway-vitest.lock npm run bench`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../infra/project';
import { crc32cImplementation, zstdImplementation } from '../shared/records/index';
import { type AppendProbeCell, formatAppendProbes, runAppendProbes } from './append-probes';
import { runCodecBench, runCrc32cBench } from './codec';
import { startDynamoDbLocal } from '../infra/local/emulators';
import { runColdStart } from './coldstart';
import { runFloor, type FloorOptions } from './floor';
import { startBenchServer, type BenchServer } from './harness';
import { formatKafkaReport, runKafkaBench, type KafkaBenchOptions, type KafkaBenchResults } from './kafka';
import { formatNpmStartBench, type NpmStartCell, type NpmStartOptions, runNpmStartBench } from './npm-start';
import { formatReport, type BenchResults, type Environment } from './report';
import { formatTriggersReport, runTriggersBench, type TriggersBenchOptions, type TriggersBenchResults } from './triggers';
import { clientDefaultRecordsPerRequest, runWorkloads, type WorkloadOptions } from './workloads';

const args = new Set(process.argv.slice(2).map((a) => a.replace(/^--/, '')));
const known = new Set([
  'quick',
  'codec',
  'no-codec',
  'no-coldstart',
  'no-floor',
  'kafka',
  'no-kafka',
  'triggers',
  'no-triggers',
  'probes',
  'start',
  'no-start',
]);
for (const arg of args) {
  if (!known.has(arg)) {
    console.error(`unknown argument '${arg}'; use any of: ${[...known].join(', ')}`);
    process.exit(2);
  }
}
const quick = args.has('quick');
const codecOnly = args.has('codec');
const kafkaOnly = args.has('kafka');
const triggersOnly = args.has('triggers');
const probesOnly = args.has('probes');
const startOnly = args.has('start');
const mode: Environment['mode'] = codecOnly ? 'codec' : quick ? 'quick' : 'full';

const npmStartOptions: NpmStartOptions = quick
  ? { durationMs: 3000, clients: 16, repetitions: 1 }
  : { durationMs: 5000, clients: 16, repetitions: 2 };

const probeOptions = quick ? { cellMs: 1000, clients: [4, 16], repetitions: 1 } : { cellMs: 3000, clients: [4, 16], repetitions: 3 };

const workloadOptions: WorkloadOptions = quick
  ? {
      cellMs: 1000,
      fetchMs: 1500,
      warmupMs: 500,
      latencySamples: { get: 30, post: 20 },
      idleWaitMs: 1000,
      recordsPerRequest: [1, 100, 1000, clientDefaultRecordsPerRequest],
      clients: [1, 4, 16],
      contentionClients: [1, 4, 16, 64],
      hotPartitionPairs: 1,
    }
  : {
      cellMs: 3000,
      fetchMs: 4000,
      warmupMs: 1500,
      latencySamples: { get: 150, post: 100 },
      idleWaitMs: 3000,
      recordsPerRequest: [1, 100, 1000, clientDefaultRecordsPerRequest],
      clients: [1, 4, 16],
      contentionClients: [1, 4, 16, 64],
      hotPartitionPairs: 3,
    };
const floorOptions: FloorOptions = quick
  ? {
      cellMs: 700,
      clients: [1, 4, 16],
      s3RecordsPerBatch: [100, 1000],
      appendShapes: { cellMs: 1000, clients: [1, 4, 16], repetitions: 1 },
    }
  : {
      cellMs: 2000,
      clients: [1, 4, 16],
      s3RecordsPerBatch: [100, 1000],
      appendShapes: { cellMs: 3000, clients: [1, 4, 16], repetitions: 3 },
    };

const kafkaOptions: KafkaBenchOptions = quick
  ? { produceMs: 1500, clients: 4, recordsPerRequest: 100, fetchRecords: 5000, hotPartition: { clients: [16, 64], pairs: 1, cellMs: 1500 } }
  : {
      produceMs: 4000,
      clients: 4,
      recordsPerRequest: 100,
      fetchRecords: 20000,
      hotPartition: { clients: [16, 64], pairs: 2, cellMs: 4000 },
    };

const triggersOptions: TriggersBenchOptions = quick
  ? { latencySamples: 60, throughputRecords: 5_000, partitions: 4 }
  : { latencySamples: 200, throughputRecords: 20_000, partitions: 4 };

function commit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    return dirty ? `${sha} (with uncommitted changes)` : sha;
  } catch {
    return 'unknown';
  }
}

const log = (line: string) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);
const started = performance.now();
// The floor's own SDK clients live in this process; Node 20 is supported here (see shared/runtime).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const environment: Environment = {
    startedAt: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverageBefore: loadavg(),
    commit: commit(),
    mode,
  };
  const results: { -readonly [K in keyof BenchResults]: BenchResults[K] } & {
    kafka?: KafkaBenchResults;
    triggers?: TriggersBenchResults;
    appendProbes?: AppendProbeCell[];
    npmStart?: NpmStartCell[];
  } = { environment };

  if (startOnly) {
    results.npmStart = await runNpmStartBench(npmStartOptions, log);
    const file = saveResults(results, environment.startedAt, ['start', quick ? 'quick' : '']);
    console.log(formatNpmStartBench(results.npmStart));
    console.log(`\nresults: ${file}`);
    return;
  }

  if (probesOnly) {
    log('append probes on a DynamoDB Local of their own');
    const dynamodb = await startDynamoDbLocal();
    try {
      results.appendProbes = await runAppendProbes(dynamodb.endpoint, true, probeOptions, log);
    } finally {
      await dynamodb.stop();
    }
    const file = saveResults(results, environment.startedAt, ['probes', quick ? 'quick' : '']);
    console.log(formatAppendProbes(results.appendProbes));
    console.log(`\nresults: ${file}`);
    return;
  }

  if (!codecOnly && !triggersOnly) {
    log('starting the local runtime (DynamoDB Local, s3rver, gateway) in a child process');
    let server: BenchServer | undefined;
    const interrupt = () => {
      log('interrupted: stopping the local runtime');
      void (server?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
    };
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    try {
      server = await startBenchServer();
      log(`local runtime at ${server.url}`);
      if (!kafkaOnly) results.workloads = await runWorkloads(server, workloadOptions, log);
      if (!args.has('no-kafka')) results.kafka = await runKafkaBench(server, kafkaOptions, log);
      if (!kafkaOnly && !args.has('no-floor')) results.floor = await runFloor(server.endpoints, server.embedded, floorOptions, log);
    } finally {
      await server?.stop();
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    }
  }
  if (!codecOnly && !kafkaOnly && !args.has('no-triggers')) {
    log('triggers benchmark (its own runtime, in a child process)');
    results.triggers = await runTriggersBench(triggersOptions, log);
  }
  if (!codecOnly && !kafkaOnly && !triggersOnly && !args.has('no-start')) {
    log('npm start from cold, beside its start without warm-up and with fsync (child processes)');
    results.npmStart = await runNpmStartBench(npmStartOptions, log);
  }
  if (!codecOnly && !triggersOnly) {
    if (!kafkaOnly && !args.has('no-coldstart')) {
      results.coldStart = await runColdStart({ runs: quick ? 3 : 5 }, log);
      log('cold start measured');
    }
  }
  if (!kafkaOnly && !triggersOnly && !args.has('no-codec')) {
    log('codec benchmark');
    const timing = quick ? { warmupMs: 50, roundMs: 60, rounds: 2 } : {};
    const rows = await runCodecBench(timing);
    results.codec = { rows, crc32c: await runCrc32cBench(timing), crc32cImplementation, zstdImplementation };
  }
  results.environment = { ...environment, loadAverageAfter: loadavg() };
  results.durationSeconds = (performance.now() - started) / 1000;

  const file = saveResults(results, environment.startedAt, [
    kafkaOnly ? 'kafka' : '',
    triggersOnly ? 'triggers' : '',
    mode === 'full' ? '' : mode,
  ]);
  console.log(formatReport(results));
  if (results.kafka) console.log(`\n${formatKafkaReport(results.kafka)}`);
  if (results.triggers) console.log(`\n${formatTriggersReport(results.triggers)}`);
  if (results.npmStart) console.log(`\n${formatNpmStartBench(results.npmStart)}`);
  console.log(`\nresults: ${file}`);
}

/** Writes bench/results/<start time>[-<parts>].json; returns its path. */
function saveResults(results: unknown, startedAt: string, suffixParts: readonly string[]): string {
  const resultsDir = join(repoRoot, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const suffix = suffixParts.filter(Boolean).join('-');
  const file = join(resultsDir, `${startedAt.replace(/[:.]/g, '-')}${suffix ? `-${suffix}` : ''}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

main().then(
  // The keep-alive HTTP agent and SDK sockets would hold the process open.
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
