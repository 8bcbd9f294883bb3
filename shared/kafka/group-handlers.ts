/**
 * Consumer groups over the Kafka protocol, on the same group items and offset store as the HTTP
 * API: the classic protocol (JoinGroup/SyncGroup/Heartbeat/LeaveGroup, client-side assignors)
 * through shared/groups/classic*.ts, KIP-848's ConsumerGroupHeartbeat through the server-side
 * groups the HTTP API serves, and offsets, DescribeGroups and ListGroups over both.
 */
import { loadServiceConfig } from '../config';
import type { Assignment } from '../groups/assignor';
import { deleteGroupOperation } from '../groups/operations';
import type { ClassicContext } from '../groups/classic-store';
import {
  commitClassicOffsets,
  heartbeatClassicGroup,
  joinClassicGroup,
  leaveClassicGroup,
  syncClassicGroup,
} from '../groups/classic-store';
import { classicStateName, type ConsumerProtocolCodec } from '../groups/classic';
import { maxOffsetMetadataBytes } from '../groups/schemas';
import { commitOffsetsWithoutMember, heartbeatGroup, readCommittedOffsets, readGroup, scanGroups } from '../groups/store';
import type { GroupState } from '../groups/state';
import { validateGroupId } from '../topics/model';
import { getTopic } from '../topics/store';
import { groupDenied, topicDenied, type Access } from './authorization';
import { decodeStruct, encodeStruct, type Message } from './codec';
import { KafkaError, kafkaErrorCodes, toGroupError } from './errors';
import type { Handler, RequestContext } from './handlers';
import { f, structs, array } from './types';

// biome-ignore lint/suspicious/noExplicitAny: request shapes come from the schema table, read field by field
type Any = any;

// ---- the consumer protocol's embedded bytes (ConsumerProtocolSubscription / Assignment) ----

const topicPartitionList = structs(f('topic', 'string', '0+'), f('partitions', array('int32'), '0+'));
const subscriptionFields = [
  f('topics', array('string'), '0+'),
  f('userData', 'bytes', '0+', { nullable: '0+' }),
  f('ownedPartitions', topicPartitionList, '1+'),
  f('generationId', 'int32', '2+', { default: -1 }),
  f('rackId', 'string', '3+', { nullable: '3+' }),
];
const assignmentFields = [f('assignedPartitions', topicPartitionList, '0+'), f('userData', 'bytes', '0+', { nullable: '0+' })];

/** Reads the int16 version, then the fields of the highest version we know that is not above it. */
function decodeVersioned(fields: typeof subscriptionFields, maxKnown: number, bytes: Buffer): Message | undefined {
  if (bytes.length < 2) return undefined;
  try {
    return decodeStruct(fields, Math.min(bytes.readInt16BE(0), maxKnown), bytes.subarray(2));
  } catch {
    return undefined;
  }
}

export const consumerProtocol: ConsumerProtocolCodec = {
  subscribedTopics(protocolType, metadata) {
    if (protocolType !== 'consumer') return [];
    return ((decodeVersioned(subscriptionFields, 3, metadata)?.topics as string[] | undefined) ?? []).slice().sort();
  },
  assignedPartitions(protocolType, assignment) {
    if (protocolType !== 'consumer') return {};
    const decoded = decodeVersioned(assignmentFields, 3, assignment);
    const out: Assignment = {};
    for (const entry of (decoded?.assignedPartitions as { topic: string; partitions: number[] }[] | undefined) ?? []) {
      out[entry.topic] = [...(out[entry.topic] ?? []), ...entry.partitions].sort((a, b) => a - b);
    }
    return out;
  },
};

export function encodeConsumerAssignment(assignment: Assignment): Buffer {
  const body = encodeStruct(assignmentFields, 0, {
    assignedPartitions: Object.entries(assignment).map(([topic, partitions]) => ({ topic, partitions })),
    userData: null,
  });
  return Buffer.concat([Buffer.from([0, 0]), body]);
}

export function encodeConsumerSubscription(topics: string[]): Buffer {
  return Buffer.concat([Buffer.from([0, 0]), encodeStruct(subscriptionFields, 0, { topics, userData: null })]);
}

const classicContext = (): ClassicContext => ({ settings: { initialDelayMs: 300 }, codec: consumerProtocol });

/** Membership and offsets of a group need `consume` on it (Kafka's READ on the group). */
function requireGroup(access: Access, groupId: string): void {
  if (!access.group(groupId, 'consume')) throw groupDenied(groupId);
}

// ---- handlers ----

async function findCoordinator(request: Any, { broker, access }: RequestContext): Promise<Message> {
  if (request.keyType !== 0) {
    return {
      errorCode: kafkaErrorCodes.COORDINATOR_NOT_AVAILABLE,
      errorMessage: 'Transactions are not supported: there is no transaction coordinator.',
      nodeId: -1,
      host: '',
      port: -1,
    };
  }
  if (!access.group(request.key, 'consume')) {
    return { ...errorOf(groupDenied(request.key)), nodeId: -1, host: '', port: -1 };
  }
  return { errorCode: 0, errorMessage: null, nodeId: broker.nodeId, host: broker.host, port: broker.port };
}

function errorOf(error: unknown): { errorCode: number; errorMessage: string } {
  const { code, message } = toGroupError(error);
  return { errorCode: code, errorMessage: message };
}

function sessionTimeout(ms: number): number {
  const config = loadServiceConfig();
  if (ms < config.minSessionTimeoutMs || ms > config.maxSessionTimeoutMs) {
    throw new KafkaError(
      'INVALID_SESSION_TIMEOUT',
      `session.timeout.ms must be between ${config.minSessionTimeoutMs} and ${config.maxSessionTimeoutMs}; got ${ms}.`,
    );
  }
  return ms;
}

async function joinGroup(request: Any, { clientId, clientHost, access }: RequestContext): Promise<Message> {
  try {
    requireGroup(access, request.groupId);
    validateGroupId(request.groupId);
    const session = sessionTimeout(request.sessionTimeoutMs);
    const joined = await joinClassicGroup(
      request.groupId,
      {
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        clientId,
        clientHost,
        sessionTimeoutMs: session,
        rebalanceTimeoutMs: request.rebalanceTimeoutMs > 0 ? request.rebalanceTimeoutMs : session,
        protocolType: request.protocolType,
        protocols: request.protocols,
      },
      classicContext(),
    );
    return {
      errorCode: 0,
      generationId: joined.generationId,
      protocolName: joined.protocolName ?? '',
      leader: joined.leaderId,
      memberId: joined.memberId,
      members: joined.members,
    };
  } catch (error) {
    return { errorCode: toGroupError(error).code, generationId: -1, protocolName: '', leader: '', memberId: request.memberId, members: [] };
  }
}

async function syncGroup(request: Any, { access }: RequestContext): Promise<Message> {
  try {
    requireGroup(access, request.groupId);
    const assignment = await syncClassicGroup(request.groupId, request, classicContext());
    return { errorCode: 0, assignment };
  } catch (error) {
    return { errorCode: toGroupError(error).code, assignment: Buffer.alloc(0) };
  }
}

async function heartbeat(request: Any, { access }: RequestContext): Promise<Message> {
  try {
    requireGroup(access, request.groupId);
    await heartbeatClassicGroup(request.groupId, request, classicContext());
    return { errorCode: 0 };
  } catch (error) {
    return { errorCode: toGroupError(error).code };
  }
}

async function leaveGroup(request: Any, { version, access }: RequestContext): Promise<Message> {
  const ids: string[] = version >= 3 ? request.members.map((m: Any) => m.memberId) : [request.memberId];
  try {
    requireGroup(access, request.groupId);
    const results = await leaveClassicGroup(request.groupId, ids, classicContext());
    const members = results.map((r) => ({
      memberId: r.memberId,
      groupInstanceId: null,
      errorCode: r.error ? toGroupError(r.error).code : 0,
    }));
    return { errorCode: version < 3 ? members[0]!.errorCode : 0, members };
  } catch (error) {
    return { errorCode: toGroupError(error).code, members: [] };
  }
}

async function offsetCommit(request: Any, { access }: RequestContext): Promise<Message> {
  const offsets: { topic: string; partition: number; offset: number; metadata: string }[] = [];
  const codes = new Map<string, number>();
  const groupAllowed = access.group(request.groupId, 'consume');
  for (const t of request.topics) {
    // Kafka checks READ on the group, then READ on each topic: both, not the group alone as the HTTP route.
    const topicAllowed = access.topic(t.name, 'consume');
    for (const p of t.partitions) {
      const metadata = p.committedMetadata ?? '';
      if (!groupAllowed) codes.set(`${t.name}:${p.partitionIndex}`, kafkaErrorCodes.GROUP_AUTHORIZATION_FAILED);
      else if (!topicAllowed) codes.set(`${t.name}:${p.partitionIndex}`, kafkaErrorCodes.TOPIC_AUTHORIZATION_FAILED);
      else if (Buffer.byteLength(metadata) > maxOffsetMetadataBytes)
        codes.set(`${t.name}:${p.partitionIndex}`, kafkaErrorCodes.OFFSET_METADATA_TOO_LARGE);
      else offsets.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, metadata });
    }
  }
  let failure = 0;
  try {
    if (groupAllowed) validateGroupId(request.groupId);
    const topics = new Map<string, number>();
    for (const name of new Set(offsets.map((o) => o.topic))) topics.set(name, (await getTopic(name))?.partitions ?? 0);
    const valid = offsets.filter((o) => {
      const known = o.partition >= 0 && o.partition < (topics.get(o.topic) ?? 0);
      if (!known) codes.set(`${o.topic}:${o.partition}`, kafkaErrorCodes.UNKNOWN_TOPIC_OR_PARTITION);
      return known;
    });
    if (valid.length > 0) {
      if (request.generationIdOrMemberEpoch < 0 && request.memberId === '') {
        await commitOffsetsWithoutMember(request.groupId, valid, 'offsets can be committed without a member');
      } else {
        await commitClassicOffsets(request.groupId, { memberId: request.memberId, generationId: request.generationIdOrMemberEpoch }, valid);
      }
    }
  } catch (error) {
    failure = toGroupError(error).code;
  }
  return {
    topics: request.topics.map((t: Any) => ({
      name: t.name,
      partitions: t.partitions.map((p: Any) => ({
        partitionIndex: p.partitionIndex,
        errorCode: codes.get(`${t.name}:${p.partitionIndex}`) ?? failure,
      })),
    })),
  };
}

async function offsetFetch(request: Any, { access }: RequestContext): Promise<Message> {
  try {
    requireGroup(access, request.groupId);
    validateGroupId(request.groupId);
    const group = await readGroup(request.groupId);
    // All of the group's offsets (topics null) lists the topics the user may read; a named one is refused per partition.
    const committed = (group ? await readCommittedOffsets(group) : []).filter(
      (c) => request.topics !== null || access.topic(c.topic, 'consume'),
    );
    const byKey = new Map(committed.map((c) => [`${c.topic}:${c.partition}`, c]));
    const wanted: { name: string; partitionIndexes: number[] }[] =
      request.topics ??
      [...new Set(committed.map((c) => c.topic))].map((name) => ({
        name,
        partitionIndexes: committed.filter((c) => c.topic === name).map((c) => c.partition),
      }));
    return {
      errorCode: 0,
      topics: wanted.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => {
          if (!access.topic(t.name, 'consume'))
            return { partitionIndex, committedOffset: -1, metadata: '', errorCode: kafkaErrorCodes.TOPIC_AUTHORIZATION_FAILED };
          const c = byKey.get(`${t.name}:${partitionIndex}`);
          return { partitionIndex, committedOffset: c?.offset ?? -1, metadata: c?.metadata ?? '', errorCode: 0 };
        }),
      })),
    };
  } catch (error) {
    const errorCode = toGroupError(error).code;
    return {
      errorCode,
      topics: (request.topics ?? []).map((t: Any) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex: number) => ({ partitionIndex, committedOffset: -1, metadata: '', errorCode })),
      })),
    };
  }
}

function describeOne(groupId: string, group: GroupState | undefined, now: number): Message {
  if (!group) return { errorCode: 0, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] };
  const classic = group.classic && Object.keys(group.classic.members).length > 0 ? group.classic : undefined;
  if (classic) {
    return {
      errorCode: 0,
      groupId,
      groupState: classicStateName(group, now),
      protocolType: classic.protocolType,
      protocolData: classic.phase === 'Stable' || classic.phase === 'CompletingRebalance' ? (classic.protocolName ?? '') : '',
      members: Object.values(classic.members).map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: Buffer.from((m.protocols.find((p) => p.name === classic.protocolName) ?? m.protocols[0])?.metadata ?? '', 'base64'),
        memberAssignment: Buffer.from(m.assignment ?? '', 'base64'),
      })),
    };
  }
  const live = Object.values(group.members).filter((m) => now <= m.expiresAt);
  return {
    errorCode: 0,
    groupId,
    groupState: live.length > 0 ? 'Stable' : 'Empty',
    protocolType: 'consumer',
    protocolData: live.length > 0 ? 'uniform' : '',
    members: live.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: null,
      clientId: '',
      clientHost: '',
      memberMetadata: encodeConsumerSubscription(m.subscribedTopics),
      memberAssignment: encodeConsumerAssignment(m.assigned),
    })),
  };
}

async function describeGroups(request: Any, { access }: RequestContext): Promise<Message> {
  const now = Date.now();
  const groups = await Promise.all(
    request.groups.map(async (groupId: string) => {
      try {
        requireGroup(access, groupId);
        validateGroupId(groupId);
        return describeOne(groupId, await readGroup(groupId), now);
      } catch (error) {
        return { errorCode: toGroupError(error).code, groupId, groupState: '', protocolType: '', protocolData: '', members: [] };
      }
    }),
  );
  return { groups };
}

async function listGroups(_request: Any, { access }: RequestContext): Promise<Message> {
  // As Kafka: every group with cluster describe, otherwise those the user may consume as.
  const visible = (groupId: string) => access.cluster('describe') || access.group(groupId, 'consume');
  const groups = (await scanGroups())
    .filter((g) => visible(g.groupId))
    .map((g) => ({ groupId: g.groupId, protocolType: g.classic?.protocolType ?? 'consumer' }));
  return { errorCode: 0, groups };
}

/** KIP-848: the member's heartbeat on the server-side groups of the HTTP API (topics by id on this wire). */
async function consumerGroupHeartbeat(request: Any, { access }: RequestContext): Promise<Message> {
  const fail = (error: unknown) => {
    const { code, message } = toGroupError(error);
    return { errorCode: code, errorMessage: message, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
  };
  try {
    requireGroup(access, request.groupId);
    for (const name of request.subscribedTopicNames ?? []) if (!access.topic(name, 'consume')) throw topicDenied(name);
    validateGroupId(request.groupId);
    const group = await readGroup(request.groupId);
    const names = new Set<string>([
      ...(request.subscribedTopicNames ?? []),
      ...Object.values(group?.members ?? {}).flatMap((m) => m.subscribedTopics),
    ]);
    const topics = (await Promise.all([...names].map((name) => getTopic(name)))).filter((t) => t !== undefined);
    const nameById = new Map(topics.map((t) => [t.topicId, t.name]));
    const idByName = new Map(topics.map((t) => [t.name, t.topicId]));
    let owned: Record<string, number[]> | undefined;
    if (request.topicPartitions !== null) {
      owned = {};
      for (const tp of request.topicPartitions) {
        const name = nameById.get(tp.topicId);
        if (name !== undefined) owned[name] = tp.partitions;
      }
    }
    const config = loadServiceConfig();
    const response = await heartbeatGroup(
      request.groupId,
      {
        memberId: request.memberId === '' ? undefined : request.memberId,
        memberEpoch: request.memberEpoch,
        subscribedTopics: request.subscribedTopicNames ?? undefined,
        ownedPartitions: owned,
        sessionTimeoutMs: undefined,
      },
      { heartbeatIntervalMs: config.heartbeatIntervalMs, defaultSessionTimeoutMs: config.sessionTimeoutMs },
    );
    return {
      errorCode: 0,
      errorMessage: null,
      memberId: response.memberId,
      memberEpoch: response.memberEpoch,
      heartbeatIntervalMs: response.heartbeatIntervalMs,
      assignment: {
        topicPartitions: Object.entries(response.assignment)
          .filter(([name]) => idByName.has(name))
          .map(([name, partitions]) => ({ topicId: idByName.get(name)!, partitions })),
      },
    };
  } catch (error) {
    return fail(error);
  }
}

async function deleteGroups(request: Any, { access }: RequestContext): Promise<Message> {
  const results = await Promise.all(
    request.groupsNames.map(async (groupId: string) => {
      try {
        if (!access.group(groupId, 'admin')) throw groupDenied(groupId);
        await deleteGroupOperation(groupId);
        return { groupId, errorCode: 0 };
      } catch (error) {
        return { groupId, errorCode: toGroupError(error).code };
      }
    }),
  );
  return { results };
}

export const groupHandlers: Readonly<Record<number, Handler>> = {
  8: offsetCommit,
  9: offsetFetch,
  10: findCoordinator,
  11: joinGroup,
  12: heartbeat,
  13: leaveGroup,
  14: syncGroup,
  15: describeGroups,
  16: listGroups,
  42: deleteGroups,
  68: consumerGroupHeartbeat,
};
