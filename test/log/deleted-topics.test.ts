/**
 * Deleted and purged topics stay closed: no append lands in them, and no sweep brings their
 * partition items back (issue: writes into a purged topic, sweeps that re-create items).
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { emptySweepReport, purgeDeletedTopic, sweepRetention } from '../../shared/log/retention';
import { dynamo, tableName } from '../../shared/runtime/aws';
import { listTombstones, partitionKeyOf } from '../../shared/topics/store';
import { putFences } from '../../shared/log/fences';
import { readLastChunk } from '../../shared/log/chunk-store';
import { readHead } from '../../shared/log/partition-heads';
import { useTestService } from '../support/local-service';
import { aheadOfFirst, type ClientStack } from '../support/intercept';

const { http } = useTestService();

const partitionItem = async (topicId: string, partition: number) =>
  (
    await dynamo().send(
      new GetCommand({
        TableName: tableName('partitions'),
        Key: { partitionKey: partitionKeyOf(topicId, partition) },
        ConsistentRead: true,
      }),
    )
  ).Item;

describe('a deleted topic takes no appends', () => {
  it('a producer holding a purged topic (cached metadata) gets 404 and writes nothing', async () => {
    expect((await http.post('/v1/topics', { name: 'purged', partitions: 1 })).status).toBe(201);
    const { topicId } = (await http.get('/v1/topics/purged')).body;
    // This process now caches the topic and the partition's head.
    expect((await http.post('/v1/topics/purged/records', { records: [{ value: 'before' }] })).status).toBe(200);
    expect((await http.delete('/v1/topics/purged')).status).toBe(204);
    expect((await sweepRetention()).deletedTopicsPurged).toBeGreaterThanOrEqual(1);

    const late = await http.post('/v1/topics/purged/records', { records: [{ value: 'after purge' }] });
    expect(late.status).toBe(404);
    expect(late.body.error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    const item = await partitionItem(topicId, 0);
    // The purged partition keeps its deletion mark and its deletion fence, and no append moved it.
    expect(item?.deletedAt).toBeDefined();
    const head = await readLastChunk(partitionKeyOf(topicId, 0));
    expect(head?.deletedAt).toBeDefined();
    expect(head?.baseOffset).toBe(1);
    expect((await readHead(topicId, 0)).highWatermark).toBe(1);
  });

  it('a produce into a topic whose deletion stopped halfway answers 404 at once instead of looping', async () => {
    await http.post('/v1/topics', { name: 'half-deleted', partitions: 1 });
    const { topicId } = (await http.get('/v1/topics/half-deleted')).body;
    await http.post('/v1/topics/half-deleted/records', { records: [{ value: 'x' }] });
    // A DELETE that marked and fenced the partitions and died before replacing the topic item.
    await dynamo().send(
      new UpdateCommand({
        TableName: tableName('partitions'),
        Key: { partitionKey: partitionKeyOf(topicId, 0) },
        UpdateExpression: 'SET deletedAt = :now',
        ExpressionAttributeValues: { ':now': Date.now() },
      }),
    );
    await putFences([partitionKeyOf(topicId, 0)], { kind: 'deleted', configVersion: 0, deletedAt: Date.now() });
    const started = Date.now();
    const outcome = await Promise.race([
      http.post('/v1/topics/half-deleted/records', { records: [{ value: 'y' }] }),
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000)),
    ]);
    expect(outcome).not.toBe('hung');
    if (outcome === 'hung') return;
    expect(outcome.status).toBe(404);
    expect(Date.now() - started).toBeLessThan(11_000);
    // A retried DELETE finishes the job.
    expect((await http.delete('/v1/topics/half-deleted')).status).toBe(204);
  }, 20_000);
});

describe('sweeps never re-create a purged partition', () => {
  it('a compaction pass racing the purge of its topic leaves the partition marked deleted', async () => {
    await http.post('/v1/topics', { name: 'compact-purge', partitions: 1, config: { 'cleanup.policy': 'compact' } });
    const { topicId } = (await http.get('/v1/topics/compact-purge')).body;
    await http.post('/v1/topics/compact-purge/records', { records: [{ key: 'k', value: '1' }] });
    await http.post('/v1/topics/compact-purge/records', { records: [{ key: 'k', value: '2' }] });
    await http.post('/v1/topics/compact-purge/records', { records: [{ key: 'k', value: '3' }] });

    // Just before the compaction pass writes its bookkeeping to the partition item, the topic is
    // deleted and purged by another sweep.
    await aheadOfFirst(
      dynamo().middlewareStack as ClientStack,
      (name, input) => name === 'UpdateItemCommand' && JSON.stringify(input).includes(topicId),
      async () => {
        expect((await http.delete('/v1/topics/compact-purge')).status).toBe(204);
        const report = emptySweepReport();
        for (const tombstone of await listTombstones()) if (tombstone.topicId === topicId) await purgeDeletedTopic(tombstone, report);
        expect(report.deletedTopicsPurged).toBe(1);
      },
      () => sweepRetention(),
    );
    const item = await partitionItem(topicId, 0);
    expect(item?.deletedAt).toBeDefined();
    expect(item?.compactedUpTo).toBeUndefined();
  });
});
