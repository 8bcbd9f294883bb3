/**
 * Retention, compaction and the purge of deleted topics on the chunk chain (layout v2), on
 * DynamoDB Local and s3rver, over chains written item by item in the format of
 * shared/log/chunks.ts (independent of the write path): the log start moves to a batch
 * boundary, chunks entirely below it become stubs but never the last one, a chunk partly below
 * stays whole, compaction rewrites whole final chunks and never the last, segment objects are
 * released once, and a sweep that dies at any step leaves nothing behind for good.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ChunkEntry, type ChunkItem, batchesOfChunk, chunkStubTtlSeconds, entriesOfChunk } from '../../shared/log/chunks';
import { compactPartition, deleteRetentionMs } from '../../shared/log/compaction';
import { readHead } from '../../shared/log/partition-heads';
import { decodeBatch } from '../../shared/log/read';
import {
  emptySweepReport,
  orphanGraceMs,
  purgeDeletedTopic,
  releaseSegmentBatch,
  sweepRetention,
  sweepTopic,
} from '../../shared/log/retention';
import { writeSegment } from '../../shared/log/segments';
import { encodeRecordBatch } from '../../shared/records';
import { bucketName, dynamo, s3Client, tableName } from '../../shared/runtime/aws';
import type { TopicConfigOverrides } from '../../shared/topics/configs';
import { createTopic, deleteTopic, listTombstones, partitionKeyOf, type TopicMetadata } from '../../shared/topics/store';
import { aheadOfFirst, type ClientStack } from '../support/intercept';
import { useTestResources } from '../support/local-service';

beforeAll(async () => {
  await useTestResources();
});

const hour = 3_600_000;
const old = () => Date.now() - hour;

interface BatchSpec {
  /** Keys of the records (null: no key); values are `v<offset>`, or null where `tombstones` says. */
  readonly keys?: readonly (string | null)[];
  readonly count?: number;
  readonly timestamp?: number;
  /** Store the batch in S3 (its chunk then holds it alone). */
  readonly s3?: boolean;
  readonly tombstones?: readonly number[];
}

/** The test's topic and a writer of its chunks in the stored format (what the append path writes). */
async function chainOf(name: string, config: TopicConfigOverrides, chunks: readonly (readonly BatchSpec[])[], partition = 0) {
  const topic = await createTopic(name, partition + 1, config);
  const partitionKey = partitionKeyOf(topic.topicId, partition);
  let offset = 0;
  let bytesBefore = 0;
  let maxTimestampBefore = -1;
  const written: ChunkItem[] = [];
  const append = async (batches: readonly BatchSpec[]) => {
    const baseOffset = offset;
    const entries: ChunkEntry[] = [];
    const s3Parts: Buffer[] = [];
    for (const spec of batches) {
      const keys = spec.keys ?? Array.from({ length: spec.count ?? 1 }, () => null);
      const timestamp = spec.timestamp ?? Date.now();
      const bytes = encodeRecordBatch({
        baseOffset: 0,
        records: keys.map((key, i) => ({
          key: key === null ? null : Buffer.from(key),
          value: spec.tombstones?.includes(i) ? null : Buffer.from(spec.s3 ? `v${offset + i}`.padEnd(6000, '.') : `v${offset + i}`),
          timestamp,
        })),
      });
      entries.push({
        recordCount: keys.length,
        sizeBytes: bytes.length,
        firstTimestamp: timestamp,
        maxTimestamp: timestamp,
        appendedAt: Date.now(),
        bytes,
      });
      if (spec.s3) s3Parts.push(bytes);
      offset += keys.length;
    }
    if (s3Parts.length > 0) {
      expect(batches).toHaveLength(1);
      const segment = await writeSegment(topic.topicId, s3Parts);
      const { bytes: _bytes, ...rest } = entries[0]!;
      entries[0] = { ...rest, segmentKey: segment.key, segmentPosition: 0, segmentBatches: 1 };
    }
    const sizeBytes = entries.reduce((sum, e) => sum + e.sizeBytes, 0);
    const maxTimestamps = new Set(entries.map((e) => e.maxTimestamp));
    const item: ChunkItem = {
      partitionKey,
      baseOffset,
      recordCount: offset - baseOffset,
      sizeBytes,
      batchCount: entries.length,
      batches: entries,
      sealed: true,
      createdAt: Date.now(),
      configVersion: 1,
      maxTimestampBefore,
      ...(maxTimestamps.size > 0 ? { maxTimestamps } : {}),
      bytesBefore,
      ...(entries[0]?.segmentKey ? { segmentKey: entries[0].segmentKey, segmentPosition: 0 } : {}),
    };
    await dynamo().send(
      new PutCommand({ TableName: tableName('chunks'), Item: item, ConditionExpression: 'attribute_not_exists(partitionKey)' }),
    );
    bytesBefore += sizeBytes;
    maxTimestampBefore = Math.max(maxTimestampBefore, ...maxTimestamps);
    written.push(item);
    return item;
  };
  for (const chunk of chunks) await append(chunk);
  return { topic, partitionKey, written, append };
}

async function storedChunks(partitionKey: string): Promise<Record<string, any>[]> {
  const { Items } = await dynamo().send(
    new QueryCommand({
      TableName: tableName('chunks'),
      KeyConditionExpression: 'partitionKey = :pk',
      ExpressionAttributeValues: { ':pk': partitionKey },
      ConsistentRead: true,
    }),
  );
  return Items ?? [];
}

const shape = (items: Record<string, any>[]) => items.map((i) => [Number(i.baseOffset), i.stub ? 'stub' : Number(i.recordCount)]);

const partitionItem = async (partitionKey: string) =>
  (await dynamo().send(new GetCommand({ TableName: tableName('partitions'), Key: { partitionKey }, ConsistentRead: true }))).Item;

const objectKeys = async (topicId: string) =>
  ((await s3Client().send(new ListObjectsV2Command({ Bucket: bucketName(), Prefix: `segments/${topicId}/` }))).Contents ?? []).map(
    (o) => o.Key!,
  );

/** The records a reader sees from the log start: the chunks' batches at or above it, decoded. */
async function visibleRecords(topic: TopicMetadata, partition = 0) {
  const head = await readHead(topic.topicId, partition);
  const out: { offset: number; key: string | null; value: string | null }[] = [];
  for (const chunk of await storedChunks(partitionKeyOf(topic.topicId, partition))) {
    for (const batch of batchesOfChunk(chunk as ChunkItem)) {
      if (batch.lastOffset < head.logStartOffset) continue;
      for (const r of (await decodeBatch(batch)).records) {
        out.push({
          offset: r.offset,
          key: r.key === null ? null : Buffer.from(r.key).toString(),
          value: r.value === null ? null : Buffer.from(r.value).toString().replace(/\.+$/, ''),
        });
      }
    }
  }
  return out;
}

const dynamoStack = () => dynamo().middlewareStack as ClientStack;

/** One pass over one topic (retention, then compaction), so that tests do not count each other's topics. */
async function sweep(topic: TopicMetadata, now = Date.now()) {
  const report = emptySweepReport();
  await sweepTopic(topic, now, report);
  return report;
}

describe('retention on the chunk chain', () => {
  it('moves the log start to a batch boundary, stubs the chunks entirely below it, keeps a chunk partly below whole', async () => {
    const { topic, partitionKey, written } = await chainOf('time', { 'retention.ms': 60_000 }, [
      [
        { count: 2, timestamp: old() },
        { count: 1, timestamp: old() },
      ],
      [{ count: 1, timestamp: old(), s3: true }],
      [{ count: 1, timestamp: old() }, { count: 2 }],
      [{ count: 1 }],
    ]);
    expect(await objectKeys(topic.topicId)).toHaveLength(1);
    const sizeBefore = (await readHead(topic.topicId, 0)).sizeBytes;
    const report = await sweep(topic);
    expect(report.batchesDeleted).toBe(3);
    expect(report.segmentsDeleted).toBe(1);
    const head = await readHead(topic.topicId, 0);
    expect(head).toMatchObject({ logStartOffset: 5, highWatermark: 8 });
    const freed =
      [0, 1].flatMap((i) => entriesOfChunk(written[i]!)).reduce((sum, e) => sum + e.sizeBytes, 0) +
      entriesOfChunk(written[2]!)[0]!.sizeBytes;
    expect(head.sizeBytes).toBe(sizeBefore - freed);
    expect((await partitionItem(partitionKey))?.sizeDelta).toBe(-freed);

    const stored = await storedChunks(partitionKey);
    expect(shape(stored)).toEqual([
      [0, 'stub'],
      [3, 'stub'],
      [4, 3],
      [7, 1],
    ]);
    const stub = stored[0]!;
    expect(Object.keys(stub).sort()).toEqual(['baseOffset', 'expiresAt', 'partitionKey', 'stub']);
    expect(stub.expiresAt).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + chunkStubTtlSeconds - 60);
    expect(await objectKeys(topic.topicId)).toEqual([]);
    expect((await visibleRecords(topic)).map((r) => r.offset)).toEqual([5, 6, 7]);
    // The next pass starts reading where every chunk below is a stub, and changes nothing.
    expect((await partitionItem(partitionKey))?.stubbedBelow).toBe(4);
    const again = await sweep(topic);
    expect(again.batchesDeleted).toBe(0);
    expect(shape(await storedChunks(partitionKey))).toEqual(shape(stored));
  });

  it('never stubs the last chunk, even when retention takes every batch; stubs it once it is no longer the last', async () => {
    const { topic, partitionKey, append } = await chainOf('everything', { 'retention.bytes': 0 }, [[{ count: 2 }], [{ count: 1 }]]);
    await sweep(topic);
    expect(await readHead(topic.topicId, 0)).toMatchObject({ logStartOffset: 3, highWatermark: 3, sizeBytes: 0 });
    expect(shape(await storedChunks(partitionKey))).toEqual([
      [0, 'stub'],
      [2, 1],
    ]);
    expect((await partitionItem(partitionKey))?.stubbedBelow).toBe(2);
    await append([{ count: 4 }]);
    await sweep(topic);
    expect(await readHead(topic.topicId, 0)).toMatchObject({ logStartOffset: 7, highWatermark: 7, sizeBytes: 0 });
    expect(shape(await storedChunks(partitionKey))).toEqual([
      [0, 'stub'],
      [2, 'stub'],
      [3, 4],
    ]);
  });

  it('applies retention.bytes oldest batch first, counting the bytes the chain holds', async () => {
    const { topic, partitionKey } = await chainOf('bytes', { 'retention.bytes': 250 }, [
      [{ count: 1 }, { count: 1 }],
      [{ count: 1 }, { count: 1 }],
      [{ count: 1 }],
    ]);
    const before = await readHead(topic.topicId, 0);
    await sweep(topic);
    const after = await readHead(topic.topicId, 0);
    expect(after.sizeBytes).toBeLessThanOrEqual(250);
    expect(after.logStartOffset).toBeGreaterThan(0);
    expect(before.sizeBytes - after.sizeBytes).toBeGreaterThan(0);
    const stored = await storedChunks(partitionKey);
    for (const chunk of stored) {
      const end = Number(chunk.baseOffset) + Number(chunk.recordCount ?? 0);
      if (!chunk.stub) expect(end > after.logStartOffset || chunk === stored.at(-1)).toBe(true);
      else expect(chunk).not.toBe(stored.at(-1));
    }
  });

  it('a pass that dies after moving the log start (at the release, at the stub) leaves nothing behind for the next', async () => {
    // The release of its S3 batch (UpdateItem of the release set), or the stub (PutItem).
    for (const [dieAt, marker] of [
      ['UpdateItemCommand', 'ADD released'],
      ['PutItemCommand', '"stub":true'],
    ] as const) {
      const { topic, partitionKey } = await chainOf(`dies-at-${dieAt}`, { 'retention.ms': 60_000 }, [
        [{ count: 1, timestamp: old(), s3: true }],
        [{ count: 1, timestamp: old() }],
        [{ count: 1 }],
      ]);
      const chunksTable = tableName('chunks');
      let crashed = false;
      const stack = dynamoStack();
      stack.add(
        (next, context) => async (args) => {
          const input = JSON.stringify(args.input);
          if (!crashed && context.commandName === dieAt && input.includes(chunksTable) && input.includes(marker)) {
            crashed = true;
            throw new Error('the sweep died (injected)');
          }
          return next(args);
        },
        { step: 'initialize', name: 'crashSweep' },
      );
      try {
        await expect(sweep(topic)).rejects.toThrow('injected');
      } finally {
        stack.remove('crashSweep');
      }
      expect((await readHead(topic.topicId, 0)).logStartOffset).toBe(2);
      expect((await partitionItem(partitionKey))?.stubbedBelow).toBeUndefined();
      await sweep(topic);
      expect(shape(await storedChunks(partitionKey))).toEqual([
        [0, 'stub'],
        [1, 'stub'],
        [2, 1],
      ]);
      expect(await objectKeys(topic.topicId)).toEqual([]);
      expect((await readHead(topic.topicId, 0)).logStartOffset).toBe(2);
    }
  });

  it('overlapping passes move the log start once and release each object once', async () => {
    const { topic, partitionKey } = await chainOf('overlap', { 'retention.ms': 60_000 }, [
      [{ count: 1, timestamp: old(), s3: true }],
      [{ count: 1, timestamp: old(), s3: true }],
      [
        { count: 1, timestamp: old() },
        { count: 1, timestamp: old() },
      ],
      [{ count: 1 }],
    ]);
    const sizeBefore = (await readHead(topic.topicId, 0)).sizeBytes;
    const reports = await Promise.all([sweep(topic), sweep(topic), sweep(topic)]);
    expect(reports.reduce((sum, r) => sum + r.batchesDeleted, 0)).toBe(4);
    const head = await readHead(topic.topicId, 0);
    expect(head.logStartOffset).toBe(4);
    const stored = await storedChunks(partitionKey);
    expect(shape(stored)).toEqual([
      [0, 'stub'],
      [1, 'stub'],
      [2, 'stub'],
      [4, 1],
    ]);
    expect(head.sizeBytes).toBe(Number(stored[3]!.sizeBytes));
    expect(Number((await partitionItem(partitionKey))?.sizeDelta)).toBe(Number(stored[3]!.sizeBytes) - sizeBefore);
    expect(await objectKeys(topic.topicId)).toEqual([]);
  });

  it('an object two partitions share survives the release of one of them, repeated by retention and compaction', async () => {
    const topic = await createTopic('shared', 2, { 'retention.ms': 60_000 });
    const segment = await writeSegment(topic.topicId, [Buffer.from('a'), Buffer.from('b')]);
    const p0 = partitionKeyOf(topic.topicId, 0);
    expect(await releaseSegmentBatch(segment.key, 2, `${p0}@0`)).toBe(false);
    expect(await releaseSegmentBatch(segment.key, 2, `${p0}@0`)).toBe(false);
    expect(await objectKeys(topic.topicId)).toEqual([segment.key]);
    expect(await releaseSegmentBatch(segment.key, 2, `${partitionKeyOf(topic.topicId, 1)}@0`)).toBe(true);
    expect(await objectKeys(topic.topicId)).toEqual([]);
  });
});

describe('compaction on the chunk chain', () => {
  it('rewrites whole final chunks under their rewrite counter, never the last chunk, and keeps the chain accounting', async () => {
    const { topic, partitionKey, written } = await chainOf('keys', { 'cleanup.policy': 'compact' }, [
      [{ keys: ['a', 'b', null] }, { keys: ['c'] }],
      [{ keys: ['a', 'b'], tombstones: [1] }],
      [{ keys: ['c', 'a'] }],
    ]);
    const sizeBefore = (await readHead(topic.topicId, 0)).sizeBytes;
    const report = await sweep(topic);
    // Chunk 0 loses a, b (first batch) and c; chunk 4's tombstone of b stays (it is the latest
    // of b) and is marked seen; chunk 6 is the last: its a and c stay, nothing of it is rewritten.
    expect(report.recordsCompactedAway).toBe(4);
    expect(report.batchesCompacted).toBe(3);
    expect((await visibleRecords(topic)).map((r) => [r.offset, r.key, r.value])).toEqual([
      [2, null, 'v2'],
      [5, 'b', null],
      [6, 'c', 'v6'],
      [7, 'a', 'v7'],
    ]);
    const stored = await storedChunks(partitionKey);
    expect(stored.map((c) => c.rewrites)).toEqual([1, 1, undefined]);
    // The chain's as-appended accounting is unchanged; the freed bytes are the partition's sizeDelta.
    stored.forEach((c, i) => {
      expect(c).toMatchObject({
        sizeBytes: written[i]!.sizeBytes,
        bytesBefore: written[i]!.bytesBefore,
        recordCount: written[i]!.recordCount,
      });
    });
    expect(entriesOfChunk(stored[0]!).map((e: ChunkEntry) => e.recordCount)).toEqual([3, 1]);
    expect(entriesOfChunk(stored[1]!)[0]!.tombstonesSeenAt).toBeGreaterThan(0);
    const after = await readHead(topic.topicId, 0);
    expect(after.sizeBytes).toBeLessThan(sizeBefore);
    expect(Number((await partitionItem(partitionKey))?.sizeDelta)).toBe(after.sizeBytes - sizeBefore);

    // A day later the tombstone goes too.
    const later = await sweep(topic, Date.now() + deleteRetentionMs + 60_000);
    expect(later.recordsCompactedAway).toBe(1);
    expect((await visibleRecords(topic)).map((r) => r.offset)).toEqual([2, 6, 7]);
    expect((await storedChunks(partitionKey)).map((c) => c.rewrites)).toEqual([1, 2, undefined]);
  });

  it('never the newest batch, even when the last chunk holds none (a fence)', async () => {
    const { topic, partitionKey } = await chainOf('fenced', { 'cleanup.policy': 'compact' }, [[{ keys: ['k'] }], [{ keys: ['k'] }], []]);
    await sweep(topic);
    expect((await visibleRecords(topic)).map((r) => r.offset)).toEqual([1]);
    expect((await storedChunks(partitionKey)).map((c) => c.rewrites)).toEqual([1, undefined, undefined]);
  });

  it("an S3 batch's chunk points the bySegment index at its new object, or at none once its bytes come inline", async () => {
    const { topic, partitionKey } = await chainOf('big', { 'cleanup.policy': 'compact' }, [
      [{ keys: ['p', 'q'], s3: true }],
      [{ keys: ['p', 'r'], s3: true }],
      [{ keys: ['p', 'q', 'r'] }],
      [{ keys: ['z'] }],
    ]);
    const before = await objectKeys(topic.topicId);
    expect(before).toHaveLength(2);
    await sweep(topic);
    const stored = await storedChunks(partitionKey);
    // Chunk 0 and 2 lose every record (their bytes come inline), the objects go.
    expect(stored[0]!.segmentKey).toBeUndefined();
    expect(entriesOfChunk(stored[0]!)[0]!.bytes).toBeDefined();
    expect(stored[1]!.segmentKey).toBeUndefined();
    expect(await objectKeys(topic.topicId)).toEqual([]);
    expect((await visibleRecords(topic)).map((r) => r.offset)).toEqual([4, 5, 6, 7]);
  });

  it('an S3 batch whose survivors still need S3 moves to a new object, and the chunk follows it', async () => {
    const { topic, partitionKey } = await chainOf('moved', { 'cleanup.policy': 'compact' }, [
      [{ keys: ['p', 'q', 's'], s3: true }],
      [{ keys: ['p'] }],
    ]);
    const [first] = await objectKeys(topic.topicId);
    await sweep(topic);
    const [chunk] = await storedChunks(partitionKey);
    expect(chunk!.segmentKey).not.toBe(first);
    expect(entriesOfChunk(chunk!)[0]!.segmentKey).toBe(chunk!.segmentKey);
    expect(await objectKeys(topic.topicId)).toEqual([chunk!.segmentKey]);
    expect((await visibleRecords(topic)).map((r) => r.key)).toEqual(['q', 's', 'p']);
  });

  it('compacts from the log start: a chunk partly below it keeps its batches below the start as they are', async () => {
    const { topic, partitionKey, written } = await chainOf('partly', { 'cleanup.policy': 'compact,delete', 'retention.ms': 60_000 }, [
      [{ keys: ['a'], timestamp: old() }, { keys: ['a'] }, { keys: ['b'] }],
      [{ keys: ['b'] }],
      [{ keys: ['c'] }],
    ]);
    await sweep(topic);
    expect((await readHead(topic.topicId, 0)).logStartOffset).toBe(1);
    const [chunk] = await storedChunks(partitionKey);
    // Offset 2 (b) was superseded and rewritten; offset 0 is below the start and stays byte for byte.
    expect(chunk!.rewrites).toBe(1);
    expect(Buffer.from(entriesOfChunk(chunk!)[0]!.bytes!)).toEqual(Buffer.from(entriesOfChunk(written[0]!)[0]!.bytes!));
    expect(entriesOfChunk(chunk!)[2]!.sizeBytes).toBeLessThan(entriesOfChunk(written[0]!)[2]!.sizeBytes);
    expect((await visibleRecords(topic)).map((r) => [r.offset, r.key])).toEqual([
      [1, 'a'],
      [3, 'b'],
      [4, 'c'],
    ]);
  });

  it('a rewrite that loses to retention (the chunk became a stub) writes nothing', async () => {
    const { topic, partitionKey } = await chainOf('lost', { 'cleanup.policy': 'compact,delete', 'retention.ms': 60_000 }, [
      [{ keys: ['k', 'k'], timestamp: old() }],
      [{ keys: ['k'] }],
    ]);
    // Compaction has read and decoded the chain; before it puts its rewrite, retention stubs the chunk.
    const report = await aheadOfFirst(
      dynamoStack(),
      (command, input) => command === 'PutItemCommand' && JSON.stringify(input).includes('rewrites'),
      () => sweep(topic),
      () => compactPartition(topic.topicId, 0, 0, 3, Date.now(), async () => false),
    );
    expect(report.batchesRewritten).toBe(0);
    expect(shape(await storedChunks(partitionKey))).toEqual([
      [0, 'stub'],
      [2, 1],
    ]);
  });
});

describe('deleted topics and orphans', () => {
  it('the purge stubs every chunk but the last and deletes the objects; the partition item stays marked', async () => {
    const { topic, partitionKey } = await chainOf('purged', {}, [[{ count: 1, s3: true }], [{ count: 2 }], [{ count: 1 }]]);
    await deleteTopic(topic);
    const [tombstone] = (await listTombstones()).filter((t) => t.topicId === topic.topicId);
    const report = emptySweepReport();
    await purgeDeletedTopic(tombstone!, report);
    expect(report.segmentsDeleted).toBe(1);
    const stored = await storedChunks(partitionKey);
    expect(stored.slice(0, 2).every((c) => c.stub)).toBe(true);
    expect(stored.at(-1)!.stub).toBeUndefined();
    expect(await objectKeys(topic.topicId)).toEqual([]);
    expect((await partitionItem(partitionKey))?.deletedAt).toBeDefined();
    // Repeated passes (until the grace ends) change nothing more; then the tombstone goes.
    await purgeDeletedTopic(tombstone!, report, Date.now() + orphanGraceMs + 1);
    expect(shape(await storedChunks(partitionKey))).toEqual(shape(stored));
    expect((await listTombstones()).filter((t) => t.topicId === topic.topicId)).toEqual([]);
  });

  it('an object no chunk points at is deleted after the grace; one a chunk points at stays', async () => {
    const { topic } = await chainOf('orphans', {}, [[{ count: 1, s3: true }], [{ count: 1 }]]);
    const referenced = await objectKeys(topic.topicId);
    await writeSegment(topic.topicId, [Buffer.from('never committed')]);
    expect((await sweepRetention()).orphansDeleted).toBe(0);
    const report = await sweepRetention(Date.now() + orphanGraceMs + 60_000);
    expect(report.orphansDeleted).toBe(1);
    expect(await objectKeys(topic.topicId)).toEqual(referenced);
  });
});
