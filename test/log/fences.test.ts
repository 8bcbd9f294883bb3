/**
 * Fences under contention (layout v2): appends do not touch the topic item or the partition item,
 * so a config change and a deletion reach writers only through the fence chunks they put at each
 * partition's head. While producers keep appending (single-partition requests, requests with an
 * Idempotency-Key, requests spanning partitions):
 * - a request sent after a config change returned is judged by the new config, never the old;
 * - a request sent after a deletion returned appends nothing;
 * - every acknowledged record is in the chain once, config versions never go down along it, and
 *   the deletion fence is the last chunk.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { batchesOfChunk, type ChunkItem, isStub } from '../../shared/log/chunks';
import { dynamo, tableName } from '../../shared/runtime/aws';
import { partitionKeyOf } from '../../shared/topics/store';
import { useTestService } from '../support/local-service';

const { http } = useTestService();

async function chain(topicId: string, partition: number): Promise<ChunkItem[]> {
  const items: ChunkItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamo().send(
      new QueryCommand({
        TableName: tableName('chunks'),
        KeyConditionExpression: 'partitionKey = :pk',
        ExpressionAttributeValues: { ':pk': partitionKeyOf(topicId, partition) },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...((page.Items ?? []) as ChunkItem[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items.filter((c) => !isStub(c));
}

/** The chain is gapless, and config versions never decrease along it. */
function expectWellFormed(chunks: readonly ChunkItem[]): number {
  let next = chunks[0]?.baseOffset ?? 0;
  let version = 0;
  for (const chunk of chunks) {
    expect(chunk.baseOffset).toBe(next);
    expect(Number(chunk.configVersion ?? 0)).toBeGreaterThanOrEqual(version);
    version = Number(chunk.configVersion ?? 0);
    next = chunk.baseOffset + Number(chunk.recordCount ?? 0);
    expect(batchesOfChunk(chunk).reduce((sum, b) => sum + b.recordCount, 0)).toBe(Number(chunk.recordCount ?? 0));
  }
  return next;
}

interface Sent {
  readonly startedAt: number;
  readonly status: number;
  readonly code?: string;
  readonly offsets: { partition: number; offset: number }[];
}

/** Producers appending until `until()`: single records, keyed requests, and requests spanning both partitions. */
async function produceUntil(topic: string, until: () => boolean, value: string): Promise<Sent[]> {
  const sent: Sent[] = [];
  await Promise.all(
    Array.from({ length: 8 }, async (_, producer) => {
      for (let i = 0; !until(); i++) {
        const startedAt = Date.now();
        const shape = (producer + i) % 3;
        const records = shape === 2 ? [0, 1].map((partition) => ({ value, partition })) : [{ value, partition: producer % 2 }];
        const response = await http.post(
          `/v1/topics/${topic}/records`,
          { records },
          shape === 1 ? { 'Idempotency-Key': `p${producer}-${i}` } : {},
        );
        sent.push({
          startedAt,
          status: response.status,
          ...(response.body?.error ? { code: response.body.error.code } : {}),
          offsets: response.status === 200 ? response.body.offsets : [],
        });
      }
    }),
  );
  return sent;
}

describe('fences under contention', () => {
  it('a request sent after a config change returned is judged by the new config; the chain stays gapless', async () => {
    expect((await http.post('/v1/topics', { name: 'fence-config', partitions: 2 })).status).toBe(201);
    const { topicId } = (await http.get('/v1/topics/fence-config')).body;
    let stop = false;
    let alteredAt = Number.POSITIVE_INFINITY;
    const producing = produceUntil('fence-config', () => stop, 'x'.repeat(300));
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Lower the record limit below what the producers send.
    const altered = await http.patch('/v1/topics/fence-config', { config: { 'max.message.bytes': 100 } });
    expect(altered.status).toBe(200);
    alteredAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 400));
    stop = true;
    const sent = await producing;

    expect(sent.filter((s) => s.startedAt < alteredAt - 50 && s.status === 200).length).toBeGreaterThan(0);
    const after = sent.filter((s) => s.startedAt > alteredAt);
    expect(after.length).toBeGreaterThan(0);
    for (const s of after) expect([s.status, s.code]).toEqual([413, 'RECORD_TOO_LARGE']);

    for (const partition of [0, 1]) {
      const chunks = await chain(topicId, partition);
      const end = expectWellFormed(chunks);
      const acked = sent.flatMap((s) => s.offsets.filter((o) => o.partition === partition).map((o) => o.offset)).sort((a, b) => a - b);
      // Every acknowledged offset once, and nothing else: the chain holds exactly what was acknowledged.
      expect(acked).toEqual(Array.from({ length: end }, (_, i) => i));
      // The fence carries the new version.
      expect(chunks.some((c) => Number(c.configVersion ?? 0) > 0)).toBe(true);
    }
  }, 30_000);

  it('a request sent after a deletion returned appends nothing; the deletion fence stays the last chunk', async () => {
    expect((await http.post('/v1/topics', { name: 'fence-delete', partitions: 2 })).status).toBe(201);
    const { topicId } = (await http.get('/v1/topics/fence-delete')).body;
    let stop = false;
    let deletedAt = Number.POSITIVE_INFINITY;
    const producing = produceUntil('fence-delete', () => stop, 'y');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await http.delete('/v1/topics/fence-delete')).status).toBe(204);
    deletedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop = true;
    const sent = await producing;

    const after = sent.filter((s) => s.startedAt > deletedAt);
    expect(after.length).toBeGreaterThan(0);
    for (const s of after) expect(s.status).toBe(404);

    for (const partition of [0, 1]) {
      const chunks = await chain(topicId, partition);
      const end = expectWellFormed(chunks);
      expect(chunks.at(-1)?.deletedAt).toBeDefined();
      expect(chunks.at(-1)?.recordCount).toBe(0);
      const acked = sent.flatMap((s) => s.offsets.filter((o) => o.partition === partition).map((o) => o.offset)).sort((a, b) => a - b);
      expect(acked).toEqual(Array.from({ length: end }, (_, i) => i));
    }
  }, 30_000);
});
