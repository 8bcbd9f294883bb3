/**
 * Checks a topic deleted and created again under its name (`recreate-topic`): each incarnation
 * is a new log. Writes and reads are attributed to an incarnation only when certain: an operation
 * that overlaps a re-creation is left out. Pure: a history in, anomalies out.
 *
 * - `stale-incarnation-read`: a read of a later incarnation returns a record written to an
 *   earlier one (its write was acknowledged before the re-creation began).
 * - `incarnation-inconsistent-offsets`: within one incarnation, one offset holds two records.
 * - `incarnation-lost-write`: a write acknowledged in the last incarnation is not at its offset in
 *   the final read of that partition.
 */
import type { Op } from '../history';
import { type Anomaly, type FetchResult, type FetchValue, type ProduceResult, type ProduceValue, pk } from './model';

export interface IncarnationStats {
  recreations: number;
  /** Acknowledged side-topic writes attributed to one incarnation. */
  attributedWrites: number;
  /** Side-topic reads attributed to one incarnation after the first re-creation. */
  readsOfLaterIncarnations: number;
}

const sample = <T>(items: readonly T[], n = 20): T[] => items.slice(0, n);

export function checkIncarnations(ops: readonly Op[]): { anomalies: Anomaly[]; stats: IncarnationStats } {
  const anomalies: Anomaly[] = [];
  const stats: IncarnationStats = { recreations: 0, attributedWrites: 0, readsOfLaterIncarnations: 0 };
  const recreations = ops.filter((op) => op.f === 'recreate-topic').sort((a, b) => a.invokeTime - b.invokeTime);
  stats.recreations = recreations.filter((r) => r.type === 'ok').length;
  /** The incarnation an operation certainly ran against (0 = the first), or undefined when a re-creation overlaps it. */
  const incarnationOf = (op: Op): number | undefined => {
    let n = 0;
    for (const r of recreations) {
      if (r.completeTime < op.invokeTime && r.type === 'ok') n++;
      else if (r.invokeTime < op.completeTime) return undefined; // overlaps, or of unknown outcome and possibly before
    }
    return n;
  };

  // Writes of certain incarnation; record id -> incarnation.
  const writeIncarnation = new Map<string, { incarnation: number; op: number }>();
  const at = new Map<string, { id: string | null; op: number }>(); // `${incarnation}|${topic}/${partition}@${offset}`
  const acked: { key: string; id: string; op: number; incarnation: number }[] = [];
  const note = (key: string, id: string | null, op: number) => {
    const known = at.get(key);
    if (known && known.id !== id) {
      anomalies.push({
        type: 'incarnation-inconsistent-offsets',
        guarantee: 1,
        message: `incarnation ${key.split('|')[0]} of ${key.split('|')[1]}: one offset holds ${known.id} and ${id}`,
        ops: [known.op, op],
      });
    } else if (!known) at.set(key, { id, op });
  };
  for (const op of ops) {
    if (op.f !== 'side-produce' || op.type !== 'ok') continue;
    const incarnation = incarnationOf(op);
    if (incarnation === undefined) continue;
    const v = op.value as ProduceValue;
    stats.attributedWrites++;
    for (const [i, o] of (op.result as ProduceResult).offsets.entries()) {
      const id = v.records[i]!.id;
      writeIncarnation.set(id, { incarnation, op: op.op });
      const key = `${incarnation}|${pk(v.topic, o.partition)}@${o.offset}`;
      note(key, id, op.op);
      acked.push({ key, id, op: op.op, incarnation });
    }
  }
  const finalRead = new Map<string, { ids: Map<number, string | null>; hw: number; op: number }>();
  for (const op of ops) {
    if (op.f !== 'side-fetch' || op.type !== 'ok') continue;
    const incarnation = incarnationOf(op);
    if (incarnation === undefined) continue;
    if (incarnation > 0) stats.readsOfLaterIncarnations++;
    for (const part of (op.result as FetchResult).partitions) {
      if (part.error) continue;
      for (const record of part.records) {
        note(`${incarnation}|${pk(part.topic, part.partition)}@${record.offset}`, record.id, op.op);
        const written = record.id ? writeIncarnation.get(record.id) : undefined;
        if (written && written.incarnation < incarnation) {
          anomalies.push({
            type: 'stale-incarnation-read',
            guarantee: 1,
            message: `a read of incarnation ${incarnation} of ${part.topic} returned ${record.id} (partition ${part.partition} offset ${record.offset}), written to incarnation ${written.incarnation} before it was deleted`,
            ops: [written.op, op.op, ...recreations.filter((r) => r.invokeTime < op.invokeTime).map((r) => r.op)].slice(0, 8),
          });
        }
      }
      if ((op.value as FetchValue).final) {
        const key = `${incarnation}|${pk(part.topic, part.partition)}`;
        const entry = finalRead.get(key) ?? { ids: new Map(), hw: 0, op: op.op };
        for (const r of part.records) entry.ids.set(r.offset, r.id);
        entry.hw = Math.max(entry.hw, part.highWatermark);
        finalRead.set(key, entry);
      }
    }
  }
  // Acknowledged writes to the last incarnation are in its final read.
  const last = stats.recreations;
  const missing: string[] = [];
  const missingOps: number[] = [];
  for (const a of acked) {
    if (a.incarnation !== last) continue;
    const [incarnationAndPartition, offsetText] = a.key.split('@') as [string, string];
    const final = finalRead.get(incarnationAndPartition);
    if (!final) continue;
    if (final.ids.get(Number(offsetText)) !== a.id) {
      missing.push(`${a.id} at ${a.key.split('|')[1]}`);
      if (missingOps.length < 10) missingOps.push(a.op, final.op);
    }
  }
  if (missing.length > 0) {
    anomalies.push({
      type: 'incarnation-lost-write',
      guarantee: 1,
      message: `${missing.length} writes acknowledged in the last incarnation are not at their offsets in its final read: ${sample(missing).join(', ')}`,
      ops: missingOps,
    });
  }
  return { anomalies, stats };
}
