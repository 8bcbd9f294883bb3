import type { Consumer, EachMessagePayload } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { sleep, useKafkaService } from './support';

const { http, kafka } = useKafkaService();

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 25_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(100);
  }
}

describe('consumer groups over the Kafka protocol (KafkaJS)', () => {
  it('shares partitions between members, rebalances when one leaves, commits and resumes', async () => {
    const admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'g1', numPartitions: 4 }] });
    await admin.disconnect();
    const producer = kafka().producer();
    await producer.connect();
    await producer.send({ topic: 'g1', messages: Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });

    const seen = new Map<string, Set<string>>();
    const consumers: Consumer[] = [];
    const assignments = new Map<string, number[]>();
    for (const name of ['c1', 'c2']) {
      const consumer = kafka().consumer({ groupId: 'grp', sessionTimeout: 10_000, heartbeatInterval: 500, rebalanceTimeout: 10_000 });
      consumer.on(consumer.events.GROUP_JOIN, (e) => assignments.set(name, (e.payload.memberAssignment.g1 as number[] | undefined) ?? []));
      await consumer.connect();
      await consumer.subscribe({ topic: 'g1', fromBeginning: true });
      seen.set(name, new Set());
      await consumer.run({
        eachMessage: async ({ message }: EachMessagePayload) => {
          seen.get(name)!.add(message.value!.toString());
        },
      });
      consumers.push(consumer);
    }
    const total = () => new Set([...seen.values()].flatMap((s) => [...s])).size;
    await until(() => total() === 40 && [...assignments.values()].every((a) => a.length === 2));
    expect([...assignments.values()].flat().sort()).toEqual([0, 1, 2, 3]);

    const described = await http.get('/v1/groups/grp');
    expect(described.status).toBe(200);
    expect(described.body.members).toHaveLength(2);
    await until(async () => {
      const d = await http.get('/v1/groups/grp');
      return d.body.partitions.every((p: { lag: number | null }) => p.lag === 0);
    });

    // One member leaves: the other takes every partition and sees new records.
    await consumers[0]!.disconnect();
    await until(() => assignments.get('c2')!.length === 4);
    await producer.send({ topic: 'g1', messages: Array.from({ length: 8 }, (_, i) => ({ key: `n${i}`, value: `n${i}` })) });
    await until(() => seen.get('c2')!.size >= 8 && total() === 48);
    await consumers[1]!.disconnect();

    // A new consumer of the group resumes from the committed offsets: nothing old again.
    const resumed: string[] = [];
    const again = kafka().consumer({ groupId: 'grp', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await again.connect();
    await again.subscribe({ topic: 'g1', fromBeginning: true });
    await again.run({ eachMessage: async ({ message }) => void resumed.push(message.value!.toString()) });
    await producer.send({ topic: 'g1', messages: [{ key: 'last', value: 'last' }] });
    await until(() => resumed.includes('last'));
    expect(resumed).toEqual(['last']);
    await again.disconnect();
    await producer.disconnect();
  }, 90_000);
});
