/**
 * Builds synthetic chaos histories for the checker's tests: a tiny simulated Logway (one topic,
 * a few partitions) whose acknowledgements, fetches and final reads are consistent by
 * construction, and into which a test can inject exactly one anomaly.
 */
import type { HistoryEvent } from '../../chaos/history';
import type { FetchedRecord, ProducedRecord } from '../../chaos/checker/model';

export class HistoryBuilder {
  readonly events: HistoryEvent[] = [];
  private op = 0;
  time = 1_000_000;

  /** Records one operation: invoke at `start`, completion at `end` (Infinity: never completes). */
  add(
    f: string,
    value: unknown,
    type: 'ok' | 'fail' | 'info',
    result?: unknown,
    options: { process?: number | 'nemesis'; start?: number; end?: number; error?: string } = {},
  ): number {
    const op = this.op++;
    const start = options.start ?? (this.time += 10);
    const end = options.end ?? (this.time += 10);
    const process = options.process ?? op;
    this.events.push({ index: this.events.length, op, process, type: 'invoke', f, time: start, value });
    if (end !== Number.POSITIVE_INFINITY) {
      this.events.push({
        index: this.events.length,
        op,
        process,
        type,
        f,
        time: end,
        value: result,
        ...(options.error !== undefined ? { error: options.error } : type === 'ok' ? {} : { error: 'error' }),
      });
    }
    return op;
  }

  /** Events sorted by time, as a recorder would have written them. */
  history(): HistoryEvent[] {
    return [...this.events].sort((a, b) => a.time - b.time || a.index - b.index).map((e, index) => ({ ...e, index }));
  }
}

/** The simulated log: partition -> records in offset order. */
export class SimLog {
  readonly partitions: { id: string; key: string | null; timestamp: number }[][];
  lso: number[];

  constructor(
    readonly topic: string,
    count: number,
  ) {
    this.partitions = Array.from({ length: count }, () => []);
    this.lso = Array.from({ length: count }, () => 0);
  }

  append(records: readonly ProducedRecord[], timestamp: number): { partition: number; offset: number; timestamp: number }[] {
    return records.map((r) => {
      const log = this.partitions[r.partition]!;
      log.push({ id: r.id, key: r.key, timestamp });
      return { partition: r.partition, offset: log.length - 1, timestamp };
    });
  }

  read(partition: number, from = this.lso[partition]!, to = this.partitions[partition]!.length): FetchedRecord[] {
    return this.partitions[partition]!.slice(from, to).map((r, i) => ({ offset: from + i, id: r.id, key: r.key, timestamp: r.timestamp }));
  }

  fetchResult(partition: number, from = this.lso[partition]!, records = this.read(partition, from)) {
    const hw = this.partitions[partition]!.length;
    const last = records.at(-1);
    return {
      partitions: [
        {
          topic: this.topic,
          partition,
          offset: from,
          records,
          nextOffset: last ? last.offset + 1 : from,
          highWatermark: hw,
          logStartOffset: this.lso[partition]!,
        },
      ],
    };
  }
}

export const record = (id: string, partition: number, key: string | null = null): ProducedRecord => ({ id, key, partition, bytes: 20 });
