/**
 * The warm-up `npm start` runs before it listens (infra/local/warm-up.ts): it produces through a
 * scratch copy of the service on the embedded emulators, drops its tables and bucket, and those a
 * killed start left behind; the service's tables and the process's environment are left as they were.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createTableInput, emulatorCredentials, listTableNames } from '../../infra/local/bootstrap';
import type { Endpoints } from '../../infra/local/emulators';
import { warmUpProducePath } from '../../infra/local/warm-up';
import { tables } from '../../shared/storage/tables';

let endpoints: Endpoints;
let client: DynamoDBClient;
let s3: S3Client;

beforeAll(() => {
  const dynamodb = inject('dynamodbEndpoint');
  const s3Endpoint = inject('s3Endpoint');
  if (!dynamodb || !s3Endpoint || !inject('embeddedEmulators'))
    throw new Error('needs the embedded emulators: list this file in integrationTests in vitest.config.ts');
  endpoints = { dynamodb, s3: s3Endpoint };
  client = new DynamoDBClient({ endpoint: dynamodb, region: 'us-east-1', credentials: emulatorCredentials });
  s3 = new S3Client({ endpoint: s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: emulatorCredentials });
});

const scratchBuckets = async () =>
  ((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name ?? '').filter((name) => name.startsWith('logway-warm-up-'));

describe('warming up npm start', () => {
  it("produces until its target, then leaves no scratch table or bucket, a killed start's included, and keeps every other table and the environment", async () => {
    const service = `warm-up-test-${randomUUID().slice(0, 8)}-chunks`;
    await client.send(new CreateTableCommand(createTableInput(tables.chunks, service)));
    await client.send(new CreateTableCommand(createTableInput(tables.chunks, 'logway-warm-up-leftover-chunks')));
    await s3.send(new CreateBucketCommand({ Bucket: 'logway-warm-up-leftover-segments' }));
    const environment = { ...process.env };
    expect(await warmUpProducePath(endpoints, { maxMs: 30_000, appends: 40 })).toBeGreaterThanOrEqual(40);
    expect(process.env).toEqual(environment);
    // Every table of the emulator: other test files create theirs meanwhile.
    const after = await listTableNames(client);
    expect(after.filter((name) => name.startsWith('logway-warm-up-'))).toEqual([]);
    expect(after).toContain(service);
    expect(await scratchBuckets()).toEqual([]);
  });

  it('stops at its time bound', async () => {
    const started = Date.now();
    const appended = await warmUpProducePath(endpoints, { maxMs: 500, appends: 1_000_000 });
    expect(appended).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
