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
 * - `kafka-sequence#<producer id>#<epoch>#<topic id>#<partition>`: the last sequence appended,
 *   written after each batch's append (before its answer), forward only.
 * Both expire with the claims (LOGWAY_IDEMPOTENCY_TTL_HOURS after their last write). A producer
 * whose id item is gone (issued before this check, or idle that long) is not checked until its
 * next write of a sequence: the check never refuses a batch it has no evidence against.
 */
import { BatchGetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { dynamo, tableName } from '../runtime/aws';

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

/**
 * The last sequence this process wrote per producer partition: the stored one is at or past it
 * (sequences only move forward), so a batch right after it needs no read. Bounded: the oldest
 * entry goes first.
 */
const knownLast = new Map<string, number>();
const knownLastMax = 10_000;

function remember(key: string, lastSequence: number): void {
  knownLast.delete(key);
  knownLast.set(key, lastSequence);
  if (knownLast.size > knownLastMax) knownLast.delete(knownLast.keys().next().value!);
}

/** Forgets what this process knows (tests that restart a producer's state). */
export function forgetProducerSequences(): void {
  knownLast.clear();
}

const expiresAt = (ttlHours: number, now = Date.now()) => Math.floor(now / 1000) + Math.round(ttlHours * 3600);

/** Records a producer id that InitProducerId handed out: its partitions start at sequence 0. */
export async function registerProducer(producerId: number, ttlHours: number): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: tableName('idempotency'),
      Item: { key: producerKey(producerId), producer: true, expiresAt: expiresAt(ttlHours) },
    }),
  );
}

/** Whether a batch from `baseSequence` may be appended now (strongly consistent when it reads). */
export async function checkSequence(p: ProducerPartition, baseSequence: number): Promise<SequenceVerdict> {
  const key = sequenceKey(p);
  const known = knownLast.get(key);
  if (known !== undefined && sequenceVerdict(known, baseSequence) === 'next') return 'next';
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
  const last = state ? Number(state.lastSequence) : registered ? -1 : undefined;
  if (last !== undefined && last >= 0) remember(key, last);
  return sequenceVerdict(last, baseSequence);
}

/** Records that the batch ending at `lastSequence` is appended (idempotent; never moves backwards). */
export async function recordSequence(p: ProducerPartition, lastSequence: number, ttlHours: number): Promise<void> {
  const key = sequenceKey(p);
  try {
    await dynamo().send(
      new PutCommand({
        TableName: tableName('idempotency'),
        Item: { key, lastSequence, expiresAt: expiresAt(ttlHours) },
        // Forward only, where forward wraps: a stored sequence half the space or more ahead is behind.
        ConditionExpression: 'attribute_not_exists(#key) OR lastSequence < :last OR lastSequence >= :wrapped',
        ExpressionAttributeNames: { '#key': 'key' },
        ExpressionAttributeValues: { ':last': lastSequence, ':wrapped': lastSequence + sequenceSpace / 2 },
      }),
    );
  } catch (error) {
    // Already at or past it: a retry of an older batch, or a racing copy of this one.
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
  remember(key, lastSequence);
}
