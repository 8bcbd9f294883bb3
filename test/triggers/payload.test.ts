/**
 * Events near Lambda's 6 MB invoke payload: a batch of large records is split across
 * invocations, none over 6 MB; a record whose header bytes (JSON arrays, ~4 characters a byte)
 * cannot fit an event alone goes to the failure topic saying why.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalTriggers, type RunningLocalTriggers } from '../../infra/local/lambda-dispatcher';
import { useTestService } from '../support/local-service';
import { eventually, parseWithPowertools, startInvokeEndpoint, type InvokeEndpoint } from './support';

const { http } = useTestService();
let lambda: InvokeEndpoint;
let triggers: RunningLocalTriggers;
beforeAll(async () => {
  lambda = await startInvokeEndpoint();
  triggers = startLocalTriggers({ dispatch: { invokeTimeoutMs: 10_000, leaseMarginMs: 1_000 } });
});
afterAll(async () => {
  await triggers?.stop();
  await lambda?.stop();
});

const sixMB = 6 * 1024 * 1024;

describe('payload splitting', () => {
  it('splits a batch of 1 MB records so that no event exceeds 6 MB; a record too large for any event goes to the failure topic', async () => {
    const config = { 'max.message.bytes': 5 * 1024 * 1024 };
    expect((await http.post('/v1/topics', { name: 'big', partitions: 1, config })).status).toBe(201);
    await http.post('/v1/topics', { name: 'big-dlq', partitions: 1, config });
    await http.call('PUT', '/v1/triggers/big', {
      topic: 'big',
      functionName: 'big-fn',
      batchSize: 100,
      onFailure: { topic: 'big-dlq' },
      enabled: false,
      startingPosition: 'TRIM_HORIZON',
    });
    const values: string[] = [];
    for (let i = 0; i < 4; i++) {
      const records = [0, 1].map(() => randomBytes(1024 * 1024).toString('base64'));
      values.push(...records);
      expect((await http.post('/v1/topics/big/records', { records: records.map((valueBase64) => ({ valueBase64 })) })).status).toBe(200);
    }
    // 1.6 MB of header bytes 255: 6.4 MB as a JSON array of numbers ("255," each), though the record is under max.message.bytes.
    const heavy = await http.post('/v1/topics/big/records', {
      records: [{ value: 'heavy', headers: [{ key: 'blob', valueBase64: Buffer.alloc(1_600_000, 255).toString('base64') }] }],
    });
    expect(heavy.status).toBe(200);
    await http.post('/v1/topics/big/records', { records: [{ value: 'last' }] });
    await http.call('PUT', '/v1/triggers/big', { topic: 'big', functionName: 'big-fn', batchSize: 100, onFailure: { topic: 'big-dlq' } });
    // Enabling does not wake a trigger; an append does.
    await http.post('/v1/topics/big/records', { records: [{ value: 'wake' }] });

    await eventually(async () => (await http.get('/v1/triggers/big')).body.partitions[0].lag === 0, 30_000, 'caught up');
    const invocations = lambda.invocations.filter((i) => i.functionName === 'big-fn');
    expect(invocations.length).toBeGreaterThanOrEqual(3);
    for (const invocation of invocations) {
      expect(invocation.bytes).toBeLessThanOrEqual(sixMB);
      parseWithPowertools(invocation.event);
    }
    const delivered = invocations.flatMap((i) => i.event.records['big-0'] ?? []);
    expect(delivered.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 9, 10]);
    expect(delivered.slice(0, 8).map((r) => r.value)).toEqual(values);
    const dlq = (await http.get('/v1/topics/big-dlq/partitions/0/records?offset=0&maxBytes=5242880')).body.records;
    expect(dlq).toHaveLength(1);
    const headers = Object.fromEntries(
      dlq[0].headers.map((h: { key: string; value?: string; valueBase64?: string }) => [h.key, h.value ?? h.valueBase64]),
    );
    expect(headers['logway.error.code']).toBe('RECORD_TOO_LARGE_FOR_INVOKE');
    expect(headers['logway.source.offset']).toBe('8');
    expect(dlq[0].value).toBe('heavy');
  }, 60_000);
});
