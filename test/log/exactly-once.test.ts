/**
 * Idempotency-Key appends to one contended partition, which claim the key instead of appending in
 * a transaction (shared/log/exactly-once.ts): against DynamoDB Local, with faults injected in the
 * real SDK client (a transaction that loses its race, an attempt that dies after its append or
 * before it, a retry that arrives while the first attempt is still appending). An attempt writes
 * its claim and its append and nothing after: a retry settles the claim by finding the write.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { appendChunk } from '../../shared/log/chunk-append';
import { claimWaitMs } from '../../shared/log/exactly-once';
import { scopedIdempotencyKey } from '../../shared/log/idempotency';
import { encodeRecordBatch } from '../../shared/records';
import { partitionKeyOf } from '../../shared/topics/store';
import { sweepRetention } from '../../shared/log/retention';
import { dynamo, runAsFunction, tableName } from '../../shared/runtime/aws';
import { aheadOfFirst, type ClientStack, dyingAfterAppend, isChunkWrite, isClaim, recordingCommands } from '../support/intercept';
import { useTestService } from '../support/local-service';

const { http } = useTestService();
const stack = () => dynamo().middlewareStack as ClientStack;

async function readAll(topic: string, partition = 0): Promise<{ offset: number; value: string }[]> {
  const out: { offset: number; value: string }[] = [];
  for (let offset = 0; ; ) {
    const page = await http.get(`/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}&maxRecords=1000`);
    expect(page.status).toBe(200);
    out.push(...page.body.records);
    if (page.body.nextOffset >= page.body.highWatermark) return out;
    offset = page.body.nextOffset;
  }
}

const produce = (topic: string, value: string, key: string) =>
  http.post(`/v1/topics/${topic}/records`, { records: [{ value, partition: 0 }] }, { 'Idempotency-Key': key });

type Response = Awaited<ReturnType<typeof produce>>;

/**
 * `producers` loops of `rounds` rounds each, all at once; a round sends its copies together and
 * keeps their responses, in order, under the round's name.
 */
async function roundsOfCopies(
  producers: number,
  rounds: number,
  round: (producer: number, request: number) => { name: string; copies: (() => Promise<Response>)[] },
): Promise<Map<string, Response[]>> {
  const answers = new Map<string, Response[]>();
  await Promise.all(
    Array.from({ length: producers }, async (_, producer) => {
      for (let request = 0; request < rounds; request++) {
        const { name, copies } = round(producer, request);
        answers.set(name, await Promise.all(copies.map((send) => send())));
      }
    }),
  );
  return answers;
}

/** Where each value of a topic landed, checking that every partition is gapless and no value appears twice. */
async function landedByValue(topic: string, partitions: number): Promise<Map<string, { partition: number; offset: number }>> {
  const landed = new Map<string, { partition: number; offset: number }>();
  for (let partition = 0; partition < partitions; partition++) {
    const records = await readAll(topic, partition);
    expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
    for (const r of records) {
      expect(landed.has(r.value), `${r.value} appended twice`).toBe(false);
      landed.set(r.value, { partition, offset: r.offset });
    }
  }
  return landed;
}

/** Copies of one request: at least one answers where it landed, every other answers the same or a retriable 409. */
function expectOneAnswer(
  name: string,
  responses: readonly Response[],
  where: readonly ({ partition: number; offset: number } | undefined)[],
): void {
  for (const place of where) expect(place, `${name} never landed`).toBeDefined();
  for (const response of responses) {
    if (response.status === 409) expect(response.body.error.code).toBe('CONCURRENT_TRANSACTIONS');
    else {
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expect(
        response.body.offsets.map((o: { partition: number; offset: number }) => ({ partition: o.partition, offset: o.offset })),
        name,
      ).toEqual(where);
    }
  }
  expect(
    responses.some((r) => r.status === 200),
    name,
  ).toBe(true);
}

async function recordKey(topic: string, key: string): Promise<string> {
  const { Item } = await dynamo().send(new GetCommand({ TableName: tableName('topics'), Key: { name: topic } }));
  return scopedIdempotencyKey(Item!.topicId as string, key);
}

const idempotencyPut = (name: string, input: any) => name === 'PutItemCommand' && String(input.TableName).endsWith('idempotency');
/** A release of a claim (exactly-once.ts): a Put of an expired record. */
const release = (name: string, input: any) => idempotencyPut(name, input) && input.Item?.expiresAt === 0;

/** Matches the first command matching `matches` sent after a key was first claimed. */
function afterClaim(matches: (name: string, input: any) => boolean) {
  let claimed = false;
  return (name: string, input: any) => {
    if (isClaim(name, input)) claimed = true;
    return claimed && matches(name, input);
  };
}

/**
 * Runs `body` under contention: its first chunk write after its claim loses its race to a plain
 * produce (the racer's chunk takes the key it aimed at), so it joins the chunk after the racer's.
 */
const afterLostRace = <T>(topic: string, body: () => Promise<T>, partition = 0) =>
  aheadOfFirst(
    stack(),
    afterClaim(isChunkWrite),
    () => http.post(`/v1/topics/${topic}/records`, { records: [{ value: 'racer', partition }] }),
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
  const name = `failFirst-${randomUUID()}`;
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
const failAppendAfterClaim = () => failFirst(afterClaim(isChunkWrite), 'before');

async function storedRecord(key: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo().send(new GetCommand({ TableName: tableName('idempotency'), Key: { key }, ConsistentRead: true }));
  return Item;
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

  it('copies of one request sent at once, by 16 producers on one partition, append once and all answer its offset', async () => {
    await http.post('/v1/topics', { name: 'eo-copies', partitions: 1 });
    // A client whose timeout fired resends while its first send is still in flight: two or three
    // copies of the same request, same key, at the same moment.
    const answers = await roundsOfCopies(16, 4, (producer, request) => {
      const value = `p${producer}-r${request}`;
      return {
        name: value,
        copies: Array.from({ length: 2 + ((producer + request) % 2) }, () => () => produce('eo-copies', value, `copy-${value}`)),
      };
    });
    const landed = await landedByValue('eo-copies', 1);
    expect(landed.size).toBe(64);
    for (const [value, responses] of answers) expectOneAnswer(value, responses, [landed.get(value)!]);
  });

  it('copies sent at once of a request that names no partition append once, on one partition, at one offset', async () => {
    await http.post('/v1/topics', { name: 'eo-copies-any', partitions: 4 });
    // No partition and no record key: each copy's own plan may choose a different partition.
    const answers = await roundsOfCopies(12, 4, (producer, request) => {
      const value = `p${producer}-r${request}`;
      const send = () => http.post('/v1/topics/eo-copies-any/records', { records: [{ value }] }, { 'Idempotency-Key': `any-${value}` });
      return { name: value, copies: [send, send, send] };
    });
    const landed = await landedByValue('eo-copies-any', 4);
    expect(landed.size).toBe(48);
    for (const [value, responses] of answers) expectOneAnswer(value, responses, [landed.get(value)!]);
  });

  it('copies sent at once of a keyed request spanning 4 contended partitions append once, atomically, at one set of offsets', async () => {
    await http.post('/v1/topics', { name: 'eo-copies-span', partitions: 4 });
    const answers = await roundsOfCopies(8, 3, (producer, request) => {
      const prefix = `p${producer}-r${request}`;
      const body = { records: [0, 1, 2, 3].map((partition) => ({ value: `${prefix}-${partition}`, partition })) };
      const send = () => http.post('/v1/topics/eo-copies-span/records', body, { 'Idempotency-Key': `span-copy-${prefix}` });
      return { name: prefix, copies: [send, send] };
    });
    const landed = await landedByValue('eo-copies-span', 4);
    expect(landed.size).toBe(4 * 24);
    for (const [prefix, responses] of answers) {
      expectOneAnswer(
        prefix,
        responses,
        [0, 1, 2, 3].map((partition) => landed.get(`${prefix}-${partition}`)!),
      );
    }
  });

  it('different requests sent at once under one key: one appends, every other is refused, on a contended partition', async () => {
    await http.post('/v1/topics', { name: 'eo-clash', partitions: 1 });
    // Three different bodies under one key at the same moment (a client bug, or two clients sharing keys).
    const sent = new Map<string, string[]>();
    const answers = await roundsOfCopies(16, 3, (producer, request) => {
      const key = `clash-${producer}-${request}`;
      const values = [0, 1, 2].map((copy) => `p${producer}-r${request}-c${copy}`);
      sent.set(key, values);
      return { name: key, copies: values.map((value) => () => produce('eo-clash', value, key)) };
    });
    const landed = await landedByValue('eo-clash', 1);
    expect(landed.size).toBe(answers.size);
    for (const [key, responses] of answers) {
      const accepted = responses.flatMap((r, copy) =>
        r.status === 200 ? [{ value: sent.get(key)![copy]!, offset: r.body.offsets[0].offset }] : [],
      );
      expect(accepted, key).toHaveLength(1);
      expect(landed.get(accepted[0]!.value)).toEqual({ partition: 0, offset: accepted[0]!.offset });
      for (const refused of responses.filter((r) => r.status !== 200)) {
        expect([422, 409], key).toContain(refused.status);
        expect(refused.body.error.code).toBe(refused.status === 422 ? 'IDEMPOTENCY_KEY_REUSED' : 'CONCURRENT_TRANSACTIONS');
      }
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

  it('a keyed append that loses its race joins the chunk after the winner', async () => {
    await http.post('/v1/topics', { name: 'eo-race', partitions: 1 });
    const first = await afterLostRace('eo-race', () => produce('eo-race', 'mine', 'race-1'));
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.offsets[0].offset).toBe(1);
    const again = await produce('eo-race', 'mine', 'race-1');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.offsets[0].offset).toBe(1);
    expect((await readAll('eo-race')).map((r) => r.value)).toEqual(['racer', 'mine']);
  });

  it('a keyed append that loses its race to another instance joins from the chunk its failed Put returned, reading no head', async () => {
    await http.post('/v1/topics', { name: 'eo-race-remote', partitions: 1 });
    // This process knows the partition's head, as a warm instance does (an empty partition's it reads).
    expect((await http.post('/v1/topics/eo-race-remote/records', { records: [{ value: 'seed', partition: 0 }] })).status).toBe(200);
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
      afterClaim(isChunkWrite),
      async () => {
        sent.push('racer:start');
        await appendChunk(otherInstance, partitionKeyOf(topic!.topicId, 0), { entries: [racerEntry], configVersion: 0 });
        sent.push('racer:end');
      },
      () => recording(sent, () => produce('eo-race-remote', 'mine', 'race-remote-1')),
    );
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.offsets[0].offset).toBe(2);
    // Nothing after the join: the claim names where the write is, so the write completes it.
    const mine = [...sent.slice(0, sent.indexOf('racer:start')), ...sent.slice(sent.indexOf('racer:end') + 1)];
    expect(mine.slice(mine.indexOf('PutItemCommand idempotency'))).toEqual([
      'PutItemCommand idempotency', // the claim
      'PutItemCommand chunks', // the Put at the key the racer took fails, returning the racer's chunk
      'UpdateItemCommand chunks', // the join at the racer's chunk's end
    ]);
    expect((await readAll('eo-race-remote')).map((r) => r.value)).toEqual(['seed', 'racer', 'mine']);
  });

  it('an attempt that died after its append is settled by its retry at once, which finds the write and stores the response', async () => {
    await http.post('/v1/topics', { name: 'eo-died', partitions: 1 });
    const died = await dyingAfterAppend(stack(), () => afterLostRace('eo-died', () => produce('eo-died', 'once', 'died-1')));
    expect(died.status).toBe(500);
    const key = await recordKey('eo-died', 'died-1');
    expect(await storedRecord(key)).toMatchObject({ pending: true });
    // The claim is still live: the retry does not wait for it, the write is in the chunks.
    const sent: string[] = [];
    const retried = await recording(sent, () => produce('eo-died', 'once', 'died-1'));
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body.offsets[0].offset).toBe(1);
    expect(sent).toContain('QueryCommand chunks');
    expect(await storedRecord(key)).not.toHaveProperty('pending');
    // Settled: the next retry reads the stored response and searches nothing.
    sent.length = 0;
    const again = await recording(sent, () => produce('eo-died', 'once', 'died-1'));
    expect(again.body.offsets).toEqual(retried.body.offsets);
    expect(sent).not.toContain('QueryCommand chunks');
    expect((await readAll('eo-died')).map((r) => r.value)).toEqual(['racer', 'once']);
  }, 30_000);

  it("a retry replays the first attempt's partition and offset, though its own plan picks another partition", async () => {
    await http.post('/v1/topics', { name: 'eo-died-keyless', partitions: 8 });
    const body = { records: [{ value: 'keyless' }] };
    const send = () => http.post('/v1/topics/eo-died-keyless/records', body, { 'Idempotency-Key': 'keyless-1' });
    // A keyless record's partition is chosen at random per request: the first attempt's is 7.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.99);
    const died = await dyingAfterAppend(stack(), () => afterLostRace('eo-died-keyless', send, 7));
    expect(died.status).toBe(500);
    // The retry's plan picks partition 0; the answer is still where the first attempt's record is.
    random.mockReturnValue(0);
    try {
      const retried = await send();
      expect(retried.status, JSON.stringify(retried.body)).toBe(200);
      expect(retried.headers.get('idempotent-replayed')).toBe('true');
      expect(retried.body.offsets).toEqual([{ partition: 7, offset: 1, timestamp: expect.any(Number) }]);
    } finally {
      random.mockRestore();
    }
    const page = await http.get('/v1/topics/eo-died-keyless/partitions/7/records?offset=0');
    expect(page.body.records.map((r: { value: string }) => r.value)).toEqual(['racer', 'keyless']);
    expect((await http.get('/v1/topics/eo-died-keyless/partitions/0/records?offset=0')).body.records).toEqual([]);
  }, 30_000);

  it('a retry refused by config lowered since replays the first attempt, which died after its append', async () => {
    await http.post('/v1/topics', { name: 'eo-died-lowered', partitions: 1 });
    const value = 'x'.repeat(2000);
    expect(
      (await dyingAfterAppend(stack(), () => afterLostRace('eo-died-lowered', () => produce('eo-died-lowered', value, 'lowered-1'))))
        .status,
    ).toBe(500);
    expect((await http.patch('/v1/topics/eo-died-lowered', { config: { 'max.message.bytes': 1024 } })).status).toBe(200);
    const retried = await produce('eo-died-lowered', value, 'lowered-1');
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body.offsets[0].offset).toBe(1);
  }, 30_000);

  it('an attempt that died after its append is settled by a retry though retention removed its chunk meanwhile', async () => {
    await http.post('/v1/topics', { name: 'eo-died-swept', partitions: 1, config: { 'retention.ms': 60_000 } });
    const died = await dyingAfterAppend(stack(), () => afterLostRace('eo-died-swept', () => produce('eo-died-swept', 'once', 'swept-1')));
    expect(died.status).toBe(500);
    // Before the retry: a config change puts its fence after the chunks, and a sweep an hour on
    // (the records expired) turns them into stubs; the claim's search finds the write there.
    expect((await http.patch('/v1/topics/eo-died-swept', { config: { 'retention.ms': 60_001 } })).status).toBe(200);
    const report = await runAsFunction('retention-sweep', () => sweepRetention(Date.now() + 3_600_000));
    expect(report.batchesDeleted).toBe(2);
    const retried = await produce('eo-died-swept', 'once', 'swept-1');
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body.offsets[0].offset).toBe(1);
    const after = await http.get('/v1/topics/eo-died-swept/partitions/0/records?offset=2');
    expect(after.body).toMatchObject({ records: [], highWatermark: 2 });
  }, 30_000);

  it('a spanning attempt that died after its append is settled from every partition by its retry', async () => {
    await http.post('/v1/topics', { name: 'eo-span-died', partitions: 3 });
    const body = { records: [0, 1, 2].map((partition) => ({ value: `once-${partition}`, partition })) };
    const send = () => http.post('/v1/topics/eo-span-died/records', body, { 'Idempotency-Key': 'span-died-1' });
    const died = await dyingAfterAppend(stack(), () =>
      aheadOfFirst(
        stack(),
        (name) => name === 'TransactWriteItemsCommand',
        () => http.post('/v1/topics/eo-span-died/records', { records: [{ value: 'racer', partition: 1 }] }),
        send,
      ),
    );
    expect(died.status).toBe(500);
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
      expect((await afterLostRace('eo-never', () => produce('eo-never', 'a', 'never-1'))).status).toBe(500);
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
      expect((await afterLostRace('eo-never', () => produce('eo-never', 'b', 'never-2'))).status).toBe(500);
    } finally {
      restore();
      restoreRelease();
    }
    // Within the lease a retry waits briefly for the write (claimWaitMs), then answers 409, retriable.
    const started = Date.now();
    const held = await produce('eo-never', 'b', 'never-2');
    expect(held.status, JSON.stringify(held.body)).toBe(409);
    expect(held.body.error.code).toBe('CONCURRENT_TRANSACTIONS');
    // Told to come back when the claimant is past its own deadline (the claim was made just now).
    expect(Number(held.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(held.headers.get('retry-after'))).toBeLessThanOrEqual(10);
    expect(Date.now() - started).toBeGreaterThanOrEqual(claimWaitMs);
    expect(Date.now() - started).toBeLessThan(claimWaitMs + 3_000);
    await expireClaim(await recordKey('eo-never', 'never-2'));
    const taken = await produce('eo-never', 'b', 'never-2');
    expect(taken.status, JSON.stringify(taken.body)).toBe(200);
    expect(taken.headers.get('idempotent-replayed')).toBeNull();
    const values = (await readAll('eo-never')).map((r) => r.value);
    expect(values.filter((v) => v === 'a')).toHaveLength(1);
    expect(values.filter((v) => v === 'b')).toHaveLength(1);
  });

  it('a retry that arrives while the first attempt appends waits for its write and replays it', async () => {
    await http.post('/v1/topics', { name: 'eo-wait', partitions: 1 });
    let retry: ReturnType<typeof produce> | undefined;
    // The first attempt has claimed; before its join is sent, its retry arrives and finds no write yet.
    const first = await afterLostRace('eo-wait', () =>
      aheadOfFirst(
        stack(),
        afterClaim(isChunkWrite),
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
    expect((await dyingAfterAppend(stack(), () => afterLostRace('eo-reuse', () => produce('eo-reuse', 'one', 'reuse-1')))).status).toBe(
      500,
    );
    const other = await produce('eo-reuse', 'another', 'reuse-1');
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    // A batch bound for S3 looks its key up before writing the object: the claim is another
    // request's, so the key is refused without searching for that request's write.
    const sent: string[] = [];
    const large = await recording(sent, () => produce('eo-reuse', 'x'.repeat(8 * 1024), 'reuse-1'));
    expect(large.status).toBe(422);
    expect(large.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(sent).toContain('GetItemCommand idempotency');
    expect(sent).not.toContain('QueryCommand chunks');
  });
});
