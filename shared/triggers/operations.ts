/**
 * The trigger operations of the HTTP API: validation, then the store. Handlers in functions/
 * are one call each.
 */
import { log, type PartitionHead } from '../log/service';
import { randomUUID } from 'node:crypto';
import { concurrentChange, invalidRequest, triggerEnabled, unknownPartition, unknownTopic, unknownTrigger } from '../errors';
import { parseRequest } from '../api/validation';
import { getTopic, type TopicMetadata } from '../topics/store';
import {
  checkImmutable,
  putTriggerSchema,
  resetTriggerSchema,
  specFromRequest,
  triggerView,
  validateTriggerName,
  type StartingPosition,
  type TriggerDefinition,
  type TriggerView,
} from './model';
import {
  deleteTrigger,
  getDefinition,
  initialPosition,
  listDefinitions,
  putDefinition,
  readPartitionStates,
  resetPartition,
  type PartitionState,
  type TriggerError,
} from './store';
import type { PartitionStatus, ResetTriggerResponse, TriggerDescription } from './json';

export type { PartitionStatus, ResetTriggerResponse, TriggerDescription };

async function startPositions(topic: TopicMetadata, start: StartingPosition): Promise<number[]> {
  const numbers = Array.from({ length: topic.partitions }, (_, i) => i);
  if (start === 'TRIM_HORIZON') return numbers.map(() => 0);
  const heads = await log.readHeads(topic.topicId, numbers);
  if (start === 'LATEST') return numbers.map((p) => heads.get(p)!.highWatermark);
  return Promise.all(
    numbers.map(async (p) => {
      const head = heads.get(p)!;
      return (await log.offsetForTimestamp(topic.topicId, p, start.timestamp, head)) ?? head.highWatermark;
    }),
  );
}

/** PUT /v1/triggers/{name}: creates (201) or replaces (200) the definition. */
export async function putTriggerOperation(name: string, body: unknown): Promise<{ created: boolean; trigger: TriggerView }> {
  validateTriggerName(name);
  const request = parseRequest(putTriggerSchema(), body ?? {}, 'body');
  if (request.onFailure?.topic === request.topic) {
    throw invalidRequest("onFailure.topic must not be the trigger's own topic: failed records would be delivered again.", {
      field: 'onFailure.topic',
    });
  }
  if (request.onFailure && !(await getTopic(request.onFailure.topic))) throw unknownTopic(request.onFailure.topic);
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing = await getDefinition(name);
    const now = Date.now();
    let next: TriggerDefinition;
    if (existing) {
      checkImmutable(existing, request);
      next = {
        ...specFromRequest(request, existing),
        name,
        topicId: existing.topicId,
        initialPositions: existing.initialPositions,
        incarnation: existing.incarnation,
        createdAt: existing.createdAt,
        lastModified: now,
        version: existing.version + 1,
      };
    } else {
      const topic = await getTopic(request.topic);
      if (!topic) throw unknownTopic(request.topic);
      const spec = specFromRequest(request);
      next = {
        ...spec,
        name,
        topicId: topic.topicId,
        initialPositions: await startPositions(topic, spec.startingPosition),
        incarnation: randomUUID(),
        createdAt: now,
        lastModified: now,
        version: 1,
      };
    }
    if (await putDefinition(next, existing)) return { created: !existing, trigger: triggerView(next) };
  }
  throw concurrentChange(`Trigger '${name}' is being changed by other requests at the same time; retry.`);
}

export async function listTriggersOperation(): Promise<{ triggers: TriggerView[] }> {
  return { triggers: (await listDefinitions()).map(triggerView) };
}

async function requireDefinition(name: string): Promise<TriggerDefinition> {
  validateTriggerName(name);
  const definition = await getDefinition(name);
  if (!definition) throw unknownTrigger(name);
  return definition;
}

/** The trigger's topic, when it is still the one the trigger was created on. */
async function liveTopic(definition: TriggerDefinition): Promise<TopicMetadata | undefined> {
  const topic = await getTopic(definition.topic);
  return topic?.topicId === definition.topicId ? topic : undefined;
}

export const topicGoneError = (definition: TriggerDefinition, now: number): TriggerError => ({
  code: 'UNKNOWN_TOPIC_OR_PARTITION',
  message: `Topic '${definition.topic}' was deleted after this trigger was created; nothing is delivered. Delete the trigger (and create it again on the new topic if there is one).`,
  at: now,
});

export async function describeTriggerOperation(name: string): Promise<TriggerDescription> {
  const definition = await requireDefinition(name);
  const [topic, states] = await Promise.all([liveTopic(definition), readPartitionStates(definition)]);
  const count = topic ? topic.partitions : definition.initialPositions.length;
  const numbers = Array.from({ length: count }, (_, i) => i);
  const heads: Map<number, PartitionHead> | undefined = topic ? await log.readHeads(topic.topicId, numbers) : undefined;
  const now = Date.now();
  const partitions = numbers.map((partition): PartitionStatus => {
    const state: PartitionState | undefined = states.get(partition);
    const head = heads?.get(partition);
    const stored = state?.position ?? initialPosition(definition, partition);
    // Records retention removed are skipped: delivery resumes at the log start.
    const position = head ? Math.min(Math.max(stored, head.logStartOffset), head.highWatermark) : stored;
    const lastError = topic ? state?.lastError : topicGoneError(definition, now);
    return {
      partition,
      position,
      highWatermark: head?.highWatermark ?? null,
      lag: head ? head.highWatermark - position : null,
      attempts: state?.attempts ?? 0,
      ...(lastError ? { lastError } : {}),
    };
  });
  return { ...triggerView(definition), partitions };
}

export async function deleteTriggerOperation(name: string): Promise<void> {
  validateTriggerName(name);
  if (!(await deleteTrigger(name))) throw unknownTrigger(name);
}

export async function resetTriggerOperation(name: string, body: unknown): Promise<ResetTriggerResponse> {
  const request = parseRequest(resetTriggerSchema(), body ?? {}, 'body');
  const definition = await requireDefinition(name);
  if (definition.enabled) throw triggerEnabled(name);
  const topic = await liveTopic(definition);
  if (!topic) throw unknownTopic(definition.topic);
  if (request.partition !== undefined && request.partition >= topic.partitions) {
    throw unknownPartition(topic.name, request.partition, topic.partitions);
  }
  const numbers = request.partition !== undefined ? [request.partition] : Array.from({ length: topic.partitions }, (_, i) => i);
  const heads = await log.readHeads(topic.topicId, numbers);
  const to = request.to;
  const positions = await Promise.all(
    numbers.map(async (partition) => {
      const head = heads.get(partition)!;
      let position: number;
      if (to === 'earliest') position = head.logStartOffset;
      else if (to === 'latest') position = head.highWatermark;
      else if ('timestamp' in to)
        position = (await log.offsetForTimestamp(topic.topicId, partition, to.timestamp, head)) ?? head.highWatermark;
      else position = Math.min(Math.max(to.offset, head.logStartOffset), head.highWatermark);
      return { partition, position };
    }),
  );
  // Checked again just before writing: an enable racing the reset loses nothing but the reset.
  const current = await getDefinition(name);
  if (!current || current.incarnation !== definition.incarnation) throw unknownTrigger(name);
  if (current.enabled) throw triggerEnabled(name);
  for (const { partition, position } of positions) await resetPartition(definition, partition, position);
  return { name, partitions: positions };
}
