/**
 * Idempotency-Keys belong to one topic (by topic id): a deleted and re-created topic does not
 * replay the old topic's offsets, and the same key on two topics means two requests.
 */
import { describe, expect, it } from 'vitest';
import { useTestService } from '../support/local-service';

const { http } = useTestService();

describe('Idempotency-Key scope', () => {
  it('a topic deleted and created again under the same name starts with no keys', async () => {
    const body = { records: [{ value: 'one' }, { value: 'two' }] };
    await http.post('/v1/topics', { name: 'reborn', partitions: 1 });
    await http.post('/v1/topics/reborn/records', { records: [{ value: 'zero' }] });
    const first = await http.post('/v1/topics/reborn/records', body, { 'Idempotency-Key': 'reborn-1' });
    expect(first.body.offsets.map((o: { offset: number }) => o.offset)).toEqual([1, 2]);
    expect((await http.delete('/v1/topics/reborn')).status).toBe(204);
    expect((await http.post('/v1/topics', { name: 'reborn', partitions: 1 })).status).toBe(201);

    const again = await http.post('/v1/topics/reborn/records', body, { 'Idempotency-Key': 'reborn-1' });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(again.body.offsets.map((o: { offset: number }) => o.offset)).toEqual([0, 1]);
    expect((await http.get('/v1/topics/reborn')).body.partitions[0].highWatermark).toBe(2);
    // And within the new topic the key replays as usual.
    const replay = await http.post('/v1/topics/reborn/records', body, { 'Idempotency-Key': 'reborn-1' });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(again.body);
  });

  it("one topic's producer cannot squat another topic's key", async () => {
    await http.post('/v1/topics', { name: 'squatter', partitions: 1 });
    await http.post('/v1/topics', { name: 'victim', partitions: 1 });
    const squat = await http.post('/v1/topics/squatter/records', { records: [{ value: 'mine' }] }, { 'Idempotency-Key': 'order-42' });
    expect(squat.status).toBe(200);
    const victim = await http.post('/v1/topics/victim/records', { records: [{ value: 'order 42' }] }, { 'Idempotency-Key': 'order-42' });
    expect(victim.status).toBe(200);
    expect(victim.headers.get('idempotent-replayed')).toBeNull();
    const read = await http.get('/v1/topics/victim/partitions/0/records?offset=0');
    expect(read.body.records.map((r: { value: string }) => r.value)).toEqual(['order 42']);
  });
});
