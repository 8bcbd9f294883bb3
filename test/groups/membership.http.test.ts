/**
 * Consumer-group membership over real HTTP (local gateway → handlers → DynamoDB Local):
 * concurrent heartbeats never give two members the same partition, expiry moves partitions,
 * fencing and validation answer with the documented codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/local-service';
import { ModelConsumer, OwnershipLog, toAssignment } from './consumer-model';
import { client, sleep, type Client } from './support';

let service: TestService;
let c: Client;

beforeAll(async () => {
  service = await startTestService();
  c = client(service.url);
  await c.createTopic('orders', 12);
  await c.createTopic('audit', 3);
});

afterAll(async () => {
  await service?.stop();
});

describe('concurrent members', () => {
  it('never lets two members hold the same partition, through joins, leaves, rejoins and an expiry', async () => {
    const log = new OwnershipLog();
    const subscriptions = [['orders', 'audit'], ['orders'], ['orders', 'audit'], ['audit', 'orders'], ['orders']];
    const consumers = subscriptions.map((topics, i) => new ModelConsumer(c, 'busy', topics, i === 4 ? 1000 : 20_000, log));
    const started = performance.now();
    // 6 s of traffic, longer (up to 30 s) on a machine too loaded to answer 100 requests in that
    // time: the churn, not the clock, is what the checks below need.
    const until = started + 6000;
    const cap = started + 30_000;
    const going = () => performance.now() < until || (log.responses <= 100 && performance.now() < cap);
    let diedAt = 0;
    let deadPartitions = new Set<string>();

    await Promise.all(
      consumers.map(async (consumer, i) => {
        await sleep(i * 150);
        await consumer.join();
        for (let beat = 1; going(); beat++) {
          if (i === 4 && beat === 12) {
            // This one goes silent: its 1 s session lapses and the others' heartbeats expire it.
            deadPartitions = new Set(consumer.held);
            diedAt = performance.now();
            consumer.die();
            return;
          }
          if (i === 3 && beat % 25 === 0) {
            await consumer.leave();
            await sleep(50);
            await consumer.join();
            continue;
          }
          if ((await consumer.beat()) !== 200) await consumer.join();
          await sleep(10 + Math.random() * 40);
        }
      }),
    );

    // Settle: everyone heartbeats in turn until the group is stable.
    const live = consumers.filter((consumer) => !consumer.dead);
    let description: any;
    for (let round = 0; round < 10; round++) {
      for (const consumer of live) if ((await consumer.beat()) !== 200) await consumer.join();
      description = (await c.describe('busy')).body;
      if (description.state === 'Stable') break;
    }
    expect(description.state).toBe('Stable');
    expect(description.members.map((m: any) => m.memberId).sort()).toEqual(live.map((x) => x.memberId).sort());

    // Every partition is held by exactly one live member, as the members themselves were told.
    const held = live.flatMap((consumer) => [...consumer.held]);
    expect(held.length).toBe(15);
    expect(new Set(held).size).toBe(15);

    // The silent member's partitions moved, and only after its session ran out.
    expect(deadPartitions.size).toBeGreaterThan(0);
    const deadId = consumers[4]!.memberId!;
    for (const key of deadPartitions) {
      const later = log.intervals.filter((x) => x.key === key && x.member !== deadId && x.start > diedAt);
      const openNow = live.some((consumer) => consumer.held.has(key));
      expect(later.length > 0 || openNow).toBe(true);
    }

    log.check(performance.now());
    expect(log.handoffs).toBeGreaterThan(5);
    expect(log.responses).toBeGreaterThan(100);

    for (const consumer of live) await consumer.leave();
    expect((await c.describe('busy')).body.state).toBe('Empty');
  });
});

describe('no lost updates', () => {
  it('keeps all of 20 concurrent joins and 20 concurrent heartbeats (conditional writes, retried)', async () => {
    const joins = await Promise.all(
      Array.from({ length: 20 }, (_, i) => c.heartbeat('crowd', { memberEpoch: 0, subscribedTopics: ['orders'], memberId: `crowd-${i}` })),
    );
    for (const join of joins) expect(join.status, JSON.stringify(join.body)).toBe(200);
    let description = (await c.describe('crowd')).body;
    expect(description.members).toHaveLength(20);
    expect(description.groupEpoch).toBe(20);

    const before = Date.now();
    const beats = await Promise.all(
      joins.map((join) =>
        c.heartbeat('crowd', { memberId: join.body.memberId, memberEpoch: join.body.memberEpoch, ownedPartitions: join.body.assignment }),
      ),
    );
    for (const beat of beats) expect(beat.status, JSON.stringify(beat.body)).toBe(200);
    description = (await c.describe('crowd')).body;
    for (const member of description.members) expect(member.lastHeartbeat).toBeGreaterThanOrEqual(before);
    // Nobody holds a partition another holds, whatever order the writes landed in.
    const held = beats.flatMap((beat) =>
      Object.entries(beat.body.assignment as Record<string, number[]>).flatMap(([t, ps]) => ps.map((p) => `${t}:${p}`)),
    );
    expect(new Set(held).size).toBe(held.length);
    await Promise.all(joins.map((join) => c.heartbeat('crowd', { memberId: join.body.memberId, memberEpoch: -1 })));
    expect((await c.describe('crowd')).body).toMatchObject({ state: 'Empty', members: [], groupEpoch: 40 });
  });
});

describe('session expiry', () => {
  it("moves an expired member's partitions to the others (sessionTimeoutMs 1000, waited 1.2 s)", async () => {
    const log = new OwnershipLog();
    const a = new ModelConsumer(c, 'expiry', ['audit'], 1000, log);
    const b = new ModelConsumer(c, 'expiry', ['audit'], 30_000, log);
    await a.join();
    expect(a.held.size).toBe(3);
    await b.join();
    expect(b.held.size).toBe(0); // a still holds all three
    expect(await a.beat()).toBe(200); // a is told to release one... and stops heartbeating
    expect(a.held.size).toBe(2);
    a.die();
    await sleep(1200);

    expect(await b.beat()).toBe(200);
    if (b.held.size < 3) expect(await b.beat()).toBe(200);
    expect([...b.held].sort()).toEqual(['audit:0', 'audit:1', 'audit:2']);
    const description = (await c.describe('expiry')).body;
    expect(description.members).toHaveLength(1);
    expect(description.state).toBe('Stable');

    // The zombie's late heartbeat: it is no longer a member.
    const late = await c.heartbeat('expiry', { memberId: a.memberId, memberEpoch: a.epoch, ownedPartitions: toAssignment(a.held) });
    expect(late.status).toBe(404);
    expect(late.body.error).toMatchObject({ code: 'UNKNOWN_MEMBER_ID', memberId: a.memberId });
    log.check(performance.now());
  });

  it('expires members even when the only request is a late heartbeat of the expired member itself', async () => {
    const join = await c.heartbeat('lonely', { memberEpoch: 0, subscribedTopics: ['audit'], sessionTimeoutMs: 1000 });
    await sleep(1200);
    expect((await c.describe('lonely')).body.state).toBe('Empty');
    const late = await c.heartbeat('lonely', { memberId: join.body.memberId, memberEpoch: join.body.memberEpoch });
    expect(late.status).toBe(404);
    expect(late.body.error.reason).toBe('EXPIRED');
    expect((await c.list()).body.groups).toContainEqual({ groupId: 'lonely', state: 'Empty', memberCount: 0 });
  });
});

describe('epochs and fencing over HTTP', () => {
  it('walks through join, revoke, confirm and assign with epochs as KIP-848 does', async () => {
    const a = await c.heartbeat('walk', { memberEpoch: 0, subscribedTopics: ['audit'] });
    expect(a.body).toMatchObject({ memberEpoch: 1, heartbeatIntervalMs: 5000, assignment: { audit: [0, 1, 2] } });
    const b = await c.heartbeat('walk', { memberEpoch: 0, subscribedTopics: ['audit'], memberId: 'client-chosen-b' });
    expect(b.body).toMatchObject({ memberId: 'client-chosen-b', memberEpoch: 2, assignment: {} });

    const revoke = await c.heartbeat('walk', { memberId: a.body.memberId, memberEpoch: 1, ownedPartitions: { audit: [0, 1, 2] } });
    expect(revoke.body.memberEpoch).toBe(1);
    expect(revoke.body.assignment.audit).toHaveLength(2);
    expect((await c.describe('walk')).body.state).toBe('Reconciling');

    const confirm = await c.heartbeat('walk', { memberId: a.body.memberId, memberEpoch: 1, ownedPartitions: revoke.body.assignment });
    expect(confirm.body).toMatchObject({ memberEpoch: 2, assignment: revoke.body.assignment });
    const assigned = await c.heartbeat('walk', { memberId: 'client-chosen-b', memberEpoch: 2, ownedPartitions: {} });
    expect(assigned.body.assignment.audit).toHaveLength(1);
    expect((await c.describe('walk')).body.state).toBe('Stable');

    // Wrong epochs: ahead, or behind but not the previous one with a subset of the assignment.
    const ahead = await c.heartbeat('walk', { memberId: 'client-chosen-b', memberEpoch: 9 });
    expect(ahead.status).toBe(409);
    expect(ahead.body.error).toMatchObject({ code: 'FENCED_MEMBER_EPOCH', memberEpoch: 9, currentMemberEpoch: 2 });
    const behind = await c.heartbeat('walk', { memberId: a.body.memberId, memberEpoch: 1 });
    expect(behind.status).toBe(409);
    expect(behind.body.error.code).toBe('FENCED_MEMBER_EPOCH');
    // The previous epoch with a subset of the assignment: a lost response, accepted.
    const retry = await c.heartbeat('walk', { memberId: a.body.memberId, memberEpoch: 1, ownedPartitions: revoke.body.assignment });
    expect(retry.body).toMatchObject({ memberEpoch: 2 });

    const unknown = await c.heartbeat('walk', { memberId: 'nobody', memberEpoch: 3 });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('UNKNOWN_MEMBER_ID');

    const leave = await c.heartbeat('walk', { memberId: a.body.memberId, memberEpoch: -1 });
    expect(leave.body).toMatchObject({ memberId: a.body.memberId, memberEpoch: -1, assignment: {} });
    const again = await c.heartbeat('walk', { memberId: a.body.memberId, memberEpoch: -1 });
    expect(again.status).toBe(404);
  });

  it('answers 400 with the field for bad heartbeats and bad group ids', async () => {
    const cases: [unknown, string][] = [
      [{ memberEpoch: 0, subscribedTopics: ['audit'], sessionTimeoutMs: 999 }, 'sessionTimeoutMs'],
      [{ memberEpoch: 0, subscribedTopics: ['audit'], sessionTimeoutMs: 300_001 }, 'sessionTimeoutMs'],
      [{ memberEpoch: -2, memberId: 'x' }, 'memberEpoch'],
      [{ memberEpoch: 1.5, memberId: 'x' }, 'memberEpoch'],
      [{ memberEpoch: 0, subscribedTopics: ['bad topic'] }, 'subscribedTopics[0]'],
      [{ memberEpoch: 0 }, 'subscribedTopics'],
      [{ memberEpoch: 4 }, 'memberId'],
      [{ memberEpoch: 1, memberId: 'x', ownedPartitions: { audit: [-1] } }, 'ownedPartitions.audit[0]'],
      [{}, 'memberEpoch'],
    ];
    for (const [body, field] of cases) {
      const reply = await c.heartbeat('bad', body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.error, JSON.stringify(body)).toMatchObject({ code: 'INVALID_REQUEST', field });
    }
    const badId = await c.heartbeat('has%20space', { memberEpoch: 0, subscribedTopics: ['audit'] });
    expect(badId.status).toBe(400);
    expect(badId.body.error.code).toBe('INVALID_GROUP_ID');
    const tooLong = await c.describe('g'.repeat(256));
    expect(tooLong.body.error.code).toBe('INVALID_GROUP_ID');
    expect((await c.describe('bad')).status).toBe(404); // nothing was created
  });

  it('assigns a subscribed topic once it exists, and new partitions once it grows', async () => {
    const j = await c.heartbeat('growing', { memberEpoch: 0, subscribedTopics: ['later'] });
    expect(j.body.assignment).toEqual({});
    await c.createTopic('later', 2);
    const h = await c.heartbeat('growing', { memberId: j.body.memberId, memberEpoch: j.body.memberEpoch, ownedPartitions: {} });
    expect(h.body.assignment).toEqual({ later: [0, 1] });
    expect(h.body.memberEpoch).toBeGreaterThan(j.body.memberEpoch);
    const grown = await c.call('PATCH', '/v1/topics/later', { partitions: 3 });
    expect(grown.status).toBe(200);
    const g = await c.heartbeat('growing', {
      memberId: j.body.memberId,
      memberEpoch: h.body.memberEpoch,
      ownedPartitions: h.body.assignment,
    });
    expect(g.body.assignment).toEqual({ later: [0, 1, 2] });
  });
});

describe('the OpenAPI document', () => {
  it('documents every group route with its request schema', async () => {
    const doc = (await c.call('GET', '/v1/openapi.json')).body;
    const heartbeat = doc.paths['/v1/groups/{group}/heartbeat'].post;
    expect(heartbeat.operationId).toBe('group-heartbeat');
    expect(Object.keys(heartbeat.requestBody.content['application/json'].schema.properties)).toEqual(
      expect.arrayContaining(['memberId', 'memberEpoch', 'subscribedTopics', 'ownedPartitions', 'sessionTimeoutMs']),
    );
    expect(doc.paths['/v1/groups/{group}/offsets'].post.requestBody).toBeDefined();
    expect(doc.paths['/v1/groups/{group}/offsets'].get.parameters.map((p: any) => p.name)).toContain('topic');
    expect(doc.paths['/v1/groups/{group}/reset-offsets'].post.requestBody).toBeDefined();
    expect(doc.paths['/v1/groups'].get.operationId).toBe('list-groups');
    expect(doc.paths['/v1/groups/{group}'].get.operationId).toBe('describe-group');
    expect(doc.paths['/v1/groups/{group}'].delete.operationId).toBe('delete-group');
  });
});
