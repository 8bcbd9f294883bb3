/**
 * Produce of record batches as a Kafka client encoded them: RecordBatch v2 bytes, already
 * validated by the front door that parsed them (shared/kafka/batches.ts), stored as they came
 * (compression kept) with the base offset the append assigns patched in by readers.
 *
 * Idempotent producers: a batch carrying a producer id is appended under the idempotency key
 * (producer id, epoch, topic id, partition, base sequence), claimed before the append as an HTTP
 * Idempotency-Key is (exactly-once.ts), so a retried batch gets its first attempt's offset instead
 * of a second append.
 */
import { loadServiceConfig } from '../config';
import type { RecordBatchHeader } from '../records';
import { cachedTopic, forgetTopic } from '../topics/cache';
import type { TopicMetadata } from '../topics/store';
import { type AppendOptions, appendBatches, type PreparedBatch } from './append';
import { readStoredProduce } from './exactly-once';
import { answersBeforeAppend, encodeStoredOffsets } from './idempotency';
import { produceMetrics } from './metrics';
import {
  checkSequence,
  lastSequenceOf,
  noteAppended,
  type ProducerPartition,
  producerBatchHash,
  producerBatchKeyOf,
} from './producer-sequences';
import { writeSegment } from './segments';

/** One record batch a client sent, validated: bytes with base offset 0, and what the append needs from its header. */
export interface ClientBatch {
  readonly bytes: Buffer;
  readonly header: RecordBatchHeader;
  readonly recordCount: number;
  readonly firstTimestamp: number;
  readonly maxTimestamp: number;
}

export type ClientBatchOutcome =
  | { readonly kind: 'appended'; readonly baseOffset: number }
  /** The producer sent a batch with this sequence number before, with another record count. */
  | { readonly kind: 'sequence-reused' }
  /** The batch skips sequences: one before it was not appended (its request failed); the producer re-sends in order. */
  | { readonly kind: 'out-of-order' }
  /** The topic kept changing (deleted, re-created, reconfigured) while the batch was appended: refresh and retry. */
  | { readonly kind: 'topic-changing'; readonly topic: string };

/** How the front door appends: `groupCommit` is its process's group commit of appends per partition (AppendOptions). */
export type ClientBatchOptions = Pick<AppendOptions, 'groupCommit'>;

/**
 * Appends one batch; a retried idempotent batch gets its first attempt's base offset, and one that
 * skips sequences is refused (producer-sequences.ts).
 */
export async function appendClientBatch(
  initial: TopicMetadata,
  partition: number,
  batch: ClientBatch,
  options: ClientBatchOptions = {},
): Promise<ClientBatchOutcome> {
  const config = loadServiceConfig();
  let topic = initial;
  const { producerId, producerEpoch, baseSequence } = batch.header;
  // The producer partition whose sequence the batch continues, in the topic as now known (none
  // for a producer without an id).
  const sequenced = (): ProducerPartition | undefined =>
    producerId < 0 || baseSequence < 0 ? undefined : { producerId, producerEpoch, topicId: topic.topicId, partition };
  const appended = async (baseOffset: number): Promise<ClientBatchOutcome> => {
    // Before the answer, so that the producer's next batch through this process reads nothing.
    const producer = sequenced();
    if (producer) await noteAppended(producer, lastSequenceOf(baseSequence, batch.recordCount), config.idempotencyTtlHours);
    return { kind: 'appended', baseOffset };
  };
  // A replayed batch is noted too: this process may not have appended its first attempt.
  const replayedOrRecorded = async (stored: { requestHash: string; response: unknown }, hash: string): Promise<ClientBatchOutcome> => {
    const outcome = replayed(stored, hash);
    return outcome.kind === 'appended' ? appended(outcome.baseOffset) : outcome;
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    const producer = sequenced();
    if (producer && (await checkSequence(producer, baseSequence)) === 'out-of-order') return { kind: 'out-of-order' };
    // The batch's idempotency key: a retry is known by producer, epoch, partition and sequence.
    const key = producer && producerBatchKeyOf(producer, baseSequence);
    const hash = producerBatchHash(batch.recordCount);
    const large = batch.bytes.length > config.inlineBatchMaxBytes;
    // A retry is found by the append's own condition on the key's record ('duplicate' below), so
    // a first attempt reads nothing; only a batch bound for S3 looks first, so that a retry writes
    // no segment object it would then leave orphaned.
    if (key && large) {
      const stored = await readStoredProduce(key, hash);
      if (answersBeforeAppend(stored, hash)) return replayedOrRecorded(stored, hash);
    }
    const location: PreparedBatch['location'] = large
      ? { kind: 'segment', key: (await writeSegment(topic.topicId, [batch.bytes])).key, position: 0, batchesInSegment: 1 }
      : { kind: 'inline' };
    const prepared: PreparedBatch = {
      partition,
      bytes: batch.bytes,
      recordCount: batch.recordCount,
      firstTimestamp: batch.firstTimestamp,
      maxTimestamp: batch.maxTimestamp,
      location,
    };
    const outcome = await appendBatches(
      topic,
      [prepared],
      key
        ? {
            key,
            requestHash: hash,
            expiresAt: Math.floor(Date.now() / 1000) + Math.round(config.idempotencyTtlHours * 3600),
            // One entry for the batch: its base offset (timestamps are the client's, in the batch).
            template: encodeStoredOffsets([{ partition, offset: 0, timestamp: 0 }]),
          }
        : undefined,
      options,
    );
    if (outcome.kind === 'appended') {
      produceMetrics.produced(batch.recordCount, batch.bytes.length);
      return appended(outcome.baseOffsets.get(partition)!);
    }
    if (outcome.kind === 'duplicate') {
      // Pending: another attempt of this batch is still appending; the next round waits for it.
      if (answersBeforeAppend(outcome.stored, hash)) return replayedOrRecorded(outcome.stored, hash);
      continue;
    }
    forgetTopic(topic.name);
    topic = await cachedTopic(topic.name, partition + 1);
  }
  return { kind: 'topic-changing', topic: topic.name };
}

function replayed(stored: { requestHash: string; response: unknown }, hash: string): ClientBatchOutcome {
  if (stored.requestHash !== hash) return { kind: 'sequence-reused' };
  const response = stored.response as { offsets: { offset: number }[] } | { baseOffset: number };
  // The compact form (one entry for the batch), or the JSON of records stored before it.
  return { kind: 'appended', baseOffset: 'offsets' in response ? response.offsets[0]!.offset : response.baseOffset };
}
