/**
 * The client against the local service: admin operations, message shapes, and the consumer's
 * group behaviour (resume from committed offsets, auto offset reset, seek, pause/resume,
 * eachBatch with manual commits, OFFSET_OUT_OF_RANGE, fencing and rejoin, graceful leave).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Logway } from '../../client/src/logway';
import { LogwayApiError } from '../../client/src/errors';
import type { Consumer, ConsumerOptions, EachMessagePayload, RunOptions } from '../../client/src/consumer';
import type { Message } from '../../client/src/records';
import { startTestService, type TestService } from '../support/local-service';

let service: TestService;
let logway: Logway;
const running: Consumer[] = [];

beforeAll(async () => {
  service = await startTestService();
  logway = new Logway({ url: service.url });
});

afterAll(async () => {
  await Promise.all(running.map((c) => c.disconnect()));
  await service?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function produce(topic: string, values: string[], key?: string): Promise<void> {
  const producer = logway.producer({ lingerMs: 0 });
  await producer.send({ topic, messages: values.map((value) => ({ key: key ?? null, value })) });
  await producer.close();
}

/** A started consumer that records what it got. */
async function consume(
  topic: string,
  options: Partial<ConsumerOptions> & { groupId: string; fromBeginning?: boolean },
  run: Partial<RunOptions> = {},
): Promise<{ consumer: Consumer; got: (Message & { topic: string })[] }> {
  const { fromBeginning, ...consumerOptions } = options;
  const consumer = logway.consumer({ sessionTimeoutMs: 30_000, heartbeatIntervalMs: 200, maxWaitTimeInMs: 500, ...consumerOptions });
  running.push(consumer);
  const got: (Message & { topic: string })[] = [];
  await consumer.subscribe({ topics: [topic], ...(fromBeginning !== undefined ? { fromBeginning } : {}) });
  await consumer.run({
    eachMessage: async ({ topic: t, message }: EachMessagePayload) => {
      got.push({ ...message, topic: t });
    },
    ...run,
  });
  return { consumer, got };
}

const values = (messages: Message[]) => messages.map((m) => m.value?.toString() ?? null);

describe('admin', () => {
  it('creates, lists, describes, alters and deletes topics; errors are typed', async () => {
    const admin = logway.admin();
    const created = await admin.createTopic({ topic: 'admin-a', numPartitions: 2, config: { 'retention.ms': 3_600_000 } });
    expect(created.partitions).toHaveLength(2);
    expect(created.config['retention.ms']).toBe(3_600_000);
    expect(
      await admin.createTopics({
        topics: [{ topic: 'admin-a' }, { topic: 'admin-b', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
      }),
    ).toBe(false);
    expect((await admin.describeTopic('admin-b')).config['cleanup.policy']).toBe('compact');
    const error = await admin.createTopic({ topic: 'admin-a' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogwayApiError);
    expect(error).toMatchObject({ status: 409, code: 'TOPIC_ALREADY_EXISTS' });
    expect((await admin.listTopics()).map((t) => t.name)).toEqual(expect.arrayContaining(['admin-a', 'admin-b']));
    await admin.alterTopic('admin-a', { partitions: 4 });
    await produce('admin-a', ['x', 'y']);
    const offsets = await admin.fetchTopicOffsets('admin-a');
    expect(offsets).toHaveLength(4);
    expect(offsets.reduce((n, o) => n + o.high, 0)).toBe(2);
    await expect(admin.alterTopic('admin-a', { partitions: 2 })).rejects.toMatchObject({ status: 400, code: 'INVALID_PARTITIONS' });
    await admin.deleteTopics({ topics: ['admin-a', 'admin-b'] });
    await expect(admin.describeTopic('admin-a')).rejects.toMatchObject({ status: 404, code: 'UNKNOWN_TOPIC_OR_PARTITION' });
    await expect(admin.describeGroup('no-such-group')).rejects.toMatchObject({ status: 404, code: 'GROUP_ID_NOT_FOUND' });
  });
});

describe('messages', () => {
  it('round-trips keys, values, headers, bytes, tombstones and timestamps', async () => {
    await logway.admin().createTopic({ topic: 'shapes', numPartitions: 1 });
    const producer = logway.producer({ lingerMs: 0 });
    const [first] = await producer.send({
      topic: 'shapes',
      messages: [
        { key: 'k', value: 'text', headers: { trace: 'abc', multi: ['1', '2'] }, timestamp: 1_700_000_000_000 },
        { key: Buffer.from([0xfe, 0x01]), value: Buffer.from([0xff, 0x00, 0x80]) },
        { key: 'json', value: { a: 1, b: [true, null] } },
        { key: 'gone', value: null },
      ],
    });
    expect(first).toMatchObject({ topicName: 'shapes', partition: 0, offset: 0, timestamp: 1_700_000_000_000 });
    const [result] = await logway.fetch({ partitions: [{ topic: 'shapes', partition: 0, offset: 0 }] });
    if (!result || 'error' in result) throw new Error('fetch failed');
    const [text, bytes, json, tombstone] = result.messages;
    expect(text!.key!.toString()).toBe('k');
    expect(text!.value!.toString()).toBe('text');
    expect(text!.timestamp).toBe(1_700_000_000_000);
    expect(text!.headers.trace!.toString()).toBe('abc');
    expect((text!.headers.multi as Buffer[]).map(String)).toEqual(['1', '2']);
    expect(text!.headerList.map((h) => h.key)).toEqual(['trace', 'multi', 'multi']);
    expect([...bytes!.key!]).toEqual([0xfe, 0x01]);
    expect([...bytes!.value!]).toEqual([0xff, 0x00, 0x80]);
    expect(JSON.parse(json!.value!.toString())).toEqual({ a: 1, b: [true, null] });
    expect(tombstone!.value).toBeNull();
  });
});

describe('consumer', () => {
  it('starts at latest by default and at earliest with fromBeginning, then resumes a group from its committed offset', async () => {
    await logway.admin().createTopic({ topic: 'resume', numPartitions: 1 });
    await produce('resume', ['old-1', 'old-2']);

    const latest = await consume('resume', { groupId: 'latest-group' });
    const early = await consume('resume', { groupId: 'resume-group', fromBeginning: true });
    await waitFor('assignments', () => latest.consumer.assignment().length === 1 && early.got.length === 2);
    await sleep(300); // latest has its position before the next records
    await produce('resume', ['new-1', 'new-2', 'new-3']);
    await waitFor('new records', () => latest.got.length === 3 && early.got.length === 5);
    expect(values(latest.got)).toEqual(['new-1', 'new-2', 'new-3']);
    expect(values(early.got)).toEqual(['old-1', 'old-2', 'new-1', 'new-2', 'new-3']);

    await early.consumer.disconnect(); // commits 5, leaves
    expect(await logway.admin().fetchOffsets({ groupId: 'resume-group' })).toMatchObject([{ topic: 'resume', partition: 0, offset: 5 }]);
    await produce('resume', ['after']);
    const again = await consume('resume', { groupId: 'resume-group', fromBeginning: true });
    await waitFor('the record after the commit', () => again.got.length === 1);
    await sleep(300);
    expect(values(again.got)).toEqual(['after']);
  });

  it('leaving the group hands partitions over at once (long before the session would expire)', async () => {
    await logway.admin().createTopic({ topic: 'handover', numPartitions: 2 });
    const a = await consume('handover', { groupId: 'handover-group', sessionTimeoutMs: 60_000 });
    const b = await consume('handover', { groupId: 'handover-group', sessionTimeoutMs: 60_000 });
    await waitFor('one partition each', () => a.consumer.assignment().length === 1 && b.consumer.assignment().length === 1);
    const left = Date.now();
    await b.consumer.disconnect();
    await waitFor('a takes both partitions', () => a.consumer.assignment().length === 2, 10_000);
    expect(Date.now() - left).toBeLessThan(5000);
    const group = await logway.admin().describeGroup('handover-group');
    expect(group.members.map((m) => m.memberId)).toEqual([a.consumer.memberId]);
  });

  it('seeks, pauses and resumes', async () => {
    await logway.admin().createTopic({ topic: 'steer', numPartitions: 1 });
    await produce('steer', ['0', '1', '2', '3', '4']);
    const { consumer, got } = await consume('steer', { groupId: 'steer-group', fromBeginning: true });
    await waitFor('all five', () => got.length === 5);
    consumer.seek({ topic: 'steer', partition: 0, offset: 3 });
    await waitFor('3 and 4 again', () => got.length === 7);
    expect(values(got.slice(5))).toEqual(['3', '4']);

    consumer.pause([{ topic: 'steer' }]);
    expect(consumer.paused()).toEqual([{ topic: 'steer', partitions: [0] }]);
    await produce('steer', ['5']);
    await sleep(800);
    expect(got).toHaveLength(7);
    consumer.resume([{ topic: 'steer' }]);
    await waitFor('5 after resume', () => got.length === 8);
    expect(got[7]!.value!.toString()).toBe('5');
  });

  it('eachBatch with resolveOffset and manual commits', async () => {
    await logway.admin().createTopic({ topic: 'batches', numPartitions: 1 });
    await produce('batches', ['a', 'b', 'c', 'd']);
    const batches: string[][] = [];
    const consumer = logway.consumer({
      groupId: 'batch-group',
      autoOffsetReset: 'earliest',
      heartbeatIntervalMs: 200,
      maxWaitTimeInMs: 300,
    });
    running.push(consumer);
    await consumer.subscribe({ topics: ['batches'] });
    let committed = false;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, isStale }) => {
        batches.push(values(batch.messages) as string[]);
        for (const message of batch.messages) {
          if (isStale()) break;
          if (message.value!.toString() === 'c') break; // stop before 'c': it comes again
          resolveOffset(message.offset);
        }
        if (!committed) {
          committed = true;
          await consumer.commitOffsets([{ topic: 'batches', partition: 0, offset: 2 }]);
        }
      },
    });
    await waitFor('a redelivery from c', () => batches.length >= 2);
    expect(batches[0]).toEqual(['a', 'b', 'c', 'd']);
    expect(batches[1]).toEqual(['c', 'd']);
    expect(await logway.admin().fetchOffsets({ groupId: 'batch-group', topics: ['batches'] })).toMatchObject([{ partition: 0, offset: 2 }]);
    await consumer.disconnect();
    // autoCommit off: disconnect does not commit what was processed.
    expect(await logway.admin().fetchOffsets({ groupId: 'batch-group' })).toMatchObject([{ offset: 2 }]);
  });

  it('redelivers a message whose handler failed, after a backoff', async () => {
    await logway.admin().createTopic({ topic: 'flaky', numPartitions: 1 });
    await produce('flaky', ['ok', 'boom', 'fine']);
    const seen: string[] = [];
    const errors: string[] = [];
    let failures = 0;
    const consumer = logway.consumer({
      groupId: 'flaky-group',
      autoOffsetReset: 'earliest',
      heartbeatIntervalMs: 200,
      maxWaitTimeInMs: 300,
      retry: { initialRetryTimeMs: 50 },
    });
    running.push(consumer);
    consumer.on('error', ({ context }) => errors.push(context));
    await consumer.subscribe({ topics: ['flaky'] });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = message.value!.toString();
        if (value === 'boom' && failures++ < 2) throw new Error('not yet');
        seen.push(value);
      },
    });
    await waitFor('all three', () => seen.length === 3);
    expect(seen).toEqual(['ok', 'boom', 'fine']);
    expect(errors).toEqual(['eachMessage', 'eachMessage']);
  });

  it('resets an out-of-range committed offset per auto offset reset', async () => {
    await logway.admin().createTopic({ topic: 'range', numPartitions: 1 });
    await produce('range', ['r0', 'r1', 'r2']);
    await logway.admin().setOffsets({ groupId: 'range-group', topic: 'range', partitions: [{ partition: 0, offset: 1000 }] });
    const resets: { from: number; to: number }[] = [];
    const consumer = logway.consumer({
      groupId: 'range-group',
      autoOffsetReset: 'earliest',
      heartbeatIntervalMs: 200,
      maxWaitTimeInMs: 300,
    });
    running.push(consumer);
    consumer.on('offset.reset', ({ from, to }) => resets.push({ from, to }));
    const got: string[] = [];
    await consumer.subscribe({ topics: ['range'] });
    await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
    await waitFor('the records from the start', () => got.length === 3);
    expect(resets).toEqual([{ from: 1000, to: 0 }]);
    expect(got).toEqual(['r0', 'r1', 'r2']);
  });

  it('drops its partitions and rejoins when the group no longer knows it (UNKNOWN_MEMBER_ID)', async () => {
    await logway.admin().createTopic({ topic: 'fenced', numPartitions: 2 });
    const { consumer, got } = await consume('fenced', { groupId: 'fenced-group', fromBeginning: true });
    const lost: string[] = [];
    const joins: number[] = [];
    consumer.on('partitions.lost', ({ reason }) => lost.push(reason));
    consumer.on('group.join', ({ memberEpoch }) => joins.push(memberEpoch));
    await waitFor('both partitions', () => consumer.assignment().length === 2);
    // The first join may be reported after the listener was added: count rejoins from here.
    const joinsBefore = joins.length;

    // Someone removes the member behind its back (as an expiry would).
    const response = await fetch(`${service.url}/v1/groups/fenced-group/heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ memberId: consumer.memberId, memberEpoch: -1 }),
    });
    expect(response.status).toBe(200);
    // The member learns at its next heartbeat (5 s apart); allow for a loaded 2-core machine.
    await waitFor('the member to notice and rejoin', () => lost.length === 1 && joins.length === joinsBefore + 1, 25_000);
    expect(lost).toEqual(['UNKNOWN_MEMBER_ID']);
    await waitFor('its partitions back', () => consumer.assignment().length === 2);
    await produce('fenced', ['after-rejoin']);
    await waitFor('consumption to go on', () => got.length === 1);
    expect(values(got)).toEqual(['after-rejoin']);
  });
});
