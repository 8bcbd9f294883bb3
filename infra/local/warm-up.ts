/**
 * Warms `npm start` before the gateway takes requests. A fresh JVM serves its first few hundred
 * conditional writes and transactions several times slower than later ones (classes loading, the
 * expression parser's caches filling, the JIT compiling), and so does V8 the first few hundred
 * requests through the gateway, the handler and the append core; a hot partition's writers queue
 * behind each other, so without this the first seconds after `npm start` had a tail of most of a
 * second (docs/local-runtime.md, "Warm at start").
 *
 * It produces through the service itself, as a client would: a gateway on a port of its own, over
 * a scratch set of tables and bucket (`logway-warm-up-*`) that it drops afterwards, with writers
 * on one partition with and without an Idempotency-Key (joins, failed joins at chunk boundaries,
 * transactions that lose their race, claims) and writers alone. The service's own tables are
 * never touched; a set a killed start left behind is dropped first.
 */
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { resetAwsClients } from '../../shared/runtime/aws';
import { forgetTopic } from '../../shared/topics/cache';
import { bootstrapLocalResources, emulatorCredentials, listTableNames } from './bootstrap';
import type { Endpoints } from './emulators';
import { type HandlerLoader, startGateway } from './gateway';

const scratchPrefix = 'logway-warm-up-';
const topic = 'warm-up';

export interface WarmUpOptions {
  /** Stop after this long even if `appends` were not reached. */
  readonly maxMs: number;
  /** Produce requests to make (about what the JITs need to settle). @default 600 */
  readonly appends?: number;
  /** How the warm-up's gateway loads a route's handler (the runtime's own loader). */
  readonly loadHandler?: HandlerLoader;
}

/** Produces 1 KiB records through a scratch copy of the service; returns how many requests succeeded. */
export async function warmUpProducePath(endpoints: Endpoints, options: WarmUpOptions): Promise<number> {
  const deadline = Date.now() + options.maxMs;
  const target = options.appends ?? 600;
  await dropScratchResources(endpoints);
  const prefix = `${scratchPrefix}${randomUUID().slice(0, 8)}`;
  const saved = new Map<string, string | undefined>();
  let appended = 0;
  try {
    const { environment } = await bootstrapLocalResources(endpoints, prefix, { embedded: true });
    for (const [name, value] of Object.entries(environment)) {
      saved.set(name, process.env[name]);
      process.env[name] = value;
    }
    resetAwsClients();
    const gateway = await startGateway({ port: 0, ...(options.loadHandler ? { loadHandler: options.loadHandler } : {}) });
    try {
      const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
        const response = await fetch(`${gateway.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
        await response.arrayBuffer();
        return response.ok;
      };
      await post('/v1/topics', { name: topic, partitions: 3 });
      const value = 'x'.repeat(1024);
      const writer = async (partition: number, keyed: boolean) => {
        while (appended < target && Date.now() < deadline) {
          const headers: Record<string, string> = keyed ? { 'idempotency-key': randomUUID() } : {};
          if (await post(`/v1/topics/${topic}/records`, { records: [{ partition, value }] }, headers)) appended++;
        }
      };
      // Eight writers share partition 0, half of them with a key; two write alone to each other partition.
      await Promise.all([...Array.from({ length: 8 }, (_, i) => writer(0, i % 2 === 0)), writer(1, false), writer(2, true)]);
    } finally {
      await gateway.stop();
    }
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    resetAwsClients();
    forgetTopic(topic);
    await dropScratchResources(endpoints).catch(() => undefined);
  }
  return appended;
}

/** Drops every scratch table and bucket: this warm-up's, and any a killed start left in the data folder. */
async function dropScratchResources(endpoints: Endpoints): Promise<void> {
  const region = 'us-east-1';
  const dynamodb = new DynamoDBClient({ endpoint: endpoints.dynamodb, region, credentials: emulatorCredentials });
  const s3 = new S3Client({ endpoint: endpoints.s3, region, forcePathStyle: true, credentials: emulatorCredentials });
  try {
    const scratch = (await listTableNames(dynamodb)).filter((name) => name.startsWith(scratchPrefix));
    await Promise.all(scratch.map((name) => dynamodb.send(new DeleteTableCommand({ TableName: name })).catch(() => undefined)));
    // The warm-up's records are inline (under 4 KiB): its bucket holds no objects.
    const { Buckets } = await s3.send(new ListBucketsCommand({}));
    const buckets = (Buckets ?? []).map((b) => b.Name ?? '').filter((name) => name.startsWith(scratchPrefix));
    await Promise.all(buckets.map((name) => s3.send(new DeleteBucketCommand({ Bucket: name })).catch(() => undefined)));
  } finally {
    dynamodb.destroy();
    s3.destroy();
  }
}
