/**
 * Warms the embedded DynamoDB Local before the gateway takes requests. A fresh JVM serves its first
 * few hundred conditional writes several times slower than later ones (classes loading, the
 * expression parser's caches filling, the JIT compiling), and a hot partition's writers queue behind
 * each other, so without this the first seconds after `npm start` had a tail of most of a second
 * (docs/local-runtime.md, "Warm at start"). It runs the append engine itself, contended and not, on
 * a scratch table that it drops afterwards; the service's own tables are never touched.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type ChunkAppendContext, appendChunk } from '../../shared/log/chunk-append';
import { tables } from '../../shared/storage/tables';
import { createTableInput, emulatorCredentials } from './bootstrap';

const scratchPrefix = 'logway-warm-up-';

export interface WarmUpOptions {
  /** Stop after this long even if `appends` were not reached. */
  readonly maxMs: number;
  /** Appends to make (about what the JIT needs to settle). @default 600 */
  readonly appends?: number;
}

/** Appends 1 KiB records to a scratch table with writers on one partition and on their own; returns how many. */
export async function warmUpDynamoDbLocal(endpoint: string, options: WarmUpOptions): Promise<number> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: emulatorCredentials });
  const dynamo = DynamoDBDocumentClient.from(client);
  const table = `${scratchPrefix}${randomUUID().slice(0, 8)}`;
  const target = options.appends ?? 600;
  const deadline = Date.now() + options.maxMs;
  const value = Buffer.alloc(1024, 0x78);
  let appended = 0;
  try {
    // A start killed while it warmed up left its scratch table in the data folder: drop it.
    const leftovers: string[] = [];
    let after: string | undefined;
    do {
      const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: after }));
      leftovers.push(...(page.TableNames ?? []).filter((name) => name.startsWith(scratchPrefix)));
      after = page.LastEvaluatedTableName;
    } while (after);
    for (const leftover of leftovers) await client.send(new DeleteTableCommand({ TableName: leftover })).catch(() => undefined);
    await client.send(new CreateTableCommand(createTableInput(tables.chunks, table)));
    // Six writers share a partition (joins, failed joins at chunk boundaries, head reads); two
    // append alone (conditional Puts).
    const writer = async (partitionKey: string) => {
      const context: ChunkAppendContext = { dynamo, table, heads: new Map(), contendedUntil: new Map() };
      while (appended < target && Date.now() < deadline) {
        const now = Date.now();
        const entry = { bytes: value, recordCount: 1, sizeBytes: value.length, firstTimestamp: now, maxTimestamp: now, appendedAt: now };
        await appendChunk(context, partitionKey, { entry, configVersion: 0 });
        appended++;
      }
    };
    await Promise.all([...Array.from({ length: 6 }, () => writer('hot:0')), writer('calm:1'), writer('calm:2')]);
  } finally {
    await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
    client.destroy();
  }
  return appended;
}
