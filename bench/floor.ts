/**
 * The floor of this stack: what the emulated primitives do on their own, with no HTTP, gateway or
 * Lambda handler in the way, from this (the load generator's) process with the same SDK settings
 * as the handlers (shared/runtime/aws.ts).
 *
 * - DynamoDB Local: TransactWriteItems of exactly layout 1's append shape (bench/layout1.ts, the
 *   baseline the layout-v2 append is compared with): conditional Update of a partition item + conditional Put of a batch
 *   item carrying a 1-record batch inline. Sequentially, then with 4 and 16 workers all on one
 *   partition item (a worker that loses retries at once with the head the failed condition
 *   returned) and on distinct partition items.
 * - s3rver: PutObject of the segment sizes a 100- and a 1000-record produce request writes.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, ResourceInUseException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { bootstrapLocalResources, createTableInput, emulatorCredentials, localResourceNames } from '../infra/local/bootstrap';
import type { PreparedBatch } from '../shared/log/append';
import { appendTransactItems, layout1BatchesTable } from './layout1';
import { emptyHead } from '../shared/log/partition-heads';
import { type AppendShapeCell, type AppendShapeOptions, runAppendShapes } from './append-shapes';
import { closedLoop, floorDynamoClient, type LatencySummary } from './harness';
import { sampleBatch } from './workloads';

export type DynamoFloorMode = 'sequential' | 'one partition item' | 'distinct partition items';

export interface DynamoFloorCell {
  readonly mode: DynamoFloorMode;
  readonly clients: number;
  readonly committed: number;
  readonly cancelled: Record<string, number>;
  readonly elapsedMs: number;
  readonly committedPerSecond: number;
  /** Committed plus cancelled transactions per second. */
  readonly attemptsPerSecond: number;
  readonly latency: LatencySummary;
}

export interface S3FloorCell {
  readonly recordsPerBatch: number;
  readonly payloadBytes: number;
  readonly clients: number;
  readonly puts: number;
  readonly failed: number;
  readonly elapsedMs: number;
  readonly putsPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly latency: LatencySummary;
}

export interface FloorResults {
  readonly dynamodb: DynamoFloorCell[];
  readonly s3: S3FloorCell[];
  /** Today's append transaction beside the layout-v2 chunk append (bench/append-shapes.ts). */
  readonly appendShapes?: AppendShapeCell[];
}

export interface FloorOptions {
  readonly cellMs: number;
  readonly appendShapes: AppendShapeOptions;
  readonly clients: readonly number[];
  readonly s3RecordsPerBatch: readonly number[];
}

interface Tables {
  partitions: string;
  batches: string;
  idempotency: string;
}

async function dynamoCell(
  client: DynamoDBDocumentClient,
  tables: Tables,
  mode: DynamoFloorMode,
  clients: number,
  durationMs: number,
  batch: Buffer,
): Promise<DynamoFloorCell> {
  const topicId = randomUUID();
  const partitionOf = (worker: number) => (mode === 'one partition item' || mode === 'sequential' ? 0 : worker);
  const expected = Array.from({ length: clients }, () => 0);

  const loop = await closedLoop(clients, durationMs, async (worker) => {
    const partition = partitionOf(worker);
    const head = expected[worker]!;
    const now = Date.now();
    const prepared: PreparedBatch = {
      partition,
      bytes: batch,
      recordCount: 1,
      firstTimestamp: now,
      maxTimestamp: now,
      location: { kind: 'inline' },
    };
    try {
      await client.send(
        new TransactWriteCommand({
          TransactItems: appendTransactItems(
            { partitions: tables.partitions, batches: tables.batches, idempotency: tables.idempotency },
            topicId,
            [prepared],
            new Map([[partition, { ...emptyHead, highWatermark: head }]]),
            new Map([[partition, head]]),
            undefined,
          ),
        }),
      );
      expected[worker] = head + 1;
      return 1;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const update = reasons[0];
      if (update?.Code === 'ConditionalCheckFailed') {
        expected[worker] = Number(update.Item ? (unmarshall(update.Item).highWatermark ?? 0) : 0);
        return 'condition failed (head moved)';
      }
      if (reasons.some((r) => r.Code === 'TransactionConflict')) return 'TransactionConflict';
      return `cancelled: ${reasons.map((r) => r.Code).join(',')}`;
    }
  });
  const seconds = loop.elapsedMs / 1000;
  return {
    mode,
    clients,
    committed: loop.ok,
    cancelled: loop.failures,
    elapsedMs: loop.elapsedMs,
    committedPerSecond: loop.ok / seconds,
    attemptsPerSecond: (loop.ok + loop.failed) / seconds,
    latency: loop.latency,
  };
}

async function s3Cell(
  client: S3Client,
  bucket: string,
  recordsPerBatch: number,
  payload: Buffer,
  clients: number,
  durationMs: number,
): Promise<S3FloorCell> {
  const loop = await closedLoop(clients, durationMs, async () => {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `segments/floor/${Date.now()}-${randomUUID()}`,
        Body: payload,
        ContentType: 'application/vnd.kafka.record-batch',
        Metadata: { 'topic-id': 'floor' },
      }),
    );
    return payload.length;
  });
  const seconds = loop.elapsedMs / 1000;
  return {
    recordsPerBatch,
    payloadBytes: payload.length,
    clients,
    puts: loop.ok,
    failed: loop.failed,
    elapsedMs: loop.elapsedMs,
    putsPerSecond: loop.ok / seconds,
    megabytesPerSecond: loop.units / 1e6 / seconds,
    latency: loop.latency,
  };
}

export async function runFloor(
  endpoints: { dynamodb: string; s3: string },
  embedded: boolean,
  options: FloorOptions,
  progress: (line: string) => void = () => undefined,
): Promise<FloorResults> {
  const prefix = 'bench-floor';
  await bootstrapLocalResources(endpoints, prefix, { embedded });
  const names = localResourceNames(prefix);
  // Layout 1's batch index, beside the current tables: the floor measures layout 1's transaction as the baseline.
  const tables: Tables = {
    partitions: names.tables.partitions,
    batches: `${prefix}-layout1-batches`,
    idempotency: names.tables.idempotency,
  };
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const credentials = embedded ? emulatorCredentials : undefined;
  const dynamo = DynamoDBDocumentClient.from(floorDynamoClient(endpoints.dynamodb, embedded), {
    marshallOptions: { removeUndefinedValues: true },
  });
  try {
    await dynamo.send(new CreateTableCommand(createTableInput(layout1BatchesTable, tables.batches)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const s3 = new S3Client({
    endpoint: endpoints.s3,
    region,
    forcePathStyle: true,
    maxAttempts: 4,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(credentials ? { credentials } : {}),
  });
  try {
    const inlineBatch = sampleBatch(1);
    const dynamodb: DynamoFloorCell[] = [];
    const cells: [DynamoFloorMode, number][] = [['sequential', 1]];
    for (const clients of options.clients.filter((c) => c > 1)) cells.push(['one partition item', clients]);
    for (const clients of options.clients.filter((c) => c > 1)) cells.push(['distinct partition items', clients]);
    // A short untimed run first: the JVM and the SDK connection pool warm up.
    await dynamoCell(dynamo, tables, 'distinct partition items', 4, Math.min(1000, options.cellMs), inlineBatch);
    for (const [mode, clients] of cells) {
      const cell = await dynamoCell(dynamo, tables, mode, clients, options.cellMs, inlineBatch);
      progress(`floor DynamoDB ${mode} x ${clients}: ${cell.committedPerSecond.toFixed(0)} tx/s committed`);
      dynamodb.push(cell);
    }
    const s3Cells: S3FloorCell[] = [];
    for (const recordsPerBatch of options.s3RecordsPerBatch) {
      const payload = sampleBatch(recordsPerBatch);
      await s3Cell(s3, names.bucket, recordsPerBatch, payload, 4, Math.min(500, options.cellMs));
      for (const clients of options.clients) {
        const cell = await s3Cell(s3, names.bucket, recordsPerBatch, payload, clients, options.cellMs);
        progress(`floor s3rver PUT ${payload.length} B x ${clients}: ${cell.putsPerSecond.toFixed(0)} PUT/s`);
        s3Cells.push(cell);
      }
    }
    const appendShapes = await runAppendShapes(endpoints.dynamodb, embedded, options.appendShapes, progress);
    return { dynamodb, s3: s3Cells, appendShapes };
  } finally {
    dynamo.destroy();
    s3.destroy();
  }
}
