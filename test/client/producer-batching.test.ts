/**
 * The producer's batching, partitioning and retries, against a fake produce API (no service):
 * linger.ms, batch.size and the record cap, one request per flush per topic, 49 partitions per
 * request, murmur2 partitioning, and retries that reuse the Idempotency-Key.
 */
import { describe, expect, it } from 'vitest';
import { partitionForKey } from '../../shared/records/partitioner';
import { Logway } from '../../client/src/logway';
import { LogwayApiError } from '../../client/src/errors';
import type { ProducerOptions } from '../../client/src/producer';
import { fakeService, partitionRuns, type Scripted, type RecordedCall } from './fake-service';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function setup(topics: Record<string, number>, options: ProducerOptions = {}, script?: (call: RecordedCall, i: number) => Scripted) {
  const service = fakeService(topics, script);
  const logway = new Logway({ url: 'http://127.0.0.1:1', fetch: service.fetch, retry: { initialRetryTimeMs: 10, maxRetryTimeMs: 50 } });
  return { service, producer: logway.producer(options) };
}

describe('linger', () => {
  it('lets records sent within lingerMs share one request, and sends them after it', async () => {
    const { service, producer } = setup({ t: 3 }, { lingerMs: 150 });
    const sentAt = Date.now();
    const first = producer.send({ topic: 't', messages: [{ key: 'a', value: 1 }] });
    await sleep(20);
    const second = producer.send({
      topic: 't',
      messages: [
        { key: 'b', value: 2 },
        { key: 'c', value: 3 },
      ],
    });
    const third = producer.send({ topic: 't', messages: [{ value: 4 }] });
    await Promise.all([first, second, third]);
    expect(service.produceCalls).toHaveLength(1);
    expect(service.produceCalls[0]!.records).toHaveLength(4);
    expect(service.produceCalls[0]!.at - sentAt).toBeGreaterThanOrEqual(140);

    // Records that come after the flush go in the next request.
    await producer.send({ topic: 't', messages: [{ key: 'd', value: 5 }] });
    expect(service.produceCalls).toHaveLength(2);
  });

  it('with lingerMs 0 still sends one send() of many messages as one request', async () => {
    const { service, producer } = setup({ t: 4 }, { lingerMs: 0 });
    const metadata = await producer.send({ topic: 't', messages: Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: i })) });
    expect(metadata).toHaveLength(300);
    expect(service.produceCalls).toHaveLength(1);
  });

  it('makes one request per topic per flush', async () => {
    const { service, producer } = setup({ a: 2, b: 2 }, { lingerMs: 30 });
    await Promise.all([
      producer.send({ topic: 'a', messages: [{ key: '1', value: 1 }] }),
      producer.send({ topic: 'b', messages: [{ key: '1', value: 1 }] }),
      producer.send({ topic: 'a', messages: [{ key: '2', value: 2 }] }),
    ]);
    expect(service.produceCalls.map((c) => c.path).sort()).toEqual(['/v1/topics/a/records', '/v1/topics/b/records']);
  });
});

describe('size limits', () => {
  it('sends a partition batch as soon as it reaches batchSize bytes, without waiting for linger', async () => {
    const { service, producer } = setup({ t: 1 }, { lingerMs: 60_000, batchSize: 400 });
    const value = 'x'.repeat(80);
    const pending = producer.send({
      topic: 't',
      messages: Array.from({ length: 20 }, (_, i) => ({ value: `${String(i).padStart(2, '0')}-${value}` })),
    });
    await sleep(300);
    // Each record is 101 bytes of JSON: full batches of 3 went at once; the last 2 wait for linger (or a flush).
    expect(service.produceCalls.map((c) => c.records.length)).toEqual([3, 3, 3, 3, 3, 3]);
    for (const call of service.produceCalls) {
      const bytes = call.records.reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify(r)) + 1, 0);
      expect(bytes).toBeLessThanOrEqual(400);
    }
    await producer.flush();
    expect((await pending).map((m) => m.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // Order is kept across requests.
    const values = service.produceCalls.flatMap((c) => c.records.map((r) => Number(String(r.value).split('-')[0])));
    expect(values).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('caps records per partition per request at maxBatchRecords; a partial batch waits for linger or flush()', async () => {
    const { service, producer } = setup({ t: 1 }, { lingerMs: 60_000, maxBatchRecords: 3 });
    const pending = producer.send({ topic: 't', messages: Array.from({ length: 10 }, (_, i) => ({ value: i })) });
    await sleep(300);
    expect(service.produceCalls.map((c) => c.records.length)).toEqual([3, 3, 3]);
    await producer.flush();
    expect(service.produceCalls.map((c) => c.records.length)).toEqual([3, 3, 3, 1]);
    expect((await pending).map((m) => m.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('puts at most 49 partitions in one request', async () => {
    const { service, producer } = setup({ wide: 60 }, { lingerMs: 20 });
    await producer.send({ topic: 'wide', messages: Array.from({ length: 60 }, (_, p) => ({ partition: p, value: p })) });
    expect(service.produceCalls.map((c) => partitionRuns(c).length)).toEqual([49, 11]);
  });

  it('splits a flush into requests of at most maxRequestBytes, whole partition batches each', async () => {
    const { service, producer } = setup({ t: 3 }, { lingerMs: 20, maxRequestBytes: 700 });
    const value = 'v'.repeat(100);
    await producer.send({ topic: 't', messages: Array.from({ length: 12 }, (_, i) => ({ partition: i % 3, value })) });
    expect(service.produceCalls.length).toBeGreaterThanOrEqual(2);
    const seen = service.produceCalls.flatMap((c) => partitionRuns(c));
    expect(seen.sort()).toEqual([0, 1, 2]);
  });
});

describe('partitioning', () => {
  it("uses the service's murmur2 and groups each request's records per partition, in send order", async () => {
    const { service, producer } = setup({ t: 5 }, { lingerMs: 10 });
    const messages = Array.from({ length: 100 }, (_, i) => ({ key: `user-${i % 17}`, value: { i } }));
    const metadata = await producer.send({ topic: 't', messages });
    expect(service.produceCalls).toHaveLength(1);
    const call = service.produceCalls[0]!;
    const runs = partitionRuns(call);
    expect(runs).toEqual([...new Set(runs)].sort((a, b) => a - b));
    for (const record of call.records) expect(record.partition).toBe(partitionForKey(record.key!, 5));
    // send() answers in the order of the messages given.
    metadata.forEach((m, i) => {
      expect(m.topicName).toBe('t');
      expect(m.partition).toBe(partitionForKey(messages[i]!.key, 5));
    });
    const perPartition = new Map<number, number[]>();
    for (const m of metadata) perPartition.set(m.partition, [...(perPartition.get(m.partition) ?? []), m.offset]);
    for (const offsets of perPartition.values()) expect(offsets).toEqual(offsets.map((_, i) => i));
  });

  it('sends null keys of a batch to one partition (sticky), and bytes as base64', async () => {
    const { service, producer } = setup({ t: 8 }, { lingerMs: 10 });
    await producer.send({ topic: 't', messages: Array.from({ length: 20 }, () => ({ value: Buffer.from([0xff, 0x00]) })) });
    const call = service.produceCalls[0]!;
    expect(new Set(call.records.map((r) => r.partition)).size).toBe(1);
    expect(call.records[0]!.valueBase64).toBe('/wA=');
  });
});

describe('retries', () => {
  it('retries a 5xx with the same Idempotency-Key and body; a new batch gets a new key', async () => {
    const { service, producer } = setup({ t: 2 }, { lingerMs: 5 }, (_call, i) =>
      i === 0 ? { status: 500, body: { error: { code: 'UNKNOWN_SERVER_ERROR', message: 'boom' } } } : undefined,
    );
    const metadata = await producer.send({ topic: 't', messages: [{ key: 'a', value: 'one' }] });
    expect(metadata[0]!.offset).toBe(0);
    const [first, retry] = service.produceCalls;
    expect(first!.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(retry!.headers['idempotency-key']).toBe(first!.headers['idempotency-key']);
    expect(retry!.body).toBe(first!.body);
    await producer.send({ topic: 't', messages: [{ key: 'a', value: 'two' }] });
    expect(service.produceCalls[2]!.headers['idempotency-key']).not.toBe(first!.headers['idempotency-key']);
  });

  it('retries network errors', async () => {
    const { service, producer } = setup({ t: 1 }, { lingerMs: 0 }, (_c, i) => (i < 2 ? 'network-error' : undefined));
    await expect(producer.send({ topic: 't', messages: [{ value: 'x' }] })).resolves.toHaveLength(1);
    expect(service.produceCalls).toHaveLength(3);
    expect(new Set(service.produceCalls.map((c) => c.headers['idempotency-key'])).size).toBe(1);
  });

  it("honours a 429's Retry-After", async () => {
    const { service, producer } = setup({ t: 1 }, { lingerMs: 0 }, (_c, i) =>
      i === 0
        ? { status: 429, body: { error: { code: 'THROTTLING_QUOTA_EXCEEDED', message: 'slow down' } }, headers: { 'retry-after': '1' } }
        : undefined,
    );
    await producer.send({ topic: 't', messages: [{ value: 'x' }] });
    expect(service.produceCalls[1]!.at - service.produceCalls[0]!.at).toBeGreaterThanOrEqual(990);
  });

  it('does not retry a 4xx: send rejects with the typed error', async () => {
    const { service, producer } = setup({ t: 1 }, { lingerMs: 0 }, () => ({
      status: 413,
      body: { error: { code: 'RECORD_TOO_LARGE', message: 'too big', size: 5, maxMessageBytes: 4 } },
    }));
    const error = await producer.send({ topic: 't', messages: [{ value: 'xxxxx' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogwayApiError);
    expect(error).toMatchObject({ status: 413, code: 'RECORD_TOO_LARGE', message: 'too big', details: { size: 5, maxMessageBytes: 4 } });
    expect(service.produceCalls).toHaveLength(1);
  });

  it('gives up after the configured retries', async () => {
    const service = fakeService({ t: 1 }, () => ({ status: 503, body: { message: 'Service Unavailable' } }));
    const producer = new Logway({ url: 'http://127.0.0.1:1', fetch: service.fetch }).producer({
      lingerMs: 0,
      retry: { retries: 3, initialRetryTimeMs: 1, maxRetryTimeMs: 5 },
    });
    await expect(producer.send({ topic: 't', messages: [{ value: 'x' }] })).rejects.toMatchObject({ status: 503, code: 'HTTP_503' });
    expect(service.produceCalls).toHaveLength(4);
  });

  it("refuses, before sending, a record over the topic's max.message.bytes or for a partition it lacks", async () => {
    const service = fakeService({ t: 2 }, undefined, { t: { 'max.message.bytes': 10 } });
    const producer = new Logway({ url: 'http://127.0.0.1:1', fetch: service.fetch }).producer({ lingerMs: 0 });
    await expect(
      producer.send({
        topic: 't',
        messages: [
          { key: 'k', value: 'ok' },
          { key: 'k', value: 'x'.repeat(10) },
        ],
      }),
    ).rejects.toMatchObject({
      status: 413,
      code: 'RECORD_TOO_LARGE',
      details: { size: 11, maxMessageBytes: 10 },
    });
    await expect(producer.send({ topic: 't', messages: [{ partition: 2, value: 'x' }] })).rejects.toMatchObject({
      status: 404,
      code: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    expect(service.produceCalls).toHaveLength(0);
    await expect(producer.send({ topic: 't', messages: [{ key: 'k', value: 'fits' }] })).resolves.toHaveLength(1);
  });

  it('rejects a send to an unknown topic at once, with the service error', async () => {
    const { service, producer } = setup({}, { lingerMs: 0 });
    await expect(producer.send({ topic: 'nope', messages: [{ value: 'x' }] })).rejects.toMatchObject({
      status: 404,
      code: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    expect(service.produceCalls).toHaveLength(0);
  });
});

describe('close', () => {
  it('flushes what is queued, then refuses sends', async () => {
    const { service, producer } = setup({ t: 1 }, { lingerMs: 60_000 });
    const pending = producer.send({ topic: 't', messages: [{ value: 1 }, { value: 2 }] });
    await sleep(10);
    await producer.close();
    await expect(pending).resolves.toHaveLength(2);
    expect(service.produceCalls).toHaveLength(1);
    await expect(producer.send({ topic: 't', messages: [{ value: 3 }] })).rejects.toMatchObject({ code: 'PRODUCER_CLOSED' });
  });
});
