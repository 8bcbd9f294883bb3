/**
 * Checks where records sent without a partition landed (docs/api.md: by murmur2 of the key on
 * the topic's partition count, Kafka's default partitioner) while the topic's partitions grow.
 * The count a produce used is one in force at some instant of the produce: at least the count of
 * the last growth acknowledged before it was sent, at most the target of the last growth sent
 * before it was answered (growth of unknown outcome counts as possibly done from its sending on).
 * A replayed answer (an Idempotency-Key retry) reports where an earlier attempt of the same write
 * placed the records, so its window opens when the write's first attempt was sent.
 * Pure: a history in, anomalies out. Nothing lost is the log checker's (lost-write, gap).
 */
import { partitionForKey } from '../../shared/records/partitioner';
import type { Op } from '../history';
import type { Anomaly, CreateTopicValue, GrowPartitionsValue, ProduceResult, ProduceValue } from './model';

export interface PartitioningStats {
  /** Records placed by their key that were acknowledged (and so judged). */
  keyedRecordsJudged: number;
  /** Growths acknowledged. */
  growths: number;
  /** Acknowledged keyed records placed on a count other than the initial one. */
  placedAfterGrowth: number;
}

export function checkPartitioning(ops: readonly Op[]): { anomalies: Anomaly[]; stats: PartitioningStats } {
  const anomalies: Anomaly[] = [];
  const stats: PartitioningStats = { keyedRecordsJudged: 0, growths: 0, placedAfterGrowth: 0 };
  const grows = ops.filter((op) => op.f === 'grow-partitions' && op.type !== 'fail') as Op<GrowPartitionsValue>[];
  const initial = new Map<string, number>();
  for (const op of ops) {
    if (op.f === 'create-topic' && op.type === 'ok')
      initial.set((op.value as CreateTopicValue).name, (op.value as CreateTopicValue).partitions);
  }
  stats.growths = grows.filter((g) => g.type === 'ok').length;
  // When each write's first attempt was sent (attempts of a write share its id).
  const firstSent = new Map<string, number>();
  for (const op of ops) {
    if (op.f !== 'produce') continue;
    const { write } = op.value as ProduceValue;
    firstSent.set(write, Math.min(firstSent.get(write) ?? Number.POSITIVE_INFINITY, op.invokeTime));
  }

  for (const op of ops) {
    if (op.f !== 'produce' || op.type !== 'ok') continue;
    const v = op.value as ProduceValue;
    if (!v.records.some((r) => r.partition < 0 && r.key !== null)) continue;
    const start = initial.get(v.topic);
    if (start === undefined) continue;
    const ofTopic = grows.filter((g) => g.value.topic === v.topic);
    const { offsets, replayed } = op.result as ProduceResult;
    const sent = replayed ? (firstSent.get(v.write) ?? op.invokeTime) : op.invokeTime;
    // At least: the last growth acknowledged before the produce (the write, if replayed) was sent.
    const least = Math.max(start, ...ofTopic.filter((g) => g.type === 'ok' && g.completeTime < sent).map((g) => g.value.partitions));
    // At most: the last growth sent before the produce was answered.
    const most = Math.max(start, ...ofTopic.filter((g) => g.invokeTime < op.completeTime).map((g) => g.value.partitions));
    const counts = [...new Set([start, ...ofTopic.map((g) => g.value.partitions)])].filter((n) => n >= least && n <= most);
    v.records.forEach((record, i) => {
      if (record.partition >= 0 || record.key === null) return;
      const landed = offsets[i]?.partition;
      if (landed === undefined) return;
      stats.keyedRecordsJudged++;
      const expected = counts.map((n) => partitionForKey(record.key!, n));
      if (!expected.includes(landed)) {
        anomalies.push({
          type: 'wrong-key-partition',
          guarantee: 1,
          message: `record ${record.id} of ${v.topic}, key '${record.key}', landed in partition ${landed}; murmur2 places it in ${expected.join(' or ')} on the partition count${counts.length > 1 ? 's' : ''} in force during the produce (${counts.join(', ')})`,
          ops: [op.op, ...ofTopic.filter((g) => g.invokeTime < op.completeTime).map((g) => g.op)],
          details: { counts, least, most },
        });
      } else if (landed !== partitionForKey(record.key, start)) stats.placedAfterGrowth++;
    });
  }
  return { anomalies, stats };
}
