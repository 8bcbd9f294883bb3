/**
 * The history of a chaos run, in Jepsen's (Knossos's) model: every operation is a pair of
 * events, an `invoke` when it starts and a completion: `ok` (it happened), `fail` (it certainly
 * did not) or `info` (the outcome is unknown: a timeout, a reset connection, a 5xx). A process
 * does one operation at a time; after an `info` it is considered crashed and the worker goes on
 * under a new process id. The nemesis records its actions under the process `nemesis`.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export type EventType = 'invoke' | 'ok' | 'fail' | 'info';

export interface HistoryEvent {
  /** Position in the history (0, 1, 2 ...). */
  readonly index: number;
  /** The operation this event belongs to: the invoke and its completion share it. */
  readonly op: number;
  readonly process: number | 'nemesis';
  readonly type: EventType;
  /** What the operation does: produce, fetch, heartbeat, commit, kill, fault ... */
  readonly f: string;
  /** ms since the epoch (the runtime under test uses the same clock). */
  readonly time: number;
  /** The invoke carries the inputs; a completion carries the outputs. */
  readonly value: unknown;
  /** On fail or info: the status and error code, or the transport error. */
  readonly error?: string;
}

/** One operation with its invoke and completion joined, as the checker reads it. */
export interface Op<V = unknown, R = unknown> {
  readonly op: number;
  readonly process: number | 'nemesis';
  readonly f: string;
  /** ok, fail, or info (also for an invoke that never completed). */
  readonly type: 'ok' | 'fail' | 'info';
  readonly invokeTime: number;
  /** Infinity when the operation never completed. */
  readonly completeTime: number;
  readonly value: V;
  readonly result: R | undefined;
  readonly error?: string;
  /** Index of the invoke event, to point at in reports. */
  readonly index: number;
}

/** Joins invokes with their completions; an invoke left open counts as info, completing never. */
export function completeOps(events: readonly HistoryEvent[]): Op[] {
  const open = new Map<number, HistoryEvent>();
  const ops: Op[] = [];
  const byOp = new Map<number, number>();
  for (const event of events) {
    if (event.type === 'invoke') {
      open.set(event.op, event);
      byOp.set(event.op, ops.length);
      ops.push({
        op: event.op,
        process: event.process,
        f: event.f,
        type: 'info',
        invokeTime: event.time,
        completeTime: Number.POSITIVE_INFINITY,
        value: event.value,
        result: undefined,
        index: event.index,
      });
      continue;
    }
    const invoke = open.get(event.op);
    if (!invoke) throw new Error(`history event ${event.index} completes operation ${event.op}, which was never invoked`);
    open.delete(event.op);
    const position = byOp.get(event.op)!;
    ops[position] = {
      ...ops[position]!,
      type: event.type,
      completeTime: event.time,
      result: event.value,
      ...(event.error !== undefined ? { error: event.error } : {}),
    };
  }
  return ops;
}

/** Appends events to memory and, when given a path, to a JSONL file as they happen. */
export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  private nextOp = 0;
  private clientCompletions = 0;
  private readonly out: WriteStream | undefined;

  constructor(path?: string) {
    this.out = path ? createWriteStream(path) : undefined;
  }

  private push(event: Omit<HistoryEvent, 'index'>): HistoryEvent {
    const full = { index: this.events.length, ...event } as HistoryEvent;
    this.events.push(full);
    this.out?.write(`${JSON.stringify(full)}\n`);
    return full;
  }

  invoke(process: number | 'nemesis', f: string, value: unknown): number {
    const op = this.nextOp++;
    this.push({ op, process, type: 'invoke', f, time: Date.now(), value });
    return op;
  }

  complete(op: number, process: number | 'nemesis', f: string, type: Exclude<EventType, 'invoke'>, value: unknown, error?: string): void {
    if (process !== 'nemesis') this.clientCompletions++;
    this.push({ op, process, type, f, time: Date.now(), value, ...(error !== undefined ? { error } : {}) });
  }

  /** Client operations completed so far (nemesis actions excluded). */
  get completedClientOps(): number {
    return this.clientCompletions;
  }

  close(): Promise<void> {
    const out = this.out;
    if (!out) return Promise.resolve();
    return new Promise((resolve) => out.end(resolve));
  }
}
