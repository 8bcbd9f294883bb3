/**
 * The JSON shapes of the log API (topics, produce, fetch; docs/api.md) as types, importing
 * nothing, so the published client shares them without pulling in the server (as
 * shared/groups/json.ts does for the consumer-group API). test/client/shapes.test.ts checks at
 * compile time that what the service's schemas and handlers produce fits these shapes.
 */

export type TopicConfigValue = string | number;
export type TopicConfigJson = Record<string, TopicConfigValue>;

/** An entry of GET /v1/topics. */
export interface TopicListingJson {
  name: string;
  partitions: number;
}

export interface PartitionOffsetsJson {
  partition: number;
  logStartOffset: number;
  highWatermark: number;
}

/** GET /v1/topics/{topic}, and the answer of create and alter. */
export interface TopicDescriptionJson {
  name: string;
  topicId: string;
  config: TopicConfigJson;
  partitions: PartitionOffsetsJson[];
}

/** A header: text when the bytes are UTF-8, base64 otherwise; null value for a null header. */
export interface HeaderJson {
  key: string;
  value?: string | null;
  valueBase64?: string;
}

/** A record in a produce request: key and value as text or base64, a value may be any JSON. */
export interface ProducedRecordJson {
  key?: string | null;
  keyBase64?: string;
  value?: unknown;
  valueBase64?: string;
  headers?: HeaderJson[];
  partition?: number;
  timestamp?: number;
}

/** A fetched record: text fields when the bytes are UTF-8, base64 otherwise. */
export interface FetchedRecordJson {
  partition: number;
  offset: number;
  timestamp: number;
  key?: string | null;
  keyBase64?: string;
  value?: string | null;
  valueBase64?: string;
  headers: HeaderJson[];
}

/** Where one produced record landed. */
export interface ProducedOffsetJson {
  partition: number;
  offset: number;
  timestamp: number;
}

/** The error object of every error response (`{"error": ...}`) and of a failed fetch partition. */
export interface ErrorBodyJson {
  code: string;
  message: string;
  [detail: string]: unknown;
}

/** One partition's answer in POST /v1/fetch: its records, or its own error (as Kafka's Fetch). */
export type FetchResultJson =
  | { topic: string; partition: number; records: FetchedRecordJson[]; nextOffset: number; highWatermark: number; logStartOffset: number }
  | { topic: string; partition: number; error: ErrorBodyJson };
