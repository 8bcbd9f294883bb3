/**
 * @logway/client: producer, consumer and admin clients for Logway, Kafka's model as a serverless
 * HTTP service. See docs/client.md.
 */
export { Logway, type LogwayOptions, type FetchRequest, type FetchResult } from './logway';
export { Producer, type ProducerOptions, type ProducerRecord, type RecordMetadata, maxPartitionsPerRequest } from './producer';
export {
  Consumer,
  type Batch,
  type ConsumerEvents,
  type ConsumerOptions,
  type DisconnectOptions,
  type EachBatchPayload,
  type EachMessagePayload,
  type OffsetReset,
  type RunOptions,
  type TopicPartition,
  type TopicPartitionOffset,
} from './consumer';
export { Admin, type NewTopic, type TopicOffsets } from './admin';
export {
  LogwayApiError,
  hasErrorCode,
  isLogwayApiError,
  type LogwayErrorCode,
  type LogwayErrorKind,
  type LogwayErrorOrigin,
} from './errors';
export { HttpTransport, defaultUrl, type ConnectionOptions, type RetryEvent, type RetryPolicy, type RequestOptions } from './http';
export { backoffDelay, parseRetryAfter, defaultRetryOptions, type RetryOptions } from './retry';
export type { AuthMode, AwsCredentials, AwsCredentialsProvider } from './auth';
export type { Message, MessageHeaders, ProducerMessage } from './records';
export { partitionForKey, murmur2 } from '../../shared/records/partitioner';
export type * from './types';
