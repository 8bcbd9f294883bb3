import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignmentKeys, type Assignment } from '../../shared/groups/assignor';
import {
  checkMemberCommit,
  groupStateName,
  heartbeat,
  ownedKeys,
  requireEmpty,
  type GroupState,
  type HeartbeatContext,
  type HeartbeatOutcome,
  type HeartbeatRequest,
} from '../../shared/groups/state';

const G = 'g';

function context(now: number, topics: Record<string, number>, ids: string[] = []): HeartbeatContext {
  let n = 0;
  return {
    now,
    topics,
    heartbeatIntervalMs: 5000,
    defaultSessionTimeoutMs: 45_000,
    newMemberId: () => ids[n++] ?? `generated-${n}`,
    newIncarnation: () => 'inc-1',
  };
}

/** A tiny harness: one group, a clock, and the stored state after each successful write. */
class Group {
  state: GroupState | undefined;
  now = 1_000_000;
  constructor(public topics: Record<string, number>) {}

  send(request: HeartbeatRequest): HeartbeatOutcome {
    const outcome = heartbeat(G, this.state, request, context(this.now, this.topics, request.memberId ? [] : ['m-new']));
    if (outcome.change !== 'none') {
      expect(outcome.state!.version).toBe((this.state?.version ?? 0) + 1);
      this.state = outcome.state;
    } else {
      expect(outcome.state).toBe(this.state);
    }
    return outcome;
  }

  ok(request: HeartbeatRequest) {
    const outcome = this.send(request);
    if (!outcome.result.ok) throw outcome.result.error;
    return outcome.result.response;
  }

  error(request: HeartbeatRequest) {
    const outcome = this.send(request);
    if (outcome.result.ok) throw new Error(`expected an error, got ${JSON.stringify(outcome.result.response)}`);
    return outcome.result.error;
  }
}

const size = (a: Assignment) => assignmentKeys(a).size;

describe('group state machine: examples', () => {
  it('a first member joins and gets every partition at epoch 1', () => {
    const g = new Group({ t: 4 });
    const r = g.ok({ memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'] });
    expect(r).toEqual({ memberId: 'a', memberEpoch: 1, heartbeatIntervalMs: 5000, assignment: { t: [0, 1, 2, 3] } });
    expect(g.state!.groupEpoch).toBe(1);
    expect(groupStateName(g.state, g.now)).toBe('Stable');
  });

  it('generates a member id when the joiner has none', () => {
    const g = new Group({ t: 1 });
    expect(g.ok({ memberEpoch: 0, subscribedTopics: ['t'] }).memberId).toBe('m-new');
  });

  it('moves a partition only after its owner released it (revoke, then assign)', () => {
    const g = new Group({ t: 4 });
    g.ok({ memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'] });
    const b1 = g.ok({ memberId: 'b', memberEpoch: 0, subscribedTopics: ['t'] });
    // b's target is two partitions that a still owns: it gets nothing yet.
    expect(b1.assignment).toEqual({});
    expect(b1.memberEpoch).toBe(2);
    expect(groupStateName(g.state, g.now)).toBe('Reconciling');

    // a is told to keep only its target: it must release the rest; its epoch stays until it does.
    const a2 = g.ok({ memberId: 'a', memberEpoch: 1, ownedPartitions: { t: [0, 1, 2, 3] } });
    expect(a2.memberEpoch).toBe(1);
    expect(size(a2.assignment)).toBe(2);
    const released = [0, 1, 2, 3].filter((p) => !a2.assignment.t!.includes(p));

    // b still gets nothing: a has not confirmed.
    expect(g.ok({ memberId: 'b', memberEpoch: 2, ownedPartitions: {} }).assignment).toEqual({});

    // a confirms (leaves them out of ownedPartitions) and moves to epoch 2.
    const a3 = g.ok({ memberId: 'a', memberEpoch: 1, ownedPartitions: a2.assignment });
    expect(a3.memberEpoch).toBe(2);
    expect(a3.assignment).toEqual(a2.assignment);

    const b2 = g.ok({ memberId: 'b', memberEpoch: 2, ownedPartitions: {} });
    expect(b2.assignment).toEqual({ t: released });
    expect(groupStateName(g.state, g.now)).toBe('Stable');
  });

  it('a heartbeat that omits ownedPartitions releases nothing', () => {
    const g = new Group({ t: 2 });
    g.ok({ memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'] });
    g.ok({ memberId: 'b', memberEpoch: 0, subscribedTopics: ['t'] });
    g.ok({ memberId: 'a', memberEpoch: 1 });
    g.ok({ memberId: 'a', memberEpoch: 1 });
    expect(g.ok({ memberId: 'b', memberEpoch: 2 }).assignment).toEqual({});
    expect(ownedKeys(g.state!.members.a!).size).toBe(2);
  });

  it('a plain heartbeat is a liveness-only change', () => {
    const g = new Group({ t: 2 });
    g.ok({ memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'] });
    g.now += 100;
    const outcome = g.send({ memberId: 'a', memberEpoch: 1, ownedPartitions: { t: [0, 1] } });
    expect(outcome.change).toBe('liveness');
    expect(g.state!.members.a!.lastHeartbeat).toBe(g.now);
    expect(g.send({ memberId: 'a', memberEpoch: 1, sessionTimeoutMs: 9000 }).change).toBe('liveness');
  });

  it('fences a wrong epoch (FENCED_MEMBER_EPOCH) but accepts the previous one once with a subset of the assignment', () => {
    const g = new Group({ t: 2 });
    g.ok({ memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'] }); // epoch 1
    g.ok({ memberId: 'b', memberEpoch: 0, subscribedTopics: ['t'] });
    const a = g.ok({ memberId: 'a', memberEpoch: 1, ownedPartitions: { t: [0, 1] } });
    g.ok({ memberId: 'a', memberEpoch: 1, ownedPartitions: a.assignment }); // now epoch 2, previous 1
    expect(g.state!.members.a!.memberEpoch).toBe(2);

    expect(g.error({ memberId: 'a', memberEpoch: 3 }).code).toBe('FENCED_MEMBER_EPOCH');
    expect(g.error({ memberId: 'a', memberEpoch: 1, ownedPartitions: { t: [0, 1] } }).code).toBe('FENCED_MEMBER_EPOCH');
    expect(g.error({ memberId: 'a', memberEpoch: 1 }).code).toBe('FENCED_MEMBER_EPOCH');
    const again = g.ok({ memberId: 'a', memberEpoch: 1, ownedPartitions: a.assignment });
    expect(again.memberEpoch).toBe(2);
    const fenced = g.error({ memberId: 'a', memberEpoch: 7 });
    expect(fenced.status).toBe(409);
    expect(fenced.toJSON().error).toMatchObject({ memberEpoch: 7, currentMemberEpoch: 2 });
  });

  it('rejects unknown members (UNKNOWN_MEMBER_ID) and bad requests (400)', () => {
    const g = new Group({ t: 2 });
    expect(g.error({ memberId: 'x', memberEpoch: 3 }).code).toBe('UNKNOWN_MEMBER_ID');
    expect(g.state).toBeUndefined();
    g.ok({ memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'] });
    expect(g.error({ memberId: 'x', memberEpoch: 1 }).code).toBe('UNKNOWN_MEMBER_ID');
    expect(g.error({ memberId: 'x', memberEpoch: -1 }).code).toBe('UNKNOWN_MEMBER_ID');
    expect(g.error({ memberEpoch: 1 }).code).toBe('INVALID_REQUEST');
    expect(g.error({ memberId: 'y', memberEpoch: 0 }).code).toBe('INVALID_REQUEST');
  });

  it('expires a silent member on the next request, and its partitions move', () => {
    const g = new Group({ t: 2 });
    g.ok({ memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 1000 });
    g.ok({ memberId: 'b', memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 60_000 });
    const a = g.ok({ memberId: 'a', memberEpoch: 1, ownedPartitions: { t: [0, 1] } });
    expect(size(a.assignment)).toBe(1);
    g.now += 1000;
    expect(groupStateName(g.state, g.now)).not.toBe('Assigning'); // exactly at the timeout: still alive
    g.now += 1;
    expect(groupStateName(g.state, g.now)).toBe('Assigning');
    const epoch = g.state!.groupEpoch;
    const b = g.ok({ memberId: 'b', memberEpoch: 2, ownedPartitions: {} });
    expect(b.assignment).toEqual({ t: [0, 1] });
    expect(g.state!.groupEpoch).toBe(epoch + 1);
    expect(g.state!.members.a).toBeUndefined();
    const late = g.error({ memberId: 'a', memberEpoch: 1, ownedPartitions: a.assignment });
    expect(late.code).toBe('UNKNOWN_MEMBER_ID');
  });

  it('a late heartbeat of an expired member is refused even when nobody noticed the expiry, and the expiry is stored', () => {
    const g = new Group({ t: 1 });
    g.ok({ memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 1000 });
    g.now += 5000;
    const outcome = g.send({ memberId: 'a', memberEpoch: 1, ownedPartitions: { t: [0] } });
    expect(outcome.result.ok).toBe(false);
    expect(outcome.change).toBe('structural');
    expect(outcome.state!.members).toEqual({});
    if (!outcome.result.ok) expect(outcome.result.error.toJSON().error.reason).toBe('EXPIRED');
    expect(groupStateName(g.state, g.now)).toBe('Empty');
  });

  it('a leave frees the partitions at once and bumps the group epoch', () => {
    const g = new Group({ t: 2 });
    g.ok({ memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'] });
    g.ok({ memberId: 'b', memberEpoch: 0, subscribedTopics: ['t'] });
    const left = g.ok({ memberId: 'a', memberEpoch: -1 });
    expect(left).toMatchObject({ memberId: 'a', memberEpoch: -1, assignment: {} });
    expect(g.ok({ memberId: 'b', memberEpoch: 2, ownedPartitions: {} })).toMatchObject({ memberEpoch: 3, assignment: { t: [0, 1] } });
  });

  it('a subscription change bumps the group epoch and reassigns', () => {
    const g = new Group({ t: 2, u: 2 });
    g.ok({ memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'] });
    const r = g.ok({ memberId: 'a', memberEpoch: 1, subscribedTopics: ['t', 'u'], ownedPartitions: { t: [0, 1] } });
    expect(r).toMatchObject({ memberEpoch: 2, assignment: { t: [0, 1], u: [0, 1] } });
    const s = g.ok({ memberId: 'a', memberEpoch: 2, subscribedTopics: ['u'], ownedPartitions: r.assignment });
    expect(s).toMatchObject({ memberEpoch: 2, assignment: { u: [0, 1] } }); // release t first
    expect(g.ok({ memberId: 'a', memberEpoch: 2, ownedPartitions: s.assignment }).memberEpoch).toBe(3);
  });

  it('picks up partitions added to a subscribed topic, and a topic created later', () => {
    const g = new Group({ t: 2 });
    g.ok({ memberId: 'a', memberEpoch: 0, subscribedTopics: ['t', 'later'] });
    g.topics = { t: 3, later: 1 };
    expect(g.ok({ memberId: 'a', memberEpoch: 1, ownedPartitions: { t: [0, 1] } })).toMatchObject({
      memberEpoch: 2,
      assignment: { t: [0, 1, 2], later: [0] },
    });
  });

  it('a rejoin with the same id holds nothing and gets its target back', () => {
    const g = new Group({ t: 2 });
    g.ok({ memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'] });
    const r = g.ok({ memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'] });
    expect(r).toMatchObject({ memberEpoch: 2, assignment: { t: [0, 1] } });
  });

  it('keeps a member epoch when a change elsewhere leaves its assignment alone', () => {
    const g = new Group({ t: 2, u: 2 });
    g.ok({ memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'] });
    g.ok({ memberId: 'b', memberEpoch: 0, subscribedTopics: ['u'] });
    expect(g.state!.groupEpoch).toBe(2);
    expect(g.ok({ memberId: 'a', memberEpoch: 1, ownedPartitions: { t: [0, 1] } })).toMatchObject({
      memberEpoch: 1,
      assignment: { t: [0, 1] },
    });
  });
});

describe('offset commit checks', () => {
  function twoMembers() {
    const g = new Group({ t: 2 });
    g.ok({ memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 1000 });
    g.ok({ memberId: 'b', memberEpoch: 0, subscribedTopics: ['t'] });
    g.ok({ memberId: 'a', memberEpoch: 1, ownedPartitions: { t: [0, 1] } }); // a: assigned 1, revoking 1
    return g;
  }

  it('accepts the owner at its epoch, including partitions it is still revoking', () => {
    const g = twoMembers();
    const check = checkMemberCommit(
      G,
      g.state,
      'a',
      1,
      [
        { topic: 't', partition: 0 },
        { topic: 't', partition: 1 },
      ],
      g.now,
    );
    expect(check.ok).toBe(true);
  });

  it('rejects a stale epoch, a non-owner, an expired member and an unknown one', () => {
    const g = twoMembers();
    const code = (c: ReturnType<typeof checkMemberCommit>) => (c.ok ? 'OK' : `${c.error.code}/${String(c.error.details.reason)}`);
    expect(code(checkMemberCommit(G, g.state, 'a', 2, [{ topic: 't', partition: 0 }], g.now))).toBe('STALE_MEMBER_EPOCH/STALE_EPOCH');
    expect(code(checkMemberCommit(G, g.state, 'b', 2, [{ topic: 't', partition: 0 }], g.now))).toBe('STALE_MEMBER_EPOCH/NOT_OWNER');
    expect(code(checkMemberCommit(G, g.state, 'a', 1, [{ topic: 't', partition: 0 }], g.now + 1001))).toBe('UNKNOWN_MEMBER_ID/EXPIRED');
    expect(code(checkMemberCommit(G, g.state, 'z', 1, [{ topic: 't', partition: 0 }], g.now))).toBe('UNKNOWN_MEMBER_ID/UNKNOWN');
    expect(code(checkMemberCommit(G, undefined, 'a', 1, [{ topic: 't', partition: 0 }], g.now))).toBe('UNKNOWN_MEMBER_ID/UNKNOWN');
  });

  it('allows operations on an empty group only, dropping expired members first', () => {
    const g = twoMembers();
    const busy = requireEmpty(G, g.state, g.now, 'x');
    expect(busy.ok ? 'ok' : busy.error.code).toBe('NON_EMPTY_GROUP');
    const later = requireEmpty(G, g.state, g.now + 10 * 60_000, 'x');
    expect(later.ok).toBe(true);
    if (later.ok) {
      expect(later.write!.members).toEqual({});
      expect(later.write!.version).toBe(g.state!.version + 1);
      expect(later.write!.groupEpoch).toBe(g.state!.groupEpoch + 1);
    }
    const created = requireEmpty(G, undefined, 5, 'x', { incarnation: 'i' });
    expect(created.ok && created.write).toMatchObject({ groupId: G, version: 1, incarnation: 'i', members: {} });
    const missing = requireEmpty(G, undefined, 5, 'x');
    expect(missing.ok && missing.write).toBeUndefined();
  });
});

// ---- the simulation ----

type Op =
  | { kind: 'join'; member: number; topics: string[]; timeout: number }
  | { kind: 'heartbeat'; member: number; loseResponse: boolean; reportOwned: boolean; zombie: boolean }
  | { kind: 'leave'; member: number }
  | { kind: 'subscribe'; member: number; topics: string[] }
  | { kind: 'tick'; ms: number }
  | { kind: 'grow'; topic: string; by: number }
  | { kind: 'commit'; member: number };

const MEMBERS = 5;
const topicSet = ['a', 'b', 'c'];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('join' as const),
      member: fc.nat(MEMBERS - 1),
      topics: fc.subarray(topicSet, { minLength: 1 }),
      timeout: fc.constantFrom(2000, 5000, 45_000),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('heartbeat' as const),
      member: fc.nat(MEMBERS - 1),
      loseResponse: fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 3, arbitrary: fc.constant(false) }),
      reportOwned: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      zombie: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), member: fc.nat(MEMBERS - 1) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('subscribe' as const), member: fc.nat(MEMBERS - 1), topics: fc.subarray(topicSet) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 1500 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('grow' as const), topic: fc.constantFrom(...topicSet), by: fc.integer({ min: 1, max: 3 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('commit' as const), member: fc.nat(MEMBERS - 1) }) },
);

/** What a well-behaved client knows: its id, epoch, the partitions it holds, and when its session started. */
interface Client {
  id: string;
  epoch: number;
  held: Set<string>;
  /** Time of its last successful heartbeat: it must consider itself lost after sessionTimeoutMs. */
  lastOk: number;
  timeout: number;
}

/** How often the interesting paths ran, so the property cannot pass vacuously. */
const seen = {
  handoffs: 0,
  revocations: 0,
  expired: 0,
  fenced: 0,
  previousEpoch: 0,
  commitsAccepted: 0,
  commitsRejected: 0,
  zombieCommitsRejected: 0,
  stable: 0,
};

function simulate(ops: Op[]): void {
  const g = new Group({ a: 3, b: 2, c: 4 });
  const lastHolder = new Map<string, string>();
  const clients = new Map<number, Client>();
  const alive = (c: Client) => g.now <= c.lastOk + c.timeout;
  const toAssignmentOf = (keys: Set<string>): Assignment => {
    const result: Assignment = {};
    for (const key of keys) {
      const [topic, p] = [key.slice(0, key.lastIndexOf(':')), Number(key.slice(key.lastIndexOf(':') + 1))];
      (result[topic] ??= []).push(p);
    }
    return result;
  };
  const apply = (i: number, outcome: HeartbeatOutcome, sentAt: number, loseResponse: boolean) => {
    const client = clients.get(i)!;
    if (!outcome.result.ok) {
      if (outcome.result.error.code === 'FENCED_MEMBER_EPOCH') seen.fenced++;
      if (outcome.result.error.details.reason === 'EXPIRED') seen.expired++;
      // Fenced or unknown: abandon everything (and rejoin later).
      if (['FENCED_MEMBER_EPOCH', 'UNKNOWN_MEMBER_ID'].includes(outcome.result.error.code)) clients.delete(i);
      return;
    }
    if (loseResponse) return;
    const next = assignmentKeys(outcome.result.response.assignment);
    for (const key of client.held) if (!next.has(key)) seen.revocations++;
    for (const key of next) {
      if (!client.held.has(key) && lastHolder.has(key) && lastHolder.get(key) !== client.id) seen.handoffs++;
      lastHolder.set(key, client.id);
    }
    client.epoch = outcome.result.response.memberEpoch;
    client.held = next;
    client.lastOk = sentAt;
  };

  for (const op of ops) {
    switch (op.kind) {
      case 'join': {
        if (clients.has(op.member)) break;
        const id = `m${op.member}`;
        const outcome = g.send({ memberId: id, memberEpoch: 0, subscribedTopics: op.topics, sessionTimeoutMs: op.timeout });
        clients.set(op.member, { id, epoch: 0, held: new Set(), lastOk: g.now, timeout: op.timeout });
        apply(op.member, outcome, g.now, false);
        break;
      }
      case 'heartbeat': {
        const client = clients.get(op.member);
        if (!client) break;
        if (!alive(client) && !op.zombie) {
          clients.delete(op.member); // a client past its session timeout stops and abandons its partitions
          break;
        }
        // (A zombie did not notice its session lapsed and carries on.)
        const serverEpoch = g.state?.members[client.id]?.memberEpoch;
        const outcome = g.send({
          memberId: client.id,
          memberEpoch: client.epoch,
          ...(op.reportOwned ? { ownedPartitions: toAssignmentOf(client.held) } : {}),
        });
        if (outcome.result.ok && serverEpoch !== undefined && client.epoch < serverEpoch) seen.previousEpoch++;
        apply(op.member, outcome, g.now, op.loseResponse);
        break;
      }
      case 'leave': {
        const client = clients.get(op.member);
        if (!client) break;
        g.send({ memberId: client.id, memberEpoch: -1 });
        clients.delete(op.member);
        break;
      }
      case 'subscribe': {
        const client = clients.get(op.member);
        if (!client || !alive(client)) break;
        const outcome = g.send({
          memberId: client.id,
          memberEpoch: client.epoch,
          subscribedTopics: op.topics,
          ownedPartitions: toAssignmentOf(client.held),
        });
        apply(op.member, outcome, g.now, false);
        break;
      }
      case 'tick':
        g.now += op.ms;
        break;
      case 'grow':
        g.topics = { ...g.topics, [op.topic]: g.topics[op.topic]! + op.by };
        break;
      case 'commit': {
        const client = clients.get(op.member);
        if (!client || client.held.size === 0) break; // (zombies commit too)
        const partitions = [...client.held].map((key) => ({
          topic: key.slice(0, key.lastIndexOf(':')),
          partition: Number(key.slice(key.lastIndexOf(':') + 1)),
        }));
        const check = checkMemberCommit(G, g.state, client.id, client.epoch, partitions, g.now);
        if (check.ok) seen.commitsAccepted++;
        else seen.commitsRejected++;
        if (!check.ok && !alive(client)) seen.zombieCommitsRejected++;
        if (check.ok) {
          // Guarantee 6: an accepted commit comes from a member whose session the server has not seen lapse, owning
          // the partitions, which no other live client holds.
          expect(g.now).toBeLessThanOrEqual(g.state!.members[client.id]!.expiresAt);
          for (const [j, other] of clients) {
            if (j !== op.member && alive(other)) for (const key of client.held) expect(other.held.has(key)).toBe(false);
          }
        }
        break;
      }
    }
    checkInvariants(g, clients, alive);
  }

  // Liveness: with everyone heartbeating (no time passing), the group converges to Stable.
  for (let round = 0; round < 4; round++) {
    for (const [i, client] of [...clients]) {
      if (!alive(client)) {
        clients.delete(i);
        continue;
      }
      apply(i, g.send({ memberId: client.id, memberEpoch: client.epoch, ownedPartitions: toAssignmentOf(client.held) }), g.now, false);
      checkInvariants(g, clients, alive);
    }
  }
  if (g.state && clients.size > 0 && [...clients.values()].every(alive) && clients.size === Object.keys(g.state.members).length) {
    expect(groupStateName(g.state, g.now)).toBe('Stable');
    seen.stable++;
    // And then every subscribed partition is owned.
    const subscribed = new Set(Object.values(g.state.members).flatMap((m) => m.subscribedTopics));
    const owned = new Set(Object.values(g.state.members).flatMap((m) => [...ownedKeys(m)]));
    for (const topic of subscribed) for (let p = 0; p < (g.topics[topic] ?? 0); p++) expect(owned.has(`${topic}:${p}`)).toBe(true);
  }
}

function checkInvariants(g: Group, clients: Map<number, Client>, alive: (c: Client) => boolean): void {
  // Server side: owned sets are pairwise disjoint.
  const owner = new Map<string, string>();
  for (const member of Object.values(g.state?.members ?? {})) {
    for (const key of ownedKeys(member)) {
      expect(owner.get(key), `${key} owned by ${owner.get(key)} and ${member.memberId}`).toBeUndefined();
      owner.set(key, member.memberId);
    }
    expect(member.memberEpoch).toBeLessThanOrEqual(g.state!.groupEpoch);
  }
  // Client side (guarantee 5): no two live clients hold the same partition, and what a client holds the server counts as its.
  const holder = new Map<string, string>();
  for (const client of clients.values()) {
    if (!alive(client)) continue;
    for (const key of client.held) {
      expect(holder.get(key), `${key} held by ${holder.get(key)} and ${client.id}`).toBeUndefined();
      holder.set(key, client.id);
      expect(owner.get(key), `${client.id} holds ${key}`).toBe(client.id);
    }
  }
}

describe('group state machine: random sequences (fake clock)', () => {
  it('never lets two members own a partition, and converges to Stable', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 120, size: 'max' }), (ops) => simulate(ops)),
      { numRuns: 300 },
    );
    for (const [path, count] of Object.entries(seen)) expect(count, path).toBeGreaterThanOrEqual(5);
  });

  it('member and group epochs never go backwards', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 100, size: 'max' }), (ops) => {
        const g = new Group({ a: 3, b: 2, c: 4 });
        let groupEpoch = 0;
        const epochs = new Map<string, number>();
        for (const op of ops) {
          if (op.kind === 'tick') g.now += op.ms;
          else if (op.kind === 'join')
            g.send({ memberId: `m${op.member}`, memberEpoch: 0, subscribedTopics: op.topics, sessionTimeoutMs: op.timeout });
          else if (op.kind === 'heartbeat' || op.kind === 'commit') {
            const member = g.state?.members[`m${op.member}`];
            if (member) g.send({ memberId: member.memberId, memberEpoch: member.memberEpoch, ownedPartitions: member.assigned });
          } else if (op.kind === 'leave') g.send({ memberId: `m${op.member}`, memberEpoch: -1 });
          if (g.state) {
            expect(g.state.groupEpoch).toBeGreaterThanOrEqual(groupEpoch);
            groupEpoch = g.state.groupEpoch;
            for (const m of Object.values(g.state.members)) {
              if (m.memberEpoch > 0) expect(m.memberEpoch).toBeGreaterThanOrEqual(epochs.get(m.memberId) ?? 0);
              epochs.set(m.memberId, m.memberEpoch);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
