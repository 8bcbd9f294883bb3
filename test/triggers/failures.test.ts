/**
 * What a trigger does when its function fails: retries, ReportBatchItemFailures, bisecting, record
 * age, the failure topic, waiting without one, throttles, and the life cycle (disable, delete,
 * re-create, a deleted topic, a function this deployment may not invoke).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalTriggers, type RunningLocalTriggers } from '../../infra/local/lambda-dispatcher';
import { useTestService } from '../support/local-service';
import { eventually, startInvokeEndpoint, type InvokeEndpoint, type Invocation } from './support';

const { http } = useTestService();
let lambda: InvokeEndpoint;
let triggers: RunningLocalTriggers;
let clockSkew = 0;

beforeAll(async () => {
  lambda = await startInvokeEndpoint();
  triggers = startLocalTriggers({ dispatch: { invokeTimeoutMs: 5_000, leaseMarginMs: 1_000, ageClock: () => Date.now() + clockSkew } });
});
afterAll(async () => {
  await triggers?.stop();
  await lambda?.stop();
  delete process.env.LOGWAY_TRIGGER_ALLOWED_FUNCTIONS;
});

const put = (name: string, body: unknown) => http.call('PUT', `/v1/triggers/${name}`, body);
const produce = async (topic: string, values: string[]) => {
  const response = await http.post(`/v1/topics/${topic}/records`, { records: values.map((value) => ({ value, partition: 0 })) });
  expect(response.status).toBe(200);
  return response.body.offsets as { offset: number }[];
};
const recordsOf = (invocation: Invocation, topicPartition: string) => invocation.event.records[topicPartition] ?? [];
const textOf = (base64: string) => Buffer.from(base64, 'base64').toString('utf8');
const mine = (name: string) => lambda.invocations.filter((i) => i.functionName === name);
const headersOf = (record: { headers: { key: string; value: string }[] }) =>
  Object.fromEntries(record.headers.map((h) => [h.key, h.value]));
const failureTopicRecords = async (topic: string) => (await http.get(`/v1/topics/${topic}/partitions/0/records?offset=0`)).body.records;
const describe_ = async (name: string) => (await http.get(`/v1/triggers/${name}`)).body;

const answers = new Map<string, (invocation: Invocation) => ReturnType<InvokeEndpoint['answer']>>();
beforeAll(() => {
  lambda.answer = (invocation) => answers.get(invocation.functionName)?.(invocation) ?? { kind: 'ok', payload: null };
});

describe('function errors', () => {
  it('retries a failed batch, then sends it to the failure topic with headers saying why, and moves on', async () => {
    await http.post('/v1/topics', { name: 'retry-src', partitions: 1 });
    await http.post('/v1/topics', { name: 'retry-dlq', partitions: 1 });
    answers.set('retry-fn', (i) =>
      recordsOf(i, 'retry-src-0').some((r) => textOf(r.value) === 'poison')
        ? { kind: 'error', message: 'cannot digest poison' }
        : { kind: 'ok' },
    );
    await put('retry', {
      topic: 'retry-src',
      functionName: 'retry-fn',
      maximumRetryAttempts: 2,
      batchSize: 1,
      onFailure: { topic: 'retry-dlq' },
    });
    await produce('retry-src', ['good-0', 'poison', 'good-2']);
    await eventually(() => mine('retry-fn').some((i) => recordsOf(i, 'retry-src-0')[0]?.offset === 2), 15_000, 'offset 2 delivered');
    const poisonAttempts = mine('retry-fn').filter((i) => recordsOf(i, 'retry-src-0')[0]?.offset === 1);
    expect(poisonAttempts).toHaveLength(3); // the first attempt and 2 retries
    const dlq = await eventually(async () => {
      const records = await failureTopicRecords('retry-dlq');
      return records.length === 1 ? records : undefined;
    });
    expect(dlq[0].value).toBe('poison');
    expect(headersOf(dlq[0])).toMatchObject({
      'logway.trigger': 'retry',
      'logway.source.topic': 'retry-src',
      'logway.source.partition': '0',
      'logway.source.offset': '1',
      'logway.error.code': 'RETRIES_EXHAUSTED',
    });
    expect(headersOf(dlq[0])['logway.error.message']).toContain('cannot digest poison');
    const status = await eventually(async () => ((await describe_('retry')).partitions[0].position === 3 ? describe_('retry') : undefined));
    expect(status.partitions[0]).toMatchObject({ position: 3, lag: 0 });
  });

  it('without onFailure, the partition waits and lastError says why; a reset past the record resumes it', async () => {
    await http.post('/v1/topics', { name: 'wait-src', partitions: 1 });
    answers.set('wait-fn', (i) =>
      recordsOf(i, 'wait-src-0').some((r) => textOf(r.value) === 'poison') ? { kind: 'error', message: 'no' } : { kind: 'ok' },
    );
    await put('wait', { topic: 'wait-src', functionName: 'wait-fn', maximumRetryAttempts: 0, batchSize: 1 });
    await produce('wait-src', ['poison', 'after']);
    const waiting = await eventually(async () => {
      const body = await describe_('wait');
      return body.partitions[0].lastError?.code === 'RETRIES_EXHAUSTED' ? body : undefined;
    });
    expect(waiting.partitions[0]).toMatchObject({ position: 0, lag: 2 });
    expect(waiting.partitions[0].lastError.message).toMatch(/no onFailure topic, so the partition waits/);
    await new Promise((r) => setTimeout(r, 300));
    expect(mine('wait-fn').flatMap((i) => recordsOf(i, 'wait-src-0').map((r) => r.offset))).toEqual([0]);

    const enabled = await http.post('/v1/triggers/wait/reset', { to: { offset: 1 } });
    expect(enabled.status).toBe(409);
    expect(enabled.body.error.code).toBe('TRIGGER_ENABLED');
    await put('wait', { topic: 'wait-src', functionName: 'wait-fn', maximumRetryAttempts: 0, batchSize: 1, enabled: false });
    const reset = await http.post('/v1/triggers/wait/reset', { partition: 0, to: { offset: 1 } });
    expect(reset.status).toBe(200);
    expect(reset.body.partitions).toEqual([{ partition: 0, position: 1 }]);
    await put('wait', { topic: 'wait-src', functionName: 'wait-fn', maximumRetryAttempts: 0, batchSize: 1 });
    // Enabling does not append: the sweep (here run by hand) finds the partition behind.
    const { sweepWork, handOn } = await import('../../shared/triggers/work');
    await handOn(await sweepWork());
    await eventually(() => mine('wait-fn').some((i) => recordsOf(i, 'wait-src-0')[0]?.offset === 1), 10_000, 'offset 1 delivered');
    expect(
      (await eventually(async () => ((await describe_('wait')).partitions[0].lag === 0 ? describe_('wait') : undefined))).partitions[0]
        .lastError,
    ).toBeUndefined();
  });

  it('with ReportBatchItemFailures acknowledges the records before the failed one and retries from it', async () => {
    await http.post('/v1/topics', { name: 'partial', partitions: 1 });
    let failed = false;
    answers.set('partial-fn', (i) => {
      const records = recordsOf(i, 'partial-0');
      if (!failed && records.some((r) => r.offset === 3)) {
        failed = true;
        return {
          kind: 'ok',
          payload: {
            batchItemFailures: [
              { itemIdentifier: { 'topic-partition': 'partial-0', offset: 5 } },
              { itemIdentifier: { 'topic-partition': 'partial-0', offset: 3 } },
            ],
          },
        };
      }
      return { kind: 'ok', payload: { batchItemFailures: [] } };
    });
    await put('partial', {
      topic: 'partial',
      functionName: 'partial-fn',
      functionResponseTypes: ['ReportBatchItemFailures'],
      startingPosition: 'TRIM_HORIZON',
      enabled: false,
    });
    await produce('partial', ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    await put('partial', {
      topic: 'partial',
      functionName: 'partial-fn',
      functionResponseTypes: ['ReportBatchItemFailures'],
      enabled: true,
    });
    await produce('partial', ['h']);
    await eventually(async () => (await describe_('partial')).partitions[0].lag === 0, 10_000, 'partial caught up');
    const batches = mine('partial-fn').map((i) => recordsOf(i, 'partial-0').map((r) => r.offset));
    // The first batch starts at the first record and holds a through g, and h too unless a late
    // wake-up from g's append (the stream is polled) delivered before h was appended.
    expect(batches[0]!.slice(0, 7)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect([7, 8]).toContain(batches[0]!.length);
    // The function reported offsets 5 and 3 failed: everything before 3 is acknowledged, 3 is retried.
    expect(batches[1]?.[0]).toBe(3);
    expect(new Set(lambda.offsets('partial-0', 'partial-fn'))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7]));
  });

  it('a malformed batchItemFailures fails the whole batch', async () => {
    await http.post('/v1/topics', { name: 'malformed', partitions: 1 });
    let calls = 0;
    answers.set('malformed-fn', () =>
      ++calls === 1
        ? { kind: 'ok', payload: { batchItemFailures: [{ itemIdentifier: { 'topic-partition': 'other-0', offset: 0 } }] } }
        : { kind: 'ok' },
    );
    await put('malformed', { topic: 'malformed', functionName: 'malformed-fn', functionResponseTypes: ['ReportBatchItemFailures'] });
    await produce('malformed', ['x', 'y']);
    await eventually(() => calls >= 2);
    const batches = mine('malformed-fn').map((i) => recordsOf(i, 'malformed-0').map((r) => r.offset));
    expect(batches[1]).toEqual(batches[0]);
  });

  it('bisects a failing batch down to the poison record, which alone uses up its retries', async () => {
    await http.post('/v1/topics', { name: 'bisect-src', partitions: 1 });
    await http.post('/v1/topics', { name: 'bisect-dlq', partitions: 1 });
    answers.set('bisect-fn', (i) =>
      recordsOf(i, 'bisect-src-0').some((r) => textOf(r.value) === 'poison') ? { kind: 'error', message: 'poison inside' } : { kind: 'ok' },
    );
    const definition = {
      topic: 'bisect-src',
      functionName: 'bisect-fn',
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 1,
      onFailure: { topic: 'bisect-dlq' },
    };
    await put('bisect', { ...definition, enabled: false, startingPosition: 'TRIM_HORIZON' });
    await produce('bisect-src', ['v0', 'v1', 'v2', 'v3', 'v4', 'poison', 'v6', 'v7']);
    await put('bisect', { ...definition, enabled: true });
    await produce('bisect-src', ['v8']);
    await eventually(async () => (await describe_('bisect')).partitions[0].lag === 0, 15_000, 'bisect caught up');
    const sizes = mine('bisect-fn').map((i) => recordsOf(i, 'bisect-src-0').length);
    // The first batch (8 or 9 records, as the wake-ups fall) fails and is halved; so is each failing half, down to the poison alone.
    expect(sizes[0]).toBeGreaterThanOrEqual(8);
    expect(sizes[1]).toBe(Math.ceil(sizes[0]! / 2));
    expect(sizes).toContain(1);
    const poisonAlone = mine('bisect-fn').filter(
      (i) => recordsOf(i, 'bisect-src-0').length === 1 && recordsOf(i, 'bisect-src-0')[0]!.offset === 5,
    );
    expect(poisonAlone).toHaveLength(2);
    const dlq = await eventually(async () => {
      const records = await failureTopicRecords('bisect-dlq');
      return records.length > 0 ? records : undefined;
    });
    expect(dlq.map((r: { value: string }) => r.value)).toEqual(['poison']);
    // Every other record was delivered in a successful invocation.
    const succeeded = mine('bisect-fn')
      .filter((i) => !recordsOf(i, 'bisect-src-0').some((r) => textOf(r.value) === 'poison'))
      .flatMap((i) => recordsOf(i, 'bisect-src-0').map((r) => r.offset));
    expect(new Set(succeeded)).toEqual(new Set([0, 1, 2, 3, 4, 6, 7, 8]));
  });

  it.each([
    ['fails', 'bfirst-err'],
    ['reports the first record as failed (ReportBatchItemFailures)', 'bfirst-report'],
  ])('bisects a batch whose first record is the poison when the function %s', async (_how, name) => {
    const src = `${name}-src`;
    await http.post('/v1/topics', { name: src, partitions: 1 });
    await http.post('/v1/topics', { name: `${name}-dlq`, partitions: 1 });
    const report = name === 'bfirst-report';
    answers.set(`${name}-fn`, (i) => {
      const poison = recordsOf(i, `${src}-0`).find((r) => textOf(r.value) === 'poison');
      if (!poison) return { kind: 'ok' };
      return report
        ? { kind: 'ok', payload: { batchItemFailures: [{ itemIdentifier: { 'topic-partition': `${src}-0`, offset: poison.offset } }] } }
        : { kind: 'error', message: 'poison inside' };
    });
    const definition = {
      topic: src,
      functionName: `${name}-fn`,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 1,
      onFailure: { topic: `${name}-dlq` },
      ...(report ? { functionResponseTypes: ['ReportBatchItemFailures'] } : {}),
    };
    await put(name, { ...definition, enabled: false, startingPosition: 'TRIM_HORIZON' });
    await produce(src, ['poison', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7']);
    await put(name, { ...definition, enabled: true });
    await produce(src, ['v8']);
    await eventually(async () => (await describe_(name)).partitions[0].lag === 0, 15_000, `${name} caught up`);
    const batches = mine(`${name}-fn`).map((i) => recordsOf(i, `${src}-0`).map((r) => r.offset));
    // Each failing batch is halved (not retried whole), down to the poison alone, which uses its retries.
    expect(batches[0]!.length).toBeGreaterThanOrEqual(8);
    const beforeAlone = batches.findIndex((b) => b.length === 1);
    expect(beforeAlone).toBeGreaterThan(0);
    for (let i = 1; i <= beforeAlone; i++) {
      expect(batches[i]![0]).toBe(0);
      expect(batches[i]!.length).toBe(Math.ceil(batches[i - 1]!.length / 2));
    }
    expect(batches.filter((b) => b.length === 1 && b[0] === 0)).toHaveLength(2);
    const dlq = await eventually(async () => {
      const records = await failureTopicRecords(`${name}-dlq`);
      return records.length > 0 ? records : undefined;
    });
    expect(dlq.map((r: { value: string }) => r.value)).toEqual(['poison']);
    const succeeded = mine(`${name}-fn`)
      .filter((i) => !recordsOf(i, `${src}-0`).some((r) => textOf(r.value) === 'poison'))
      .flatMap((i) => recordsOf(i, `${src}-0`).map((r) => r.offset));
    expect(new Set(succeeded)).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8]));
  });

  it('throttles retry without counting as attempts', async () => {
    await http.post('/v1/topics', { name: 'throttled', partitions: 1 });
    await http.post('/v1/topics', { name: 'throttled-dlq', partitions: 1 });
    let throttles = 0;
    answers.set('throttled-fn', () => (throttles++ < 4 ? { kind: 'throttle' } : { kind: 'ok' }));
    await put('throttled', {
      topic: 'throttled',
      functionName: 'throttled-fn',
      maximumRetryAttempts: 0,
      onFailure: { topic: 'throttled-dlq' },
    });
    await produce('throttled', ['t']);
    await eventually(() => mine('throttled-fn').length >= 5, 15_000, 'five invocations');
    await eventually(async () => (await describe_('throttled')).partitions[0].lag === 0);
    expect(await failureTopicRecords('throttled-dlq')).toEqual([]);
  });

  it('records older than maximumRecordAgeMs go to the failure topic undelivered', async () => {
    await http.post('/v1/topics', { name: 'aged', partitions: 1 });
    await http.post('/v1/topics', { name: 'aged-dlq', partitions: 1 });
    await put('aged', { topic: 'aged', functionName: 'aged-fn', maximumRecordAgeMs: 60_000, onFailure: { topic: 'aged-dlq' } });
    clockSkew = 120_000;
    try {
      await produce('aged', ['stale']);
      const dlq = await eventually(async () => {
        const records = await failureTopicRecords('aged-dlq');
        return records.length > 0 ? records : undefined;
      });
      expect(headersOf(dlq[0])['logway.error.code']).toBe('RECORD_AGE_EXCEEDED');
      expect(mine('aged-fn')).toHaveLength(0);
    } finally {
      clockSkew = 0;
    }
    await produce('aged', ['fresh']);
    await eventually(() => mine('aged-fn').length === 1);
    expect(textOf(recordsOf(mine('aged-fn')[0]!, 'aged-0')[0]!.value)).toBe('fresh');
  });
});

describe('life cycle', () => {
  it('disable pauses, enable resumes, delete stops, re-create starts afresh', async () => {
    await http.post('/v1/topics', { name: 'cycle', partitions: 1 });
    const definition = { topic: 'cycle', functionName: 'cycle-fn', startingPosition: 'TRIM_HORIZON' };
    await put('cycle', definition);
    await produce('cycle', ['one']);
    await eventually(() => lambda.offsets('cycle-0', 'cycle-fn').length === 1);
    await put('cycle', { ...definition, enabled: false });
    await produce('cycle', ['two']);
    await new Promise((r) => setTimeout(r, 500));
    expect(lambda.offsets('cycle-0', 'cycle-fn')).toEqual([0]);
    await put('cycle', { ...definition, enabled: true });
    await produce('cycle', ['three']);
    await eventually(() => lambda.offsets('cycle-0', 'cycle-fn').length === 3);
    expect(lambda.offsets('cycle-0', 'cycle-fn')).toEqual([0, 1, 2]);

    expect((await http.delete('/v1/triggers/cycle')).status).toBe(204);
    await produce('cycle', ['four']);
    await new Promise((r) => setTimeout(r, 500));
    expect(lambda.offsets('cycle-0', 'cycle-fn')).toEqual([0, 1, 2]);
    expect((await put('cycle', definition)).status).toBe(201);
    await produce('cycle', ['five']);
    await eventually(() => lambda.offsets('cycle-0', 'cycle-fn').length === 8, 10_000, 'redelivery from the start');
    expect(lambda.offsets('cycle-0', 'cycle-fn')).toEqual([0, 1, 2, 0, 1, 2, 3, 4]);
  });

  it('a trigger on a deleted topic delivers nothing, even to a new topic of the same name, and says why', async () => {
    await http.post('/v1/topics', { name: 'doomed', partitions: 1 });
    await put('doomed', { topic: 'doomed', functionName: 'doomed-fn' });
    await produce('doomed', ['before']);
    await eventually(() => lambda.offsets('doomed-0', 'doomed-fn').length === 1);
    expect((await http.delete('/v1/topics/doomed')).status).toBe(204);
    const status = await describe_('doomed');
    expect(status.partitions[0].lastError.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(status.partitions[0].lastError.message).toMatch(/was deleted/);
    await http.post('/v1/topics', { name: 'doomed', partitions: 1 });
    await produce('doomed', ['after']);
    await new Promise((r) => setTimeout(r, 500));
    expect(lambda.offsets('doomed-0', 'doomed-fn')).toEqual([0]);
    expect((await http.post('/v1/triggers/doomed/reset', { to: 'earliest' })).status).toBe(409);
  });

  it('a function this deployment may not invoke is never invoked, and lastError says so', async () => {
    process.env.LOGWAY_TRIGGER_ALLOWED_FUNCTIONS = 'allowed-fn,arn:aws:lambda:us-east-1:123456789012:function:other';
    try {
      await http.post('/v1/topics', { name: 'guarded', partitions: 1 });
      await put('guarded', { topic: 'guarded', functionName: 'forbidden-fn' });
      await produce('guarded', ['x']);
      const status = await eventually(async () => {
        const body = await describe_('guarded');
        return body.partitions[0].lastError ? body : undefined;
      });
      expect(status.partitions[0].lastError.code).toBe('FUNCTION_NOT_ALLOWED');
      expect(mine('forbidden-fn')).toHaveLength(0);
    } finally {
      delete process.env.LOGWAY_TRIGGER_ALLOWED_FUNCTIONS;
    }
  });

  it('an unknown function shows FUNCTION_NOT_FOUND and is retried without counting', async () => {
    await http.post('/v1/topics', { name: 'missing', partitions: 1 });
    answers.set('missing-fn', () => ({ kind: 'status', status: 404, type: 'ResourceNotFoundException' }));
    await put('missing', { topic: 'missing', functionName: 'missing-fn', maximumRetryAttempts: 0 });
    await produce('missing', ['x']);
    const status = await eventually(async () => {
      const body = await describe_('missing');
      return body.partitions[0].lastError ? body : undefined;
    });
    expect(status.partitions[0]).toMatchObject({ attempts: 0, position: 0, lastError: { code: 'FUNCTION_NOT_FOUND' } });
  });
});
