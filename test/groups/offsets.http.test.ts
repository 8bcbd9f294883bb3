/**
 * Offset commits, fencing of zombie commits, describe/list, reset-offsets and delete, over real
 * HTTP (local gateway → handlers → DynamoDB Local).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/local-service';
import { client, sleep, type Client } from './support';

let service: TestService;
let c: Client;

beforeAll(async () => {
  service = await startTestService();
  c = client(service.url);
  await c.createTopic('events', 4);
  await c.produce('events', 0, 5);
  await c.produce('events', 1, 2);
  const stamped = [1000, 2000, 3000].map((timestamp, i) => ({ value: `t${i}`, partition: 2, timestamp }));
  expect((await c.call('POST', '/v1/topics/events/records', { records: stamped })).status).toBe(200);
});

afterAll(async () => {
  await service?.stop();
});

const committed = async (group: string) => {
  const reply = await c.offsets(group);
  expect(reply.status).toBe(200);
  return Object.fromEntries((reply.body.offsets as any[]).map((o) => [`${o.topic}:${o.partition}`, o.offset]));
};

async function join(group: string, memberId: string, sessionTimeoutMs = 30_000) {
  const reply = await c.heartbeat(group, { memberId, memberEpoch: 0, subscribedTopics: ['events'], sessionTimeoutMs });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body as { memberId: string; memberEpoch: number; assignment: Record<string, number[]> };
}

describe('commits by members', () => {
  it('accepts the owner at its epoch; rejects stale epochs, non-owners, expired and unknown members, changing nothing', async () => {
    const g = 'fencing';
    const a = await join(g, 'a');
    expect(a.assignment).toEqual({ events: [0, 1, 2, 3] });
    const ok = await c.commit(g, {
      memberId: 'a',
      memberEpoch: 1,
      offsets: [0, 1, 2, 3].map((p) => ({ topic: 'events', partition: p, offset: 1 })),
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(await committed(g)).toEqual({ 'events:0': 1, 'events:1': 1, 'events:2': 1, 'events:3': 1 });

    // b joins: a must give up two partitions. While it still holds them it may commit them (commit before revoke).
    await join(g, 'b');
    const revoke = (await c.heartbeat(g, { memberId: 'a', memberEpoch: 1, ownedPartitions: { events: [0, 1, 2, 3] } })).body;
    expect(revoke.memberEpoch).toBe(1);
    const keeps: number[] = revoke.assignment.events;
    const gives = [0, 1, 2, 3].filter((p) => !keeps.includes(p));
    const beforeRevoke = await c.commit(g, {
      memberId: 'a',
      memberEpoch: 1,
      offsets: gives.map((p) => ({ topic: 'events', partition: p, offset: 2 })),
    });
    expect(beforeRevoke.status, JSON.stringify(beforeRevoke.body)).toBe(200);

    // a confirms and moves to epoch 2; b gets the two partitions.
    const confirmed = (await c.heartbeat(g, { memberId: 'a', memberEpoch: 1, ownedPartitions: revoke.assignment })).body;
    expect(confirmed.memberEpoch).toBe(2);
    const bNow = (await c.heartbeat(g, { memberId: 'b', memberEpoch: 2, ownedPartitions: {} })).body;
    expect(bNow.assignment).toEqual({ events: gives });
    const before = await committed(g);

    // Zombie 1: a with its old epoch, on a partition it still owns.
    const stale = await c.commit(g, { memberId: 'a', memberEpoch: 1, offsets: [{ topic: 'events', partition: keeps[0]!, offset: 9 }] });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'STALE_MEMBER_EPOCH', reason: 'STALE_EPOCH', memberEpoch: 1, currentMemberEpoch: 2 });

    // Zombie 2: a at its current epoch on a partition that moved to b, together with one it owns: all or nothing.
    const notOwner = await c.commit(g, {
      memberId: 'a',
      memberEpoch: 2,
      offsets: [
        { topic: 'events', partition: keeps[0]!, offset: 9 },
        { topic: 'events', partition: gives[0]!, offset: 9 },
      ],
    });
    expect(notOwner.status).toBe(409);
    expect(notOwner.body.error).toMatchObject({
      code: 'STALE_MEMBER_EPOCH',
      reason: 'NOT_OWNER',
      partitions: [{ topic: 'events', partition: gives[0] }],
    });

    // Unknown member.
    const unknown = await c.commit(g, { memberId: 'nobody', memberEpoch: 2, offsets: [{ topic: 'events', partition: 0, offset: 9 }] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'UNKNOWN_MEMBER_ID', reason: 'UNKNOWN' });
    expect(await committed(g)).toEqual(before);

    // The rightful owners commit fine.
    expect(
      (await c.commit(g, { memberId: 'b', memberEpoch: 2, offsets: [{ topic: 'events', partition: gives[0]!, offset: 3 }] })).status,
    ).toBe(200);
    expect(
      (await c.commit(g, { memberId: 'a', memberEpoch: 2, offsets: [{ topic: 'events', partition: keeps[0]!, offset: 3 }] })).status,
    ).toBe(200);
    expect(await committed(g)).toMatchObject({ [`events:${gives[0]}`]: 3, [`events:${keeps[0]}`]: 3 });
  });

  it("rejects an expired member's commit even before anyone noticed it expired (zombie), changing nothing", async () => {
    const g = 'zombie';
    const z = await join(g, 'z', 1000);
    expect(
      (await c.commit(g, { memberId: 'z', memberEpoch: z.memberEpoch, offsets: [{ topic: 'events', partition: 0, offset: 4 }] })).status,
    ).toBe(200);
    await sleep(1200);
    const late = await c.commit(g, { memberId: 'z', memberEpoch: z.memberEpoch, offsets: [{ topic: 'events', partition: 0, offset: 5 }] });
    expect(late.status).toBe(404);
    expect(late.body.error).toMatchObject({ code: 'UNKNOWN_MEMBER_ID', reason: 'EXPIRED' });
    expect(await committed(g)).toEqual({ 'events:0': 4 });

    // After another member took over, the zombie is still refused and the new owner's commits stand.
    const n = await join(g, 'n');
    expect(n.assignment).toEqual({ events: [0, 1, 2, 3] });
    expect(
      (await c.commit(g, { memberId: 'n', memberEpoch: n.memberEpoch, offsets: [{ topic: 'events', partition: 0, offset: 5 }] })).status,
    ).toBe(200);
    const zombie = await c.commit(g, {
      memberId: 'z',
      memberEpoch: z.memberEpoch,
      offsets: [{ topic: 'events', partition: 0, offset: 1 }],
    });
    expect(zombie.status).toBe(404);
    expect(await committed(g)).toEqual({ 'events:0': 5 });
  });

  it('commits concurrently with heartbeats of other members without spurious rejections', async () => {
    const g = 'busy-commits';
    const a = await join(g, 'a');
    const b = await join(g, 'b');
    // Settle so both own two partitions.
    let aHeld = (await c.heartbeat(g, { memberId: 'a', memberEpoch: a.memberEpoch, ownedPartitions: a.assignment })).body;
    aHeld = (await c.heartbeat(g, { memberId: 'a', memberEpoch: aHeld.memberEpoch, ownedPartitions: aHeld.assignment })).body;
    const bHeld = (await c.heartbeat(g, { memberId: 'b', memberEpoch: b.memberEpoch, ownedPartitions: {} })).body;
    expect(aHeld.assignment.events).toHaveLength(2);
    expect(bHeld.assignment.events).toHaveLength(2);
    const work = [];
    for (let i = 1; i <= 15; i++) {
      work.push(
        c.commit(g, {
          memberId: 'a',
          memberEpoch: aHeld.memberEpoch,
          offsets: aHeld.assignment.events.map((p: number) => ({ topic: 'events', partition: p, offset: i })),
        }),
      );
      work.push(c.heartbeat(g, { memberId: 'b', memberEpoch: bHeld.memberEpoch, ownedPartitions: bHeld.assignment }));
    }
    for (const reply of await Promise.all(work)) expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  });
});

describe('commits without a member', () => {
  it('are allowed while the group has no members (creating it), and refused with 409 otherwise', async () => {
    const g = 'admin';
    const first = await c.commit(g, { offsets: [{ topic: 'events', partition: 1, offset: 1, metadata: 'set by admin' }] });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect((await c.offsets(g)).body.offsets).toEqual([
      { topic: 'events', partition: 1, offset: 1, metadata: 'set by admin', commitTimestamp: expect.any(Number) },
    ]);
    expect((await c.list()).body.groups).toContainEqual({ groupId: g, state: 'Empty', memberCount: 0 });

    const m = await join(g, 'm');
    const busy = await c.commit(g, { offsets: [{ topic: 'events', partition: 1, offset: 2 }] });
    expect(busy.status).toBe(409);
    expect(busy.body.error).toMatchObject({ code: 'NON_EMPTY_GROUP', members: 1 });
    expect(await committed(g)).toEqual({ 'events:1': 1 });

    expect((await c.heartbeat(g, { memberId: 'm', memberEpoch: -1 })).status).toBe(200);
    expect((await c.commit(g, { memberEpoch: -1, offsets: [{ topic: 'events', partition: 1, offset: 2 }] })).status).toBe(200);
    expect(await committed(g)).toEqual({ 'events:1': 2 });
    expect(m.memberEpoch).toBeGreaterThan(0);
  });

  it('validate input: metadata size (413), duplicates, topics and partitions, epoch without member', async () => {
    const g = 'validation';
    const ok = await c.commit(g, { offsets: [{ topic: 'events', partition: 0, offset: 0, metadata: 'é'.repeat(2048) }] });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200); // 4096 bytes
    const big = await c.commit(g, { offsets: [{ topic: 'events', partition: 0, offset: 1, metadata: `${'é'.repeat(2048)}x` }] });
    expect(big.status).toBe(413);
    expect(big.body.error).toMatchObject({ code: 'OFFSET_METADATA_TOO_LARGE', field: 'offsets[0].metadata', bytes: 4097 });

    const cases: [unknown, number, string][] = [
      [{ offsets: [] }, 400, 'INVALID_REQUEST'],
      [{ offsets: [{ topic: 'events', partition: 0, offset: -1 }] }, 400, 'INVALID_REQUEST'],
      [
        {
          offsets: [
            { topic: 'events', partition: 0, offset: 1 },
            { topic: 'events', partition: 0, offset: 2 },
          ],
        },
        400,
        'INVALID_REQUEST',
      ],
      [{ memberEpoch: 3, offsets: [{ topic: 'events', partition: 0, offset: 1 }] }, 400, 'INVALID_REQUEST'],
      [{ memberId: 'x', offsets: [{ topic: 'events', partition: 0, offset: 1 }] }, 400, 'INVALID_REQUEST'],
      [{ offsets: Array.from({ length: 100 }, (_, p) => ({ topic: 'events', partition: p, offset: 1 })) }, 400, 'INVALID_REQUEST'],
      [{ offsets: [{ topic: 'nope', partition: 0, offset: 1 }] }, 404, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [{ offsets: [{ topic: 'events', partition: 4, offset: 1 }] }, 404, 'UNKNOWN_TOPIC_OR_PARTITION'],
    ];
    for (const [body, status, code] of cases) {
      const reply = await c.commit(g, body);
      expect(reply.status, JSON.stringify(body).slice(0, 200)).toBe(status);
      expect(reply.body.error.code).toBe(code);
    }
    expect(await committed(g)).toEqual({ 'events:0': 0 });
  });
});

describe('describe, list, reset-offsets and delete', () => {
  it('describes members and lag = high watermark - committed offset', async () => {
    const g = 'lagging';
    const m = await join(g, 'm');
    await c.commit(g, {
      memberId: 'm',
      memberEpoch: m.memberEpoch,
      offsets: [
        { topic: 'events', partition: 0, offset: 2 },
        { topic: 'events', partition: 1, offset: 2 },
      ],
    });
    const d = (await c.describe(g)).body;
    expect(d).toMatchObject({ groupId: g, state: 'Stable', groupEpoch: 1, assignmentEpoch: 1 });
    expect(d.members).toEqual([
      expect.objectContaining({
        memberId: 'm',
        memberEpoch: 1,
        subscribedTopics: ['events'],
        assignment: { events: [0, 1, 2, 3] },
        pendingRevocation: {},
        targetAssignment: { events: [0, 1, 2, 3] },
        sessionTimeoutMs: 30_000,
        lastHeartbeat: expect.any(Number),
      }),
    ]);
    const byPartition = Object.fromEntries(d.partitions.map((p: any) => [p.partition, p]));
    expect(byPartition[0]).toMatchObject({ topic: 'events', memberId: 'm', committedOffset: 2, highWatermark: 5, lag: 3 });
    expect(byPartition[1]).toMatchObject({ committedOffset: 2, highWatermark: 2, lag: 0 });
    expect(byPartition[2]).toMatchObject({ committedOffset: null, highWatermark: 3, lag: null });
    expect(byPartition[3]).toMatchObject({ committedOffset: null, highWatermark: 0, lag: null });
  });

  it('refuses reset-offsets and delete on a non-empty group (409 NON_EMPTY_GROUP), then does both once empty', async () => {
    const g = 'resettable';
    await join(g, 'm');
    const reset = await c.reset(g, { topic: 'events', to: 'earliest' });
    expect(reset.status).toBe(409);
    expect(reset.body.error).toMatchObject({ code: 'NON_EMPTY_GROUP', members: 1 });
    const del = await c.remove(g);
    expect(del.status).toBe(409);
    expect(del.body.error.code).toBe('NON_EMPTY_GROUP');
    expect((await c.offsets(g)).body.offsets).toEqual([]);

    expect((await c.heartbeat(g, { memberId: 'm', memberEpoch: -1 })).status).toBe(200);
    const latest = await c.reset(g, { topic: 'events', to: 'latest' });
    expect(latest.status, JSON.stringify(latest.body)).toBe(200);
    expect(await committed(g)).toEqual({ 'events:0': 5, 'events:1': 2, 'events:2': 3, 'events:3': 0 });
    await c.reset(g, { topic: 'events', to: 'earliest' });
    expect(await committed(g)).toEqual({ 'events:0': 0, 'events:1': 0, 'events:2': 0, 'events:3': 0 });
    await c.reset(g, { topic: 'events', to: { offset: 3 } });
    expect(await committed(g)).toEqual({ 'events:0': 3, 'events:1': 2, 'events:2': 3, 'events:3': 0 });
    const byTime = await c.reset(g, { topic: 'events', to: { timestamp: 1500 } });
    expect(byTime.body.offsets).toContainEqual({ partition: 2, offset: 1 });
    expect(await committed(g)).toMatchObject({ 'events:2': 1 });

    for (const [body, status] of [
      [{ topic: 'events', to: 'middle' }, 400],
      [{ topic: 'events', to: { offset: -1 } }, 400],
      [{ topic: 'events' }, 400],
      [{ topic: 'missing', to: 'earliest' }, 404],
    ] as const) {
      expect((await c.reset(g, body)).status, JSON.stringify(body)).toBe(status);
    }

    expect((await c.remove(g)).status).toBe(204);
    for (const reply of [await c.describe(g), await c.offsets(g), await c.remove(g)]) {
      expect(reply.status).toBe(404);
      expect(reply.body.error).toMatchObject({ code: 'GROUP_ID_NOT_FOUND', group: g });
    }
    expect((await c.list()).body.groups.map((x: any) => x.groupId)).not.toContain(g);

    // A new group of the same id starts with no offsets.
    await c.commit(g, { offsets: [{ topic: 'events', partition: 3, offset: 0 }] });
    expect(await committed(g)).toEqual({ 'events:3': 0 });
  });

  it('counts a group whose members all expired as empty: reset and delete work without anyone leaving', async () => {
    const g = 'abandoned';
    await join(g, 'gone', 1000);
    await sleep(1200);
    expect((await c.describe(g)).body).toMatchObject({ state: 'Empty', members: [] });
    expect((await c.reset(g, { topic: 'events', to: 'latest' })).status).toBe(200);
    expect((await c.remove(g)).status).toBe(204);
  });

  it('lists groups with state and live member count', async () => {
    await join('listed', 'one');
    const groups = (await c.list()).body.groups;
    expect(groups).toContainEqual({ groupId: 'listed', state: 'Stable', memberCount: 1 });
    const ids = groups.map((x: any) => x.groupId);
    expect(ids).toEqual([...ids].sort());
  });

  it('answers 404 GROUP_ID_NOT_FOUND for unknown groups and filters offsets by topic', async () => {
    for (const reply of [await c.describe('never'), await c.offsets('never'), await c.remove('never')]) {
      expect(reply.status).toBe(404);
      expect(reply.body.error.code).toBe('GROUP_ID_NOT_FOUND');
    }
    await c.commit('filtered', { offsets: [{ topic: 'events', partition: 0, offset: 1 }] });
    expect((await c.offsets('filtered', '?topic=events')).body.offsets).toHaveLength(1);
    expect((await c.offsets('filtered', '?topic=other')).body.offsets).toEqual([]);
    expect((await c.offsets('filtered', '?topic=bad%20name')).status).toBe(400);
  });
});
