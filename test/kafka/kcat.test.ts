/** kcat (librdkafka 2.0) against the gateway: admin, every codec, idempotence, groups, offsets by timestamp, both protocols. */
import { beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../shared/records';
import { dynamo } from '../../shared/runtime/aws';
import { type ClientStack, isChunkWrite, throttlingNth } from '../support/intercept';
import { kcatPath, requireKcat, run, sleep, useKafkaService } from './support';

const { http, bootstrap } = useKafkaService();

const kcat = (args: string[], options: Parameters<typeof run>[2] = {}) => run(kcatPath, ['-b', bootstrap(), '-q', ...args], options);

async function fetchAll(topic: string, partition: number) {
  const r = await http.get(`/v1/topics/${topic}/partitions/${partition}/records?offset=0&maxRecords=1000`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.records as {
    key: string | null;
    value: string;
    headers: { key: string; value: string }[];
    timestamp: number;
    offset: number;
  }[];
}

beforeAll(() => requireKcat());

describe('kcat', () => {
  it('lists brokers and topics (Metadata)', async () => {
    await http.post('/v1/topics', { name: 'listed', partitions: 3 });
    const out = await kcat(['-L', '-J']);
    expect(out.code, out.stderr).toBe(0);
    const meta = JSON.parse(out.stdout);
    expect(meta.brokers).toEqual([expect.objectContaining({ id: 0, name: bootstrap() })]);
    expect(meta.topics.find((t: { topic: string }) => t.topic === 'listed').partitions).toHaveLength(3);
  });

  it.each(['none', 'gzip', 'snappy', 'lz4', 'zstd'])(
    'produces with %s; HTTP reads keys, values and headers; kcat reads them back',
    async (codec) => {
      const topic = `codec-${codec}`;
      await http.post('/v1/topics', { name: topic, partitions: 1 });
      const lines = Array.from({ length: 50 }, (_, i) => `key${i}:value-${codec}-${i} ${'x'.repeat(i * 10)}`).join('\n');
      const out = await kcat(['-P', '-t', topic, '-p', '0', '-z', codec, '-K:', '-H', 'origin=kcat', '-X', 'linger.ms=50'], {
        input: `${lines}\n`,
      });
      expect(out.code, out.stderr).toBe(0);
      const records = await fetchAll(topic, 0);
      expect(records).toHaveLength(50);
      expect(records[7]).toMatchObject({
        key: 'key7',
        value: `value-${codec}-7 ${'x'.repeat(70)}`,
        headers: [{ key: 'origin', value: 'kcat' }],
      });
      const back = await kcat(['-C', '-t', topic, '-e', '-f', '%k=%s\\n']);
      expect(back.code, back.stderr).toBe(0);
      expect(back.stdout.split('\n').filter(Boolean)).toHaveLength(50);
    },
  );

  it('produces idempotently (enable.idempotence) with the murmur2 partitioner, keys placed as HTTP places them', async () => {
    await http.post('/v1/topics', { name: 'placed', partitions: 4 });
    const keys = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const out = await kcat(['-P', '-t', 'placed', '-K:', '-X', 'enable.idempotence=true', '-X', 'partitioner=murmur2_random'], {
      input: `${keys.map((k) => `${k}:${k}`).join('\n')}\n`,
    });
    expect(out.code, out.stderr).toBe(0);
    for (let partition = 0; partition < 4; partition++) {
      const records = await fetchAll('placed', partition);
      for (const r of records) expect(partitionForKey(r.key!, 4)).toBe(partition);
    }
    const total = (await Promise.all([0, 1, 2, 3].map((p) => fetchAll('placed', p)))).flat().length;
    expect(total).toBe(20);
  });

  it('an idempotent producer with 5 requests in flight keeps every record, once and in order, when one append is throttled', async () => {
    // DynamoDB throttles a hot partition's key (docs/performance.md, "Capacity model"). The
    // throttled batch must be retried by the client, and the batches in flight behind it must not
    // land before it: a broker answers them OUT_OF_ORDER_SEQUENCE_NUMBER, and librdkafka re-sends them in order.
    await http.post('/v1/topics', { name: 'throttled-once', partitions: 1 });
    const values = Array.from({ length: 120 }, (_, i) => `m${i}`);
    const { result: out, throttled } = await throttlingNth(dynamo().middlewareStack as ClientStack, isChunkWrite, 8, () =>
      kcat(
        [
          '-P',
          '-t',
          'throttled-once',
          '-p',
          '0',
          '-X',
          'enable.idempotence=true',
          '-X',
          'linger.ms=0',
          '-X',
          'batch.num.messages=1',
          '-X',
          'max.in.flight.requests.per.connection=5',
        ],
        { input: `${values.join('\n')}\n` },
      ),
    );
    expect(throttled).toBe(true);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).not.toMatch(/fail|error/i);
    const records = await fetchAll('throttled-once', 0);
    expect(records.map((r) => r.value)).toEqual(values);
    expect(records.map((r) => r.offset)).toEqual(values.map((_, i) => i));
  });

  it('reads what HTTP produced, keys, headers and timestamps intact, and finds offsets by timestamp', async () => {
    await http.post('/v1/topics', { name: 'cross', partitions: 1 });
    const records = Array.from({ length: 5 }, (_, i) => ({
      key: `k${i}`,
      value: `v${i}`,
      timestamp: 1_600_000_000_000 + i * 1000,
      headers: [{ key: 'h', value: `x${i}` }],
      partition: 0,
    }));
    expect((await http.post('/v1/topics/cross/records', { records })).status).toBe(200);
    const all = await kcat(['-C', '-t', 'cross', '-e', '-f', '%o|%k|%s|%T|%h\\n']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout.trim().split('\n')).toEqual(records.map((r, i) => `${i}|${r.key}|${r.value}|${r.timestamp}|h=x${i}`));
    const fromTime = await kcat(['-C', '-t', 'cross', '-e', '-o', `s@${1_600_000_000_000 + 2500}`, '-f', '%o\\n']);
    expect(fromTime.stdout.trim().split('\n')).toEqual(['3', '4']);
  });

  it('consumes as a group (-G), commits, and the group shows in GET /v1/groups', async () => {
    await http.post('/v1/topics', { name: 'kgroup', partitions: 2 });
    const records = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    await http.post('/v1/topics/kgroup/records', { records });
    const consumed = await kcat(['-G', 'kcat-group', '-o', 'beginning', '-f', '%s\\n', '-X', 'auto.commit.interval.ms=200', 'kgroup'], {
      stopAfterMs: 8000,
    });
    expect(consumed.stdout.split('\n').filter(Boolean).sort()).toEqual(records.map((r) => r.value).sort());
    await sleep(200);
    const group = await http.get('/v1/groups/kcat-group');
    expect(group.status).toBe(200);
    expect(
      group.body.partitions
        .map((p: { committedOffset: number | null }) => p.committedOffset ?? 0)
        .reduce((a: number, b: number) => a + b, 0),
    ).toBe(10);
  }, 30_000);

  it('shares a topic between two kcat group members, rebalancing when the second joins', async () => {
    await http.post('/v1/topics', { name: 'kshare', partitions: 4 });
    // No -o: kcat -G would apply it at every assignment; committed offsets (else earliest) are the point here.
    const member = (stopAfterMs: number) =>
      kcat(['-G', 'kcat-share', '-X', 'auto.offset.reset=earliest', '-X', 'heartbeat.interval.ms=500', '-f', '%p:%s\\n', 'kshare'], {
        stopAfterMs,
      });
    const first = member(15_500);
    await sleep(1500);
    const second = member(14_000);
    await sleep(6000);
    const records = Array.from({ length: 40 }, (_, i) => ({ key: `key-${i}`, value: `v${i}` }));
    expect((await http.post('/v1/topics/kshare/records', { records })).status).toBe(200);
    const [a, b] = await Promise.all([first, second]);
    const lines = (out: { stdout: string }) => out.stdout.split('\n').filter(Boolean);
    const partitionsOf = (out: { stdout: string }) => new Set(lines(out).map((l) => l.split(':')[0]));
    // Both members got records, from disjoint partitions, and every record was read exactly once.
    expect(lines(a).length, a.stderr).toBeGreaterThan(0);
    expect(lines(b).length, b.stderr).toBeGreaterThan(0);
    for (const p of partitionsOf(a)) expect(partitionsOf(b).has(p)).toBe(false);
    expect([...lines(a), ...lines(b)].map((l) => l.split(':')[1]).sort()).toEqual(records.map((r) => r.value).sort());
  }, 40_000);
});
