/**
 * The chaos checker's trigger properties (chaos/checker/triggers.ts) on synthetic histories: a
 * clean one, and one with each anomaly injected (two invocations of a partition at once, a batch
 * that skips ahead, a record the log does not hold, a record never delivered).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { check } from '../../chaos/checker';
import type { CreateTriggerValue, TriggerInvokeValue, TriggerQuietResult } from '../../chaos/checker/model';
import { HistoryBuilder, record, SimLog } from './histories';

const topic = 'trig';

function setup(partitions = 2) {
  const h = new HistoryBuilder();
  const log = new SimLog(topic, partitions);
  h.add('create-topic', { name: topic, partitions, config: {} }, 'ok', {});
  const trigger: CreateTriggerValue = { trigger: 'tr', topic, functionName: 'fn', batchSize: 10, functionTimeoutMs: 5000 };
  h.add('create-trigger', trigger, 'ok', {});
  let n = 0;
  const produce = (partition: number, count: number) => {
    const records = Array.from({ length: count }, (_, i) => record(`r${n}.${i}`, partition));
    const offsets = log.append(records, h.time);
    h.add('produce', { topic, write: `w${n++}`, attempt: 1, records }, 'ok', { offsets, replayed: false });
  };
  /** An invocation of offsets [from, to) of a partition, from `start` for `ms`, as the function would report it. */
  const invoke = (
    partition: number,
    from: number,
    to: number,
    options: { outcome?: 'ok' | 'fail' | 'info'; start?: number; ms?: number; pid?: number; ids?: (string | null)[] } = {},
  ) => {
    const start = options.start ?? (h.time += 10);
    const ms = options.ms ?? 5;
    const offsets = Array.from({ length: to - from }, (_, i) => from + i);
    const value: TriggerInvokeValue = {
      topic,
      partition,
      offsets,
      ids: options.ids ?? offsets.map((o) => log.partitions[partition]![o]?.id ?? null),
      partitions: 1,
      pid: options.pid ?? 100,
      requestId: `q${start}`,
      started: start,
      injectedFailure: options.outcome === 'fail',
    };
    const outcome = options.outcome ?? 'ok';
    h.add('trigger-invoke', value, outcome, outcome === 'info' ? undefined : { ended: start + ms }, {
      start,
      end: outcome === 'info' ? Number.POSITIVE_INFINITY : start + ms + 1,
    });
    h.time = Math.max(h.time, start + ms + 2);
  };
  const quiet = () => {
    const result: TriggerQuietResult = {
      caughtUp: true,
      partitions: log.partitions.map((p, partition) => ({ partition, position: p.length, lag: 0 })),
    };
    h.add('trigger-quiet', { trigger: 'tr' }, 'ok', result);
  };
  const kill = () => h.add('kill', { signal: 'SIGKILL' }, 'ok', { signal: 'SIGKILL' }, { process: 'nemesis' });
  return { h, log, produce, invoke, quiet, kill };
}

const triggerAnomalies = (h: HistoryBuilder) =>
  check(h.history())
    .anomalies.filter((a) => a.type.startsWith('trigger-'))
    .map((a) => a.type)
    .sort();

describe('chaos checker: trigger guarantees', () => {
  it('finds nothing in a clean history with failures, re-deliveries and a kill mid-invocation', () => {
    const { h, produce, invoke, quiet, kill } = setup();
    produce(0, 5);
    produce(1, 3);
    invoke(0, 0, 3, { outcome: 'fail' });
    invoke(0, 0, 3);
    invoke(1, 0, 3, { outcome: 'info', ms: 0 }); // cut off by the kill
    kill();
    invoke(1, 0, 3, { pid: 200 }); // delivered again by the restarted dispatcher
    invoke(0, 2, 5, { pid: 200 }); // a re-delivery overlapping what was delivered
    quiet();
    const result = check(h.history());
    expect(result.anomalies).toEqual([]);
    expect(result.triggers).toMatchObject({
      invocations: 5,
      successful: 3,
      injectedFailures: 1,
      cutOff: 1,
      recordsDelivered: 8,
      dispatchers: 2,
      caughtUp: true,
    });
    expect(result.triggers.redeliveries).toBe(1);
  });

  it('finds two invocations of one partition in flight at once, also when one never reported its end', () => {
    const a = setup();
    a.produce(0, 4);
    a.invoke(0, 0, 2, { start: a.h.time + 10, ms: 100 });
    a.invoke(0, 2, 4, { start: a.h.time - 50, pid: 200 });
    expect(triggerAnomalies(a.h)).toEqual(['trigger-concurrent-invocations']);

    // Cut off without a kill: bounded by the function timeout (5 s), so a start 1 s later overlaps.
    const b = setup();
    b.produce(0, 4);
    const start = b.h.time + 10;
    b.invoke(0, 0, 2, { start, outcome: 'info' });
    b.invoke(0, 0, 2, { start: start + 1000, pid: 200 });
    expect(triggerAnomalies(b.h)).toEqual(['trigger-concurrent-invocations']);

    // After a kill the cut-off invocation has certainly ended.
    const c = setup();
    c.produce(0, 4);
    c.invoke(0, 0, 2, { outcome: 'info' });
    c.kill();
    c.invoke(0, 0, 2, { pid: 200 });
    expect(triggerAnomalies(c.h)).toEqual([]);
  });

  it('finds a successful batch that skips past an undelivered offset, and one out of order', () => {
    const a = setup();
    a.produce(0, 6);
    a.invoke(0, 0, 2);
    a.invoke(0, 3, 6);
    expect(triggerAnomalies(a.h)).toEqual(['trigger-out-of-order']);

    // A failed batch delivers nothing: the next successful one must start where it did.
    const b = setup();
    b.produce(0, 6);
    b.invoke(0, 0, 3, { outcome: 'fail' });
    b.invoke(0, 3, 6);
    expect(triggerAnomalies(b.h)).toEqual(['trigger-out-of-order']);
  });

  it('finds a delivered record that the log holds elsewhere', () => {
    const { h, produce, invoke } = setup();
    produce(0, 2);
    invoke(0, 0, 2, { ids: ['r0.1', 'r0.0'] });
    expect(triggerAnomalies(h)).toEqual(['trigger-wrong-record', 'trigger-wrong-record']);
  });

  it('finds records never delivered after the quiet period, and says nothing before it', () => {
    const { h, produce, invoke, quiet } = setup();
    produce(0, 3);
    produce(1, 2);
    invoke(0, 0, 3);
    expect(triggerAnomalies(h)).toEqual([]);
    quiet();
    const lost = check(h.history()).anomalies.filter((a) => a.type === 'trigger-lost');
    expect(lost).toHaveLength(1);
    expect(lost[0]!.message).toContain('2 records');
    expect(lost[0]!.message).toContain('1@0, 1@1');
  });

  it('reports nothing for any correct delivery: batches in order, failures retried, re-deliveries after kills', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ size: fc.integer({ min: 1, max: 4 }), fail: fc.boolean(), kill: fc.boolean() }), { maxLength: 25 }),
        (steps) => {
          const { h, produce, invoke, quiet, kill } = setup(1);
          const total = steps.reduce((n, s) => n + s.size, 0);
          if (total > 0) produce(0, total);
          let position = 0;
          let pid = 1;
          for (const step of steps) {
            if (position >= total) break;
            const to = Math.min(total, position + step.size);
            if (step.kill) {
              invoke(0, position, to, { outcome: 'info', pid });
              kill();
              pid++;
              // The restarted dispatcher re-delivers from the committed position (maybe before the batch).
              position = Math.max(0, position - 1);
              continue;
            }
            invoke(0, position, to, { outcome: step.fail ? 'fail' : 'ok', pid });
            if (!step.fail) position = to;
          }
          if (position < total) invoke(0, position, total, { pid });
          quiet();
          expect(triggerAnomalies(h)).toEqual([]);
        },
      ),
    );
  });
});

describe('chaos checker: Kafka clients in the same history', () => {
  it('counts them apart, and judges an idempotent Kafka send appended twice, or a Kafka read disagreeing with HTTP', () => {
    const h = new HistoryBuilder();
    h.add('create-topic', { name: 'k', partitions: 1, config: {} }, 'ok', {});
    const records = [record('r10.1.0', 0)];
    h.add('produce', { topic: 'k', write: 'k0.0', attempt: 1, via: 'kafka', idempotencyKey: 'kafka-idempotent-k0.0', records }, 'ok', {
      offsets: [{ partition: 0, offset: 0, timestamp: 1 }],
      replayed: false,
    });
    h.add('produce', { topic: 'k', write: 'w1', attempt: 1, records: [record('r1.1.0', 0)] }, 'ok', {
      offsets: [{ partition: 0, offset: 1, timestamp: 2 }],
      replayed: false,
    });
    const read = (ids: string[], via?: 'kafka') =>
      h.add('fetch', { partitions: [{ topic: 'k', partition: 0, offset: 0 }], ...(via ? { via } : {}) }, 'ok', {
        partitions: [
          {
            topic: 'k',
            partition: 0,
            offset: 0,
            records: ids.map((id, offset) => ({ offset, id, key: null, timestamp: 1 })),
            nextOffset: ids.length,
            highWatermark: ids.length,
            logStartOffset: 0,
          },
        ],
      });
    read(['r10.1.0', 'r1.1.0'], 'kafka');
    const clean = check(h.history());
    expect(clean.anomalies).toEqual([]);
    expect(clean.byFunction['produce (kafka)']).toEqual({ ok: 1, fail: 0, info: 0 });
    expect(clean.byFunction['fetch (kafka)']).toEqual({ ok: 1, fail: 0, info: 0 });
    read(['r10.1.0', 'r1.1.0', 'r10.1.0'], 'kafka');
    read(['r1.1.0', 'r10.1.0']);
    const types = check(h.history()).anomalies.map((a) => a.type);
    expect(types).toContain('duplicate');
    expect(types).toContain('inconsistent-offsets');
  });
});
