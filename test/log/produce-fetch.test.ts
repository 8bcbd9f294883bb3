import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { dynamo, tableName } from '../../shared/runtime/aws';
import type { ClientStack } from '../support/intercept';
import { useTestService } from '../support/local-service';

const { http } = useTestService(async (client) => {
  await client.post('/v1/topics', { name: 'events', partitions: 4 });
  await client.post('/v1/topics', { name: 'single', partitions: 1 });
});

const fetchAll = async (topic: string, partition: number, offset = 0, extra = '') =>
  http.get(`/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}${extra}`);

describe('produce and fetch', () => {
  it('round-trips binary, UTF-8 and JSON values, duplicate headers, null keys and tombstones byte for byte', async () => {
    const binary = Buffer.from([0, 1, 2, 253, 254, 255, 0xc3, 0x28]);
    const records = [
      {
        key: 'k-utf8',
        value: 'héllo wörld ✓ 🚀',
        headers: [
          { key: 'dup', value: 'one' },
          { key: 'dup', value: 'two' },
        ],
      },
      { key: 'k-json', value: { nested: { n: 1, list: [true, null, 'x'] } } },
      {
        keyBase64: binary.toString('base64'),
        valueBase64: binary.toString('base64'),
        headers: [{ key: 'bin', valueBase64: binary.toString('base64') }],
      },
      { key: null, value: 'no key' },
      { key: 'k-tombstone', value: null },
      { key: 'k-absent-value' },
      { key: '', value: '' },
      { value: 42 },
      { value: 'header with null', headers: [{ key: 'nullish', value: null }] },
    ].map((r) => ({ ...r, partition: 0 }));
    const produced = await http.post('/v1/topics/single/records', { records });
    expect(produced.status).toBe(200);
    expect(produced.body.offsets.map((o: { offset: number }) => o.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);

    const fetched = await fetchAll('single', 0);
    expect(fetched.status).toBe(200);
    const got = fetched.body.records;
    expect(got).toHaveLength(9);
    expect(got[0]).toMatchObject({ partition: 0, offset: 0, key: 'k-utf8', value: 'héllo wörld ✓ 🚀' });
    expect(got[0].headers).toEqual([
      { key: 'dup', value: 'one' },
      { key: 'dup', value: 'two' },
    ]);
    expect(got[1].value).toBe('{"nested":{"n":1,"list":[true,null,"x"]}}');
    expect(got[2].keyBase64).toBe(binary.toString('base64'));
    expect(got[2].valueBase64).toBe(binary.toString('base64'));
    expect(got[2].key).toBeUndefined();
    expect(got[2].headers).toEqual([{ key: 'bin', valueBase64: binary.toString('base64') }]);
    expect(got[3]).toMatchObject({ key: null, value: 'no key' });
    expect(got[4]).toMatchObject({ key: 'k-tombstone', value: null });
    expect(got[5]).toMatchObject({ key: 'k-absent-value', value: null });
    expect(got[6]).toMatchObject({ key: '', value: '' });
    expect(got[7].value).toBe('42');
    expect(got[8].headers).toEqual([{ key: 'nullish', value: null }]);
    expect(fetched.body.nextOffset).toBe(9);
    expect(fetched.body.highWatermark).toBe(9);
    expect(fetched.body.logStartOffset).toBe(0);

    const base64 = await fetchAll('single', 0, 0, '&encoding=base64&maxRecords=1');
    expect(base64.body.records[0].keyBase64).toBe(Buffer.from('k-utf8').toString('base64'));
    expect(base64.body.records[0].valueBase64).toBe(Buffer.from('héllo wörld ✓ 🚀').toString('base64'));
    expect(base64.body.nextOffset).toBe(1);
  });

  it('partitions keyed records with murmur2 like the Java client and keeps per-key order', async () => {
    const records = Array.from({ length: 40 }, (_, i) => ({ key: `user-${i % 5}`, value: `v${i}` }));
    const produced = await http.post('/v1/topics/events/records', { records });
    const offsets: { partition: number; offset: number }[] = produced.body.offsets;
    const partitionOfKey = new Map<string, number>();
    records.forEach((r, i) => {
      const seen = partitionOfKey.get(r.key);
      if (seen !== undefined) expect(offsets[i]!.partition).toBe(seen);
      partitionOfKey.set(r.key, offsets[i]!.partition);
    });
    // Kafka's Java client puts "user-0" on partition murmur2 % 4; check one known vector via the codec.
    const { partitionForKey } = await import('../../shared/records');
    expect(partitionOfKey.get('user-0')).toBe(partitionForKey(Buffer.from('user-0'), 4));
  });

  it('sends all null-key records of one request to one partition (sticky)', async () => {
    const produced = await http.post('/v1/topics/events/records', { records: Array.from({ length: 10 }, (_, i) => ({ value: `n${i}` })) });
    const partitions = new Set(produced.body.offsets.map((o: { partition: number }) => o.partition));
    expect(partitions.size).toBe(1);
  });

  it('honours maxRecords and maxBytes, always returning at least one record', async () => {
    await http.post('/v1/topics', { name: 'limits', partitions: 1 });
    await http.post('/v1/topics/limits/records', { records: Array.from({ length: 20 }, (_, i) => ({ value: 'x'.repeat(100) + i })) });
    const few = await fetchAll('limits', 0, 3, '&maxRecords=5');
    expect(few.body.records.map((r: { offset: number }) => r.offset)).toEqual([3, 4, 5, 6, 7]);
    expect(few.body.nextOffset).toBe(8);
    const small = await fetchAll('limits', 0, 0, '&maxBytes=250');
    expect(small.body.records).toHaveLength(2);
    const tiny = await fetchAll('limits', 0, 10, '&maxBytes=1');
    expect(tiny.body.records).toHaveLength(1);
    expect(tiny.body.records[0].offset).toBe(10);
  });

  it('answers 416 OFFSET_OUT_OF_RANGE with both bounds, and an empty page at the high watermark', async () => {
    const beyond = await fetchAll('limits', 0, 21);
    expect(beyond.status).toBe(416);
    expect(beyond.body.error).toMatchObject({ code: 'OFFSET_OUT_OF_RANGE', logStartOffset: 0, highWatermark: 20 });
    const atEnd = await fetchAll('limits', 0, 20);
    expect(atEnd.status).toBe(200);
    expect(atEnd.body).toMatchObject({ records: [], nextOffset: 20, highWatermark: 20 });
  });

  it('answers 400 INVALID_REQUEST for bad fetch parameters, naming the field', async () => {
    for (const [query, field] of [
      ['offset=abc', 'offset'],
      ['offset=-1', 'offset'],
      ['offset=0&maxRecords=0', 'maxRecords'],
      ['offset=0&maxBytes=1e3', 'maxBytes'],
      ['', 'offset'],
    ] as const) {
      const response = await http.get(`/v1/topics/limits/partitions/0/records?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.error.code).toBe('INVALID_REQUEST');
      expect(response.body.error.field).toBe(field);
    }
    const badPartition = await http.get('/v1/topics/limits/partitions/x/records?offset=0');
    expect(badPartition.status).toBe(400);
    const unknownPartition = await http.get('/v1/topics/limits/partitions/7/records?offset=0');
    expect(unknownPartition.status).toBe(404);
    expect(unknownPartition.body.error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('rejects bad produce requests with 4xx and appends nothing', async () => {
    await http.post('/v1/topics', { name: 'strict', partitions: 2, config: { 'max.message.bytes': 1000 } });
    const cases: [unknown, number, string][] = [
      [{ records: [] }, 400, 'INVALID_REQUEST'],
      [{ records: 'nope' }, 400, 'INVALID_REQUEST'],
      [{}, 400, 'INVALID_REQUEST'],
      [{ records: [{ value: 'ok' }, { value: 'x', partition: -1 }] }, 400, 'INVALID_REQUEST'],
      [{ records: [{ value: 'ok' }, { value: 'x', partition: 2 }] }, 404, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [{ records: [{ value: 'ok' }, { value: 'x', timestamp: 'yesterday' }] }, 400, 'INVALID_REQUEST'],
      [{ records: [{ value: 'ok' }, { valueBase64: '***' }] }, 400, 'INVALID_REQUEST'],
      [{ records: [{ value: 'ok' }, { value: 'a', valueBase64: 'YQ==' }] }, 400, 'INVALID_REQUEST'],
      [{ records: [{ value: 'ok' }, { value: 'y'.repeat(1001) }] }, 413, 'RECORD_TOO_LARGE'],
    ];
    for (const [body, status, code] of cases) {
      const response = await http.post('/v1/topics/strict/records', body);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(response.body.error.code).toBe(code);
    }
    const malformed = await http.post('/v1/topics/strict/records', '{"records": [');
    expect(malformed.status).toBe(400);
    const described = await http.get('/v1/topics/strict');
    expect(described.body.partitions.map((p: { highWatermark: number }) => p.highWatermark)).toEqual([0, 0]);
  });

  it('stores a 1 MiB record and a request near the 6 MB Lambda limit (S3 segments)', async () => {
    await http.post('/v1/topics', { name: 'big', partitions: 2, config: { 'max.message.bytes': 4 * 1024 * 1024 } });
    const mib = Buffer.alloc(1024 * 1024, 7);
    const one = await http.post('/v1/topics/big/records', { records: [{ key: 'big', valueBase64: mib.toString('base64'), partition: 0 }] });
    expect(one.status).toBe(200);
    const fetched = await fetchAll('big', 0);
    expect(Buffer.from(fetched.body.records[0].valueBase64, 'base64').equals(mib)).toBe(true);

    // ~5.6 MB of JSON: 5 records of 1.1 MB text across both partitions.
    const text = 'z'.repeat(1_100_000);
    const near = await http.post('/v1/topics/big/records', {
      records: Array.from({ length: 5 }, (_, i) => ({ value: text, partition: i % 2 })),
    });
    expect(near.status).toBe(200);
    const p1 = await fetchAll('big', 1, 0, '&maxBytes=3000000');
    expect(p1.body.records).toHaveLength(2);
    expect(p1.body.records.every((r: { value: string }) => r.value === text)).toBe(true);

    const tooLarge = await http.post('/v1/topics/big/records', { records: Array.from({ length: 6 }, () => ({ value: text })) });
    expect(tooLarge.status).toBe(413);
  });

  it('uses the log append time for LogAppendTime topics and the producer timestamp otherwise', async () => {
    await http.post('/v1/topics', { name: 'appendtime', partitions: 1, config: { 'message.timestamp.type': 'LogAppendTime' } });
    const before = Date.now();
    const produced = await http.post('/v1/topics/appendtime/records', { records: [{ value: 'a', timestamp: 1000 }] });
    expect(produced.body.offsets[0].timestamp).toBeGreaterThanOrEqual(before);
    const fetched = await fetchAll('appendtime', 0);
    expect(fetched.body.records[0].timestamp).toBe(produced.body.offsets[0].timestamp);

    const created = await http.post('/v1/topics/single/records', { records: [{ value: 'old', timestamp: 1000, partition: 0 }] });
    const readBack = await fetchAll('single', 0, created.body.offsets[0].offset);
    expect(readBack.body.records[0].timestamp).toBe(1000);
  });

  it('finds offsets by earliest, latest and timestamp', async () => {
    await http.post('/v1/topics', { name: 'times', partitions: 1 });
    for (const batch of [[100, 200], [150, 300], [400], [350, 500]]) {
      await http.post('/v1/topics/times/records', { records: batch.map((timestamp) => ({ value: `t${timestamp}`, timestamp })) });
    }
    // offsets: 0:100 1:200 2:150 3:300 4:400 5:350 6:500
    const at = async (q: string) => (await http.get(`/v1/topics/times/partitions/0/offsets?at=${q}`)).body.offset;
    expect(await at('earliest')).toBe(0);
    expect(await at('latest')).toBe(7);
    expect(await at('-2')).toBe(0);
    expect(await at('-1')).toBe(7);
    expect(await at('0')).toBe(0);
    expect(await at('100')).toBe(0);
    expect(await at('101')).toBe(1);
    expect(await at('250')).toBe(3);
    expect(await at('360')).toBe(4);
    expect(await at('450')).toBe(6);
    expect(await at('501')).toBeNull();
    const bad = await http.get('/v1/topics/times/partitions/0/offsets?at=soon');
    expect(bad.status).toBe(400);
  });

  it('long-polls: a waiting fetch returns soon after a record is produced, or empty at the deadline', async () => {
    await http.post('/v1/topics', { name: 'wait', partitions: 1 });
    const emptyStart = Date.now();
    const empty = await fetchAll('wait', 0, 0, '&waitMs=300');
    expect(empty.body.records).toEqual([]);
    expect(Date.now() - emptyStart).toBeGreaterThanOrEqual(280);

    const waiting = fetchAll('wait', 0, 0, '&waitMs=10000');
    await new Promise((r) => setTimeout(r, 200));
    const producedAt = Date.now();
    await http.post('/v1/topics/wait/records', { records: [{ value: 'wake up' }] });
    const woke = await waiting;
    const delay = Date.now() - producedAt;
    expect(woke.body.records[0].value).toBe('wake up');
    expect(delay).toBeLessThan(2000);
  });

  it('POST /v1/fetch returns as soon as any partition has data, with per-partition errors', async () => {
    await http.post('/v1/topics', { name: 'multi', partitions: 3 });
    const waiting = http.post('/v1/fetch', {
      partitions: [
        { topic: 'multi', partition: 0, offset: 0 },
        { topic: 'multi', partition: 1, offset: 0 },
        { topic: 'multi', partition: 9, offset: 0 },
        { topic: 'missing', partition: 0, offset: 0 },
      ],
      waitMs: 10000,
    });
    await new Promise((r) => setTimeout(r, 200));
    await http.post('/v1/topics/multi/records', { records: [{ value: 'p1', partition: 1 }] });
    const response = await waiting;
    expect(response.status).toBe(200);
    const [p0, p1, p9, missing] = response.body.results;
    expect(p0).toMatchObject({ topic: 'multi', partition: 0, records: [], highWatermark: 0 });
    expect(p1.records[0]).toMatchObject({ partition: 1, offset: 0, value: 'p1' });
    expect(p9.error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(missing.error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');

    const invalid = await http.post('/v1/fetch', { partitions: [{ topic: 'multi', partition: 'zero', offset: 0 }] });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.field).toBe('partitions[0].partition');
  });

  it('serves the OpenAPI document generated from the request schemas', async () => {
    const doc = await http.get('/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    const produce = doc.body.paths['/v1/topics/{topic}/records'].post;
    expect(produce.requestBody.content['application/json'].schema.properties.records.type).toBe('array');
    expect(
      doc.body.paths['/v1/topics/{topic}/partitions/{partition}/records'].get.parameters.map((p: { name: string }) => p.name),
    ).toContain('waitMs');
  });
});

describe('reading the chunk chain', () => {
  /** Every Query on the chunks table while `body` runs: its input and how many items it returned. */
  async function chunkQueries<T>(body: () => Promise<T>): Promise<{ result: T; queries: { input: any; items: number }[] }> {
    const queries: { input: any; items: number }[] = [];
    const stack = dynamo().middlewareStack as ClientStack;
    const name = `chunkQueries-${Math.random().toString(36).slice(2)}`;
    stack.add(
      (next, context) => async (args) => {
        const result: any = await next(args);
        const input = args.input as any;
        if (context.commandName === 'QueryCommand' && input.TableName === tableName('chunks')) {
          queries.push({ input, items: result.output?.Items?.length ?? 0 });
        }
        return result;
      },
      { step: 'initialize', name },
    );
    try {
      return { result: await body(), queries };
    } finally {
      stack.remove(name);
    }
  }

  const isAtOrBefore = (q: { input: any }) => /baseOffset <= /.test(q.input.KeyConditionExpression);
  const value = (i: number) => `${'v'.repeat(100)}${String(i).padStart(3, '0')}`;

  it('a consumer paging by maxBytes over single-record chunks gets every offset once, each next chunk found by one Query from its offset', async () => {
    await http.post('/v1/topics', { name: 'singles', partitions: 1 });
    for (let i = 0; i < 40; i++)
      expect((await http.post('/v1/topics/singles/records', { records: [{ value: value(i) }] })).status).toBe(200);
    const got: string[] = [];
    let offset = 0;
    for (let fetches = 0; offset < 40; fetches++) {
      expect(fetches).toBeLessThan(40);
      const { result, queries } = await chunkQueries(() => fetchAll('singles', 0, offset, '&maxBytes=1000'));
      expect(result.status).toBe(200);
      const records = result.body.records as { offset: number; value: string }[];
      expect(records.length).toBeGreaterThan(0);
      expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => offset + i));
      got.push(...records.map((r) => r.value));
      // Where the last fetch stopped, a chunk starts: no Query for the chunk at or before the offset.
      if (fetches > 0) expect(queries.filter(isAtOrBefore)).toEqual([]);
      offset = result.body.nextOffset;
    }
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => value(i)));
  });

  it('after the first page, asks for the chunks the bytes left need, not four times more', async () => {
    await http.post('/v1/topics', { name: 'sized', partitions: 1 });
    for (let i = 0; i < 80; i++) await http.post('/v1/topics/sized/records', { records: [{ value: value(i) }] });
    // Each stored batch is ~175 bytes: 3,500 bytes is ~20 of them.
    const { result, queries } = await chunkQueries(() => fetchAll('sized', 0, 0, '&maxBytes=3500'));
    expect(result.status).toBe(200);
    const returned = result.body.records.length;
    expect(returned).toBeGreaterThan(15);
    expect(returned).toBeLessThan(25);
    const pages = queries.filter((q) => /baseOffset > /.test(q.input.KeyConditionExpression));
    expect(pages.length).toBe(2);
    // The head, the holding chunk, the first page of 16 and the chunks the bytes left need (and the one that ends the read).
    const read = queries.reduce((sum, q) => sum + q.items, 0);
    expect(read).toBeLessThanOrEqual(returned + 4);
  });

  it('a chunk missing where a reader last stopped is a 416, never a skipped offset', async () => {
    await http.post('/v1/topics', { name: 'holed', partitions: 1 });
    for (let i = 0; i < 12; i++) await http.post('/v1/topics/holed/records', { records: [{ value: value(i) }] });
    const first = await fetchAll('holed', 0, 0, '&maxBytes=1000');
    const stop = first.body.nextOffset as number;
    expect(stop).toBeGreaterThan(0);
    expect(stop).toBeLessThan(12);
    // The chunk the reader stopped at disappears (nothing in Logway does this: the chain is gapless).
    const topicId = (await http.get('/v1/topics/holed')).body.topicId as string;
    await dynamo().send(new DeleteCommand({ TableName: tableName('chunks'), Key: { partitionKey: `${topicId}:0`, baseOffset: stop } }));
    const after = await fetchAll('holed', 0, stop, '&maxBytes=1000');
    expect(after.status).toBe(416);
    expect(after.body.error.code).toBe('OFFSET_OUT_OF_RANGE');
  });
});
