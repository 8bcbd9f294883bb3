/**
 * Today's append beside the layout-v2 append (docs/storage.md, "Append redesign"), on the same
 * DynamoDB Local in the same run, interleaved so that the machine's drift hits both alike:
 *
 * - `transaction` (today): TransactWriteItems of appendTransactItems (conditional Update of the
 *   partition item + Put of the batch item); a loser takes the head from the failed condition
 *   and retries after appendConflictBackoff, exactly as shared/log/append.ts does.
 * - `chunks` (v2): shared/log/chunk-append.ts, one writer context per client (as separate Lambda
 *   instances share nothing).
 * - `partition-per-client` (a bound, not a design): the same v2 engine, but each client appends to
 *   a partition of its own, so no two requests ever touch one item. What DynamoDB Local on this
 *   machine allows W clients at all: the ceiling any one-partition design is measured against.
 *
 * Each client appends one 1 KiB record per request to ONE partition (but for the bound). Reported per cell:
 * appends/s, latency, write units DynamoDB reported for the successful requests, and the failed
 * conditional writes per append (billed too, at the item's size).
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { createTableInput } from '../infra/local/bootstrap';
import { chunkEntryOf, conflictBackoffMs, type PreparedBatch } from '../shared/log/append';
import { appendTransactItems, layout1BatchesTable } from './layout1';
import { appendChunk } from '../shared/log/chunk-append';
import type { ChunkView } from '../shared/log/chunk-plan';
import { emptyHead } from '../shared/log/partition-heads';
import { sleep } from '../shared/runtime/retry';
import { tables as tableDefinitions } from '../shared/storage/tables';
import { sampleBatch } from './workloads';
import { billDynamoCall, failedCall } from './cost';
import { closedLoop, floorDynamoClient, type LatencySummary } from './harness';

export type AppendShape = 'transaction' | 'chunks' | 'partition-per-client';

export interface AppendShapeCell {
  readonly shape: AppendShape;
  readonly clients: number;
  readonly repetition: number;
  readonly appends: number;
  readonly failed: number;
  readonly appendsPerSecond: number;
  readonly latency: LatencySummary;
  /** Write units DynamoDB reported for the requests that succeeded, per append. */
  readonly reportedWriteUnitsPerAppend: number;
  /**
   * What AWS would bill per append: the reported units plus each failed write as bench/cost.ts
   * bills it (a failed join at the size of the chunk it failed on, a cancelled transaction at its
   * writes), which DynamoDB does not report.
   */
  readonly billedWriteUnitsPerAppend: number;
  /** Writes that failed their condition (or cancelled transactions), per append. */
  readonly failedWritesPerAppend: number;
}

export interface AppendShapeOptions {
  readonly cellMs: number;
  readonly clients: readonly number[];
  readonly repetitions: number;
}

export async function runAppendShapes(
  endpoint: string,
  embedded: boolean,
  options: AppendShapeOptions,
  progress: (line: string) => void = () => undefined,
): Promise<AppendShapeCell[]> {
  const prefix = `bench-shapes-${randomUUID().slice(0, 8)}`;
  const raw = floorDynamoClient(endpoint, embedded);
  const dynamo = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  // DynamoDB reports no capacity for a write that failed its condition but bills it: price each
  // one as the HTTP bench does (bench/cost.ts), at the size of the item it failed on.
  let failedWriteUnits = 0;
  (dynamo.middlewareStack as any).add(
    (next: any, context: any) => async (args: any) => {
      try {
        return await next(args);
      } catch (error) {
        const failed = failedCall(error);
        failedWriteUnits += billDynamoCall(String(context.commandName), args.input, failed.output, failed.outcome).wru;
        throw error;
      }
    },
    { step: 'initialize', name: 'logwayBenchFailedWrites' },
  );
  const tables = { partitions: `${prefix}-partitions`, batches: `${prefix}-batches`, idempotency: `${prefix}-idempotency` };
  await raw.send(new CreateTableCommand(createTableInput(tableDefinitions.partitions, tables.partitions)));
  await raw.send(new CreateTableCommand(createTableInput(layout1BatchesTable, tables.batches)));
  const chunkTableName = `${prefix}-chunks`;
  // Without the chunks table's stream, as the layout-1 baseline's tables here have none: in a full
  // `npm run bench`, after the HTTP workloads had filled DynamoDB Local's streams, chunk cells on a
  // stream-enabled table ran at a third of their rate in a fresh DynamoDB Local (59-65 against
  // 177-224 appends/s at one client) while the stream-less baseline did not slow. A stream costs
  // AWS writers no latency.
  await raw.send(new CreateTableCommand(createTableInput({ ...tableDefinitions.chunks, stream: undefined }, chunkTableName)));
  const batch = sampleBatch(1);
  /** The batch both shapes append: one 1 KiB record, inline. */
  const oneRecord = (now: number): PreparedBatch => ({
    partition: 0,
    bytes: batch,
    recordCount: 1,
    firstTimestamp: now,
    maxTimestamp: now,
    location: { kind: 'inline' },
  });

  async function transactionCell(clients: number, durationMs: number) {
    const topicId = randomUUID();
    const heads = Array.from({ length: clients }, () => 0);
    let units = 0;
    let failedWrites = 0;
    const failedUnitsBefore = failedWriteUnits;
    const loop = await closedLoop(clients, durationMs, async (worker) => {
      for (let attempt = 0; ; attempt++) {
        const head = heads[worker]!;
        const prepared = oneRecord(Date.now());
        try {
          const output = await dynamo.send(
            new TransactWriteCommand({
              TransactItems: appendTransactItems(
                tables,
                topicId,
                [prepared],
                new Map([[0, { ...emptyHead, highWatermark: head }]]),
                new Map([[0, head]]),
                undefined,
              ),
              ReturnConsumedCapacity: 'TOTAL',
            }),
          );
          units += (output.ConsumedCapacity ?? []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
          heads[worker] = head + 1;
          return 1;
        } catch (error) {
          if (!(error instanceof TransactionCanceledException)) throw error;
          failedWrites++;
          const update = error.CancellationReasons?.[0];
          if (update?.Code === 'ConditionalCheckFailed' && update.Item) heads[worker] = Number(unmarshall(update.Item).highWatermark ?? 0);
          if (performance.now() > 0 && attempt > 2000) return 'gave up';
          await sleep(conflictBackoffMs(attempt));
        }
      }
    });
    return { loop, units, failedWrites, failedUnits: failedWriteUnits - failedUnitsBefore };
  }

  async function chunksCell(clients: number, durationMs: number, partitionPerClient = false) {
    const topicKey = randomUUID();
    const partitionKey = (worker: number) => `${topicKey}:${partitionPerClient ? worker : 0}`;
    const contexts = Array.from({ length: clients }, () => ({
      dynamo,
      table: chunkTableName,
      heads: new Map<string, ChunkView>(),
      contendedUntil: new Map<string, number>(),
    }));
    let units = 0;
    let failedWrites = 0;
    const failedUnitsBefore = failedWriteUnits;
    const loop = await closedLoop(clients, durationMs, async (worker) => {
      const now = Date.now();
      const outcome = await appendChunk(contexts[worker]!, partitionKey(worker), {
        entries: [chunkEntryOf(oneRecord(now), now)],
        configVersion: 0,
      });
      if (outcome.kind !== 'appended') return outcome.kind;
      units += outcome.writeUnits;
      failedWrites += outcome.collisions;
      return 1;
    });
    return { loop, units, failedWrites, failedUnits: failedWriteUnits - failedUnitsBefore };
  }

  const cells: AppendShapeCell[] = [];
  try {
    // Untimed warm-up of the JVM and the connection pool.
    await transactionCell(4, 500);
    await chunksCell(4, 500);
    for (let repetition = 0; repetition < options.repetitions; repetition++) {
      for (const clients of options.clients) {
        // Rotate which shape runs first, so none always gets the warmer machine.
        const shapes: AppendShape[] = ['transaction', 'chunks', 'partition-per-client'];
        const order = [...shapes.slice(repetition % shapes.length), ...shapes.slice(0, repetition % shapes.length)];
        for (const shape of order) {
          const { loop, units, failedWrites, failedUnits } =
            shape === 'transaction'
              ? await transactionCell(clients, options.cellMs)
              : await chunksCell(clients, options.cellMs, shape === 'partition-per-client');
          const cell: AppendShapeCell = {
            shape,
            clients,
            repetition,
            appends: loop.ok,
            failed: loop.failed,
            appendsPerSecond: loop.ok / (loop.elapsedMs / 1000),
            latency: loop.latency,
            reportedWriteUnitsPerAppend: loop.ok > 0 ? units / loop.ok : 0,
            billedWriteUnitsPerAppend: loop.ok > 0 ? (units + failedUnits) / loop.ok : 0,
            failedWritesPerAppend: loop.ok > 0 ? failedWrites / loop.ok : 0,
          };
          progress(
            `append shape ${shape} x ${clients} (#${repetition + 1}): ${cell.appendsPerSecond.toFixed(0)} appends/s, p99 ${cell.latency.p99Ms.toFixed(1)} ms, max ${cell.latency.maxMs.toFixed(0)} ms, ${cell.reportedWriteUnitsPerAppend.toFixed(2)} WRU/append reported, ${cell.billedWriteUnitsPerAppend.toFixed(2)} billed`,
          );
          cells.push(cell);
        }
      }
    }
    return cells;
  } finally {
    dynamo.destroy();
  }
}
