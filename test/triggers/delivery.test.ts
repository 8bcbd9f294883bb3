/**
 * Triggers end to end against the emulators: the HTTP API, and delivery woken by the partitions
 * table's DynamoDB stream, through @aws-sdk/client-lambda to an Invoke endpoint of the test's own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalTriggers, type RunningLocalTriggers } from '../../infra/local/lambda-dispatcher';
import { useTestService } from '../support/local-service';
import { type ClientStack, loseFirstResponse } from '../support/intercept';
import { dynamo } from '../../shared/runtime/aws';
import { eventually, parseWithPowertools, startInvokeEndpoint, type InvokeEndpoint } from './support';

const { http } = useTestService();
let lambda: InvokeEndpoint;
let triggers: RunningLocalTriggers;

beforeAll(async () => {
  lambda = await startInvokeEndpoint();
  triggers = startLocalTriggers({ dispatch: { invokeTimeoutMs: 5_000, leaseMarginMs: 1_000 } });
});
afterAll(async () => {
  await triggers?.stop();
  await lambda?.stop();
});

const put = (name: string, body: unknown) => http.call('PUT', `/v1/triggers/${name}`, body);

describe('the triggers API', () => {
  it('creates (201), replaces (200), lists, describes and deletes a trigger', async () => {
    expect((await http.post('/v1/topics', { name: 'api-topic', partitions: 2 })).status).toBe(201);
    const created = await put('api-trigger', { topic: 'api-topic', functionName: 'fn', enabled: false });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'api-trigger',
      topic: 'api-topic',
      functionName: 'fn',
      startingPosition: 'LATEST',
      batchSize: 100,
      maximumBatchingWindowMs: 0,
      maximumRetryAttempts: -1,
      maximumRecordAgeMs: -1,
      bisectBatchOnFunctionError: false,
      functionResponseTypes: [],
      enabled: false,
      state: 'Disabled',
    });
    const updated = await put('api-trigger', { topic: 'api-topic', functionName: 'fn2', batchSize: 7, enabled: false });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ functionName: 'fn2', batchSize: 7, startingPosition: 'LATEST' });

    const list = await http.get('/v1/triggers');
    expect(list.status).toBe(200);
    expect(list.body.triggers.map((t: { name: string }) => t.name)).toContain('api-trigger');

    const described = await http.get('/v1/triggers/api-trigger');
    expect(described.status).toBe(200);
    expect(described.body.partitions).toEqual([
      { partition: 0, position: 0, highWatermark: 0, lag: 0, attempts: 0 },
      { partition: 1, position: 0, highWatermark: 0, lag: 0, attempts: 0 },
    ]);

    expect((await http.delete('/v1/triggers/api-trigger')).status).toBe(204);
    expect((await http.get('/v1/triggers/api-trigger')).body.error.code).toBe('UNKNOWN_TRIGGER');
    expect((await http.delete('/v1/triggers/api-trigger')).status).toBe(404);
  });

  it('answers 201 for a create whose response DynamoDB lost and the SDK retried', async () => {
    await http.post('/v1/topics', { name: 'api-topic-lost', partitions: 1 });
    const { result, lost } = await loseFirstResponse(
      dynamo().middlewareStack as ClientStack,
      (command, input) => command === 'PutItemCommand' && String(input.TableName).endsWith('triggers'),
      () => put('lost-trigger', { topic: 'api-topic-lost', functionName: 'fn', enabled: false }),
    );
    expect(lost).toBe(true);
    expect(result.status).toBe(201);
    expect((await http.get('/v1/triggers/lost-trigger')).body.functionName).toBe('fn');
    expect((await http.delete('/v1/triggers/lost-trigger')).status).toBe(204);
  });

  it('refuses bad definitions with a 4xx naming the field', async () => {
    await http.post('/v1/topics', { name: 'api-topic-2', partitions: 1 });
    const bad = async (body: unknown, field: string, status = 400) => {
      const response = await put('bad-trigger', body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      if (status === 400) expect(response.body.error.field, JSON.stringify(response.body)).toBe(field);
      return response;
    };
    await bad({ topic: 'api-topic-2', functionName: 'fn', batchSize: 0 }, 'batchSize');
    await bad({ topic: 'api-topic-2', functionName: 'fn', batchSize: 10_001 }, 'batchSize');
    await bad({ topic: 'api-topic-2', functionName: 'fn', maximumBatchingWindowMs: 300_001 }, 'maximumBatchingWindowMs');
    await bad({ topic: 'api-topic-2', functionName: 'fn', maximumRetryAttempts: -2 }, 'maximumRetryAttempts');
    await bad({ topic: 'api-topic-2', functionName: 'fn', maximumRecordAgeMs: 59_999 }, 'maximumRecordAgeMs');
    await bad({ topic: 'api-topic-2', functionName: 'fn', functionResponseTypes: ['Nope'] }, 'functionResponseTypes[0]');
    await bad({ topic: 'api-topic-2', functionName: 'not a name' }, 'functionName');
    await bad({ topic: 'api-topic-2', functionName: 'fn', startingPosition: 'AT_TIMESTAMP' }, 'startingPosition');
    await bad({ topic: 'api-topic-2', functionName: 'fn', extra: 1 }, 'body');
    const unknown = await bad({ topic: 'no-such-topic', functionName: 'fn' }, '', 404);
    expect(unknown.body.error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect((await bad({ topic: 'api-topic-2', functionName: 'fn', onFailure: { topic: 'nope' } }, '', 404)).body.error.code).toBe(
      'UNKNOWN_TOPIC_OR_PARTITION',
    );

    expect(
      (await put('fixed', { topic: 'api-topic-2', functionName: 'fn', startingPosition: 'TRIM_HORIZON', enabled: false })).status,
    ).toBe(201);
    await http.post('/v1/topics', { name: 'api-topic-3', partitions: 1 });
    const topicChange = await put('fixed', { topic: 'api-topic-3', functionName: 'fn' });
    expect(topicChange.status).toBe(400);
    expect(topicChange.body.error.field).toBe('topic');
    const startChange = await put('fixed', { topic: 'api-topic-2', functionName: 'fn', startingPosition: 'LATEST' });
    expect(startChange.status).toBe(400);
    expect(startChange.body.error.field).toBe('startingPosition');
    // Omitting startingPosition keeps it.
    expect((await put('fixed', { topic: 'api-topic-2', functionName: 'fn', enabled: false })).body.startingPosition).toBe('TRIM_HORIZON');
    expect((await http.post('/v1/triggers/nope/reset', { to: 'earliest' })).body.error.code).toBe('UNKNOWN_TRIGGER');
  });
});

describe('delivery', () => {
  it('delivers every record in offset order per partition, one batch in flight, as a Kafka event Powertools parses', async () => {
    await http.post('/v1/topics', { name: 'orders', partitions: 3 });
    lambda.answer = () => ({ kind: 'ok', payload: null, delayMs: 20 });
    expect(
      (await put('orders-trigger', { topic: 'orders', functionName: 'orders-fn', startingPosition: 'TRIM_HORIZON', batchSize: 10 })).status,
    ).toBe(201);
    // Three producers at once.
    const produced = await Promise.all(
      [0, 1, 2].map(async (producer) => {
        const offsets: { partition: number; offset: number }[] = [];
        for (let i = 0; i < 10; i++) {
          const response = await http.post('/v1/topics/orders/records', {
            records: Array.from({ length: 5 }, (_, j) => ({
              key: `k${(producer * 7 + i + j) % 11}`,
              value: { producer, i, j },
              headers: [{ key: 'h', value: `p${producer}` }],
            })),
          });
          expect(response.status).toBe(200);
          offsets.push(...response.body.offsets);
        }
        return offsets;
      }),
    );
    const expected = new Map<number, number[]>();
    for (const { partition, offset } of produced.flat()) expected.set(partition, [...(expected.get(partition) ?? []), offset]);
    for (const [partition, offsets] of expected) {
      const want = [...offsets].sort((a, b) => a - b);
      await eventually(() => lambda.offsets(`orders-${partition}`).length >= want.length, 20_000, `partition ${partition} delivered`);
      expect(lambda.offsets(`orders-${partition}`)).toEqual(want);
      expect(lambda.maxInFlight(`orders-${partition}`)).toBe(1);
    }
    for (const invocation of lambda.invocations.filter((i) => i.functionName === 'orders-fn')) {
      const parsed = parseWithPowertools(invocation.event);
      const [key, records] = Object.entries(parsed.records)[0]!;
      expect(key).toMatch(/^orders-\d$/);
      expect(records.length).toBeLessThanOrEqual(10);
      expect(JSON.parse(records[0]!.value)).toHaveProperty('producer');
      expect(records[0]!.headers[0]).toHaveProperty('h');
    }
    const described = await eventually(async () => {
      const body = (await http.get('/v1/triggers/orders-trigger')).body;
      return body.partitions.every((p: { lag: number }) => p.lag === 0) ? body : undefined;
    });
    expect(described.partitions.reduce((n: number, p: { position: number }) => n + p.position, 0)).toBe(150);
  });

  it('honours maximumBatchingWindowMs: a batch waits up to the window to fill, and no longer', async () => {
    const windowMs = 1_500;
    const produceTo = async (topic: string, n: number) => {
      const response = await http.post(`/v1/topics/${topic}/records`, {
        records: Array.from({ length: n }, (_, i) => ({ value: `r${i}`, partition: 0 })),
      });
      expect(response.status).toBe(200);
    };
    const of = (fn: string) => lambda.invocations.filter((i) => i.functionName === fn);
    lambda.answer = () => ({ kind: 'ok', payload: null });

    // Too few records to fill the batch: the first waits the window (measured from its append), gathering the later ones.
    await http.post('/v1/topics', { name: 'window-wait', partitions: 1 });
    expect(
      (await put('window-wait', { topic: 'window-wait', functionName: 'window-wait-fn', batchSize: 10, maximumBatchingWindowMs: windowMs }))
        .status,
    ).toBe(201);
    const before = Date.now();
    await produceTo('window-wait', 1);
    const appended = Date.now();
    await new Promise((r) => setTimeout(r, 400));
    await produceTo('window-wait', 2);
    const first = await eventually(() => of('window-wait-fn')[0], 10_000, 'the windowed batch');
    expect(first.event.records['window-wait-0']).toHaveLength(3);
    expect(first.startedAt).toBeGreaterThanOrEqual(before + windowMs);
    // No longer than the window (plus the dispatcher's 200 ms polling step and a shared machine's slack).
    expect(first.startedAt - appended).toBeLessThan(windowMs + 1_000);
    expect(of('window-wait-fn')).toHaveLength(1);

    // A batch that fills goes at once, long before its window.
    await http.post('/v1/topics', { name: 'window-fill', partitions: 1 });
    expect(
      (await put('window-fill', { topic: 'window-fill', functionName: 'window-fill-fn', batchSize: 10, maximumBatchingWindowMs: 60_000 }))
        .status,
    ).toBe(201);
    const start = Date.now();
    await produceTo('window-fill', 4);
    await new Promise((r) => setTimeout(r, 300));
    expect(of('window-fill-fn')).toHaveLength(0);
    await produceTo('window-fill', 6);
    const full = await eventually(() => of('window-fill-fn')[0], 10_000, 'the full batch');
    expect(full.event.records['window-fill-0']).toHaveLength(10);
    expect(full.startedAt - start).toBeLessThan(5_000);
  });

  it('starts at LATEST (the high watermark at creation) by default, and at a timestamp', async () => {
    await http.post('/v1/topics', { name: 'late', partitions: 1 });
    await http.post('/v1/topics/late/records', { records: [{ value: 'old-1' }, { value: 'old-2' }] });
    const cut = Date.now() + 1;
    await new Promise((r) => setTimeout(r, 5));
    await http.post('/v1/topics/late/records', { records: [{ value: 'mid-3' }] });
    await put('late-latest', { topic: 'late', functionName: 'late-latest' });
    await put('late-time', { topic: 'late', functionName: 'late-time', startingPosition: { timestamp: cut } });
    await http.post('/v1/topics/late/records', { records: [{ value: 'new-4' }] });
    await eventually(() => lambda.offsets('late-0', 'late-latest').length === 1 && lambda.offsets('late-0', 'late-time').length === 2);
    expect(lambda.offsets('late-0', 'late-latest')).toEqual([3]);
    expect(lambda.offsets('late-0', 'late-time')).toEqual([2, 3]);
  });
});
