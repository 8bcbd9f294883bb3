/**
 * Offset for a timestamp when the record that set the running maximum is gone (compacted or
 * retained away), after a far-future timestamp, and tombstone retention counted from when the
 * cleaner first saw the tombstone.
 */
import type { MiddlewareStack } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { deleteRetentionMs } from '../../shared/log/compaction';
import { sweepRetention } from '../../shared/log/retention';
import { dynamo } from '../../shared/runtime/aws';
import { useTestService } from '../support/local-service';

const { http } = useTestService();

const t0 = 1_700_000_000_000;
const at = async (topic: string, timestamp: number) => {
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
    expect(await at('ts-compacted', t0 + 150)).toBe(0);
    expect((await sweepRetention()).recordsCompactedAway).toBe(1);
    expect(await at('ts-compacted', t0 + 150)).toBe(2);
    expect(await at('ts-compacted', t0 + 250)).toBe(3);
    expect(await at('ts-compacted', t0 + 301)).toBeNull();

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
      expect(await at('ts-future', t0 + 150)).toBe(150);
    } finally {
      stack.remove('countQueries');
    }
    expect(queries).toBeLessThanOrEqual(15);
    expect(await at('ts-future', t0 + 1)).toBe(1);
    expect(await at('ts-future', t0 + 300)).toBe(300);
    expect(await at('ts-future', t0 + 301)).toBeNull();
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
