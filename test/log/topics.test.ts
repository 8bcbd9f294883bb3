import { describe, expect, it } from 'vitest';
import { useTestService } from '../support/local-service';
import { type ClientStack, aheadOfFirst, loseFirstResponse } from '../support/intercept';
import { dynamo } from '../../shared/runtime/aws';

const { http } = useTestService();

describe('topics', () => {
  it('creates a topic with defaults and describes it', async () => {
    const created = await http.post('/v1/topics', { name: 'orders', partitions: 3 });
    expect(created.status).toBe(201);
    expect(created.body.name).toBe('orders');
    expect(created.body.partitions).toHaveLength(3);
    expect(created.body.config['max.message.bytes']).toBe(1048576);
    expect(created.body.config['cleanup.policy']).toBe('delete');

    const described = await http.get('/v1/topics/orders');
    expect(described.status).toBe(200);
    expect(described.body.partitions).toEqual([
      { partition: 0, logStartOffset: 0, highWatermark: 0, sizeBytes: 0 },
      { partition: 1, logStartOffset: 0, highWatermark: 0, sizeBytes: 0 },
      { partition: 2, logStartOffset: 0, highWatermark: 0, sizeBytes: 0 },
    ]);
  });

  it('answers 409 TOPIC_ALREADY_EXISTS for a second create', async () => {
    await http.post('/v1/topics', { name: 'twice', partitions: 1 });
    const again = await http.post('/v1/topics', { name: 'twice', partitions: 1 });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('TOPIC_ALREADY_EXISTS');
  });

  it.each([['.'], ['..'], ['a'.repeat(250)], ['has space'], ['slash/no'], ['']])(
    'rejects the illegal name %j with 400 INVALID_TOPIC_EXCEPTION',
    async (name) => {
      const response = await http.post('/v1/topics', { name, partitions: 1 });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('INVALID_TOPIC_EXCEPTION');
    },
  );

  it('answers 404 for lookups of names no topic can have', async () => {
    for (const path of ['/v1/topics/has%20space', '/v1/topics/a%2Fb', `/v1/topics/${'a'.repeat(250)}`]) {
      const response = await http.get(path);
      expect(response.status, path).toBe(404);
      expect(response.body.error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    }
  });

  it('accepts a 249-character name of every legal character class', async () => {
    const name = `aZ09._-${'x'.repeat(242)}`;
    expect((await http.post('/v1/topics', { name, partitions: 1 })).status).toBe(201);
  });

  it.each([[0], [-1], [1.5], [100_000]])('rejects partitions=%j with 400 INVALID_PARTITIONS', async (partitions) => {
    const response = await http.post('/v1/topics', { name: 'bad-partitions', partitions });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('INVALID_PARTITIONS');
    expect(response.body.error.field).toBe('partitions');
  });

  it('rejects a partitions value of the wrong type with 400 INVALID_REQUEST', async () => {
    const response = await http.post('/v1/topics', { name: 'bad-partitions', partitions: '3' });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'INVALID_REQUEST', field: 'partitions' });
  });

  it('rejects unknown configs and bad values with 400 INVALID_CONFIG', async () => {
    const unknown = await http.post('/v1/topics', { name: 'cfg', partitions: 1, config: { 'segment.bytes': 1 } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('INVALID_CONFIG');
    const bad = await http.post('/v1/topics', { name: 'cfg', partitions: 1, config: { 'cleanup.policy': 'shred' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_CONFIG');
    const negative = await http.post('/v1/topics', { name: 'cfg', partitions: 1, config: { 'retention.ms': -5 } });
    expect(negative.body.error.code).toBe('INVALID_CONFIG');
  });

  it('accepts Kafka-style string config values', async () => {
    const created = await http.post('/v1/topics', {
      name: 'cfg-strings',
      partitions: 1,
      config: { 'retention.ms': '60000', 'message.timestamp.type': 'LogAppendTime', 'compression.type': 'gzip' },
    });
    expect(created.status).toBe(201);
    expect(created.body.config['retention.ms']).toBe(60000);
    expect(created.body.config['message.timestamp.type']).toBe('LogAppendTime');
  });

  it('answers 400 INVALID_REQUEST for malformed JSON and wrong types', async () => {
    const malformed = await http.post('/v1/topics', '{"name": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('INVALID_REQUEST');
    const wrongType = await http.post('/v1/topics', { name: 42, partitions: 1 });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error.code).toBe('INVALID_REQUEST');
    expect(wrongType.body.error.field).toBe('name');
  });

  it('lists topics sorted by name', async () => {
    await http.post('/v1/topics', { name: 'zeta', partitions: 2 });
    await http.post('/v1/topics', { name: 'alpha', partitions: 1 });
    const listed = await http.get('/v1/topics');
    expect(listed.status).toBe(200);
    const names = listed.body.topics.map((t: { name: string }) => t.name);
    expect(names).toEqual([...names].sort());
    expect(listed.body.topics).toContainEqual({ name: 'zeta', partitions: 2 });
  });

  it('answers 404 UNKNOWN_TOPIC_OR_PARTITION for an unknown topic', async () => {
    for (const response of [
      await http.get('/v1/topics/missing'),
      await http.patch('/v1/topics/missing', { partitions: 5 }),
      await http.delete('/v1/topics/missing'),
      await http.post('/v1/topics/missing/records', { records: [{ value: 'x' }] }),
      await http.get('/v1/topics/missing/partitions/0/records?offset=0'),
    ]) {
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    }
  });

  it('grows partitions, refuses to shrink, and alters config', async () => {
    await http.post('/v1/topics', { name: 'grow', partitions: 2 });
    const grown = await http.patch('/v1/topics/grow', { partitions: 4 });
    expect(grown.status).toBe(200);
    expect(grown.body.partitions).toHaveLength(4);
    for (const partitions of [4, 3]) {
      const shrink = await http.patch('/v1/topics/grow', { partitions });
      expect(shrink.status).toBe(400);
      expect(shrink.body.error.code).toBe('INVALID_PARTITIONS');
    }
    const altered = await http.patch('/v1/topics/grow', { config: { 'retention.ms': 1000 } });
    expect(altered.body.config['retention.ms']).toBe(1000);
    expect((await http.get('/v1/topics/grow')).body.config['retention.ms']).toBe(1000);
    const produced = await http.post('/v1/topics/grow/records', { records: [{ value: 'new partition', partition: 3 }] });
    expect(produced.status).toBe(200);
  });

  it('deletes a topic and lets the name be reused at once, without the old data', async () => {
    await http.post('/v1/topics', { name: 'reborn', partitions: 1 });
    await http.post('/v1/topics/reborn/records', { records: [{ value: 'old life' }] });
    expect((await http.delete('/v1/topics/reborn')).status).toBe(204);
    expect((await http.get('/v1/topics/reborn')).status).toBe(404);
    expect((await http.get('/v1/topics')).body.topics.map((t: { name: string }) => t.name)).not.toContain('reborn');

    expect((await http.post('/v1/topics', { name: 'reborn', partitions: 1 })).status).toBe(201);
    const fetched = await http.get('/v1/topics/reborn/partitions/0/records?offset=0');
    expect(fetched.status).toBe(200);
    expect(fetched.body.records).toEqual([]);
    expect(fetched.body.highWatermark).toBe(0);
    const produced = await http.post('/v1/topics/reborn/records', { records: [{ value: 'new life' }] });
    expect(produced.body.offsets[0].offset).toBe(0);
  });

  describe('when DynamoDB applies a write but its response is lost and the SDK retries it', () => {
    const stack = () => dynamo().middlewareStack as ClientStack;
    const onTopics = (command: string) => (name: string, input: any) => name === command && String(input.TableName).endsWith('topics');

    it('a create answers 201, not TOPIC_ALREADY_EXISTS for its own item', async () => {
      const { result, lost } = await loseFirstResponse(stack(), onTopics('PutItemCommand'), () =>
        http.post('/v1/topics', { name: 'lost-create', partitions: 2 }),
      );
      expect(lost).toBe(true);
      expect(result.status).toBe(201);
      expect((await http.get('/v1/topics/lost-create')).body.partitions).toHaveLength(2);
    });

    it('an alter answers 200 with the change in force, not CONCURRENT_TRANSACTIONS', async () => {
      await http.post('/v1/topics', { name: 'lost-alter', partitions: 1 });
      const { result, lost } = await loseFirstResponse(stack(), onTopics('UpdateItemCommand'), () =>
        http.patch('/v1/topics/lost-alter', { config: { 'max.message.bytes': 3000 } }),
      );
      expect(lost).toBe(true);
      expect(result.status).toBe(200);
      expect(result.body.config['max.message.bytes']).toBe(3000);
      const tooLarge = await http.post('/v1/topics/lost-alter/records', { records: [{ value: 'x'.repeat(4000) }] });
      expect(tooLarge.body.error?.code).toBe('RECORD_TOO_LARGE');
    });

    it('an alter that lost the race to a different change still answers 409', async () => {
      await http.post('/v1/topics', { name: 'raced-alter', partitions: 1 });
      // Between this alter's read and its write, another alter lands.
      const raced = await aheadOfFirst(
        stack(),
        onTopics('UpdateItemCommand'),
        () => http.patch('/v1/topics/raced-alter', { config: { 'retention.ms': 2000 } }),
        () => http.patch('/v1/topics/raced-alter', { config: { 'retention.ms': 1000 } }),
      );
      expect(raced.status).toBe(409);
      expect(raced.body.error.code).toBe('CONCURRENT_TRANSACTIONS');
      expect((await http.get('/v1/topics/raced-alter')).body.config['retention.ms']).toBe(2000);
    });
  });
});
