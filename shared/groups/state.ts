/**
 * The consumer-group state machine (KIP-848's reconciliation), as a pure function of the stored
 * group, one request and `now`. The store (store.ts) reads the group item, calls this, and
 * writes the result conditioned on the version it read, retrying on conflict; nothing here does
 * I/O, so the whole protocol is unit- and property-tested with a fake clock.
 *
 * Ownership. The partitions a member owns are `assigned` (what its last response told it) plus
 * `revoking` (what it was told to release and has not yet reported released). The owned sets of
 * all members are pairwise disjoint at every stored version: a partition enters a member's
 * `assigned` only when no other member owns it, and leaves a member's owned set only when the
 * member reports it released (left out of `ownedPartitions`), leaves, rejoins, or expires.
 *
 * Epochs. The group epoch is bumped by a join, a leave, an expiry, a subscription change and a
 * change of the subscribed topics' partition counts; each bump recomputes the target assignment
 * (assignor.ts) and sets the assignment epoch to the group epoch. A member moves to the
 * assignment epoch when its assignment changes: once it holds nothing outside its target, at the
 * heartbeat that grants it partitions or completes a revocation. While it still has partitions
 * to revoke it keeps its epoch (so it can commit their offsets before releasing them, as Kafka's
 * consumer does).
 */
import {
  classicMembersPresent,
  fencedMemberEpoch,
  invalidRequest,
  type LogwayError,
  nonEmptyGroup,
  staleMemberEpoch,
  unknownMember,
} from '../errors';
import { assignPartitions, assignmentKeys, toAssignment, type Assignment } from './assignor';
import type { ClassicGroup } from './classic';

export type { Assignment } from './assignor';

export type { GroupStateName, HeartbeatResponse } from './json';
import type { GroupStateName, HeartbeatResponse } from './json';

export interface MemberState {
  memberId: string;
  memberEpoch: number;
  /** The epoch before the last bump: a heartbeat carrying it is accepted once (its response may have been lost). */
  previousMemberEpoch: number;
  subscribedTopics: string[];
  sessionTimeoutMs: number;
  lastHeartbeat: number;
  /** lastHeartbeat + sessionTimeoutMs: the member is alive while now <= expiresAt. */
  expiresAt: number;
  joinedAt: number;
  /** The member's target in the group's current target assignment. */
  target: Assignment;
  /** What the member was last told it owns. */
  assigned: Assignment;
  /** What the member was told to release and has not confirmed: still its own. */
  revoking: Assignment;
  /** The group version that last changed this member's epoch or owned partitions; offset commits are conditioned on it. */
  ownershipVersion: number;
}

export interface GroupState {
  groupId: string;
  /** Random id of this incarnation of the group: committed offsets of a deleted group never show in a new one. */
  incarnation: string;
  /** Bumped by every write; every write is conditioned on the version it read. 0: not stored yet. */
  version: number;
  groupEpoch: number;
  /** Epoch of the target assignment (members' `target`); equal to groupEpoch once stored. */
  assignmentEpoch: number;
  createdAt: number;
  members: Record<string, MemberState>;
  /** Partition counts of the subscribed topics that the target assignment was computed from. */
  topicPartitions: Record<string, number>;
  /** The classic protocol's state (classic.ts), while the group is used by classic (JoinGroup) members. */
  classic?: ClassicGroup;
}

export interface HeartbeatRequest {
  readonly memberId?: string | undefined;
  readonly memberEpoch: number;
  readonly subscribedTopics?: readonly string[] | undefined;
  readonly ownedPartitions?: Readonly<Record<string, readonly number[]>> | undefined;
  readonly sessionTimeoutMs?: number | undefined;
}

export interface HeartbeatContext {
  readonly now: number;
  /** Partition counts of (at least) every topic subscribed by a stored member or by this request; absent = no such topic. */
  readonly topics: Readonly<Record<string, number>>;
  readonly heartbeatIntervalMs: number;
  readonly defaultSessionTimeoutMs: number;
  readonly newMemberId: () => string;
  readonly newIncarnation: () => string;
}

/**
 * What a write must store: nothing; only the heartbeating member's liveness (lastHeartbeat,
 * expiresAt, sessionTimeoutMs: a small UpdateItem); or anything else (the whole item).
 */
export type Change = 'none' | 'liveness' | 'structural';

export interface HeartbeatOutcome {
  /** The state to store (undefined: the group does not exist and stays so). */
  readonly state: GroupState | undefined;
  readonly change: Change;
  readonly result: { readonly ok: true; readonly response: HeartbeatResponse } | { readonly ok: false; readonly error: LogwayError };
}

export const JOIN_EPOCH = 0;
export const LEAVE_EPOCH = -1;

export function newGroup(groupId: string, incarnation: string, now: number): GroupState {
  return { groupId, incarnation, version: 0, groupEpoch: 0, assignmentEpoch: 0, createdAt: now, members: {}, topicPartitions: {} };
}

export const isExpired = (member: MemberState, now: number): boolean => now > member.expiresAt;

export function liveMembers(state: GroupState, now: number): MemberState[] {
  return sortedIds(state.members)
    .map((id) => state.members[id]!)
    .filter((member) => !isExpired(member, now));
}

/** Partitions the member owns: assigned plus those it has not yet confirmed releasing. */
export function ownedKeys(member: MemberState): Set<string> {
  const keys = assignmentKeys(member.assigned);
  for (const key of assignmentKeys(member.revoking)) keys.add(key);
  return keys;
}

/**
 * Kafka's state names. Empty: no live member. Assigning: a change was detected (a member's
 * session expired) whose new target assignment the next heartbeat computes. Reconciling: some
 * member does not yet own exactly its target. Stable: every member owns its target. Dead: no
 * such group.
 */
export function groupStateName(state: GroupState | undefined, now: number): GroupStateName {
  if (!state) return 'Dead';
  const members = Object.values(state.members);
  const live = members.filter((m) => !isExpired(m, now));
  if (live.length === 0) return 'Empty';
  if (live.length < members.length || state.assignmentEpoch < state.groupEpoch) return 'Assigning';
  for (const member of live) {
    if (Object.keys(member.revoking).length > 0 || !sameKeys(assignmentKeys(member.assigned), assignmentKeys(member.target))) {
      return 'Reconciling';
    }
  }
  return 'Stable';
}

/** Processes one heartbeat (join, heartbeat or leave) at `ctx.now`. */
export function heartbeat(
  groupId: string,
  current: GroupState | undefined,
  request: HeartbeatRequest,
  ctx: HeartbeatContext,
): HeartbeatOutcome {
  const fail = (error: LogwayError): HeartbeatOutcome => ({ state: current, change: 'none', result: { ok: false, error } });
  if (request.memberEpoch < LEAVE_EPOCH)
    return fail(invalidRequest('memberEpoch must be -1 (leave), 0 (join) or the current epoch.', { field: 'memberEpoch' }));
  if (request.memberEpoch !== JOIN_EPOCH && request.memberId === undefined) {
    return fail(invalidRequest('memberId is required unless memberEpoch is 0 (join).', { field: 'memberId' }));
  }
  if (request.memberEpoch === JOIN_EPOCH && request.subscribedTopics === undefined) {
    return fail(invalidRequest('subscribedTopics is required to join (memberEpoch 0).', { field: 'subscribedTopics' }));
  }
  if (!current && request.memberEpoch !== JOIN_EPOCH) return fail(unknownMember(groupId, request.memberId!));
  const classicLive = Object.values(current?.classic?.members ?? {}).some(
    (m) => ctx.now <= m.expiresAt || current?.classic?.phase === 'PreparingRebalance',
  );
  if (classicLive) {
    return fail(classicMembersPresent(groupId));
  }

  const now = ctx.now;
  const base = current ?? newGroup(groupId, ctx.newIncarnation(), now);
  const next = structuredClone(base);
  next.version = base.version + 1;
  // Classic members all gone (checked above): the group now speaks the consumer protocol.
  delete next.classic;
  let bump = false;

  // 1. Sessions: any request touching the group expires members whose session lapsed.
  for (const id of sortedIds(next.members)) {
    if (isExpired(next.members[id]!, now)) {
      delete next.members[id];
      bump = true;
    }
  }

  // 2. The request itself.
  let error: LogwayError | undefined;
  let memberId = request.memberId;
  const gone = (id: string) => unknownMember(groupId, id, base.members[id] ? 'EXPIRED' : 'UNKNOWN');
  if (request.memberEpoch === LEAVE_EPOCH) {
    if (!next.members[memberId!]) error = gone(memberId!);
    else {
      delete next.members[memberId!];
      bump = true;
    }
  } else if (request.memberEpoch === JOIN_EPOCH) {
    memberId ??= ctx.newMemberId();
    const previous = next.members[memberId];
    const sessionTimeoutMs = request.sessionTimeoutMs ?? ctx.defaultSessionTimeoutMs;
    // A join (or rejoin of a known id) holds nothing: a rejoining member abandoned its partitions.
    next.members[memberId] = {
      memberId,
      memberEpoch: 0,
      previousMemberEpoch: 0,
      subscribedTopics: normalizeTopics(request.subscribedTopics!),
      sessionTimeoutMs,
      lastHeartbeat: now,
      expiresAt: now + sessionTimeoutMs,
      joinedAt: previous?.joinedAt ?? now,
      target: previous?.target ?? {},
      assigned: {},
      revoking: {},
      ownershipVersion: next.version,
    };
    bump = true;
  } else {
    const member = next.members[memberId!];
    if (!member) error = gone(memberId!);
    else if (!epochAccepted(member, request)) {
      error = fencedMemberEpoch(groupId, member.memberId, request.memberEpoch, member.memberEpoch);
    } else {
      member.sessionTimeoutMs = request.sessionTimeoutMs ?? member.sessionTimeoutMs;
      member.lastHeartbeat = now;
      member.expiresAt = now + member.sessionTimeoutMs;
      if (request.subscribedTopics !== undefined) {
        const topics = normalizeTopics(request.subscribedTopics);
        if (topics.join('\n') !== member.subscribedTopics.join('\n')) {
          member.subscribedTopics = topics;
          bump = true;
        }
      }
    }
  }

  // 3. Metadata: the partition counts of the subscribed topics.
  const metadata: Record<string, number> = {};
  const subscribed = new Set(Object.values(next.members).flatMap((m) => m.subscribedTopics));
  for (const topic of [...subscribed].sort()) {
    const count = ctx.topics[topic] ?? 0;
    if (count > 0) metadata[topic] = count;
  }
  if (canonical(metadata) !== canonical(next.topicPartitions)) {
    next.topicPartitions = metadata;
    if (Object.keys(next.members).length > 0) bump = true;
  }

  // 4. A new group epoch gets a new target assignment.
  if (bump) {
    next.groupEpoch = base.groupEpoch + 1;
    next.assignmentEpoch = next.groupEpoch;
    const targets = assignPartitions({
      members: next.members,
      topics: next.topicPartitions,
      previous: Object.fromEntries(Object.values(next.members).map((m) => [m.memberId, m.target])),
    });
    for (const member of Object.values(next.members)) member.target = targets[member.memberId] ?? {};
  }

  // 5. Reconcile the heartbeating member towards its target.
  let response: HeartbeatResponse | undefined;
  if (!error) {
    if (request.memberEpoch === LEAVE_EPOCH) {
      response = { memberId: memberId!, memberEpoch: LEAVE_EPOCH, heartbeatIntervalMs: ctx.heartbeatIntervalMs, assignment: {} };
    } else {
      const member = next.members[memberId!]!;
      reconcile(next, member, request.memberEpoch === JOIN_EPOCH ? undefined : request.ownedPartitions);
      response = {
        memberId: member.memberId,
        memberEpoch: member.memberEpoch,
        // At most a third of the member's session, so two lost heartbeats do not expire it.
        heartbeatIntervalMs: Math.min(ctx.heartbeatIntervalMs, Math.floor(member.sessionTimeoutMs / 3)),
        assignment: member.assigned,
      };
    }
  }

  const change = classify(current, next, error ? undefined : memberId);
  const state = change === 'none' ? current : next;
  return { state, change, result: error ? { ok: false, error } : { ok: true, response: response! } };
}

/** Kafka's rule: the current epoch, or the previous one with owned partitions within the current assignment (a lost response). */
function epochAccepted(member: MemberState, request: HeartbeatRequest): boolean {
  if (request.memberEpoch === member.memberEpoch) return true;
  if (request.memberEpoch > member.memberEpoch) return false;
  if (request.memberEpoch !== member.previousMemberEpoch || request.ownedPartitions === undefined) return false;
  const assigned = assignmentKeys(member.assigned);
  for (const key of assignmentKeys(request.ownedPartitions)) if (!assigned.has(key)) return false;
  return true;
}

function reconcile(group: GroupState, member: MemberState, reported: Readonly<Record<string, readonly number[]>> | undefined): void {
  const before = ownedKeys(member);
  const assignedBefore = assignmentKeys(member.assigned);
  const wasRevoking = Object.keys(member.revoking).length > 0;
  const epochBefore = member.memberEpoch;

  // Partitions left out of ownedPartitions are released; claims beyond what the member owns are ignored.
  let held = before;
  if (reported !== undefined) {
    const claimed = assignmentKeys(reported);
    held = new Set([...before].filter((key) => claimed.has(key)));
  }
  const target = assignmentKeys(member.target);
  const toRevoke = [...held].filter((key) => !target.has(key));
  if (toRevoke.length > 0) {
    // First release what is no longer ours; nothing new until then, and the epoch stays.
    member.assigned = toAssignment([...held].filter((key) => target.has(key)));
    member.revoking = toAssignment(toRevoke);
  } else {
    const ownedByOthers = new Set<string>();
    for (const other of Object.values(group.members)) {
      if (other.memberId !== member.memberId) for (const key of ownedKeys(other)) ownedByOthers.add(key);
    }
    const granted = [...target].filter((key) => !held.has(key) && !ownedByOthers.has(key));
    const assigned = new Set([...held, ...granted]);
    member.assigned = toAssignment(assigned);
    member.revoking = {};
    const changed = epochBefore === JOIN_EPOCH || granted.length > 0 || wasRevoking || !sameKeys(assigned, assignedBefore);
    if (changed && group.assignmentEpoch > member.memberEpoch) {
      member.previousMemberEpoch = member.memberEpoch;
      member.memberEpoch = group.assignmentEpoch;
    }
  }
  if (member.memberEpoch !== epochBefore || !sameKeys(ownedKeys(member), before)) member.ownershipVersion = group.version;
}

function classify(current: GroupState | undefined, next: GroupState, memberId: string | undefined): Change {
  if (!current) return 'structural';
  const strip = (state: GroupState) => {
    const members: Record<string, Partial<MemberState>> = { ...state.members };
    const member = memberId === undefined ? undefined : state.members[memberId];
    if (member) {
      const { lastHeartbeat: _l, expiresAt: _e, sessionTimeoutMs: _s, ...rest } = member;
      members[member.memberId] = rest;
    }
    return canonical({ ...state, version: 0, members });
  };
  if (strip(current) !== strip(next)) return 'structural';
  return canonical({ ...current, version: 0 }) === canonical({ ...next, version: 0 }) ? 'none' : 'liveness';
}

// ---- Offset commits and empty-group operations ----

export interface CommitPartition {
  readonly topic: string;
  readonly partition: number;
}

/** Validates a member's commit against the state read; returns the member the write is conditioned on, or the error. */
export function checkMemberCommit(
  groupId: string,
  state: GroupState | undefined,
  memberId: string,
  memberEpoch: number,
  partitions: readonly CommitPartition[],
  now: number,
): { ok: true; member: MemberState } | { ok: false; error: LogwayError } {
  const member = state?.members[memberId];
  if (!member) return { ok: false, error: unknownMember(groupId, memberId) };
  if (isExpired(member, now)) return { ok: false, error: unknownMember(groupId, memberId, 'EXPIRED') };
  if (memberEpoch !== member.memberEpoch) {
    return { ok: false, error: staleMemberEpoch(groupId, memberId, memberEpoch, member.memberEpoch, 'STALE_EPOCH') };
  }
  const owned = ownedKeys(member);
  const notOwned = partitions.filter((p) => !owned.has(`${p.topic}:${p.partition}`));
  if (notOwned.length > 0) {
    const list = [...new Map(notOwned.map((p) => [`${p.topic}:${p.partition}`, { topic: p.topic, partition: p.partition }])).values()];
    return { ok: false, error: staleMemberEpoch(groupId, memberId, memberEpoch, member.memberEpoch, 'NOT_OWNER', list) };
  }
  return { ok: true, member };
}

/**
 * For operations allowed only on an empty group (commits without a member, reset-offsets,
 * delete): the error if live members remain; otherwise the state to store first, if any
 * (expired members removed, or the group created when `create`), and the state as it then is.
 */
export function requireEmpty(
  groupId: string,
  state: GroupState | undefined,
  now: number,
  action: string,
  create?: { incarnation: string },
): { ok: true; write: GroupState | undefined; state: GroupState | undefined } | { ok: false; error: LogwayError } {
  if (!state) {
    if (!create) return { ok: true, write: undefined, state: undefined };
    const created = newGroup(groupId, create.incarnation, now);
    created.version = 1;
    return { ok: true, write: created, state: created };
  }
  const live = liveMembers(state, now);
  if (live.length > 0) return { ok: false, error: nonEmptyGroup(groupId, live.length, action) };
  if (Object.keys(state.members).length === 0) return { ok: true, write: undefined, state };
  const { classic: _classic, ...rest } = state;
  const emptied: GroupState = {
    ...structuredClone(rest),
    version: state.version + 1,
    groupEpoch: state.groupEpoch + 1,
    assignmentEpoch: state.groupEpoch + 1,
    members: {},
    topicPartitions: {},
  };
  return { ok: true, write: emptied, state: emptied };
}

// ---- helpers ----

function sortedIds(record: Record<string, unknown>): string[] {
  return Object.keys(record).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function normalizeTopics(topics: readonly string[]): string[] {
  return [...new Set(topics)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function sameKeys(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const key of a) if (!b.has(key)) return false;
  return true;
}

/** JSON with object keys sorted: equal values give equal text. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}
