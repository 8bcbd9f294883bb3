/**
 * Topic metadata cached per process for the produce path, for a few seconds. Acting on a stale
 * entry is safe by construction, not by the TTL:
 * - a deleted topic: appends to its partitions are refused (their items are marked deleted);
 * - a config change: appends are conditioned on the config version each partition was fenced
 *   with, so a stale entry's append fails and the caller reads the topic again;
 * - a request is refused (e.g. RECORD_TOO_LARGE) only after a fresh read confirms it;
 * - a request naming a partition the cached topic lacks re-reads it first.
 * Only partitioning of keyed records follows the cached partition count until the TTL ends, as
 * a Kafka producer's does until its next metadata refresh.
 */
import { BoundedCache } from '../runtime/bounded-cache';
import { requireTopic, type TopicMetadata } from './store';

export const topicCacheTtlMs = 5_000;

const cached = new BoundedCache<string, TopicMetadata>({ maxEntries: 10_000, ttlMs: topicCacheTtlMs });

/** `partitionsNeeded`: a request naming a partition the cached topic lacks re-reads it first. */
export async function cachedTopic(name: string, partitionsNeeded = 0): Promise<TopicMetadata> {
  const hit = cached.get(name);
  if (hit && hit.partitions >= partitionsNeeded) return hit;
  const topic = await requireTopic(name);
  cached.set(name, topic);
  return topic;
}

export function forgetTopic(name: string): void {
  cached.delete(name);
}
