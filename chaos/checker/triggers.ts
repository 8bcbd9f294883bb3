/**
 * Checks trigger delivery (docs/triggers.md: per partition, offset order, one batch in flight, at
 * least once) on a history whose workload created a trigger on one topic, whose function recorded
 * every invocation (`trigger-invoke`). Pure: a history in, anomalies out.
 *
 * - An invocation runs from the function's start to its end; one that never reported its end (the
 *   runtime was SIGKILLed, or the local Lambda server cut it off) ended at the latest at the next
 *   kill, or at its start plus the function timeout: uncertainty only shortens the bound used.
 * - `trigger-concurrent-invocations`: two invocations of one partition overlap in time (two
 *   dispatchers, or one that did not wait for its batch).
 * - `trigger-out-of-order`: a successful batch starts past an offset that no earlier successful
 *   batch delivered (re-deliveries are allowed; skipping ahead is not), or its offsets are not
 *   consecutive and ascending.
 * - `trigger-wrong-record`: a delivered offset holds another record than the log's (acks, reads).
 * - `trigger-lost`: after the final quiet period, a record of the topic (acknowledged, or in a
 *   read) that no successful invocation delivered.
 */
import type { Op } from '../history';
import {
  type Anomaly,
  type CreateTriggerValue,
  type FetchResult,
  type ProduceResult,
  type ProduceValue,
  pk,
  type TriggerInvokeResult,
  type TriggerInvokeValue,
  type TriggerQuietResult,
} from './model';

export interface TriggerStats {
  invocations: number;
  successful: number;
  injectedFailures: number;
  /** Invocations that never reported their end (SIGKILL, timeout). */
  cutOff: number;
  /** Distinct records delivered by successful invocations. */
  recordsDelivered: number;
  /** Deliveries of records already delivered (at least once allows them). */
  redeliveries: number;
  /** Distinct runtime processes (dispatchers) that invoked the function. */
  dispatchers: number;
  caughtUp: boolean | null;
}

const sample = <T>(items: readonly T[], n = 20): T[] => items.slice(0, n);

interface Span {
  readonly op: Op<TriggerInvokeValue, TriggerInvokeResult>;
  readonly start: number;
  readonly end: number;
  readonly certainEnd: boolean;
}

export function checkTriggers(ops: readonly Op[]): { anomalies: Anomaly[]; stats: TriggerStats } {
  const anomalies: Anomaly[] = [];
  const stats: TriggerStats = {
    invocations: 0,
    successful: 0,
    injectedFailures: 0,
    cutOff: 0,
    recordsDelivered: 0,
    redeliveries: 0,
    dispatchers: 0,
    caughtUp: null,
  };
  const setup = ops.find((op) => op.f === 'create-trigger' && op.type === 'ok') as Op<CreateTriggerValue> | undefined;
  if (!setup) return { anomalies, stats };
  const { topic, functionTimeoutMs } = setup.value;
  const kills = ops
    .filter((op) => op.process === 'nemesis' && op.f === 'kill' && Number.isFinite(op.completeTime))
    .map((op) => op.completeTime)
    .sort((a, b) => a - b);

  const invocations = ops.filter((op) => op.f === 'trigger-invoke' && (op.value as TriggerInvokeValue).topic === topic) as Op<
    TriggerInvokeValue,
    TriggerInvokeResult
  >[];
  stats.invocations = invocations.length;
  stats.dispatchers = new Set(invocations.map((op) => op.value.pid)).size;
  const spans = new Map<number, Span[]>();
  for (const op of invocations) {
    const start = op.value.started;
    let end: number;
    let certainEnd = true;
    if (op.type === 'info' || op.result?.ended === undefined) {
      stats.cutOff++;
      certainEnd = false;
      const kill = kills.find((t) => t >= start);
      end = Math.min(start + functionTimeoutMs, kill ?? Number.POSITIVE_INFINITY);
    } else end = op.result.ended;
    if (op.value.injectedFailure) stats.injectedFailures++;
    if (op.value.partitions !== 1) {
      anomalies.push({
        type: 'trigger-mixed-partitions',
        guarantee: 8,
        message: `an invocation's event holds ${op.value.partitions} topic-partitions; a trigger delivers one partition per invocation`,
        ops: [op.op],
      });
    }
    const list = spans.get(op.value.partition) ?? [];
    list.push({ op, start, end, certainEnd });
    spans.set(op.value.partition, list);
  }

  // What the log holds at each offset of the topic: acknowledged appends and reads.
  const logAt = new Map<string, { id: string | null; op: number }>();
  for (const op of ops) {
    if (op.type !== 'ok') continue;
    if (op.f === 'produce') {
      const v = op.value as ProduceValue;
      if (v.topic !== topic) continue;
      const r = op.result as ProduceResult;
      for (const [i, o] of r.offsets.entries()) logAt.set(`${o.partition}@${o.offset}`, { id: v.records[i]?.id ?? null, op: op.op });
    } else if (op.f === 'fetch') {
      for (const part of (op.result as FetchResult).partitions) {
        if (part.topic !== topic || part.error) continue;
        for (const record of part.records) logAt.set(`${part.partition}@${record.offset}`, { id: record.id, op: op.op });
      }
    }
  }

  const delivered = new Map<number, Set<number>>();
  for (const [partition, list] of spans) {
    list.sort((a, b) => a.start - b.start);
    // One batch in flight: each invocation starts after every earlier one of the partition ended.
    let latest: Span | undefined;
    for (const span of list) {
      if (latest && span.start < latest.end) {
        anomalies.push({
          type: 'trigger-concurrent-invocations',
          guarantee: 8,
          message: `${pk(topic, partition)}: an invocation (offsets ${span.op.value.offsets[0]}..${span.op.value.offsets.at(-1)}, runtime pid ${span.op.value.pid}) started ${latest.end - span.start} ms before the one before it (offsets ${latest.op.value.offsets[0]}..${latest.op.value.offsets.at(-1)}, pid ${latest.op.value.pid}) had ${latest.certainEnd ? 'ended' : 'certainly ended (bounded by a kill or the function timeout)'}`,
          ops: [latest.op.op, span.op.op],
          details: { first: latest.op.value, second: span.op.value },
        });
      }
      if (!latest || span.end > latest.end) latest = span;
    }
    // Offset order over successful batches, and the records' contents.
    const done = delivered.get(partition) ?? new Set<number>();
    delivered.set(partition, done);
    let prefix = 0; // every offset below it has been delivered
    for (const span of list) {
      const { offsets, ids } = span.op.value;
      for (let i = 0; i < offsets.length; i++) {
        const known = logAt.get(`${partition}@${offsets[i]}`);
        if (known && known.id !== ids[i]) {
          anomalies.push({
            type: 'trigger-wrong-record',
            guarantee: 8,
            message: `${pk(topic, partition)} offset ${offsets[i]}: the function received ${ids[i]}, the log holds ${known.id}`,
            ops: [span.op.op, known.op],
          });
        }
      }
      if (span.op.type !== 'ok') continue;
      stats.successful++;
      const consecutive = offsets.every((o, i) => i === 0 || o === offsets[i - 1]! + 1);
      if (!consecutive) {
        anomalies.push({
          type: 'trigger-out-of-order',
          guarantee: 8,
          message: `${pk(topic, partition)}: a batch's offsets are not consecutive and ascending: ${sample(offsets).join(', ')}`,
          ops: [span.op.op],
        });
      }
      const first = offsets[0];
      if (first !== undefined && first > prefix) {
        const missing: number[] = [];
        for (let o = prefix; o < first && missing.length < 20; o++) if (!done.has(o)) missing.push(o);
        anomalies.push({
          type: 'trigger-out-of-order',
          guarantee: 8,
          message: `${pk(topic, partition)}: a successful batch starts at offset ${first} while offsets ${missing.join(', ')}${first - prefix > missing.length ? ' ...' : ''} had not been delivered`,
          ops: [span.op.op],
          details: { batch: offsets, deliveredBelow: prefix },
        });
      }
      for (const o of offsets) {
        if (done.has(o)) stats.redeliveries++;
        else done.add(o);
      }
      while (done.has(prefix)) prefix++;
    }
    stats.recordsDelivered += done.size;
  }

  // At least once, judged after the final quiet period.
  const quiet = [...ops].reverse().find((op) => op.f === 'trigger-quiet' && op.type === 'ok') as
    | Op<unknown, TriggerQuietResult>
    | undefined;
  if (quiet?.result) {
    stats.caughtUp = quiet.result.caughtUp;
    const lost: string[] = [];
    const lostOps: number[] = [];
    for (const [key, { op }] of logAt) {
      const [partition, offset] = key.split('@').map(Number) as [number, number];
      if (delivered.get(partition)?.has(offset)) continue;
      lost.push(key);
      if (lostOps.length < 10) lostOps.push(op);
    }
    if (lost.length > 0) {
      anomalies.push({
        type: 'trigger-lost',
        guarantee: 8,
        message: `${lost.length} records of ${topic} (acknowledged or read) were never delivered by a successful invocation, after the final quiet period (${quiet.result.caughtUp ? 'the trigger reported no lag' : 'the trigger had not caught up'}): ${sample(lost.sort()).join(', ')}`,
        ops: [...lostOps, quiet.op],
        details: { state: quiet.result.partitions },
      });
    }
  }
  return { anomalies, stats };
}
