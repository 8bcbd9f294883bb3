/**
 * Groups at the edges: offsets that outlive their topic, a group item that would pass DynamoDB's
 * 400 KB, listings that would pass Lambda's 6 MB response, and writes whose response is lost.
 */
import { describe, expect, it } from 'vitest';
import { useTestService } from '../support/local-service';
import { type ClientStack, loseFirstResponse } from '../support/intercept';
import { dynamo } from '../../shared/runtime/aws';

const { http } = useTestService();

describe('committed offsets belong to one topic id', () => {
  it('a topic deleted and created again under its name starts with no committed offsets', async () => {
    expect((await http.post('/v1/topics', { name: 'reborn', partitions: 2 })).status).toBe(201);
    const commit = await http.post('/v1/groups/reborn-readers/offsets', {
      offsets: [
        { topic: 'reborn', partition: 0, offset: 0 },
        { topic: 'reborn', partition: 1, offset: 0 },
      ],
    });
    expect(commit.status, JSON.stringify(commit.body)).toBe(200);
    expect((await http.get('/v1/groups/reborn-readers/offsets')).body.offsets).toHaveLength(2);

    expect((await http.delete('/v1/topics/reborn')).status).toBe(204);
    // Gone with the topic: neither listed nor counted for lag.
    expect((await http.get('/v1/groups/reborn-readers/offsets')).body.offsets).toEqual([]);
    expect((await http.post('/v1/topics', { name: 'reborn', partitions: 2 })).status).toBe(201);
    expect((await http.get('/v1/groups/reborn-readers/offsets')).body.offsets).toEqual([]);
    const described = await http.get('/v1/groups/reborn-readers');
    expect(described.body.partitions.every((p: any) => p.committedOffset === null)).toBe(true);

    // New commits count again.
    await http.post('/v1/groups/reborn-readers/offsets', { offsets: [{ topic: 'reborn', partition: 0, offset: 0 }] });
    expect((await http.get('/v1/groups/reborn-readers/offsets')).body.offsets).toMatchObject([
      { topic: 'reborn', partition: 0, offset: 0 },
    ]);
  });

  it('a commit to a topic that does not exist is 404, not a stored offset', async () => {
    const response = await http.post('/v1/groups/ghost-readers/offsets', {
      offsets: [{ topic: 'no-such-topic', partition: 0, offset: 1 }],
    });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
  });
});

describe('the group item stays under 400 KB', () => {
  it('a join that would pass the limit is 413 GROUP_TOO_LARGE, and the group keeps working', async () => {
    const topics = (member: string) => Array.from({ length: 1000 }, (_, i) => `${member}-${i}-`.padEnd(249, 'x'));
    const first = await http.post('/v1/groups/crowded/heartbeat', { memberId: 'm1', memberEpoch: 0, subscribedTopics: topics('a') });
    expect(first.status, JSON.stringify(first.body).slice(0, 300)).toBe(200);
    const second = await http.post('/v1/groups/crowded/heartbeat', { memberId: 'm2', memberEpoch: 0, subscribedTopics: topics('b') });
    expect(second.status, JSON.stringify(second.body).slice(0, 300)).toBe(413);
    expect(second.body.error).toMatchObject({ code: 'GROUP_TOO_LARGE', group: 'crowded' });
    const again = await http.post('/v1/groups/crowded/heartbeat', { memberId: 'm1', memberEpoch: first.body.memberEpoch });
    expect(again.status).toBe(200);
    expect((await http.get('/v1/groups/crowded')).body.members).toHaveLength(1);
  });
});

describe('listings past Lambda 6 MB response are paged', () => {
  it('offsets whose metadata grows 6x as JSON come back in pages that together hold every offset', async () => {
    const partitions = 300;
    expect((await http.post('/v1/topics', { name: 'wide', partitions })).status).toBe(201);
    // 4,096 bytes of U+0001 each: \u0001 in JSON, six times the bytes.
    const metadata = '\u0001'.repeat(4096);
    for (let start = 0; start < partitions; start += 99) {
      const offsets = Array.from({ length: Math.min(99, partitions - start) }, (_, i) => ({
        topic: 'wide',
        partition: start + i,
        offset: 0,
        metadata,
      }));
      const response = await http.post('/v1/groups/wide-readers/offsets', { offsets });
      expect(response.status, JSON.stringify(response.body).slice(0, 300)).toBe(200);
    }
    const seen: number[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const response: { status: number; body: any } = await http.get(
        `/v1/groups/wide-readers/offsets${token ? `?pageToken=${token}` : ''}`,
      );
      expect(response.status).toBe(200);
      expect(JSON.stringify(response.body).length).toBeLessThan(5_500_000);
      seen.push(...response.body.offsets.map((o: any) => o.partition));
      token = response.body.nextPageToken;
      pages++;
    } while (token);
    expect(pages).toBeGreaterThan(1);
    expect(seen).toEqual(Array.from({ length: partitions }, (_, i) => i));

    const described: number[] = [];
    token = undefined;
    do {
      const response: { status: number; body: any } = await http.get(`/v1/groups/wide-readers${token ? `?pageToken=${token}` : ''}`);
      expect(response.status).toBe(200);
      described.push(...response.body.partitions.map((p: any) => p.partition));
      token = response.body.nextPageToken;
    } while (token);
    expect(described).toEqual(Array.from({ length: partitions }, (_, i) => i));
  });

  it('a page token that is not one the listing gave is 400', async () => {
    const response = await http.get('/v1/groups/wide-readers/offsets?pageToken=not-a-token');
    expect(response.status).toBe(400);
    expect(response.body.error.field).toBe('pageToken');
  });
});

describe('a group write whose response DynamoDB lost is retried by the SDK and counted once', () => {
  const groupWrites = (command: string, input: any) =>
    (command === 'PutItemCommand' || command === 'UpdateItemCommand') && String(input.TableName).endsWith('groups');

  it.each([
    ['a join', 0],
    ['a heartbeat', 1],
  ])('%s answers 200 with the epoch it wrote', async (_, beatsBefore) => {
    await http.post('/v1/topics', { name: `lost-${beatsBefore}`, partitions: 2 });
    const group = `/v1/groups/lost-readers-${beatsBefore}/heartbeat`;
    let memberEpoch = 0;
    if (beatsBefore) {
      const joined = await http.post(group, { memberId: 'm1', memberEpoch: 0, subscribedTopics: [`lost-${beatsBefore}`] });
      memberEpoch = joined.body.memberEpoch;
    }
    const body =
      memberEpoch === 0 ? { memberId: 'm1', memberEpoch, subscribedTopics: [`lost-${beatsBefore}`] } : { memberId: 'm1', memberEpoch };
    const { result, lost } = await loseFirstResponse(dynamo().middlewareStack as ClientStack, groupWrites, () => http.post(group, body));
    expect(lost).toBe(true);
    expect(result.status, JSON.stringify(result.body)).toBe(200);
    const again = await http.post(group, { memberId: 'm1', memberEpoch: result.body.memberEpoch });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.memberEpoch).toBe(result.body.memberEpoch);
  });
});
