/**
 * Many Kafka producers on one partition through one gateway process: the process runs at most its
 * limit of chunk writes to the partition at a time (counted at DynamoDB, in SDK middleware on the
 * real client), the batches queued behind them go out together in fewer writes than batches, and
 * every acknowledged record is in the log once, in each producer's order.
 */
import type { MiddlewareStack } from '@smithy/types';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningKafkaServer, startKafkaServer } from '../../shared/kafka/server';
import { dynamo } from '../../shared/runtime/aws';
import { useKafkaService } from './support';

const limit = 2;
const { http, bootstrap } = useKafkaService({ appendsPerPartition: limit });
let unlimited: RunningKafkaServer | undefined;
beforeAll(async () => {
  unlimited = await startKafkaServer({ port: 0, log: () => {}, appendsPerPartition: 0 });
});
afterAll(async () => unlimited?.stop());

/** The most chunk writes (Put or Update of the chunks table) in flight at once while `work` runs, and how many there were. */
async function chunkWrites(work: () => Promise<void>): Promise<{ peak: number; writes: number }> {
  const stack = dynamo().middlewareStack as MiddlewareStack<any, any>;
  let inFlight = 0;
  let peak = 0;
  let writes = 0;
  stack.add(
    (next, context) => async (args) => {
      const write =
        (context.commandName === 'PutItemCommand' || context.commandName === 'UpdateItemCommand') &&
        String(args.input.TableName).endsWith('chunks');
      if (!write) return next(args);
      writes++;
      peak = Math.max(peak, ++inFlight);
      try {
        return await next(args);
      } finally {
        inFlight--;
      }
    },
    { step: 'initialize', name: 'countChunkWrites' },
  );
  try {
    await work();
  } finally {
    stack.remove('countChunkWrites');
  }
  return { peak, writes };
}

/** `producers` KafkaJS producers, a connection each, each sending `sends` one-record batches to partition 0. */
async function produceTogether(broker: string, topic: string, producers: number, sends: number, idempotent = false): Promise<void> {
  const clients = Array.from({ length: producers }, (_, p) =>
    new Kafka({ clientId: `hot-${p}`, brokers: [broker], logLevel: logLevel.NOTHING }).producer({
      idempotent,
      ...(idempotent ? { maxInFlightRequests: 1 } : {}),
    }),
  );
  await Promise.all(clients.map((c) => c.connect()));
  try {
    await Promise.all(
      clients.map(async (c, p) => {
        for (let i = 0; i < sends; i++) await c.send({ topic, acks: -1, messages: [{ value: `${p}-${i}`, partition: 0 }] });
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.disconnect()));
  }
}

async function valuesOf(topic: string): Promise<string[]> {
  const page = await http.get(`/v1/topics/${topic}/partitions/0/records?offset=0&maxRecords=1000`);
  expect(page.status).toBe(200);
  return page.body.records.map((r: { value: string }) => r.value);
}

/** Each producer's records in the order it sent them (one send in flight per producer). */
function expectEachProducersOrder(values: readonly string[], producers: number, sends: number): void {
  for (let p = 0; p < producers; p++)
    expect(values.filter((v) => v.startsWith(`${p}-`))).toEqual(Array.from({ length: sends }, (_, i) => `${p}-${i}`));
}

describe('many Kafka producers on one partition', () => {
  it.each([
    ['plain', false],
    ['idempotent', true],
  ])(
    `%s producers: at most ${limit} chunk writes to the partition at once, the batches queued behind them grouped, every acknowledged record in the log once, in each producer's order`,
    async (kind, idempotent) => {
      const topic = `hot-limited-${kind}`;
      await http.post('/v1/topics', { name: topic, partitions: 1 });
      const { peak, writes } = await chunkWrites(() => produceTogether(bootstrap(), topic, 12, 5, idempotent));
      expect(peak).toBeLessThanOrEqual(limit);
      // 60 batches, 10 of 12 producers waiting behind 2 writes at a time: far fewer writes than batches.
      expect(writes).toBeLessThan(40);
      const values = await valuesOf(topic);
      expect(values).toHaveLength(60);
      expect(new Set(values).size).toBe(60);
      expectEachProducersOrder(values, 12, 5);
    },
  );

  it('idempotent producers whose grouped write committed but whose answer was lost: each batch is found where it landed, every record once', async () => {
    await http.post('/v1/topics', { name: 'hot-lost-answers', partitions: 1 });
    // After the SDK's retries (the initialize step wraps them): the write is in, the caller sees
    // an error it does not retry, so every batch of the group learns its fate from the chunks.
    const stack = dynamo().middlewareStack as MiddlewareStack<any, any>;
    let grouped = 0;
    let lost = 0;
    stack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const input = args.input as {
          TableName?: string;
          Item?: { batches?: unknown[] };
          ExpressionAttributeValues?: Record<string, unknown>;
        };
        const group =
          String(input.TableName).endsWith('chunks') &&
          ((context.commandName === 'PutItemCommand' && (input.Item?.batches?.length ?? 0) > 1) ||
            (context.commandName === 'UpdateItemCommand' &&
              input.ExpressionAttributeValues?.[':entryCount'] !== undefined &&
              Number(input.ExpressionAttributeValues[':entryCount']) > 1));
        if (group && grouped++ % 3 === 0) {
          lost++;
          throw Object.assign(new Error('injected: the answer of a committed write was lost'), {
            name: 'InjectedLostAnswer',
            $fault: 'client',
          });
        }
        return result;
      },
      { step: 'initialize', name: 'loseGroupedAnswers' },
    );
    try {
      await produceTogether(bootstrap(), 'hot-lost-answers', 12, 5, true);
    } finally {
      stack.remove('loseGroupedAnswers');
    }
    expect(lost).toBeGreaterThan(0);
    const values = await valuesOf('hot-lost-answers');
    expect(values).toHaveLength(60);
    expect(new Set(values).size).toBe(60);
    expectEachProducersOrder(values, 12, 5);
  });

  it('without a group commit the same producers have more writes in flight, one per batch (so the tests above measure it)', async () => {
    await http.post('/v1/topics', { name: 'hot-unlimited', partitions: 1 });
    const { peak, writes } = await chunkWrites(() => produceTogether(`127.0.0.1:${unlimited!.port}`, 'hot-unlimited', 12, 5));
    expect(peak).toBeGreaterThan(limit);
    expect(writes).toBeGreaterThanOrEqual(60);
    expect(new Set(await valuesOf('hot-unlimited')).size).toBe(60);
  });
});
