/**
 * The server-side assignor of consumer groups: a balanced, sticky, deterministic assignment of
 * the partitions of the subscribed topics to the members (Kafka's "uniform" assignor of KIP-848).
 *
 * 1. Retain: every member keeps the partitions of its previous target that still exist and that
 *    it still subscribes to (stickiness).
 * 2. Place: the remaining partitions, the ones with the fewest eligible members first, each go to
 *    the eligible member holding the fewest partitions (ties: the smaller member id).
 * 3. Balance: while some member A holds a partition of a topic that a member B subscribes to and
 *    A holds at least two more partitions than B, move one such partition from A to B, always
 *    serving the least-loaded receiver first. Each move lowers the sum of squared counts, so the
 *    loop ends; when it ends no such move exists, which is Kafka's definition of balanced and
 *    implies that members with the same subscription differ by at most one partition.
 *
 * Movement is kept small: step 1 moves nothing, step 2 only places partitions that have no valid
 * owner, and step 3 prefers moving a partition back to its previous owner, then a partition that
 * was placed in this round, and only then one that was retained; a member that gave partitions
 * away is the last choice to receive some (so on a join, every move goes to the joining member).
 *
 * Pure and deterministic: the result depends only on the input, never on iteration order of
 * objects or on randomness. Applying it to its own output changes nothing.
 */

/** Partitions by topic name, e.g. `{ "orders": [0, 3] }`. */
import type { Assignment } from './json';
export type { Assignment };

export interface AssignorInput {
  /** Members by id, with the topics each subscribes to. */
  readonly members: Readonly<Record<string, { readonly subscribedTopics: readonly string[] }>>;
  /** Partition count of every existing topic (a subscribed topic missing here has no partitions). */
  readonly topics: Readonly<Record<string, number>>;
  /** The previous target assignment, by member id. Entries of members that left are ignored. */
  readonly previous?: Readonly<Record<string, Readonly<Record<string, readonly number[]>>>>;
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A topic-partition's id in a group's assignment maps, `topic:partition`; unambiguous because topic
 * names cannot contain ':'. (Not a DynamoDB partition key: that is shared/topics/store.ts' partitionKeyOf.)
 */
export const topicPartitionId = (topic: string, partition: number) => `${topic}:${partition}`;

export function parseTopicPartitionId(key: string): { topic: string; partition: number } {
  const at = key.lastIndexOf(':');
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

interface Slot {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
}

export function assignPartitions(input: AssignorInput): Record<string, Assignment> {
  const memberIds = Object.keys(input.members).sort(byString);
  const subscriptions = new Map<string, Set<string>>();
  const subscribers = new Map<string, string[]>(); // topic -> member ids, sorted
  for (const id of memberIds) {
    const topics = new Set(input.members[id]!.subscribedTopics.filter((t) => (input.topics[t] ?? 0) > 0));
    subscriptions.set(id, topics);
    for (const topic of topics) {
      let list = subscribers.get(topic);
      if (!list) subscribers.set(topic, (list = []));
      list.push(id);
    }
  }

  const owner = new Map<string, string>(); // topic-partition id -> member id
  const owned = new Map<string, Set<string>>(memberIds.map((id) => [id, new Set<string>()]));
  const previousOwner = new Map<string, string>();
  const retained = new Set<string>();
  const give = (key: string, to: string) => {
    const from = owner.get(key);
    if (from !== undefined) owned.get(from)!.delete(key);
    owner.set(key, to);
    owned.get(to)!.add(key);
  };

  // 1. Retain what is still valid.
  for (const id of memberIds) {
    const previous = input.previous?.[id];
    if (!previous) continue;
    const topics = subscriptions.get(id)!;
    for (const topic of Object.keys(previous).sort(byString)) {
      if (!topics.has(topic)) continue;
      const count = input.topics[topic] ?? 0;
      for (const partition of [...previous[topic]!].sort((a, b) => a - b)) {
        const key = topicPartitionId(topic, partition);
        if (!Number.isInteger(partition) || partition < 0 || partition >= count) continue;
        if (!previousOwner.has(key)) previousOwner.set(key, id);
        if (owner.has(key)) continue;
        give(key, id);
        retained.add(key);
      }
    }
  }

  // 2. Place the partitions nobody validly holds.
  const unplaced: Slot[] = [];
  for (const topic of [...subscribers.keys()].sort(byString)) {
    const count = input.topics[topic]!;
    for (let partition = 0; partition < count; partition++) {
      const key = topicPartitionId(topic, partition);
      if (!owner.has(key)) unplaced.push({ topic, partition, key });
    }
  }
  unplaced.sort(
    (a, b) =>
      subscribers.get(a.topic)!.length - subscribers.get(b.topic)!.length || byString(a.topic, b.topic) || a.partition - b.partition,
  );
  for (const slot of unplaced) {
    let best: string | undefined;
    for (const id of subscribers.get(slot.topic)!) {
      if (best === undefined || owned.get(id)!.size < owned.get(best)!.size) best = id;
    }
    give(slot.key, best!);
  }

  // 3. Balance.
  const gave = new Set<string>();
  const received = new Set<string>();
  for (;;) {
    const receivers = [...memberIds].sort(
      (a, b) => owned.get(a)!.size - owned.get(b)!.size || Number(gave.has(a)) - Number(gave.has(b)) || byString(a, b),
    );
    const givers = [...memberIds].sort(
      (a, b) => owned.get(b)!.size - owned.get(a)!.size || Number(received.has(a)) - Number(received.has(b)) || byString(a, b),
    );
    let move: { key: string; from: string; to: string } | undefined;
    search: for (const to of receivers) {
      const topics = subscriptions.get(to)!;
      if (topics.size === 0) continue;
      for (const from of givers) {
        if (owned.get(from)!.size < owned.get(to)!.size + 2) break;
        const key = pickPartition(owned.get(from)!, topics, to, previousOwner, retained);
        if (key !== undefined) {
          move = { key, from, to };
          break search;
        }
      }
    }
    if (!move) break;
    give(move.key, move.to);
    retained.delete(move.key);
    gave.add(move.from);
    received.add(move.to);
  }

  const result: Record<string, Assignment> = {};
  for (const id of memberIds) result[id] = toAssignment(owned.get(id)!);
  return result;
}

/** The partition `from` should hand to `to`: one returning to its previous owner, then a freshly placed one, then the largest. */
function pickPartition(
  keys: Set<string>,
  topics: Set<string>,
  to: string,
  previousOwner: Map<string, string>,
  retained: Set<string>,
): string | undefined {
  let best: string | undefined;
  let bestRank = -1;
  let bestSlot: { topic: string; partition: number } | undefined;
  for (const key of keys) {
    const slot = parseTopicPartitionId(key);
    if (!topics.has(slot.topic)) continue;
    const rank = previousOwner.get(key) === to ? 2 : retained.has(key) ? 0 : 1;
    const later =
      bestSlot === undefined || slot.topic > bestSlot.topic || (slot.topic === bestSlot.topic && slot.partition > bestSlot.partition);
    if (rank > bestRank || (rank === bestRank && later)) {
      best = key;
      bestRank = rank;
      bestSlot = slot;
    }
  }
  return best;
}

/** Partition keys to `{ topic: [sorted partitions] }`, topics in name order. */
export function toAssignment(keys: Iterable<string>): Assignment {
  const byTopic = new Map<string, number[]>();
  for (const key of keys) {
    const { topic, partition } = parseTopicPartitionId(key);
    let list = byTopic.get(topic);
    if (!list) byTopic.set(topic, (list = []));
    list.push(partition);
  }
  const result: Assignment = {};
  for (const topic of [...byTopic.keys()].sort(byString)) result[topic] = byTopic.get(topic)!.sort((a, b) => a - b);
  return result;
}

export function assignmentKeys(assignment: Readonly<Record<string, readonly number[]>> | undefined): Set<string> {
  const keys = new Set<string>();
  for (const [topic, partitions] of Object.entries(assignment ?? {})) {
    for (const partition of partitions) keys.add(topicPartitionId(topic, partition));
  }
  return keys;
}

export function assignmentSize(assignment: Readonly<Record<string, readonly number[]>> | undefined): number {
  let size = 0;
  for (const partitions of Object.values(assignment ?? {})) size += partitions.length;
  return size;
}
