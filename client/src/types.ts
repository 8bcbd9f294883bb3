/** The HTTP API's JSON shapes (DESIGN.md, docs/groups.md), as the client sees them. */

export type TopicConfigValue = string | number;
export type TopicConfig = Record<string, TopicConfigValue>;

export interface TopicListing {
  name: string;
  partitions: number;
}

export interface PartitionOffsets {
  partition: number;
  logStartOffset: number;
  highWatermark: number;
}

export interface TopicDescription {
  name: string;
  topicId: string;
  config: TopicConfig;
  partitions: PartitionOffsets[];
}

export interface WireHeader {
  key: string;
  value?: string | null;
  valueBase64?: string;
}

/** A record in a produce request. */
export interface WireRecord {
  key?: string | null;
  keyBase64?: string;
  value?: unknown;
  valueBase64?: string;
  headers?: WireHeader[];
  partition?: number;
  timestamp?: number;
}

/** A fetched record: text fields when the bytes are UTF-8, base64 otherwise. */
export interface WireFetchedRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key?: string | null;
  keyBase64?: string;
  value?: string | null;
  valueBase64?: string;
  headers: WireHeader[];
}

export interface ProducedOffset {
  partition: number;
  offset: number;
  timestamp: number;
}

export interface WireErrorBody {
  code: string;
  message: string;
  [detail: string]: unknown;
}

export type WireFetchResult =
  | { topic: string; partition: number; records: WireFetchedRecord[]; nextOffset: number; highWatermark: number; logStartOffset: number }
  | { topic: string; partition: number; error: WireErrorBody };

export type Assignment = Record<string, number[]>;

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

export type GroupState = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable' | 'Dead';

export interface GroupListing {
  groupId: string;
  state: GroupState;
  memberCount: number;
}

export interface GroupMemberDescription {
  memberId: string;
  memberEpoch: number;
  subscribedTopics: string[];
  assignment: Assignment;
  pendingRevocation: Assignment;
  targetAssignment: Assignment;
  sessionTimeoutMs: number;
  lastHeartbeat: number;
  joinedAt: number;
}

export interface GroupPartitionDescription {
  topic: string;
  partition: number;
  memberId: string | null;
  committedOffset: number | null;
  metadata: string | null;
  highWatermark: number | null;
  logStartOffset: number | null;
  lag: number | null;
}

export interface GroupDescription {
  groupId: string;
  state: GroupState;
  groupEpoch: number;
  assignmentEpoch: number;
  members: GroupMemberDescription[];
  partitions: GroupPartitionDescription[];
}

export type ResetTarget = 'earliest' | 'latest' | { timestamp: number } | { offset: number };

export interface ResetOffsetsResult {
  groupId: string;
  topic: string;
  offsets: { partition: number; offset: number }[];
}
