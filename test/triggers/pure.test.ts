/** The pure parts of triggers: event shape and 6 MB splitting, response reading, next steps. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KafkaSelfManagedEventSchema } from '@aws-lambda-powertools/parser/schemas/kafka';
import { buildEvent, envelopeBytes, fitBatch, maxEventBytes, type DeliverableRecord } from '../../shared/triggers/events';
import { isFunctionAllowed } from '../../shared/triggers/invoke';
import { functionBaseName } from '../../shared/triggers/model';
import { nextStep, readItemFailures, type RetryPolicy } from '../../shared/triggers/outcome';
import { appendedPartitionKey, parsePartitionKey } from '../../shared/triggers/stream-keys';

const record = (
  offset: number,
  value: Uint8Array | null,
  headers: { key: string; value: Uint8Array | null }[] = [],
  key: Uint8Array | null = null,
): DeliverableRecord => ({
  offset,
  timestamp: 1_700_000_000_000 + offset,
  key,
  value,
  headers,
  appendedAt: 1_700_000_000_000,
  timestampType: 'CreateTime',
});

const arbRecord = fc.record({
  key: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
  value: fc.option(fc.uint8Array({ maxLength: 400 }), { nil: null }),
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 10 }), value: fc.option(fc.uint8Array({ maxLength: 60 }), { nil: null }) }), {
    maxLength: 4,
  }),
});

describe('events', () => {
  it('is the self-managed Kafka shape Powertools parses, bytes intact', () => {
    fc.assert(
      fc.property(fc.array(arbRecord, { minLength: 1, maxLength: 20 }), (records) => {
        const deliverable = records.map((r, i) => record(10 + i, r.value, r.headers, r.key));
        const fitted = fitBatch('orders', 3, deliverable, 'b:9092', maxEventBytes);
        const event = buildEvent('orders', 3, fitted.records, 'b:9092');
        expect(Buffer.byteLength(JSON.stringify(event))).toBe(fitted.eventBytes);
        const parsed = KafkaSelfManagedEventSchema.parse(JSON.parse(JSON.stringify(event)));
        const out = parsed.records['orders-3']!;
        out.forEach((r, i) => {
          expect(r.offset).toBe(10 + i);
          expect(r.topic).toBe('orders');
          expect(r.partition).toBe(3);
          expect(r.timestampType).toBe('CREATE_TIME');
          const original = records[i]!;
          expect(Buffer.from(event.records['orders-3']![i]!.value, 'base64')).toEqual(Buffer.from(original.value ?? []));
          expect(event.records['orders-3']![i]!.headers.map((h) => Object.keys(h)[0])).toEqual(original.headers.map((h) => h.key));
        });
      }),
    );
  });

  it('cuts a batch to the longest prefix under the limit, measured exactly', () => {
    fc.assert(
      fc.property(fc.array(arbRecord, { minLength: 1, maxLength: 30 }), fc.integer({ min: 100, max: 20_000 }), (records, limit) => {
        const deliverable = records.map((r, i) => record(i, r.value, r.headers, r.key));
        const fitted = fitBatch('t', 0, deliverable, 'x', limit);
        expect(fitted.eventBytes).toBeLessThanOrEqual(Math.max(limit, envelopeBytes('t', 0, 'x')));
        if (fitted.records.length < deliverable.length) {
          const oneMore = fitBatch('t', 0, deliverable.slice(0, fitted.records.length + 1), 'x', Number.MAX_SAFE_INTEGER);
          expect(oneMore.eventBytes).toBeGreaterThan(limit);
        }
      }),
    );
  });

  it('counts header bytes as JSON arrays (up to ~4 characters a byte): near 6 MB a header-heavy record splits from the rest', () => {
    // The largest header that still fits beside record 0: every byte 255 is the 4 characters "255,".
    const withHeader = (n: number) => [
      record(0, new Uint8Array(10)),
      record(1, new Uint8Array(10), [{ key: 'h', value: new Uint8Array(n).fill(255) }]),
      record(2, new Uint8Array(10)),
    ];
    const base = fitBatch('t', 0, withHeader(0).slice(0, 2), 'x', Number.MAX_SAFE_INTEGER).eventBytes;
    const n = Math.floor((maxEventBytes - base + 1) / 4);
    expect(n * 4).toBeGreaterThan(6_000_000); // 1.5 MB of header bytes make a 6 MB event
    const first = fitBatch('t', 0, withHeader(n), 'x', maxEventBytes);
    expect(first.records.map((r) => r.offset)).toEqual([0, 1]);
    expect(first.eventBytes).toBeLessThanOrEqual(maxEventBytes);
    expect(fitBatch('t', 0, withHeader(n + 1), 'x', maxEventBytes).records.map((r) => r.offset)).toEqual([0]);
    const tooBig = record(0, null, [{ key: 'h', value: new Uint8Array(1_600_000).fill(200) }]);
    expect(fitBatch('t', 0, [tooBig], 'x', maxEventBytes).records).toHaveLength(0);
  });

  it('sends a null value as the empty string and omits a null key', () => {
    const [converted] = fitBatch('t', 0, [record(0, null)], 'x', maxEventBytes).records;
    expect(converted!.value).toBe('');
    expect(converted).not.toHaveProperty('key');
  });
});

const policy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
  maximumRetryAttempts: -1,
  bisectBatchOnFunctionError: false,
  functionResponseTypes: [],
  ...overrides,
});
const batch = (offsets: number[]) => ({ topicPartition: 'orders-0', offsets });

describe('reading ReportBatchItemFailures', () => {
  it('acknowledges on no failures, resumes at the lowest failed offset, and fails the batch on anything it cannot read', () => {
    const b = batch([5, 6, 7, 8]);
    expect(readItemFailures(null, b)).toEqual({ ok: true });
    expect(readItemFailures({ batchItemFailures: [] }, b)).toEqual({ ok: true });
    expect(readItemFailures({ batchItemFailures: null }, b)).toEqual({ ok: true });
    const item = (offset: unknown, tp = 'orders-0') => ({ itemIdentifier: { 'topic-partition': tp, offset } });
    expect(readItemFailures({ batchItemFailures: [item(8), item(6)] }, b)).toEqual({ ok: true, failedAt: 6 });
    expect(readItemFailures({ batchItemFailures: [item('7')] }, b)).toEqual({ ok: true, failedAt: 7 });
    expect(readItemFailures({ batchItemFailures: [item(9)] }, b).ok).toBe(false);
    expect(readItemFailures({ batchItemFailures: [item(6, 'orders-1')] }, b).ok).toBe(false);
    expect(readItemFailures({ batchItemFailures: [{ itemIdentifier: null }] }, b).ok).toBe(false);
    expect(readItemFailures({ batchItemFailures: [{}] }, b).ok).toBe(false);
    expect(readItemFailures({ batchItemFailures: 'x' }, b).ok).toBe(false);
  });
});

describe('the next step', () => {
  const error = { kind: 'function-error', code: 'FUNCTION_ERROR', message: 'boom' } as const;

  it('moves on after success, retries a failure with growing backoff, and gives up after maximumRetryAttempts', () => {
    expect(nextStep(policy(), { attempts: 3 }, batch([1, 2]), { kind: 'returned', payload: null })).toEqual({
      kind: 'advance',
      to: 3,
      attempts: 0,
    });
    const first = nextStep(policy({ maximumRetryAttempts: 2 }), { attempts: 0 }, batch([1, 2]), error);
    expect(first).toMatchObject({ kind: 'retry', attempts: 1, counted: true, backoffMs: 100 });
    expect(nextStep(policy({ maximumRetryAttempts: 2 }), { attempts: 1 }, batch([1, 2]), error)).toMatchObject({
      kind: 'retry',
      attempts: 2,
      backoffMs: 200,
    });
    expect(nextStep(policy({ maximumRetryAttempts: 2 }), { attempts: 2 }, batch([1, 2]), error)).toMatchObject({
      kind: 'exhausted',
      from: 1,
      to: 2,
    });
    expect(nextStep(policy({ maximumRetryAttempts: 0 }), { attempts: 0 }, batch([1]), error)).toMatchObject({ kind: 'exhausted' });
  });

  it('never counts throttles or invocation errors, whatever the retry limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 50 }),
        fc.constantFrom('throttled', 'invoke-error'),
        (attempts, throttles, kind) => {
          const step = nextStep(
            policy({ maximumRetryAttempts: 0 }),
            { attempts },
            batch([0]),
            { kind, code: 'X', message: 'm' } as never,
            throttles,
          );
          expect(step).toMatchObject({ kind: 'retry', attempts, counted: false });
          expect((step as { backoffMs: number }).backoffMs).toBeGreaterThan(0);
          expect((step as { backoffMs: number }).backoffMs).toBeLessThanOrEqual(5_000);
        },
      ),
    );
  });

  it('bisects a failing batch without counting, until one record is left', () => {
    const bisect = policy({ bisectBatchOnFunctionError: true, maximumRetryAttempts: 0 });
    expect(nextStep(bisect, { attempts: 0 }, batch([0, 1, 2, 3, 4]), error)).toMatchObject({
      kind: 'retry',
      bisectLimit: 3,
      counted: false,
    });
    expect(nextStep(bisect, { attempts: 0 }, batch([4]), error)).toMatchObject({ kind: 'exhausted', from: 4, to: 4 });
  });

  it('bisects a batch whose first record the function reports as failed, as it would on a function error', () => {
    const both = policy({ bisectBatchOnFunctionError: true, functionResponseTypes: ['ReportBatchItemFailures'], maximumRetryAttempts: 0 });
    const failures = (offset: number) =>
      ({ kind: 'returned', payload: { batchItemFailures: [{ itemIdentifier: { 'topic-partition': 'orders-0', offset } }] } }) as const;
    // Nothing of the batch succeeded: it is split without counting an attempt, not retried whole.
    expect(nextStep(both, { attempts: 0 }, batch([4, 5, 6, 7, 8]), failures(4))).toMatchObject({
      kind: 'retry',
      bisectLimit: 3,
      counted: false,
    });
    // Down to the record alone, which then uses its retries.
    expect(nextStep(both, { attempts: 0 }, batch([4]), failures(4))).toMatchObject({ kind: 'exhausted', from: 4, to: 4 });
    // A later failed record still acknowledges the records before it.
    expect(nextStep({ ...both, maximumRetryAttempts: 2 }, { attempts: 0 }, batch([4, 5, 6]), failures(5))).toMatchObject({
      kind: 'advance',
      to: 5,
      attempts: 1,
    });
    // Without bisecting, the first record's failure retries the batch (counted).
    expect(
      nextStep({ ...both, bisectBatchOnFunctionError: false, maximumRetryAttempts: 2 }, { attempts: 0 }, batch([4, 5, 6]), failures(4)),
    ).toMatchObject({ kind: 'retry', attempts: 1, counted: true });
  });

  it('with ReportBatchItemFailures acknowledges before the failed record, which has used one attempt', () => {
    const report = policy({ functionResponseTypes: ['ReportBatchItemFailures'], maximumRetryAttempts: 3 });
    const failures = (offset: number) =>
      ({ kind: 'returned', payload: { batchItemFailures: [{ itemIdentifier: { 'topic-partition': 'orders-0', offset } }] } }) as const;
    expect(nextStep(report, { attempts: 0 }, batch([4, 5, 6]), failures(5))).toMatchObject({ kind: 'advance', to: 5, attempts: 1 });
    expect(nextStep(report, { attempts: 1 }, batch([5, 6]), failures(5))).toMatchObject({ kind: 'retry', attempts: 2 });
    expect(nextStep({ ...report, maximumRetryAttempts: 0 }, { attempts: 0 }, batch([4, 5, 6]), failures(5))).toMatchObject({
      kind: 'exhausted',
      from: 5,
      to: 5,
    });
    // Without the response type, the response is not read.
    expect(nextStep(policy(), { attempts: 0 }, batch([4, 5, 6]), failures(5))).toEqual({ kind: 'advance', to: 7, attempts: 0 });
  });
});

describe('the allow-list', () => {
  it('matches names and ARNs by function name; unset allows any', () => {
    expect(functionBaseName('arn:aws:lambda:eu-west-1:123456789012:function:orders:prod')).toBe('orders');
    expect(isFunctionAllowed('x', {})).toBe(true);
    const env = { LOGWAY_TRIGGER_ALLOWED_FUNCTIONS: 'orders, arn:aws:lambda:us-east-1:123456789012:function:billing' };
    expect(isFunctionAllowed('orders', env)).toBe(true);
    expect(isFunctionAllowed('arn:aws:lambda:us-east-1:123456789012:function:orders', env)).toBe(true);
    expect(isFunctionAllowed('billing', env)).toBe(true);
    expect(isFunctionAllowed('payroll', env)).toBe(false);
  });
});

describe('the chunks stream', () => {
  const topicId = '0b8f6f0e-3c1d-4b7a-9a51-6d2f1f0c9e11';
  const chunk = (partitionKey: string, eventName = 'INSERT', baseOffset: string | null = '42') => ({
    eventName,
    dynamodb: { Keys: { partitionKey: { S: partitionKey }, ...(baseOffset !== null ? { baseOffset: { N: baseOffset } } : {}) } },
  });

  it('wakes the partition of a chunk put or joined', () => {
    expect(appendedPartitionKey(chunk(`${topicId}:3`))).toBe(`${topicId}:3`);
    expect(appendedPartitionKey(chunk(`${topicId}:0`, 'MODIFY', '0'))).toBe(`${topicId}:0`);
    expect(parsePartitionKey(`${topicId}:12`)).toEqual({ topicId, partition: 12 });
  });

  it("ignores removals, the retention sweep's bookkeeping items and the triggers table's keys", () => {
    expect(appendedPartitionKey(chunk(`${topicId}:3`, 'REMOVE'))).toBeUndefined();
    expect(appendedPartitionKey(chunk(`segment-refs#segments/${topicId}/2026-12-01/1764590000000-${topicId}`))).toBeUndefined();
    expect(appendedPartitionKey(chunk(`segment-refs#odd:7`))).toBeUndefined();
    expect(appendedPartitionKey(chunk(`orphan-cursor#${topicId}`))).toBeUndefined();
    expect(appendedPartitionKey(chunk(`${topicId}:3`, 'INSERT', null))).toBeUndefined();
    expect(
      appendedPartitionKey({ eventName: 'INSERT', dynamodb: { Keys: { name: { S: 'orders' }, item: { S: 'w#0' } } } }),
    ).toBeUndefined();
    for (const key of [`${topicId}:`, `${topicId}:-1`, `${topicId}:1.5`, ':3', `${topicId}`])
      expect(parsePartitionKey(key)).toBeUndefined();
  });
});
