/**
 * The log as every front door sees it: one interface over topics' partitions that the HTTP
 * handlers (functions/), the Kafka gateway (shared/kafka/), the trigger dispatcher
 * (shared/triggers/) and the consumer groups (shared/groups/) call, in-process. It takes
 * validated, typed values (topic names, partition numbers, records as bytes, client batches,
 * offsets) and returns typed results; parsing a transport's input and rendering its output stay
 * with the transport. Like tansu's `Storage` trait: the storage layout behind it (docs/storage.md)
 * can change without any front door changing.
 */
import {
  fetchMany,
  fetchPartition,
  type FetchParams,
  type MultiFetchRequest,
  type MultiFetchResult,
  type PartitionFetchResult,
} from './fetch';
import { recordsHash } from './idempotency';
import { lookupOffset, type OffsetSpec, offsetForTimestamp } from './offsets';
import { type PartitionHead, readHead, readHeads, readHeadsAcrossTopics } from './partition-heads';
import { type ProduceIdempotency, type ProduceOutcome, type ProducibleRecord, produce } from './produce';
import { type AppendGroupCommit, appendGroupCommit } from './append';
import { appendClientBatch, type ClientBatch, type ClientBatchOptions, type ClientBatchOutcome } from './produce-batches';
import { registerProducer } from './producer-sequences';
import { loadServiceConfig } from '../config';
import {
  type BatchChoiceLimits,
  type BatchIndexItem,
  batchBytes,
  batchesFrom,
  chooseBatches,
  decodeBatch,
  type ReadLimits,
  type ReadResult,
  readRecords,
} from './read';
import type { TopicMetadata } from '../topics/store';
import type { RecordBatch } from '../records/types';

/** Pure: walking decoded batches' records, for front doors that cut them their own way. */
export { walkRecords } from './record-walk';

export interface LogService {
  // ---- Writing ----
  /** Appends records (at least one; partitioned by key as Kafka's Java client does), exactly once per Idempotency-Key. */
  produce(topic: string, records: readonly ProducibleRecord[], idempotency?: ProduceIdempotency): Promise<ProduceOutcome>;
  /** Appends one validated RecordBatch v2 a Kafka client sent, as it came; idempotent per producer id, epoch and sequence. */
  appendClientBatch(topic: TopicMetadata, partition: number, batch: ClientBatch, options?: ClientBatchOptions): Promise<ClientBatchOutcome>;
  /** A group commit for a process many producers share, of at most `writesPerPartition` chunk writes per partition at once (ClientBatchOptions). */
  appendGroupCommit(writesPerPartition: number): AppendGroupCommit;
  /** Records a Kafka producer id just handed out, so that its batches' sequences are checked from 0. */
  registerProducer(producerId: number): Promise<void>;
  /** The request hash of an Idempotency-Key produce given as records. */
  recordsHash(topic: string, records: readonly ProducibleRecord[]): string;

  // ---- Reading ----
  /** Records of one partition from an offset, long-polling up to `params.waitMs`, as the HTTP API returns them. */
  fetchPartition(topic: string, partition: number, params: FetchParams): Promise<PartitionFetchResult>;
  /** Records of several partitions, returning as soon as any has data. */
  fetchMany(request: MultiFetchRequest): Promise<{ results: MultiFetchResult[] }>;
  /** Decoded records of a partition between an offset and a high watermark the caller read. */
  readRecords(topicId: string, partition: number, offset: number, highWatermark: number, limits: ReadLimits): Promise<ReadResult>;
  /** The stored batches from the one holding `offset` on (index items; bytes by `batchBytes`). */
  batchesFrom(
    topicId: string,
    partition: number,
    offset: number,
    firstPageSize: number,
    mostNeeded?: () => number,
  ): AsyncGenerator<BatchIndexItem>;
  /** The batches a read of records from `offset` within the limits needs (their bytes not yet read). */
  chooseBatches(
    topicId: string,
    partition: number,
    offset: number,
    highWatermark: number,
    limits: BatchChoiceLimits,
    firstPageSize: number,
  ): Promise<BatchIndexItem[]>;
  /** A stored batch's bytes with its real base offset (what a Kafka Fetch returns as is). */
  batchBytes(item: BatchIndexItem): Promise<Buffer>;
  decodeBatch(item: BatchIndexItem): Promise<RecordBatch>;

  // ---- Heads and offsets ----
  readHead(topicId: string, partition: number): Promise<PartitionHead>;
  readHeads(topicId: string, partitions: readonly number[]): Promise<Map<number, PartitionHead>>;
  readHeadsAcrossTopics(keys: readonly { topicId: string; partition: number }[]): Promise<Map<string, PartitionHead>>;
  /** Kafka's ListOffsets: earliest, latest, or the first record at or after a time. */
  lookupOffset(topic: string, partition: number, at: OffsetSpec): Promise<{ offset: number | null }>;
  offsetForTimestamp(topicId: string, partition: number, timestamp: number, head: PartitionHead): Promise<number | null>;
}

export const log: LogService = {
  produce,
  appendClientBatch,
  appendGroupCommit,
  registerProducer: (producerId) => registerProducer(producerId, loadServiceConfig().idempotencyTtlHours),
  recordsHash,
  fetchPartition,
  fetchMany,
  readRecords,
  batchesFrom,
  chooseBatches,
  batchBytes,
  decodeBatch,
  readHead,
  readHeads,
  readHeadsAcrossTopics,
  lookupOffset,
  offsetForTimestamp,
};

export type {
  AppendGroupCommit,
  BatchIndexItem,
  ClientBatch,
  ClientBatchOptions,
  ClientBatchOutcome,
  FetchParams,
  MultiFetchRequest,
  MultiFetchResult,
  OffsetSpec,
  PartitionFetchResult,
  PartitionHead,
  ProduceIdempotency,
  ProduceOutcome,
  ProducibleRecord,
  ReadLimits,
  ReadResult,
};
