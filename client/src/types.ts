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

// The group API's shapes are the server's own (types only: nothing of the server is bundled).
export type {
  Assignment,
  CommittedOffset,
  GroupDescription,
  GroupListing,
  GroupStateName as GroupState,
  HeartbeatResponse,
  MemberDescription as GroupMemberDescription,
  PartitionDescription as GroupPartitionDescription,
} from '../../shared/groups/wire';

export type ResetTarget = 'earliest' | 'latest' | { timestamp: number } | { offset: number };

export interface ResetOffsetsResult {
  groupId: string;
  topic: string;
  offsets: { partition: number; offset: number }[];
}

// The trigger API's shapes are the server's own (types only).
export type {
  FunctionResponseType,
  PartitionStatus as TriggerPartitionStatus,
  ResetTriggerResponse as ResetTriggerResult,
  StartingPosition,
  TriggerDescription,
  TriggerError,
  TriggerInput,
  TriggerResetTarget,
  TriggerView as Trigger,
} from '../../shared/triggers/wire';
