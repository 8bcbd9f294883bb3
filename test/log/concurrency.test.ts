import type { MiddlewareStack } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { dynamo } from '../../shared/runtime/aws';
import { dyingAfterAppend } from '../support/intercept';
import { useTestService } from '../support/local-service';

const { http } = useTestService();

async function readAll(topic: string, partition: number): Promise<{ offset: number; value: string }[]> {
  const out: { offset: number; value: string }[] = [];
  let offset = 0;
  for (;;) {
    const page = await http.get(`/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}&maxRecords=1000`);
    expect(page.status).toBe(200);
    out.push(...page.body.records);
    if (page.body.nextOffset >= page.body.highWatermark) return out;
    offset = page.body.nextOffset;
  }
}

describe('concurrent appends to one partition', () => {
  it('8 producers: every acknowledged record is read back once, offsets unique and gapless', async () => {
    await http.post('/v1/topics', { name: 'hot', partitions: 1 });
    const producers = 8;
    const requestsEach = 6;
    const acked: { offset: number; value: string }[] = [];
    await Promise.all(
      Array.from({ length: producers }, async (_, producer) => {
        for (let request = 0; request < requestsEach; request++) {
          const values = [0, 1, 2].map((i) => `p${producer}-r${request}-${i}`);
          const response = await http.post('/v1/topics/hot/records', { records: values.map((value) => ({ value })) });
          expect(response.status).toBe(200);
          response.body.offsets.forEach((o: { offset: number }, i: number) => {
            acked.push({ offset: o.offset, value: values[i]! });
          });
          // Records of one request are contiguous and in request order.
          const offsets = response.body.offsets.map((o: { offset: number }) => o.offset);
          expect(offsets).toEqual([offsets[0], offsets[0] + 1, offsets[0] + 2]);
        }
      }),
    );
    const total = producers * requestsEach * 3;
    const offsets = acked.map((a) => a.offset).sort((a, b) => a - b);
    expect(offsets).toEqual(Array.from({ length: total }, (_, i) => i));

    const stored = await readAll('hot', 0);
    expect(stored).toHaveLength(total);
    const byOffset = new Map(stored.map((r) => [r.offset, r.value]));
    for (const record of acked) expect(byOffset.get(record.offset)).toBe(record.value);
  });

  it('appends a multi-partition request atomically while others append to the same partitions', async () => {
    await http.post('/v1/topics', { name: 'atomic', partitions: 3 });
    await Promise.all(
      Array.from({ length: 6 }, (_, producer) =>
        http.post('/v1/topics/atomic/records', {
          records: [0, 1, 2].map((partition) => ({ value: `p${producer}`, partition })),
        }),
      ),
    );
    const described = await http.get('/v1/topics/atomic');
    expect(described.body.partitions.map((p: { highWatermark: number }) => p.highWatermark)).toEqual([6, 6, 6]);
  });
});

describe('Idempotency-Key', () => {
  it('replays the first response with Idempotent-Replayed: true and appends once', async () => {
    await http.post('/v1/topics', { name: 'idem', partitions: 2 });
    const body = {
      records: [
        { key: 'a', value: 'one' },
        { key: 'b', value: 'two' },
      ],
    };
    const first = await http.post('/v1/topics/idem/records', body, { 'Idempotency-Key': 'req-1' });
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const second = await http.post('/v1/topics/idem/records', body, { 'Idempotency-Key': 'req-1' });
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body).toEqual(first.body);
    const described = await http.get('/v1/topics/idem');
    const total = described.body.partitions.reduce((sum: number, p: { highWatermark: number }) => sum + p.highWatermark, 0);
    expect(total).toBe(2);
  });

  it('answers 422 IDEMPOTENCY_KEY_REUSED for the same key with another body', async () => {
    await http.post('/v1/topics/idem/records', { records: [{ value: 'x' }] }, { 'Idempotency-Key': 'req-2' });
    const reused = await http.post('/v1/topics/idem/records', { records: [{ value: 'y' }] }, { 'Idempotency-Key': 'req-2' });
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('appends concurrent duplicates once, and every duplicate gets the same offsets', async () => {
    await http.post('/v1/topics', { name: 'idem-race', partitions: 1 });
    const body = { records: [{ value: 'once' }] };
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => http.post('/v1/topics/idem-race/records', body, { 'Idempotency-Key': 'race-key' })),
    );
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(response.body).toEqual(responses[0]!.body);
    }
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    expect((await http.get('/v1/topics/idem-race')).body.partitions[0].highWatermark).toBe(1);
  });

  it('after an ambiguous failure (committed, caller saw an error) a retry with the same key appends once', async () => {
    await http.post('/v1/topics', { name: 'ambiguous', partitions: 1 });
    const body = { records: [{ value: 'exactly once' }] };
    // Fault injection in the real SDK client: the append reaches DynamoDB Local and commits, then
    // its response is lost, as a dropped connection would; so is the attempt's look for its own
    // write, so the caller sees an error (support/intercept.ts).
    const failed = await dyingAfterAppend(dynamo().middlewareStack as MiddlewareStack<any, any>, () =>
      http.post('/v1/topics/ambiguous/records', body, { 'Idempotency-Key': 'amb-1' }),
    );
    expect(failed.status).toBe(500);
    const retried = await http.post('/v1/topics/ambiguous/records', body, { 'Idempotency-Key': 'amb-1' });
    expect(retried.status).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body.offsets[0].offset).toBe(0);
    const records = await readAll('ambiguous', 0);
    expect(records.map((r) => r.value)).toEqual(['exactly once']);
  });

  it('an attempt whose append committed but whose answer was lost finds its own write and answers 200', async () => {
    await http.post('/v1/topics', { name: 'ambiguous-found', partitions: 1 });
    const body = { records: [{ value: 'exactly once' }] };
    const stack = dynamo().middlewareStack as MiddlewareStack<any, any>;
    let armed = true;
    stack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (armed && context.commandName === 'PutItemCommand' && String(args.input.TableName).endsWith('chunks')) {
          armed = false;
          throw Object.assign(new Error('socket hang up (injected after commit)'), { name: 'ECONNRESET', $metadata: {} });
        }
        return result;
      },
      { step: 'initialize', name: 'injectAmbiguousFailure' },
    );
    try {
      const acked = await http.post('/v1/topics/ambiguous-found/records', body, { 'Idempotency-Key': 'amb-found-1' });
      expect(armed).toBe(false);
      expect(acked.status, JSON.stringify(acked.body)).toBe(200);
      expect(acked.body.offsets[0].offset).toBe(0);
    } finally {
      stack.remove('injectAmbiguousFailure');
    }
    const retried = await http.post('/v1/topics/ambiguous-found/records', body, { 'Idempotency-Key': 'amb-found-1' });
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body.offsets[0].offset).toBe(0);
    expect((await readAll('ambiguous-found', 0)).map((r) => r.value)).toEqual(['exactly once']);
  });

  it('rejects a malformed key with 400', async () => {
    const response = await http.post('/v1/topics/idem/records', { records: [{ value: 'x' }] }, { 'Idempotency-Key': 'x'.repeat(300) });
    expect(response.status).toBe(400);
  });
});
