/** The errors of the consumer-group API, with Kafka's names (docs/groups.md explains each choice). */
import { LogwayError, throttled } from '../errors';

export const groupNotFound = (groupId: string) =>
  new LogwayError('GROUP_ID_NOT_FOUND', `Group '${groupId}' does not exist.`, { group: groupId });

export type UnknownMemberReason = 'UNKNOWN' | 'EXPIRED';

export const unknownMember = (groupId: string, memberId: string, reason: UnknownMemberReason = 'UNKNOWN') =>
  new LogwayError(
    'UNKNOWN_MEMBER_ID',
    reason === 'EXPIRED'
      ? `Member '${memberId}' of group '${groupId}' missed its session timeout and is no longer a member: abandon its partitions and rejoin with memberEpoch 0.`
      : `Group '${groupId}' has no member '${memberId}': abandon its partitions and rejoin with memberEpoch 0.`,
    { group: groupId, memberId, reason },
  );

export const fencedMemberEpoch = (groupId: string, memberId: string, sent: number, current: number) =>
  new LogwayError(
    'FENCED_MEMBER_EPOCH',
    `Member '${memberId}' of group '${groupId}' sent epoch ${sent} but its epoch is ${current}: abandon all partitions and rejoin with memberEpoch 0.`,
    { group: groupId, memberId, memberEpoch: sent, currentMemberEpoch: current },
  );

export type StaleReason = 'STALE_EPOCH' | 'NOT_OWNER';

export const staleMemberEpoch = (
  groupId: string,
  memberId: string,
  sent: number,
  current: number,
  reason: StaleReason,
  partitions: { topic: string; partition: number }[] = [],
) =>
  new LogwayError(
    'STALE_MEMBER_EPOCH',
    reason === 'STALE_EPOCH'
      ? `Member '${memberId}' of group '${groupId}' committed with epoch ${sent} but its epoch is ${current}: heartbeat to learn its assignment, then commit again.`
      : `Member '${memberId}' of group '${groupId}' does not own ${partitions
          .map((p) => `${p.topic}-${p.partition}`)
          .join(', ')}: only the current owner may commit a partition's offset. Heartbeat to learn the current assignment.`,
    { group: groupId, memberId, memberEpoch: sent, currentMemberEpoch: current, reason, ...(partitions.length ? { partitions } : {}) },
  );

export const nonEmptyGroup = (groupId: string, members: number, action: string) =>
  new LogwayError(
    'NON_EMPTY_GROUP',
    `Group '${groupId}' has ${members} active member${members === 1 ? '' : 's'}: ${action} only while it is empty (every member left or its session expired).`,
    { group: groupId, members },
  );

export const offsetMetadataTooLarge = (index: number, bytes: number, max: number) =>
  new LogwayError('OFFSET_METADATA_TOO_LARGE', `offsets[${index}].metadata is ${bytes} bytes; at most ${max} bytes (UTF-8) are kept.`, {
    field: `offsets[${index}].metadata`,
    bytes,
    maxBytes: max,
  });

export const tooManyConflicts = (groupId: string, attempts: number) =>
  throttled(`Too many concurrent changes to group '${groupId}': gave up after ${attempts} attempts. Retry shortly.`, { group: groupId });

export const groupTooLarge = (groupId: string, bytes: number, maxBytes: number, members: number) =>
  new LogwayError(
    'GROUP_TOO_LARGE',
    `Group '${groupId}' would hold ${Math.round(bytes / 1024)} KB of state (${members} members with their subscriptions and assignments); one group holds at most ${Math.round(maxBytes / 1024)} KB. Subscribe fewer or shorter-named topics per member, or split the consumers into several groups.`,
    { group: groupId, bytes, maxBytes, members },
  );
