/**
 * Triggers in DynamoDB (the triggers table of shared/storage/tables.ts): per trigger a definition
 * item ('#def') and one state item per partition ('p#<n>') holding its position, retry state,
 * last error and delivery lease.
 *
 * The lease makes delivery of a partition exclusive: acquiring it is a conditional write that
 * succeeds only when no unexpired lease exists, and bumps a fencing epoch; every later write of
 * the holder (position commits, renewals, release) is conditioned on its owner token and epoch,
 * so a dispatcher that lost its lease (it stalled past the expiry, or a reset fenced it) can
 * change nothing. docs/triggers.md describes the design.
 */
import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, tableName } from '../runtime/aws';
import { batchWriteAll } from '../runtime/batches';
import { queryItems, scanItems } from '../runtime/paging';
import { wroteThisItem } from '../runtime/lost-response';
import { tables } from '../storage/tables';
import type { TriggerDefinition } from './model';

export const definitionItem = '#def';
export const partitionItem = (partition: number) => `p#${String(partition).padStart(6, '0')}`;

import type { TriggerError } from './json';

export type { TriggerError };

/** Records whose retries or age ran out while the trigger had no onFailure topic: the partition waits on them. */
export interface BlockedRange {
  readonly from: number;
  /** Inclusive. */
  readonly to: number;
  readonly code: string;
  readonly message: string;
}

export interface PartitionState {
  readonly name: string;
  readonly item: string;
  readonly partition: number;
  readonly incarnation: string;
  /** The next offset to deliver. */
  readonly position: number;
  /** Failed invocations of the batch at `position` (throttles are not counted). */
  readonly attempts: number;
  /** Do not invoke again before this time (ms): retry backoff. */
  readonly retryAt?: number;
  readonly lastError?: TriggerError;
  readonly blocked?: BlockedRange;
  /** After a function error with bisectBatchOnFunctionError: batches hold at most `limit` records until `until`. */
  readonly bisect?: { readonly limit: number; readonly until: number };
  readonly leaseOwner?: string;
  readonly leaseEpoch: number;
  readonly leaseExpiresAt: number;
  readonly deliveredRecords?: number;
  readonly lastInvokedAt?: number;
}

export interface Lease {
  readonly name: string;
  readonly partition: number;
  readonly owner: string;
  readonly epoch: number;
  readonly expiresAt: number;
}

const table = () => tableName('triggers');
const byTopicIndex = tables.triggers.globalIndexes[0].indexName;

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

// ---- definitions ----

export async function getDefinition(name: string): Promise<TriggerDefinition | undefined> {
  const { Item } = await dynamo().send(new GetCommand({ TableName: table(), Key: { name, item: definitionItem }, ConsistentRead: true }));
  return Item ? definitionOf(Item) : undefined;
}

/** A definition item without its sort key. */
function definitionOf(item: Record<string, unknown>): TriggerDefinition {
  const { item: _key, ...definition } = item;
  return definition as unknown as TriggerDefinition;
}

/** Writes a definition: a new one (no item may exist) or a replacement conditioned on the version read. */
export async function putDefinition(definition: TriggerDefinition, read: TriggerDefinition | undefined): Promise<boolean> {
  const item = { ...definition, item: definitionItem };
  try {
    await dynamo().send(
      new PutCommand({
        TableName: table(),
        Item: item,
        ...(read
          ? {
              ConditionExpression: '#version = :version AND incarnation = :incarnation',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':version': read.version, ':incarnation': read.incarnation },
            }
          : { ConditionExpression: 'attribute_not_exists(#name)', ExpressionAttributeNames: { '#name': 'name' } }),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return true;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    // The SDK retries a put whose response was lost; the item in the way may be this very put.
    return wroteThisItem(error, item);
  }
}

export async function listDefinitions(): Promise<TriggerDefinition[]> {
  const definitions: TriggerDefinition[] = [];
  for await (const item of scanItems({
    TableName: table(),
    FilterExpression: '#item = :def',
    ExpressionAttributeNames: { '#item': 'item' },
    ExpressionAttributeValues: { ':def': definitionItem },
    ConsistentRead: true,
  })) {
    definitions.push(definitionOf(item));
  }
  return definitions.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Names of the triggers on a topic (by topic id), from the sparse index: eventually consistent. */
export async function triggerNamesOfTopic(topicId: string): Promise<string[]> {
  const names: string[] = [];
  for await (const item of queryItems({
    TableName: table(),
    IndexName: byTopicIndex,
    KeyConditionExpression: 'topicId = :topicId',
    ExpressionAttributeValues: { ':topicId': topicId },
  })) {
    names.push(item.name as string);
  }
  return names;
}

/** Deletes a trigger's definition and every state item; false when it did not exist. */
export async function deleteTrigger(name: string): Promise<boolean> {
  try {
    await dynamo().send(
      new DeleteCommand({
        TableName: table(),
        Key: { name, item: definitionItem },
        ConditionExpression: 'attribute_exists(#name)',
        ExpressionAttributeNames: { '#name': 'name' },
      }),
    );
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
  const keys: { name: string; item: string }[] = [];
  for await (const item of queryItems({
    TableName: table(),
    KeyConditionExpression: '#name = :name',
    ExpressionAttributeNames: { '#name': 'name', '#item': 'item' },
    ExpressionAttributeValues: { ':name': name },
    ProjectionExpression: '#name, #item',
  })) {
    keys.push({ name, item: item.item as string });
  }
  await batchWriteAll(
    table(),
    keys.map((Key) => ({ DeleteRequest: { Key } })),
  );
  return true;
}

// ---- wake-ups ----

export const wakeItem = (partition: number) => `w#${String(partition).padStart(6, '0')}`;

/** The partition of a wake-up item's key, or undefined for any other item. */
export function wakePartition(item: string): number | undefined {
  return item.startsWith('w#') ? Number(item.slice(2)) : undefined;
}

/**
 * Writes one wake-up item per trigger partition: the triggers table's stream, filtered on these
 * keys, invokes the dispatcher with them. This is how the sweep hands work on with DynamoDB
 * access alone.
 */
export async function writeWakeItems(work: readonly { trigger: string; partition: number }[], now: number = Date.now()): Promise<void> {
  await batchWriteAll(
    table(),
    work.map((w) => ({ PutRequest: { Item: { name: w.trigger, item: wakeItem(w.partition), partition: w.partition, at: now } } })),
  );
}

// ---- partition state ----

function stateOf(item: Record<string, unknown>): PartitionState {
  return item as unknown as PartitionState;
}

/** Every partition's state item of the trigger's current incarnation, by partition. */
export async function readPartitionStates(definition: TriggerDefinition): Promise<Map<number, PartitionState>> {
  const states = new Map<number, PartitionState>();
  for await (const item of queryItems({
    TableName: table(),
    KeyConditionExpression: '#name = :name AND begins_with(#item, :prefix)',
    ExpressionAttributeNames: { '#name': 'name', '#item': 'item' },
    ExpressionAttributeValues: { ':name': definition.name, ':prefix': 'p#' },
    ConsistentRead: true,
  })) {
    const state = stateOf(item);
    if (state.incarnation === definition.incarnation) states.set(state.partition, state);
  }
  return states;
}

export async function readPartitionState(definition: TriggerDefinition, partition: number): Promise<PartitionState | undefined> {
  const { Item } = await dynamo().send(
    new GetCommand({ TableName: table(), Key: { name: definition.name, item: partitionItem(partition) }, ConsistentRead: true }),
  );
  const state = Item ? stateOf(Item) : undefined;
  return state?.incarnation === definition.incarnation ? state : undefined;
}

/** Where a partition without a state item starts: its resolved starting position, or the beginning for a partition added later. */
export function initialPosition(definition: TriggerDefinition, partition: number): number {
  return definition.initialPositions[partition] ?? 0;
}

export function newLeaseOwner(dispatcherId: string): string {
  return `${dispatcherId}/${randomUUID()}`;
}

/**
 * Takes the partition's lease when nobody holds an unexpired one: the state item (created at the
 * initial position if needed) with a bumped fencing epoch, or undefined when another holds it.
 */
export async function acquireLease(
  definition: TriggerDefinition,
  partition: number,
  owner: string,
  leaseMs: number,
  now: number = Date.now(),
): Promise<{ lease: Lease; state: PartitionState } | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const { Attributes } = await dynamo().send(
        new UpdateCommand({
          TableName: table(),
          Key: { name: definition.name, item: partitionItem(partition) },
          UpdateExpression:
            'SET leaseOwner = :owner, leaseExpiresAt = :expires, leaseEpoch = if_not_exists(leaseEpoch, :zero) + :one, ' +
            'incarnation = :incarnation, #partition = :partition, #position = if_not_exists(#position, :initial), attempts = if_not_exists(attempts, :zero)',
          ConditionExpression:
            '(attribute_not_exists(leaseExpiresAt) OR leaseExpiresAt < :now) AND (attribute_not_exists(incarnation) OR incarnation = :incarnation)',
          ExpressionAttributeNames: { '#partition': 'partition', '#position': 'position' },
          ExpressionAttributeValues: {
            ':owner': owner,
            ':expires': now + leaseMs,
            ':zero': 0,
            ':one': 1,
            ':incarnation': definition.incarnation,
            ':partition': partition,
            ':initial': initialPosition(definition, partition),
            ':now': now,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const state = stateOf(Attributes!);
      return { lease: { name: definition.name, partition, owner, epoch: state.leaseEpoch, expiresAt: state.leaseExpiresAt }, state };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Held by someone else, or left by an earlier trigger of this name (deleted mid-delivery).
      const { Item } = await dynamo().send(
        new GetCommand({ TableName: table(), Key: { name: definition.name, item: partitionItem(partition) }, ConsistentRead: true }),
      );
      if (!Item || Item.incarnation === definition.incarnation) return undefined;
      await dynamo()
        .send(
          new DeleteCommand({
            TableName: table(),
            Key: { name: definition.name, item: partitionItem(partition) },
            ConditionExpression: 'incarnation = :old',
            ExpressionAttributeValues: { ':old': Item.incarnation },
          }),
        )
        .catch((e: unknown) => {
          if (!isConditionFailure(e)) throw e;
        });
    }
  }
  return undefined;
}

export interface StateChange {
  readonly set?: Partial<Omit<PartitionState, 'name' | 'item' | 'partition' | 'incarnation' | 'leaseOwner' | 'leaseEpoch'>>;
  readonly remove?: readonly ('retryAt' | 'lastError' | 'blocked' | 'bisect')[];
}

/**
 * Writes the holder's change (position commit, retry state, error) and renews the lease, on
 * condition that the lease is still the holder's: the new state, or undefined when fenced.
 */
export async function commitState(
  lease: Lease,
  change: StateChange,
  leaseMs: number,
  now: number = Date.now(),
): Promise<PartitionState | undefined> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':owner': lease.owner, ':epoch': lease.epoch, ':expires': now + leaseMs };
  const sets = ['leaseExpiresAt = :expires'];
  for (const [field, value] of Object.entries(change.set ?? {})) {
    if (value === undefined) continue;
    names[`#${field}`] = field;
    values[`:${field}`] = value;
    sets.push(`#${field} = :${field}`);
  }
  const removes = (change.remove ?? []).filter((field) => !(field in (change.set ?? {})));
  for (const field of removes) names[`#${field}`] = field;
  try {
    const { Attributes } = await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: { name: lease.name, item: partitionItem(lease.partition) },
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.map((f) => `#${f}`).join(', ')}` : ''}`,
        ConditionExpression: 'leaseOwner = :owner AND leaseEpoch = :epoch',
        ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return stateOf(Attributes!);
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

/** Gives the lease up (when still held), so the next wake-up can deliver at once. */
export async function releaseLease(lease: Lease): Promise<void> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: { name: lease.name, item: partitionItem(lease.partition) },
        UpdateExpression: 'SET leaseExpiresAt = :zero REMOVE leaseOwner',
        ConditionExpression: 'leaseOwner = :owner AND leaseEpoch = :epoch',
        ExpressionAttributeValues: { ':owner': lease.owner, ':epoch': lease.epoch, ':zero': 0 },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

/**
 * Moves a partition's position (an operator's reset): clears its retry state and errors, and
 * fences any holder of its lease by bumping the epoch.
 */
export async function resetPartition(definition: TriggerDefinition, partition: number, position: number): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: table(),
      Key: { name: definition.name, item: partitionItem(partition) },
      UpdateExpression:
        'SET incarnation = :incarnation, #partition = :partition, #position = :position, attempts = :zero, ' +
        'leaseEpoch = if_not_exists(leaseEpoch, :zero) + :one, leaseExpiresAt = :zero ' +
        'REMOVE leaseOwner, retryAt, lastError, blocked, bisect',
      ExpressionAttributeNames: { '#partition': 'partition', '#position': 'position' },
      ExpressionAttributeValues: {
        ':incarnation': definition.incarnation,
        ':partition': partition,
        ':position': position,
        ':zero': 0,
        ':one': 1,
      },
    }),
  );
}
