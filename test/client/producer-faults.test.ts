/**
 * Producer retries under injected faults produce no duplicates. A wrapper around the produce
 * handler (the local gateway's loadHandler) fails some calls before the handler runs (nothing
 * written), and some AFTER it committed (the client cannot tell: a 500, a crash, or an answer
 * slower than the client's timeout), plus throttling with Retry-After. Everything is then read
 * back: each record exactly once, at the offset its send() resolved with.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { importHandler, type HandlerLoader } from '../../infra/local/gateway';
import { Logway } from '../../client/src/logway';
import type { RetryEvent } from '../../client/src/http';
import type { RecordMetadata } from '../../client/src/producer';
import { startTestService, type TestService } from '../support/local-service';

type Fault = 'none' | 'fail-before' | 'throttle' | 'fail-after' | 'crash-after' | 'slow-after';
// Every produce call takes the next fault in this cycle (a retry is a new call).
const cycle: Fault[] = ['fail-after', 'none', 'fail-before', 'crash-after', 'none', 'slow-after', 'fail-after', 'throttle', 'none', 'none'];
const faults = { calls: 0, injected: new Map<Fault, number>(), committedButFailed: 0 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const error = (status: number, code: string, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 => ({
  statusCode: status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify({ error: { code, message: `injected ${code}` } }),
});

const faultyLoader: HandlerLoader = async (route) => {
  const real = await importHandler(route);
  if (route.name !== 'produce') return real;
  return async (event, context) => {
    const fault = cycle[faults.calls++ % cycle.length]!;
    faults.injected.set(fault, (faults.injected.get(fault) ?? 0) + 1);
    if (fault === 'fail-before') return error(503, 'INJECTED_UNAVAILABLE');
    if (fault === 'throttle') return error(429, 'THROTTLING_QUOTA_EXCEEDED', { 'retry-after': '1' });
    const result = await real(event, context);
    const committed = result.statusCode === 200;
    if (fault === 'fail-after') {
      if (committed) faults.committedButFailed++;
      return error(500, 'INJECTED_AFTER_COMMIT');
    }
    if (fault === 'crash-after') {
      if (committed) faults.committedButFailed++;
      throw new Error('injected crash after the append committed');
    }
    if (fault === 'slow-after') {
      if (committed) faults.committedButFailed++;
      await sleep(1500); // longer than the client's 800 ms timeout: it gives up and retries
    }
    return result;
  };
};

let service: TestService;
let logway: Logway;
const retries: RetryEvent[] = [];

beforeAll(async () => {
  // The gateway logs each injected crash, as it logs any handler that throws: expected here.
  const log = console.error.bind(console);
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    if (!String(args[1]).includes('injected crash')) log(...args);
  });
  service = await startTestService({ loadHandler: faultyLoader });
  logway = new Logway({ url: service.url, onRetry: (event) => retries.push(event) });
});

afterAll(async () => {
  await service?.stop();
  vi.restoreAllMocks();
});

it('retries through 5xx, crashes, timeouts and 429s without duplicating a record', { timeout: 60_000 }, async () => {
  const topic = 'payments';
  const total = 1500;
  await logway.admin().createTopic({ topic, numPartitions: 4 });
  faults.calls = 0;
  faults.injected.clear();
  faults.committedButFailed = 0;

  const producer = logway.producer({
    lingerMs: 2,
    maxBatchRecords: 40,
    requestTimeoutMs: 800,
    retry: { retries: 10, initialRetryTimeMs: 20, maxRetryTimeMs: 200 },
  });
  const sent: { id: string; key: string; metadata: Promise<RecordMetadata[]>; index: number }[] = [];
  const sends: Promise<RecordMetadata[]>[] = [];
  for (let batch = 0; batch < 30; batch++) {
    const messages = Array.from({ length: total / 30 }, (_, i) => {
      const n = batch * (total / 30) + i;
      return { key: `account-${n % 23}`, value: { id: `payment-${n}`, n } };
    });
    const metadata = producer.send({ topic, messages });
    messages.forEach((m, index) => {
      sent.push({ id: m.value.id, key: m.key, metadata, index });
    });
    sends.push(metadata);
    if (batch % 3 === 2) await sleep(5);
  }
  await Promise.all(sends);
  await producer.close();

  // The faults really happened, ambiguous ones included, and the client retried them.
  expect(faults.committedButFailed).toBeGreaterThan(3);
  for (const fault of ['fail-before', 'throttle', 'fail-after', 'crash-after', 'slow-after'] as const) {
    expect(faults.injected.get(fault) ?? 0).toBeGreaterThan(0);
  }
  const codes = new Set(retries.map((r) => r.error.code));
  expect(codes).toEqual(
    new Set(['INJECTED_UNAVAILABLE', 'THROTTLING_QUOTA_EXCEEDED', 'INJECTED_AFTER_COMMIT', 'HTTP_500', 'REQUEST_TIMEOUT']),
  );
  for (const r of retries.filter((r) => r.error.status === 429)) expect(r.delayMs).toBeGreaterThanOrEqual(1000);

  // Read everything back.
  const description = await logway.admin().describeTopic(topic);
  const stored = new Map<string, { partition: number; offset: number; id: string; key: string }>();
  const ids: string[] = [];
  for (const { partition, highWatermark } of description.partitions) {
    let offset = 0;
    while (offset < highWatermark) {
      const [result] = await logway.fetch({ partitions: [{ topic, partition, offset }], maxRecords: 1000 });
      if (!result || 'error' in result) throw new Error(`fetch failed: ${JSON.stringify(result)}`);
      for (const message of result.messages) {
        const { id } = JSON.parse(message.value!.toString()) as { id: string };
        ids.push(id);
        stored.set(`${partition}:${message.offset}`, { partition, offset: message.offset, id, key: message.key!.toString() });
      }
      offset = result.nextOffset;
    }
  }
  // Exactly once: as many records as sent, each id once...
  expect(ids).toHaveLength(total);
  expect(new Set(ids).size).toBe(total);
  // ...at the offset its send() reported (the first attempt's offsets, replayed on retry).
  for (const s of sent) {
    const metadata = (await s.metadata)[s.index]!;
    expect(stored.get(`${metadata.partition}:${metadata.offset}`)?.id).toBe(s.id);
  }
  // And each key's records are in send order within their partition.
  const lastByKey = new Map<string, number>();
  for (const record of [...stored.values()].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    const n = Number(record.id.split('-')[1]);
    expect(n).toBeGreaterThan(lastByKey.get(record.key) ?? -1);
    lastByKey.set(record.key, n);
  }
});
