/**
 * Anomalies `npm run chaos` found in Logway, each reduced to a deterministic test. A test marked
 * `it.fails` reproduces a bug that is not fixed yet: it passes while the bug is there, and
 * starts failing once the fix lands, at which point `.fails` must be removed.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { partitionForKey } from '../../shared/records/partitioner';
import { dynamo, tableName } from '../../shared/runtime/aws';
import { partitionKeyOf } from '../../shared/topics/store';
import { useTestService } from '../support/local-service';

const { http } = useTestService();

describe('chaos regressions', () => {
  // Found by `npm run chaos -- --quick --seed 2` (unjustified-rejection): a produce refused with
  // 413 RECORD_TOO_LARGE 1.6 s after max.message.bytes had been raised to 1 MiB. The produce path
  // checks the size against the topic cached for 5 s (shared/topics/cache.ts via
  // shared/log/produce.ts), and nothing refreshes it before refusing; the contract says a
  // request is never refused on metadata that a fresh read would contradict.
  it('accepts a record at once after max.message.bytes is raised', async () => {
    expect((await http.post('/v1/topics', { name: 'raised', partitions: 1, config: { 'max.message.bytes': 3000 } })).status).toBe(201);
    // A first produce caches the topic with the small limit.
    expect((await http.post('/v1/topics/raised/records', { records: [{ value: 'small' }] })).status).toBe(200);
    expect((await http.patch('/v1/topics/raised', { config: { 'max.message.bytes': 1_048_576 } })).status).toBe(200);
    const big = await http.post('/v1/topics/raised/records', { records: [{ value: 'x'.repeat(6000) }] });
    expect(big.body).toMatchObject({ offsets: [{ partition: 0, offset: 1 }] });
    expect(big.status).toBe(200);
  });

  // Found by `npm run chaos -- --quick --seed 21` (offset-for-time): offsets?at=T answered null
  // although offset 504, with a timestamp after T, had been acknowledged 267 ms before. The
  // retention sweep moves the log start offset first and deletes the batches after it; in
  // between (or for good, if the sweep dies there) the first batch whose running maximum
  // timestamp reaches T lies below the log start offset. offsetForTimestamp
  // (shared/log/offsets.ts) decodes only that batch, finds no record at or after the log start
  // offset, and answers null instead of going on to the next batches.
  it('finds the first offset at or after a timestamp while retention is between moving the log start and deleting', async () => {
    expect((await http.post('/v1/topics', { name: 'timed', partitions: 1 })).status).toBe(201);
    await http.post('/v1/topics/timed/records', { records: [{ value: 'old', partition: 0, timestamp: 1000 }] });
    await http.post('/v1/topics/timed/records', { records: [{ value: 'new', partition: 0, timestamp: 2000 }] });
    // The sweep's first step, as shared/log/retention.ts takes it: the log now starts at 1.
    const { Item } = await dynamo().send(new GetCommand({ TableName: tableName('topics'), Key: { name: 'timed' } }));
    await dynamo().send(
      new UpdateCommand({
        TableName: tableName('partitions'),
        Key: { partitionKey: partitionKeyOf(Item!.topicId as string, 0) },
        UpdateExpression: 'SET logStartOffset = :one',
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
    // Offset 1 is the earliest offset whose timestamp is at or after 500.
    expect((await http.get('/v1/topics/timed/partitions/0/offsets?at=500')).body).toEqual({ offset: 1 });
  });
  // Found by `npm run chaos -- --quick --seed 4` (wrong-key-partition, 40 records in one run):
  // records sent without a partition landed by murmur2 on the partition count of before a
  // growth, 0.2 to 3.6 s after `PATCH {partitions}` had been acknowledged. The produce path
  // partitions keys on the topic cached for 5 s (shared/topics/cache.ts via cachedTopic in
  // shared/log/produce.ts); docs/api.md places such records at murmur2(key) % partitions. Not
  // fixed here (shared/log is being rewritten): `it.fails` until the fix lands.
  it.fails('places a keyed record on the grown partition count at once after the growth', async () => {
    const key = Array.from({ length: 100 }, (_, i) => `g${i}`).find((k) => partitionForKey(k, 2) !== partitionForKey(k, 3))!;
    expect((await http.post('/v1/topics', { name: 'grown', partitions: 2 })).status).toBe(201);
    // A first produce caches the topic with 2 partitions.
    expect((await http.post('/v1/topics/grown/records', { records: [{ key, value: 'before' }] })).body).toMatchObject({
      offsets: [{ partition: partitionForKey(key, 2) }],
    });
    expect((await http.patch('/v1/topics/grown', { partitions: 3 })).status).toBe(200);
    const after = await http.post('/v1/topics/grown/records', { records: [{ key, value: 'after' }] });
    expect(after.status).toBe(200);
    expect(after.body.offsets[0].partition).toBe(partitionForKey(key, 3));
  });
});
