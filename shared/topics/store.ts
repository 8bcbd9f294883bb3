/**
 * Topic metadata in DynamoDB. A live topic is one item keyed by name carrying a fresh topic id;
 * everything stored for the topic (partition state, batches, segments) is keyed by that id, so a
 * deleted topic's data can never appear under a new topic of the same name. Deleting swaps the
 * live item for a tombstone keyed by the id, which the retention sweeper uses to remove the data.
 */
import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { concurrentChange, topicAlreadyExists, unknownTopic } from '../errors';
import { dynamo, tableName } from '../runtime/aws';
import { scanItems } from '../runtime/paging';
import type { TopicConfigOverrides } from './configs';
import { isLegalTopicName } from './model';
import { putFences } from '../log/fences';
import { mapWithConcurrency } from '../runtime/concurrency';
import { wroteThisItem } from '../runtime/lost-response';

export interface TopicMetadata {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: number;
  readonly config: TopicConfigOverrides;
  readonly createdAt: number;
  /** Bumped by every change of the topic item. */
  readonly version: number;
  /**
   * The version at which the config last changed (absent: never since creation). Every partition
   * item carries the config version it was fenced with, and every append is conditioned on
   * presenting at least that version: a producer holding older config cannot append once a
   * config change is acknowledged (docs/storage.md, "Config changes bind at once").
   */
  readonly configVersion?: number;
}

/** Tombstones share the topics table under names no topic can have ('#' is not a legal character). */
export const tombstonePrefix = '#deleted#';

/**
 * The DynamoDB partition key of a partition's items: its head in the partitions table, its batches
 * in the batch index. (Not Kafka's record key, which picks a partition; not a group's
 * topicPartitionId, which names a topic's partition in an assignment.)
 */
export function partitionKeyOf(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

export async function createTopic(name: string, partitions: number, config: TopicConfigOverrides): Promise<TopicMetadata> {
  const topic: TopicMetadata = {
    name,
    topicId: randomUUID(),
    partitions,
    config,
    createdAt: Date.now(),
    version: 1,
  };
  try {
    await dynamo().send(
      new PutCommand({
        TableName: tableName('topics'),
        Item: topic,
        ConditionExpression: 'attribute_not_exists(#name)',
        ExpressionAttributeNames: { '#name': 'name' },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      // The SDK retries a write whose response was lost: the item in the way may be this very create.
      if (wroteThisItem(error, topic)) return topic;
      throw topicAlreadyExists(name);
    }
    throw error;
  }
  return topic;
}

/** The live topic of that name; an illegal name cannot exist, so it is simply not found. */
export async function getTopic(name: string): Promise<TopicMetadata | undefined> {
  if (!isLegalTopicName(name)) return undefined;
  const { Item } = await dynamo().send(new GetCommand({ TableName: tableName('topics'), Key: { name }, ConsistentRead: true }));
  return Item as TopicMetadata | undefined;
}

export async function requireTopic(name: string): Promise<TopicMetadata> {
  const topic = await getTopic(name);
  if (!topic) throw unknownTopic(name);
  return topic;
}

export async function listTopics(): Promise<{ name: string; partitions: number }[]> {
  const topics: { name: string; partitions: number }[] = [];
  for await (const item of scanItems({
    TableName: tableName('topics'),
    ProjectionExpression: '#name, #partitions',
    ExpressionAttributeNames: { '#name': 'name', '#partitions': 'partitions' },
    ConsistentRead: true,
  })) {
    const name = item.name as string;
    if (!name.startsWith(tombstonePrefix)) topics.push({ name, partitions: item.partitions as number });
  }
  return topics.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface TopicChange {
  partitions?: number;
  config?: TopicConfigOverrides;
}

/** Grows partitions and/or merges config overrides, conditioned on the version read. */
export async function alterTopic(current: TopicMetadata, change: TopicChange): Promise<TopicMetadata> {
  const configChanged = Object.entries(change.config ?? {}).some(
    ([name, value]) => current.config[name as keyof TopicConfigOverrides] !== value,
  );
  // Growth fences too: a producer holding the old count would place keyed records by it.
  const grown = (change.partitions ?? current.partitions) > current.partitions;
  const fenced = configChanged || grown;
  const version = current.version + 1;
  const next: TopicMetadata = {
    ...current,
    partitions: change.partitions ?? current.partitions,
    config: { ...current.config, ...change.config },
    version,
    ...(fenced ? { configVersion: version } : {}),
  };
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: tableName('topics'),
        Key: { name: current.name },
        // Partitions, config and version are all DynamoDB reserved words.
        UpdateExpression: `SET #partitions = :partitions, #config = :config, #version = :next${fenced ? ', configVersion = :next' : ''}`,
        ConditionExpression: 'topicId = :topicId AND #version = :version',
        ExpressionAttributeNames: { '#partitions': 'partitions', '#config': 'config', '#version': 'version' },
        ExpressionAttributeValues: {
          ':partitions': next.partitions,
          ':config': next.config,
          ':next': next.version,
          ':topicId': current.topicId,
          ':version': current.version,
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    // A lost response retried by the SDK fails its own condition once the first attempt applied
    // (shared/runtime/lost-response.ts): answering 409 then would report a change in force as failed.
    if (!wroteThisItem(error, next)) {
      throw concurrentChange(`Topic '${current.name}' changed while this request was altering it; read it again and retry.`, {
        topic: current.name,
      });
    }
  }
  if (fenced) await fenceConfigVersion(next);
  return next;
}

/**
 * After a config change or a growth, puts a fence carrying the new config version at the head of
 * every partition (shared/log/fences.ts), so that appends planned with older config or the older
 * partition count fail their condition and re-read the topic. Done after the topic item changed,
 * so a crash between leaves at worst the old config acting until the producers' caches expire
 * (5 s), never a topic no one can append to.
 */
async function fenceConfigVersion(topic: TopicMetadata): Promise<void> {
  const keys = Array.from({ length: topic.partitions }, (_, partition) => partitionKeyOf(topic.topicId, partition));
  await putFences(keys, { kind: 'config', configVersion: topic.configVersion ?? 0 });
}

/**
 * Fences appends out of a topic being deleted: every partition gets a deletion fence at its head
 * (nothing replaces it), and its partition item `deletedAt` (created if the partition was never
 * written), which the sweeps' bookkeeping is conditioned on.
 */
async function markPartitionsDeleted(topic: TopicMetadata): Promise<void> {
  const deletedAt = Date.now();
  const keys = Array.from({ length: topic.partitions }, (_, partition) => partitionKeyOf(topic.topicId, partition));
  await mapWithConcurrency(keys, 25, (partitionKey) =>
    dynamo().send(
      new UpdateCommand({
        TableName: tableName('partitions'),
        Key: { partitionKey },
        UpdateExpression: 'SET deletedAt = if_not_exists(deletedAt, :deletedAt)',
        ExpressionAttributeValues: { ':deletedAt': deletedAt },
      }),
    ),
  );
  await putFences(keys, { kind: 'deleted', configVersion: topic.configVersion ?? 0, deletedAt });
}

/**
 * Replaces the live topic with a tombstone in one transaction, so the name is free at once,
 * after fencing appends out of its partitions. Conditioned on the version whose partitions were
 * fenced: a topic that grew meanwhile is fenced again.
 */
export async function deleteTopic(topic: TopicMetadata): Promise<void> {
  for (let current: TopicMetadata | undefined = topic; current; current = await getTopic(topic.name)) {
    if (current.topicId !== topic.topicId) break;
    await markPartitionsDeleted(current);
    if (await replaceWithTombstone(current)) return;
  }
  throw unknownTopic(topic.name);
}

async function replaceWithTombstone(topic: TopicMetadata): Promise<boolean> {
  try {
    await dynamo().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Delete: {
              TableName: tableName('topics'),
              Key: { name: topic.name },
              ConditionExpression: 'topicId = :topicId AND #version = :version',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':topicId': topic.topicId, ':version': topic.version },
            },
          },
          {
            Put: {
              TableName: tableName('topics'),
              Item: {
                name: `${tombstonePrefix}${topic.topicId}`,
                topicId: topic.topicId,
                deletedName: topic.name,
                partitions: topic.partitions,
                deletedAt: Date.now(),
              },
            },
          },
        ],
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof TransactionCanceledException) return false;
    throw error;
  }
}

export interface TopicTombstone {
  readonly topicId: string;
  readonly deletedName: string;
  readonly partitions: number;
  readonly deletedAt: number;
}

export async function listTombstones(): Promise<TopicTombstone[]> {
  const tombstones: TopicTombstone[] = [];
  for await (const item of scanItems({
    TableName: tableName('topics'),
    FilterExpression: 'begins_with(#name, :prefix)',
    ExpressionAttributeNames: { '#name': 'name' },
    ExpressionAttributeValues: { ':prefix': tombstonePrefix },
  })) {
    tombstones.push(item as unknown as TopicTombstone);
  }
  return tombstones;
}

export async function removeTombstone(topicId: string): Promise<void> {
  await dynamo().send(new DeleteCommand({ TableName: tableName('topics'), Key: { name: `${tombstonePrefix}${topicId}` } }));
}
