/**
 * The chaos run's trigger function, served by the runtime under test's local Lambda Invoke API
 * (LOGWAY_FUNCTIONS, infra/local/lambda-server.ts) in a worker thread of that process: it tells
 * the harness's invocation recorder (CHAOS_RECORDER_URL, chaos/trigger-recorder.ts) when it starts
 * and what it was given (partition, offsets, the record ids in the values, the runtime's pid as
 * the dispatcher's identity, its own clock), asks whether to fail (the harness decides from its
 * seeded PRNG, so a run replays) and how long to take (mostly nothing; sometimes up to 0.6 s, so
 * kills land mid-invocation), and reports its end.
 */
import type { SelfManagedKafkaEvent } from '../shared/triggers/events';

const recorder = process.env.CHAOS_RECORDER_URL;

const post = async (path: string, body: unknown): Promise<{ op: number; fail?: boolean; delayMs?: number }> => {
  const response = await fetch(`${recorder}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(2000),
  });
  if (!response.ok) throw new Error(`chaos recorder answered ${response.status}`);
  return (await response.json()) as { op: number; fail?: boolean; delayMs?: number };
};

export const handler = async (event: SelfManagedKafkaEvent, context: { awsRequestId: string }): Promise<null> => {
  const started = Date.now();
  if (!recorder) throw new Error('CHAOS_RECORDER_URL is not set');
  const batches = Object.values(event.records);
  const records = batches.flat();
  const first = records[0];
  const value = {
    topic: first?.topic ?? '',
    partition: first?.partition ?? -1,
    offsets: records.map((r) => r.offset),
    ids: records.map((r) => Buffer.from(r.value, 'base64').toString('utf8').split('|')[0] ?? null),
    partitions: batches.length,
    pid: process.pid,
    requestId: context.awsRequestId,
    started,
  };
  const { op, fail, delayMs } = await post('/start', value);
  if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
  if (fail) {
    await post('/end', { op, outcome: 'error', ended: Date.now() });
    throw new Error('chaos: injected function error');
  }
  await post('/end', { op, outcome: 'ok', ended: Date.now() });
  return null;
};
