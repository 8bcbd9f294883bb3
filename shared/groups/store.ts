/**
 * Consumer groups in DynamoDB: one item per group in the groups table (members, epochs, target
 * and owned partitions, version) and one item per committed offset in the offsets table.
 *
 * Every change of a group is read → compute (state.ts) → write conditioned on the version read,
 * retried with jittered backoff when another request won the race, so concurrent heartbeats
 * from any number of Lambda instances never lose an update. Offset commits are one
 * TransactWriteItems: a condition on the group item (the member still has the epoch and owned
 * partitions the commit was validated against, and its session has not lapsed) plus the offset
 * Puts, so a fenced commit changes nothing. docs/groups.md describes the design.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { dynamo, tableName } from '../runtime/aws';
import { wroteThisItem } from '../runtime/lost-response';
import { BoundedCache } from '../runtime/bounded-cache';
import { type Backoff, fullJitterDelay, retryUntil, tryAgain } from '../runtime/retry';
import { queryItems, scanItems } from '../runtime/paging';
import { groupTooLarge, tooManyGroupConflicts, unknownTopic } from '../errors';
import { getTopic, type TopicMetadata } from '../topics/store';
import { maxOffsetsPerCommit } from './schemas';
import {
  checkMemberCommit,
  heartbeat,
  requireEmpty,
  type Change,
  type GroupState,
  type HeartbeatRequest,
  type HeartbeatResponse,
} from './state';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export interface StoreOptions {
  /** Give up (429) after losing races for this long. */
  readonly deadlineMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface OffsetToCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly metadata: string;
}

import type { CommittedOffset } from './json';
export type { CommittedOffset };

interface OffsetItem extends CommittedOffset {
  groupId: string;
  topicPartition: string;
  incarnation: string;
  /**
   * The id of the topic the offset was committed for. A topic deleted and created again under
   * its name has a new id, and the old topic's offsets no longer count (as Kafka deletes a
   * deleted topic's committed offsets). Items written before topic ids were kept have none.
   */
  topicId?: string;
  memberId?: string;
  memberEpoch?: number;
}

// ---- the group item ----

export async function readGroup(groupId: string): Promise<GroupState | undefined> {
  const { Item } = await dynamo().send(new GetCommand({ TableName: tableName('groups'), Key: { groupId }, ConsistentRead: true }));
  return Item as GroupState | undefined;
}

/** Every group, read with strong consistency (a Scan: for admin listing, not a hot path). */
export async function scanGroups(): Promise<GroupState[]> {
  const groups: GroupState[] = [];
  for await (const item of scanItems({ TableName: tableName('groups'), ConsistentRead: true })) groups.push(item as unknown as GroupState);
  return groups;
}

const versionCondition = (read: GroupState | undefined) =>
  read
    ? {
        ConditionExpression: '#version = :read',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':read': read.version },
      }
    : { ConditionExpression: 'attribute_not_exists(groupId)' };

/** The write of a new group state, conditioned on the version read (or on the group not existing). */
function groupPut(read: GroupState | undefined, next: GroupState): TransactItem {
  return { Put: { TableName: tableName('groups'), Item: next, ...versionCondition(read) } };
}

/**
 * DynamoDB refuses items over 400 KB, after the fact; the group is checked before each write with
 * room to spare. Its size is that of its JSON (attribute names and values, as DynamoDB counts
 * them, within a few bytes per number).
 */
export const maxGroupItemBytes = 350 * 1024;

export function groupItemBytes(group: GroupState): number {
  return Buffer.byteLength(JSON.stringify(group), 'utf8');
}

/** Stores `next`; false when another writer changed the group since `read` (the caller re-reads and retries). */
export async function writeGroup(
  read: GroupState | undefined,
  next: GroupState,
  change: Change,
  memberId: string | undefined,
): Promise<boolean> {
  const bytes = groupItemBytes(next);
  if (bytes > maxGroupItemBytes) throw groupTooLarge(next.groupId, bytes, maxGroupItemBytes, Object.keys(next.members).length);
  try {
    if (change === 'liveness' && read && memberId !== undefined) {
      const member = next.members[memberId]!;
      // Only the heartbeating member's session moved: a small update, still conditioned on the version.
      await dynamo().send(
        new UpdateCommand({
          TableName: tableName('groups'),
          Key: { groupId: next.groupId },
          UpdateExpression:
            'SET #members.#member.lastHeartbeat = :last, #members.#member.expiresAt = :expires, #members.#member.sessionTimeoutMs = :timeout, #version = :next',
          ConditionExpression: '#version = :read',
          ExpressionAttributeNames: { '#members': 'members', '#member': memberId, '#version': 'version' },
          ExpressionAttributeValues: {
            ':last': member.lastHeartbeat,
            ':expires': member.expiresAt,
            ':timeout': member.sessionTimeoutMs,
            ':next': next.version,
            ':read': read.version,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } else {
      await dynamo().send(new PutCommand({ ...groupPut(read, next).Put!, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }));
    }
    return true;
  } catch (error) {
    if (!isConflict(error)) throw error;
    // A retried write whose first attempt applied (shared/runtime/lost-response.ts) is done, not lost.
    return wroteThisItem(error, next);
  }
}

function isConflict(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  return name === 'ConditionalCheckFailedException' || name === 'TransactionConflictException';
}

/** A cancelled transaction lost a race (a condition or a concurrent transaction); anything else is a fault. */
function isCancelledByRace(error: unknown): boolean {
  if ((error as { name?: string })?.name !== 'TransactionCanceledException') return false;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  const codes = reasons.map((r) => r.Code ?? 'None');
  if (codes.length === 0) return true;
  return codes.every((code) => code === 'None' || code === 'ConditionalCheckFailed' || code === 'TransactionConflict');
}

/** What an attempt returns when it lost a race and should run again after a backoff. */
export const RETRY: typeof tryAgain = tryAgain;

/** Full-jitter exponential backoff between lost races. */
export const groupConflictBackoff: Backoff = { initialRetryTimeMs: 8, maxRetryTimeMs: 250, multiplier: 2 };

export function backoffMs(attempt: number, random: () => number = Math.random): number {
  return fullJitterDelay(attempt, groupConflictBackoff, random);
}

export function retrying<T>(groupId: string, options: StoreOptions, attempt: () => Promise<T | typeof RETRY>): Promise<T> {
  return retryUntil(attempt, {
    backoff: groupConflictBackoff,
    deadlineMs: options.deadlineMs ?? 10_000,
    onDeadline: (attempts) => tooManyGroupConflicts(groupId, attempts),
    ...(options.random ? { random: options.random } : {}),
  });
}

// ---- heartbeats ----

/** Topics each group's members subscribed to when last seen, so the next heartbeat reads them alongside the group. */
const subscribedByGroup = new BoundedCache<string, string[]>({ maxEntries: 10_000 });

async function readTopicCounts(names: Iterable<string>): Promise<Record<string, number>> {
  const unique = [...new Set(names)];
  const topics = await Promise.all(unique.map((name) => getTopic(name)));
  const counts: Record<string, number> = {};
  topics.forEach((topic, i) => {
    if (topic) counts[unique[i]!] = topic.partitions;
  });
  return counts;
}

export interface HeartbeatSettings {
  readonly heartbeatIntervalMs: number;
  readonly defaultSessionTimeoutMs: number;
}

export async function heartbeatGroup(
  groupId: string,
  request: HeartbeatRequest,
  settings: HeartbeatSettings,
  options: StoreOptions = {},
): Promise<HeartbeatResponse> {
  const now = options.now ?? Date.now;
  // A joining member without an id gets one id for all attempts, so a retry cannot add it twice.
  const newMemberId = request.memberId ?? randomUUID();
  return retrying(groupId, options, async () => {
    const guess = new Set([...(request.subscribedTopics ?? []), ...(subscribedByGroup.get(groupId) ?? [])]);
    const [read, guessed] = await Promise.all([readGroup(groupId), readTopicCounts(guess)]);
    const needed = new Set([...(request.subscribedTopics ?? []), ...Object.values(read?.members ?? {}).flatMap((m) => m.subscribedTopics)]);
    const missing = [...needed].filter((topic) => !guess.has(topic));
    const topics = missing.length > 0 ? { ...guessed, ...(await readTopicCounts(missing)) } : guessed;
    subscribedByGroup.set(groupId, [...needed]);

    const outcome = heartbeat(groupId, read, request, {
      now: now(),
      topics,
      heartbeatIntervalMs: settings.heartbeatIntervalMs,
      defaultSessionTimeoutMs: settings.defaultSessionTimeoutMs,
      newMemberId: () => newMemberId,
      newIncarnation: () => randomUUID(),
    });
    if (outcome.change !== 'none') {
      const memberId = outcome.result.ok ? outcome.result.response.memberId : undefined;
      if (!(await writeGroup(read, outcome.state!, outcome.change, memberId))) return RETRY;
    }
    if (!outcome.result.ok) throw outcome.result.error;
    return outcome.result.response;
  });
}

// ---- offsets ----

/** The current id of each topic named, by name; a topic that does not exist is UNKNOWN_TOPIC_OR_PARTITION. */
export async function requireTopicIds(offsets: readonly { topic: string }[]): Promise<Map<string, string>> {
  const ids = await currentTopicIds(offsets.map((o) => o.topic));
  for (const { topic } of offsets) if (!ids.has(topic)) throw unknownTopic(topic);
  return ids;
}

/** Topics read by name, a missing topic as undefined; a caller may pass them on so that no topic is read twice. */
export type TopicsRead = Map<string, TopicMetadata | undefined>;

/** Reads (strongly consistent) each named topic that `read` does not hold yet, into it. */
export async function readTopicsInto(names: Iterable<string>, read: TopicsRead = new Map()): Promise<TopicsRead> {
  const missing = [...new Set(names)].filter((name) => !read.has(name));
  const topics = await Promise.all(missing.map((name) => getTopic(name)));
  for (const [i, name] of missing.entries()) read.set(name, topics[i]);
  return read;
}

async function currentTopicIds(names: Iterable<string>, read?: TopicsRead): Promise<Map<string, string>> {
  const topics = await readTopicsInto(names, read);
  const ids = new Map<string, string>();
  for (const [name, topic] of topics) if (topic) ids.set(name, topic.topicId);
  return ids;
}

export function offsetPut(
  groupId: string,
  incarnation: string,
  offset: OffsetToCommit,
  topicId: string,
  now: number,
  member?: { memberId: string; memberEpoch: number },
): TransactItem {
  const item: OffsetItem = {
    groupId,
    topicPartition: `${offset.topic}:${offset.partition}`,
    topicId,
    topic: offset.topic,
    partition: offset.partition,
    offset: offset.offset,
    metadata: offset.metadata,
    commitTimestamp: now,
    incarnation,
    ...(member ? { memberId: member.memberId, memberEpoch: member.memberEpoch } : {}),
  };
  return { Put: { TableName: tableName('offsets'), Item: item } };
}

/**
 * A member's commit: validated against the group read, then written in one transaction whose
 * condition on the group item proves the member is still what was validated. A condition that
 * fails means the group changed: re-read and validate again (which either commits or fails with
 * the current reason).
 */
export async function commitMemberOffsets(
  groupId: string,
  member: { memberId: string; memberEpoch: number },
  offsets: readonly OffsetToCommit[],
  options: StoreOptions = {},
): Promise<void> {
  const clock = options.now ?? Date.now;
  const topicIds = await requireTopicIds(offsets);
  await retrying(groupId, options, async () =>
    (await tryCommitMemberOffsets(groupId, await readGroup(groupId), member, offsets, clock(), topicIds)) ? true : RETRY,
  );
}

/**
 * One attempt: validates against `read` (throwing the client's error) and writes; false when the
 * group item no longer matches what was validated (the caller re-reads and tries again).
 */
export async function tryCommitMemberOffsets(
  groupId: string,
  read: GroupState | undefined,
  member: { memberId: string; memberEpoch: number },
  offsets: readonly OffsetToCommit[],
  now: number,
  topicIds?: ReadonlyMap<string, string>,
): Promise<boolean> {
  const ids = topicIds ?? (await requireTopicIds(offsets));
  const check = checkMemberCommit(groupId, read, member.memberId, member.memberEpoch, offsets, now);
  if (!check.ok) throw check.error;
  const condition: TransactItem = {
    ConditionCheck: {
      TableName: tableName('groups'),
      Key: { groupId },
      ConditionExpression:
        '#incarnation = :incarnation AND #members.#member.memberEpoch = :epoch AND #members.#member.ownershipVersion = :ownership AND #members.#member.expiresAt >= :now',
      ExpressionAttributeNames: { '#incarnation': 'incarnation', '#members': 'members', '#member': member.memberId },
      ExpressionAttributeValues: {
        ':incarnation': read!.incarnation,
        ':epoch': check.member.memberEpoch,
        ':ownership': check.member.ownershipVersion,
        ':now': now,
      },
    },
  };
  const puts = offsets.map((offset) => offsetPut(groupId, read!.incarnation, offset, ids.get(offset.topic)!, now, member));
  return transact([condition, ...puts]);
}

export async function transact(items: TransactItem[]): Promise<boolean> {
  try {
    await dynamo().send(new TransactWriteCommand({ TransactItems: items }));
    return true;
  } catch (error) {
    if (isCancelledByRace(error)) return false;
    throw error;
  }
}

/**
 * Commits without a member (admin commits, reset-offsets): only while the group has no live
 * member. Creates the group if it does not exist (as Kafka does) and removes expired members if
 * any remain stored; up to 99 offsets per transaction, each conditioned on the group being
 * unchanged since it was found empty.
 */
export async function commitOffsetsWithoutMember(
  groupId: string,
  offsets: readonly OffsetToCommit[],
  action: string,
  options: StoreOptions = {},
): Promise<void> {
  const clock = options.now ?? Date.now;
  const topicIds = await requireTopicIds(offsets);
  for (let i = 0; i < offsets.length; i += maxOffsetsPerCommit) {
    const chunk = offsets.slice(i, i + maxOffsetsPerCommit);
    await retrying(groupId, options, async () =>
      (await tryCommitOffsetsWithoutMember(groupId, await readGroup(groupId), chunk, action, clock(), topicIds)) ? true : RETRY,
    );
  }
}

/** One attempt of a commit without a member against the group as `read`; false when it changed since. */
export async function tryCommitOffsetsWithoutMember(
  groupId: string,
  read: GroupState | undefined,
  offsets: readonly OffsetToCommit[],
  action: string,
  now: number,
  topicIds?: ReadonlyMap<string, string>,
): Promise<boolean> {
  const ids = topicIds ?? (await requireTopicIds(offsets));
  const empty = requireEmpty(groupId, read, now, action, { incarnation: randomUUID() });
  if (!empty.ok) throw empty.error;
  const groupItem: TransactItem = empty.write
    ? groupPut(read, empty.write)
    : { ConditionCheck: { TableName: tableName('groups'), Key: { groupId }, ...versionCondition(read) } };
  const puts = offsets.map((offset) => offsetPut(groupId, empty.state!.incarnation, offset, ids.get(offset.topic)!, now));
  return transact([groupItem, ...puts]);
}

/**
 * The committed offsets of this incarnation of the group, by topic then partition: only those
 * committed for the topic that now has the name (a deleted topic's offsets do not count).
 */
export async function readCommittedOffsets(group: GroupState, topic?: string, topicsRead?: TopicsRead): Promise<CommittedOffset[]> {
  const items: OffsetItem[] = [];
  for await (const raw of queryItems({
    TableName: tableName('offsets'),
    KeyConditionExpression: topic ? 'groupId = :group AND begins_with(topicPartition, :prefix)' : 'groupId = :group',
    ExpressionAttributeValues: { ':group': group.groupId, ...(topic ? { ':prefix': `${topic}:` } : {}) },
    ConsistentRead: true,
  })) {
    const item = raw as unknown as OffsetItem;
    if (item.incarnation === group.incarnation) items.push(item);
  }
  const topicIds = await currentTopicIds(
    items.map((item) => item.topic),
    topicsRead,
  );
  const offsets: CommittedOffset[] = [];
  for (const item of items) {
    const current = topicIds.get(item.topic);
    if (current === undefined || (item.topicId !== undefined && item.topicId !== current)) continue;
    offsets.push({
      topic: item.topic,
      partition: item.partition,
      offset: item.offset,
      metadata: item.metadata ?? '',
      commitTimestamp: item.commitTimestamp,
    });
  }
  return offsets.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

// ---- delete ----

/** Deletes an empty group, then its committed offsets (only those of the deleted incarnation). */
export async function deleteGroupItem(groupId: string, onMissing: () => Error, action: string, options: StoreOptions = {}): Promise<void> {
  const clock = options.now ?? Date.now;
  const deleted = await retrying(groupId, options, async () => {
    const read = await readGroup(groupId);
    if (!read) throw onMissing();
    const empty = requireEmpty(groupId, read, clock(), action);
    if (!empty.ok) throw empty.error;
    try {
      await dynamo().send(new DeleteCommand({ TableName: tableName('groups'), Key: { groupId }, ...versionCondition(read) }));
      return read;
    } catch (error) {
      if (isConflict(error)) return RETRY;
      throw error;
    }
  });
  await deleteOffsetsOf(groupId, deleted.incarnation);
}

/**
 * Removes the offsets committed under one incarnation. Each delete is conditioned on the
 * incarnation, so an offset committed meanwhile to a new group of the same id survives; offsets
 * this misses (a crash midway) are invisible anyway, because reads filter by incarnation.
 */
async function deleteOffsetsOf(groupId: string, incarnation: string): Promise<void> {
  const keys: string[] = [];
  for await (const item of queryItems({
    TableName: tableName('offsets'),
    KeyConditionExpression: 'groupId = :group',
    ExpressionAttributeValues: { ':group': groupId },
    ProjectionExpression: 'topicPartition',
  })) {
    keys.push(item.topicPartition as string);
  }
  const queue = [...keys];
  const worker = async () => {
    for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
      try {
        await dynamo().send(
          new DeleteCommand({
            TableName: tableName('offsets'),
            Key: { groupId, topicPartition: key },
            ConditionExpression: '#incarnation = :incarnation',
            ExpressionAttributeNames: { '#incarnation': 'incarnation' },
            ExpressionAttributeValues: { ':incarnation': incarnation },
          }),
        );
      } catch (error) {
        if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, queue.length) }, worker));
}
