/**
 * The chaos checker: a history in, the anomalies it proves and the run's figures out. Pure, so
 * the unit tests feed it synthetic histories with and without each anomaly.
 */
import { completeOps, type HistoryEvent, type Op } from '../history';
import { checkGroups, type GroupStats } from './groups';
import { checkLog, type LogStats } from './log';
import type { Anomaly } from './model';
import { checkIncarnations, type IncarnationStats } from './incarnations';
import { checkPartitioning, type PartitioningStats } from './partitioning';
import { checkTriggers, type TriggerStats } from './triggers';

export type { Anomaly } from './model';

export interface CheckResult {
  readonly anomalies: Anomaly[];
  /** Client operations (nemesis actions excluded), by function and outcome. */
  readonly operations: number;
  readonly byFunction: Record<string, { ok: number; fail: number; info: number }>;
  /** Faults the nemesis injected: proxy faults plus process kills. */
  readonly faults: number;
  readonly faultsByKind: Record<string, number>;
  readonly log: LogStats;
  readonly groups: GroupStats;
  readonly triggers: TriggerStats;
  readonly topology: PartitioningStats & IncarnationStats;
}

export function check(events: readonly HistoryEvent[]): CheckResult {
  const ops = completeOps(events);
  return checkOps(ops);
}

export function checkOps(ops: readonly Op[]): CheckResult {
  const client = ops.filter((op) => op.process !== 'nemesis');
  const byFunction: CheckResult['byFunction'] = {};
  for (const op of client) {
    // Kafka clients' operations apart from HTTP's (the same checkers judge both).
    const name = (op.value as { via?: string } | undefined)?.via === 'kafka' ? `${op.f} (kafka)` : op.f;
    const counts = (byFunction[name] ??= { ok: 0, fail: 0, info: 0 });
    counts[op.type]++;
  }
  const faultsByKind: Record<string, number> = {};
  for (const op of ops) {
    if (op.process !== 'nemesis') continue;
    const kind = op.f === 'fault' ? `${(op.value as { service: string }).service} ${(op.value as { kind: string }).kind}` : op.f;
    if (op.f === 'fault' || op.f === 'kill') faultsByKind[kind] = (faultsByKind[kind] ?? 0) + 1;
  }
  const log = checkLog(client);
  const groups = checkGroups(ops);
  const triggers = checkTriggers(ops);
  const partitioning = checkPartitioning(client);
  const incarnations = checkIncarnations(client);
  return {
    anomalies: [...log.anomalies, ...groups.anomalies, ...triggers.anomalies, ...partitioning.anomalies, ...incarnations.anomalies],
    operations: client.length,
    byFunction,
    faults: Object.values(faultsByKind).reduce((a, b) => a + b, 0),
    faultsByKind,
    log: log.stats,
    groups: groups.stats,
    triggers: triggers.stats,
    topology: { ...partitioning.stats, ...incarnations.stats },
  };
}

/** The summary line a run ends with. */
export function summaryLine(result: Pick<CheckResult, 'operations' | 'faults' | 'anomalies'>): string {
  return `${result.operations} operations, ${result.faults} faults, ${result.anomalies.length} anomalies`;
}
