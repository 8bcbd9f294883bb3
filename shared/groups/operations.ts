/**
 * The consumer-group operations of the HTTP API: validation, then the store. Handlers in
 * functions/ are one call each.
 */
import { log } from '../log/service';
import { loadServiceConfig } from '../config';
import { groupNotFound, invalidRequest, offsetMetadataTooLarge, unknownPartition, unknownTopic } from '../errors';
import { parseRequest } from '../api/validation';
import { validateGroupId } from '../topics/model';
import { getTopic, partitionKeyOf, requireTopic, type TopicMetadata } from '../topics/store';
import { parseTopicPartitionId, topicPartitionId } from './assignor';
import { compareTopicPartition, pageOf } from '../api/paging';
import {
  commitOffsetsSchema,
  describeGroupQuerySchema,
  fetchOffsetsQuerySchema,
  heartbeatSchema,
  maxOffsetMetadataBytes,
  resetOffsetsSchema,
} from './schemas';
import type { GroupDescription, GroupListing, PartitionDescription } from './json';
import { groupStateName, liveMembers, ownedKeys, requireEmpty, type HeartbeatResponse } from './state';
import {
  commitMemberOffsets,
  commitOffsetsWithoutMember,
  deleteGroupItem,
  heartbeatGroup,
  readCommittedOffsets,
  readTopicsInto,
  type TopicsRead,
  readGroup,
  scanGroups,
  type CommittedOffset,
  type OffsetToCommit,
} from './store';

export async function heartbeatOperation(groupId: string, body: unknown): Promise<HeartbeatResponse> {
  validateGroupId(groupId);
  const request = parseRequest(heartbeatSchema(), body ?? {}, 'body');
  const config = loadServiceConfig();
  return heartbeatGroup(groupId, request, {
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    defaultSessionTimeoutMs: config.sessionTimeoutMs,
  });
}

export interface CommitResponse {
  groupId: string;
  offsets: { topic: string; partition: number; offset: number }[];
}

export async function commitOffsetsOperation(groupId: string, body: unknown): Promise<CommitResponse> {
  validateGroupId(groupId);
  const request = parseRequest(commitOffsetsSchema(), body ?? {}, 'body');
  const seen = new Set<string>();
  const offsets: OffsetToCommit[] = request.offsets.map((entry, i) => {
    const key = topicPartitionId(entry.topic, entry.partition);
    if (seen.has(key)) {
      throw invalidRequest(`offsets[${i}]: ${entry.topic}-${entry.partition} appears more than once.`, { field: `offsets[${i}]` });
    }
    seen.add(key);
    const metadata = entry.metadata ?? '';
    const bytes = Buffer.byteLength(metadata, 'utf8');
    if (bytes > maxOffsetMetadataBytes) throw offsetMetadataTooLarge(i, bytes, maxOffsetMetadataBytes);
    return { topic: entry.topic, partition: entry.partition, offset: entry.offset, metadata };
  });

  if (request.memberId === undefined) {
    if (request.memberEpoch !== undefined && request.memberEpoch !== -1) {
      throw invalidRequest('memberId is required with a memberEpoch (omit both to commit while the group has no members).', {
        field: 'memberId',
      });
    }
    await requirePartitionsExist(offsets);
    await commitOffsetsWithoutMember(groupId, offsets, 'offsets can be committed without a member');
  } else {
    if (request.memberEpoch === undefined || request.memberEpoch < 1) {
      throw invalidRequest("memberEpoch is required with memberId: the member's current epoch (from its last heartbeat).", {
        field: 'memberEpoch',
      });
    }
    await commitMemberOffsets(groupId, { memberId: request.memberId, memberEpoch: request.memberEpoch }, offsets);
  }
  return { groupId, offsets: offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })) };
}

async function requirePartitionsExist(offsets: readonly { topic: string; partition: number }[]): Promise<void> {
  const names = [...new Set(offsets.map((o) => o.topic))];
  const topics = await Promise.all(names.map((name) => getTopic(name)));
  const byName = new Map(names.map((name, i) => [name, topics[i]]));
  for (const { topic, partition } of offsets) {
    const metadata = byName.get(topic);
    if (!metadata) throw unknownTopic(topic);
    if (partition >= metadata.partitions) throw unknownPartition(topic, partition, metadata.partitions);
  }
}

export async function fetchCommittedOffsetsOperation(
  groupId: string,
  query: Record<string, string>,
): Promise<{ groupId: string; offsets: CommittedOffset[]; nextPageToken?: string }> {
  validateGroupId(groupId);
  const { topic, pageToken } = parseRequest(fetchOffsetsQuerySchema(), query, 'query');
  const group = await readGroup(groupId);
  if (!group) throw groupNotFound(groupId);
  const page = pageOf(await readCommittedOffsets(group, topic), (o) => [o.topic, o.partition], compareTopicPartition, pageToken);
  return { groupId, offsets: page.entries, ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
}

export async function listGroupsOperation(): Promise<{ groups: GroupListing[] }> {
  const now = Date.now();
  const groups = (await scanGroups()).map((group) => ({
    groupId: group.groupId,
    state: groupStateName(group, now),
    memberCount: liveMembers(group, now).length,
  }));
  groups.sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  return { groups };
}

export async function describeGroupOperation(groupId: string, query: Record<string, string> = {}): Promise<GroupDescription> {
  validateGroupId(groupId);
  const { pageToken } = parseRequest(describeGroupQuerySchema(), query, 'query');
  const group = await readGroup(groupId);
  if (!group) throw groupNotFound(groupId);
  const now = Date.now();
  const members = liveMembers(group, now);
  // Each topic is read once: the committed offsets' topics while checking their ids, then the rest.
  const topicsRead: TopicsRead = new Map();
  const committed = await readCommittedOffsets(group, undefined, topicsRead);

  const subscribed = new Set(members.flatMap((m) => m.subscribedTopics));
  const names = [...new Set([...subscribed, ...committed.map((c) => c.topic)])].sort();
  await readTopicsInto(names, topicsRead);
  const topics = new Map<string, TopicMetadata>();
  for (const name of names) {
    const topic = topicsRead.get(name);
    if (topic) topics.set(name, topic);
  }

  const owner = new Map<string, string>();
  for (const member of members) for (const key of ownedKeys(member)) owner.set(key, member.memberId);
  const committedBy = new Map(committed.map((c) => [topicPartitionId(c.topic, c.partition), c]));

  const listed = new Map<string, { topic: string; partition: number }>();
  for (const name of names) {
    const topic = topics.get(name);
    if (topic && subscribed.has(name)) {
      for (let partition = 0; partition < topic.partitions; partition++)
        listed.set(topicPartitionId(name, partition), { topic: name, partition });
    }
  }
  for (const c of committed) listed.set(topicPartitionId(c.topic, c.partition), { topic: c.topic, partition: c.partition });
  for (const key of owner.keys()) {
    listed.set(key, parseTopicPartitionId(key));
  }

  const headKeys = [...listed.values()]
    .filter((p) => topics.has(p.topic) && p.partition < topics.get(p.topic)!.partitions)
    .map((p) => ({ topicId: topics.get(p.topic)!.topicId, partition: p.partition }));
  const heads = await log.readHeadsAcrossTopics(headKeys);

  const partitions: PartitionDescription[] = [...listed.entries()]
    .map(([key, { topic, partition }]) => {
      const metadata = topics.get(topic);
      const head = metadata && partition < metadata.partitions ? heads.get(partitionKeyOf(metadata.topicId, partition)) : undefined;
      const commit = committedBy.get(key);
      return {
        topic,
        partition,
        memberId: owner.get(key) ?? null,
        committedOffset: commit?.offset ?? null,
        metadata: commit ? commit.metadata : null,
        highWatermark: head?.highWatermark ?? null,
        logStartOffset: head?.logStartOffset ?? null,
        lag: head && commit ? head.highWatermark - commit.offset : null,
      };
    })
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  const page = pageOf(partitions, (p) => [p.topic, p.partition], compareTopicPartition, pageToken);

  return {
    groupId,
    state: groupStateName(group, now),
    groupEpoch: group.groupEpoch,
    assignmentEpoch: group.assignmentEpoch,
    members: members.map((m) => ({
      memberId: m.memberId,
      memberEpoch: m.memberEpoch,
      subscribedTopics: m.subscribedTopics,
      assignment: m.assigned,
      pendingRevocation: m.revoking,
      targetAssignment: m.target,
      sessionTimeoutMs: m.sessionTimeoutMs,
      lastHeartbeat: m.lastHeartbeat,
      joinedAt: m.joinedAt,
    })),
    partitions: page.entries,
    ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
  };
}

export interface ResetResponse {
  groupId: string;
  topic: string;
  offsets: { partition: number; offset: number }[];
}

export async function resetOffsetsOperation(groupId: string, body: unknown): Promise<ResetResponse> {
  validateGroupId(groupId);
  const request = parseRequest(resetOffsetsSchema(), body ?? {}, 'body');
  // Fail fast on a non-empty group; the commit below checks again, atomically.
  const early = requireEmpty(groupId, await readGroup(groupId), Date.now(), 'its offsets can be reset');
  if (!early.ok) throw early.error;
  const topic = await requireTopic(request.topic);
  const partitionNumbers = Array.from({ length: topic.partitions }, (_, i) => i);
  const heads = await log.readHeads(topic.topicId, partitionNumbers);
  const to = request.to;
  const offsets = await Promise.all(
    partitionNumbers.map(async (partition): Promise<OffsetToCommit> => {
      const head = heads.get(partition)!;
      let offset: number;
      if (to === 'earliest') offset = head.logStartOffset;
      else if (to === 'latest') offset = head.highWatermark;
      else if ('timestamp' in to)
        offset = (await log.offsetForTimestamp(topic.topicId, partition, to.timestamp, head)) ?? head.highWatermark;
      else offset = Math.min(Math.max(to.offset, head.logStartOffset), head.highWatermark);
      return { topic: topic.name, partition, offset, metadata: '' };
    }),
  );
  await commitOffsetsWithoutMember(groupId, offsets, 'its offsets can be reset');
  return { groupId, topic: topic.name, offsets: offsets.map(({ partition, offset }) => ({ partition, offset })) };
}

export async function deleteGroupOperation(groupId: string): Promise<void> {
  validateGroupId(groupId);
  await deleteGroupItem(groupId, () => groupNotFound(groupId), 'it can be deleted');
}
