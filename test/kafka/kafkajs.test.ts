/** KafkaJS against the gateway: admin, idempotent produce through lost responses, records across protocols, offsets by time, groups listed and described. */
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../shared/records';
import { type FaultProxy, startFaultProxy } from './fault-proxy';
import { useKafkaService } from './support';

let proxy: FaultProxy | undefined;
const { http, kafka, port } = useKafkaService({
  advertisedPort: async () => {
    proxy = await startFaultProxy(() => port());
    return proxy.port;
  },
});
afterAll(async () => proxy?.stop());

describe('KafkaJS', () => {
  it('administers topics: create, metadata, configs, more partitions, delete', async () => {
    const admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'adm', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '60000' }] }] });
    expect(await admin.listTopics()).toContain('adm');
    const configs = await admin.describeConfigs({ resources: [{ type: 2, name: 'adm' }], includeSynonyms: false });
    const entries = configs.resources[0]!.configEntries;
    expect(entries.find((e) => e.configName === 'retention.ms')).toMatchObject({ configValue: '60000', isDefault: false });
    expect(entries.find((e) => e.configName === 'max.message.bytes')).toMatchObject({ configValue: '1048576', isDefault: true });
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: 2, name: 'adm', configEntries: [{ name: 'retention.ms', value: '120000' }] }],
    });
    expect((await http.get('/v1/topics/adm')).body.config['retention.ms']).toBe(120000);
    await expect(
      admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: 2, name: 'adm', configEntries: [{ name: 'segment.bytes', value: '1' }] }],
      }),
    ).rejects.toThrow();
    await admin.createPartitions({ topicPartitions: [{ topic: 'adm', count: 5 }] });
    expect((await http.get('/v1/topics/adm')).body.partitions).toHaveLength(5);
    await expect(admin.createTopics({ topics: [{ topic: 'bad/name' }] })).rejects.toThrow();
    await admin.deleteTopics({ topics: ['adm'] });
    expect((await http.get('/v1/topics/adm')).status).toBe(404);
    await admin.disconnect();
  });

  it('appends each batch of an idempotent producer once although responses are lost and it retries', async () => {
    await http.post('/v1/topics', { name: 'retried', partitions: 1 });
    const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 10, initialRetryTime: 50 } });
    await producer.connect();
    proxy!.lose.set(0, 2); // the next two Produce responses vanish after the append
    for (let i = 0; i < 5; i++) await producer.send({ topic: 'retried', messages: [{ key: `k${i}`, value: `v${i}` }] });
    await producer.disconnect();
    expect(proxy!.lost).toBe(2);
    const records = (await http.get('/v1/topics/retried/partitions/0/records?offset=0')).body.records;
    expect(records.map((r: { value: string }) => r.value)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
  });

  it('8 idempotent producers and 8 HTTP producers on one partition: every record once, gapless, each producer in its order, through lost responses', async () => {
    await http.post('/v1/topics', { name: 'hot-mixed', partitions: 1 });
    const perProducer = 12;
    const lostBefore = proxy!.lost;
    proxy!.lose.set(0, 6); // six Produce responses vanish after their appends, spread over the producers
    const kafkaProducers = Array.from({ length: 8 }, () =>
      kafka().producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 10, initialRetryTime: 50 } }),
    );
    await Promise.all(kafkaProducers.map((p) => p.connect()));
    await Promise.all([
      ...kafkaProducers.map(async (producer, n) => {
        for (let i = 0; i < perProducer; i++) await producer.send({ topic: 'hot-mixed', messages: [{ value: `kafka${n}-${i}` }] });
      }),
      ...Array.from({ length: 8 }, async (_, n) => {
        for (let i = 0; i < perProducer; i++) {
          const response = await http.post('/v1/topics/hot-mixed/records', { records: [{ value: `http${n}-${i}`, partition: 0 }] });
          expect(response.status, JSON.stringify(response.body)).toBe(200);
        }
      }),
    ]);
    await Promise.all(kafkaProducers.map((p) => p.disconnect()));
    expect(proxy!.lost - lostBefore).toBe(6);
    const records: { offset: number; value: string }[] = [];
    for (let offset = 0; records.length < 16 * perProducer; ) {
      const page = (await http.get(`/v1/topics/hot-mixed/partitions/0/records?offset=${offset}&maxRecords=1000`)).body;
      records.push(...page.records);
      if (page.nextOffset >= page.highWatermark) break;
      offset = page.nextOffset;
    }
    expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
    const values = records.map((r) => r.value);
    expect(new Set(values).size).toBe(values.length);
    expect(values).toHaveLength(16 * perProducer);
    for (const producer of [...Array.from({ length: 8 }, (_, n) => `kafka${n}`), ...Array.from({ length: 8 }, (_, n) => `http${n}`)]) {
      const own = values.filter((v) => v.startsWith(`${producer}-`));
      expect(own, producer).toEqual(Array.from({ length: perProducer }, (_, i) => `${producer}-${i}`));
    }
  });

  it('places keys where HTTP places them, and its records read over HTTP with headers and timestamps', async () => {
    await http.post('/v1/topics', { name: 'xkjs', partitions: 6 });
    const producer = kafka().producer();
    await producer.connect();
    const messages = Array.from({ length: 30 }, (_, i) => ({
      key: `key-${i}`,
      value: `value-${i}`,
      headers: { trace: `t${i}` },
      timestamp: String(1_700_000_000_000 + i),
    }));
    await producer.send({ topic: 'xkjs', compression: CompressionTypes.GZIP, messages });
    await producer.disconnect();
    let total = 0;
    for (let p = 0; p < 6; p++) {
      const records = (await http.get(`/v1/topics/xkjs/partitions/${p}/records?offset=0`)).body.records;
      total += records.length;
      for (const r of records) {
        expect(partitionForKey(r.key, 6)).toBe(p);
        const i = Number(r.key.split('-')[1]);
        expect(r).toMatchObject({ value: `value-${i}`, timestamp: 1_700_000_000_000 + i, headers: [{ key: 'trace', value: `t${i}` }] });
      }
    }
    expect(total).toBe(30);
  });

  it('reads HTTP-produced records, finds offsets by timestamp, and lists and describes its group', async () => {
    await http.post('/v1/topics', { name: 'fromhttp', partitions: 1 });
    const records = Array.from({ length: 6 }, (_, i) => ({
      key: `k${i}`,
      value: `v${i}`,
      timestamp: 1_500_000_000_000 + i * 10,
      headers: [{ key: 'h', value: `${i}` }],
      partition: 0,
    }));
    await http.post('/v1/topics/fromhttp/records', { records });
    const admin = kafka().admin();
    await admin.connect();
    const byTime = await admin.fetchTopicOffsetsByTimestamp('fromhttp', 1_500_000_000_025);
    expect(byTime).toEqual([{ partition: 0, offset: '3' }]);

    const consumer = new Kafka({ clientId: 'reader', brokers: [`127.0.0.1:${proxy!.port}`], logLevel: logLevel.NOTHING }).consumer({
      groupId: 'readers',
      heartbeatInterval: 500,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: 'fromhttp', fromBeginning: true });
    const got: { key: string; value: string; timestamp: string; headers: Record<string, string> }[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        got.push({
          key: message.key!.toString(),
          value: message.value!.toString(),
          timestamp: message.timestamp,
          headers: { h: String(message.headers!.h) },
        });
      },
    });
    const deadline = Date.now() + 20_000;
    while (got.length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual(
      records.map((r) => ({ key: r.key, value: r.value, timestamp: String(r.timestamp), headers: { h: r.headers[0]!.value } })),
    );
    const listed = await admin.listGroups();
    expect(listed.groups).toContainEqual({ groupId: 'readers', protocolType: 'consumer' });
    const described = await admin.describeGroups(['readers']);
    expect(described.groups[0]).toMatchObject({ groupId: 'readers', state: 'Stable', protocol: 'RoundRobinAssigner' });
    expect(described.groups[0]!.members).toHaveLength(1);
    await consumer.disconnect();

    // Offsets: what the consumer committed, an admin's reset of the empty group, then the group deleted.
    expect(await admin.fetchOffsets({ groupId: 'readers', topics: ['fromhttp'] })).toEqual([
      { topic: 'fromhttp', partitions: [{ partition: 0, offset: '6', metadata: null }] },
    ]);
    await admin.setOffsets({ groupId: 'readers', topic: 'fromhttp', partitions: [{ partition: 0, offset: '2' }] });
    expect((await http.get('/v1/groups/readers')).body.partitions[0]).toMatchObject({ committedOffset: 2, lag: 4 });
    expect(await admin.fetchTopicOffsets('fromhttp')).toEqual([{ partition: 0, offset: '6', high: '6', low: '0' }]);
    await admin.deleteGroups(['readers']);
    expect((await http.get('/v1/groups/readers')).status).toBe(404);
    await admin.disconnect();
  }, 40_000);
});
