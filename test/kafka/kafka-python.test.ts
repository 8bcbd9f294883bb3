/** kafka-python (Debian python3-kafka), a second independent client: admin, gzip produce, a group that commits, offsets by timestamp. */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pythonPath, requireKafkaPython, run, useKafkaService } from './support';

const { http, bootstrap } = useKafkaService();

beforeAll(() => requireKafkaPython());

describe('kafka-python', () => {
  it('creates a topic, produces with gzip, consumes in a group, commits, and looks up offsets by time', async () => {
    const script = join(import.meta.dirname, 'kafka_python_client.py');
    const out = await run(pythonPath, [script, bootstrap(), 'py'], { timeoutMs: 60_000 });
    expect(out.code, out.stderr).toBe(0);
    const result = JSON.parse(out.stdout.trim().split('\n').pop()!);
    expect(result.topics).toEqual(['py']);
    expect(result.retention).toEqual(['3600000']);
    expect(result.consumed).toHaveLength(20);
    expect(result.consumed[3]).toEqual({ key: 'k3', value: 'v3', headers: [['n', '3']], timestamp: 1_650_000_000_003 });
    expect(result.committed).toEqual({ '0': 10, '1': 10 });
    // Partition 0 holds even i (timestamps base+0, +2, ...): base+10 is its 6th record; partition 1's is base+11, its 6th too.
    expect(result.byTime).toEqual({ '0': 5, '1': 5 });

    const group = await http.get('/v1/groups/py-group');
    expect(group.status).toBe(200);
    expect(group.body.partitions.map((p: { committedOffset: number; lag: number }) => [p.committedOffset, p.lag])).toEqual([
      [10, 0],
      [10, 0],
    ]);
    const fetched = await http.get('/v1/topics/py/partitions/1/records?offset=0');
    expect(fetched.body.records[0]).toMatchObject({
      key: 'k1',
      value: 'v1',
      timestamp: 1_650_000_000_001,
      headers: [{ key: 'n', value: '1' }],
    });
  }, 90_000);
});
