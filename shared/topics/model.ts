/**
 * Topics as Kafka defines them: naming rules and the configs Logway honours. Pure logic; the
 * DynamoDB side is in store.ts.
 */
import { z } from 'zod';
import { topicConfigDefaults } from '../config';
import { LogwayError } from '../errors';

export const topicNamePattern = /^[a-zA-Z0-9._-]{1,249}$/;
export const groupIdPattern = /^[a-zA-Z0-9._-]{1,255}$/;

export function isLegalTopicName(name: string): boolean {
  return topicNamePattern.test(name) && name !== '.' && name !== '..';
}

export function validateTopicName(name: string): void {
  if (!isLegalTopicName(name)) {
    throw new LogwayError(
      400,
      'INVALID_TOPIC_EXCEPTION',
      `Topic name '${name.slice(0, 300)}' is illegal: use 1 to 249 of [a-zA-Z0-9._-], and not '.' or '..'.`,
      { topic: name.slice(0, 300) },
    );
  }
}

export function validateGroupId(groupId: string): void {
  if (!groupIdPattern.test(groupId)) {
    throw new LogwayError(400, 'INVALID_GROUP_ID', `Group id '${groupId.slice(0, 300)}' is illegal: use 1 to 255 of [a-zA-Z0-9._-].`, {
      group: groupId.slice(0, 300),
    });
  }
}

export const compressionTypes = ['producer', 'none', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export const cleanupPolicies = ['delete', 'compact', 'compact,delete', 'delete,compact'] as const;
export const timestampTypes = ['CreateTime', 'LogAppendTime'] as const;

/** Kafka configs travel as strings; JSON users send numbers. Both are accepted. */
const longConfig = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.union([z.number(), z.string().regex(/^-?\d+$/).transform(Number)]).pipe(z.number().int().min(min).max(max));

export const topicConfigSchemas = {
  'retention.ms': longConfig(-1),
  'retention.bytes': longConfig(-1),
  // A record must fit in one produce request, which Lambda caps at 6 MB including JSON overhead.
  'max.message.bytes': longConfig(0, 5 * 1024 * 1024),
  'cleanup.policy': z.enum(cleanupPolicies),
  'compression.type': z.enum(compressionTypes),
  'message.timestamp.type': z.enum(timestampTypes),
} as const;

export type TopicConfigName = keyof typeof topicConfigSchemas;
export type TopicConfig = { [K in TopicConfigName]: z.output<(typeof topicConfigSchemas)[K]> };
export type TopicConfigOverrides = Partial<TopicConfig>;

export const topicConfigNames = Object.keys(topicConfigSchemas) as TopicConfigName[];

/** Validates config overrides; unknown names and bad values are 400 INVALID_CONFIG. */
export function validateTopicConfig(input: unknown): TopicConfigOverrides {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new LogwayError(400, 'INVALID_CONFIG', 'config must be an object of Kafka topic configs.', { field: 'config' });
  }
  const overrides: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input)) {
    const schema = topicConfigSchemas[name as TopicConfigName];
    if (!schema) {
      throw new LogwayError(
        400,
        'INVALID_CONFIG',
        `Unknown topic config '${name}'. Supported: ${topicConfigNames.join(', ')}.`,
        { field: `config.${name}` },
      );
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new LogwayError(
        400,
        'INVALID_CONFIG',
        `Invalid value ${JSON.stringify(value)} for topic config '${name}': ${parsed.error.issues[0]?.message ?? 'invalid'}.`,
        { field: `config.${name}` },
      );
    }
    overrides[name] = parsed.data;
  }
  return overrides as TopicConfigOverrides;
}

/** The effective config: defaults (optionally overridden per deployment) under the topic's overrides. */
export function effectiveTopicConfig(overrides: TopicConfigOverrides, env: NodeJS.ProcessEnv = process.env): TopicConfig {
  const defaults: TopicConfig = { ...topicConfigDefaults } as TopicConfig;
  if (env.LOGWAY_DEFAULT_RETENTION_MS) defaults['retention.ms'] = Number(env.LOGWAY_DEFAULT_RETENTION_MS);
  return { ...defaults, ...overrides };
}

export function validatePartitionCount(partitions: unknown, maxPartitions: number): number {
  if (typeof partitions !== 'number' || !Number.isInteger(partitions) || partitions < 1 || partitions > maxPartitions) {
    throw new LogwayError(
      400,
      'INVALID_PARTITIONS',
      `partitions must be an integer from 1 to ${maxPartitions}; got ${JSON.stringify(partitions)}.`,
      { field: 'partitions' },
    );
  }
  return partitions;
}
