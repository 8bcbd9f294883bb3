/**
 * Offset for a timestamp when the record that set the running maximum is gone (compacted or
 * retained away), after a far-future timestamp, and tombstone retention counted from when the
 * cleaner first saw the tombstone.
 */
import type { MiddlewareStack } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { deleteRetentionMs } from '../../shared/log/compaction';
import { sweepRetention } from '../../shared/log/retention';
import { dynamo, tableName } from '../../shared/runtime/aws';
import { queryItems } from '../../shared/runtime/paging';
import { getTopic, partitionKeyOf } from '../../shared/topics/store';
import { useTestService } from '../support/local-service';

const { http } = useTestService();

const t0 = 1_700_000_000_000;
const atOffset = async (topic: string, timestamp: number) => {
  const response = await http.get(`/v1/topics/${topic}/partitions/0/offsets?at=${timestamp}`);
  expect(response.status).toBe(200);
  return response.body.offset as number | null;
};

describe('offset for a timestamp', () => {
  it('finds a later qualifying record when the one that set the running maximum was compacted away; reset-offsets follows', async () => {
    await http.post('/v1/topics', { name: 'ts-compacted', partitions: 1, config: { 'cleanup.policy': 'compact' } });
    const produce = (key: string, timestamp: number) =>
      http.post('/v1/topics/ts-compacted/records', { records: [{ key, value: key, timestamp, partition: 0 }] });
    await produce('a', t0 + 1000); // offset 0 sets the running max
    await produce('b', t0 + 100); // 1
    await produce('a', t0 + 200); // 2 supersedes offset 0
    await produce('c', t0 + 300); // 3, the active batch
    expect(await atOffset('ts-compacted', t0 + 150)).toBe(0);
    expect((await sweepRetention()).recordsCompactedAway).toBe(1);
    expect(await atOffset('ts-compacted', t0 + 150)).toBe(2);
    expect(await atOffset('ts-compacted', t0 + 250)).toBe(3);
    expect(await atOffset('ts-compacted', t0 + 301)).toBeNull();

    const reset = await http.post('/v1/groups/ts-group/reset-offsets', { topic: 'ts-compacted', to: { timestamp: t0 + 150 } });
    expect(reset.status).toBe(200);
    const committed = await http.get('/v1/groups/ts-group/offsets');
    expect(JSON.stringify(committed.body)).toContain('"offset":2');
  });

  it('after a far-future record that retention removed: the right answer, in a few round trips', async () => {
    await http.post('/v1/topics', { name: 'ts-future', partitions: 1, config: { 'retention.bytes': 0 } });
    await http.post('/v1/topics/ts-future/records', { records: [{ value: 'future', timestamp: 9_000_000_000_000 }] });
    await sweepRetention();
    await http.patch('/v1/topics/ts-future', { config: { 'retention.bytes': -1 } });
    for (let i = 1; i <= 300; i++) await http.post('/v1/topics/ts-future/records', { records: [{ value: `v${i}`, timestamp: t0 + i }] });

    let queries = 0;
    const stack = dynamo().middlewareStack as MiddlewareStack<any, any>;
    stack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'QueryCommand') queries++;
        return next(args);
      },
      { step: 'initialize', name: 'countQueries' },
    );
    try {
      expect(await atOffset('ts-future', t0 + 150)).toBe(150);
    } finally {
      stack.remove('countQueries');
    }
    expect(queries).toBeLessThanOrEqual(15);
    expect(await atOffset('ts-future', t0 + 1)).toBe(1);
    expect(await atOffset('ts-future', t0 + 300)).toBe(300);
    expect(await atOffset('ts-future', t0 + 301)).toBeNull();
  }, 60_000);
});

/** Counts the Queries (and the read units DynamoDB reports for them) made while `run` runs. */
async function countingQueries<T>(run: () => Promise<T>): Promise<{ result: T; queries: number; readUnits: number }> {
  let queries = 0;
  let readUnits = 0;
  const stack = dynamo().middlewareStack as MiddlewareStack<any, any>;
  stack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'QueryCommand') return next(args);
      queries++;
      const output = await next({ ...args, input: { ...args.input, ReturnConsumedCapacity: 'TOTAL' } });
      readUnits += Number((output.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity?.CapacityUnits ?? 0);
      return output;
    },
    { step: 'initialize', name: 'countQueriesAndUnits' },
  );
  try {
    return { result: await run(), queries, readUnits };
  } finally {
    stack.remove('countQueriesAndUnits');
  }
}

describe('offset for a timestamp on the chunk chain', () => {
  it('answers as a brute force over every record does: out-of-order timestamps, chunks of several batches from concurrent writers; about log2(chunks) Queries a lookup', async () => {
    await http.post('/v1/topics', { name: 'ts-chain', partitions: 1 });
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    // Eight writers at once: collisions make the partition contended, so writers join open chunks.
    await Promise.all(
      Array.from({ length: 8 }, async (_, writer) => {
        for (let i = 0; i < 25; i++) {
          const records = Array.from({ length: 1 + random(3) }, (_, j) => ({
            value: `w${writer}-${i}-${j}`,
            timestamp: t0 + (random(20) === 0 ? 5_000 + random(100) : random(1_000)),
            partition: 0,
          }));
          expect((await http.post('/v1/topics/ts-chain/records', { records })).status).toBe(200);
        }
      }),
    );
    const timestamps: number[] = [];
    for (let offset = 0; ; ) {
      const { body } = await http.get(`/v1/topics/ts-chain/partitions/0/records?offset=${offset}&maxRecords=1000`);
      for (const r of body.records as { offset: number; timestamp: number }[]) timestamps[r.offset] = r.timestamp;
      offset = body.nextOffset;
      if (offset >= body.highWatermark) break;
    }
    const topic = await getTopic('ts-chain');
    let chunks = 0;
    let batches = 0;
    for await (const chunk of queryItems({
      TableName: tableName('chunks'),
      KeyConditionExpression: 'partitionKey = :pk',
      ExpressionAttributeValues: { ':pk': partitionKeyOf(topic!.topicId, 0) },
      ConsistentRead: true,
    })) {
      chunks++;
      batches += (chunk.batches as unknown[] | undefined)?.length ?? 0;
    }
    expect(batches).toBe(200);
    expect(chunks).toBeLessThan(batches); // some chunks hold several batches

    for (const at of [
      t0 - 1,
      t0,
      t0 + 1,
      t0 + 250,
      t0 + 500,
      t0 + 998,
      t0 + 999,
      t0 + 1_000,
      t0 + 5_000,
      t0 + 5_050,
      t0 + 5_099,
      t0 + 5_100,
    ]) {
      const expected = timestamps.findIndex((t) => t >= at);
      expect([at - t0, await atOffset('ts-chain', at)]).toEqual([at - t0, expected === -1 ? null : expected]);
    }
    const { result, queries, readUnits } = await countingQueries(() => atOffset('ts-chain', t0 + 500));
    expect(result).toBe(timestamps.findIndex((t) => t >= t0 + 500));
    // The head's last chunk, then the probes: at most floor(log2(records)) + 1, about log2(chunks) + 1.
    expect(queries).toBeLessThanOrEqual(1 + Math.floor(Math.log2(timestamps.length)) + 1);
    console.log(
      `[time lookup] ${timestamps.length} records in ${batches} batches, ${chunks} chunks: ${queries} Queries, ${readUnits} read units reported`,
    );
  }, 60_000);
});

describe('what a time lookup reads', () => {
  it('over single-record chunks (uncontended appends): the head, then at most log2(chunks) + 1 one-chunk Queries', async () => {
    await http.post('/v1/topics', { name: 'ts-single', partitions: 1 });
    const count = 256;
    // Out of order: every 16th record is 10 s late, so the running maximum runs ahead of the timestamps.
    const timestamps = Array.from({ length: count }, (_, i) => t0 + i * 10 + (i % 16 === 0 ? 10_000 : 0));
    for (const timestamp of timestamps)
      await http.post('/v1/topics/ts-single/records', { records: [{ value: 'x'.repeat(1000), timestamp }] });
    for (const at of [t0 + 5, t0 + 1_234, t0 + 2_555, t0 + 12_345]) {
      const { result, queries, readUnits } = await countingQueries(() => atOffset('ts-single', at));
      const expected = timestamps.findIndex((t) => t >= at);
      expect(result).toBe(expected === -1 ? null : expected);
      expect(queries).toBeLessThanOrEqual(1 + Math.floor(Math.log2(count)) + 1);
      console.log(
        `[time lookup] ${count} single-record chunks of 1 KiB, T = t0 + ${at - t0}: ${queries} Queries, ${readUnits} read units reported`,
      );
    }
  }, 60_000);
});

describe('tombstone retention', () => {
  it('counts delete.retention.ms from when compaction first saw the tombstone, not from its timestamp', async () => {
    await http.post('/v1/topics', { name: 'old-tombstones', partitions: 1, config: { 'cleanup.policy': 'compact' } });
    const old = Date.now() - 10 * deleteRetentionMs;
    await http.post('/v1/topics/old-tombstones/records', { records: [{ key: 'k', value: 'v', timestamp: old }] });
    await http.post('/v1/topics/old-tombstones/records', { records: [{ key: 'k', value: null, timestamp: old }] });
    await http.post('/v1/topics/old-tombstones/records', { records: [{ key: 'other', value: 'active' }] });
    await sweepRetention();
    const read = async () => (await http.get('/v1/topics/old-tombstones/partitions/0/records?offset=0')).body.records;
    // Superseded record gone; the tombstone stays, though its timestamp is ten days old.
    expect((await read()).map((r: { offset: number }) => r.offset)).toEqual([1, 2]);
    await sweepRetention(Date.now() + deleteRetentionMs - 3_600_000);
    expect((await read()).map((r: { offset: number }) => r.offset)).toEqual([1, 2]);
    await sweepRetention(Date.now() + deleteRetentionMs + 60_000);
    expect((await read()).map((r: { offset: number }) => r.offset)).toEqual([2]);
  });
});
