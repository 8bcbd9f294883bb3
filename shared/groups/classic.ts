/**
 * Kafka's classic consumer-group protocol (JoinGroup / SyncGroup / Heartbeat / LeaveGroup, with
 * the assignment computed by the elected leader on the client side) as a pure state machine over
 * the same stored group as the KIP-848 protocol of state.ts. Its state lives in the group item's
 * `classic` field; its members are mirrored into `members` (epoch = generation, assignment =
 * what the leader gave them) so the HTTP API's describe, lag, reset and delete see them as they
 * see any member. A group speaks one protocol at a time: a classic join while KIP-848 members are
 * live, or the reverse, is INCONSISTENT_GROUP_PROTOCOL, as in Kafka.
 *
 * Phases, as Kafka names them:
 *  - PreparingRebalance: a join (or a leave, an expiry) opened a new generation; members rejoin.
 *    It completes when every member has rejoined, or at the rebalance deadline (members that did
 *    not rejoin are removed). A group coming from Empty waits `initialDelayMs` for more joiners.
 *  - CompletingRebalance: the generation is formed; the leader computes the assignment and
 *    sends it with its SyncGroup.
 *  - Stable: assignments stored; members heartbeat.
 *  - Empty: no members.
 * Nothing here does I/O: the store reads the item, calls these, and writes the result
 * conditioned on the version it read; waiting JoinGroup/SyncGroup calls poll the item.
 */
import { type ClassicGroupErrorCode, classicGroupError, LogwayError } from '../errors';
import type { Assignment } from './assignor';
import type { GroupState, MemberState } from './state';
import { newGroup } from './state';

export type ClassicPhase = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

export interface ClassicProtocol {
  readonly name: string;
  /** base64 of the client's subscription metadata. */
  readonly metadata: string;
}

export interface ClassicMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: ClassicProtocol[];
  /** Has joined the generation being prepared (PreparingRebalance only). */
  joined: boolean;
  /** The generation this member's last JoinGroup completed into; -1 before. */
  generationId: number;
  /** base64 of the assignment the leader gave it for `generationId`; null before SyncGroup. */
  assignment: string | null;
  lastHeartbeat: number;
  expiresAt: number;
  joinedAt: number;
}

export interface ClassicGroup {
  protocolType: string;
  protocolName: string | null;
  generationId: number;
  phase: ClassicPhase;
  leaderId: string | null;
  /** PreparingRebalance: completes by then at the latest. */
  rebalanceDeadline: number;
  /** PreparingRebalance from Empty: not before then (more members may come). */
  notBefore: number;
  members: Record<string, ClassicMember>;
}

/** Decodes a member's protocol metadata into topics, and an assignment into partitions (consumer protocol). */
export interface ConsumerProtocolCodec {
  subscribedTopics(protocolType: string, metadata: Buffer): string[];
  assignedPartitions(protocolType: string, assignment: Buffer): Assignment;
}

export interface ClassicSettings {
  readonly initialDelayMs: number;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

export function hasClassicMembers(state: GroupState | undefined): boolean {
  return state?.classic !== undefined && Object.keys(state.classic.members).length > 0;
}

function liveConsumerMembers(state: GroupState, now: number): MemberState[] {
  const classicIds = new Set(Object.keys(state.classic?.members ?? {}));
  return Object.values(state.members).filter((m) => !classicIds.has(m.memberId) && now <= m.expiresAt);
}

function emptyClassic(protocolType: string, generationId = 0): ClassicGroup {
  return {
    protocolType,
    protocolName: null,
    generationId,
    phase: 'Empty',
    leaderId: null,
    rebalanceDeadline: 0,
    notBefore: 0,
    members: {},
  };
}

function begin(group: GroupState): { next: GroupState; classic: ClassicGroup } {
  const next = structuredClone(group);
  next.version = group.version + 1;
  return { next, classic: next.classic! };
}

function startRebalance(classic: ClassicGroup, now: number, fromEmpty: boolean, settings: ClassicSettings): void {
  classic.phase = 'PreparingRebalance';
  const timeout = Math.max(0, ...Object.values(classic.members).map((m) => m.rebalanceTimeoutMs));
  classic.rebalanceDeadline = now + timeout;
  classic.notBefore = fromEmpty ? now + settings.initialDelayMs : 0;
  for (const member of Object.values(classic.members)) member.joined = false;
}

export interface JoinRequest {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly { name: string; metadata: Uint8Array }[];
}

/** A JoinGroup: the member (re)joins the generation being prepared. Returns the state to store and the member's id. */
export function classicJoin(
  groupId: string,
  current: GroupState | undefined,
  request: JoinRequest,
  ctx: { now: number; newMemberId: string; newIncarnation: string; settings: ClassicSettings; codec: ConsumerProtocolCodec },
): { ok: true; state: GroupState; memberId: string } | { ok: false; error: LogwayError } {
  const fail = (code: ClassicGroupErrorCode, message: string) => ({
    ok: false as const,
    error: classicGroupError(code, message, groupId),
  });
  const now = ctx.now;
  if (request.protocols.length === 0) return fail('INCONSISTENT_GROUP_PROTOCOL', 'A JoinGroup must name at least one protocol.');
  const base = current ?? newGroup(groupId, ctx.newIncarnation, now);
  if (liveConsumerMembers(base, now).length > 0) {
    return fail(
      'INCONSISTENT_GROUP_PROTOCOL',
      `Group '${groupId}' has members using the consumer (KIP-848) protocol; a classic member cannot join it.`,
    );
  }
  const group = structuredClone(base);
  group.classic ??= emptyClassic(request.protocolType);
  const { next, classic } = begin(group);
  expireClassic(next, now, ctx.settings);
  const others = Object.values(classic.members).filter((m) => m.memberId !== request.memberId);
  if (others.length > 0) {
    if (classic.protocolType !== request.protocolType) {
      return fail(
        'INCONSISTENT_GROUP_PROTOCOL',
        `Group '${groupId}' uses protocol type '${classic.protocolType}', not '${request.protocolType}'.`,
      );
    }
    const common = request.protocols.some((p) => others.every((m) => m.protocols.some((q) => q.name === p.name)));
    if (!common)
      return fail(
        'INCONSISTENT_GROUP_PROTOCOL',
        `None of the assignors offered (${request.protocols.map((p) => p.name).join(', ')}) is supported by every member of group '${groupId}'.`,
      );
  } else classic.protocolType = request.protocolType;

  let memberId = request.memberId;
  if (memberId !== '' && !classic.members[memberId]) {
    return fail('UNKNOWN_MEMBER_ID', `Group '${groupId}' has no member '${memberId}': rejoin with an empty member id.`);
  }
  if (memberId === '') memberId = ctx.newMemberId;
  const previous = classic.members[memberId];
  classic.members[memberId] = {
    memberId,
    groupInstanceId: request.groupInstanceId,
    clientId: request.clientId,
    clientHost: request.clientHost,
    sessionTimeoutMs: request.sessionTimeoutMs,
    rebalanceTimeoutMs: request.rebalanceTimeoutMs,
    protocols: request.protocols.map((p) => ({ name: p.name, metadata: b64(p.metadata) })),
    joined: true,
    generationId: previous?.generationId ?? -1,
    assignment: previous?.assignment ?? null,
    lastHeartbeat: now,
    expiresAt: now + request.sessionTimeoutMs,
    joinedAt: previous?.joinedAt ?? now,
  };
  if (classic.phase !== 'PreparingRebalance') {
    startRebalance(classic, now, classic.phase === 'Empty', ctx.settings);
    classic.members[memberId]!.joined = true;
  }
  advanceClassic(next, now, ctx.settings, ctx.codec);
  return { ok: true, state: next, memberId };
}

/**
 * Moves time forward: expires members whose session lapsed (not those waiting in a JoinGroup),
 * and completes a PreparingRebalance whose members have all rejoined or whose deadline passed.
 * Returns the state unchanged (same object) when nothing happened.
 */
export function classicTick(state: GroupState, now: number, settings: ClassicSettings, codec: ConsumerProtocolCodec): GroupState {
  if (!state.classic) return state;
  const { next } = begin(state);
  expireClassic(next, now, settings);
  advanceClassic(next, now, settings, codec);
  return canonicalEqual(state, next) ? state : next;
}

function canonicalEqual(a: GroupState, b: GroupState): boolean {
  return JSON.stringify({ ...a, version: 0 }) === JSON.stringify({ ...b, version: 0 });
}

function expireClassic(state: GroupState, now: number, settings: ClassicSettings): void {
  const classic = state.classic!;
  let removed = false;
  for (const member of Object.values(classic.members)) {
    const waitingToJoin = classic.phase === 'PreparingRebalance' && member.joined;
    if (!waitingToJoin && now > member.expiresAt) {
      delete classic.members[member.memberId];
      removed = true;
    }
  }
  if (removed) afterRemoval(classic, now, settings);
}

function afterRemoval(classic: ClassicGroup, now: number, settings: ClassicSettings): void {
  if (Object.keys(classic.members).length === 0) {
    Object.assign(classic, emptyClassic(classic.protocolType, classic.generationId));
  } else if (classic.phase !== 'PreparingRebalance') {
    startRebalance(classic, now, false, settings);
  }
}

function advanceClassic(state: GroupState, now: number, _settings: ClassicSettings, codec: ConsumerProtocolCodec): void {
  const classic = state.classic!;
  if (classic.phase === 'PreparingRebalance') {
    const members = Object.values(classic.members);
    const allJoined = members.every((m) => m.joined);
    if ((allJoined && now >= classic.notBefore) || now >= classic.rebalanceDeadline) {
      for (const member of members) if (!member.joined) delete classic.members[member.memberId];
      const joined = Object.values(classic.members).sort((a, b) => a.joinedAt - b.joinedAt || (a.memberId < b.memberId ? -1 : 1));
      classic.generationId += 1;
      if (joined.length === 0) {
        Object.assign(classic, emptyClassic(classic.protocolType, classic.generationId));
      } else {
        classic.phase = 'CompletingRebalance';
        classic.leaderId = classic.leaderId && classic.members[classic.leaderId] ? classic.leaderId : joined[0]!.memberId;
        const leader = classic.members[classic.leaderId]!;
        classic.protocolName =
          leader.protocols.find((p) => joined.every((m) => m.protocols.some((q) => q.name === p.name)))?.name ?? leader.protocols[0]!.name;
        for (const member of joined) {
          member.joined = false;
          member.generationId = classic.generationId;
          member.assignment = null;
          member.lastHeartbeat = now;
          member.expiresAt = now + member.sessionTimeoutMs;
        }
      }
    }
  }
  mirrorMembers(state, codec);
}

/** The classic members as `members` entries, so the HTTP API's reads see them. */
function mirrorMembers(state: GroupState, codec: ConsumerProtocolCodec): void {
  const classic = state.classic!;
  const mirrored: Record<string, MemberState> = {};
  for (const member of Object.values(classic.members)) {
    const metadata = member.protocols.find((p) => p.name === classic.protocolName) ?? member.protocols[0];
    const assigned =
      member.assignment && classic.phase === 'Stable'
        ? codec.assignedPartitions(classic.protocolType, Buffer.from(member.assignment, 'base64'))
        : {};
    const previous = state.members[member.memberId];
    const changed =
      !previous || previous.memberEpoch !== member.generationId || JSON.stringify(previous.assigned) !== JSON.stringify(assigned);
    mirrored[member.memberId] = {
      memberId: member.memberId,
      memberEpoch: member.generationId,
      previousMemberEpoch: previous?.memberEpoch ?? 0,
      subscribedTopics: metadata ? codec.subscribedTopics(classic.protocolType, Buffer.from(metadata.metadata, 'base64')) : [],
      sessionTimeoutMs: member.sessionTimeoutMs,
      lastHeartbeat: member.lastHeartbeat,
      // A member waiting in its JoinGroup is alive while the rebalance lasts.
      expiresAt:
        classic.phase === 'PreparingRebalance' && member.joined ? Math.max(member.expiresAt, classic.rebalanceDeadline) : member.expiresAt,
      joinedAt: member.joinedAt,
      target: assigned,
      assigned,
      revoking: {},
      ownershipVersion: changed ? state.version : (previous?.ownershipVersion ?? state.version),
    };
  }
  state.members = mirrored;
  state.groupEpoch = classic.generationId;
  state.assignmentEpoch = classic.generationId;
}

export type JoinWait =
  | { done: false }
  | { done: true; error: LogwayError }
  | {
      done: true;
      generationId: number;
      protocolName: string | null;
      leaderId: string;
      members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
    };

/** What a waiting JoinGroup answers, once its generation is formed. */
export function joinResult(groupId: string, state: GroupState | undefined, memberId: string): JoinWait {
  const classic = state?.classic;
  const member = classic?.members[memberId];
  if (!classic || !member)
    return {
      done: true,
      error: classicGroupError(
        'UNKNOWN_MEMBER_ID',
        `Member '${memberId}' was removed from group '${groupId}' while joining: rejoin.`,
        groupId,
      ),
    };
  if (classic.phase === 'PreparingRebalance' || member.generationId !== classic.generationId) return { done: false };
  const leader = classic.leaderId === memberId;
  return {
    done: true,
    generationId: classic.generationId,
    protocolName: classic.protocolName,
    leaderId: classic.leaderId!,
    members: leader
      ? Object.values(classic.members).map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          metadata: Buffer.from((m.protocols.find((p) => p.name === classic.protocolName) ?? m.protocols[0]!).metadata, 'base64'),
        }))
      : [],
  };
}

/** Checks a request of a member of the current generation: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS. */
function checkMember(
  groupId: string,
  state: GroupState | undefined,
  memberId: string,
  generationId: number,
): { member: ClassicMember; classic: ClassicGroup } | LogwayError {
  const classic = state?.classic;
  const member = classic?.members[memberId];
  if (!classic || !member)
    return classicGroupError(
      'UNKNOWN_MEMBER_ID',
      `Group '${groupId}' has no member '${memberId}': rejoin with an empty member id.`,
      groupId,
    );
  if (generationId !== classic.generationId) {
    return classicGroupError(
      'ILLEGAL_GENERATION',
      `Member '${memberId}' sent generation ${generationId}; group '${groupId}' is at generation ${classic.generationId}: rejoin.`,
      groupId,
    );
  }
  return { member, classic };
}

const rebalancing = (groupId: string) => classicGroupError('REBALANCE_IN_PROGRESS', `Group '${groupId}' is rebalancing: rejoin.`, groupId);

export type SyncOutcome = { ok: true; state: GroupState; assignment: Buffer | undefined } | { ok: false; error: LogwayError };

/**
 * A SyncGroup. The leader's stores every member's assignment and makes the group Stable; any
 * member's returns its assignment once stored (`assignment` undefined: not yet, poll again).
 */
export function classicSync(
  groupId: string,
  current: GroupState | undefined,
  request: { memberId: string; generationId: number; assignments: readonly { memberId: string; assignment: Uint8Array }[] },
  now: number,
  settings: ClassicSettings,
  codec: ConsumerProtocolCodec,
): SyncOutcome {
  const checked = checkMember(groupId, current, request.memberId, request.generationId);
  if (checked instanceof LogwayError) return { ok: false, error: checked };
  if (checked.classic.phase === 'PreparingRebalance') return { ok: false, error: rebalancing(groupId) };
  const { next, classic } = begin(current!);
  const member = classic.members[request.memberId]!;
  member.lastHeartbeat = now;
  member.expiresAt = now + member.sessionTimeoutMs;
  if (classic.phase === 'CompletingRebalance' && classic.leaderId === request.memberId) {
    const given = new Map(request.assignments.map((a) => [a.memberId, b64(a.assignment)]));
    for (const m of Object.values(classic.members)) m.assignment = given.get(m.memberId) ?? '';
    classic.phase = 'Stable';
  }
  advanceClassic(next, now, settings, codec);
  const stored = classic.phase === 'Stable' ? Buffer.from(member.assignment ?? '', 'base64') : undefined;
  return { ok: true, state: next, assignment: stored };
}

/** A Heartbeat: refreshes the member's session; REBALANCE_IN_PROGRESS tells it to rejoin. */
export function classicHeartbeat(
  groupId: string,
  current: GroupState | undefined,
  request: { memberId: string; generationId: number },
  now: number,
  settings: ClassicSettings,
  codec: ConsumerProtocolCodec,
): { state: GroupState | undefined; error: LogwayError | undefined } {
  const checked = checkMember(groupId, current, request.memberId, request.generationId);
  if (checked instanceof LogwayError) return { state: undefined, error: checked };
  const { next, classic } = begin(current!);
  expireClassic(next, now, settings);
  const member = classic.members[request.memberId];
  if (!member)
    return {
      state: next,
      error: classicGroupError('UNKNOWN_MEMBER_ID', `Member '${request.memberId}' missed its session timeout: rejoin.`, groupId),
    };
  member.lastHeartbeat = now;
  member.expiresAt = now + member.sessionTimeoutMs;
  advanceClassic(next, now, settings, codec);
  return { state: next, error: classic.phase === 'PreparingRebalance' ? rebalancing(groupId) : undefined };
}

/** A LeaveGroup of one or more members: the others rebalance. Unknown members are reported per member. */
export function classicLeave(
  groupId: string,
  current: GroupState | undefined,
  memberIds: readonly string[],
  now: number,
  settings: ClassicSettings,
  codec: ConsumerProtocolCodec,
): { state: GroupState | undefined; results: { memberId: string; error: LogwayError | undefined }[] } {
  if (!current?.classic) {
    return {
      state: undefined,
      results: memberIds.map((memberId) => ({
        memberId,
        error: classicGroupError('UNKNOWN_MEMBER_ID', `Group '${groupId}' has no member '${memberId}'.`, groupId),
      })),
    };
  }
  const { next, classic } = begin(current);
  const results = memberIds.map((memberId) => {
    if (!classic.members[memberId])
      return { memberId, error: classicGroupError('UNKNOWN_MEMBER_ID', `Group '${groupId}' has no member '${memberId}'.`, groupId) };
    delete classic.members[memberId];
    return { memberId, error: undefined };
  });
  if (results.some((r) => !r.error)) afterRemoval(classic, now, settings);
  advanceClassic(next, now, settings, codec);
  return { state: next, results };
}

/** A classic member's offset commit is accepted from the current generation, except while it is being formed. */
export function checkClassicCommit(
  groupId: string,
  state: GroupState | undefined,
  memberId: string,
  generationId: number,
): LogwayError | undefined {
  const checked = checkMember(groupId, state, memberId, generationId);
  if (checked instanceof LogwayError) return checked;
  if (checked.classic.phase === 'CompletingRebalance') return rebalancing(groupId);
  return undefined;
}

/** Kafka's classic state names for DescribeGroups. */
export function classicStateName(state: GroupState | undefined, now: number): string {
  if (!state) return 'Dead';
  if (state.classic && Object.keys(state.classic.members).length > 0) return state.classic.phase;
  return Object.values(state.members).some((m) => now <= m.expiresAt) ? 'Stable' : 'Empty';
}
