import { CompressionTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kcatPath, requireKcat, run, useKafkaService } from './support';

const { http, bootstrap, kafka } = useKafkaService();

describe('Kafka gateway with KafkaJS and kcat', () => {
  it('creates topics, produces and fetches across protocols', async () => {
    const admin = kafka().admin();
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic: 'k1', numPartitions: 3 }] })).toBe(true);
    const meta = await admin.fetchTopicMetadata({ topics: ['k1'] });
    expect(meta.topics[0]!.partitions).toHaveLength(3);
    await admin.disconnect();

    const producer = kafka().producer();
    await producer.connect();
    const sent = await producer.send({
      topic: 'k1',
      compression: CompressionTypes.GZIP,
      messages: [
        { key: 'a', value: 'one', headers: { h: 'x' } },
        { key: 'b', value: 'two' },
      ],
    });
    expect(sent.length).toBeGreaterThan(0);
    await producer.disconnect();

    const described = await http.get('/v1/topics/k1');
    const total = described.body.partitions.reduce((s: number, p: { highWatermark: number }) => s + p.highWatermark, 0);
    expect(total).toBe(2);

    requireKcat();
    const out = await run(kcatPath, ['-b', bootstrap(), '-C', '-t', 'k1', '-e', '-q', '-f', '%k=%s\\n']);
    expect(out.stderr).toBe('');
    expect(out.stdout.trim().split('\n').sort()).toEqual(['a=one', 'b=two']);
  });
});
