/**
 * The layout-v2 append (shared/log/chunk-append.ts) on DynamoDB Local: under contention every
 * acknowledged batch is at the offset it was told, once; chunks chain without gaps or overlaps;
 * fences refuse writers holding older config or a deleted topic.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { MiddlewareStack } from '@smithy/types';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createTableInput, emulatorCredentials } from '../../infra/local/bootstrap';
import { type ChunkAppendContext, type ChunkBatch, appendChunk, appendIndex, chunkItem } from '../../shared/log/chunk-append';
import { tables } from '../../shared/storage/tables';
import { type ChunkView, chunkLimits, isFinal, viewOfItem } from '../../shared/log/chunk-plan';
import { entriesOfChunk } from '../../shared/log/chunks';

const table = `chunks-${randomUUID().slice(0, 8)}`;
let dynamo: DynamoDBDocumentClient;

beforeAll(async () => {
  const endpoint = inject('dynamodbEndpoint');
  if (!endpoint) throw new Error('needs the emulators: list this file in integrationTests in vitest.config.ts');
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    ...(inject('embeddedEmulators') ? { credentials: emulatorCredentials } : {}),
  });
  dynamo = DynamoDBDocumentClient.from(client);
  await client.send(new CreateTableCommand(createTableInput(tables.chunks, table)));
});

/** A batch whose inline bytes are its tag (the test reads the tags back from the stored chunks). */
const batch = (tag: string, recordCount: number, configVersion: number): ChunkBatch => ({
  entries: [{ bytes: Buffer.from(tag), recordCount, sizeBytes: Buffer.byteLength(tag), firstTimestamp: 0, maxTimestamp: 0, appendedAt: 0 }],
  configVersion,
});

/** One write of several batches (a group commit's), each tagged as `batch` tags one. */
const group = (batches: readonly [tag: string, recordCount: number][], configVersion: number): ChunkBatch => ({
  entries: batches.flatMap(([tag, recordCount]) => batch(tag, recordCount, configVersion).entries),
  configVersion,
});

/** A fence as shared/log/fences.ts puts it (here without its head-finding loop). */
const putFence = (partitionKey: string, baseOffset: number, fence: { configVersion: number; deletedAt?: number }) =>
  dynamo.send(
    new PutCommand({
      TableName: table,
      Item: chunkItem(partitionKey, baseOffset, [], {
        sealed: true,
        configVersion: fence.configVersion,
        lineage: { maxTimestampBefore: -1, bytesBefore: 0 },
        limits: chunkLimits,
        now: Date.now(),
        ...(fence.deletedAt !== undefined ? { deletedAt: fence.deletedAt } : {}),
      }),
    }),
  );

/** A context per writer: like Lambda instances, writers share nothing but the table. */
const writerContext = (): ChunkAppendContext => ({ dynamo, table, heads: new Map<string, ChunkView>(), contendedUntil: new Map() });

async function allChunks(partitionKey: string): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'partitionKey = :pk',
        ExpressionAttributeValues: { ':pk': partitionKey },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

describe('layout v2 chunk append', () => {
  it('16 concurrent writers on one partition: every acknowledged batch sits at its offset, once; chunks chain gaplessly', async () => {
    const partitionKey = `${randomUUID()}:0`;
    const writers = 16;
    const appendsEach = 25;
    const acked = new Map<number, string>();
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        const context = writerContext();
        for (let i = 0; i < appendsEach; i++) {
          const recordCount = 1 + ((writer + i) % 3);
          const tag = `w${writer}-${i}-${recordCount}`;
          const outcome = await appendChunk(context, partitionKey, batch(tag, recordCount, 0));
          expect(outcome.kind).toBe('appended');
          if (outcome.kind !== 'appended') return;
          expect(acked.has(outcome.baseOffset)).toBe(false);
          acked.set(outcome.baseOffset, tag);
        }
      }),
    );
    const chunks = await allChunks(partitionKey);
    let next = 0;
    const stored = new Map<number, string>();
    for (const chunk of chunks) {
      expect(chunk.baseOffset).toBe(next);
      let offset = chunk.baseOffset as number;
      for (const entry of entriesOfChunk(chunk) as { bytes: Uint8Array }[]) {
        const tag = Buffer.from(entry.bytes).toString();
        stored.set(offset, tag);
        offset += Number(tag.split('-')[2]);
      }
      expect(offset).toBe(chunk.baseOffset + chunk.recordCount);
      next = offset;
    }
    expect(stored).toEqual(acked);
    expect(stored.size).toBe(writers * appendsEach);
    // Only the last chunk may be open: the others are sealed or full by the limits they carry.
    for (const chunk of chunks.slice(0, -1)) expect(isFinal(viewOfItem(chunk))).toBe(true);
  }, 60_000);

  it('a fence with a newer config version refuses older writers and is replaced by the first current one', async () => {
    const partitionKey = `${randomUUID()}:0`;
    const stale = writerContext();
    const first = await appendChunk(stale, partitionKey, batch('a', 1, 0));
    expect(first).toMatchObject({ kind: 'appended', baseOffset: 0 });
    // What alterTopic would do: a zero-record chunk at the high watermark carrying the new version.
    await putFence(partitionKey, 1, { configVersion: 2 });
    expect(await appendChunk(stale, partitionKey, batch('b', 1, 1))).toEqual({
      kind: 'topic-changed',
      reason: 'config',
    });
    const current = await appendChunk(writerContext(), partitionKey, batch('c', 1, 2));
    expect(current).toMatchObject({ kind: 'appended', baseOffset: 1 });
    const chunks = await allChunks(partitionKey);
    expect(chunks.map((c) => [c.baseOffset, c.recordCount, c.configVersion])).toEqual([
      [0, 1, 0],
      [1, 1, 2],
    ]);
  });

  it('a deletion fence refuses every writer', async () => {
    const partitionKey = `${randomUUID()}:0`;
    const writer = writerContext();
    await appendChunk(writer, partitionKey, batch('a', 1, 0));
    await putFence(partitionKey, 1, { configVersion: 0, deletedAt: Date.now() });
    expect(await appendChunk(writer, partitionKey, batch('b', 1, 9))).toEqual({
      kind: 'topic-changed',
      reason: 'deleted',
    });
  });

  it("a join asks back only what it changed, and the writer's view it builds from that is the chunk as stored", async () => {
    const partitionKey = `${randomUUID()}:0`;
    const busy: ChunkAppendContext = { ...writerContext(), contendedUntil: new Map([[partitionKey, Date.now() + 60_000]]) };
    const returned: number[] = [];
    const stack = dynamo.middlewareStack as MiddlewareStack<any, any>;
    stack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'UpdateItemCommand') returned.push(((result.output as any).Attributes?.batches ?? []).length);
        return result;
      },
      { step: 'initialize', name: 'countReturnedEntries' },
    );
    try {
      const tags = Array.from({ length: 6 }, (_, i) => `join-${i}-${'x'.repeat(200)}`);
      for (const [i, tag] of tags.entries()) {
        expect(await appendChunk(busy, partitionKey, batch(tag, i + 1, 0))).toMatchObject({ kind: 'appended' });
        const [stored] = (await allChunks(partitionKey)).slice(-1);
        expect(busy.heads.get(partitionKey)).toEqual(viewOfItem(stored!));
      }
      // The first join created the chunk (its whole new item came back); no later one returned the
      // entries before its own (DynamoDB Local returns no list at all for the element it set).
      expect(returned[0]).toBe(1);
      for (const count of returned.slice(1)) expect(count).toBeLessThanOrEqual(1);
      // The join appends by setting an element past the end: no chunk may ever hold that many.
      expect(appendIndex).toBeGreaterThan(chunkLimits.openChunkMaxBatches);
      const chunks = await allChunks(partitionKey);
      expect(chunks).toHaveLength(1);
      expect((entriesOfChunk(chunks[0]!) as { bytes: Uint8Array }[]).map((b) => Buffer.from(b.bytes).toString())).toEqual(tags);
    } finally {
      stack.remove('countReturnedEntries');
    }
  });

  it('a write of several batches lands them one after another, as a put, a join that creates the chunk and a join', async () => {
    const partitionKey = `${randomUUID()}:0`;
    const calm = writerContext();
    expect(
      await appendChunk(
        calm,
        partitionKey,
        group(
          [
            ['p1', 2],
            ['p2', 1],
          ],
          0,
        ),
      ),
    ).toMatchObject({ kind: 'appended', baseOffset: 0 });
    const busy: ChunkAppendContext = { ...writerContext(), contendedUntil: new Map([[partitionKey, Date.now() + 60_000]]) };
    expect(
      await appendChunk(
        busy,
        partitionKey,
        group(
          [
            ['c1', 1],
            ['c2', 3],
            ['c3', 1],
          ],
          0,
        ),
      ),
    ).toMatchObject({
      kind: 'appended',
      baseOffset: 3,
    });
    expect(
      await appendChunk(
        busy,
        partitionKey,
        group(
          [
            ['j1', 2],
            ['j2', 1],
          ],
          0,
        ),
      ),
    ).toMatchObject({ kind: 'appended', baseOffset: 8 });
    const chunks = await allChunks(partitionKey);
    expect(chunks.map((c) => [c.baseOffset, c.recordCount, c.batchCount])).toEqual([
      [0, 3, 2],
      [3, 8, 5],
    ]);
    const tags = chunks.flatMap((c) => (entriesOfChunk(c) as { bytes: Uint8Array }[]).map((b) => Buffer.from(b.bytes).toString()));
    expect(tags).toEqual(['p1', 'p2', 'c1', 'c2', 'c3', 'j1', 'j2']);
    // The writer's view after its joins is the chunk as stored.
    expect(busy.heads.get(partitionKey)).toEqual(viewOfItem(chunks[1]!));
  });

  it('refuses a write that would share a chunk with a segment batch', async () => {
    const inS3 = { ...batch('s', 1, 0).entries[0]!, bytes: undefined, segmentKey: 'segments/x', segmentPosition: 0, segmentBatches: 1 };
    await expect(
      appendChunk(writerContext(), `${randomUUID()}:0`, { entries: [batch('a', 1, 0).entries[0]!, inS3], configVersion: 0 }),
    ).rejects.toThrow('one segment batch alone');
  });

  it('a write that committed but whose response was lost (the SDK retries it) appends once, put or join', async () => {
    // Inside the SDK's retry loop: the request reaches DynamoDB Local and commits, then the caller
    // sees a 500, so the SDK sends it again.
    let armedFor: string | undefined;
    const stack = dynamo.middlewareStack as MiddlewareStack<any, any>;
    stack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (armedFor !== undefined && context.commandName === armedFor) {
          armedFor = undefined;
          throw Object.assign(new Error('injected after commit'), {
            name: 'InternalServerError',
            $fault: 'server',
            $metadata: { httpStatusCode: 500 },
          });
        }
        return result;
      },
      { step: 'deserialize', name: 'injectLostResponse' },
    );
    try {
      const partitionKey = `${randomUUID()}:0`;
      const calm = writerContext();
      armedFor = 'PutItemCommand';
      expect(await appendChunk(calm, partitionKey, batch('put', 1, 0))).toMatchObject({ kind: 'appended', baseOffset: 0 });
      expect(armedFor).toBeUndefined();
      // A contended writer joins (here: creates the chunk after the sealed one, then joins it).
      const busy: ChunkAppendContext = { ...writerContext(), contendedUntil: new Map([[partitionKey, Date.now() + 60_000]]) };
      armedFor = 'UpdateItemCommand';
      expect(await appendChunk(busy, partitionKey, batch('join-1', 2, 0))).toMatchObject({ kind: 'appended', baseOffset: 1 });
      expect(armedFor).toBeUndefined();
      armedFor = 'UpdateItemCommand';
      expect(await appendChunk(busy, partitionKey, batch('join-2', 1, 0))).toMatchObject({ kind: 'appended', baseOffset: 3 });
      expect(armedFor).toBeUndefined();
      // A group's join: its first batch's write id tells the retry the whole group is in.
      armedFor = 'UpdateItemCommand';
      expect(
        await appendChunk(
          busy,
          partitionKey,
          group(
            [
              ['group-1', 1],
              ['group-2', 2],
            ],
            0,
          ),
        ),
      ).toMatchObject({ kind: 'appended', baseOffset: 4 });
      expect(armedFor).toBeUndefined();
      const chunks = await allChunks(partitionKey);
      const tags = chunks.flatMap((c) => (entriesOfChunk(c) as { bytes: Uint8Array }[]).map((b) => Buffer.from(b.bytes).toString()));
      expect(tags).toEqual(['put', 'join-1', 'join-2', 'group-1', 'group-2']);
      expect(chunks.map((c) => [c.baseOffset, c.recordCount])).toEqual([
        [0, 1],
        [1, 6],
      ]);
    } finally {
      stack.remove('injectLostResponse');
    }
  });
});
