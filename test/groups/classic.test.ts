/** The classic protocol's state machine (pure): generations, leader election, rebalances, expiry, one protocol per group. */
import { describe, expect, it } from 'vitest';
import {
  type ClassicSettings,
  type ConsumerProtocolCodec,
  type JoinRequest,
  checkClassicCommit,
  classicHeartbeat,
  classicJoin,
  classicLeave,
  classicSync,
  classicTick,
  joinResult,
} from '../../shared/groups/classic';
import { heartbeat, type GroupState } from '../../shared/groups/state';

const settings: ClassicSettings = { initialDelayMs: 100 };
/** Metadata and assignments in these tests are JSON: topics, and an Assignment. */
const codec: ConsumerProtocolCodec = {
  subscribedTopics: (_type, metadata) => JSON.parse(metadata.toString()) as string[],
  assignedPartitions: (_type, assignment) => (assignment.length ? JSON.parse(assignment.toString()) : {}),
};
const joinRequest = (memberId = '', topics = ['t']): JoinRequest => ({
  memberId,
  groupInstanceId: null,
  clientId: 'c',
  clientHost: 'h',
  sessionTimeoutMs: 1000,
  rebalanceTimeoutMs: 2000,
  protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: Buffer.from(JSON.stringify(topics)) }],
});

function join(state: GroupState | undefined, now: number, memberId = '', id = `m${now}`) {
  const outcome = classicJoin('g', state, joinRequest(memberId), { now, newMemberId: id, newIncarnation: 'inc', settings, codec });
  if (!outcome.ok) throw outcome.error;
  return outcome;
}

describe('classic consumer groups', () => {
  it('forms a generation after the initial delay, elects the first member leader, and becomes Stable on the leader sync', () => {
    const a = join(undefined, 0, '', 'a');
    expect(joinResult('g', a.state, 'a')).toEqual({ done: false });
    const b = join(a.state, 50, '', 'b');
    const formed = classicTick(b.state, 100, settings, codec);
    const forA = joinResult('g', formed, 'a');
    expect(forA).toMatchObject({ done: true, generationId: 1, leaderId: 'a', protocolName: 'range' });
    expect((forA as { members: unknown[] }).members).toHaveLength(2);
    expect((joinResult('g', formed, 'b') as { members: unknown[] }).members).toEqual([]);

    const followerEarly = classicSync('g', formed, { memberId: 'b', generationId: 1, assignments: [] }, 110, settings, codec);
    expect(followerEarly).toMatchObject({ ok: true, assignment: undefined });
    const leader = classicSync(
      'g',
      formed,
      {
        memberId: 'a',
        generationId: 1,
        assignments: [
          { memberId: 'a', assignment: Buffer.from('{"t":[0]}') },
          { memberId: 'b', assignment: Buffer.from('{"t":[1]}') },
        ],
      },
      120,
      settings,
      codec,
    );
    if (!leader.ok) throw leader.error;
    expect(leader.assignment!.toString()).toBe('{"t":[0]}');
    expect(leader.state.classic!.phase).toBe('Stable');
    // Mirrored for the HTTP API: epoch = generation, assignment as the leader gave it.
    expect(leader.state.members.b).toMatchObject({ memberEpoch: 1, assigned: { t: [1] }, subscribedTopics: ['t'] });
    expect(checkClassicCommit('g', leader.state, 'b', 1)).toBeUndefined();
    expect(checkClassicCommit('g', leader.state, 'b', 0)?.code).toBe('ILLEGAL_GENERATION');
  });

  function stable(): GroupState {
    const a = join(undefined, 0, '', 'a');
    const b = join(a.state, 10, '', 'b');
    const formed = classicTick(b.state, 100, settings, codec);
    const synced = classicSync('g', formed, { memberId: 'a', generationId: 1, assignments: [] }, 100, settings, codec);
    if (!synced.ok) throw synced.error;
    return synced.state;
  }

  it('a new member opens a rebalance: heartbeats answer REBALANCE_IN_PROGRESS, and members that do not rejoin by the deadline are dropped', () => {
    const c = join(stable(), 200, '', 'c');
    const beat = classicHeartbeat('g', c.state, { memberId: 'a', generationId: 1 }, 300, settings, codec);
    expect(beat.error?.code).toBe('REBALANCE_IN_PROGRESS');
    let rejoined = join(beat.state!, 400, 'a').state;
    // b keeps heartbeating but never rejoins: at the deadline (200 + 2000) the generation forms without it.
    for (const now of [1050, 2000]) {
      const b = classicHeartbeat('g', rejoined, { memberId: 'b', generationId: 1 }, now, settings, codec);
      expect(b.error?.code).toBe('REBALANCE_IN_PROGRESS');
      rejoined = b.state!;
    }
    expect(joinResult('g', classicTick(rejoined, 2100, settings, codec), 'a')).toEqual({ done: false });
    const formed = classicTick(rejoined, 2200, settings, codec);
    expect(Object.keys(formed.classic!.members).sort()).toEqual(['a', 'c']);
    expect(joinResult('g', formed, 'a')).toMatchObject({ done: true, generationId: 2, leaderId: 'a' });
    expect(joinResult('g', formed, 'b')).toMatchObject({ done: true, error: { code: 'UNKNOWN_MEMBER_ID' } });
  });

  it('a member whose session lapses is removed and the rest rebalance; the last to leave empties the group', () => {
    const group = stable();
    const alive = classicHeartbeat('g', group, { memberId: 'a', generationId: 1 }, 1050, settings, codec).state!;
    // b's session (1000 ms from 100) lapsed at 1101.
    const expired = classicTick(alive, 1200, settings, codec);
    expect(Object.keys(expired.classic!.members)).toEqual(['a']);
    expect(expired.classic!.phase).toBe('PreparingRebalance');
    const left = classicLeave('g', expired, ['a', 'zzz'], 1300, settings, codec);
    expect(left.results.map((r) => r.error?.code)).toEqual([undefined, 'UNKNOWN_MEMBER_ID']);
    expect(left.state!.classic!.phase).toBe('Empty');
    expect(left.state!.members).toEqual({});
  });

  it('keeps one protocol per group: classic and consumer-protocol members never mix', () => {
    const ctx = {
      now: 0,
      topics: { t: 2 },
      heartbeatIntervalMs: 1000,
      defaultSessionTimeoutMs: 5000,
      newMemberId: () => 'k',
      newIncarnation: () => 'i',
    };
    const kip848 = heartbeat('g', undefined, { memberEpoch: 0, subscribedTopics: ['t'] }, ctx);
    const refused = classicJoin('g', kip848.state, joinRequest(), { now: 10, newMemberId: 'a', newIncarnation: 'x', settings, codec });
    expect(refused.ok ? undefined : refused.error.code).toBe('INCONSISTENT_GROUP_PROTOCOL');
    const classic = stable();
    const refusedToo = heartbeat('g', classic, { memberEpoch: 0, subscribedTopics: ['t'] }, { ...ctx, now: 150 });
    expect(refusedToo.result.ok ? undefined : refusedToo.result.error.code).toBe('INCONSISTENT_GROUP_PROTOCOL');
  });

  it('refuses a join with an unknown member id, and with no assignor in common', () => {
    const group = stable();
    const unknown = classicJoin('g', group, joinRequest('ghost'), { now: 200, newMemberId: 'x', newIncarnation: 'i', settings, codec });
    expect(unknown.ok ? undefined : unknown.error.code).toBe('UNKNOWN_MEMBER_ID');
    const other = { ...joinRequest(), protocols: [{ name: 'sticky', metadata: Buffer.from('[]') }] };
    const none = classicJoin('g', group, other, { now: 200, newMemberId: 'x', newIncarnation: 'i', settings, codec });
    expect(none.ok ? undefined : none.error.code).toBe('INCONSISTENT_GROUP_PROTOCOL');
  });
});
