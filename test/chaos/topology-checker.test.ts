/**
 * The chaos checker's topology properties on synthetic histories: records placed by key while a
 * topic's partitions grow (chaos/checker/partitioning.ts), and a topic deleted and created again
 * under its name (chaos/checker/incarnations.ts).
 */
import { describe, expect, it } from 'vitest';
import { check } from '../../chaos/checker';
import { partitionForKey } from '../../shared/records/partitioner';
import { HistoryBuilder } from './histories';

const types = (h: HistoryBuilder, prefix: string[]) =>
  check(h.history())
    .anomalies.map((a) => a.type)
    .filter((t) => prefix.some((p) => t.startsWith(p)))
    .sort();

/** A key that murmur2 places differently on 2 and 3 partitions. */
const key = Array.from({ length: 100 }, (_, i) => `g${i}`).find((k) => partitionForKey(k, 2) !== partitionForKey(k, 3))!;

describe('chaos checker: keyed records while partitions grow', () => {
  const setup = () => {
    const h = new HistoryBuilder();
    h.add('create-topic', { name: 'g', partitions: 2, config: {} }, 'ok', {});
    let n = 0;
    let offset = 0;
    const produce = (landed: number, options: { start?: number; end?: number } = {}) =>
      h.add(
        'produce',
        { topic: 'g', write: `w${n}`, attempt: 1, records: [{ id: `r1.${n++}.0`, key, partition: -1, bytes: 10 }] },
        'ok',
        { offsets: [{ partition: landed, offset: offset++, timestamp: 1 }], replayed: false },
        options,
      );
    return { h, produce };
  };

  it('accepts murmur2 on the count in force, and either count during a growth', () => {
    const { h, produce } = setup();
    produce(partitionForKey(key, 2));
    const start = h.time + 10;
    h.add('grow-partitions', { topic: 'g', partitions: 3 }, 'ok', { partitions: 3 }, { start, end: start + 100 });
    produce(partitionForKey(key, 2), { start: start + 20, end: start + 30 }); // during: old count
    produce(partitionForKey(key, 3), { start: start + 40, end: start + 50 }); // during: new count
    h.time = start + 200;
    produce(partitionForKey(key, 3));
    const result = check(h.history());
    expect(result.anomalies).toEqual([]);
    expect(result.topology).toMatchObject({ keyedRecordsJudged: 4, growths: 1, placedAfterGrowth: 2 });
  });

  it('finds a record placed on the old count after the growth was acknowledged, or on a count never in force', () => {
    const a = setup();
    a.h.add('grow-partitions', { topic: 'g', partitions: 3 }, 'ok', { partitions: 3 });
    a.produce(partitionForKey(key, 2));
    expect(types(a.h, ['wrong-key'])).toEqual(['wrong-key-partition']);

    const b = setup();
    b.produce(partitionForKey(key, 3));
    expect(types(b.h, ['wrong-key'])).toEqual(['wrong-key-partition']);
  });

  it("judges a replayed answer by the write's first attempt: placed before a growth, replayed after it", () => {
    // Found by `npm run chaos -- --quick` (seed 1329159123): attempt 1 appended on 3 partitions and
    // lost its answer; the growth to 4 completed; attempt 2 replayed attempt 1's offsets.
    const { h } = setup();
    const write = { topic: 'g', write: 'w-retried', idempotencyKey: 'k', records: [{ id: 'r9.0.0', key, partition: -1, bytes: 10 }] };
    const old = partitionForKey(key, 2);
    h.add('produce', { ...write, attempt: 1 }, 'info', undefined, { end: h.time + 5_000 });
    h.add('grow-partitions', { topic: 'g', partitions: 3 }, 'ok', { partitions: 3 });
    const replay = { offsets: [{ partition: old, offset: 0, timestamp: 1 }], replayed: true };
    h.add('produce', { ...write, attempt: 2 }, 'ok', replay);
    expect(types(h, ['wrong-key'])).toEqual([]);
    // The same answer not replayed was placed after the growth: on the old count it is wrong.
    const b = setup();
    b.h.add('grow-partitions', { topic: 'g', partitions: 3 }, 'ok', { partitions: 3 });
    b.h.add('produce', { ...write, attempt: 1 }, 'ok', { ...replay, replayed: false });
    expect(types(b.h, ['wrong-key'])).toEqual(['wrong-key-partition']);
  });

  it('counts a growth of unknown outcome as possibly done, and a refused one as not', () => {
    const a = setup();
    a.h.add('grow-partitions', { topic: 'g', partitions: 3 }, 'info', undefined, { end: Number.POSITIVE_INFINITY });
    a.produce(partitionForKey(key, 3));
    a.produce(partitionForKey(key, 2));
    expect(types(a.h, ['wrong-key'])).toEqual([]);

    const b = setup();
    b.h.add('grow-partitions', { topic: 'g', partitions: 3 }, 'fail', undefined, { error: '400 INVALID_PARTITIONS' });
    b.produce(partitionForKey(key, 3));
    expect(types(b.h, ['wrong-key'])).toEqual(['wrong-key-partition']);
  });
});

describe('chaos checker: a topic deleted and created again', () => {
  const setup = () => {
    const h = new HistoryBuilder();
    h.add('side-create-topic', { name: 's', partitions: 1 }, 'ok', {});
    let n = 0;
    const logs: string[][] = [[]];
    const produce = (options: { offset?: number } = {}) => {
      const log = logs.at(-1)!;
      const id = `r20.${n++}.0`;
      const offset = options.offset ?? log.length;
      log[offset] = id;
      h.add('side-produce', { topic: 's', write: `s${n}`, attempt: 1, records: [{ id, key: null, partition: 0, bytes: 10 }] }, 'ok', {
        offsets: [{ partition: 0, offset, timestamp: 1 }],
        replayed: false,
      });
      return id;
    };
    const read = (ids: (string | null)[], final = false) =>
      h.add('side-fetch', { partitions: [{ topic: 's', partition: 0, offset: 0 }], ...(final ? { final: true } : {}) }, 'ok', {
        partitions: [
          {
            topic: 's',
            partition: 0,
            offset: 0,
            records: ids.map((id, offset) => ({ offset, id, key: null, timestamp: 1 })),
            nextOffset: ids.length,
            highWatermark: ids.length,
            logStartOffset: 0,
          },
        ],
      });
    const recreate = () => {
      h.add('recreate-topic', { topic: 's', partitions: 1 }, 'ok', { deletedAt: h.time + 5, createdFrom: h.time + 6 });
      logs.push([]);
    };
    return { h, produce, read, recreate, logs };
  };

  it('finds nothing when each incarnation starts empty and keeps its acknowledged writes', () => {
    const { h, produce, read, recreate, logs } = setup();
    produce();
    produce();
    read(logs[0]!);
    recreate();
    produce();
    read(logs[1]!, true);
    const result = check(h.history());
    expect(result.anomalies).toEqual([]);
    expect(result.topology).toMatchObject({ recreations: 1, attributedWrites: 3, readsOfLaterIncarnations: 1 });
  });

  it('finds a read of the new incarnation returning a record of the old one', () => {
    const { h, produce, read, recreate, logs } = setup();
    const old = produce();
    recreate();
    produce();
    read([old, ...logs[1]!.slice(1)]);
    expect(types(h, ['stale-incarnation', 'incarnation-'])).toContain('stale-incarnation-read');
  });

  it('finds an acknowledged write of the last incarnation missing from its final read, and offsets reused within one', () => {
    const a = setup();
    a.recreate();
    a.produce();
    a.produce();
    a.read([a.logs[1]![0]!], true);
    expect(types(a.h, ['incarnation-'])).toEqual(['incarnation-lost-write']);

    const b = setup();
    b.produce();
    b.produce({ offset: 0 });
    expect(types(b.h, ['incarnation-'])).toEqual(['incarnation-inconsistent-offsets']);
  });

  it('attributes nothing to an incarnation while a re-creation is in progress', () => {
    const { h, produce, read } = setup();
    const old = produce();
    const start = h.time + 10;
    h.add(
      'recreate-topic',
      { topic: 's', partitions: 1 },
      'ok',
      { deletedAt: start + 50, createdFrom: start + 60 },
      { start, end: start + 100 },
    );
    h.add(
      'side-fetch',
      { partitions: [{ topic: 's', partition: 0, offset: 0 }] },
      'ok',
      {
        partitions: [
          {
            topic: 's',
            partition: 0,
            offset: 0,
            records: [{ offset: 0, id: old, key: null, timestamp: 1 }],
            nextOffset: 1,
            highWatermark: 1,
            logStartOffset: 0,
          },
        ],
      },
      { start: start + 20, end: start + 30 },
    );
    h.time = start + 200;
    read([]);
    expect(types(h, ['stale-incarnation', 'incarnation-'])).toEqual([]);
  });
});
