/**
 * `npm run bench -- probes`: designs weighed for a hot partition (docs/storage.md, "The per-key
 * ceiling"), each measured beside today's join on one DynamoDB Local in one run, interleaved.
 *
 * These are probes, not engines: each keeps only the writes that set its cost, so that a design
 * can be judged before it is built. Every probe appends one 1 KiB record per request to one
 * partition from `clients` closed-loop writers.
 *
 * - `join` (today's contended append): the UpdateItem of chunk-append.ts (`joinUpdate`,
 *   `joinCondition`, `ALL_NEW`) into chunks of 29 packed entries (32 KiB of 1 KiB records). The
 *   probe opens each chunk itself before the writers reach it, so no join ever fails: this is
 *   the join without the boundary failures the engine pays (the bound a design that removed them
 *   could reach).
 * - `body-then-pointer` ("bodies outside the joined item"): a Put of the record under a key of its
 *   own, then the same join of a 64-byte pointer into chunks of 128; boundaries are not raced
 *   either.
 * - `fixed-tail` (one joined item per partition under a fixed key, whose entries the writer that
 *   fills it moves into an offset-keyed chunk: a Put, then an UpdateItem that removes them): no
 *   boundary at all, at the price of the move, which the filling writer's request waits for.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createTableInput } from '../infra/local/bootstrap';
import { joinCondition, joinUpdate } from '../shared/log/chunk-append';
import { tables as tableDefinitions } from '../shared/storage/tables';
import { closedLoop, floorDynamoClient, type LatencySummary, median } from './harness';
import { table } from './report';

export type AppendProbe = 'join' | 'body-then-pointer' | 'fixed-tail';

export interface AppendProbeCell {
  readonly probe: AppendProbe;
  readonly clients: number;
  readonly repetition: number;
  readonly appendsPerSecond: number;
  readonly latency: LatencySummary;
  /** DynamoDB requests per append. */
  readonly requestsPerAppend: number;
  readonly failed: number;
}

export interface AppendProbeOptions {
  readonly cellMs: number;
  readonly clients: readonly number[];
  readonly repetitions: number;
}

/** 1 KiB of record plus the packed entry's header, as chunk-append.ts joins it. */
const entryBytes = 1150;
const pointerBytes = 64;
/** Batches per chunk: 32 KiB of 1 KiB records, and the engine's batch cap for small entries. */
const recordsPerChunk = 29;
const pointersPerChunk = 128;
/** The fixed tail is moved out once it holds this many entries. */
const tailMoveAt = 16;

export async function runAppendProbes(
  endpoint: string,
  embedded: boolean,
  options: AppendProbeOptions,
  progress: (line: string) => void = () => undefined,
): Promise<AppendProbeCell[]> {
  const raw = floorDynamoClient(endpoint, embedded);
  const dynamo = DynamoDBDocumentClient.from(raw);
  const table = `bench-probes-${randomUUID().slice(0, 8)}`;
  await raw.send(new CreateTableCommand(createTableInput({ ...tableDefinitions.chunks, stream: undefined }, table)));

  const emptyChunk = (partitionKey: string, baseOffset: number) =>
    dynamo.send(
      new PutCommand({
        TableName: table,
        Item: {
          partitionKey,
          baseOffset,
          batches: [],
          recordCount: 0,
          sizeBytes: 0,
          batchCount: 0,
          configVersion: 0,
          capBytes: 1e9,
          capBatches: 1e9,
          createdAt: Date.now(),
          writeIds: new Set(['-']),
        },
      }),
    );
  const join = (partitionKey: string, baseOffset: number, entry: Uint8Array, writeId: string) =>
    dynamo.send(
      new UpdateCommand({
        TableName: table,
        Key: { partitionKey, baseOffset },
        UpdateExpression: joinUpdate,
        ConditionExpression: joinCondition,
        ExpressionAttributeValues: {
          ':entry': entry,
          ':ts': new Set([Date.now()]),
          ':writeIds': new Set([writeId]),
          ':writeId': writeId,
          ':count': 1,
          ':size': entry.length,
          ':entryCount': 1,
          ':configVersion': 0,
        },
        ReturnValues: 'UPDATED_NEW',
      }),
    );

  /** Appends into chunks of `perChunk` that the probe opens before any writer reaches them. */
  function boundedChunks(partitionKey: string, perChunk: number) {
    let appends = 0;
    const opened = new Map<number, Promise<unknown>>();
    return async () => {
      const chunk = Math.floor(appends++ / perChunk);
      if (!opened.has(chunk)) opened.set(chunk, emptyChunk(partitionKey, chunk));
      await opened.get(chunk);
      return chunk;
    };
  }

  async function cell(probe: AppendProbe, clients: number, durationMs: number) {
    const partitionKey = `${randomUUID()}:0`;
    let requests = 0;
    let operation: () => Promise<number>;
    if (probe === 'join') {
      const next = boundedChunks(partitionKey, recordsPerChunk);
      operation = async () => {
        const chunk = await next();
        requests++;
        await join(partitionKey, chunk, new Uint8Array(entryBytes), randomUUID().slice(0, 16));
        return 1;
      };
    } else if (probe === 'body-then-pointer') {
      const next = boundedChunks(partitionKey, pointersPerChunk);
      operation = async () => {
        const chunk = await next();
        const writeId = randomUUID().slice(0, 16);
        requests += 2;
        await dynamo.send(
          new PutCommand({
            TableName: table,
            Item: { partitionKey: `${partitionKey}#${writeId}`, baseOffset: 0, bytes: new Uint8Array(entryBytes) },
          }),
        );
        await join(partitionKey, chunk, new Uint8Array(pointerBytes), writeId);
        return 1;
      };
    } else {
      operation = await fixedTail(partitionKey, () => requests++);
    }
    const loop = await closedLoop(clients, durationMs, () => operation());
    return { loop, requests };
  }

  /** One tail item per partition (sort key -1); the writer whose join fills it moves its entries out. */
  async function fixedTail(partitionKey: string, countRequest: () => void) {
    await dynamo.send(
      new PutCommand({
        TableName: table,
        Item: {
          partitionKey,
          baseOffset: -1,
          tailBase: 0,
          batches: [],
          recordCount: 0,
          sizeBytes: 0,
          batchCount: 0,
          writeIds: new Set(['-']),
        },
      }),
    );
    return async () => {
      const writeId = randomUUID().slice(0, 16);
      countRequest();
      const joined = await dynamo.send(
        new UpdateCommand({
          TableName: table,
          Key: { partitionKey, baseOffset: -1 },
          UpdateExpression:
            'SET batches = list_append(batches, :batch), recordCount = recordCount + :one, sizeBytes = sizeBytes + :size, batchCount = batchCount + :one ADD writeIds :writeIds',
          ConditionExpression: 'NOT contains(writeIds, :writeId)',
          ExpressionAttributeValues: {
            ':batch': [Buffer.concat([Buffer.from(writeId), new Uint8Array(entryBytes - writeId.length)])],
            ':one': 1,
            ':size': entryBytes,
            ':writeIds': new Set([writeId]),
            ':writeId': writeId,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const tail = joined.Attributes!;
      const count = Number(tail.batchCount);
      if (count % tailMoveAt === 0) {
        const entries = (tail.batches as Uint8Array[]).slice(0, count);
        try {
          countRequest();
          await dynamo.send(
            new PutCommand({
              TableName: table,
              Item: {
                partitionKey,
                baseOffset: Number(tail.tailBase),
                batches: entries,
                recordCount: count,
                batchCount: count,
                sealed: true,
              },
              ConditionExpression: 'attribute_not_exists(baseOffset)',
            }),
          );
          countRequest();
          await dynamo.send(
            new UpdateCommand({
              TableName: table,
              Key: { partitionKey, baseOffset: -1 },
              UpdateExpression: `REMOVE ${entries.map((_, i) => `batches[${i}]`).join(', ')} SET tailBase = tailBase + :n, recordCount = recordCount - :n, batchCount = batchCount - :n, sizeBytes = sizeBytes - :bytes DELETE writeIds :moved`,
              ConditionExpression: 'tailBase = :base',
              ExpressionAttributeValues: {
                ':n': count,
                ':bytes': count * entryBytes,
                ':base': Number(tail.tailBase),
                ':moved': new Set(entries.map((e) => Buffer.from(e).subarray(0, writeId.length).toString())),
              },
            }),
          );
        } catch (error) {
          // Another writer moved these entries first.
          if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
        }
      }
      return 1;
    };
  }

  const probes: AppendProbe[] = ['join', 'body-then-pointer', 'fixed-tail'];
  const cells: AppendProbeCell[] = [];
  try {
    for (const probe of probes) await cell(probe, 4, 500); // untimed warm-up
    for (let repetition = 0; repetition < options.repetitions; repetition++) {
      for (const clients of options.clients) {
        const order = [...probes.slice(repetition % probes.length), ...probes.slice(0, repetition % probes.length)];
        for (const probe of order) {
          const { loop, requests } = await cell(probe, clients, options.cellMs);
          const result: AppendProbeCell = {
            probe,
            clients,
            repetition,
            appendsPerSecond: loop.ok / (loop.elapsedMs / 1000),
            latency: loop.latency,
            requestsPerAppend: loop.ok > 0 ? requests / loop.ok : 0,
            failed: loop.failed,
          };
          progress(
            `probe ${probe} x ${clients} (#${repetition + 1}): ${result.appendsPerSecond.toFixed(0)} appends/s, p99 ${result.latency.p99Ms.toFixed(1)} ms`,
          );
          cells.push(result);
        }
      }
    }
    return cells;
  } finally {
    dynamo.destroy();
  }
}

/** The probes' table, then each probe's medians and its ratio of most clients to 4. */
export function formatAppendProbes(cells: readonly AppendProbeCell[]): string {
  const out = [
    '## Append probes: designs weighed for a hot partition (DynamoDB Local, no HTTP, one partition, one 1 KiB record per append, interleaved)',
    '',
    table(
      ['probe', 'clients', 'run', 'appends/s', 'p50 ms', 'p99 ms', 'max ms', 'requests/append', 'failed'],
      cells.map((c) => [
        c.probe,
        String(c.clients),
        String(c.repetition + 1),
        c.appendsPerSecond.toFixed(0),
        c.latency.p50Ms.toFixed(1),
        c.latency.p99Ms.toFixed(1),
        c.latency.maxMs.toFixed(0),
        c.requestsPerAppend.toFixed(2),
        String(c.failed),
      ]),
    ),
    '',
  ];
  const most = Math.max(...cells.map((c) => c.clients));
  for (const probe of [...new Set(cells.map((c) => c.probe))]) {
    const at = (clients: number) => cells.filter((c) => c.probe === probe && c.clients === clients);
    const rate = (clients: number) => median(at(clients).map((c) => c.appendsPerSecond));
    out.push(
      `- ${probe}: ${rate(most).toFixed(0)} appends/s at ${most} clients (${rate(4) > 0 ? (rate(most) / rate(4)).toFixed(2) : '?'}x its rate at 4), p99 ${median(at(most).map((c) => c.latency.p99Ms)).toFixed(0)} ms (medians).`,
    );
  }
  return out.join('\n');
}
