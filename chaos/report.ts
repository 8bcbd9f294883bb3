/**
 * Writes a run's results folder: history.jsonl (written as the run goes), anomalies.json (each
 * anomaly with the full operations involved), summary.json and report.md (readable).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CheckResult, summaryLine } from './checker';
import { completeOps, type HistoryEvent, type Op } from './history';

export interface RunInfo {
  readonly seed: number;
  readonly mode: 'quick' | 'full';
  readonly command: string;
  readonly workloadMs: number;
  readonly totalMs: number;
  readonly kills: number;
  /** Anomaly types reported but not counted (`--tolerate`). */
  readonly tolerate: readonly string[];
}

export function writeReport(dir: string, events: readonly HistoryEvent[], result: CheckResult, info: RunInfo): void {
  const ops = new Map<number, Op>(completeOps(events).map((op) => [op.op, op]));
  const anomalies = result.anomalies.map((a) => ({
    ...a,
    ...(info.tolerate.includes(a.type) ? { tolerated: true } : {}),
    operations: a.ops.map((id) => ops.get(id)).filter(Boolean),
  }));
  const counted = { ...result, anomalies: result.anomalies.filter((a) => !info.tolerate.includes(a.type)) };
  writeFileSync(join(dir, 'anomalies.json'), `${JSON.stringify(anomalies, null, 2)}\n`);
  const { anomalies: _a, ...figures } = result;
  const summary = {
    ...info,
    ...figures,
    anomalies: result.anomalies.length,
    anomaliesByType: countBy(result.anomalies.map((a) => a.type)),
  };
  writeFileSync(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);

  const lines: string[] = [];
  lines.push(`# Chaos run, seed ${info.seed} (${info.mode})`, '');
  lines.push(`Replay: \`${info.command}\``, '');
  lines.push(`**${summaryLine(counted)}**`, '');
  if (info.tolerate.length) lines.push(`Tolerated (reported, not counted): ${info.tolerate.join(', ')}.`, '');
  lines.push(
    `Workload ${(info.workloadMs / 1000).toFixed(1)} s, whole run ${(info.totalMs / 1000).toFixed(1)} s, ${info.kills} SIGKILLs of the runtime.`,
    '',
  );
  lines.push('## Operations', '', '| f | ok | fail | info |', '| --- | ---: | ---: | ---: |');
  for (const [f, c] of Object.entries(result.byFunction).sort()) lines.push(`| ${f} | ${c.ok} | ${c.fail} | ${c.info} |`);
  lines.push('', '## Faults injected', '', '| fault | count |', '| --- | ---: |');
  for (const [kind, n] of Object.entries(result.faultsByKind).sort()) lines.push(`| ${kind} | ${n} |`);
  lines.push('', '## Log and groups', '');
  for (const [k, v] of Object.entries({ ...result.log, ...result.groups })) lines.push(`- ${k}: ${v}`);
  lines.push('', '## Triggers', '');
  for (const [k, v] of Object.entries(result.triggers)) lines.push(`- ${k}: ${v}`);
  lines.push('', '## Topology (re-created and grown topics)', '');
  for (const [k, v] of Object.entries(result.topology)) lines.push(`- ${k}: ${v}`);
  lines.push('', `## Anomalies (${result.anomalies.length})`, '');
  if (result.anomalies.length === 0) lines.push('None.');
  for (const [i, a] of anomalies.entries()) {
    lines.push(`### ${i + 1}. ${a.type} (guarantee ${a.guarantee})${'tolerated' in a ? ', tolerated' : ''}`, '', a.message, '');
    for (const op of a.operations.slice(0, 6)) {
      if (!op) continue;
      lines.push(
        `- op ${op.op} (process ${op.process}) ${op.f} ${op.type}${op.error ? ` [${op.error}]` : ''}, ${new Date(op.invokeTime).toISOString()} -> ${Number.isFinite(op.completeTime) ? `${Math.round(op.completeTime - op.invokeTime)} ms` : 'never completed'}`,
        `  - value: \`${truncate(JSON.stringify(op.value))}\``,
        `  - result: \`${truncate(JSON.stringify(op.result ?? null))}\``,
      );
    }
    lines.push('');
  }
  writeFileSync(join(dir, 'report.md'), `${lines.join('\n')}\n`);
}

const truncate = (s: string, n = 400) => (s.length > n ? `${s.slice(0, n)}…` : s);

function countBy(items: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}
