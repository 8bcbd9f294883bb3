/**
 * Topics as Kafka defines them: naming rules and the configs Logway honours. Pure logic; the
 * DynamoDB side is in store.ts.
 */
import { z } from 'zod';
import { topicConfigDefaults, topicConfigNames, topicConfigSchemas, type TopicConfig, type TopicConfigOverrides } from './configs';
import { invalidGroupId } from '../errors';

export const topicNamePattern = /^[a-zA-Z0-9._-]{1,249}$/;
export const groupIdPattern = /^[a-zA-Z0-9._-]{1,255}$/;

export function isLegalTopicName(name: string): boolean {
  return topicNamePattern.test(name) && name !== '.' && name !== '..';
}

export function validateGroupId(groupId: string): void {
  if (!groupIdPattern.test(groupId)) {
    throw invalidGroupId(groupId);
  }
}

/** Config overrides in a request: only Kafka configs Logway honours, each validated. */
export const topicConfigOverridesSchema = z
  .strictObject(topicConfigSchemas, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown topic config ${issue.keys.map((k) => `'${k}'`).join(', ')}; supported: ${topicConfigNames.join(', ')}`
        : undefined,
  })
  .partial();

export const topicNameSchema = z.string().refine(isLegalTopicName, "use 1 to 249 of [a-zA-Z0-9._-], and not '.' or '..'");

export const partitionCountSchema = (maxPartitions: number) =>
  z.number().int('partitions must be an integer').min(1, 'a topic needs at least 1 partition').max(maxPartitions);

/** The effective config: defaults (optionally overridden per deployment) under the topic's overrides. */
export function effectiveTopicConfig(overrides: TopicConfigOverrides, env: NodeJS.ProcessEnv = process.env): TopicConfig {
  const defaults: TopicConfig = { ...topicConfigDefaults };
  if (env.LOGWAY_DEFAULT_RETENTION_MS) defaults['retention.ms'] = Number(env.LOGWAY_DEFAULT_RETENTION_MS);
  return { ...defaults, ...overrides };
}
