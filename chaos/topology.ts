/**
 * The workload's topology changes, nemesis-like: a side topic (`chaos-side`) written and read
 * over HTTP and deleted and created again under its name now and then (`recreate-topic`), and a
 * keyed topic (`chaos-grown`, records without a partition, placed by murmur2 on the key) whose
 * partitions grow mid-run (`grow-partitions`). The side topic's operations have their own names
 * (`side-produce`, `side-fetch`) so the log checker, which knows one incarnation per topic, leaves
 * them to chaos/checker/incarnations.ts; the grown topic's are ordinary produces and fetches, so
 * the log checker proves nothing lost, and chaos/checker/partitioning.ts the placement.
 */
import { call, type CallOutcome } from './client';
import type { FetchedPartition, FetchValue, ProduceValue, RecreateTopicResult } from './checker/model';
import type { Prng } from './prng';
import type { WorkloadContext } from './workload';

export const sideTopic = { name: 'chaos-side', partitions: 2 } as const;
export const grownTopic = { name: 'chaos-grown', initialPartitions: 2, maxPartitions: 6 } as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const idOf = (value: unknown): string | null => {
  const id = typeof value === 'string' ? value.split('|')[0]! : '';
  return /^r\d+\.\d+\.\d+$/.test(id) ? id : null;
};

async function recorded(
  ctx: WorkloadContext,
  process: number,
  f: string,
  value: unknown,
  run: () => Promise<CallOutcome>,
  toResult: (outcome: CallOutcome) => unknown,
): Promise<CallOutcome> {
  const op = ctx.recorder.invoke(process, f, value);
  const outcome = await run();
  ctx.recorder.complete(op, process, f, outcome.type, outcome.type === 'ok' ? toResult(outcome) : undefined, outcome.error);
  if (outcome.error === 'ECONNREFUSED') await sleep(300);
  return outcome;
}

/** Reads a side-topic partition from `offset`, as `side-fetch`. */
export async function sideFetch(ctx: WorkloadContext, process: number, partition: number, offset: number, final = false) {
  let fetched: FetchedPartition | undefined;
  const value: FetchValue = { partitions: [{ topic: sideTopic.name, partition, offset }], ...(final ? { final: true } : {}) };
  const outcome = await recorded(
    ctx,
    process,
    'side-fetch',
    value,
    () => call(ctx.url(), 'GET', `/v1/topics/${sideTopic.name}/partitions/${partition}/records?offset=${offset}&maxRecords=500`),
    (o) => {
      fetched = {
        topic: sideTopic.name,
        partition,
        offset,
        records: (o.body.records as { offset: number; value: unknown; key: string | null; timestamp: number }[]).map((r) => ({
          offset: r.offset,
          id: idOf(r.value),
          key: r.key ?? null,
          timestamp: r.timestamp,
        })),
        nextOffset: o.body.nextOffset,
        highWatermark: o.body.highWatermark,
        logStartOffset: o.body.logStartOffset,
      };
      return { partitions: [fetched] };
    },
  );
  return { outcome, fetched };
}

/** Produces to and reads the side topic; between incarnations its requests are refused (404), which is fine. */
export async function sideClient(ctx: WorkloadContext, prng: Prng): Promise<void> {
  let process = ctx.nextProcess();
  let writes = 0;
  const hw = [0, 0];
  while (!ctx.stopped()) {
    const partition = prng.int(0, sideTopic.partitions - 1);
    let outcome: CallOutcome;
    if (prng.chance(0.65)) {
      const write = `s${writes++}`;
      const records = Array.from({ length: prng.int(1, 3) }, (_, i) => ({ id: `r20.${writes}.${i}`, key: null, partition, bytes: 10 }));
      const value: ProduceValue = { topic: sideTopic.name, write, attempt: 1, records };
      outcome = await recorded(
        ctx,
        process,
        'side-produce',
        value,
        () =>
          call(ctx.url(), 'POST', `/v1/topics/${sideTopic.name}/records`, { records: records.map((r) => ({ value: r.id, partition })) }),
        (o) => ({ offsets: o.body.offsets, replayed: false }),
      );
    } else {
      const offset = prng.chance(0.5) ? 0 : prng.int(0, hw[partition]!);
      const read = await sideFetch(ctx, process, partition, offset);
      outcome = read.outcome;
      if (read.fetched) hw[partition] = read.fetched.highWatermark;
      else if (outcome.status === 416 || outcome.status === 404) hw[partition] = 0;
    }
    if (outcome.type === 'info') process = ctx.nextProcess();
    await sleep(prng.int(5, 60));
  }
}

/** Every 5-10 s: delete and re-create the side topic, or grow the keyed topic by a partition. */
export async function topology(ctx: WorkloadContext, prng: Prng): Promise<void> {
  let process = ctx.nextProcess();
  let partitions: number = grownTopic.initialPartitions;
  let turn = 0;
  while (!ctx.stopped()) {
    await sleep(prng.int(5000, 10_000));
    if (ctx.stopped()) break;
    if (turn++ % 2 === 1 && partitions < grownTopic.maxPartitions) {
      const target = partitions + 1;
      // Repeated until it answers: partitions only grow, so a retry after an unknown outcome is safe.
      for (let attempt = 0; attempt < 20 && !ctx.stopped(); attempt++) {
        const outcome = await recorded(
          ctx,
          process,
          'grow-partitions',
          { topic: grownTopic.name, partitions: target },
          () => call(ctx.url(), 'PATCH', `/v1/topics/${grownTopic.name}`, { partitions: target }),
          (o) => ({ partitions: o.body.partitions?.length ?? o.body.partitionCount ?? target }),
        );
        if (outcome.type === 'info') process = ctx.nextProcess();
        if (outcome.type === 'ok' || (outcome.type === 'fail' && outcome.status !== undefined && outcome.status !== 429)) break;
        await sleep(300);
      }
      partitions = target;
      continue;
    }
    // Delete, then create again under the name: one `recreate-topic` operation from the first
    // delete attempt to the confirmed creation, with when deletion was confirmed.
    const op = ctx.recorder.invoke(process, 'recreate-topic', { topic: sideTopic.name, partitions: sideTopic.partitions });
    let deletedAt: number | undefined;
    let createdFrom: number | undefined;
    let created = false;
    for (let attempt = 0; attempt < 40 && !created; attempt++) {
      if (deletedAt === undefined) {
        const outcome = await call(ctx.url(), 'DELETE', `/v1/topics/${sideTopic.name}`);
        if (outcome.type === 'ok' || outcome.status === 404) deletedAt = Date.now();
      } else {
        createdFrom ??= Date.now();
        const outcome = await call(ctx.url(), 'POST', '/v1/topics', { name: sideTopic.name, partitions: sideTopic.partitions });
        // 409: an earlier attempt of unknown outcome created it.
        if (outcome.type === 'ok' || outcome.status === 409) created = true;
      }
      if (!created) await sleep(deletedAt === undefined ? 300 : 100);
    }
    const result: RecreateTopicResult = { deletedAt: deletedAt ?? null, createdFrom: createdFrom ?? null };
    ctx.recorder.complete(op, process, 'recreate-topic', created ? 'ok' : 'info', result, created ? undefined : 'not re-created');
    if (!created) process = ctx.nextProcess();
  }
}
