/**
 * Retention under races and crashes: a fetch that races a sweep answers 416, overlapping
 * sweeps never delete an object another partition still uses, a sweep that dies at any step
 * leaves nothing behind for good, and segment objects no append committed are removed.
 * Races and crashes are injected with middleware on the real SDK clients.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { getChunk } from '../../shared/log/chunk-store';
import { compactPartition } from '../../shared/log/compaction';
import { orphanGraceMs, releaseSegmentBatch, sweepRetention } from '../../shared/log/retention';
import { writeSegment } from '../../shared/log/segments';
import { bucketName, dynamo, runAsFunction, s3Client, tableName } from '../../shared/runtime/aws';
import { listTombstones, partitionKeyOf } from '../../shared/topics/store';
import { useTestService } from '../support/local-service';
import { aheadOfFirst, type ClientStack, loseFirstResponse } from '../support/intercept';

const { http } = useTestService();

/** A sweep as the scheduled function runs it: under its own IAM role (checked against its policy). */
const sweep = (now?: number) => runAsFunction('retention-sweep', () => sweepRetention(now));

const old = () => Date.now() - 3_600_000;
const big = (c: string) => c.repeat(5000); // over the inline threshold: in S3

const objectKeys = async (prefix = 'segments/') =>
  ((await s3Client().send(new ListObjectsV2Command({ Bucket: bucketName(), Prefix: prefix }))).Contents ?? []).map((o) => o.Key!);

const dynamoStack = () => dynamo().middlewareStack as ClientStack;
const s3Stack = () => s3Client().middlewareStack as ClientStack;

async function expiringTopic(name: string, partitions = 1) {
  expect((await http.post('/v1/topics', { name, partitions, config: { 'retention.ms': 60_000 } })).status).toBe(201);
  return (await http.get(`/v1/topics/${name}`)).body.topicId as string;
}

describe('a fetch racing retention', () => {
  it('answers 416 when the segment object it is reading is removed under it (GET and POST /v1/fetch)', async () => {
    for (const route of ['get', 'post'] as const) {
      const name = `race-s3-${route}`;
      await expiringTopic(name);
      await http.post(`/v1/topics/${name}/records`, { records: [{ value: big('a'), timestamp: old() }] });
      await http.post(`/v1/topics/${name}/records`, { records: [{ value: 'fresh' }] });
      const response = await aheadOfFirst(
        s3Stack(),
        (command) => command === 'GetObjectCommand',
        // The sweep runs as its own function (its own IAM role), though it starts inside the fetch's call.
        () => sweep(),
        () =>
          route === 'get'
            ? http.get(`/v1/topics/${name}/partitions/0/records?offset=0`)
            : http.post('/v1/fetch', { partitions: [{ topic: name, partition: 0, offset: 0 }] }),
      );
      const error = route === 'get' ? response.body.error : response.body.results[0].error;
      expect(response.status).toBe(route === 'get' ? 416 : 200);
      expect(error).toMatchObject({ code: 'OFFSET_OUT_OF_RANGE', logStartOffset: 1, highWatermark: 2 });
    }
  });

  it('answers 416 when the batches it is about to query are removed after it read the head', async () => {
    const topicId = await expiringTopic('race-index');
    await http.post('/v1/topics/race-index/records', { records: [{ value: 'old', timestamp: old() }] });
    await http.post('/v1/topics/race-index/records', { records: [{ value: 'fresh' }] });
    const response = await aheadOfFirst(
      dynamoStack(),
      (command, input) =>
        // The reader's Queries of the chain (by base offset), not the head's (the last chunk).
        command === 'QueryCommand' &&
        JSON.stringify(input).includes(`${topicId}:0`) &&
        String((input as { KeyConditionExpression?: string }).KeyConditionExpression).includes('baseOffset'),
      () => sweep(),
      () => http.get('/v1/topics/race-index/partitions/0/records?offset=0'),
    );
    expect(response.status).toBe(416);
    expect(response.body.error).toMatchObject({ code: 'OFFSET_OUT_OF_RANGE', logStartOffset: 1 });
  });
});

describe('overlapping sweeps', () => {
  it('compaction and retention releasing the same batch count once: the object partition 1 still uses survives', async () => {
    await http.post('/v1/topics', {
      name: 'shared-object',
      partitions: 2,
      config: { 'cleanup.policy': 'compact,delete', 'retention.ms': 60_000 },
    });
    const { topicId } = (await http.get('/v1/topics/shared-object')).body;
    // One request, one object, two batches: partition 0's expires, partition 1's stays.
    await http.post('/v1/topics/shared-object/records', {
      records: [
        { key: 'k', value: big('0'), partition: 0, timestamp: old() },
        { key: 'k', value: big('1'), partition: 1 },
      ],
    });
    await http.post('/v1/topics/shared-object/records', { records: [{ key: 'k', value: 'newer', partition: 0 }] });
    const objectsBefore = await objectKeys(`segments/${topicId}/`);
    expect(objectsBefore).toHaveLength(1);

    // Retention has read partition 0's first batch; before it moves the log start, a compaction
    // pass rewrites that batch (dropping the superseded record) and releases it from the object.
    await aheadOfFirst(
      dynamoStack(),
      (command, input) => command === 'UpdateItemCommand' && JSON.stringify(input).includes('logStartOffset = :newStart'),
      () =>
        compactPartition(topicId, 0, 0, 2, Date.now(), (key, batches, lastOffset) =>
          releaseSegmentBatch(key, batches, `${partitionKeyOf(topicId, 0)}@${lastOffset}`),
        ),
      () => sweep(),
    );
    expect(await objectKeys(`segments/${topicId}/`)).toEqual(objectsBefore);
    const kept = await http.get('/v1/topics/shared-object/partitions/1/records?offset=0');
    expect(kept.status).toBe(200);
    expect(kept.body.records[0].value).toBe(big('1'));
  });

  it('two sweeps at once leave every kept record readable and remove each object once', async () => {
    const topicId = await expiringTopic('two-sweeps', 2);
    for (let i = 0; i < 4; i++) {
      await http.post('/v1/topics/two-sweeps/records', {
        records: [
          { value: big(`${i}`), partition: 0, timestamp: old() },
          { value: big(`${i}`), partition: 1, timestamp: i < 2 ? old() : Date.now() },
        ],
      });
    }
    await http.post('/v1/topics/two-sweeps/records', { records: [{ value: 'fresh', partition: 0 }] });
    await Promise.all([sweep(), sweep(), sweep()]);
    const described = (await http.get('/v1/topics/two-sweeps')).body.partitions;
    expect(described.map((p: { logStartOffset: number }) => p.logStartOffset)).toEqual([4, 2]);
    expect(await objectKeys(`segments/${topicId}/`)).toHaveLength(2);
    const p1 = await http.get('/v1/topics/two-sweeps/partitions/1/records?offset=2');
    expect(p1.body.records.map((r: { value: string }) => r.value)).toEqual([big('2'), big('3')]);
  });
});

describe('a sweep that dies halfway', () => {
  it('after moving the log start, its chunks become stubs and their object goes in the next pass', async () => {
    const topicId = await expiringTopic('crashed-sweep');
    await http.post('/v1/topics/crashed-sweep/records', { records: [{ value: big('x'), timestamp: old() }] });
    await http.post('/v1/topics/crashed-sweep/records', { records: [{ value: 'fresh' }] });
    const chunksTable = tableName('chunks');
    let crashed = false;
    const stack = dynamoStack();
    stack.add(
      (next, context) => async (args) => {
        const name = context.commandName as string;
        const input = JSON.stringify(args.input);
        if (!crashed && ['BatchWriteItemCommand', 'DeleteItemCommand', 'UpdateItemCommand'].includes(name) && input.includes(chunksTable)) {
          crashed = true;
          throw new Error('the sweep died (injected)');
        }
        return next(args);
      },
      { step: 'initialize', name: 'crashSweep' },
    );
    try {
      await expect(sweep()).rejects.toThrow('injected');
    } finally {
      stack.remove('crashSweep');
    }
    expect((await http.get('/v1/topics/crashed-sweep')).body.partitions[0].logStartOffset).toBe(1);
    await sweep();
    const { Items } = await dynamo().send(
      new QueryCommand({
        TableName: chunksTable,
        KeyConditionExpression: 'partitionKey = :pk',
        ExpressionAttributeValues: { ':pk': `${topicId}:0` },
      }),
    );
    // The removed chunk's key stays a day, as a stub; the last chunk is never removed.
    expect(Items?.map((i) => [i.baseOffset, i.stub === true])).toEqual([
      [0, true],
      [1, false],
    ]);
    expect(await objectKeys(`segments/${topicId}/`)).toHaveLength(0);
    const kept = await http.get('/v1/topics/crashed-sweep/partitions/0/records?offset=1');
    expect(kept.body.records.map((r: { value: string }) => r.value)).toEqual(['fresh']);
  });
});

describe('a write whose answer was lost while retention removed its chunk', () => {
  it('is found in the stub by the SDK retry, not appended again', async () => {
    const topicId = await expiringTopic('lost-stub');
    const chunkWrite = (command: string, input: any) =>
      (command === 'PutItemCommand' || command === 'UpdateItemCommand') && input.TableName === tableName('chunks');
    const { result, lost } = await loseFirstResponse(
      dynamoStack(),
      chunkWrite,
      () => http.post('/v1/topics/lost-stub/records', { records: [{ value: 'once' }] }),
      // While the answer is lost: a config change puts its fence after the chunk, and a sweep an
      // hour on (the record expired) turns the chunk into a stub.
      async () => {
        expect((await http.patch('/v1/topics/lost-stub', { config: { 'retention.ms': 60_001 } })).status).toBe(200);
        await sweep(Date.now() + 3_600_000);
        expect((await getChunk(partitionKeyOf(topicId, 0), 0))?.stub).toBe(true);
      },
    );
    expect(lost).toBe(true);
    expect(result.status, JSON.stringify(result.body)).toBe(200);
    expect(result.body.offsets[0].offset).toBe(0);
    const after = await http.get('/v1/topics/lost-stub/partitions/0/records?offset=1');
    expect(after.body).toMatchObject({ records: [], highWatermark: 1 });
  });
});

describe('orphaned segment objects', () => {
  it('objects no committed append points at are removed once old enough; referenced ones stay', async () => {
    await http.post('/v1/topics', { name: 'orphans', partitions: 1 });
    const { topicId } = (await http.get('/v1/topics/orphans')).body;
    const kept = await http.post('/v1/topics/orphans/records', { records: [{ value: big('k') }] });
    expect(kept.status).toBe(200);
    const referenced = await objectKeys(`segments/${topicId}/`);
    expect(referenced).toHaveLength(1);

    // A commit that failed after its object was written (here: its chunk's Put throttled, 429).
    const throttled = await aheadOfFirst(
      dynamoStack(),
      (command, input) => command === 'PutItemCommand' && input.TableName === tableName('chunks'),
      async () => {
        throw new ProvisionedThroughputExceededException({ message: 'throttled', $metadata: {} });
      },
      () => http.post('/v1/topics/orphans/records', { records: [{ value: big('t') }] }),
    ).catch(() => undefined);
    expect(throttled?.status).toBe(429);
    // An append that died between its PUT and its commit.
    await writeSegment(topicId, [Buffer.from(big('d'))]);
    expect(await objectKeys(`segments/${topicId}/`)).toHaveLength(3);
    // A writer that still held a deleted topic, writing after the purge removed its data.
    await http.post('/v1/topics', { name: 'doomed', partitions: 1 });
    const doomedId = (await http.get('/v1/topics/doomed')).body.topicId;
    await http.post('/v1/topics/doomed/records', { records: [{ value: big('u') }] });
    await http.delete('/v1/topics/doomed');

    // Young objects are left alone: their append may still be committing.
    expect((await sweep()).orphansDeleted).toBe(0);
    expect(await objectKeys(`segments/${doomedId}/`)).toHaveLength(0);
    await writeSegment(doomedId, [Buffer.from(big('l'))]);
    const report = await sweep(Date.now() + orphanGraceMs + 60_000);
    expect(report.orphansDeleted).toBe(2);
    expect(await objectKeys(`segments/${topicId}/`)).toEqual(referenced);
    expect(await objectKeys(`segments/${doomedId}/`)).toHaveLength(0);
    expect(await listTombstones()).toEqual([]);
    const fetched = await http.get('/v1/topics/orphans/partitions/0/records?offset=0');
    expect(fetched.body.records[0].value).toBe(big('k'));
    // The next pass reads only objects written since.
    expect((await sweep(Date.now() + orphanGraceMs + 120_000)).orphansDeleted).toBe(0);
  });
});
