/**
 * A long poll on a partition whose last chunk is open (contended writers join it): the poll must
 * re-read that chunk to see a join, and the head it then returns is built from the chunk it read
 * plus the partition item, without reading the chunk a second time.
 */
import type { MiddlewareStack } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { chunkEntryOf } from '../../shared/log/append';
import { appendChunk, type ChunkAppendContext } from '../../shared/log/chunk-append';
import { type ChunkView, chunkLimits } from '../../shared/log/chunk-plan';
import { pollHead, pollHeadsAcrossTopics, readHead } from '../../shared/log/partition-heads';
import { encodeRecordBatch } from '../../shared/records/encode';
import { dynamo, tableName } from '../../shared/runtime/aws';
import { getTopic, partitionKeyOf } from '../../shared/topics/store';
import { useTestService } from '../support/local-service';

const { http } = useTestService(async (client) => {
  await client.post('/v1/topics', { name: 'open-head', partitions: 2 });
});

/** A writer that counts itself contended: it joins (and creates) open chunks instead of putting sealed ones. */
const contendedWriter = (): ChunkAppendContext => ({
  dynamo: dynamo(),
  table: tableName('chunks'),
  heads: new Map<string, ChunkView>(),
  contendedUntil: { get: () => Date.now() + 60_000, set: () => undefined },
  // So that a slow machine does not turn the second append into a new chunk (the poll's own watch
  // keeps re-reading an open chunk for its join window plus 5 s).
  limits: { ...chunkLimits, joinWindowMs: 60_000 },
});

const append = (context: ChunkAppendContext, partitionKey: string, value: string) => {
  const now = Date.now();
  const bytes = encodeRecordBatch({ records: [{ value: Buffer.from(value), timestamp: now }] });
  return appendChunk(context, partitionKey, {
    entries: [
      chunkEntryOf({ partition: 0, bytes, recordCount: 1, firstTimestamp: now, maxTimestamp: now, location: { kind: 'inline' } }, now),
    ],
    configVersion: 0,
  });
};

async function counting<T>(run: () => Promise<T>): Promise<{ result: T; calls: string[] }> {
  const calls: string[] = [];
  const stack = dynamo().middlewareStack as MiddlewareStack<any, any>;
  stack.add(
    (next, context) => async (args) => {
      calls.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'countHeadCalls' },
  );
  try {
    return { result: await run(), calls };
  } finally {
    stack.remove('countHeadCalls');
  }
}

describe('long poll on an open last chunk', () => {
  it('sees a join into the chunk it watches, reading that chunk once', async () => {
    const topic = (await getTopic('open-head'))!;
    const partitionKey = partitionKeyOf(topic.topicId, 0);
    const writer = contendedWriter();
    expect(await append(writer, partitionKey, 'first')).toMatchObject({ kind: 'appended', baseOffset: 0 });
    const head = await readHead(topic.topicId, 0);
    expect(head.highWatermark).toBe(1);
    // The chunk is open and young: the watch re-reads it rather than asking for a chunk after it.
    expect(head.lastChunk!.rereadUntil).toBeGreaterThan(Date.now());

    const unchanged = await counting(() => pollHead(topic.topicId, 0, head));
    expect(unchanged.result).toBe(head);
    expect(unchanged.calls).toEqual(['QueryCommand']);

    expect(await append(writer, partitionKey, 'second')).toMatchObject({ kind: 'appended', baseOffset: 1 });
    const grown = await counting(() => pollHead(topic.topicId, 0, head));
    expect(grown.result).toMatchObject({ highWatermark: 2, logStartOffset: 0 });
    expect(grown.result.lastChunk!.baseOffset).toBe(0);
    // One Query of the last chunk, one GetItem of the partition item: not the chunk again.
    expect(grown.calls.sort()).toEqual(['GetItemCommand', 'QueryCommand']);
    expect(grown.result).toEqual(await readHead(topic.topicId, 0));

    // And through the fetch path a consumer at the old high watermark gets the joined record.
    const fetched = await http.get('/v1/topics/open-head/partitions/0/records?offset=1');
    expect(fetched.body.records.map((r: { value: string }) => r.value)).toEqual(['second']);
  });

  it('does the same for many partitions at once', async () => {
    const topic = (await getTopic('open-head'))!;
    const partitionKey = partitionKeyOf(topic.topicId, 1);
    const writer = contendedWriter();
    await append(writer, partitionKey, 'a');
    const key = { topicId: topic.topicId, partition: 1 };
    const heads = new Map([[partitionKey, await readHead(topic.topicId, 1)]]);
    await append(writer, partitionKey, 'b');
    const polled = await counting(() => pollHeadsAcrossTopics([key], heads));
    expect(polled.result.get(partitionKey)).toEqual(await readHead(topic.topicId, 1));
    expect(polled.result.get(partitionKey)!.highWatermark).toBe(2);
    expect(polled.calls.sort()).toEqual(['BatchGetItemCommand', 'QueryCommand']);
  });
});
