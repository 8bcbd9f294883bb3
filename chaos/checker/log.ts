/**
 * Checks the log guarantees (1 to 4) on a history, the way Jepsen's Kafka queue checker does:
 * record values are unique, so acknowledgements and reads together give a "version order" per
 * partition (offset -> value); every anomaly is a contradiction within it. Indeterminate (info)
 * produces are neither assumed to have happened nor not: they only excuse what they could
 * explain (Elle's treatment of in-doubt transactions). Pure: a history in, anomalies out.
 */
import type { Op } from '../history';
import {
  type AlterConfigValue,
  type Anomaly,
  type CreateTopicValue,
  type FetchResult,
  type FetchValue,
  type OffsetAtResult,
  type OffsetAtValue,
  type ProducedRecord,
  type ProduceResult,
  type ProduceValue,
  pk,
} from './model';

interface Observation {
  readonly op: number;
  readonly kind: 'ack' | 'read';
  readonly time: number;
}

interface WriteInfo {
  readonly topic: string;
  readonly write: string;
  readonly records: readonly ProducedRecord[];
  readonly attempts: Op<ProduceValue, ProduceResult>[];
}

export interface LogStats {
  acknowledgedRecords: number;
  /** Extra copies from retries of non-idempotent produces whose outcome was unknown (allowed, counted). */
  nonIdempotentRetryDuplicates: number;
  /** Records of produces whose outcome was unknown that a read later showed (they committed). */
  recoveredIndeterminate: number;
  finalRecords: number;
  partitionsFinallyRead: number;
}

const sample = <T>(items: readonly T[], n = 20): T[] => items.slice(0, n);

export function topicsOf(ops: readonly Op[]): Map<string, { partitions: number; compacted: boolean }> {
  const topics = new Map<string, { partitions: number; compacted: boolean }>();
  for (const op of ops) {
    if (op.f !== 'create-topic' || op.type === 'fail') continue;
    const v = op.value as CreateTopicValue;
    topics.set(v.name, { partitions: v.partitions, compacted: String(v.config['cleanup.policy'] ?? 'delete').includes('compact') });
  }
  return topics;
}

export function checkLog(ops: readonly Op[]): { anomalies: Anomaly[]; stats: LogStats } {
  const anomalies: Anomaly[] = [];
  const stats: LogStats = {
    acknowledgedRecords: 0,
    nonIdempotentRetryDuplicates: 0,
    recoveredIndeterminate: 0,
    finalRecords: 0,
    partitionsFinallyRead: 0,
  };
  const topics = topicsOf(ops);
  const compacted = (topic: string) => topics.get(topic)?.compacted ?? false;

  // --- Writes: logical writes, their attempts, and which write each record id belongs to.
  const writes = new Map<string, WriteInfo>();
  const recordOf = new Map<string, { write: WriteInfo; record: ProducedRecord }>();
  for (const op of ops) {
    if (op.f !== 'produce') continue;
    const v = op.value as ProduceValue;
    const id = `${v.topic}/${v.write}`;
    let w = writes.get(id);
    if (!w) {
      w = { topic: v.topic, write: v.write, records: v.records, attempts: [] };
      writes.set(id, w);
      for (const record of v.records) recordOf.set(record.id, { write: w, record });
    }
    w.attempts.push(op as Op<ProduceValue, ProduceResult>);
  }

  // --- The version order: per partition, offset -> id -> observations; and id -> offsets.
  const versions = new Map<string, Map<number, Map<string | null, Observation[]>>>();
  const offsetsOfId = new Map<string, Set<string>>();
  const keyAt = new Map<string, Map<number, string | null>>();
  const observe = (p: string, offset: number, id: string | null, key: string | null, obs: Observation) => {
    let byOffset = versions.get(p);
    if (!byOffset) versions.set(p, (byOffset = new Map()));
    let ids = byOffset.get(offset);
    if (!ids) byOffset.set(offset, (ids = new Map()));
    let list = ids.get(id);
    if (!list) ids.set(id, (list = []));
    list.push(obs);
    if (id !== null) {
      let at = offsetsOfId.get(id);
      if (!at) offsetsOfId.set(id, (at = new Set()));
      at.add(`${p}@${offset}`);
    }
    let keys = keyAt.get(p);
    if (!keys) keyAt.set(p, (keys = new Map()));
    if (!keys.has(offset)) keys.set(offset, key);
  };

  // Lower bounds on the high watermark and log start offset, learned at a completion time.
  const hwBounds = new Map<string, { time: number; value: number; op: number }[]>();
  const lsoBounds = new Map<string, { time: number; value: number; op: number }[]>();
  const addBound = (bounds: typeof hwBounds, p: string, time: number, value: number, op: number) => {
    let list = bounds.get(p);
    if (!list) bounds.set(p, (list = []));
    list.push({ time, value, op });
  };
  const maxLso = new Map<string, number>();
  /** Each log start offset seen, with when the op that saw it began: it held at some instant after. */
  const lsoSightings = new Map<string, { invoke: number; value: number }[]>();
  const noteLso = (p: string, lso: number, invoke: number) => {
    maxLso.set(p, Math.max(maxLso.get(p) ?? 0, lso));
    let list = lsoSightings.get(p);
    if (!list) lsoSightings.set(p, (list = []));
    list.push({ invoke, value: lso });
  };
  /** Offset -> timestamp, from acknowledgements and reads. */
  const timestampAt = new Map<string, Map<number, { ts: number; since: number }>>();
  const noteTimestamp = (p: string, offset: number, ts: number, since: number) => {
    let m = timestampAt.get(p);
    if (!m) timestampAt.set(p, (m = new Map()));
    const seen = m.get(offset);
    if (!seen || since < seen.since) m.set(offset, { ts, since });
  };

  for (const w of writes.values()) {
    for (const attempt of w.attempts) {
      if (attempt.type !== 'ok' || !attempt.result) continue;
      const { offsets } = attempt.result;
      if (offsets.length !== w.records.length) {
        anomalies.push({
          type: 'malformed-ack',
          guarantee: 1,
          message: `produce ${w.write} sent ${w.records.length} records but was acknowledged with ${offsets.length} offsets`,
          ops: [attempt.op],
        });
        continue;
      }
      offsets.forEach((o, i) => {
        const record = w.records[i]!;
        // A record sent without a partition is placed by its key (chaos/checker/partitioning.ts judges where).
        if (record.partition >= 0 && o.partition !== record.partition) {
          anomalies.push({
            type: 'wrong-partition',
            guarantee: 1,
            message: `record ${record.id} was sent to partition ${record.partition} but acknowledged in partition ${o.partition}`,
            ops: [attempt.op],
          });
        }
        const p = pk(w.topic, o.partition);
        observe(p, o.offset, record.id, record.key, { op: attempt.op, kind: 'ack', time: attempt.completeTime });
        addBound(hwBounds, p, attempt.completeTime, o.offset + 1, attempt.op);
        noteTimestamp(p, o.offset, o.timestamp, attempt.completeTime);
      });
    }
  }

  const fetches = ops.filter((op) => op.f === 'fetch' && op.type === 'ok' && op.result) as Op<FetchValue, FetchResult>[];
  for (const op of fetches) {
    for (const part of op.result!.partitions) {
      if (part.error) continue;
      const p = pk(part.topic, part.partition);
      noteLso(p, part.logStartOffset, op.invokeTime);
      addBound(hwBounds, p, op.completeTime, part.highWatermark, op.op);
      addBound(lsoBounds, p, op.completeTime, part.logStartOffset, op.op);
      for (const r of part.records) {
        observe(p, r.offset, r.id, r.key, { op: op.op, kind: 'read', time: op.completeTime });
        noteTimestamp(p, r.offset, r.timestamp, op.completeTime);
      }
    }
  }
  const offsetAts = ops.filter((op) => op.f === 'offset-at' && op.type === 'ok' && op.result) as Op<OffsetAtValue, OffsetAtResult>[];
  for (const op of offsetAts) {
    const p = pk(op.value.topic, op.value.partition);
    if (op.value.at === 'earliest' && op.result!.offset !== null) {
      noteLso(p, op.result!.offset, op.invokeTime);
      addBound(lsoBounds, p, op.completeTime, op.result!.offset, op.op);
    }
    if (op.value.at === 'latest' && op.result!.offset !== null) addBound(hwBounds, p, op.completeTime, op.result!.offset, op.op);
  }

  const opsAt = (p: string, offset: number): number[] => {
    const ids = versions.get(p)?.get(offset);
    return ids ? [...ids.values()].flat().map((o) => o.op) : [];
  };
  const readIds = new Set<string>();
  for (const byOffset of versions.values()) {
    for (const ids of byOffset.values()) {
      for (const [id, list] of ids) if (id !== null && list.some((o) => o.kind === 'read')) readIds.add(id);
    }
  }

  // --- inconsistent-offsets: one offset, two values (offset reuse, overlapping appends).
  for (const [p, byOffset] of versions) {
    for (const [offset, ids] of byOffset) {
      if (ids.size > 1) {
        anomalies.push({
          type: 'inconsistent-offsets',
          guarantee: 1,
          message: `${p} offset ${offset} holds more than one record: ${[...ids.keys()].join(', ')}`,
          ops: opsAt(p, offset),
          details: { partition: p, offset, values: [...ids.keys()] },
        });
      }
    }
  }

  // --- unexpected (garbage) reads and G1a (reads of writes that certainly failed).
  for (const [p, byOffset] of versions) {
    for (const [offset, ids] of byOffset) {
      for (const [id, list] of ids) {
        const readers = list.filter((o) => o.kind === 'read').map((o) => o.op);
        if (readers.length === 0) continue;
        const origin = id === null ? undefined : recordOf.get(id);
        if (!origin) {
          anomalies.push({
            type: 'unexpected',
            guarantee: 4,
            message: `${p} offset ${offset} returned ${id === null ? 'a value that is no produced record' : `record ${id}, which no produce sent`}`,
            ops: sample(readers, 5),
            details: { partition: p, offset, value: id },
          });
          continue;
        }
        if (origin.write.attempts.every((a) => a.type === 'fail')) {
          anomalies.push({
            type: 'G1a',
            guarantee: 2,
            message: `record ${id} of produce ${origin.write.write} is visible at ${p} offset ${offset}, yet every attempt of that produce failed`,
            ops: [...origin.write.attempts.map((a) => a.op), ...sample(readers, 3)],
            details: { partition: p, offset, errors: origin.write.attempts.map((a) => a.error) },
          });
        }
      }
    }
  }

  // --- duplicate: one record at several offsets.
  for (const [id, places] of offsetsOfId) {
    if (places.size < 2) continue;
    const origin = recordOf.get(id);
    if (!origin) continue;
    const attempts = origin.write.attempts;
    const keyed = attempts.every((a) => a.value.idempotencyKey !== undefined);
    const allowed = keyed ? 1 : attempts.length;
    if (places.size > allowed) {
      anomalies.push({
        type: 'duplicate',
        guarantee: keyed ? 2 : 1,
        message: keyed
          ? `record ${id} (produce ${origin.write.write}, Idempotency-Key ${attempts[0]!.value.idempotencyKey}) appears ${places.size} times: ${[...places].join(', ')}`
          : `record ${id} (produce ${origin.write.write}, no Idempotency-Key) appears ${places.size} times but was sent ${attempts.length} time(s): ${[...places].join(', ')}`,
        ops: attempts.map((a) => a.op),
        details: { record: id, at: [...places], attempts: attempts.map((a) => ({ op: a.op, type: a.type, error: a.error })) },
      });
    } else {
      stats.nonIdempotentRetryDuplicates += places.size - 1;
    }
  }

  // --- Idempotent replays must return the first attempt's offsets.
  for (const w of writes.values()) {
    if (!w.attempts.every((a) => a.value.idempotencyKey !== undefined)) continue;
    const oks = w.attempts.filter((a) => a.type === 'ok' && a.result);
    for (const other of oks.slice(1)) {
      const a = JSON.stringify(oks[0]!.result!.offsets.map((o) => [o.partition, o.offset]));
      const b = JSON.stringify(other.result!.offsets.map((o) => [o.partition, o.offset]));
      if (a !== b) {
        anomalies.push({
          type: 'idempotency-mismatch',
          guarantee: 2,
          message: `two attempts of produce ${w.write} with the same Idempotency-Key were acknowledged with different offsets: ${a} and ${b}`,
          ops: [oks[0]!.op, other.op],
        });
      }
    }
  }

  // A missing offset is explained by compaction when a later record of the same key exists.
  const supersededByCompaction = (p: string, topic: string, offset: number): boolean => {
    if (!compacted(topic)) return false;
    const keys = keyAt.get(p);
    const key = keys?.get(offset);
    if (key === undefined) return true; // nothing known about the offset: compaction may explain it
    if (key === null) return false; // records without a key are never compacted away
    for (const [o, k] of keys!) if (o > offset && k === key) return true;
    return false;
  };
  const removed = (p: string, topic: string, offset: number) => offset < (maxLso.get(p) ?? 0) || supersededByCompaction(p, topic, offset);

  // --- Within one fetch: order, high watermark, and skips.
  for (const op of fetches) {
    for (const part of op.result!.partitions) {
      if (part.error) continue;
      const p = pk(part.topic, part.partition);
      let previous = part.offset - 1;
      const skipped: number[] = [];
      const skip = (from: number, to: number) => {
        for (let o = from; o < to && skipped.length < 1000; o++) if (!removed(p, part.topic, o)) skipped.push(o);
      };
      for (const r of part.records) {
        if (r.offset <= previous) {
          anomalies.push({
            type: 'int-nonmonotonic-poll',
            guarantee: 4,
            message: `a fetch of ${p} from offset ${part.offset} returned offset ${r.offset} after offset ${previous}`,
            ops: [op.op],
          });
        }
        if (r.offset >= part.highWatermark) {
          anomalies.push({
            type: 'read-past-hw',
            guarantee: 4,
            message: `a fetch of ${p} returned offset ${r.offset} at or past the high watermark ${part.highWatermark} it reported`,
            ops: [op.op],
          });
        }
        skip(previous + 1, r.offset);
        previous = Math.max(previous, r.offset);
      }
      if (part.nextOffset > part.highWatermark) {
        anomalies.push({
          type: 'read-past-hw',
          guarantee: 4,
          message: `a fetch of ${p} answered nextOffset ${part.nextOffset} past its high watermark ${part.highWatermark}`,
          ops: [op.op],
        });
      }
      skip(previous + 1, Math.min(part.nextOffset, part.highWatermark));
      // In the final reads a missing offset is reported as lost-write or gap instead.
      if (skipped.length && !op.value.final) {
        anomalies.push({
          type: 'int-poll-skip',
          guarantee: 4,
          message: `a fetch of ${p} from offset ${part.offset} skipped offset(s) ${sample(skipped, 10).join(', ')} that neither retention nor compaction removed`,
          ops: [op.op, ...sample(skipped, 5).flatMap((o) => opsAt(p, o).slice(0, 1))],
          details: { partition: p, requested: part.offset, skipped: sample(skipped, 50) },
        });
      }
    }
  }

  // --- Final reads: every offset in [logStartOffset, highWatermark) present; nothing acknowledged lost.
  const finalState = new Map<string, { lso: number; hw: number; offsets: Set<number>; op: number }>();
  for (const op of fetches) {
    if (!op.value.final) continue;
    for (const part of op.result!.partitions) {
      if (part.error) continue;
      const p = pk(part.topic, part.partition);
      let state = finalState.get(p);
      if (!state) finalState.set(p, (state = { lso: part.logStartOffset, hw: part.highWatermark, offsets: new Set(), op: op.op }));
      state.lso = Math.max(state.lso, part.logStartOffset);
      state.hw = Math.max(state.hw, part.highWatermark);
      for (const r of part.records) state.offsets.add(r.offset);
    }
  }
  for (const [p, state] of finalState) {
    stats.partitionsFinallyRead++;
    stats.finalRecords += state.offsets.size;
    const topic = p.slice(0, p.lastIndexOf('/'));
    const gaps: number[] = [];
    for (let o = state.lso; o < state.hw; o++) {
      if (state.offsets.has(o) || removed(p, topic, o)) continue;
      const acked = [...(versions.get(p)?.get(o)?.entries() ?? [])].filter(([, list]) => list.some((x) => x.kind === 'ack'));
      if (acked.length) {
        anomalies.push({
          type: 'lost-write',
          guarantee: 1,
          message: `acknowledged record ${acked.map(([id]) => id).join(', ')} at ${p} offset ${o} is missing from the final read of [${state.lso}, ${state.hw})`,
          ops: [...acked.flatMap(([, list]) => list.map((x) => x.op)), state.op],
        });
      } else if (gaps.length < 1000) gaps.push(o);
    }
    if (gaps.length) {
      anomalies.push({
        type: 'gap',
        guarantee: 1,
        message: `the final read of ${p} [${state.lso}, ${state.hw}) has no record at offset(s) ${sample(gaps, 10).join(', ')}`,
        ops: [state.op],
        details: { partition: p, missing: sample(gaps, 50) },
      });
    }
    for (const [offset, ids] of versions.get(p) ?? []) {
      if (offset < state.hw) continue;
      const acks = [...ids.values()].flat().filter((x) => x.kind === 'ack');
      if (acks.length) {
        anomalies.push({
          type: 'lost-write',
          guarantee: 1,
          message: `${p} offset ${offset} was acknowledged but the final high watermark is ${state.hw}`,
          ops: [...acks.map((x) => x.op), state.op],
        });
      }
    }
  }

  // --- Atomicity: a request's records are all visible or none (reads only; acks prove nothing here).
  for (const w of writes.values()) {
    stats.acknowledgedRecords += w.attempts.some((a) => a.type === 'ok') ? w.records.length : 0;
    const seen = w.records.filter((r) => readIds.has(r.id));
    if (seen.length && !w.attempts.some((a) => a.type === 'ok')) stats.recoveredIndeterminate += seen.length;
    const partitions = new Set(w.records.map((r) => r.partition));
    // An acknowledged request's records are each checked by lost-write; here the in-doubt ones.
    if (w.attempts.some((a) => a.type === 'ok')) continue;
    // A Kafka Produce request appends each partition on its own, as Kafka does (docs/kafka.md): no atomicity to check.
    if (w.attempts.some((a) => a.value.via === 'kafka')) continue;
    if (partitions.size < 2 || seen.length === 0 || seen.length === w.records.length) continue;
    const missing = w.records.filter((r) => {
      if (readIds.has(r.id)) return false;
      const p = pk(w.topic, r.partition);
      const state = finalState.get(p);
      if (!state) return false; // not finally read: nothing to conclude
      if ((maxLso.get(p) ?? 0) > 0) return false; // retention may have removed it
      if (compacted(w.topic) && [...(keyAt.get(p)?.values() ?? [])].includes(r.key)) return false;
      return true;
    });
    if (missing.length) {
      anomalies.push({
        type: 'partial-request',
        guarantee: 3,
        message: `produce ${w.write} to ${w.topic} partitions ${[...partitions].join(', ')} is only partly visible: ${missing.map((r) => `${r.id} (partition ${r.partition})`).join(', ')} never read`,
        ops: w.attempts.map((a) => a.op),
        details: { seen: seen.map((r) => r.id), missing: missing.map((r) => r.id) },
      });
    }
  }

  // --- Real-time order (Knossos): a read invoked after something completed must not see an older state.
  const readsOfHw: { p: string; invoke: number; value: number; op: number; what: string }[] = [];
  const readsOfLso: typeof readsOfHw = [];
  for (const op of fetches) {
    for (const part of op.result!.partitions) {
      if (part.error) continue;
      const p = pk(part.topic, part.partition);
      readsOfHw.push({ p, invoke: op.invokeTime, value: part.highWatermark, op: op.op, what: 'fetch' });
      readsOfLso.push({ p, invoke: op.invokeTime, value: part.logStartOffset, op: op.op, what: 'fetch' });
    }
  }
  for (const op of offsetAts) {
    const p = pk(op.value.topic, op.value.partition);
    if (op.value.at === 'latest' && op.result!.offset !== null)
      readsOfHw.push({ p, invoke: op.invokeTime, value: op.result!.offset, op: op.op, what: 'latest offset' });
    if (op.value.at === 'earliest' && op.result!.offset !== null)
      readsOfLso.push({ p, invoke: op.invokeTime, value: op.result!.offset, op: op.op, what: 'earliest offset' });
  }
  const staleReads = (reads: typeof readsOfHw, bounds: typeof hwBounds, name: string) => {
    const byPartition = new Map<string, typeof readsOfHw>();
    for (const r of reads) {
      let list = byPartition.get(r.p);
      if (!list) byPartition.set(r.p, (list = []));
      list.push(r);
    }
    for (const [p, list] of byPartition) {
      const known = [...(bounds.get(p) ?? [])].sort((a, b) => a.time - b.time);
      list.sort((a, b) => a.invoke - b.invoke);
      let i = 0;
      let best: { value: number; op: number } | undefined;
      let reported = 0;
      for (const r of list) {
        while (i < known.length && known[i]!.time < r.invoke) {
          if (!best || known[i]!.value > best.value) best = known[i]!;
          i++;
        }
        if (best && r.value < best.value && reported++ < 20) {
          anomalies.push({
            type: name === 'high watermark' ? 'stale-high-watermark' : 'nonmonotonic-log-start',
            guarantee: name === 'high watermark' ? 1 : 4,
            message: `a ${r.what} of ${p} saw ${name} ${r.value} after operation ${best.op} had completed with ${name} at least ${best.value}`,
            ops: [best.op, r.op],
          });
        }
      }
    }
  };
  staleReads(readsOfHw, hwBounds, 'high watermark');
  staleReads(readsOfLso, lsoBounds, 'log start offset');

  // --- Offsets by timestamp: the earliest offset whose timestamp is >= T.
  for (const op of offsetAts) {
    const { topic, partition, at } = op.value;
    if (typeof at !== 'number' || compacted(topic)) continue;
    const p = pk(topic, partition);
    const result = op.result!.offset;
    const stamps = timestampAt.get(p) ?? new Map();
    const lso = maxLso.get(p) ?? 0;
    if (result !== null) {
      const at0 = stamps.get(result);
      if (at0 && at0.ts < at && result >= lso) {
        anomalies.push({
          type: 'offset-for-time',
          guarantee: 4,
          message: `offsets?at=${at} of ${p} answered ${result}, whose record's timestamp ${at0.ts} is before it`,
          ops: [op.op],
        });
      }
    }
    // Where retention moves the log start, an offset once visible counts as still there only if an
    // op begun after this one completed saw the log start at or below it (it never moves back).
    const retained = (offset: number) =>
      lso === 0 || (lsoSightings.get(p) ?? []).some((s) => s.invoke >= op.completeTime && s.value <= offset);
    for (const [offset, { ts, since }] of stamps) {
      if (offset < lso || ts < at || since >= op.invokeTime || !retained(offset)) continue;
      if (result === null || offset < result) {
        anomalies.push({
          type: 'offset-for-time',
          guarantee: 4,
          message: `offsets?at=${at} of ${p} answered ${result}, but offset ${offset} (timestamp ${ts}) was already visible before the request`,
          ops: [op.op, ...opsAt(p, offset).slice(0, 1)],
        });
        break;
      }
    }
  }

  // --- Refusals on config: a produce refused as too large must be too large for some config it could have seen.
  const alters = ops.filter((op) => op.f === 'alter-config' && op.type !== 'fail') as Op<AlterConfigValue>[];
  const creates = ops.filter((op) => op.f === 'create-topic' && op.type === 'ok') as Op<CreateTopicValue>[];
  for (const w of writes.values()) {
    for (const attempt of w.attempts) {
      if (attempt.type !== 'fail' || !attempt.error?.includes('RECORD_TOO_LARGE')) continue;
      const limits = possibleLimits(w.topic, attempt, alters, creates);
      const largest = Math.max(...w.records.map((r) => r.bytes));
      // 512 bytes of slack for the record's framing (Kafka counts the encoded record).
      if (limits.every((limit) => largest + 512 < limit)) {
        anomalies.push({
          type: 'unjustified-rejection',
          guarantee: 7,
          message: `produce ${w.write} (largest record ${largest} bytes) was refused RECORD_TOO_LARGE although max.message.bytes was ${limits.join(' or ')} throughout the request`,
          ops: [attempt.op],
        });
      }
    }
  }

  return { anomalies, stats };
}

/**
 * The max.message.bytes values that could have been in force at some instant of the op: the
 * creation value if no alter had certainly completed, every completed alter not certainly
 * followed by another completed one, and every alter concurrent with the op or of unknown outcome.
 */
function possibleLimits(
  topic: string,
  op: Op,
  alters: readonly Op<AlterConfigValue>[],
  creates: readonly Op<CreateTopicValue>[],
): number[] {
  const create = creates.find((c) => c.value.name === topic);
  const relevant = alters.filter((a) => a.value.topic === topic && a.value.config['max.message.bytes'] !== undefined);
  const done = relevant.filter((a) => a.type === 'ok' && a.completeTime < op.invokeTime);
  const latestStart = Math.max(Number.NEGATIVE_INFINITY, ...done.map((a) => a.invokeTime));
  const values: number[] = [];
  if (done.length === 0) values.push(Number(create?.value.config['max.message.bytes'] ?? 1_048_576));
  for (const a of done) if (a.completeTime >= latestStart) values.push(Number(a.value.config['max.message.bytes']));
  for (const a of relevant)
    if (!done.includes(a) && a.invokeTime < op.completeTime) values.push(Number(a.value.config['max.message.bytes']));
  return values;
}
