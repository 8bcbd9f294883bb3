/**
 * The system under test, in its own Node process (forked by bench/run.ts): the embedded emulators
 * (DynamoDB Local in memory, s3rver in a temp folder), Logway's tables and bucket, and the local
 * gateway calling the real handlers, composed by the same infra/local/runtime.ts `npm start` uses
 * (without the scheduler), plus instrumentation:
 *
 * - SDK middleware on the handlers' DynamoDB and S3 clients (shared/runtime/aws.ts singletons)
 *   counts every request and attempt, prices each DynamoDB call with bench/cost.ts from its own
 *   input and output, and asks DynamoDB Local for its ConsumedCapacity to report beside ours;
 * - a `loadHandler` wrapper times every handler invocation (Lambda duration) and records the
 *   request and response sizes (API Gateway metering).
 *
 * The load generator runs in the parent process, so client work does not share this event loop.
 * The parent talks to it over the fork IPC channel: 'reset' and 'snapshot' return the usage
 * since the last reset, 'stop' shuts everything down.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { importHandler, type HandlerLoader } from '../infra/local/gateway';
import { freePort } from '../infra/local/processes';
import { startLocalRuntime } from '../infra/local/runtime';
import { startKafkaServer } from '../shared/kafka/server';
import type { LambdaHttpHandler } from '../shared/http/handler';
import { dynamo, s3Client } from '../shared/runtime/aws';
import { type TableDefinition, tables } from '../shared/storage/tables';
import {
  billDynamoCall,
  emptyUsage,
  failedCall,
  lambdaBilledMs,
  meteredApiRequests,
  type TableShape,
  tableShapeOf,
  type Usage,
} from './cost';

export interface ServerReady {
  readonly type: 'ready';
  readonly url: string;
  readonly endpoints: { dynamodb: string; s3: string };
  /** Whether this process started the emulators (false when AWS_ENDPOINT_URL named others). */
  readonly embedded: boolean;
  readonly resourcePrefix: string;
  /** Port of the Kafka protocol listener on 127.0.0.1. */
  readonly kafkaPort: number;
  /** Port of a second listener on the same data without a group commit, each batch written alone (the baseline of the shipped one). */
  readonly unlimitedKafkaPort: number;
}

export type ServerRequest = { readonly id: number; readonly command: 'reset' | 'snapshot' | 'stop' };

/** CPU time used since the last reset: this process (gateway, handlers, s3rver) and DynamoDB Local's JVM. */
export interface CpuUsage {
  readonly wallMs: number;
  readonly serverMs: number;
  /** null where /proc is not readable (not Linux) or the emulator is not this process's child. */
  readonly dynamoDbLocalMs: number | null;
}

export type ServerReply = { readonly type: 'reply'; readonly id: number; readonly usage: Usage; readonly cpu: CpuUsage };

/** Same capacity-returning operations as DynamoDB's API. */
const capacityOperations = new Set([
  'GetItemCommand',
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'BatchWriteItemCommand',
  'TransactGetItemsCommand',
  'TransactWriteItemsCommand',
]);

const s3PutClass = new Set([
  'PutObjectCommand',
  'CopyObjectCommand',
  'CreateMultipartUploadCommand',
  'UploadPartCommand',
  'CompleteMultipartUploadCommand',
  'ListObjectsV2Command',
  'ListObjectsCommand',
]);
const s3Free = new Set(['DeleteObjectCommand', 'DeleteObjectsCommand']);

let usage: Usage = emptyUsage();
let durations = new Map<string, number[]>();

/**
 * CPU milliseconds (user + system) of DynamoDB Local's JVM, from /proc: the `java` process among
 * this process's descendants (a grandchild: infra/local/reaper.mjs starts it).
 */
function childrenCpuMs(): number | null {
  try {
    const ticksPerSecond = 100; // USER_HZ: 100 on every Linux this runs on
    const processes = new Map<number, { parent: number; command: string; ticks: number }>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue;
      }
      // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      processes.set(Number(entry), { parent: Number(fields[1]), command, ticks: Number(fields[11]) + Number(fields[12]) });
    }
    const isDescendant = (pid: number): boolean => {
      for (let parent = processes.get(pid)?.parent; parent !== undefined && parent > 1; parent = processes.get(parent)?.parent)
        if (parent === process.pid) return true;
      return false;
    };
    let ticks = 0;
    let found = false;
    for (const [pid, { command, ticks: own }] of processes) {
      if (command !== 'java' || !isDescendant(pid)) continue;
      found = true;
      ticks += own;
    }
    return found ? (ticks * 1000) / ticksPerSecond : null;
  } catch {
    return null;
  }
}

let cpuSince = { wall: performance.now(), server: process.cpuUsage(), children: childrenCpuMs() };

function cpuUsed(): CpuUsage {
  const server = process.cpuUsage(cpuSince.server);
  const children = childrenCpuMs();
  return {
    wallMs: performance.now() - cpuSince.wall,
    serverMs: (server.user + server.system) / 1000,
    dynamoDbLocalMs: children === null || cpuSince.children === null ? null : children - cpuSince.children,
  };
}

/** Each table's key and index shape, by the physical name this process uses (bench/cost.ts bills by it). */
function tableShapes(): (name: string) => TableShape | undefined {
  const byName = new Map<string, TableShape>();
  for (const definition of Object.values(tables) as TableDefinition[]) {
    const name = process.env[definition.envVar];
    if (name) byName.set(name, tableShapeOf(definition));
  }
  return (name) => byName.get(name);
}

function reportedCapacity(output: unknown): number {
  const consumed = (output as { ConsumedCapacity?: unknown } | undefined)?.ConsumedCapacity;
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  return list.reduce((sum: number, c: { CapacityUnits?: number }) => sum + (c.CapacityUnits ?? 0), 0);
}

function instrumentClients(): void {
  const shapes = tableShapes();
  const dynamoStack = dynamo().middlewareStack as any;
  dynamoStack.add(
    (next: any, context: any) => async (args: any) => {
      const command = String(context.commandName);
      const input = capacityOperations.has(command) ? { ...args.input, ReturnConsumedCapacity: 'INDEXES' } : args.input;
      const record = (output: unknown, outcome: 'ok' | 'condition-failed' | 'error') => {
        const d = usage.dynamodb;
        const bill = billDynamoCall(command, input, output, outcome, shapes);
        const op = command.replace(/Command$/, '');
        const perOp = (d.byOperation[op] ??= { requests: 0, wru: 0, rru: 0 });
        d.requests++;
        perOp.requests++;
        perOp.wru += bill.wru + bill.gsiWru;
        perOp.rru += bill.rru;
        d.wru += bill.wru;
        d.gsiWru += bill.gsiWru;
        d.rru += bill.rru;
        d.storedBytes += bill.storedBytes;
        d.reportedCapacityUnits += reportedCapacity(output);
        if (outcome === 'error') d.errors++;
      };
      try {
        const result = await next({ ...args, input });
        record(result.output, 'ok');
        return result;
      } catch (error) {
        if ((error as Error).name === 'TransactionCanceledException') usage.dynamodb.cancelledTransactions++;
        const failed = failedCall(error);
        record(failed.output, failed.outcome);
        throw error;
      }
    },
    { step: 'initialize', name: 'logwayBenchDynamoUsage' },
  );
  dynamoStack.add(
    (next: any) => async (args: any) => {
      (usage.dynamodb.byOperation['(HTTP attempts)'] ??= { requests: 0, wru: 0, rru: 0 }).requests++;
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'logwayBenchDynamoAttempts' },
  );

  const s3Stack = s3Client().middlewareStack as any;
  s3Stack.add(
    (next: any, context: any) => async (args: any) => {
      const command = String(context.commandName);
      const s = usage.s3;
      if (command === 'PutObjectCommand') {
        s.putRequests++;
        const body = args.input.Body;
        s.putBytes += body instanceof Uint8Array ? body.byteLength : typeof body === 'string' ? Buffer.byteLength(body) : 0;
      } else if (command === 'GetObjectCommand') s.getRequests++;
      else if (s3PutClass.has(command)) s.putRequests++;
      else if (!s3Free.has(command)) s.otherRequests++;
      const result = await next(args);
      if (command === 'GetObjectCommand') s.getBytes += Number(result.output?.ContentLength ?? 0);
      return result;
    },
    { step: 'initialize', name: 'logwayBenchS3Usage' },
  );
}

function bodyBytes(body: string | undefined, base64: boolean | undefined): number {
  if (!body) return 0;
  return base64 ? Math.floor((body.length * 3) / 4) : Buffer.byteLength(body);
}

/** Wraps each handler to time it as Lambda would bill it, and to meter it as API Gateway would. */
const timedLoader: HandlerLoader = async (route) => {
  const handler = await importHandler(route);
  const timed: LambdaHttpHandler = async (event, context) => {
    const started = performance.now();
    let result: APIGatewayProxyStructuredResultV2 | undefined;
    try {
      result = await handler(event, context);
      return result;
    } finally {
      const ms = performance.now() - started;
      const l = usage.lambda;
      l.invocations++;
      l.durationMs += ms;
      l.billedMs += lambdaBilledMs(ms);
      let list = durations.get(route.name);
      if (!list) durations.set(route.name, (list = []));
      list.push(ms);
      const requestBytes = bodyBytes(event.body, event.isBase64Encoded);
      const responseBytes = bodyBytes(result?.body, result?.isBase64Encoded);
      const a = usage.apiGateway;
      a.requests++;
      a.meteredRequests += meteredApiRequests(requestBytes, responseBytes);
      a.requestBytes += requestBytes;
      a.responseBytes += responseBytes;
    }
  };
  return timed;
};

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function snapshot(): Usage {
  const result: Usage = structuredClone(usage);
  for (const [name, list] of durations) {
    const sorted = [...list].sort((a, b) => a - b);
    result.lambda.byFunction[name] = {
      invocations: list.length,
      billedMs: list.reduce((sum, ms) => sum + lambdaBilledMs(ms), 0),
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
    };
  }
  return result;
}

async function main(): Promise<void> {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const resourcePrefix = 'logway-bench';
  // No dataDir: DynamoDB Local runs in memory (as in the test suite), s3rver in a temp folder,
  // and nothing is left behind. No scheduler: a retention sweep would be unmeasured load.
  const runtime = await startLocalRuntime({
    port: 0,
    resourcePrefix,
    loadHandler: timedLoader,
    scheduler: false,
    kafkaPort: await freePort(),
  });
  // The runtime has just reset the SDK clients and no handler has run yet: instrument the
  // singletons every handler will use.
  try {
    instrumentClients();
  } catch (error) {
    await runtime.stop();
    throw error;
  }
  const unlimitedKafka = await startKafkaServer({ host: '127.0.0.1', port: 0, appendsPerPartition: 0 });
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= unlimitedKafka.stop().then(() => runtime.stop()));
  process.on('message', async (message: ServerRequest) => {
    const cpu = cpuUsed();
    if (message.command === 'stop') {
      const result = snapshot();
      await stop();
      process.send?.({ type: 'reply', id: message.id, usage: result, cpu } satisfies ServerReply, () => process.exit(0));
      return;
    }
    const result = snapshot();
    if (message.command === 'reset') {
      usage = emptyUsage();
      durations = new Map();
      cpuSince = { wall: performance.now(), server: process.cpuUsage(), children: childrenCpuMs() };
    }
    process.send?.({ type: 'reply', id: message.id, usage: result, cpu } satisfies ServerReply);
  });
  // The parent going away (crash, Ctrl-C) must not leave Java behind.
  process.on('disconnect', () => void stop().finally(() => process.exit(0)));
  process.on('SIGINT', () => void 0);
  const ready: ServerReady = {
    type: 'ready',
    url: runtime.url,
    endpoints: runtime.emulators.endpoints,
    embedded: runtime.emulators.started.length > 0,
    resourcePrefix,
    kafkaPort: runtime.kafka!.port,
    unlimitedKafkaPort: unlimitedKafka.port,
  };
  process.send?.(ready);
}

main().catch((error: unknown) => {
  console.error('[bench server]', error);
  process.exit(1);
});
