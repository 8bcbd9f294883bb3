/**
 * When a keyed produce looks its Idempotency-Key up (shared/log/produce.ts): a first attempt does
 * not, the condition of its claim on the key's record finds a retry; a retry is looked up first
 * only where something would happen before that condition (a refusal on the topic's config as it
 * is now, a segment object written to S3). Against DynamoDB Local and s3rver, through the real SDK
 * clients, commands recorded in their middleware.
 */
import { describe, expect, it } from 'vitest';
import { dynamo, s3Client, tableName } from '../../shared/runtime/aws';
import { type ClientStack, recordingCommands } from '../support/intercept';
import { useTestService } from '../support/local-service';

const { http } = useTestService();

const dynamoCommands = <T>(sent: string[], body: () => Promise<T>) =>
  recordingCommands(
    dynamo().middlewareStack as ClientStack,
    { [tableName('chunks')]: 'chunks', [tableName('idempotency')]: 'idempotency', [tableName('topics')]: 'topics' },
    sent,
    body,
  );
const s3Commands = <T>(sent: string[], body: () => Promise<T>) =>
  recordingCommands(s3Client().middlewareStack as ClientStack, {}, sent, body);

const produce = (topic: string, value: string, key: string) =>
  http.post(`/v1/topics/${topic}/records`, { records: [{ value, partition: 0 }] }, { 'Idempotency-Key': key });

describe('Idempotency-Key lookups', () => {
  it("a first attempt is its claim and its Put and reads nothing; its retry is found by the claim's condition and settled from the chunks", async () => {
    await http.post('/v1/topics', { name: 'lookup-first', partitions: 1 });
    // The topic and the partition's head are in this process's caches from here on.
    expect((await http.post('/v1/topics/lookup-first/records', { records: [{ value: 'warm' }] })).status).toBe(200);

    const first: string[] = [];
    const acked = await dynamoCommands(first, () => produce('lookup-first', 'once', 'first-1'));
    expect(acked.status, JSON.stringify(acked.body)).toBe(200);
    expect(acked.body.offsets[0].offset).toBe(1);
    expect(first).toEqual([
      'PutItemCommand idempotency', // the claim, naming the head it aims at
      'PutItemCommand chunks', // the append: nothing after it
    ]);

    const retry: string[] = [];
    const replayed = await dynamoCommands(retry, () => produce('lookup-first', 'once', 'first-1'));
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body).toEqual(acked.body);
    expect(retry).toEqual([
      'PutItemCommand idempotency', // the claim fails on the first attempt's
      'QueryCommand chunks', // whose write is found from the chunk it names,
      'PutItemCommand idempotency', // so its response is stored (and replayed, not read back)
      'GetItemCommand topics', // the topic is still the one the key belongs to
    ]);
    // Settled once: a later retry searches nothing.
    const later: string[] = [];
    expect((await dynamoCommands(later, () => produce('lookup-first', 'once', 'first-1'))).body).toEqual(acked.body);
    // The failed claim returned the stored response: nothing reads the record again.
    expect(later).toEqual(['PutItemCommand idempotency', 'GetItemCommand topics']);

    // The same key with another request is refused, and nothing was appended twice.
    const reused = await produce('lookup-first', 'other', 'first-1');
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const log = await http.get('/v1/topics/lookup-first/partitions/0/records?offset=0');
    expect(log.body.records.map((r: { value: string }) => r.value)).toEqual(['warm', 'once']);
  });

  it('a first attempt on an empty partition reads its head once, before the claim', async () => {
    await http.post('/v1/topics', { name: 'lookup-empty', partitions: 1 });
    const sent: string[] = [];
    const acked = await dynamoCommands(sent, () => produce('lookup-empty', 'first', 'empty-1'));
    expect(acked.status, JSON.stringify(acked.body)).toBe(200);
    expect(acked.body.offsets[0].offset).toBe(0);
    expect(sent.slice(sent.indexOf('QueryCommand chunks'))).toEqual([
      'QueryCommand chunks', // the head, for the claim's search start: none
      'PutItemCommand idempotency', // the claim
      'PutItemCommand chunks', // the first chunk, without reading the head again
    ]);
  });

  it("a retry that the topic's lowered max.message.bytes would refuse replays the first response", async () => {
    await http.post('/v1/topics', { name: 'lookup-lowered', partitions: 1, config: { 'max.message.bytes': 5000 } });
    const value = 'x'.repeat(2000);
    const acked = await produce('lookup-lowered', value, 'lowered-1');
    expect(acked.status, JSON.stringify(acked.body)).toBe(200);
    expect((await http.patch('/v1/topics/lookup-lowered', { config: { 'max.message.bytes': 1000 } })).status).toBe(200);

    const retry = await produce('lookup-lowered', value, 'lowered-1');
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(acked.body);
    // A new request with that record is refused by the new limit.
    const fresh = await produce('lookup-lowered', value, 'lowered-2');
    expect(fresh.status).toBe(413);
    expect(fresh.body.error.code).toBe('RECORD_TOO_LARGE');
  });

  it('a retry of a request bound for S3 replays before writing a second segment object', async () => {
    await http.post('/v1/topics', { name: 'lookup-large', partitions: 1 });
    // Random hex does not compress: the batch is over the 4 KiB inline threshold.
    const value = Array.from({ length: 400 }, () => Math.random().toString(16).slice(2, 14)).join('');
    const sentFirst: string[] = [];
    const acked = await s3Commands(sentFirst, () => produce('lookup-large', value, 'large-1'));
    expect(acked.status, JSON.stringify(acked.body)).toBe(200);
    expect(sentFirst.filter((c) => c.startsWith('PutObjectCommand'))).toHaveLength(1);

    const sentRetry: string[] = [];
    const retry = await s3Commands(sentRetry, () => produce('lookup-large', value, 'large-1'));
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(acked.body);
    expect(sentRetry).toEqual([]);
  });
});
