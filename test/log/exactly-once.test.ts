/**
 * Idempotency-Key appends to one contended partition, which claim the key instead of appending in
 * a transaction (shared/log/exactly-once.ts): against DynamoDB Local, with faults injected in the
 * real SDK client (a transaction that loses its race, an attempt that dies after its append or
 * before it, a retry that arrives while the first attempt is still appending).
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { appendChunk } from '../../shared/log/chunk-append';
import { scopedIdempotencyKey } from '../../shared/log/idempotency';
import { encodeRecordBatch } from '../../shared/records';
import { partitionKeyOf } from '../../shared/topics/store';
import { sweepRetention } from '../../shared/log/retention';
import { dynamo, runAsFunction, tableName } from '../../shared/runtime/aws';
import { aheadOfFirst, type ClientStack, recordingCommands } from '../support/intercept';
import { useTestService } from '../support/local-service';

const { http } = useTestService();
const stack = () => dynamo().middlewareStack as ClientStack;

async function readAll(topic: string): Promise<{ offset: number; value: string }[]> {
  const out: { offset: number; value: string }[] = [];
  for (let offset = 0; ; ) {
    const page = await http.get(`/v1/topics/${topic}/partitions/0/records?offset=${offset}&maxRecords=1000`);
    expect(page.status).toBe(200);
    out.push(...page.body.records);
    if (page.body.nextOffset >= page.body.highWatermark) return out;
    offset = page.body.nextOffset;
  }
}

const produce = (topic: string, value: string, key: string) =>
  http.post(`/v1/topics/${topic}/records`, { records: [{ value, partition: 0 }] }, { 'Idempotency-Key': key });

async function recordKey(topic: string, key: string): Promise<string> {
  const { Item } = await dynamo().send(new GetCommand({ TableName: tableName('topics'), Key: { name: topic } }));
  return scopedIdempotencyKey(Item!.topicId as string, key);
}

const idempotencyPut = (name: string, input: any) => name === 'PutItemCommand' && String(input.TableName).endsWith('idempotency');
/** The writes of exactly-once.ts, each a Put of the key's record: the completion stores the response, the release an expired record. */
const completion = (name: string, input: any) => idempotencyPut(name, input) && input.Item?.response !== undefined;
const release = (name: string, input: any) => idempotencyPut(name, input) && input.Item?.expiresAt === 0;

/**
 * Runs `body` by claim: its first append transaction, if it makes one (a process that collided on
 * the partition within the last second claims at once), loses its race to a plain produce.
 */
const afterLostTransaction = <T>(topic: string, body: () => Promise<T>) =>
  aheadOfFirst(
    stack(),
    (name) => name === 'TransactWriteItemsCommand',
    () => http.post(`/v1/topics/${topic}/records`, { records: [{ value: 'racer', partition: 0 }] }),
    body,
  );

/** Records the commands the service's DynamoDB client sends while `body` runs (support/intercept.ts). */
const recording = <T>(sent: string[], body: () => Promise<T>) =>
  recordingCommands(
    stack(),
    { [tableName('chunks')]: 'chunks', [tableName('idempotency')]: 'idempotency', [tableName('topics')]: 'topics' },
    sent,
    body,
  );

/** Makes the first command matching fail after or before it reached DynamoDB, without the SDK retrying it. */
function failFirst(matches: (name: string, input: any) => boolean, when: 'after' | 'before') {
  let armed = true;
  const name = `failFirst-${Math.random().toString(36).slice(2)}`;
  stack().add(
    (next, context) => async (args) => {
      const fire = armed && matches(context.commandName as string, args.input);
      if (fire) armed = false;
      if (fire && when === 'before')
        throw Object.assign(new Error('injected: the attempt died'), { name: 'ValidationException', $metadata: {} });
      const output = await next(args);
      if (fire) throw Object.assign(new Error('injected: the attempt died'), { name: 'ValidationException', $metadata: {} });
      return output;
    },
    { step: 'initialize', name },
  );
  return () => stack().remove(name);
}

/** Fails (before sending) the first chunk write after the first claim of a key: the attempt dies before its append. */
function failAppendAfterClaim() {
  let claimed = false;
  return failFirst((name, input) => {
    if (idempotencyPut(name, input) && input.Item?.pending) claimed = true;
    return claimed && (name === 'UpdateItemCommand' || name === 'PutItemCommand') && String(input.TableName).endsWith('chunks');
  }, 'before');
}

/** What a clock 61 s later would see: the claim's lease has run out. */
async function expireClaim(key: string): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName('idempotency'),
      Key: { key },
      UpdateExpression: 'SET leaseUntil = :past',
      ExpressionAttributeValues: { ':past': 1 },
    }),
  );
}

describe('Idempotency-Key appends to one contended partition', () => {
  it('16 producers append once each, gapless, and every retry replays its offset', async () => {
    await http.post('/v1/topics', { name: 'eo-hot', partitions: 1 });
    const acked = new Map<string, number>();
    await Promise.all(
      Array.from({ length: 16 }, async (_, producer) => {
        for (let request = 0; request < 6; request++) {
          const value = `p${producer}-r${request}`;
          const response = await produce('eo-hot', value, `k-${value}`);
          expect(response.status, JSON.stringify(response.body)).toBe(200);
          acked.set(value, response.body.offsets[0].offset);
        }
      }),
    );
    const log = await readAll('eo-hot');
    expect(log.map((r) => r.offset)).toEqual(log.map((_, i) => i));
    expect(new Map(log.map((r) => [r.value, r.offset]))).toEqual(acked);
    for (const [value, offset] of [...acked].slice(0, 8)) {
      const again = await produce('eo-hot', value, `k-${value}`);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body.offsets[0].offset).toBe(offset);
    }
  });

  it.each([
    ['without', false],
    ['with', true],
  ])('requests spanning 4 contended partitions %s a key append atomically, gapless, at the offsets acknowledged', async (_, keyed) => {
    const topic = `eo-span-${keyed ? 'keyed' : 'plain'}`;
    await http.post('/v1/topics', { name: topic, partitions: 4 });
    const acked = new Map<string, { partition: number; offset: number }>();
    await Promise.all(
      Array.from({ length: 12 }, async (_, producer) => {
        for (let request = 0; request < 4; request++) {
          const values = [0, 1, 2, 3].map((partition) => `p${producer}-r${request}-${partition}`);
          const body = { records: values.map((value, partition) => ({ value, partition })) };
          const headers: Record<string, string> = keyed ? { 'Idempotency-Key': `span-${producer}-${request}` } : {};
          const response = await http.post(`/v1/topics/${topic}/records`, body, headers);
          expect(response.status, JSON.stringify(response.body)).toBe(200);
          response.body.offsets.forEach((o: { partition: number; offset: number }, i: number) => {
            acked.set(values[i]!, { partition: o.partition, offset: o.offset });
          });
          if (keyed && request === 0) {
            const again = await http.post(`/v1/topics/${topic}/records`, body, headers);
            expect(again.headers.get('idempotent-replayed')).toBe('true');
            expect(again.body.offsets).toEqual(response.body.offsets);
          }
        }
      }),
    );
    for (let partition = 0; partition < 4; partition++) {
      const page = await http.get(`/v1/topics/${topic}/partitions/${partition}/records?offset=0&maxRecords=1000`);
      const records: { offset: number; value: string }[] = page.body.records;
      expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
      expect(records).toHaveLength(48);
      for (const r of records) expect(acked.get(r.value)).toEqual({ partition, offset: r.offset });
    }
  });

  it('a transaction that loses its race claims the key and joins instead', async () => {
    await http.post('/v1/topics', { name: 'eo-race', partitions: 1 });
    const first = await afterLostTransaction('eo-race', () => produce('eo-race', 'mine', 'race-1'));
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.offsets[0].offset).toBe(1);
    const again = await produce('eo-race', 'mine', 'race-1');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.offsets[0].offset).toBe(1);
    expect((await readAll('eo-race')).map((r) => r.value)).toEqual(['racer', 'mine']);
  });

  it('a transaction that loses its race to another instance claims from the chunk the cancellation returned, reading no head', async () => {
    await http.post('/v1/topics', { name: 'eo-race-remote', partitions: 1 });
    const { Item: topic } = await dynamo().send(new GetCommand({ TableName: tableName('topics'), Key: { name: 'eo-race-remote' } }));
    // Another Lambda instance: its own head cache, so this process learns of its chunk only from DynamoDB.
    const otherInstance = { dynamo: dynamo(), table: tableName('chunks'), heads: new Map(), contendedUntil: new Map() };
    const now = Date.now();
    const racerBatch = encodeRecordBatch({ records: [{ value: Buffer.from('racer'), timestamp: now }] });
    // Stamped now: the retention sweeps of the tests below must not find it expired.
    const racerEntry = {
      recordCount: 1,
      sizeBytes: racerBatch.length,
      firstTimestamp: now,
      maxTimestamp: now,
      appendedAt: now,
      bytes: racerBatch,
    };
    const sent: string[] = [];
    const first = await aheadOfFirst(
      stack(),
      (name) => name === 'TransactWriteItemsCommand',
      () => appendChunk(otherInstance, partitionKeyOf(topic!.topicId, 0), { entry: racerEntry, configVersion: 0 }),
      () => recording(sent, () => produce('eo-race-remote', 'mine', 'race-remote-1')),
    );
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.offsets[0].offset).toBe(1);
    expect(sent.slice(sent.indexOf('TransactWriteItemsCommand chunks') + 1)).toEqual([
      'PutItemCommand idempotency', // the claim
      'UpdateItemCommand chunks', // the join at the racer's chunk's end
      'PutItemCommand idempotency', // the completion
    ]);
    expect((await readAll('eo-race-remote')).map((r) => r.value)).toEqual(['racer', 'mine']);
  });

  it('an attempt that died after its append is completed by a retry once its claim has expired', async () => {
    await http.post('/v1/topics', { name: 'eo-died', partitions: 1 });
    const restore = failFirst(completion, 'before');
    try {
      const died = await afterLostTransaction('eo-died', () => produce('eo-died', 'once', 'died-1'));
      expect(died.status).toBe(500);
    } finally {
      restore();
    }
    const key = await recordKey('eo-died', 'died-1');
    // While the claim is live, a retry waits for it; it is not completed, so the retry is told to come back.
    const early = await produce('eo-died', 'once', 'died-1');
    expect(early.status, JSON.stringify(early.body)).toBe(409);
    expect(early.body.error.code).toBe('CONCURRENT_TRANSACTIONS');
    await expireClaim(key);
    const retried = await produce('eo-died', 'once', 'died-1');
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body.offsets[0].offset).toBe(1);
    expect((await readAll('eo-died')).map((r) => r.value)).toEqual(['racer', 'once']);
  }, 30_000);

  it('an attempt that died after its append is completed by a retry though retention removed its chunk meanwhile', async () => {
    await http.post('/v1/topics', { name: 'eo-died-swept', partitions: 1, config: { 'retention.ms': 60_000 } });
    const restore = failFirst(completion, 'before');
    try {
      const died = await afterLostTransaction('eo-died-swept', () => produce('eo-died-swept', 'once', 'swept-1'));
      expect(died.status).toBe(500);
    } finally {
      restore();
    }
    // Before the retry: a config change puts its fence after the chunks, and a sweep an hour on
    // (the records expired) turns them into stubs; the claim's search finds the write there.
    expect((await http.patch('/v1/topics/eo-died-swept', { config: { 'retention.ms': 60_001 } })).status).toBe(200);
    const report = await runAsFunction('retention-sweep', () => sweepRetention(Date.now() + 3_600_000));
    expect(report.batchesDeleted).toBe(2);
    await expireClaim(await recordKey('eo-died-swept', 'swept-1'));
    const retried = await produce('eo-died-swept', 'once', 'swept-1');
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body.offsets[0].offset).toBe(1);
    const after = await http.get('/v1/topics/eo-died-swept/partitions/0/records?offset=2');
    expect(after.body).toMatchObject({ records: [], highWatermark: 2 });
  }, 30_000);

  it('a spanning attempt that died after its append is completed from every partition once its claim has expired', async () => {
    await http.post('/v1/topics', { name: 'eo-span-died', partitions: 3 });
    const body = { records: [0, 1, 2].map((partition) => ({ value: `once-${partition}`, partition })) };
    const send = () => http.post('/v1/topics/eo-span-died/records', body, { 'Idempotency-Key': 'span-died-1' });
    const restore = failFirst(completion, 'before');
    try {
      const died = await aheadOfFirst(
        stack(),
        (name) => name === 'TransactWriteItemsCommand',
        () => http.post('/v1/topics/eo-span-died/records', { records: [{ value: 'racer', partition: 1 }] }),
        send,
      );
      expect(died.status).toBe(500);
    } finally {
      restore();
    }
    await expireClaim(await recordKey('eo-span-died', 'span-died-1'));
    const retried = await send();
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body.offsets.map((o: { partition: number; offset: number }) => [o.partition, o.offset])).toEqual([
      [0, 0],
      [1, 1],
      [2, 0],
    ]);
    for (const partition of [0, 1, 2]) {
      const page = await http.get(`/v1/topics/eo-span-died/partitions/${partition}/records?offset=0`);
      expect(page.body.records.filter((r: { value: string }) => r.value === `once-${partition}`)).toHaveLength(1);
    }
  });

  it('an attempt that died before its append gives the key back, or a retry takes its expired claim over', async () => {
    await http.post('/v1/topics', { name: 'eo-never', partitions: 1 });
    // Released: the retry claims afresh at once.
    let restore = failAppendAfterClaim();
    try {
      expect((await afterLostTransaction('eo-never', () => produce('eo-never', 'a', 'never-1'))).status).toBe(500);
    } finally {
      restore();
    }
    const retried = await produce('eo-never', 'a', 'never-1');
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    // Not released (the attempt died outright): the claim holds until it expires, then is taken over.
    restore = failAppendAfterClaim();
    const restoreRelease = failFirst(release, 'before');
    try {
      expect((await afterLostTransaction('eo-never', () => produce('eo-never', 'b', 'never-2'))).status).toBe(500);
    } finally {
      restore();
      restoreRelease();
    }
    await expireClaim(await recordKey('eo-never', 'never-2'));
    const taken = await produce('eo-never', 'b', 'never-2');
    expect(taken.status, JSON.stringify(taken.body)).toBe(200);
    expect(taken.headers.get('idempotent-replayed')).toBeNull();
    const values = (await readAll('eo-never')).map((r) => r.value);
    expect(values.filter((v) => v === 'a')).toHaveLength(1);
    expect(values.filter((v) => v === 'b')).toHaveLength(1);
  });

  it('a retry that arrives while the first attempt appends waits for its response', async () => {
    await http.post('/v1/topics', { name: 'eo-wait', partitions: 1 });
    let retry: ReturnType<typeof produce> | undefined;
    // The first attempt has claimed and joined; before it completes the record, its retry arrives.
    const first = await afterLostTransaction('eo-wait', () =>
      aheadOfFirst(
        stack(),
        completion,
        async () => {
          retry = produce('eo-wait', 'slow', 'wait-1');
          await new Promise((resolve) => setTimeout(resolve, 300));
        },
        () => produce('eo-wait', 'slow', 'wait-1'),
      ),
    );
    expect(first.status).toBe(200);
    const second = await retry!;
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body.offsets).toEqual(first.body.offsets);
    expect((await readAll('eo-wait')).map((r) => r.value)).toEqual(['racer', 'slow']);
  });

  it('a claim held by another request under the key refuses this one with 422', async () => {
    await http.post('/v1/topics', { name: 'eo-reuse', partitions: 1 });
    const restore = failFirst(completion, 'before');
    try {
      expect((await afterLostTransaction('eo-reuse', () => produce('eo-reuse', 'one', 'reuse-1'))).status).toBe(500);
    } finally {
      restore();
    }
    const other = await produce('eo-reuse', 'another', 'reuse-1');
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });
});
