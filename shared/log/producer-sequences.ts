/**
 * Kafka's idempotent producer contract, per partition: a broker that accepts a batch with sequence
 * s holds every batch before it, and answers a batch that skips ahead OUT_OF_ORDER_SEQUENCE_NUMBER.
 * Clients rely on the first half: librdkafka takes the success of a later batch as the
 * acknowledgement of an earlier one whose request failed, and with several requests in flight a
 * retriable failure (a throttled append) of batch s while s + 1 lands would otherwise lose s
 * silently, or append it after s + 1 when it is retried. On OUT_OF_ORDER_SEQUENCE_NUMBER the
 * client re-sends its batches in order (docs/kafka.md, "Idempotent producers").
 *
 * State, in the idempotency table beside the batches' claims:
 * - `kafka-producer#<producer id>`, written when InitProducerId hands the id out: the producer
 *   is new, so a partition it has no sequence for starts at 0;
 * - `kafka-sequence#<producer id>#<epoch>#<topic id>#<partition>`: a checkpoint, a sequence known
 *   appended, written forward only every `checkpointEvery` batches a process appends;
 * - the batches' own claims (`kafka:<producer id>:<epoch>:<topic id>:<partition>:<base sequence>`),
 *   each naming its record count: from a checkpoint they chain to the latest batch appended.
 * All expire with the claims (LOGWAY_IDEMPOTENCY_TTL_HOURS after their last write). A producer
 * whose id item and checkpoint are gone (issued before this check, or idle that long) is not
 * checked: the check never refuses a batch it has no evidence against.
 */
import { BatchGetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { dynamo, tableName } from '../runtime/aws';
import { readStoredProduce } from './exactly-once';

/** Kafka sequences are int32 and wrap to 0 after 2^31 - 1. */
const sequenceSpace = 2 ** 31;

/** Where `baseSequence` stands against the sequence the partition expects next. */
export type SequenceVerdict = 'next' | 'retry' | 'out-of-order';

/**
 * Pure. `lastSequence`: the last sequence appended (-1 for a producer with nothing appended here),
 * undefined when unknown. A batch at or behind it is a retry (its claim answers it); more than one
 * ahead skips sequences; half the sequence space decides which way a wrapped distance points.
 */
export function sequenceVerdict(lastSequence: number | undefined, baseSequence: number): SequenceVerdict {
  if (lastSequence === undefined) return 'next';
  const ahead = (((baseSequence - lastSequence - 1) % sequenceSpace) + sequenceSpace) % sequenceSpace;
  if (ahead === 0) return 'next';
  return ahead < sequenceSpace / 2 ? 'out-of-order' : 'retry';
}

/** The last sequence of a batch of `recordCount` records from `baseSequence` (wrapping). */
export const lastSequenceOf = (baseSequence: number, recordCount: number) => (baseSequence + recordCount - 1) % sequenceSpace;

export interface ProducerPartition {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly topicId: string;
  readonly partition: number;
}

const producerKey = (producerId: number) => `kafka-producer#${producerId}`;
const sequenceKey = (p: ProducerPartition) => `kafka-sequence#${p.producerId}#${p.producerEpoch}#${p.topicId}#${p.partition}`;

/** A process writes a producer partition's checkpoint after this many batches beyond the stored one. */
const checkpointEvery = 32;

/**
 * The most claims a check walks from the checkpoint before it gives up and answers out of order.
 * Checkpoints keep walks under `checkpointEvery` batches (plus those in flight elsewhere), so this
 * is reached only after writes of checkpoints failed many times; the answer is then safe, not
 * wrong: the client re-sends in order under a new producer id.
 */
const maxWalk = 256;

interface Known {
  /** The last sequence known appended: every batch up to it is in the log. */
  last: number;
  /** Batches known appended beyond the stored checkpoint, as far as this process knows. */
  unrecorded: number;
}

/**
 * What this process knows per producer partition: the batch right after `last` needs no read.
 * Bounded: the oldest entry goes first.
 */
const known = new Map<string, Known>();
const knownMax = 10_000;

function remember(key: string, state: Known): void {
  known.delete(key);
  known.set(key, state);
  if (known.size > knownMax) known.delete(known.keys().next().value!);
}

/** Forgets what this process knows (tests that play a second gateway process). */
export function forgetProducerSequences(): void {
  known.clear();
}

/** Pure. The sequence further forward of two (wrapping), either possibly unknown. */
export function furtherForward(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return sequenceVerdict(a, b) === 'retry' ? a : b;
}

const expiresAt = (ttlHours: number, now = Date.now()) => Math.floor(now / 1000) + Math.round(ttlHours * 3600);

/** The idempotency key of a producer's batch (its claim): producer, epoch, topic id, partition, base sequence. */
export const producerBatchKeyOf = (p: ProducerPartition, baseSequence: number) =>
  `kafka:${p.producerId}:${p.producerEpoch}:${p.topicId}:${p.partition}:${baseSequence}`;

/**
 * A producer batch's request hash: its record count. A broker knows a retry by its sequence alone
 * (clients may re-encode a retried batch: KafkaJS stamps new timestamps); the count must match.
 */
export const producerBatchHash = (recordCount: number) => `records:${recordCount}`;
const recordCountOfHash = (hash: string) => {
  const count = /^records:(\d+)$/.exec(hash)?.[1];
  return count === undefined ? undefined : Number(count);
};

/** Records a producer id that InitProducerId handed out: its partitions start at sequence 0. */
export async function registerProducer(producerId: number, ttlHours: number): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: tableName('idempotency'),
      Item: { key: producerKey(producerId), producer: true, expiresAt: expiresAt(ttlHours) },
    }),
  );
}

/**
 * Whether a batch from `baseSequence` may be appended now: the batch before it must be in the log.
 * Without a read when this process appended (or found) that batch; else from the checkpoint, and
 * over the claims of the batches after it (each claim names its record count, so the next one's
 * key follows), settling a claim whose attempt stored nothing after its append.
 */
export async function checkSequence(p: ProducerPartition, baseSequence: number): Promise<SequenceVerdict> {
  const key = sequenceKey(p);
  const mine = known.get(key);
  if (mine !== undefined && sequenceVerdict(mine.last, baseSequence) === 'next') return 'next';
  const table = tableName('idempotency');
  const output = await dynamo().send(
    new BatchGetCommand({
      RequestItems: {
        [table]: {
          Keys: [{ key }, { key: producerKey(p.producerId) }],
          ConsistentRead: true,
          ProjectionExpression: '#key, lastSequence',
          ExpressionAttributeNames: { '#key': 'key' },
        },
      },
    }),
  );
  // Two small keys of one table: far inside BatchGetItem's limits; DynamoDB returns unprocessed
  // keys only when throttled, and then the check does not refuse the batch.
  const items = output.Responses?.[table] ?? [];
  const state = items.find((item) => item.key === key);
  const registered = items.some((item) => item.key === producerKey(p.producerId));
  const stored = state ? Number(state.lastSequence) : registered ? -1 : undefined;
  const from = furtherForward(stored, mine?.last);
  // No evidence (a producer id handed out before this check, or idle past the keys' TTL): not refused.
  if (from === undefined) return 'next';
  const unrecordedFrom = from === stored ? 0 : (mine?.unrecorded ?? 0);
  const verdict = sequenceVerdict(from, baseSequence);
  if (verdict !== 'out-of-order') {
    if (from >= 0) remember(key, { last: from, unrecorded: unrecordedFrom });
    return verdict;
  }
  // Ahead of the checkpoint: the batches between were appended since (checkpoints are written
  // every few batches), or one was not. Their claims say which.
  let last = from;
  let walked = 0;
  while (walked < maxWalk) {
    const claim = await readStoredProduce(producerBatchKeyOf(p, (last + 1) % sequenceSpace));
    const count = claim && !claim.pending ? recordCountOfHash(claim.requestHash) : undefined;
    // Never claimed, given back, or claimed and not (yet) in the log: the batch before this one is missing.
    if (count === undefined) break;
    last = lastSequenceOf((last + 1) % sequenceSpace, count);
    walked++;
    const next = sequenceVerdict(last, baseSequence);
    if (next !== 'out-of-order') {
      remember(key, { last, unrecorded: unrecordedFrom + walked });
      return next;
    }
  }
  if (last >= 0) remember(key, { last, unrecorded: unrecordedFrom + walked });
  return 'out-of-order';
}

/**
 * Notes that the batch ending at `lastSequence` is in the log, and every `checkpointEvery` batches
 * writes the checkpoint (forward only). Never throws: a checkpoint not written only makes the next
 * process's walk longer, since every batch's claim says where it landed.
 */
export async function noteAppended(p: ProducerPartition, lastSequence: number, ttlHours: number): Promise<void> {
  const key = sequenceKey(p);
  const mine = known.get(key);
  const last = furtherForward(mine?.last, lastSequence)!;
  const unrecorded = (mine?.unrecorded ?? 0) + 1;
  remember(key, { last, unrecorded });
  if (unrecorded < checkpointEvery) return;
  try {
    await writeCheckpoint(p, last, ttlHours);
    remember(key, { last, unrecorded: 0 });
  } catch {
    // Kept unrecorded: the next batch tries again.
  }
}

/** Stores `lastSequence` as the producer partition's checkpoint unless the stored one is at or past it. */
async function writeCheckpoint(p: ProducerPartition, lastSequence: number, ttlHours: number): Promise<void> {
  try {
    await dynamo().send(
      new PutCommand({
        TableName: tableName('idempotency'),
        Item: { key: sequenceKey(p), lastSequence, expiresAt: expiresAt(ttlHours) },
        // Forward only, where forward wraps: a stored sequence half the space or more ahead is behind.
        ConditionExpression: 'attribute_not_exists(#key) OR lastSequence < :last OR lastSequence >= :wrapped',
        ExpressionAttributeNames: { '#key': 'key' },
        ExpressionAttributeValues: { ':last': lastSequence, ':wrapped': lastSequence + sequenceSpace / 2 },
      }),
    );
  } catch (error) {
    // Already at or past it: a checkpoint of a racing copy of this producer.
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
