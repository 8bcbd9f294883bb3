/**
 * The chaos proxy's faults look to the real AWS SDK exactly like AWS's own: throttling is
 * recognised as throttling, and an ambiguous failure really did commit the write.
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { emulatorCredentials } from '../../infra/local/bootstrap';
import { Prng } from '../../chaos/prng';
import { type FaultProxy, type InjectedFault, startFaultProxy } from '../../chaos/proxy';
import { segmentBucket, tables } from '../../shared/storage/tables';
import { useTestResources } from '../support/local-service';

let dynamoProxy: FaultProxy;
let s3Proxy: FaultProxy;
const faults: InjectedFault[] = [];
let table = '';
let bucket = '';

beforeAll(async () => {
  const { environment } = await useTestResources();
  table = environment[tables.topics.envVar]!;
  bucket = environment[segmentBucket.envVar]!;
  dynamoProxy = await startFaultProxy('dynamodb', inject('dynamodbEndpoint'), new Prng(1), (f) => faults.push(f));
  s3Proxy = await startFaultProxy('s3', inject('s3Endpoint'), new Prng(2), (f) => faults.push(f));
});

afterAll(async () => {
  await dynamoProxy.close();
  await s3Proxy.close();
});

const dynamo = () =>
  new DynamoDBClient({ endpoint: dynamoProxy.url, region: 'us-east-1', credentials: emulatorCredentials, maxAttempts: 1 });
const s3 = () =>
  new S3Client({ endpoint: s3Proxy.url, region: 'us-east-1', credentials: emulatorCredentials, forcePathStyle: true, maxAttempts: 1 });

describe('chaos fault proxy', () => {
  it('forwards untouched when no fault is on', async () => {
    dynamoProxy.mode = undefined;
    const client = dynamo();
    await client.send(new PutItemCommand({ TableName: table, Item: { name: { S: 'plain' } } }));
    const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: { name: { S: 'plain' } }, ConsistentRead: true }));
    expect(Item?.name?.S).toBe('plain');
  });

  it("throttles with DynamoDB's own exceptions, which the SDK treats as throttling", async () => {
    dynamoProxy.mode = { rate: 1, kinds: ['throttle'] };
    const error = await dynamo()
      .send(new PutItemCommand({ TableName: table, Item: { name: { S: 'throttled' } } }))
      .catch((e: unknown) => e as Error & { $retryable?: { throttling?: boolean } });
    dynamoProxy.mode = undefined;
    expect(['ThrottlingException', 'ProvisionedThroughputExceededException']).toContain((error as Error).name);
    const { Item } = await dynamo().send(new GetItemCommand({ TableName: table, Key: { name: { S: 'throttled' } }, ConsistentRead: true }));
    expect(Item).toBeUndefined();
  });

  it('makes an ambiguous failure: the caller sees an error but the write committed', async () => {
    dynamoProxy.mode = { rate: 1, kinds: ['ambiguous'] };
    const error = await dynamo()
      .send(new PutItemCommand({ TableName: table, Item: { name: { S: 'ambiguous' } } }))
      .catch((e: unknown) => e);
    dynamoProxy.mode = undefined;
    expect(error).toBeInstanceOf(Error);
    const { Item } = await dynamo().send(new GetItemCommand({ TableName: table, Key: { name: { S: 'ambiguous' } }, ConsistentRead: true }));
    expect(Item?.name?.S).toBe('ambiguous');
    expect(faults.some((f) => f.kind === 'ambiguous' && f.target === 'PutItem')).toBe(true);
  });

  it('answers S3 with 503 SlowDown and 500 InternalError as S3 does', async () => {
    s3Proxy.mode = { rate: 1, kinds: ['throttle'] };
    const slow = await s3()
      .send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }))
      .catch((e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } });
    s3Proxy.mode = { rate: 1, kinds: ['error'] };
    const failed = await s3()
      .send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))
      .catch((e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } });
    s3Proxy.mode = undefined;
    expect((slow as Error).name).toBe('SlowDown');
    expect((slow as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(503);
    expect((failed as Error).name).toBe('InternalError');
  });
});
