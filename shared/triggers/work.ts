/**
 * Which trigger partitions need a dispatcher, and who runs it.
 *
 * - `wake`: appends changed these partitions (the DynamoDB stream of the chunks table says
 *   which, shared/triggers/stream-keys.ts): the enabled triggers on their topics need delivering.
 * - `sweep`: once a minute, every enabled trigger's partitions with records past their position
 *   and no live lease (a lost wake-up, a retry whose backoff outlived its run, a partition
 *   added to a topic).
 * - `runWork`: delivers partitions in parallel until the deadline and hands on what is left.
 *
 * Handing on is pluggable: in Lambda it is an asynchronous invocation of the dispatcher function
 * (so a long catch-up continues in a fresh invocation within Lambda's 15 minutes), and the sweep's
 * wake-ups are items written to the triggers table, whose stream invokes the dispatcher; the local
 * runtime runs both in-process.
 */
import { log } from '../log/service';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { logger } from '../runtime/logger';
import { getTopic, partitionKeyOf, type TopicMetadata } from '../topics/store';
import { dispatchPartition, type DispatchOptions, type DispatchResult } from './dispatcher';
import type { TriggerDefinition } from './model';
import { parsePartitionKey } from './stream-keys';
import { getDefinition, initialPosition, listDefinitions, readPartitionStates, triggerNamesOfTopic, writeWakeItems } from './store';

export interface PartitionWork {
  readonly trigger: string;
  readonly partition: number;
}

export type HandOn = (work: readonly PartitionWork[]) => Promise<void>;

/** Most work items in one asynchronous invocation. */
const workPerInvocation = 50;

let lambdaClient: LambdaClient | undefined;

/** Lambda: invoke the dispatcher function asynchronously with the work (its own name when running in it). */
export const lambdaHandOn: HandOn = async (work) => {
  const functionName = process.env.LOGWAY_TRIGGER_DISPATCHER ?? process.env.AWS_LAMBDA_FUNCTION_NAME;
  if (!functionName) throw new Error('LOGWAY_TRIGGER_DISPATCHER is not set: no dispatcher function to hand trigger work to');
  lambdaClient ??= new LambdaClient({});
  for (let i = 0; i < work.length; i += workPerInvocation) {
    await lambdaClient.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify({ work: work.slice(i, i + workPerInvocation) })),
      }),
    );
  }
};

let handOnImpl: HandOn = lambdaHandOn;
let inProcess = false;

/** Runs hand-ons and sweep wake-ups in this process instead (the local runtime). */
export function setHandOn(handOn: HandOn): void {
  handOnImpl = handOn;
  inProcess = true;
}

/**
 * The sweep's hand-on: wake-up items in the triggers table, whose stream invokes the dispatcher
 * (so the sweep needs no Lambda permission); in the local runtime, the in-process hand-on.
 */
export function requestWake(work: readonly PartitionWork[]): Promise<void> {
  if (work.length === 0) return Promise.resolve();
  return inProcess ? handOnImpl(work) : writeWakeItems(work);
}

export function handOn(work: readonly PartitionWork[]): Promise<void> {
  return work.length === 0 ? Promise.resolve() : handOnImpl(work);
}

/** The work that appends to these partitions (`<topicId>:<partition>` keys; others are ignored) create: each enabled trigger on their topics. */
export async function workForAppends(keys: readonly string[]): Promise<PartitionWork[]> {
  const byTopic = new Map<string, Set<number>>();
  for (const key of keys) {
    const parsed = parsePartitionKey(key);
    if (!parsed) continue;
    let set = byTopic.get(parsed.topicId);
    if (!set) byTopic.set(parsed.topicId, (set = new Set()));
    set.add(parsed.partition);
  }
  const work: PartitionWork[] = [];
  await Promise.all(
    [...byTopic].map(async ([topicId, partitions]) => {
      for (const trigger of await triggerNamesOfTopic(topicId)) {
        for (const partition of partitions) work.push({ trigger, partition });
      }
    }),
  );
  return work;
}

/** Enabled triggers whose partitions have records past their position and nobody delivering them. */
export async function sweepWork(now: number = Date.now()): Promise<PartitionWork[]> {
  const definitions = (await listDefinitions()).filter((d) => d.enabled);
  const topics = new Map<string, TopicMetadata | undefined>();
  await Promise.all([...new Set(definitions.map((d) => d.topic))].map(async (name) => topics.set(name, await getTopic(name))));
  const live = definitions.filter((d) => topics.get(d.topic)?.topicId === d.topicId);
  const keys = live.flatMap((d) =>
    Array.from({ length: topics.get(d.topic)!.partitions }, (_, partition) => ({ topicId: d.topicId, partition })),
  );
  const heads = await log.readHeadsAcrossTopics(keys);
  const work: PartitionWork[] = [];
  await Promise.all(
    live.map(async (definition: TriggerDefinition) => {
      const states = await readPartitionStates(definition);
      const count = topics.get(definition.topic)!.partitions;
      for (let partition = 0; partition < count; partition++) {
        const head = heads.get(partitionKeyOf(definition.topicId, partition));
        const state = states.get(partition);
        const position = state?.position ?? initialPosition(definition, partition);
        if (!head || head.highWatermark <= Math.max(position, head.logStartOffset)) continue;
        if (state && state.leaseExpiresAt > now) continue;
        if (state?.blocked && !definition.onFailure) continue;
        work.push({ trigger: definition.name, partition });
      }
    }),
  );
  return work;
}

export interface RunOptions extends Omit<DispatchOptions, 'deadline'> {
  readonly deadline: number;
  /** Partitions delivered at the same time. */
  readonly concurrency?: number;
}

/** Delivers each work item (deduplicated) until the deadline; returns what must be handed on. */
export async function runWork(
  work: readonly PartitionWork[],
  options: RunOptions,
): Promise<{ results: DispatchResult[]; handOn: PartitionWork[] }> {
  const unique = [...new Map(work.map((w) => [`${w.trigger}\u0000${w.partition}`, w])).values()];
  const results: DispatchResult[] = [];
  const left: PartitionWork[] = [];
  let next = 0;
  const worker = async () => {
    while (next < unique.length) {
      const item = unique[next++]!;
      try {
        const result = await dispatchPartition(item.trigger, item.partition, options);
        results.push(result);
        if (
          result.kind === 'handoff' ||
          (result.kind === 'waiting' && result.retryAt !== undefined && result.retryAt < Date.now() + 10_000)
        ) {
          left.push(item);
        }
      } catch (error) {
        logger.error('Trigger delivery failed', { trigger: item.trigger, partition: item.partition, error: error as Error });
        left.push(item);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 16, unique.length) }, worker));
  return { results, handOn: left };
}

/** Whether a trigger still exists and is enabled (cheap check before handing work on). */
export async function isEnabled(name: string): Promise<boolean> {
  return (await getDefinition(name))?.enabled === true;
}
