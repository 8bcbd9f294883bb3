/**
 * The consumer's pure parts, each on its own: reconciliation and the partition table, the
 * offset tracker, commit chunking, the fetcher's order and the membership's timing. (The parts
 * together, against the real service: test/client/client.test.ts and consumer-group.test.ts.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { idleWaitMs, readyToFetch, rotate } from '../../client/src/consumer/fetcher';
import { heartbeatInterval, sessionLapsed } from '../../client/src/consumer/membership';
import { commitChunks, maxOffsetsPerCommit, OffsetTracker, withoutPartitions } from '../../client/src/consumer/offsets';
import {
  keyOf,
  newPartitionState,
  PartitionTable,
  type PartitionStatus,
  reconcile,
  splitKey,
  Subscription,
  toOffset,
} from '../../client/src/consumer/partitions';

const topicName = fc.constantFrom('a', 'b', 'c:d', 'orders');
const partition = fc.integer({ min: 0, max: 5 });
const status = fc.constantFrom<PartitionStatus>('initializing', 'active', 'revoking');
const assignment = fc.dictionary(topicName, fc.uniqueArray(partition, { maxLength: 4 }), { maxKeys: 3 });
const owned = fc
  .uniqueArray(fc.tuple(topicName, partition, status), { selector: ([t, p]) => keyOf(t, p), maxLength: 8 })
  .map((list) => new Map(list.map(([t, p, s]) => [keyOf(t, p), { status: s }])));

describe('reconcile', () => {
  it('revokes held partitions the assignment lacks (unless already revoking) and adds the ones it brings', () => {
    fc.assert(
      fc.property(owned, assignment, (held, target) => {
        const targetKeys = new Set(Object.entries(target).flatMap(([t, ps]) => ps.map((p) => keyOf(t, p))));
        const { revoked, added } = reconcile(held, target);
        expect(new Set(added)).toEqual(new Set([...targetKeys].filter((k) => !held.has(k))));
        expect(new Set(revoked)).toEqual(
          new Set([...held].filter(([k, s]) => !targetKeys.has(k) && s.status !== 'revoking').map(([k]) => k)),
        );
        // After releasing the revoked and adding the new, the member holds the target plus what is still being revoked.
        const after = new Set([...[...held.keys()].filter((k) => !revoked.includes(k)), ...added]);
        for (const key of targetKeys) expect(after.has(key)).toBe(true);
        for (const key of after) expect(targetKeys.has(key) || held.get(key)?.status === 'revoking').toBe(true);
      }),
    );
  });

  it('changes nothing when the assignment is what the member holds', () => {
    const table = new PartitionTable();
    for (const key of ['t:0', 't:1', 'u:3']) table.add(key).status = 'active';
    expect(reconcile(table.owned, table.ownedAssignment())).toEqual({ revoked: [], added: [] });
  });
});

describe('the partition table', () => {
  it('keys survive topic names with colons', () => {
    fc.assert(
      fc.property(fc.string(), fc.nat(), (t, p) => {
        expect(splitKey(keyOf(t, p))).toEqual([t, p]);
      }),
    );
  });

  it('reports as assigned only initialized partitions, and as owned every held one, sorted', () => {
    const table = new PartitionTable();
    table.add('b:1').status = 'active';
    table.add('a:2').status = 'revoking';
    table.add('a:0');
    expect(table.assignment()).toEqual([
      { topic: 'a', partition: 2 },
      { topic: 'b', partition: 1 },
    ]);
    expect(table.ownedAssignment()).toEqual({ b: [1], a: [0, 2] });
  });

  it('a seek moves an active partition (a new generation) and waits for one not active yet', () => {
    const table = new PartitionTable();
    const active = table.add('t:0');
    active.status = 'active';
    active.position = 5;
    active.retryAt = Date.now() + 60_000;
    expect(table.seek('t', 0, 2)).toBe(true);
    expect(active).toMatchObject({ position: 2, generation: 1, retryAt: 0 });
    const initializing = table.add('t:1');
    expect(table.seek('t', 1, 7)).toBe(false);
    expect(initializing.position).toBeNull();
    table.takePendingSeek(initializing);
    expect(initializing.position).toBe(7);
    expect(table.pendingSeeks.size).toBe(0);
  });

  it('pauses by partition or by topic; resuming a topic resumes its partitions too', () => {
    const table = new PartitionTable();
    for (const key of ['t:0', 't:1', 'u:0']) {
      const s = table.add(key);
      s.status = 'active';
      s.position = 0;
    }
    table.pause([{ topic: 't', partitions: [1] }, { topic: 'u' }, { topic: 'x', partitions: [4] }]);
    expect(table.paused()).toEqual([
      { topic: 't', partitions: [1] },
      { topic: 'u', partitions: [0] },
      { topic: 'x', partitions: [4] },
    ]);
    expect(table.fetchable().map((s) => s.key)).toEqual(['t:0']);
    table.resume([{ topic: 't' }, { topic: 'u' }]);
    expect(table.paused()).toEqual([{ topic: 'x', partitions: [4] }]);
    expect(table.fetchable().map((s) => s.key)).toEqual(['t:0', 't:1', 'u:0']);
  });

  it('release removes only the states still held', () => {
    const table = new PartitionTable();
    const old = table.add('t:0');
    table.release([old]);
    const fresh = table.add('t:0');
    expect(table.release([old])).toEqual([]);
    expect(table.holds(fresh)).toBe(true);
  });

  it('offsets are non-negative safe integers, as numbers or strings', () => {
    expect(toOffset('42')).toBe(42);
    expect(() => toOffset(-1)).toThrow(TypeError);
    expect(() => toOffset('x')).toThrow(TypeError);
    expect(() => toOffset(2 ** 53)).toThrow(TypeError);
  });
});

describe('the subscription', () => {
  it('keeps each topic’s reset policy and notes new topics', () => {
    const subscription = new Subscription('latest');
    subscription.add(['a'], undefined);
    subscription.add(['b'], true);
    expect(subscription.changed).toBe(true);
    subscription.changed = false;
    subscription.add(['a'], false);
    expect(subscription.changed).toBe(false);
    expect(subscription.names()).toEqual(['a', 'b']);
    expect([subscription.resetOf('a'), subscription.resetOf('b'), subscription.resetOf('zzz')]).toEqual(['latest', 'earliest', 'latest']);
    expect(() => subscription.add([/x/ as unknown as string], undefined)).toThrow(/regular expressions/);
  });
});

describe('the offset tracker', () => {
  it('resolveOffset only moves a position forward', () => {
    fc.assert(
      fc.property(fc.option(fc.nat(1000), { nil: null }), fc.array(fc.nat(1000)), (start, resolved) => {
        const state = newPartitionState('t:0');
        state.position = start;
        const tracker = new OffsetTracker(new PartitionTable());
        for (const offset of resolved) tracker.resolve(state, offset);
        const highest = Math.max(start ?? Number.NEGATIVE_INFINITY, ...resolved.map((o) => o + 1));
        expect(state.position).toBe(Number.isFinite(highest) ? highest : null);
      }),
    );
  });

  it('commits moved positions of initialized partitions; reports every moved one as uncommitted', () => {
    const table = new PartitionTable();
    const tracker = new OffsetTracker(table);
    const moved = table.add('t:0');
    moved.status = 'active';
    moved.position = 5;
    moved.committed = 3;
    const unchanged = table.add('t:1');
    unchanged.status = 'active';
    unchanged.position = 2;
    unchanged.committed = 2;
    const initializing = table.add('t:2');
    initializing.position = 9;
    expect(tracker.toCommit(table.states())).toEqual([{ topic: 't', partition: 0, offset: 5 }]);
    expect(tracker.uncommitted()).toEqual([
      { topic: 't', partition: 0, offset: 5 },
      { topic: 't', partition: 2, offset: 9 },
    ]);
    tracker.committed([
      { topic: 't', partition: 0, offset: 5 },
      { topic: 'gone', partition: 0, offset: 1 },
    ]);
    expect(moved.committed).toBe(5);
    expect(tracker.toCommit(table.states())).toEqual([]);
  });

  it('auto-commit takes a turn once per interval, and never when off', () => {
    let now = 0;
    const tracker = new OffsetTracker(new PartitionTable(), () => now);
    tracker.configure({ autoCommit: true, autoCommitInterval: 100 });
    now = 99;
    expect(tracker.takeAutoCommitTurn()).toBe(false);
    now = 100;
    expect(tracker.takeAutoCommitTurn()).toBe(true);
    expect(tracker.takeAutoCommitTurn()).toBe(false);
    now = 200;
    expect(tracker.takeAutoCommitTurn()).toBe(true);
    tracker.configure({ autoCommit: false, autoCommitInterval: 0 });
    now = 10_000;
    expect(tracker.takeAutoCommitTurn()).toBe(false);
    expect(tracker.autoCommitEnabled).toBe(false);
  });

  it('splits commits into requests the service takes, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 500 }), (offsets) => {
        const chunks = commitChunks(offsets);
        expect(chunks.flat()).toEqual(offsets);
        for (const chunk of chunks) expect(chunk.length).toBeGreaterThan(0);
        for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(maxOffsetsPerCommit);
      }),
    );
  });

  it('drops the partitions a NOT_OWNER refusal names', () => {
    const chunk = [
      { topic: 't', partition: 0, offset: 1 },
      { topic: 't', partition: 1, offset: 2 },
    ];
    expect(withoutPartitions(chunk, [{ topic: 't', partition: 1 }])).toEqual([chunk[0]]);
  });
});

describe('the fetcher', () => {
  it('rotates the partitions so each gets to go first', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 20 }), fc.nat(1000), (ready, turn) => {
        const order = rotate(ready, turn);
        expect([...order].sort()).toEqual([...ready].sort());
        if (ready.length > 0) expect(order[0]).toBe(ready[turn % ready.length]);
      }),
    );
  });

  it('reads nothing while the session lapsed, and skips partitions backing off until their time', () => {
    const now = 1000;
    const a = { ...newPartitionState('t:0'), retryAt: 0 };
    const b = { ...newPartitionState('t:1'), retryAt: 1500 };
    expect(readyToFetch([a, b], now, false)).toEqual([a]);
    expect(readyToFetch([a, b], now, true)).toEqual([]);
    expect(idleWaitMs([a, b], now)).toBe(500);
    expect(idleWaitMs([a], now)).toBe(1000);
  });
});

describe('membership timing', () => {
  it('heartbeats at the service’s interval, capped by the option and a third of the session, at least every 10 ms', () => {
    fc.assert(
      fc.property(fc.nat(100_000), fc.nat(100_000), fc.integer({ min: 1000, max: 300_000 }), (server, cap, session) => {
        const interval = heartbeatInterval(server, cap, session);
        expect(interval).toBeGreaterThanOrEqual(10);
        expect(interval).toBeLessThanOrEqual(Math.max(10, Math.floor(session / 3)));
        expect(interval).toBe(Math.max(10, Math.min(server, cap, Math.floor(session / 3))));
      }),
    );
    expect(heartbeatInterval(5000, Number.POSITIVE_INFINITY, 45_000)).toBe(5000);
  });

  it('a member’s session lapses a session timeout after its last successful heartbeat was sent', () => {
    expect(sessionLapsed(3, 1000, 500, 1500)).toBe(false);
    expect(sessionLapsed(3, 1000, 500, 1501)).toBe(true);
    expect(sessionLapsed(0, 0, 500, 10_000)).toBe(false);
  });
});
