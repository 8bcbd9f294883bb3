/**
 * The consumer group end to end (local gateway → handlers → DynamoDB Local): 3 consumers share a
 * topic; 10,000 records arrive through the Producer; one consumer is killed midway (its loops stop
 * without leaving, so the group only notices when its 1.5 s session expires). Every record must
 * be processed at least once, none lost, and each key's records in order.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Logway } from '../../client/src/logway';
import type { Consumer } from '../../client/src/consumer';
import type { RecordMetadata } from '../../client/src/producer';
import { startTestService, type TestService } from '../support/local-service';

let service: TestService;
let logway: Logway;

beforeAll(async () => {
  service = await startTestService();
  logway = new Logway({ url: service.url });
});

afterAll(async () => {
  await service?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

interface Processed {
  consumer: number;
  partition: number;
  offset: number;
  key: string;
  seq: number;
}

it('processes 10,000 records at least once, in order per key, when a consumer dies midway', { timeout: 90_000 }, async () => {
  const topic = 'purchases';
  const total = 10_000;
  const keys = 60;
  await logway.admin().createTopic({ topic, numPartitions: 3 });

  const log: Processed[] = [];
  const killedAt = { index: -1 };
  const consumers: Consumer[] = [];
  for (let c = 0; c < 3; c++) {
    // The victim's short session makes its death quick to notice; the survivors' longer one keeps
    // a CPU-starved machine (CI runs suites in parallel on 2 cores) from expiring them too, which
    // would leave their last offsets uncommitted (UNKNOWN_MEMBER_ID) and the final lag above 0.
    const consumer = logway.consumer({ groupId: 'survivors', sessionTimeoutMs: c === 0 ? 1500 : 6000, maxWaitTimeInMs: 500 });
    consumer.on('error', ({ error, context }) => {
      // Commits by the killed member are expected to fail; anything else is worth seeing.
      if (c !== 0 || killedAt.index < 0) console.warn(`consumer ${c}: ${context}: ${String(error)}`);
    });
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      // The victim never gets to auto-commit, so what it processed must be redelivered to its successor.
      autoCommitInterval: c === 0 ? 60_000 : 300,
      eachMessage: async ({ partition, message }) => {
        const { key, seq } = JSON.parse(message.value!.toString()) as { key: string; seq: number };
        expect(message.key!.toString()).toBe(key);
        log.push({ consumer: c, partition, offset: message.offset, key, seq });
        if (log.length % 200 === 0) await sleep(5); // some work, so the kill lands midway
      },
    });
    consumers.push(consumer);
  }
  await waitFor('an even assignment', () => consumers.every((c) => c.assignment().length === 1), 20_000);
  const victimPartitions = consumers[0]!.assignment().map((p) => p.partition);

  // Produce in batches through the Producer, while the group consumes.
  const producer = logway.producer({ lingerMs: 5 });
  const perKey = new Array<number>(keys).fill(0);
  const sent: { key: string; seq: number; metadata: Promise<RecordMetadata[]> }[] = [];
  const producing = (async () => {
    for (let batch = 0; batch < 20; batch++) {
      const messages = Array.from({ length: total / 20 }, (_, i) => {
        const k = (batch * 31 + i) % keys;
        const key = `user-${k}`;
        return { key, value: { key, seq: perKey[k]!++ } };
      });
      const metadata = producer.send({ topic, messages });
      for (const m of messages) sent.push({ key: m.key, seq: m.value.seq, metadata });
      await metadata;
      await sleep(40);
    }
    await producer.close();
  })();

  // Kill consumer 0 once the group is well into the stream: its loops stop; it neither commits nor leaves.
  await waitFor('a third of the records', () => log.length >= total / 3, 30_000);
  const processedByVictim = log.filter((p) => p.consumer === 0).length;
  await consumers[0]!.disconnect({ leaveGroup: false, commit: false });
  killedAt.index = log.length;
  expect(processedByVictim).toBeGreaterThan(0);

  await producing;
  const distinct = () => new Set(log.map((p) => `${p.partition}:${p.offset}`)).size;
  await waitFor('every record to be processed', () => distinct() >= total, 45_000);

  // Nothing after the kill came from the dead consumer; its partitions moved to the survivors.
  expect(log.slice(killedAt.index).some((p) => p.consumer === 0)).toBe(false);
  const survivors = consumers.slice(1).flatMap((c) => c.assignment().map((p) => p.partition));
  expect(survivors.sort()).toEqual([0, 1, 2]);
  for (const partition of victimPartitions) {
    expect(log.some((p) => p.partition === partition && p.consumer !== 0)).toBe(true);
  }

  // None lost: every (key, seq) sent was processed; and what was processed at each offset is what send() said was there.
  const processed = new Map(log.map((p) => [`${p.key}#${p.seq}`, p]));
  expect(processed.size).toBe(total);
  for (const s of sent) expect(processed.has(`${s.key}#${s.seq}`)).toBe(true);
  const byOffset = new Map(log.map((p) => [`${p.partition}:${p.offset}`, `${p.key}#${p.seq}`]));
  const metadataByBatch = new Map<Promise<RecordMetadata[]>, RecordMetadata[]>();
  for (const s of sent) if (!metadataByBatch.has(s.metadata)) metadataByBatch.set(s.metadata, await s.metadata);
  const indexInBatch = new Map<Promise<RecordMetadata[]>, number>();
  for (const s of sent) {
    const i = indexInBatch.get(s.metadata) ?? 0;
    indexInBatch.set(s.metadata, i + 1);
    const m = metadataByBatch.get(s.metadata)![i]!;
    expect(byOffset.get(`${m.partition}:${m.offset}`)).toBe(`${s.key}#${s.seq}`);
  }

  // Order per key: the first time each record was processed, its key's sequence numbers go up by one.
  const next = new Map<string, number>();
  const firstSeen = new Set<string>();
  for (const p of log) {
    const id = `${p.key}#${p.seq}`;
    if (firstSeen.has(id)) continue;
    firstSeen.add(id);
    expect(p.seq).toBe(next.get(p.key) ?? 0);
    next.set(p.key, p.seq + 1);
  }
  // And each consumer saw each partition's offsets in increasing order.
  const last = new Map<string, number>();
  for (const p of log) {
    const where = `${p.consumer}:${p.partition}`;
    const previous = last.get(where);
    if (previous !== undefined && p.offset <= previous) {
      // Only a redelivery after a takeover may go back, and only for a survivor that just got the partition.
      expect(victimPartitions).toContain(p.partition);
    }
    last.set(where, p.offset);
  }
  const duplicates = log.length - processed.size;
  console.log(`processed ${log.length} deliveries of ${total} records (${duplicates} redelivered after the kill)`);
  expect(duplicates).toBeGreaterThan(0);

  await Promise.all(consumers.slice(1).map((c) => c.disconnect()));
  const group = await logway.admin().describeGroup('survivors');
  expect(group.members).toHaveLength(0);
  expect(group.partitions.every((p) => p.lag === 0)).toBe(true);
});
