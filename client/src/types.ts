/** The HTTP API's JSON shapes (docs/api.md, docs/groups.md), under the names the client has published. */

// The log API's shapes are the server's own (types only: nothing of the server is bundled).
import type {
  ErrorBodyJson,
  FetchedRecordJson,
  FetchResultJson,
  HeaderJson,
  PartitionOffsetsJson,
  ProducedOffsetJson,
  ProducedRecordJson,
  TopicConfigJson,
  TopicDescriptionJson,
  TopicListingJson,
} from '../../shared/api/log-shapes';

export type { TopicConfigValue } from '../../shared/api/log-shapes';
export type TopicConfig = TopicConfigJson;
export type TopicListing = TopicListingJson;
export type PartitionOffsets = PartitionOffsetsJson;
export type TopicDescription = TopicDescriptionJson;
export type WireHeader = HeaderJson;
/** A record in a produce request. */
export type WireRecord = ProducedRecordJson;
/** A fetched record: text fields when the bytes are UTF-8, base64 otherwise. */
export type WireFetchedRecord = FetchedRecordJson;
export type ProducedOffset = ProducedOffsetJson;
export type WireErrorBody = ErrorBodyJson;
export type WireFetchResult = FetchResultJson;

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
} from '../../shared/groups/json';

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
} from '../../shared/triggers/json';
