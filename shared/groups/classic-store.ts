/**
 * The classic protocol's I/O: read the group item, compute (classic.ts), write conditioned on
 * the version read, retry on a lost race. A JoinGroup or a follower's SyncGroup waits for the
 * rest of the group by polling the item (no coordinator process holds it), and moves time
 * forward itself (classicTick) so a rebalance completes at its deadline with nobody else around.
 */
import { randomUUID } from 'node:crypto';
import { tableName } from '../runtime/aws';
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
} from './classic';
import { classicGroupError, type LogwayError } from '../errors';
import type { GroupState } from './state';
import {
  offsetPut,
  readGroup,
  requireTopicIds,
  RETRY,
  retrying,
  transact,
  writeGroup,
  type OffsetToCommit,
  type TransactItem,
} from './store';
import { maxOffsetsPerCommit } from './schemas';
import { sleep } from '../runtime/retry';

const pollMs = 50;

export interface ClassicContext {
  readonly settings: ClassicSettings;
  readonly codec: ConsumerProtocolCodec;
  readonly now?: () => number;
}

const clock = (ctx: ClassicContext) => (ctx.now ?? Date.now)();

/** Reads the group and stores whatever time changed (expiries, a completed rebalance). */
async function readTicked(groupId: string, ctx: ClassicContext): Promise<GroupState | undefined> {
  for (;;) {
    const read = await readGroup(groupId);
    if (!read?.classic) return read;
    const ticked = classicTick(read, clock(ctx), ctx.settings, ctx.codec);
    if (ticked === read) return read;
    if (await writeGroup(read, ticked, 'structural', undefined)) return ticked;
  }
}

export type JoinResponse = Extract<ReturnType<typeof joinResult>, { done: true; generationId: number }> & { memberId: string };

export async function joinClassicGroup(
  groupId: string,
  request: Omit<JoinRequest, 'memberId'> & { memberId: string },
  ctx: ClassicContext,
): Promise<JoinResponse> {
  const newMemberId = `${request.clientId || 'member'}-${randomUUID()}`;
  const memberId = await retrying(groupId, {}, async () => {
    const read = await readGroup(groupId);
    const outcome = classicJoin(groupId, read, request, {
      now: clock(ctx),
      newMemberId,
      newIncarnation: randomUUID(),
      settings: ctx.settings,
      codec: ctx.codec,
    });
    if (!outcome.ok) throw outcome.error;
    return (await writeGroup(read, outcome.state, 'structural', undefined)) ? outcome.memberId : RETRY;
  });
  const deadline = clock(ctx) + Math.max(request.rebalanceTimeoutMs, request.sessionTimeoutMs) + 5_000;
  for (;;) {
    const state = await readTicked(groupId, ctx);
    const result = joinResult(groupId, state, memberId);
    if (result.done) {
      if ('error' in result) throw result.error;
      return { ...result, memberId };
    }
    if (clock(ctx) > deadline) throw rebalanceTimeout(groupId);
    await sleep(pollMs);
  }
}

const rebalanceTimeout = (groupId: string): LogwayError =>
  classicGroupError('REBALANCE_IN_PROGRESS', `The rebalance of group '${groupId}' did not complete in time: rejoin.`, groupId);

export async function syncClassicGroup(
  groupId: string,
  request: { memberId: string; generationId: number; assignments: readonly { memberId: string; assignment: Uint8Array }[] },
  ctx: ClassicContext,
): Promise<Buffer> {
  const deadline = clock(ctx) + 60_000;
  let request_ = request;
  for (;;) {
    const read = await readTicked(groupId, ctx);
    const outcome = classicSync(groupId, read, request_, clock(ctx), ctx.settings, ctx.codec);
    if (!outcome.ok) throw outcome.error;
    if (!(await writeGroup(read, outcome.state, 'structural', undefined))) continue;
    if (outcome.assignment) return outcome.assignment;
    // A follower: wait for the leader's SyncGroup. Only the first attempt carries assignments.
    request_ = { ...request, assignments: [] };
    if (clock(ctx) > deadline) throw rebalanceTimeout(groupId);
    await sleep(pollMs);
  }
}

export async function heartbeatClassicGroup(
  groupId: string,
  request: { memberId: string; generationId: number },
  ctx: ClassicContext,
): Promise<void> {
  const error = await retrying(groupId, {}, async () => {
    const read = await readGroup(groupId);
    const outcome = classicHeartbeat(groupId, read, request, clock(ctx), ctx.settings, ctx.codec);
    if (outcome.state && !(await writeGroup(read, outcome.state, 'structural', undefined))) return RETRY;
    return outcome.error ?? null;
  });
  if (error) throw error;
}

export async function leaveClassicGroup(
  groupId: string,
  memberIds: readonly string[],
  ctx: ClassicContext,
): Promise<{ memberId: string; error: LogwayError | undefined }[]> {
  return retrying(groupId, {}, async () => {
    const read = await readGroup(groupId);
    const outcome = classicLeave(groupId, read, memberIds, clock(ctx), ctx.settings, ctx.codec);
    if (outcome.state && !(await writeGroup(read, outcome.state, 'structural', undefined))) return RETRY;
    return outcome.results;
  });
}

/**
 * A classic member's commit: checked against the group read, written in transactions whose
 * condition proves the member is still in that generation (heartbeats may change the item's
 * version meanwhile; they do not invalidate the commit).
 */
export async function commitClassicOffsets(
  groupId: string,
  member: { memberId: string; generationId: number },
  offsets: readonly OffsetToCommit[],
): Promise<void> {
  const topicIds = await requireTopicIds(offsets);
  for (let i = 0; i < offsets.length; i += maxOffsetsPerCommit) {
    const chunk = offsets.slice(i, i + maxOffsetsPerCommit);
    await retrying(groupId, {}, async () => {
      const read = await readGroup(groupId);
      const error = checkClassicCommit(groupId, read, member.memberId, member.generationId);
      if (error) throw error;
      const now = Date.now();
      const condition: TransactItem = {
        ConditionCheck: {
          TableName: tableName('groups'),
          Key: { groupId },
          ConditionExpression:
            '#incarnation = :incarnation AND #classic.#generation = :generation AND attribute_exists(#classic.#members.#member)',
          ExpressionAttributeNames: {
            '#incarnation': 'incarnation',
            '#classic': 'classic',
            '#generation': 'generationId',
            '#members': 'members',
            '#member': member.memberId,
          },
          ExpressionAttributeValues: { ':incarnation': read!.incarnation, ':generation': member.generationId },
        },
      };
      const puts = chunk.map((offset) =>
        offsetPut(groupId, read!.incarnation, offset, topicIds.get(offset.topic)!, now, {
          memberId: member.memberId,
          memberEpoch: member.generationId,
        }),
      );
      return (await transact([condition, ...puts])) ? true : RETRY;
    });
  }
}
