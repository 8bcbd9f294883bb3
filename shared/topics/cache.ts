/**
 * Topic metadata cached per process for the produce path, for a few seconds. A deleted topic is
 * safe to have cached: appends to its partitions are refused, after which the caller forgets it
 * and reads again. Other changes (more partitions, config) reach a producer within
 * `topicCacheTtlMs`, as a Kafka producer picks them up on its next metadata refresh.
 */
import { requireTopic, type TopicMetadata } from './store';

export const topicCacheTtlMs = 5_000;

const cached = new Map<string, { topic: TopicMetadata; until: number }>();

/** `partitionsNeeded`: a request naming a partition the cached topic lacks re-reads it first. */
export async function cachedTopic(name: string, partitionsNeeded = 0): Promise<TopicMetadata> {
  const hit = cached.get(name);
  if (hit && hit.until > Date.now() && hit.topic.partitions >= partitionsNeeded) return hit.topic;
  const topic = await requireTopic(name);
  if (cached.size > 10_000) cached.clear();
  cached.set(name, { topic, until: Date.now() + topicCacheTtlMs });
  return topic;
}

export function forgetTopic(name: string): void {
  cached.delete(name);
}
