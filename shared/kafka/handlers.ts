/**
 * The handler of each API served: decode (done by the server) -> call the core -> encode.
 * Topic administration lives here; the log's APIs in log-handlers.ts, groups in group-handlers.ts.
 */
import { parseRequest } from '../api/validation';
import { clusterDenied, topicDenied, type Access } from './authorization';
import { topicConfigNames, type TopicConfigName } from '../topics/configs';
import { effectiveTopicConfig } from '../topics/model';
import {
  alterTopicOperation,
  alterTopicSchema,
  createTopicOperation,
  createTopicSchema,
  deleteTopicOperation,
  describeTopicOperation,
  listTopicsOperation,
} from '../topics/operations';
import { getTopic, type TopicMetadata } from '../topics/store';
import type { Message } from './codec';
import { KafkaError, kafkaErrorCodes, toKafkaError } from './errors';
import { groupHandlers } from './group-handlers';
import { logHandlers } from './log-handlers';
import type { AppendGroupCommit } from '../log/service';
import { servedVersions } from './schema';

export interface Broker {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly clusterId: string;
  /**
   * This gateway process's group commit of Produce appends, shared by all its connections: a few
   * chunk writes per partition at once, and the batches that queue behind them go out together in
   * the next (docs/kafka.md, "Many producers on one partition"). None: each append writes alone.
   */
  readonly appendGroupCommit?: AppendGroupCommit;
}

export interface RequestContext {
  readonly version: number;
  readonly clientId: string;
  readonly clientHost: string;
  readonly broker: Broker;
  /** What the connection's user may do (everything on a listener without SASL). */
  readonly access: Access;
}

/** A handler returns the response body, or undefined when no response is due. */
export type Handler = (request: Message, context: RequestContext) => Promise<Message | undefined>;

// biome-ignore lint/suspicious/noExplicitAny: request shapes come from the schema table, read field by field
type Any = any;

/** The error fields of a per-item result: code, and the message where the version carries one. */
export function errorFields(error: unknown): { errorCode: number; errorMessage: string | null } {
  const { code, message } = toKafkaError(error);
  return { errorCode: code, errorMessage: message };
}

const ok = { errorCode: 0, errorMessage: null };

async function metadata(request: Any, { broker, version, access }: RequestContext): Promise<Message> {
  const requested: string[] | null =
    request.topics === null || (version === 0 && request.topics.length === 0) ? null : request.topics.map((t: Any) => t.name);
  // "All topics" lists those the user may describe, as Kafka does; a named one is refused.
  const names = requested ?? (await listTopicsOperation()).topics.map((t) => t.name).filter((name) => access.topic(name, 'describe'));
  const topics = await Promise.all(
    names.map(async (name) => {
      if (!access.topic(name, 'describe'))
        return { errorCode: kafkaErrorCodes.TOPIC_AUTHORIZATION_FAILED, name, isInternal: false, partitions: [] };
      const topic = await getTopic(name);
      if (!topic) return { errorCode: kafkaErrorCodes.UNKNOWN_TOPIC_OR_PARTITION, name, isInternal: false, partitions: [] };
      return {
        errorCode: 0,
        name,
        isInternal: false,
        partitions: Array.from({ length: topic.partitions }, (_, partitionIndex) => ({
          errorCode: 0,
          partitionIndex,
          leaderId: broker.nodeId,
          leaderEpoch: -1,
          replicaNodes: [broker.nodeId],
          isrNodes: [broker.nodeId],
          offlineReplicas: [],
        })),
      };
    }),
  );
  return {
    brokers: [{ nodeId: broker.nodeId, host: broker.host, port: broker.port, rack: null }],
    clusterId: broker.clusterId,
    controllerId: broker.nodeId,
    topics,
  };
}

/** Kafka configs travel as strings; the topic model validates them as the HTTP API does. */
function configOverrides(configs: { name: string; value: string | null }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name, value } of configs) if (value !== null) out[name] = value;
  return out;
}

async function createTopics(request: Any, { access }: RequestContext): Promise<Message> {
  const topics = await Promise.all(
    request.topics.map(async (t: Any) => {
      try {
        if (!access.topic(t.name, 'admin')) throw topicDenied(t.name);
        if (t.assignments.length > 0)
          throw new KafkaError('INVALID_REPLICA_ASSIGNMENT', 'Logway places partitions itself: leave replica assignments out.');
        const body = { name: t.name, ...(t.numPartitions > 0 ? { partitions: t.numPartitions } : {}), config: configOverrides(t.configs) };
        if (request.validateOnly)
          parseRequest(createTopicSchema(), body, 'body', {
            name: 'INVALID_TOPIC_EXCEPTION',
            partitions: 'INVALID_PARTITIONS',
            config: 'INVALID_CONFIG',
          });
        else await createTopicOperation(body);
        return { name: t.name, ...ok };
      } catch (error) {
        return { name: t.name, ...errorFields(error) };
      }
    }),
  );
  return { topics };
}

async function deleteTopics(request: Any, { access }: RequestContext): Promise<Message> {
  const responses = await Promise.all(
    request.topicNames.map(async (name: string) => {
      try {
        if (!access.topic(name, 'admin')) throw topicDenied(name);
        await deleteTopicOperation(name);
        return { name, errorCode: 0 };
      } catch (error) {
        return { name, errorCode: errorFields(error).errorCode };
      }
    }),
  );
  return { responses };
}

async function createPartitions(request: Any, { access }: RequestContext): Promise<Message> {
  const results = await Promise.all(
    request.topics.map(async (t: Any) => {
      try {
        if (!access.topic(t.name, 'admin')) throw topicDenied(t.name);
        if (t.assignments !== null)
          throw new KafkaError('INVALID_REPLICA_ASSIGNMENT', 'Logway places partitions itself: leave replica assignments out.');
        if (request.validateOnly) {
          const topic = await describeTopicOperation(t.name);
          if (t.count <= topic.partitions.length)
            throw new KafkaError('INVALID_PARTITIONS', `Topic '${t.name}' already has ${topic.partitions.length} partitions.`);
        } else await alterTopicOperation(t.name, { partitions: t.count });
        return { name: t.name, ...ok };
      } catch (error) {
        return { name: t.name, ...errorFields(error) };
      }
    }),
  );
  return { results };
}

const topicResource = 2;
const brokerResource = 4;
/** Kafka's ConfigSource: a topic override, or the default. */
const dynamicTopicConfig = 1;
const defaultConfig = 5;
/** Kafka's ConfigType ids (ConfigDef.Type): STRING 2, LONG 5, LIST 7. */
const configTypes: Record<TopicConfigName, number> = {
  'retention.ms': 5,
  'retention.bytes': 5,
  'max.message.bytes': 3,
  'cleanup.policy': 7,
  'compression.type': 2,
  'message.timestamp.type': 2,
};

async function describeConfigs(request: Any, { version, access }: RequestContext): Promise<Message> {
  const results = await Promise.all(
    request.resources.map(async (resource: Any) => {
      const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
      if (resource.resourceType === brokerResource) {
        if (!access.cluster('describe')) return { ...base, ...errorFields(clusterDenied('describe broker configs')), configs: [] };
        return { ...base, ...ok, configs: [] };
      }
      if (resource.resourceType === topicResource && !access.topic(resource.resourceName, 'describe'))
        return { ...base, ...errorFields(topicDenied(resource.resourceName)), configs: [] };
      if (resource.resourceType !== topicResource) {
        return {
          ...base,
          errorCode: kafkaErrorCodes.INVALID_REQUEST,
          errorMessage: `Resource type ${resource.resourceType} has no configs here; ask for topics (2).`,
          configs: [],
        };
      }
      let topic: TopicMetadata | undefined;
      try {
        topic = await getTopic(resource.resourceName);
      } catch (error) {
        return { ...base, ...errorFields(error), configs: [] };
      }
      if (!topic)
        return {
          ...base,
          errorCode: kafkaErrorCodes.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: `Topic '${resource.resourceName}' does not exist.`,
          configs: [],
        };
      const effective = effectiveTopicConfig(topic.config);
      const keys: string[] = resource.configurationKeys ?? topicConfigNames;
      const configs = keys
        .filter((name): name is TopicConfigName => (topicConfigNames as string[]).includes(name))
        .map((name) => {
          const overridden = topic.config[name] !== undefined;
          const value = String(effective[name]);
          return {
            name,
            value,
            readOnly: false,
            isDefault: !overridden,
            configSource: overridden ? dynamicTopicConfig : defaultConfig,
            isSensitive: false,
            synonyms:
              request.includeSynonyms && version >= 1 ? [{ name, value, source: overridden ? dynamicTopicConfig : defaultConfig }] : [],
            configType: configTypes[name],
            documentation: null,
          };
        });
      return { ...base, ...ok, configs };
    }),
  );
  return { results };
}

/** AlterConfigs merges the given topic configs into the topic's overrides (Kafka's replaces the whole set; see docs/kafka.md). */
async function alterConfigs(request: Any, { access }: RequestContext): Promise<Message> {
  const responses = await Promise.all(
    request.resources.map(async (resource: Any) => {
      const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
      try {
        if (resource.resourceType !== topicResource)
          throw new KafkaError('INVALID_REQUEST', `Only topic configs (resource type 2) can be altered; got ${resource.resourceType}.`);
        if (!access.topic(resource.resourceName, 'admin')) throw topicDenied(resource.resourceName);
        const config = configOverrides(resource.configs);
        if (request.validateOnly) parseRequest(alterTopicSchema(), { config }, 'body', { config: 'INVALID_CONFIG' });
        else await alterTopicOperation(resource.resourceName, { config });
        return { ...base, ...ok };
      } catch (error) {
        return { ...base, ...errorFields(error) };
      }
    }),
  );
  return { responses };
}

async function apiVersionsHandler(): Promise<Message> {
  return { errorCode: 0, apiKeys: servedVersions() };
}

export const handlers: Readonly<Record<number, Handler>> = {
  3: metadata,
  18: apiVersionsHandler,
  19: createTopics,
  20: deleteTopics,
  32: describeConfigs,
  33: alterConfigs,
  37: createPartitions,
  ...logHandlers,
  ...groupHandlers,
};
