/**
 * `npm run chaos [-- --quick] [-- --seed N] [-- --out DIR]`: starts DynamoDB Local and s3rver,
 * a fault-injecting proxy in front of each, and the local runtime as a child process behind
 * them; runs the workload while the nemesis injects faults and SIGKILLs the runtime; stops the
 * faults, reads every partition and the group's offsets back, checks the history and writes the
 * results folder. The last line of output is `N operations, M faults, K anomalies`; the exit
 * code is 1 when K > 0.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEmulators } from '../infra/local/emulators';
import { freePort } from '../infra/local/processes';
import { check, summaryLine } from './checker';
import { call } from './client';
import { type HistoryEvent, HistoryRecorder } from './history';
import { Prng } from './prng';
import { type FaultKind, type FaultMode, faultKinds, startFaultProxy } from './proxy';
import { writeReport } from './report';
import { RuntimeProcess } from './runtime-process';
import { kafkaFetcher, kafkaProducer } from './kafka-workload';
import { sideClient, sideFetch, sideTopic, topology } from './topology';
import { startTriggerRecorder, type TriggerRecorder } from './trigger-recorder';
import type { CreateTriggerValue, TriggerQuietResult } from './checker/model';
import { admin, fetchOne, member, producer, readCommits, reader, topicPlan, triggerPlan, type WorkloadContext } from './workload';

interface Options {
  seed: number;
  quick: boolean;
  out: string | undefined;
  /** Minimum client operations before the workload may stop. */
  minOps: number;
  minFaults: number;
  /** The workload runs at least this long, and at most maxMs. */
  minMs: number;
  maxMs: number;
  killEveryMs: number;
  /**
   * Anomaly types that are known and reported but do not count in K or the exit code
   * (`--tolerate TYPE`, repeatable): lets CI keep running while a known bug waits for its fix.
   */
  tolerate: string[];
}

function parseArgs(argv: readonly string[]): Options {
  const quick = argv.includes('--quick');
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const seedText = value('--seed');
  const seed = seedText === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(seedText);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, got ${seedText}`);
  const tolerate = argv.flatMap((arg, i) => (arg === '--tolerate' && argv[i + 1] ? [argv[i + 1]!] : []));
  return quick
    ? { seed, quick, tolerate, out: value('--out'), minOps: 5500, minFaults: 60, minMs: 30_000, maxMs: 150_000, killEveryMs: 15_000 }
    : { seed, quick, tolerate, out: value('--out'), minOps: 20_000, minFaults: 300, minMs: 240_000, maxMs: 420_000, killEveryMs: 30_000 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The local Lambda server cuts a trigger invocation off after this long; the dispatcher waits a second more. */
const functionTimeoutMs = 5000;

/** `--check history.jsonl`: checks a recorded history again (e.g. after a checker change) without running. */
function recheck(path: string, tolerate: readonly string[]): number {
  const events = readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as HistoryEvent);
  const checked = check(events);
  const result = { ...checked, anomalies: checked.anomalies.filter((a) => !tolerate.includes(a.type)) };
  for (const a of checked.anomalies.slice(0, 20))
    console.log(`  ${tolerate.includes(a.type) ? 'tolerated' : 'ANOMALY'} ${a.type} (guarantee ${a.guarantee}): ${a.message}`);
  console.log(summaryLine(result));
  return result.anomalies.length > 0 ? 1 : 0;
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const recheckPath = process.argv.indexOf('--check');
  if (recheckPath >= 0) return recheck(process.argv[recheckPath + 1]!, options.tolerate);
  const started = Date.now();
  const command = `npm run chaos -- ${options.quick ? '--quick ' : ''}--seed ${options.seed}${options.tolerate.map((t) => ` --tolerate ${t}`).join('')}`;
  const dir = resolve(options.out ?? join('chaos-results', `${new Date(started).toISOString().replace(/[:.]/g, '-')}-seed${options.seed}`));
  mkdirSync(dir, { recursive: true });
  console.log(`chaos: seed ${options.seed} (${options.quick ? 'quick' : 'full'}); replay with: ${command}`);
  console.log(`chaos: results in ${dir}`);

  const root = new Prng(options.seed);
  const recorder = new HistoryRecorder(join(dir, 'history.jsonl'));
  const runtimeLog: string[] = [];
  // The harness's own emulators: never the developer's LocalStack.
  for (const name of ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_S3']) delete process.env[name];
  const s3Directory = mkdtempSync(join(tmpdir(), 'logway-chaos-s3-'));
  const emulators = await startEmulators({ s3Directory });
  const onFault = (fault: { service: string; kind: FaultKind; target: string; detail: string }) => {
    const op = recorder.invoke('nemesis', 'fault', fault);
    recorder.complete(op, 'nemesis', 'fault', 'info', fault);
  };
  const dynamoProxy = await startFaultProxy('dynamodb', emulators.endpoints.dynamodb, root.derive('proxy-dynamodb'), onFault);
  const s3Proxy = await startFaultProxy('s3', emulators.endpoints.s3, root.derive('proxy-s3'), onFault);
  let processes = 1;
  // The trigger function (in the runtime) reports each invocation here; 5 % of them are told to fail.
  const triggerRecorder: TriggerRecorder = await startTriggerRecorder(recorder, () => processes++, root.derive('trigger-function'), 0.05);
  const kafkaPort = await freePort();
  const runtime = new RuntimeProcess({
    port: await freePort(),
    dynamodb: dynamoProxy.url,
    s3: s3Proxy.url,
    prefix: `chaos${options.seed}`,
    sweepMs: 1000,
    env: {
      LOGWAY_FUNCTIONS: `${triggerPlan.functionName}=${join(import.meta.dirname, 'trigger-function.ts')}`,
      LOGWAY_FUNCTION_TIMEOUT_MS: String(functionTimeoutMs),
      CHAOS_TRIGGER_INVOKE_TIMEOUT_MS: String(functionTimeoutMs + 1000),
      CHAOS_TRIGGER_LEASE_MARGIN_MS: '1000',
      CHAOS_TRIGGER_DISPATCHERS: '2',
      CHAOS_RECORDER_URL: triggerRecorder.url,
      CHAOS_KAFKA_PORT: String(kafkaPort),
    },
    log: (line) => runtimeLog.push(`${new Date().toISOString()} ${line}`),
  });
  let kills = 0;
  let workloadMs = 0;
  let exitCode = 2;
  // Interrupted (Ctrl-C, a CI timeout): stop what this run started, never leave Java behind.
  const interrupt = (signal: string) => {
    console.error(`chaos: ${signal}: stopping`);
    void Promise.allSettled([runtime.kill(), dynamoProxy.close(), s3Proxy.close(), emulators.stop()]).then(() => process.exit(130));
  };
  process.once('SIGINT', () => interrupt('SIGINT'));
  process.once('SIGTERM', () => interrupt('SIGTERM'));
  try {
    await runtime.start();
    // Topics, with no faults.
    for (const plan of topicPlan) {
      const value = { name: plan.name, partitions: plan.partitions, config: plan.config };
      const op = recorder.invoke(0, 'create-topic', value);
      const outcome = await call(runtime.url, 'POST', '/v1/topics', value, {}, 30_000);
      recorder.complete(op, 0, 'create-topic', outcome.type, outcome.body, outcome.error);
      if (outcome.type !== 'ok') throw new Error(`could not create topic ${plan.name}: ${outcome.error}`);
    }

    // The side topic that chaos/topology.ts deletes and re-creates.
    {
      const value = { name: sideTopic.name, partitions: sideTopic.partitions };
      const op = recorder.invoke(0, 'side-create-topic', value);
      const outcome = await call(runtime.url, 'POST', '/v1/topics', value, {}, 30_000);
      recorder.complete(op, 0, 'side-create-topic', outcome.type, outcome.body, outcome.error);
      if (outcome.type !== 'ok') throw new Error(`could not create topic ${sideTopic.name}: ${outcome.error}`);
    }
    // The trigger, on its topic before any record is appended: delivery starts at offset 0.
    {
      const value: CreateTriggerValue = { ...triggerPlan, functionTimeoutMs };
      const op = recorder.invoke(0, 'create-trigger', value);
      const outcome = await call(
        runtime.url,
        'PUT',
        `/v1/triggers/${triggerPlan.trigger}`,
        {
          topic: triggerPlan.topic,
          functionName: triggerPlan.functionName,
          startingPosition: 'TRIM_HORIZON',
          batchSize: triggerPlan.batchSize,
        },
        {},
        30_000,
      );
      recorder.complete(op, 0, 'create-trigger', outcome.type, outcome.body, outcome.error);
      if (outcome.type !== 'ok') throw new Error(`could not create trigger ${triggerPlan.trigger}: ${outcome.error}`);
    }

    let stopped = false;
    const ctx: WorkloadContext = {
      recorder,
      url: () => runtime.url,
      stopped: () => stopped,
      startedAt: Date.now(),
      bounds: new Map(),
      nextProcess: () => processes++,
    };
    const positions = new Map<number, number>();
    const workers = [
      ...[0, 1, 2, 3, 4, 5].map((i) => producer(ctx, i, root.derive(`producer-${i}`))),
      ...[0, 1, 2, 3].map((i) => reader(ctx, root.derive(`reader-${i}`))),
      ...[0, 1, 2].map((i) => member(ctx, i, root.derive(`member-${i}`), positions)),
      admin(ctx, root.derive('admin')),
      // Through the Kafka listener: idempotent producers, ones without retries, a fetcher. Four
      // producers on six partitions often send to one partition at once, so the listener's group
      // commit shares writes between them under the faults and the kills (docs/guarantees.md).
      ...[0, 1, 2, 3].map((i) => kafkaProducer(ctx, i, root.derive(`kafka-producer-${i}`), kafkaPort, i % 2 === 0)),
      kafkaFetcher(ctx, root.derive('kafka-fetcher'), kafkaPort),
      // Topology: the side topic deleted and re-created, the keyed topic grown.
      sideClient(ctx, root.derive('side-client')),
      topology(ctx, root.derive('topology')),
    ];

    // The nemesis: phases of faults from the proxies, and SIGKILL + restart of the runtime.
    const nemesisPrng = root.derive('nemesis');
    const workloadStart = Date.now();
    const nemesis = (async () => {
      let nextKill = workloadStart + options.killEveryMs * (0.5 + nemesisPrng.next());
      while (!stopped) {
        const calm = nemesisPrng.chance(0.25);
        const kinds: FaultKind[] = nemesisPrng.chance(0.4) ? [...faultKinds] : [nemesisPrng.pick(faultKinds)];
        const mode: FaultMode | undefined = calm ? undefined : { rate: nemesisPrng.pick([0.03, 0.06, 0.1]), kinds };
        const op = recorder.invoke('nemesis', 'faults', mode ?? 'calm');
        dynamoProxy.mode = mode;
        s3Proxy.mode = mode;
        recorder.complete(op, 'nemesis', 'faults', 'ok', mode ?? 'calm');
        const phaseEnd = Date.now() + nemesisPrng.int(2000, 5000);
        while (!stopped && Date.now() < phaseEnd) {
          if (Date.now() >= nextKill) {
            // Half the kills wait (up to 3 s) for a trigger invocation in flight: a dispatcher killed mid-batch.
            const midInvocation = nemesisPrng.chance(0.5);
            for (const until = Date.now() + 3000; midInvocation && Date.now() < until && triggerRecorder.inFlight(1000) === 0; )
              await sleep(20);
            const kill = recorder.invoke('nemesis', 'kill', {
              signal: 'SIGKILL',
              midInvocation: midInvocation && triggerRecorder.inFlight(1000) > 0,
            });
            await runtime.kill();
            kills++;
            recorder.complete(kill, 'nemesis', 'kill', 'ok', { signal: 'SIGKILL' });
            await sleep(nemesisPrng.int(200, 1500));
            const restart = recorder.invoke('nemesis', 'restart', {});
            await runtime.start();
            recorder.complete(restart, 'nemesis', 'restart', 'ok', {});
            nextKill = Date.now() + options.killEveryMs * (0.5 + nemesisPrng.next());
          }
          await sleep(100);
        }
      }
    })();

    let lastProgress = 0;
    for (;;) {
      await sleep(500);
      const elapsed = Date.now() - workloadStart;
      const opsDone = recorder.completedClientOps;
      const faults = recorder.events.filter((e) => e.f === 'fault' && e.type === 'info').length + kills;
      if (elapsed - lastProgress >= 10_000) {
        lastProgress = elapsed;
        console.log(`chaos: ${Math.round(elapsed / 1000)} s, ${opsDone} operations, ${faults} faults`);
      }
      if (elapsed >= options.maxMs) break;
      if (elapsed >= options.minMs && opsDone >= options.minOps && faults >= options.minFaults) break;
    }
    stopped = true;
    if (recorder.completedClientOps < options.minOps) {
      console.log(
        `chaos: WARNING: stopped at the time limit with ${recorder.completedClientOps} operations, fewer than ${options.minOps} (machine overloaded?)`,
      );
    }
    await nemesis;
    dynamoProxy.mode = undefined;
    s3Proxy.mode = undefined;
    await Promise.all(workers);
    workloadMs = Date.now() - workloadStart;
    const heal = recorder.invoke('nemesis', 'heal', {});
    if (!runtime.running) await runtime.start();
    runtime.stopSweeps();
    await sleep(3000); // a sweep in progress finishes
    recorder.complete(heal, 'nemesis', 'heal', 'ok', {});

    // Final reads: every partition from its log start offset to its high watermark.
    await finalReads(ctx, runtime.url);
    await finalSideReads(ctx);
    // The final quiet period: no faults, no injected function errors, until the trigger has caught up.
    triggerRecorder.calm();
    await triggerQuiet(ctx, runtime.url, triggerRecorder);
    for (let attempt = 0; attempt < 10; attempt++) {
      if ((await readCommits(ctx, ctx.nextProcess(), true)).type === 'ok') break;
      await sleep(500);
    }

    await recorder.close();
    const checked = check(recorder.events);
    const known = checked.anomalies.filter((a) => options.tolerate.includes(a.type));
    const result = { ...checked, anomalies: checked.anomalies.filter((a) => !options.tolerate.includes(a.type)) };
    writeFileSync(join(dir, 'runtime.log'), `${runtimeLog.join('\n')}\n`);
    writeReport(dir, recorder.events, checked, {
      tolerate: options.tolerate,
      seed: options.seed,
      mode: options.quick ? 'quick' : 'full',
      command,
      workloadMs,
      totalMs: Date.now() - started,
      kills,
    });
    for (const [f, c] of Object.entries(result.byFunction).sort())
      console.log(`  ${f.padEnd(13)} ok ${c.ok}, fail ${c.fail}, info ${c.info}`);
    console.log(
      `  faults: ${Object.entries(result.faultsByKind)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );
    console.log(`  log: ${JSON.stringify(result.log)}`);
    console.log(`  groups: ${JSON.stringify(result.groups)}`);
    console.log(`  triggers: ${JSON.stringify(result.triggers)}`);
    console.log(`  topology: ${JSON.stringify(result.topology)}`);
    for (const a of known.slice(0, 5)) console.log(`  tolerated (--tolerate ${a.type}): ${a.message}`);
    if (known.length) console.log(`  ${known.length} tolerated anomalies, not counted below (all in report.md)`);
    for (const a of result.anomalies.slice(0, 20)) console.log(`  ANOMALY ${a.type} (guarantee ${a.guarantee}): ${a.message}`);
    if (result.anomalies.length > 20) console.log(`  ... and ${result.anomalies.length - 20} more in ${join(dir, 'report.md')}`);
    console.log(`chaos: report in ${join(dir, 'report.md')} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    console.log(summaryLine(result));
    exitCode = result.anomalies.length > 0 ? 1 : 0;
  } finally {
    await runtime.stop().catch(() => undefined);
    await dynamoProxy.close();
    await s3Proxy.close();
    await triggerRecorder.close();
    await emulators.stop();
    rmSync(s3Directory, { recursive: true, force: true });
    if (exitCode === 2) writeFileSync(join(dir, 'runtime.log'), `${runtimeLog.join('\n')}\n`);
  }
  return exitCode;
}

/** Waits (at most 60 s) until the trigger has no lag on any partition and no invocation in flight, twice in a row; records what it saw. */
async function triggerQuiet(ctx: WorkloadContext, url: string, triggerRecorder: TriggerRecorder): Promise<void> {
  const process = ctx.nextProcess();
  const op = ctx.recorder.invoke(process, 'trigger-quiet', { trigger: triggerPlan.trigger });
  const deadline = Date.now() + 60_000;
  let result: TriggerQuietResult = { caughtUp: false, partitions: [] };
  let quietPolls = 0;
  while (Date.now() < deadline) {
    const outcome = await call(url, 'GET', `/v1/triggers/${triggerPlan.trigger}`, undefined, {}, 10_000);
    if (outcome.type === 'ok') {
      const partitions = (outcome.body.partitions as TriggerQuietResult['partitions']).map(({ partition, position, lag, lastError }) => ({
        partition,
        position,
        lag,
        ...(lastError ? { lastError } : {}),
      }));
      const caughtUp = partitions.every((p) => p.lag === 0) && triggerRecorder.inFlight() === 0;
      result = { caughtUp, partitions };
      quietPolls = caughtUp ? quietPolls + 1 : 0;
      if (quietPolls >= 2) break;
    }
    await sleep(500);
  }
  ctx.recorder.complete(op, process, 'trigger-quiet', 'ok', result);
  if (!result.caughtUp) console.log(`chaos: the trigger had not caught up after 60 s: ${JSON.stringify(result.partitions)}`);
}

/** The side topic's last incarnation, every partition from offset 0 to its high watermark. */
async function finalSideReads(ctx: WorkloadContext): Promise<void> {
  for (let partition = 0; partition < sideTopic.partitions; partition++) {
    let offset = 0;
    for (let failures = 0; failures < 20; ) {
      const { fetched } = await sideFetch(ctx, ctx.nextProcess(), partition, offset, true);
      if (!fetched) {
        failures++;
        await sleep(300);
        continue;
      }
      if (fetched.nextOffset <= offset || fetched.nextOffset >= fetched.highWatermark) break;
      offset = fetched.nextOffset;
    }
  }
}

async function finalReads(ctx: WorkloadContext, url: string): Promise<void> {
  for (const plan of topicPlan) {
    let described: { partitions: { partition: number; logStartOffset: number; highWatermark: number }[] } | undefined;
    for (let attempt = 0; attempt < 20 && !described; attempt++) {
      const outcome = await call(url, 'GET', `/v1/topics/${plan.name}`, undefined, {}, 10_000);
      if (outcome.type === 'ok') described = outcome.body;
      else await sleep(500);
    }
    if (!described) throw new Error(`final read: could not describe ${plan.name}`);
    for (const { partition, logStartOffset, highWatermark } of described.partitions) {
      let offset = logStartOffset;
      // A produce the client gave up on may still commit while we read: follow the newest high watermark.
      let hw = highWatermark;
      let failures = 0;
      // At least one fetch per partition, even an empty one: it puts the final log start offset
      // in the history, which the checker needs where retention removed everything.
      for (let first = true; (first || offset < hw) && failures < 20; first = false) {
        const { fetched } = await fetchOne(ctx, ctx.nextProcess(), plan.name, partition, offset, 500, true);
        if (!fetched || fetched.error) {
          failures++;
          await sleep(300);
          continue;
        }
        if (fetched.nextOffset <= offset) break;
        offset = fetched.nextOffset;
        hw = Math.max(hw, fetched.highWatermark);
      }
    }
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`chaos: the run failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
    process.exit(2);
  },
);
