/**
 * A model consumer for the integration tests: it heartbeats like a well-behaved KIP-848 client
 * and records, from the responses it receives, when it may hold each partition. The
 * OwnershipLog then checks guarantee 5 over real time: for every partition, the holding
 * intervals of different members never overlap.
 *
 * A member holds a partition from the moment it receives a response granting it until the
 * moment it sends the request that releases it (leaves it out of ownedPartitions, or leaves) —
 * the server learns of the release only then, so a grant to someone else must be received
 * after that send. A member that stops heartbeating or is told it is no longer a member holds
 * its partitions at most until its last successful heartbeat was sent plus its session timeout.
 */
import { expect } from 'vitest';
import type { Client, Reply } from './support';

type Assignment = Record<string, number[]>;

const keysOf = (assignment: Assignment | undefined) => {
  const keys = new Set<string>();
  for (const [topic, partitions] of Object.entries(assignment ?? {})) for (const p of partitions) keys.add(`${topic}:${p}`);
  return keys;
};

export function toAssignment(keys: Iterable<string>): Assignment {
  const result: Assignment = {};
  for (const key of keys) {
    const at = key.lastIndexOf(':');
    (result[key.slice(0, at)] ??= []).push(Number(key.slice(at + 1)));
  }
  for (const list of Object.values(result)) list.sort((a, b) => a - b);
  return result;
}

export interface Interval {
  member: string;
  key: string;
  start: number;
  end: number;
}

export class OwnershipLog {
  readonly intervals: Interval[] = [];
  private readonly open = new Map<string, Map<string, number>>();
  private readonly lastHolder = new Map<string, string>();
  handoffs = 0;
  responses = 0;

  grant(member: string, keys: Iterable<string>, at: number): void {
    const open = this.open.get(member) ?? new Map<string, number>();
    this.open.set(member, open);
    for (const key of keys) {
      if (open.has(key)) continue;
      open.set(key, at);
      const last = this.lastHolder.get(key);
      if (last !== undefined && last !== member) this.handoffs++;
      this.lastHolder.set(key, member);
    }
  }

  release(member: string, keys: Iterable<string>, at: number): void {
    const open = this.open.get(member);
    if (!open) return;
    for (const key of keys) {
      const start = open.get(key);
      if (start === undefined) continue;
      this.intervals.push({ member, key, start, end: Math.max(start, at) });
      open.delete(key);
    }
  }

  releaseAll(member: string, at: number): void {
    this.release(member, [...(this.open.get(member)?.keys() ?? [])], at);
  }

  /** Closes what is still open at `at` and asserts no two members' intervals overlap on any partition. */
  check(at: number): void {
    for (const member of [...this.open.keys()]) this.releaseAll(member, at);
    const byKey = new Map<string, Interval[]>();
    for (const interval of this.intervals) byKey.set(interval.key, [...(byKey.get(interval.key) ?? []), interval]);
    for (const [key, list] of byKey) {
      list.sort((a, b) => a.start - b.start);
      for (let i = 0; i < list.length; i++) {
        for (let j = i + 1; j < list.length; j++) {
          const [a, b] = [list[i]!, list[j]!];
          if (a.member === b.member) continue;
          const overlap = Math.min(a.end, b.end) - Math.max(a.start, b.start);
          expect(
            overlap,
            `${key}: ${a.member} [${a.start.toFixed(1)}, ${a.end.toFixed(1)}] and ${b.member} [${b.start.toFixed(1)}, ${b.end.toFixed(1)}]`,
          ).toBeLessThanOrEqual(0);
        }
      }
    }
  }
}

export class ModelConsumer {
  memberId: string | undefined;
  epoch = 0;
  /** What the last response said it owns. */
  held = new Set<string>();
  /** Dropped on the last response; released in the server's eyes when the next request is sent. */
  private releasing = new Set<string>();
  lastOkSend = 0;
  dead = false;
  readonly errors: string[] = [];

  constructor(
    private readonly client: Client,
    private readonly group: string,
    readonly subscribedTopics: string[],
    readonly sessionTimeoutMs: number,
    private readonly log: OwnershipLog,
  ) {}

  async join(): Promise<void> {
    const sent = performance.now();
    const reply = await this.client.heartbeat(this.group, {
      memberEpoch: 0,
      subscribedTopics: this.subscribedTopics,
      sessionTimeoutMs: this.sessionTimeoutMs,
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    this.memberId = reply.body.memberId;
    this.held = new Set();
    this.releasing = new Set();
    this.lastOkSend = sent;
    this.apply(reply, sent, performance.now());
  }

  /** One heartbeat; returns the status. On an error the member abandons everything (the caller rejoins). */
  async beat(extra: Record<string, unknown> = {}): Promise<number> {
    const sent = performance.now();
    this.log.release(this.memberId!, this.releasing, sent);
    this.releasing.clear();
    const reply = await this.client.heartbeat(this.group, {
      memberId: this.memberId,
      memberEpoch: this.epoch,
      ownedPartitions: toAssignment(this.held),
      ...extra,
    });
    const received = performance.now();
    if (reply.status !== 200) {
      this.errors.push(reply.body?.error?.code ?? String(reply.status));
      this.log.releaseAll(this.memberId!, Math.min(received, this.lastOkSend + this.sessionTimeoutMs));
      this.held.clear();
      this.memberId = undefined;
      return reply.status;
    }
    this.apply(reply, sent, received);
    return 200;
  }

  private apply(reply: Reply, sent: number, received: number): void {
    this.log.responses++;
    if (received > this.lastOkSend + this.sessionTimeoutMs) {
      // The session lapsed between two successes: the member had to stop in between.
      this.log.releaseAll(this.memberId!, this.lastOkSend + this.sessionTimeoutMs);
      this.held.clear();
      this.releasing.clear();
    }
    this.lastOkSend = sent;
    const next = keysOf(reply.body.assignment);
    for (const key of this.held) if (!next.has(key)) this.releasing.add(key);
    this.log.grant(
      this.memberId!,
      [...next].filter((key) => !this.held.has(key)),
      received,
    );
    this.held = next;
    this.epoch = reply.body.memberEpoch;
  }

  async leave(): Promise<void> {
    const sent = performance.now();
    this.log.releaseAll(this.memberId!, sent);
    const reply = await this.client.heartbeat(this.group, { memberId: this.memberId, memberEpoch: -1 });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    this.held.clear();
    this.releasing.clear();
    this.memberId = undefined;
  }

  /** Stops heartbeating: the member may hold its partitions until its session runs out. */
  die(): void {
    this.dead = true;
    this.log.releaseAll(this.memberId!, this.lastOkSend + this.sessionTimeoutMs);
  }
}
