/**
 * The workload's Kafka side, through the runtime's Kafka listener (shared/kafka/server.ts):
 * KafkaJS producers (some idempotent: producer ids, epochs and sequences, KafkaJS retrying
 * inside a send; the others with KafkaJS's retries off, so one send is one request) and fetchers
 * on the repo's own codec. Their acknowledgements and reads go into the same history as HTTP's,
 * as `produce` and `fetch` operations with `via: 'kafka'`, so the same checkers judge them:
 * acknowledged once (an idempotent send is one logical write however often KafkaJS retried it;
 * a send without retries is one request), offsets unique and gapless, and reads over both
 * protocols agreeing on every offset.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { decodeRecordBatches } from '../shared/records/index';
import { fetch as fetchApi } from '../shared/kafka/schema';
import type { FetchedPartition, FetchValue, ProducedRecord, ProduceValue } from './checker/model';
import { KafkaConnection } from './kafka-client';
import type { Prng } from './prng';
import type { WorkloadContext } from './workload';

/** The topics Kafka clients write and read: the plain one and the triggered one (so triggers deliver Kafka appends too). */
export const kafkaTopics = [
  { name: 'chaos-plain', partitions: 4 },
  { name: 'chaos-triggered', partitions: 2 },
] as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** KafkaJS errors that certainly appended nothing (the broker refused the request before any write). */
const refusals = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_RECORD', 'MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'CORRUPT_MESSAGE']);

function kafkaErrorName(error: unknown): string {
  const e = error as { type?: string; name?: string; message?: string; cause?: { type?: string } };
  return e.type ?? e.cause?.type ?? e.name ?? String(e.message ?? error);
}

export async function kafkaProducer(ctx: WorkloadContext, worker: number, prng: Prng, port: number, idempotent: boolean): Promise<void> {
  let process = ctx.nextProcess();
  let writes = 0;
  let producer: Producer | undefined;
  let kafka: Kafka | undefined;
  const drop = async () => {
    const p = producer;
    producer = undefined;
    await p?.disconnect().catch(() => undefined);
  };
  while (!ctx.stopped()) {
    if (!producer) {
      kafka = new Kafka({
        clientId: `chaos-kafka-${worker}`,
        brokers: [`127.0.0.1:${port}`],
        logLevel: logLevel.NOTHING,
        connectionTimeout: 2000,
        requestTimeout: 4000,
        retry: { retries: idempotent ? 3 : 0, initialRetryTime: 100, maxRetryTime: 1000 },
      });
      const p = kafka.producer({
        idempotent,
        ...(idempotent ? { maxInFlightRequests: 1 } : {}),
        allowAutoTopicCreation: false,
        retry: { retries: idempotent ? 3 : 0, initialRetryTime: 100, maxRetryTime: 1000 },
      });
      try {
        await p.connect();
        producer = p;
      } catch {
        await p.disconnect().catch(() => undefined);
        await sleep(300);
        continue;
      }
    }
    const plan = prng.pick(kafkaTopics);
    const write = `k${worker}.${writes++}`;
    const multi = prng.chance(0.3);
    const single = prng.int(0, plan.partitions - 1);
    const records: (ProducedRecord & { value: string })[] = [];
    for (let i = 0, count = prng.int(1, 4); i < count; i++) {
      // Ids as the HTTP producers' (r<worker>.<write>.<i>), with Kafka workers numbered from 10.
      const id = `r${10 + worker}.${writes}.${i}`;
      const partition = multi ? prng.int(0, plan.partitions - 1) : single;
      records.push({ id, key: null, partition, bytes: Buffer.byteLength(id), value: id });
    }
    const value: ProduceValue = {
      topic: plan.name,
      write,
      attempt: 1,
      via: 'kafka',
      // An idempotent producer's send is one logical write: the checker allows it no second copy.
      ...(idempotent ? { idempotencyKey: `kafka-idempotent-${ctx.startedAt}-${write}` } : {}),
      records: records.map(({ value: _v, ...r }) => r),
    };
    const op = ctx.recorder.invoke(process, 'produce', value);
    const timestamp = Date.now();
    try {
      const metadata = await producer.send({
        topic: plan.name,
        acks: -1,
        timeout: 4000,
        messages: records.map((r) => ({ value: r.value, partition: r.partition, timestamp: String(timestamp) })),
      });
      // Offsets: each partition's base offset plus the record's place among that partition's records.
      const next = new Map<number, number>();
      for (const m of metadata) next.set(m.partition, Number(m.baseOffset));
      const offsets = records.map((r) => {
        const offset = next.get(r.partition);
        if (offset === undefined) throw new Error(`no offset for partition ${r.partition}`);
        next.set(r.partition, offset + 1);
        return { partition: r.partition, offset, timestamp };
      });
      ctx.recorder.complete(op, process, 'produce', 'ok', { offsets, replayed: false });
    } catch (error) {
      const name = kafkaErrorName(error);
      const refused = refusals.has(name);
      ctx.recorder.complete(op, process, 'produce', refused ? 'fail' : 'info', undefined, `kafka ${name}`);
      // A new producer (a new producer id, as after a crash) and a new process after an unknown outcome.
      if (!refused) process = ctx.nextProcess();
      await drop();
      await sleep(prng.int(50, 300));
    }
    await sleep(prng.int(0, 40));
  }
  await drop();
}

export async function kafkaFetcher(ctx: WorkloadContext, prng: Prng, port: number): Promise<void> {
  let process = ctx.nextProcess();
  let connection: KafkaConnection | undefined;
  while (!ctx.stopped()) {
    if (!connection || connection.closed) {
      try {
        connection = await KafkaConnection.open('127.0.0.1', port);
      } catch {
        await sleep(300);
        continue;
      }
    }
    const plan = prng.pick(kafkaTopics);
    const partition = prng.int(0, plan.partitions - 1);
    const bounds = ctx.bounds.get(`${plan.name}/${partition}`) ?? { lso: 0, hw: 0 };
    const offset = prng.chance(0.2) ? bounds.hw : prng.int(bounds.lso, Math.max(bounds.lso, bounds.hw));
    const value: FetchValue = { partitions: [{ topic: plan.name, partition, offset }], via: 'kafka' };
    const op = ctx.recorder.invoke(process, 'fetch', value);
    try {
      const response = await connection.call(fetchApi, 11, {
        maxWaitMs: prng.chance(0.3) ? 200 : 0,
        minBytes: 1,
        maxBytes: prng.int(2_000, 200_000),
        isolationLevel: 1,
        topics: [{ topic: plan.name, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: prng.int(1_000, 100_000) }] }],
      });
      const part = (
        response.responses as {
          partitions: { errorCode: number; highWatermark: number; logStartOffset: number; records: Buffer | null }[];
        }[]
      )[0]?.partitions[0];
      if (!part) throw new Error('no partition in the response');
      if (part.errorCode !== 0) {
        ctx.recorder.complete(op, process, 'fetch', 'fail', undefined, `kafka error ${part.errorCode}`);
      } else {
        const records = (part.records ? decodeRecordBatches(part.records) : [])
          .flatMap((batch) => batch.records)
          .filter((r) => r.offset >= offset)
          .map((r) => {
            const text = r.value ? Buffer.from(r.value).toString('utf8') : '';
            const id = text.split('|')[0]!;
            return {
              offset: r.offset,
              id: /^r\d+\.\d+\.\d+$/.test(id) ? id : null,
              key: r.key ? Buffer.from(r.key).toString('utf8') : null,
              timestamp: r.timestamp,
            };
          });
        const fetched: FetchedPartition = {
          topic: plan.name,
          partition,
          offset,
          records,
          nextOffset: records.length ? records.at(-1)!.offset + 1 : offset,
          highWatermark: part.highWatermark,
          logStartOffset: part.logStartOffset,
        };
        ctx.recorder.complete(op, process, 'fetch', 'ok', { partitions: [fetched] });
        const key = `${plan.name}/${partition}`;
        const known = ctx.bounds.get(key) ?? { lso: 0, hw: 0 };
        ctx.bounds.set(key, { lso: Math.max(known.lso, part.logStartOffset), hw: Math.max(known.hw, part.highWatermark) });
      }
    } catch (error) {
      const code = (error as { code?: string }).code;
      // A refused connection never reached the runtime; anything else may have (reads change nothing either way).
      ctx.recorder.complete(
        op,
        process,
        'fetch',
        code === 'ECONNREFUSED' ? 'fail' : 'info',
        undefined,
        `kafka ${code ?? (error as Error).message}`,
      );
      if (code !== 'ECONNREFUSED') process = ctx.nextProcess();
      connection?.close();
      connection = undefined;
      await sleep(200);
    }
    await sleep(prng.int(0, 30));
  }
  connection?.close();
}
