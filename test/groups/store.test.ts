/**
 * The DynamoDB conditions themselves, against DynamoDB Local: a write computed from a read that
 * is no longer current must change nothing. The HTTP tests cannot time these races; here the
 * stale read is taken explicitly.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestResources } from '../support/local-service';
import { createTopic } from '../../shared/topics/store';
import {
  backoffMs,
  heartbeatGroup,
  readCommittedOffsets,
  readGroup,
  tryCommitMemberOffsets,
  tryCommitOffsetsWithoutMember,
  writeGroup,
  type OffsetToCommit,
} from '../../shared/groups/store';
import type { GroupState } from '../../shared/groups/state';

const settings = { heartbeatIntervalMs: 5000, defaultSessionTimeoutMs: 30_000 };
const offset = (partition: number, value: number): OffsetToCommit => ({ topic: 't', partition, offset: value, metadata: '' });

beforeAll(async () => {
  await useTestResources();
  await createTopic('t', 4, {});
});

async function offsetsOf(groupId: string): Promise<Record<number, number>> {
  const group = (await readGroup(groupId))!;
  return Object.fromEntries((await readCommittedOffsets(group)).map((o) => [o.partition, o.offset]));
}

describe('offset commit conditions', () => {
  it('a member commit validated against a stale read changes nothing', async () => {
    const g = 'stale-commit';
    const a = await heartbeatGroup(g, { memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'] }, settings);
    expect(
      await tryCommitMemberOffsets(g, await readGroup(g), { memberId: 'a', memberEpoch: 1 }, [offset(0, 1), offset(3, 1)], Date.now()),
    ).toBe(true);
    const stale = (await readGroup(g))!;

    // b joins; a is told to release two partitions and confirms: its epoch and owned set change.
    await heartbeatGroup(g, { memberId: 'b', memberEpoch: 0, subscribedTopics: ['t'] }, settings);
    const revoke = await heartbeatGroup(g, { memberId: 'a', memberEpoch: 1, ownedPartitions: a.assignment }, settings);
    await heartbeatGroup(g, { memberId: 'a', memberEpoch: 1, ownedPartitions: revoke.assignment }, settings);
    const released = [0, 1, 2, 3].find((p) => !revoke.assignment.t!.includes(p))!;

    // Validated against the stale read (where a owned everything at epoch 1), refused by the condition.
    expect(await tryCommitMemberOffsets(g, stale, { memberId: 'a', memberEpoch: 1 }, [offset(released, 7)], Date.now())).toBe(false);
    expect(await offsetsOf(g)).toEqual({ 0: 1, 3: 1 });
  });

  it('refuses a commit once the stored session has lapsed, and one from another incarnation of the group', async () => {
    const g = 'lapsed-commit';
    await heartbeatGroup(g, { memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'], sessionTimeoutMs: 1000 }, settings);
    const read = (await readGroup(g))!;
    const stored = read.members.a!.expiresAt;
    // A read claiming a longer session than the one stored: the condition on expiresAt still holds the line.
    const optimistic: GroupState = structuredClone(read);
    optimistic.members.a!.expiresAt = stored + 60_000;
    expect(await tryCommitMemberOffsets(g, optimistic, { memberId: 'a', memberEpoch: 1 }, [offset(0, 5)], stored + 1)).toBe(false);
    const otherIncarnation: GroupState = { ...structuredClone(read), incarnation: 'another' };
    expect(await tryCommitMemberOffsets(g, otherIncarnation, { memberId: 'a', memberEpoch: 1 }, [offset(0, 5)], stored - 500)).toBe(false);
    expect(await tryCommitMemberOffsets(g, read, { memberId: 'a', memberEpoch: 1 }, [offset(0, 6)], stored - 500)).toBe(true);
    expect(await offsetsOf(g)).toEqual({ 0: 6 });
  });

  it('a commit without a member from a read taken while the group was empty (or absent) fails once someone joined', async () => {
    const absent = 'joined-after-absent';
    const none = await readGroup(absent);
    expect(none).toBeUndefined();
    await heartbeatGroup(absent, { memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'] }, settings);
    expect(await tryCommitOffsetsWithoutMember(absent, none, [offset(0, 9)], 'x', Date.now())).toBe(false);
    expect(await offsetsOf(absent)).toEqual({});

    const empty = 'joined-after-empty';
    expect(await tryCommitOffsetsWithoutMember(empty, undefined, [offset(1, 1)], 'x', Date.now())).toBe(true);
    const read = await readGroup(empty);
    await heartbeatGroup(empty, { memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'] }, settings);
    expect(await tryCommitOffsetsWithoutMember(empty, read, [offset(1, 9)], 'x', Date.now())).toBe(false);
    expect(await offsetsOf(empty)).toEqual({ 1: 1 });
  });
});

describe('group writes', () => {
  it('refuses a liveness update or a whole-item write computed from a stale version', async () => {
    const g = 'stale-write';
    await heartbeatGroup(g, { memberId: 'a', memberEpoch: 0, subscribedTopics: ['t'] }, settings);
    const stale = (await readGroup(g))!;
    await heartbeatGroup(g, { memberId: 'a', memberEpoch: 1 }, settings);
    const current = (await readGroup(g))!;
    const next: GroupState = { ...structuredClone(stale), version: stale.version + 1 };
    next.members.a!.lastHeartbeat = 1;
    expect(await writeGroup(stale, next, 'liveness', 'a')).toBe(false);
    expect(await writeGroup(stale, next, 'structural', 'a')).toBe(false);
    expect(await writeGroup(undefined, next, 'structural', 'a')).toBe(false);
    expect(await readGroup(g)).toEqual(current);
  });

  it('backs off with full jitter, capped', () => {
    expect(backoffMs(0, () => 0.999)).toBeLessThan(8);
    expect(backoffMs(3, () => 0.5)).toBe(32);
    expect(backoffMs(30, () => 0.999)).toBeLessThan(250);
    expect(backoffMs(30, () => 0)).toBe(0);
  });
});
