/**
 * The topic admin operations of the HTTP API: validation, then the store.
 */
import { z } from 'zod';
import { loadServiceConfig } from '../config';
import { partitionsCannotShrink } from '../errors';
import { parseRequest, schemaOnce } from '../api/validation';
import { readHeads } from '../log/partition-heads';
import type { TopicConfig } from './configs';
import { effectiveTopicConfig, partitionCountSchema, topicConfigOverridesSchema, topicNameSchema } from './model';
import { alterTopic, createTopic, deleteTopic, listTopics, requireTopic, type TopicMetadata } from './store';

export const createTopicSchema = schemaOnce(() =>
  z.object({
    name: topicNameSchema,
    partitions: partitionCountSchema(loadServiceConfig().maxPartitionsPerTopic).optional(),
    config: topicConfigOverridesSchema.optional(),
  }),
);

export const alterTopicSchema = schemaOnce(() =>
  z.object({
    partitions: partitionCountSchema(loadServiceConfig().maxPartitionsPerTopic).optional(),
    config: topicConfigOverridesSchema.optional(),
  }),
);

/** Kafka's names for a bad value of each field (a wrong type is INVALID_REQUEST). */
const topicFieldCodes = { name: 'INVALID_TOPIC_EXCEPTION', partitions: 'INVALID_PARTITIONS', config: 'INVALID_CONFIG' } as const;

export interface TopicDescription {
  name: string;
  topicId: string;
  config: TopicConfig;
  partitions: { partition: number; logStartOffset: number; highWatermark: number; sizeBytes: number }[];
}

export async function createTopicOperation(body: unknown): Promise<TopicDescription> {
  const request = parseRequest(createTopicSchema(), body ?? {}, 'body', topicFieldCodes);
  const topic = await createTopic(request.name, request.partitions ?? 1, request.config ?? {});
  return describe(topic);
}

export async function listTopicsOperation(): Promise<{ topics: { name: string; partitions: number }[] }> {
  return { topics: await listTopics() };
}

export async function describeTopicOperation(name: string): Promise<TopicDescription> {
  return describe(await requireTopic(name));
}

export async function alterTopicOperation(name: string, body: unknown): Promise<TopicDescription> {
  const request = parseRequest(alterTopicSchema(), body ?? {}, 'body', topicFieldCodes);
  const topic = await requireTopic(name);
  const { partitions } = request;
  if (partitions !== undefined) {
    if (partitions <= topic.partitions) {
      throw partitionsCannotShrink(name, topic.partitions);
    }
  }
  const altered = await alterTopic(topic, { ...(partitions ? { partitions } : {}), config: request.config ?? {} });
  return describe(altered);
}

export async function deleteTopicOperation(name: string): Promise<void> {
  await deleteTopic(await requireTopic(name));
}

async function describe(topic: TopicMetadata): Promise<TopicDescription> {
  const partitionNumbers = Array.from({ length: topic.partitions }, (_, i) => i);
  const heads = await readHeads(topic.topicId, partitionNumbers);
  return {
    name: topic.name,
    topicId: topic.topicId,
    config: effectiveTopicConfig(topic.config),
    partitions: partitionNumbers.map((partition) => {
      const head = heads.get(partition)!;
      return { partition, logStartOffset: head.logStartOffset, highWatermark: head.highWatermark, sizeBytes: head.sizeBytes };
    }),
  };
}
