/**
 * Per-user permissions of the Kafka gateway, and the one check every handler asks: may this
 * principal do `operation` on this topic, group or the cluster? Pure; the handlers turn a "no"
 * into Kafka's TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED or
 * CLUSTER_AUTHORIZATION_FAILED (docs/kafka.md "Authorization" maps every API).
 *
 * A grant names a resource exactly (`name`) or by prefix (`prefix`; '' matches every name), with
 * operations. As in Kafka, stronger operations imply weaker ones:
 *   topics: admin ⊇ {produce, consume} ⊇ describe      groups: admin ⊇ consume
 *   cluster: describe (all groups in ListGroups, broker configs)
 * Nothing is allowed unless a grant says so.
 */
import { z } from 'zod';
import { KafkaError } from './errors';

export const topicOperations = ['describe', 'produce', 'consume', 'admin'] as const;
export const groupOperations = ['consume', 'admin'] as const;
export const clusterOperations = ['describe'] as const;
export type TopicOperation = (typeof topicOperations)[number];
export type GroupOperation = (typeof groupOperations)[number];
export type ClusterOperation = (typeof clusterOperations)[number];

const grant = <T extends readonly [string, ...string[]]>(operations: T) =>
  z.union([
    z.strictObject({ name: z.string().min(1), operations: z.array(z.enum(operations)).min(1) }),
    z.strictObject({ prefix: z.string(), operations: z.array(z.enum(operations)).min(1) }),
  ]);

export const kafkaPermissionsSchema = z.strictObject({
  topics: z.array(grant(topicOperations)).default([]),
  groups: z.array(grant(groupOperations)).default([]),
  cluster: z.array(z.enum(clusterOperations)).default([]),
});

export type KafkaPermissions = z.infer<typeof kafkaPermissionsSchema>;
type Grant<Op> = { name: string; operations: Op[] } | { prefix: string; operations: Op[] };

/** Who a connection authenticated as; `undefined` on a listener without SASL (everything is allowed). */
export interface Principal {
  readonly username: string;
  /** The user's permissions now (re-read from the store while the connection lives, so a revocation applies). */
  permissions(): Promise<KafkaPermissions | undefined>;
}

const topicImplies: Record<TopicOperation, readonly TopicOperation[]> = {
  describe: ['describe'],
  produce: ['produce', 'describe'],
  consume: ['consume', 'describe'],
  admin: ['admin', 'produce', 'consume', 'describe'],
};
const groupImplies: Record<GroupOperation, readonly GroupOperation[]> = { consume: ['consume'], admin: ['admin', 'consume'] };

function matches<Op extends string>(grants: readonly Grant<Op>[], name: string, wanted: Op, implies: Record<Op, readonly Op[]>): boolean {
  return grants.some(
    (g) => ('name' in g ? g.name === name : name.startsWith(g.prefix)) && g.operations.some((op) => implies[op].includes(wanted)),
  );
}

export function canTopic(permissions: KafkaPermissions | undefined, topic: string, operation: TopicOperation): boolean {
  return permissions !== undefined && matches(permissions.topics, topic, operation, topicImplies);
}

export function canGroup(permissions: KafkaPermissions | undefined, group: string, operation: GroupOperation): boolean {
  return permissions !== undefined && matches(permissions.groups, group, operation, groupImplies);
}

export function canCluster(permissions: KafkaPermissions | undefined, operation: ClusterOperation): boolean {
  return permissions?.cluster.includes(operation) ?? false;
}

/** Whether any grant could let the user produce: Kafka 2.8+ lets idempotent producers in with WRITE on any topic. */
export function canProduceAnywhere(permissions: KafkaPermissions | undefined): boolean {
  return permissions?.topics.some((g) => g.operations.some((op) => topicImplies[op].includes('produce'))) ?? false;
}

/**
 * The checks a handler runs: resolved once per request from the connection's principal. A
 * listener without SASL has no principal and `open` allows everything (the local default).
 */
export interface Access {
  topic(name: string, operation: TopicOperation): boolean;
  group(name: string, operation: GroupOperation): boolean;
  cluster(operation: ClusterOperation): boolean;
  produceAnywhere(): boolean;
}

export const openAccess: Access = { topic: () => true, group: () => true, cluster: () => true, produceAnywhere: () => true };

export function accessOf(permissions: KafkaPermissions | undefined): Access {
  return {
    topic: (name, operation) => canTopic(permissions, name, operation),
    group: (name, operation) => canGroup(permissions, name, operation),
    cluster: (operation) => canCluster(permissions, operation),
    produceAnywhere: () => canProduceAnywhere(permissions),
  };
}

// ---- the errors of a refusal (checked before existence, so a refusal reveals nothing about the resource) ----

export const topicDenied = (name: string) =>
  new KafkaError('TOPIC_AUTHORIZATION_FAILED', `Not authorized to access topic '${name}': the user needs a grant on it.`);

export const groupDenied = (name: string) =>
  new KafkaError('GROUP_AUTHORIZATION_FAILED', `Not authorized to access group '${name}': the user needs a grant on it.`);

export const clusterDenied = (what: string) =>
  new KafkaError('CLUSTER_AUTHORIZATION_FAILED', `Not authorized to ${what}: the user needs a cluster grant.`);
