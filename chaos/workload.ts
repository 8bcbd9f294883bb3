/**
 * The workload: concurrent producers, readers, group members (including zombies) and an admin,
 * each a loop of HTTP calls against the runtime, each call recorded as an operation. Every
 * choice comes from the worker's own seeded PRNG stream.
 */
import { call, type CallOutcome } from './client';
import type {
  CommitValue,
  FetchedPartition,
  FetchedRecord,
  FetchValue,
  HeartbeatValue,
  OffsetAtValue,
  ProducedRecord,
  ProduceValue,
  ReadCommitsValue,
} from './checker/model';
import type { HistoryRecorder } from './history';
import type { Prng } from './prng';

export interface TopicPlan {
  readonly name: string;
  readonly partitions: number;
  readonly config: Readonly<Record<string, string | number>>;
  /** Records carry keys from a small set (for compaction). */
  readonly keyed: boolean;
  /** Records are sent without a partition, placed by their key; the topic's partitions grow mid-run (chaos/topology.ts). */
  readonly byKey?: boolean;
}

export const topicPlan: readonly TopicPlan[] = [
  { name: 'chaos-plain', partitions: 4, config: {}, keyed: false },
  { name: 'chaos-retained', partitions: 2, config: { 'retention.bytes': 4000 }, keyed: false },
  { name: 'chaos-compacted', partitions: 2, config: { 'cleanup.policy': 'compact' }, keyed: true },
  // A trigger delivers this one to the function of chaos/trigger-function.ts (chaos/checker/triggers.ts).
  { name: 'chaos-triggered', partitions: 2, config: {}, keyed: false },
  { name: 'chaos-grown', partitions: 2, config: {}, keyed: true, byKey: true },
];
export const triggerPlan = { trigger: 'chaos-trigger', topic: 'chaos-triggered', functionName: 'chaos-recorder', batchSize: 10 } as const;
export const groupId = 'chaos-group';
export const groupTopic = 'chaos-plain';

export interface WorkloadContext {
  readonly recorder: HistoryRecorder;
  /** The runtime's current base URL. */
  url(): string;
  stopped(): boolean;
  readonly startedAt: number;
  /** Known bounds per partition, to aim fetches at interesting offsets. */
  readonly bounds: Map<string, { lso: number; hw: number }>;
  nextProcess(): number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Records one operation around one HTTP call. */
async function operation<T>(
  ctx: WorkloadContext,
  process: number,
  f: string,
  value: unknown,
  run: () => Promise<CallOutcome>,
  toResult: (outcome: CallOutcome) => T,
): Promise<CallOutcome> {
  const op = ctx.recorder.invoke(process, f, value);
  const outcome = await run();
  // A refusal's message goes into the history too, for the report (the checker reads only the error code).
  let result: unknown = outcome.body?.error?.message ? { message: outcome.body.error.message } : undefined;
  if (outcome.type === 'ok') {
    try {
      result = toResult(outcome);
    } catch (error) {
      ctx.recorder.complete(op, process, f, 'info', undefined, `unreadable response: ${(error as Error).message}`);
      return { type: 'info', error: 'unreadable response' };
    }
  }
  ctx.recorder.complete(op, process, f, outcome.type, result, outcome.error);
  // The runtime is down (killed, restarting): wait for it rather than spin.
  if (outcome.error === 'ECONNREFUSED') await sleep(300);
  return outcome;
}

/** A worker's identity in the history: a new process after an info, as in Jepsen. */
class Process {
  id: number;
  constructor(private readonly ctx: WorkloadContext) {
    this.id = ctx.nextProcess();
  }
  after(outcome: CallOutcome): void {
    if (outcome.type === 'info') this.id = this.ctx.nextProcess();
  }
}

const idOf = (value: unknown): string | null => {
  if (typeof value !== 'string') return null;
  const id = value.split('|')[0]!;
  return /^r\d+\.\d+\.\d+$/.test(id) ? id : null;
};

function toFetched(part: {
  topic: string;
  partition: number;
  offset: number;
  records?: { offset: number; value: unknown; key: string | null; timestamp: number }[];
  nextOffset?: number;
  highWatermark?: number;
  logStartOffset?: number;
  error?: { code: string };
}): FetchedPartition {
  if (part.error)
    return {
      topic: part.topic,
      partition: part.partition,
      offset: part.offset,
      records: [],
      nextOffset: part.offset,
      highWatermark: 0,
      logStartOffset: 0,
      error: part.error.code,
    };
  const records: FetchedRecord[] = (part.records ?? []).map((r) => ({
    offset: r.offset,
    id: idOf(r.value),
    key: r.key ?? null,
    timestamp: r.timestamp,
  }));
  return {
    topic: part.topic,
    partition: part.partition,
    offset: part.offset,
    records,
    nextOffset: part.nextOffset!,
    highWatermark: part.highWatermark!,
    logStartOffset: part.logStartOffset!,
  };
}

function noteBounds(ctx: WorkloadContext, part: FetchedPartition): void {
  if (part.error) return;
  const key = `${part.topic}/${part.partition}`;
  const known = ctx.bounds.get(key) ?? { lso: 0, hw: 0 };
  ctx.bounds.set(key, { lso: Math.max(known.lso, part.logStartOffset), hw: Math.max(known.hw, part.highWatermark) });
}

export async function fetchOne(
  ctx: WorkloadContext,
  process: number,
  topic: string,
  partition: number,
  offset: number,
  maxRecords: number,
  final = false,
) {
  const value: FetchValue = { partitions: [{ topic, partition, offset }], ...(final ? { final: true } : {}) };
  let fetched: FetchedPartition | undefined;
  const outcome = await operation(
    ctx,
    process,
    'fetch',
    value,
    () => call(ctx.url(), 'GET', `/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}&maxRecords=${maxRecords}`),
    (o) => {
      fetched = toFetched({ topic, partition, offset, ...o.body });
      return { partitions: [fetched] };
    },
  );
  if (fetched) noteBounds(ctx, fetched);
  return { outcome, fetched };
}

// --- Producers -------------------------------------------------------------------------------

export async function producer(ctx: WorkloadContext, worker: number, prng: Prng): Promise<void> {
  const proc = new Process(ctx);
  let writes = 0;
  while (!ctx.stopped()) {
    const roll = prng.next();
    const plan =
      roll < 0.45 ? topicPlan[0]! : roll < 0.6 ? topicPlan[1]! : roll < 0.75 ? topicPlan[2]! : roll < 0.9 ? topicPlan[3]! : topicPlan[4]!;
    const write = `p${worker}.${writes++}`;
    const count = prng.int(1, plan.name === 'chaos-plain' ? 5 : 3);
    const multi = plan.partitions > 1 && prng.chance(0.4);
    const single = prng.int(0, plan.partitions - 1);
    const padded = prng.chance(0.2);
    const big = plan.name === 'chaos-plain' && prng.chance(0.03);
    const records: (ProducedRecord & { value: string })[] = [];
    for (let i = 0; i < count; i++) {
      const id = `r${worker}.${writes}.${i}`;
      const value = big && i === 0 ? `${id}|${'b'.repeat(6000)}` : padded ? `${id}|${'x'.repeat(1200)}` : id;
      const key = plan.byKey ? `g${prng.int(0, 31)}` : plan.keyed ? `k${prng.int(0, 7)}` : null;
      const partition = plan.byKey ? -1 : multi ? prng.int(0, plan.partitions - 1) : single;
      records.push({ id, key, partition, bytes: Buffer.byteLength(value) + (key ? Buffer.byteLength(key) : 0), value });
    }
    const keyed = prng.chance(0.6);
    const idempotencyKey = keyed ? `idem-${ctx.startedAt}-${write}` : undefined;
    const body = { records: records.map((r) => ({ key: r.key, value: r.value, ...(r.partition >= 0 ? { partition: r.partition } : {}) })) };
    const value = (attempt: number): ProduceValue => ({
      topic: plan.name,
      write,
      attempt,
      ...(idempotencyKey ? { idempotencyKey } : {}),
      records: records.map(({ value: _v, ...r }) => r),
    });
    for (let attempt = 1; attempt <= 5 && !ctx.stopped(); attempt++) {
      const outcome = await operation(
        ctx,
        proc.id,
        'produce',
        value(attempt),
        () => call(ctx.url(), 'POST', `/v1/topics/${plan.name}/records`, body, idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        (o) => ({ offsets: o.body.offsets, replayed: o.headers?.get('idempotent-replayed') === 'true' }),
      );
      proc.after(outcome);
      if (outcome.type === 'ok') break;
      if (outcome.type === 'fail' && !outcome.error?.startsWith('429') && outcome.error !== 'ECONNREFUSED') break;
      // After an unknown outcome: retry with the same key (safe), or without one half the time.
      if (outcome.type === 'info' && !keyed && !prng.chance(0.5)) break;
      await sleep(prng.int(20, 200));
    }
  }
}

// --- Readers ---------------------------------------------------------------------------------

export async function reader(ctx: WorkloadContext, prng: Prng): Promise<void> {
  const proc = new Process(ctx);
  while (!ctx.stopped()) {
    const plan = prng.pick(topicPlan);
    const partition = prng.int(0, plan.partitions - 1);
    const bounds = ctx.bounds.get(`${plan.name}/${partition}`) ?? { lso: 0, hw: 0 };
    const offset = prng.chance(0.3) ? bounds.hw : prng.int(bounds.lso, Math.max(bounds.lso, bounds.hw));
    const roll = prng.next();
    let outcome: CallOutcome;
    if (roll < 0.5) {
      ({ outcome } = await fetchOne(ctx, proc.id, plan.name, partition, offset, prng.int(1, 100)));
    } else if (roll < 0.7) {
      const parts = [...new Set([partition, prng.int(0, plan.partitions - 1)])].map((p) => {
        const b = ctx.bounds.get(`${plan.name}/${p}`) ?? { lso: 0, hw: 0 };
        return { topic: plan.name, partition: p, offset: prng.int(b.lso, Math.max(b.lso, b.hw)) };
      });
      const value: FetchValue = { partitions: parts };
      let fetched: FetchedPartition[] = [];
      outcome = await operation(
        ctx,
        proc.id,
        'fetch',
        value,
        () => call(ctx.url(), 'POST', '/v1/fetch', { partitions: parts, maxBytes: prng.int(200, 100_000) }),
        (o) => {
          fetched = (o.body.results as Parameters<typeof toFetched>[0][]).map((r, i) => toFetched({ ...r, offset: parts[i]!.offset }));
          return { partitions: fetched };
        },
      );
      for (const f of fetched) noteBounds(ctx, f);
    } else if (roll < 0.9) {
      const at: OffsetAtValue['at'] = prng.chance(0.25) ? 'earliest' : prng.chance(0.33) ? 'latest' : prng.int(ctx.startedAt, Date.now());
      const value: OffsetAtValue = { topic: plan.name, partition, at };
      outcome = await operation(
        ctx,
        proc.id,
        'offset-at',
        value,
        () => call(ctx.url(), 'GET', `/v1/topics/${plan.name}/partitions/${partition}/offsets?at=${at}`),
        (o) => ({ offset: o.body.offset ?? null }),
      );
    } else {
      outcome = await readCommits(ctx, proc.id, false);
    }
    proc.after(outcome);
    await sleep(prng.int(0, 30));
  }
}

export function readCommits(ctx: WorkloadContext, process: number, final: boolean): Promise<CallOutcome> {
  const value: ReadCommitsValue = { group: groupId, ...(final ? { final: true } : {}) };
  return operation(
    ctx,
    process,
    'read-commits',
    value,
    () => call(ctx.url(), 'GET', `/v1/groups/${groupId}/offsets`),
    (o) => ({
      offsets: (o.body.offsets as { topic: string; partition: number; offset: number; metadata?: string | null }[]).map((x) => ({
        topic: x.topic,
        partition: x.partition,
        offset: x.offset,
        metadata: x.metadata ?? null,
      })),
    }),
  );
}

// --- Group members ---------------------------------------------------------------------------

export async function member(ctx: WorkloadContext, worker: number, prng: Prng, positions: Map<number, number>): Promise<void> {
  const proc = new Process(ctx);
  const sessionTimeoutMs = 2000;
  let incarnation = 0;
  let commits = 0;
  let memberId = '';
  let epoch = 0;
  let assignment: number[] = [];
  let lastHeartbeat = 0;
  let joined = false;

  const heartbeat = async (memberEpoch: number, owned?: number[]) => {
    const value: HeartbeatValue = {
      group: groupId,
      memberId,
      memberEpoch,
      sessionTimeoutMs,
      ...(memberEpoch === 0 ? { subscribedTopics: [groupTopic] } : {}),
      ...(owned ? { ownedPartitions: { [groupTopic]: owned } } : {}),
    };
    const sent = Date.now();
    const outcome = await operation(
      ctx,
      proc.id,
      'heartbeat',
      value,
      () => call(ctx.url(), 'POST', `/v1/groups/${groupId}/heartbeat`, value, {}, 3000),
      (o) => ({ memberId: o.body.memberId, memberEpoch: o.body.memberEpoch, assignment: o.body.assignment ?? {} }),
    );
    proc.after(outcome);
    if (outcome.type === 'ok') {
      lastHeartbeat = sent;
      epoch = outcome.body.memberEpoch;
      assignment = [...((outcome.body.assignment?.[groupTopic] as number[] | undefined) ?? [])];
    }
    return outcome;
  };

  const commit = async (partitions: number[], memberEpoch: number, intent: string) => {
    const token = `c${worker}.${incarnation}.${commits++}`;
    const offsets = partitions.map((p) => ({ topic: groupTopic, partition: p, offset: positions.get(p) ?? 0 }));
    const value: CommitValue = { group: groupId, memberId, memberEpoch, token, offsets, intent };
    const outcome = await operation(
      ctx,
      proc.id,
      'commit',
      value,
      () =>
        call(ctx.url(), 'POST', `/v1/groups/${groupId}/offsets`, {
          memberId,
          memberEpoch,
          offsets: offsets.map((o) => ({ ...o, metadata: token })),
        }),
      () => ({}),
    );
    proc.after(outcome);
    return outcome;
  };

  while (!ctx.stopped()) {
    if (!joined) {
      memberId = `m${worker}-${ctx.startedAt % 100000}-${incarnation++}`;
      assignment = [];
      const outcome = await heartbeat(0);
      joined = outcome.type === 'ok';
      if (!joined) await sleep(200);
      continue;
    }
    const roll = prng.next();
    if (Date.now() - lastHeartbeat >= prng.int(250, 450) || roll < 0.15) {
      const outcome = await heartbeat(epoch, assignment);
      if (outcome.type === 'fail' && /FENCED|UNKNOWN_MEMBER/.test(outcome.error ?? '')) joined = false;
      if (outcome.type !== 'ok' && Date.now() - lastHeartbeat > sessionTimeoutMs) joined = false; // client-side rule: stop after the session
      continue;
    }
    if (roll < 0.65 && assignment.length) {
      // Consume a partition it owns and commit the position.
      const p = prng.pick(assignment);
      const { fetched } = await fetchOne(ctx, proc.id, groupTopic, p, positions.get(p) ?? 0, prng.int(1, 50));
      if (fetched && !fetched.error) positions.set(p, fetched.nextOffset);
      else if (fetched?.error) positions.delete(p);
      if (Date.now() - lastHeartbeat < sessionTimeoutMs - 300) await commit([p], epoch, 'normal');
      continue;
    }
    if (roll < 0.7 && epoch > 1) {
      await commit(assignment.length ? assignment : [0], epoch - 1, 'stale-epoch');
      continue;
    }
    if (roll < 0.72) {
      // Leave, then commit once more with the old identity: must be rejected.
      const held = assignment;
      const oldEpoch = epoch;
      const outcome = await heartbeat(-1);
      if (outcome.type === 'ok' && held.length) await commit(held, oldEpoch, 'after-leave');
      joined = false;
      continue;
    }
    if (roll < 0.735) {
      // Become a zombie: stop heartbeating past the session and keep committing.
      const held = assignment.length ? assignment : [0];
      const until = Date.now() + sessionTimeoutMs + prng.int(300, 1500);
      while (Date.now() < until && !ctx.stopped()) {
        await commit(held, epoch, 'zombie');
        await sleep(prng.int(150, 400));
      }
      joined = false;
      continue;
    }
    await sleep(prng.int(10, 60));
  }
  if (joined) await heartbeat(-1);
}

// --- Admin: config changes -------------------------------------------------------------------

export async function admin(ctx: WorkloadContext, prng: Prng): Promise<void> {
  const proc = new Process(ctx);
  while (!ctx.stopped()) {
    await sleep(prng.int(800, 2500));
    const choice = prng.int(0, 2);
    const [topic, config] =
      choice === 0
        ? ['chaos-retained', { 'retention.bytes': prng.pick([2000, 4000, 20_000, -1]) }]
        : choice === 1
          ? ['chaos-retained', { 'retention.ms': prng.pick([3000, 15_000, 604_800_000]) }]
          : ['chaos-plain', { 'max.message.bytes': prng.pick([3000, 1_048_576]) }];
    const value = { topic, config };
    const outcome = await operation(
      ctx,
      proc.id,
      'alter-config',
      value,
      () => call(ctx.url(), 'PATCH', `/v1/topics/${topic}`, { config }),
      () => ({}),
    );
    proc.after(outcome);
  }
}
