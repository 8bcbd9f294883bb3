/**
 * A topic's config change binds every request at once: a raised max.message.bytes is honoured by
 * a producer that cached the old limit, and a lowered one refuses at once, though the producer's
 * process caches topic metadata (the gateway runs every handler in this process, so the produce
 * handler's cache is the one under test).
 */
import { describe, expect, it } from 'vitest';
import { useTestService } from '../support/local-service';

const { http } = useTestService();

const record = (size: number) => ({ records: [{ value: 'x'.repeat(size) }] });

describe('config changes take effect at once', () => {
  it('after PATCH raises max.message.bytes, a record under the new limit is accepted immediately', async () => {
    await http.post('/v1/topics', { name: 'raised', partitions: 1, config: { 'max.message.bytes': 1000 } });
    expect((await http.post('/v1/topics/raised/records', record(500))).status).toBe(200);
    expect((await http.post('/v1/topics/raised/records', record(2000))).status).toBe(413);
    expect((await http.patch('/v1/topics/raised', { config: { 'max.message.bytes': 5000 } })).status).toBe(200);
    const accepted = await http.post('/v1/topics/raised/records', record(2000));
    expect(accepted.status).toBe(200);
  });

  it('after PATCH lowers max.message.bytes, a record over the new limit is refused immediately', async () => {
    await http.post('/v1/topics', { name: 'lowered', partitions: 3, config: { 'max.message.bytes': 5000 } });
    for (let partition = 0; partition < 3; partition++) {
      expect((await http.post('/v1/topics/lowered/records', { records: [{ value: 'x'.repeat(2000), partition }] })).status).toBe(200);
    }
    expect((await http.patch('/v1/topics/lowered', { config: { 'max.message.bytes': 1000 } })).status).toBe(200);
    for (let partition = 0; partition < 3; partition++) {
      const refused = await http.post('/v1/topics/lowered/records', { records: [{ value: 'x'.repeat(2000), partition }] });
      expect(refused.status).toBe(413);
      expect(refused.body.error).toMatchObject({ code: 'RECORD_TOO_LARGE', maxMessageBytes: 1000 });
    }
    const described = await http.get('/v1/topics/lowered');
    expect(described.body.partitions.map((p: { highWatermark: number }) => p.highWatermark)).toEqual([1, 1, 1]);
    expect((await http.post('/v1/topics/lowered/records', record(900))).status).toBe(200);
  });

  it('a switch to LogAppendTime stamps the next record with the append time', async () => {
    await http.post('/v1/topics', { name: 'stamped', partitions: 1 });
    const old = 1_000_000_000_000;
    expect((await http.post('/v1/topics/stamped/records', { records: [{ value: 'a', timestamp: old }] })).body.offsets[0].timestamp).toBe(
      old,
    );
    await http.patch('/v1/topics/stamped', { config: { 'message.timestamp.type': 'LogAppendTime' } });
    const before = Date.now();
    const stamped = await http.post('/v1/topics/stamped/records', { records: [{ value: 'b', timestamp: old }] });
    expect(stamped.body.offsets[0].timestamp).toBeGreaterThanOrEqual(before);
  });

  it('after growing partitions, appends planned on the old count re-plan and succeed; a PATCH that changes nothing costs no fence', async () => {
    await http.post('/v1/topics', { name: 'grown', partitions: 1, config: { 'max.message.bytes': 5000 } });
    expect((await http.post('/v1/topics/grown/records', record(10))).status).toBe(200);
    expect((await http.patch('/v1/topics/grown', { partitions: 2, config: { 'max.message.bytes': 5000 } })).status).toBe(200);
    expect((await http.post('/v1/topics/grown/records', { records: [{ value: 'y', partition: 1 }] })).status).toBe(200);
    expect((await http.post('/v1/topics/grown/records', { records: [{ value: 'z', partition: 0 }] })).status).toBe(200);
  });
});
