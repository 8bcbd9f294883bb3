/**
 * The JSON shapes of the consumer-group API: what the handlers answer and what the client reads.
 * Types only, importing nothing, so the published client can share them without pulling in the
 * server.
 */

/** Why a consumer-protocol member is unknown: the `reason` of an UNKNOWN_MEMBER_ID error. */
export type UnknownMemberReason = 'UNKNOWN' | 'EXPIRED';

/**
 * Why a commit's epoch is stale: the `reason` of a STALE_MEMBER_EPOCH error. NOT_OWNER lists
 * the partitions the member does not own in the error's `partitions`.
 */
export type StaleReason = 'STALE_EPOCH' | 'NOT_OWNER';

/** Partitions by topic name. */
export type Assignment = Record<string, number[]>;

/** Kafka's consumer-group states (ConsumerGroup.ConsumerGroupState). */
export type GroupStateName = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable' | 'Dead';

export interface HeartbeatResponse {
  memberId: string;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: Assignment;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata: string;
  commitTimestamp: number;
}

export interface GroupListing {
  groupId: string;
  state: GroupStateName;
  memberCount: number;
}

export interface MemberDescription {
  memberId: string;
  memberEpoch: number;
  subscribedTopics: string[];
  /** What the member was last told it owns. */
  assignment: Assignment;
  /** Partitions the member was told to release and still holds. */
  pendingRevocation: Assignment;
  targetAssignment: Assignment;
  sessionTimeoutMs: number;
  lastHeartbeat: number;
  joinedAt: number;
}

export interface PartitionDescription {
  topic: string;
  partition: number;
  /** The member owning the partition, if any. */
  memberId: string | null;
  committedOffset: number | null;
  metadata: string | null;
  highWatermark: number | null;
  logStartOffset: number | null;
  lag: number | null;
}

export interface GroupDescription {
  groupId: string;
  state: GroupStateName;
  groupEpoch: number;
  assignmentEpoch: number;
  members: MemberDescription[];
  partitions: PartitionDescription[];
  /** Present when more partitions follow: pass it as `pageToken` for the next page. */
  nextPageToken?: string;
}
