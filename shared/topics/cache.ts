/**
 * Topic metadata cached per process for the produce path. Safe because every append checks the
 * topic's id and version inside its transaction: a stale entry costs one cancelled transaction,
 * after which the caller forgets it and reads the topic again.
 */
import { requireTopic, type TopicMetadata } from './store';

const cached = new Map<string, TopicMetadata>();

export async function cachedTopic(name: string): Promise<TopicMetadata> {
  const hit = cached.get(name);
  if (hit) return hit;
  const topic = await requireTopic(name);
  if (cached.size > 10_000) cached.clear();
  cached.set(name, topic);
  return topic;
}

export function forgetTopic(name: string): void {
  cached.delete(name);
}
