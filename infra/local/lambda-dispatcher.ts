/**
 * Trigger delivery in the local runtime, event-driven as on AWS: the DynamoDB stream of the
 * chunks table (DynamoDB Local serves streams as AWS does) wakes the dispatcher on every append
 * (a chunk put or joined; shared/triggers/stream-keys.ts reads its keys), and the dispatcher runs in this process instead of in Lambda invocations. The
 * once-a-minute sweep (infra/schedules.ts) runs through the local scheduler and hands its work
 * here too. Functions are invoked through @aws-sdk/client-lambda: at AWS_ENDPOINT_URL_LAMBDA when
 * set, else at the local Lambda Invoke API (lambda-server.ts) serving LOGWAY_FUNCTIONS.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { runAsFunction, tableName } from '../../shared/runtime/aws';
import { dispatcherDefaults, dispatchPartition, type DispatchOptions } from '../../shared/triggers/dispatcher';
import { resetLambdaClient } from '../../shared/triggers/invoke';
import { appendedPartitionKey } from '../../shared/triggers/stream-keys';
import { listDefinitions } from '../../shared/triggers/store';
import { setHandOn, workForAppends, type PartitionWork } from '../../shared/triggers/work';
import { parseFunctionList, startLambdaServer, type RunningLambdaServer } from './lambda-server';

/** The dispatcher's function name (infra/constructs/trigger-dispatcher.ts): its calls run as that function, whose role the test suite's IAM check applies. */
const dispatcherFunction = 'trigger-dispatch';

export interface LocalTriggersOptions {
  /** Dispatcher settings (invoke timeout, lease margin), e.g. shorter in tests. */
  readonly dispatch?: Omit<DispatchOptions, 'deadline' | 'signal'>;
  /** How long one in-process run delivers before it starts afresh. @default the invoke timeout + 60 s */
  readonly runMs?: number;
  /** Pause between stream polls when nothing arrived. @default 25 ms */
  readonly pollIntervalMs?: number;
}

export interface RunningLocalTriggers {
  /** Partitions being delivered right now. */
  readonly active: () => number;
  stop(): Promise<void>;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/** Starts in-process delivery: stream wake-ups and hand-ons run `dispatchPartition` here, one run per partition at a time. */
export function startLocalTriggers(options: LocalTriggersOptions = {}): RunningLocalTriggers {
  const abort = new AbortController();
  const running = new Map<string, { again: boolean }>();
  const runs = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();

  const start = (work: PartitionWork): void => {
    if (abort.signal.aborted) return;
    const key = `${work.trigger}\u0000${work.partition}`;
    const current = running.get(key);
    if (current) {
      current.again = true;
      return;
    }
    const entry = { again: false };
    running.set(key, entry);
    const later = (at: number) => {
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          start(work);
        },
        Math.max(0, at - Date.now()),
      );
      timers.add(timer);
    };
    const run = (async () => {
      try {
        for (;;) {
          entry.again = false;
          const result = await runAsFunction(dispatcherFunction, () =>
            dispatchPartition(work.trigger, work.partition, {
              ...options.dispatch,
              // A run must have room for at least one invocation, or it would hand on at once, forever.
              deadline:
                Date.now() +
                Math.max(options.runMs ?? 0, (options.dispatch?.invokeTimeoutMs ?? dispatcherDefaults.invokeTimeoutMs) + 60_000),
              signal: abort.signal,
            }),
          );
          if (abort.signal.aborted) break;
          if (result.kind === 'handoff') continue;
          if (result.kind === 'waiting' && result.retryAt !== undefined && result.retryAt - Date.now() < 120_000) later(result.retryAt);
          if (!entry.again) break;
        }
      } catch (error) {
        if (!abort.signal.aborted) {
          console.error(`[logway] trigger ${work.trigger} partition ${work.partition}: delivery failed, retrying in 1 s:`, error);
          later(Date.now() + 1_000);
        }
      } finally {
        running.delete(key);
      }
    })();
    runs.add(run);
    void run.finally(() => runs.delete(run));
  };

  setHandOn(async (work) => {
    for (const item of work) start(item);
  });

  const poller = pollChunksStream(
    async (keys) => {
      for (const item of await runAsFunction(dispatcherFunction, () => workForAppends(keys))) start(item);
    },
    abort.signal,
    options.pollIntervalMs ?? 25,
  ).catch((error: unknown) => {
    if (!abort.signal.aborted) console.error('[logway] the chunks stream poller stopped; triggers now wake only on the sweep:', error);
  });

  return {
    active: () => running.size,
    async stop() {
      abort.abort();
      for (const timer of timers) clearTimeout(timer);
      await poller;
      await Promise.allSettled([...runs]);
    },
  };
}

/** How often the poller looks whether any trigger is defined (a new one waits at most this long to be woken). */
const triggerCheckIntervalMs = 1_000;

/** Reads the chunks table's stream from now on and reports the partitions appended to. */
async function pollChunksStream(onKeys: (keys: string[]) => Promise<void>, signal: AbortSignal, intervalMs: number): Promise<void> {
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS ?? process.env.AWS_ENDPOINT_URL_DYNAMODB ?? process.env.AWS_ENDPOINT_URL;
  const dynamodb = new DynamoDBClient(endpoint ? { endpoint } : {});
  const streams = new DynamoDBStreamsClient(endpoint ? { endpoint } : {});
  try {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName('chunks') }));
    const streamArn = Table?.LatestStreamArn;
    if (!streamArn) throw new Error(`Table ${tableName('chunks')} has no stream: triggers cannot wake on appends`);
    const iterators = new Map<string, string>();
    const known = new Set<string>();
    let first = true;
    let describedAt = 0;
    let triggersCheckedAt = 0;
    let triggersExist = false;
    while (!signal.aborted) {
      if (Date.now() - describedAt > 5_000 || iterators.size === 0) {
        describedAt = Date.now();
        let startShard: string | undefined;
        do {
          const { StreamDescription } = await streams.send(
            new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: startShard }),
          );
          for (const shard of StreamDescription?.Shards ?? []) {
            const id = shard.ShardId!;
            if (known.has(id)) continue;
            known.add(id);
            const open = !shard.SequenceNumberRange?.EndingSequenceNumber;
            if (first && !open) continue;
            const { ShardIterator } = await streams.send(
              new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: id, ShardIteratorType: first ? 'LATEST' : 'TRIM_HORIZON' }),
            );
            if (ShardIterator) iterators.set(id, ShardIterator);
          }
          startShard = StreamDescription?.LastEvaluatedShardId;
        } while (startShard);
        first = false;
      }
      // The stream only wakes triggers. With none defined its records wait there (24 h; an iterator
      // that expired meanwhile starts again from TRIM_HORIZON) and are read once one exists: nothing
      // is missed, and a hot partition's appends meanwhile do not share the CPU with the polls.
      if (Date.now() - triggersCheckedAt > triggerCheckIntervalMs) {
        triggersCheckedAt = Date.now();
        // The read the trigger sweep makes (infra/schedules.ts), under its role.
        triggersExist = (await runAsFunction('trigger-sweep', () => listDefinitions())).length > 0;
      }
      if (!triggersExist) {
        await sleep(Math.max(intervalMs, 100), signal);
        continue;
      }
      const keys: string[] = [];
      for (const [shard, iterator] of [...iterators]) {
        try {
          const { Records, NextShardIterator } = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
          for (const record of Records ?? []) {
            const key = appendedPartitionKey(record);
            if (key) keys.push(key);
          }
          if (NextShardIterator) iterators.set(shard, NextShardIterator);
          else iterators.delete(shard);
        } catch (error) {
          if ((error as Error).name !== 'ExpiredIteratorException' && (error as Error).name !== 'TrimmedDataAccessException') throw error;
          iterators.delete(shard);
          known.delete(shard);
        }
      }
      if (keys.length > 0)
        await onKeys([...new Set(keys)]).catch((error: unknown) => console.error('[logway] trigger wake-up failed:', error));
      else await sleep(intervalMs, signal);
    }
  } finally {
    dynamodb.destroy();
    streams.destroy();
  }
}

export interface LocalLambda {
  /** The local Lambda Invoke API, when this runtime serves one. */
  readonly server?: RunningLambdaServer;
  /** Where functions are invoked. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * Decides where trigger functions are invoked: AWS_ENDPOINT_URL_LAMBDA (or AWS_ENDPOINT_URL
 * without LOGWAY_FUNCTIONS) when set; otherwise a local Lambda Invoke API for the modules in
 * LOGWAY_FUNCTIONS (possibly none), whose address becomes AWS_ENDPOINT_URL_LAMBDA.
 */
export async function startLocalLambda(env: NodeJS.ProcessEnv = process.env): Promise<LocalLambda> {
  const external = env.AWS_ENDPOINT_URL_LAMBDA ?? (env.LOGWAY_FUNCTIONS ? undefined : env.AWS_ENDPOINT_URL);
  if (external) return { endpoint: external, stop: async () => undefined };
  const server = await startLambdaServer({
    functions: parseFunctionList(env.LOGWAY_FUNCTIONS ?? ''),
    port: Number(env.LOGWAY_LAMBDA_PORT ?? 0),
  });
  env.AWS_ENDPOINT_URL_LAMBDA = server.url;
  resetLambdaClient();
  return {
    server,
    endpoint: server.url,
    async stop() {
      await server.stop();
      if (env.AWS_ENDPOINT_URL_LAMBDA === server.url) delete env.AWS_ENDPOINT_URL_LAMBDA;
      resetLambdaClient();
    },
  };
}
