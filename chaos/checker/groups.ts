/**
 * Checks the consumer-group guarantees (5 and 6) on a history. Ownership is judged from what
 * the client can prove with real-time bounds, as Knossos reasons about invocation and completion:
 * member M certainly owns partition p from the completion of a heartbeat whose response assigned
 * p until the earliest of (a) the invocation of the heartbeat that released it (or left, or was
 * refused) and (b) the invocation of its last successful heartbeat plus its session timeout,
 * since the server records a heartbeat no earlier than its invocation. Two such intervals of
 * different members that overlap prove two owners at one instant. Ops left in doubt only
 * shorten intervals, so nothing uncertain is ever reported.
 */
import type { Op } from '../history';
import {
  type Anomaly,
  type CommitValue,
  type HeartbeatResult,
  type HeartbeatValue,
  type ReadCommitsResult,
  type ReadCommitsValue,
  pk,
} from './model';

export interface OwnershipInterval {
  readonly member: string;
  readonly partition: string;
  readonly start: number;
  readonly end: number;
  /** The heartbeat whose response granted it. */
  readonly grantOp: number;
  /** The op that ended it (release, leave, refusal), if any. */
  readonly endOp?: number;
}

export interface GroupStats {
  members: number;
  ownershipIntervals: number;
  commits: number;
  commitsThatMustFail: number;
  commitsRejected: number;
}

/** How long an info heartbeat may still be processed after the client gave up (handler retries). */
export const inDoubtHeartbeatMs = 30_000;
/**
 * How long after a SIGKILL a request the killed runtime had sent may still land: the proxy can
 * hold a request 1.5 s before forwarding it.
 */
export const afterKillMs = 5_000;
/** Slack on session expiry for timer granularity. */
const expirySlackMs = 100;

const contains = (set: Readonly<Record<string, readonly number[]>> | undefined, topic: string, partition: number) =>
  set?.[topic]?.includes(partition) ?? false;

/** The latest instant the server may still apply a heartbeat (its handler can outlive the client). */
export function latestProcessing(hb: Op, kills: readonly number[]): number {
  if (hb.type !== 'info') return hb.completeTime;
  const kill = kills.find((k) => k > hb.invokeTime);
  return Math.min(hb.invokeTime + inDoubtHeartbeatMs, (kill ?? Number.POSITIVE_INFINITY) + afterKillMs);
}

export function ownershipIntervals(
  heartbeats: readonly Op<HeartbeatValue, HeartbeatResult>[],
  kills: readonly number[] = [],
): OwnershipInterval[] {
  const byMember = new Map<string, Op<HeartbeatValue, HeartbeatResult>[]>();
  for (const hb of heartbeats) {
    const key = `${hb.value.group}\u0000${hb.value.memberId}`;
    let list = byMember.get(key);
    if (!list) byMember.set(key, (list = []));
    list.push(hb);
  }
  const intervals: OwnershipInterval[] = [];
  for (const list of byMember.values()) {
    list.sort((a, b) => a.invokeTime - b.invokeTime);
    const member = list[0]!.value.memberId;
    const group = list[0]!.value.group;
    const open = new Map<string, { start: number; grantOp: number; topic: string; partition: number }>();
    let sessionEnd = Number.NEGATIVE_INFINITY;
    // Heartbeats of unknown outcome: one applied late would release what it did not list.
    const inDoubt: Op<HeartbeatValue, HeartbeatResult>[] = [];
    const releasedLateUntil = (topic: string, partition: number) => {
      let until = Number.NEGATIVE_INFINITY;
      for (const hb of inDoubt) {
        const v = hb.value;
        const releases = v.memberEpoch <= 0 || (v.ownedPartitions !== undefined && !contains(v.ownedPartitions, topic, partition));
        if (releases) until = Math.max(until, latestProcessing(hb, kills));
      }
      return until;
    };
    const close = (key: string, end: number, endOp?: number) => {
      const o = open.get(key)!;
      open.delete(key);
      const finish = Math.min(end, sessionEnd);
      if (finish > o.start) {
        intervals.push({
          member,
          partition: `${group}:${pk(o.topic, o.partition)}`,
          start: o.start,
          end: finish,
          grantOp: o.grantOp,
          ...(endOp !== undefined ? { endOp } : {}),
        });
      }
    };
    for (const hb of list) {
      // The session may have lapsed before this heartbeat reached the server.
      for (const key of [...open.keys()]) if (sessionEnd < hb.invokeTime) close(key, sessionEnd);
      const v = hb.value;
      const leaving = v.memberEpoch === -1 || v.memberEpoch === 0;
      const refused = hb.type === 'fail';
      for (const [key, o] of [...open]) {
        const released = v.ownedPartitions !== undefined && !contains(v.ownedPartitions, o.topic, o.partition);
        if (leaving || refused || released) close(key, hb.invokeTime, hb.op);
      }
      if (hb.type === 'info') inDoubt.push(hb);
      if (hb.type !== 'ok' || !hb.result) continue;
      sessionEnd = Math.max(sessionEnd, hb.invokeTime + v.sessionTimeoutMs);
      if (v.memberEpoch === -1) continue;
      for (const [topic, partitions] of Object.entries(hb.result.assignment)) {
        for (const partition of partitions) {
          const key = pk(topic, partition);
          if (!open.has(key))
            open.set(key, { start: Math.max(hb.completeTime, releasedLateUntil(topic, partition)), grantOp: hb.op, topic, partition });
        }
      }
    }
    for (const key of [...open.keys()]) close(key, sessionEnd);
  }
  return intervals;
}

export function checkGroups(ops: readonly Op[]): { anomalies: Anomaly[]; stats: GroupStats; intervals: OwnershipInterval[] } {
  const anomalies: Anomaly[] = [];
  const heartbeats = ops.filter((op) => op.f === 'heartbeat') as Op<HeartbeatValue, HeartbeatResult>[];
  const commits = ops.filter((op) => op.f === 'commit') as Op<CommitValue>[];
  const reads = ops.filter((op) => op.f === 'read-commits' && op.type === 'ok' && op.result) as Op<ReadCommitsValue, ReadCommitsResult>[];
  const kills = ops.filter((op) => op.f === 'kill').map((op) => op.invokeTime);
  const intervals = ownershipIntervals(heartbeats, kills);
  const stats: GroupStats = {
    members: new Set(heartbeats.map((h) => `${h.value.group}/${h.value.memberId}`)).size,
    ownershipIntervals: intervals.length,
    commits: commits.length,
    commitsThatMustFail: 0,
    commitsRejected: commits.filter((c) => c.type === 'fail').length,
  };

  // --- Two owners at once.
  const byPartition = new Map<string, OwnershipInterval[]>();
  for (const interval of intervals) {
    let list = byPartition.get(interval.partition);
    if (!list) byPartition.set(interval.partition, (list = []));
    list.push(interval);
  }
  for (const [partition, list] of byPartition) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length && list[j]!.start < list[i]!.end; j++) {
        const a = list[i]!;
        const b = list[j]!;
        if (a.member === b.member) continue;
        anomalies.push({
          type: 'double-ownership',
          guarantee: 5,
          message: `${partition} was owned by ${a.member} and ${b.member} at once, for ${Math.round(Math.min(a.end, b.end) - b.start)} ms from ${new Date(b.start).toISOString()}`,
          ops: [a.grantOp, ...(a.endOp !== undefined ? [a.endOp] : []), b.grantOp],
          details: { partition, first: a, second: b },
        });
      }
    }
  }

  // --- Commits that the server must have rejected, because of what the member had already been told.
  const hbByMember = new Map<string, Op<HeartbeatValue, HeartbeatResult>[]>();
  for (const hb of heartbeats) {
    const key = `${hb.value.group}\u0000${hb.value.memberId}`;
    let list = hbByMember.get(key);
    if (!list) hbByMember.set(key, (list = []));
    list.push(hb);
  }
  const commitsByMember = new Map<string, Op<CommitValue>[]>();
  for (const c of commits) {
    const key = `${c.value.group}\u0000${c.value.memberId}`;
    let list = commitsByMember.get(key);
    if (!list) commitsByMember.set(key, (list = []));
    list.push(c);
  }
  const mustFail = new Map<number, string[]>();
  for (const c of commits) {
    const key = `${c.value.group}\u0000${c.value.memberId}`;
    const own = hbByMember.get(key) ?? [];
    const t = c.invokeTime;
    const reasons: string[] = [];
    const before = own.filter((hb) => hb.invokeTime < t);
    const left = before.find((hb) => hb.value.memberEpoch === -1 && hb.type === 'ok' && hb.completeTime < t);
    if (left) reasons.push(`the member had left (op ${left.op})`);
    const unknown = [...before, ...(commitsByMember.get(key) ?? [])].find(
      (op) => op.type === 'fail' && op.completeTime < t && op.error?.includes('UNKNOWN_MEMBER_ID'),
    );
    if (unknown) reasons.push(`the member had been told it was unknown (op ${unknown.op})`);
    const newer = before.find((hb) => hb.type === 'ok' && hb.completeTime < t && hb.result && hb.result.memberEpoch > c.value.memberEpoch);
    if (newer) reasons.push(`epoch ${c.value.memberEpoch} was stale: op ${newer.op} had given epoch ${newer.result!.memberEpoch}`);
    if (before.length) {
      const lastProcessed = Math.max(...before.map((hb) => latestProcessing(hb, kills)));
      const timeout = Math.max(...before.map((hb) => hb.value.sessionTimeoutMs));
      if (t > lastProcessed + timeout + expirySlackMs)
        reasons.push(`the session had expired ${Math.round(t - lastProcessed - timeout)} ms before`);
    }
    if (c.completeTime < Number.POSITIVE_INFINITY) {
      for (const o of c.value.offsets) {
        const partition = `${c.value.group}:${pk(o.topic, o.partition)}`;
        const owner = (byPartition.get(partition) ?? []).find(
          (i) => i.member !== c.value.memberId && i.start <= c.invokeTime && c.completeTime <= i.end,
        );
        if (owner) reasons.push(`${owner.member} owned ${partition} throughout the commit (granted by op ${owner.grantOp})`);
      }
    }
    if (reasons.length) mustFail.set(c.op, reasons);
  }
  stats.commitsThatMustFail = mustFail.size;

  // Which commit each read of committed offsets shows (the metadata is the commit's token).
  const byToken = new Map<string, Op<CommitValue>>();
  for (const c of commits) byToken.set(c.value.token, c);
  const seenBy = new Map<number, number[]>();
  for (const r of reads) {
    for (const o of r.result!.offsets) {
      if (o.metadata === null || o.metadata === undefined) continue;
      const c = byToken.get(o.metadata);
      if (!c) {
        anomalies.push({
          type: 'unexpected-commit',
          guarantee: 6,
          message: `committed offsets of ${r.value.group} show metadata ${JSON.stringify(o.metadata)}, which no commit sent`,
          ops: [r.op],
        });
        continue;
      }
      const committed = c.value.offsets.find((x) => x.topic === o.topic && x.partition === o.partition);
      if (!committed || committed.offset !== o.offset) {
        anomalies.push({
          type: 'unexpected-commit',
          guarantee: 6,
          message: `committed offsets of ${r.value.group} show ${o.topic}/${o.partition} at ${o.offset} with the token of commit op ${c.op}, which committed ${committed ? committed.offset : 'nothing there'}`,
          ops: [r.op, c.op],
        });
      }
      let list = seenBy.get(c.op);
      if (!list) seenBy.set(c.op, (list = []));
      list.push(r.op);
    }
  }

  for (const c of commits) {
    const reasons = mustFail.get(c.op);
    const readers = seenBy.get(c.op) ?? [];
    if (reasons && (c.type === 'ok' || readers.length)) {
      anomalies.push({
        type: 'fenced-commit',
        guarantee: 6,
        message: `commit op ${c.op} by ${c.value.memberId} (epoch ${c.value.memberEpoch}) ${c.type === 'ok' ? 'succeeded' : 'changed the committed offsets'} although ${reasons.join('; ')}`,
        ops: [c.op, ...readers.slice(0, 3)],
        details: { reasons, intent: c.value.intent },
      });
    } else if (c.type === 'fail' && readers.length) {
      anomalies.push({
        type: 'rejected-commit-visible',
        guarantee: 6,
        message: `commit op ${c.op} by ${c.value.memberId} was rejected (${c.error}) yet its offsets were read back`,
        ops: [c.op, ...readers.slice(0, 3)],
      });
    }
  }
  return { anomalies, stats, intervals };
}
