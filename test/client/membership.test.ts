/**
 * The consumer's membership on its own, against a scripted heartbeat endpoint: it joins with epoch
 * 0 and the subscription, heartbeats its owned partitions at the service's interval, hands each
 * assignment over, and when fenced loses its partitions and joins again with epoch 0.
 */
import { describe, expect, it } from 'vitest';
import { Membership, type MembershipHooks } from '../../client/src/consumer/membership';
import { HttpTransport } from '../../client/src/http';
import { Events } from '../../client/src/signal';
import type { ConsumerEvents } from '../../client/src/consumer/types';

type Body = { memberId: string; memberEpoch: number; subscribedTopics?: string[]; ownedPartitions?: Record<string, number[]> };

function heartbeatService(answer: (body: Body, n: number) => { status: number; body: unknown }) {
  const bodies: Body[] = [];
  const fetchImpl = (async (_url: string | URL, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as Body;
    bodies.push(body);
    const { status, body: response } = answer(body, bodies.length - 1);
    return new Response(JSON.stringify(response), { status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { http: new HttpTransport({ url: 'http://127.0.0.1:1', fetch: fetchImpl }), bodies };
}

function hooks(overrides: Partial<MembershipHooks> = {}): MembershipHooks & { assignments: unknown[]; lost: string[] } {
  const assignments: unknown[] = [];
  const lost: string[] = [];
  let changed = true;
  return {
    assignments,
    lost,
    running: () => true,
    subscribedTopics: () => ['t'],
    takeSubscriptionChange: () => {
      const was = changed;
      changed = false;
      return was;
    },
    restoreSubscriptionChange: () => {
      changed = true;
    },
    ownedPartitions: () => ({ t: [0] }),
    reconcile: (assignment) => assignments.push(assignment),
    lose: async (reason) => {
      lost.push(reason);
    },
    report: () => undefined,
    ...overrides,
  };
}

const options = { groupId: 'g', memberId: 'm', sessionTimeoutMs: 3000, heartbeatIntervalCapMs: 20, initialHeartbeatIntervalMs: 20 };
const retry = { retries: 0, initialRetryTimeMs: 5, maxRetryTimeMs: 10, multiplier: 2 };
const until = async (condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
};

describe('membership', () => {
  it('joins with epoch 0 and the subscription, then heartbeats its owned partitions and hands over assignments', async () => {
    const service = heartbeatService((body) => ({
      status: 200,
      body: { memberId: body.memberId, memberEpoch: 7, heartbeatIntervalMs: 10, assignment: { t: [0, 1] } },
    }));
    const h = hooks();
    const events = new Events<ConsumerEvents>();
    const joins: unknown[] = [];
    events.on('group.join', (e) => joins.push(e));
    const membership = new Membership(service.http, { ...options, retry }, h, events);
    membership.start();
    await until(() => service.bodies.length >= 3);
    await membership.stop();
    expect(service.bodies[0]).toEqual({ memberId: 'm', memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 3000 });
    expect(service.bodies[1]).toEqual({ memberId: 'm', memberEpoch: 7, ownedPartitions: { t: [0] } });
    expect(joins).toEqual([{ memberId: 'm', memberEpoch: 7 }]);
    expect(h.assignments[0]).toEqual({ t: [0, 1] });
    expect(membership.memberEpoch).toBe(7);
    expect(membership.sessionLapsed()).toBe(false);
  });

  it('when fenced, loses its partitions and joins again with epoch 0', async () => {
    const service = heartbeatService((body, n) =>
      n === 1
        ? { status: 409, body: { error: { code: 'FENCED_MEMBER_EPOCH', message: 'fenced' } } }
        : { status: 200, body: { memberId: body.memberId, memberEpoch: n + 1, heartbeatIntervalMs: 10, assignment: {} } },
    );
    let membership: Membership;
    const h = hooks({
      lose: async (reason) => {
        h.lost.push(reason);
        membership.rejoin();
      },
    });
    membership = new Membership(service.http, { ...options, retry }, h, new Events<ConsumerEvents>());
    membership.start();
    await until(() => service.bodies.length >= 3);
    await membership.stop();
    expect(h.lost).toEqual(['FENCED_MEMBER_EPOCH']);
    expect(service.bodies.map((b) => b.memberEpoch).slice(0, 3)).toEqual([0, 1, 0]);
    expect(service.bodies[2]!.subscribedTopics).toEqual(['t']);
  });

  it('leaves with epoch -1, and takes an already-expired member as gone', async () => {
    const reports: string[] = [];
    const service = heartbeatService((body) =>
      body.memberEpoch === -1
        ? { status: 404, body: { error: { code: 'UNKNOWN_MEMBER_ID', message: 'gone' } } }
        : { status: 200, body: { memberId: body.memberId, memberEpoch: 3, heartbeatIntervalMs: 1000, assignment: {} } },
    );
    const membership = new Membership(
      service.http,
      { ...options, retry },
      hooks({ report: (_e, context) => reports.push(context) }),
      new Events<ConsumerEvents>(),
    );
    membership.start();
    await until(() => membership.memberEpoch === 3);
    await membership.stop();
    await membership.leave();
    membership.close();
    expect(service.bodies.at(-1)).toEqual({ memberId: 'm', memberEpoch: -1 });
    expect(reports).toEqual([]);
    expect(membership.memberEpoch).toBe(0);
  });
});
