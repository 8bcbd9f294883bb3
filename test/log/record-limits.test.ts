/**
 * Limits that keep every accepted record readable: header overhead counts toward the record's
 * size, headers per record are capped, and any record produce accepts fits a fetch response
 * (GET and POST /v1/fetch, text and base64) inside Lambda's 6 MB.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { responseBudgetBytes } from '../../shared/log/fetch';
import { maxStoredResponseBytes, storedOffsetsBytesBound } from '../../shared/log/idempotency';
import { maxPartitionsPerRequest, maxRecordsPerRequest, produceResponseBytesBound } from '../../shared/log/produce';
import { offsetOutOfRange } from '../../shared/errors';
import {
  fetchedRecordBytesBound,
  headerOverheadBytes,
  maxFetchedRecordBytes,
  maxHeadersPerRecord,
  recordSize,
  responseBytes,
  toFetchedRecord,
} from '../../shared/log/json';
import { useTestService } from '../support/local-service';

const { http } = useTestService(async (http) => {
  // The largest max.message.bytes a topic may have: the fetch bound is what binds.
  await http.post('/v1/topics', { name: 'limits', partitions: 1, config: { 'max.message.bytes': 5 * 1024 * 1024 } });
});

const bytes = fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null });
const record = fc.record({
  offset: fc.nat(),
  timestamp: fc.nat(),
  key: bytes,
  value: bytes,
  headers: fc.array(fc.record({ key: fc.string({ unit: 'binary', maxLength: 12 }), value: bytes }), { maxLength: 6 }),
});

describe('record size rules', () => {
  it('counts each header frame, so empty headers are not free', () => {
    const headers = Array.from({ length: 10 }, () => ({ key: '', value: null }));
    expect(recordSize({ key: null, value: null, headers })).toBe(10 * headerOverheadBytes);
  });

  it('the produce-time bound is never below what the record costs in a base64 fetch response', () => {
    fc.assert(
      fc.property(record, fc.integer({ min: 0, max: 1_000_000 }), (r, partition) => {
        const wire = toFetchedRecord(partition, { ...r, key: r.key && Buffer.from(r.key), value: r.value && Buffer.from(r.value) }, true);
        expect(fetchedRecordBytesBound(r)).toBeGreaterThanOrEqual(responseBytes(wire) + 1);
      }),
    );
  });

  it('the largest POST /v1/fetch envelope leaves room for the largest accepted record', () => {
    const topic = 't'.repeat(249);
    const head = { logStartOffset: Number.MAX_SAFE_INTEGER, highWatermark: Number.MAX_SAFE_INTEGER, maxTimestamp: 0, sizeBytes: 0 };
    const results = Array.from({ length: 1000 }, () => ({
      topic,
      partition: Number.MAX_SAFE_INTEGER,
      ...offsetOutOfRange(topic, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, head).toJSON(),
    }));
    expect(responseBytes({ results }) + maxFetchedRecordBytes).toBeLessThanOrEqual(responseBudgetBytes);
  });
});

describe('produce refuses what fetch could not return', () => {
  it('300,000 empty headers are 413 RECORD_TOO_LARGE, and the partition stays readable', async () => {
    const headers = Array.from({ length: 300_000 }, () => ({ key: '' }));
    const response = await http.post('/v1/topics/limits/records', { records: [{ value: 'v', headers }] });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('RECORD_TOO_LARGE');
    expect(response.body.error.field).toBe('records[0]');
  });

  it(`caps headers at ${maxHeadersPerRecord} per record`, async () => {
    const headers = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `h${i}`, value: 'x' }));
    const over = await http.post('/v1/topics/limits/records', { records: [{ value: 'v', headers: headers(maxHeadersPerRecord + 1) }] });
    expect(over.status).toBe(413);
    expect(over.body.error).toMatchObject({ code: 'RECORD_TOO_LARGE', maxHeaders: maxHeadersPerRecord });
    const at = await http.post('/v1/topics/limits/records', { records: [{ value: 'v', headers: headers(maxHeadersPerRecord) }] });
    expect(at.status).toBe(200);
    const fetched = await http.get(`/v1/topics/limits/partitions/0/records?offset=${at.body.offsets[0].offset}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body.records[0].headers).toHaveLength(maxHeadersPerRecord);
  });

  it('the largest accepted records come back through GET and POST /v1/fetch, as text and as base64', async () => {
    // The largest binary value the fetch bound allows, and one 3 bytes (one base64 quantum) larger.
    const frame = fetchedRecordBytesBound({ key: null, value: Buffer.alloc(0), headers: [] });
    const largest = Math.floor((maxFetchedRecordBytes - frame) / 4) * 3;
    const binary = Buffer.alloc(largest, 0xff);
    const tooLarge = await http.post('/v1/topics/limits/records', {
      records: [{ valueBase64: Buffer.alloc(largest + 3, 0xff).toString('base64') }],
    });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error.code).toBe('RECORD_TOO_LARGE');

    const produced: { offset: number; check: (r: Record<string, unknown>) => void }[] = [];
    const produce = async (record: Record<string, unknown>, check: (r: Record<string, unknown>) => void) => {
      const response = await http.post('/v1/topics/limits/records', { records: [record] });
      expect(response.status).toBe(200);
      produced.push({ offset: response.body.offsets[0].offset, check });
    };
    const binaryBase64 = binary.toString('base64');
    await produce({ valueBase64: binaryBase64 }, (r) => expect(r.valueBase64).toBe(binaryBase64));
    // Text that JSON escaping inflates: quotes double, and double again in the Lambda result.
    const quotes = '"'.repeat(1_400_000);
    await produce({ value: quotes }, (r) => expect(r.value ?? Buffer.from(r.valueBase64 as string, 'base64').toString()).toBe(quotes));
    const control = '\u0001'.repeat(780_000);
    await produce({ value: control }, (r) => expect(r.value ?? Buffer.from(r.valueBase64 as string, 'base64').toString()).toBe(control));
    // Many headers with escape-heavy keys.
    const headers = Array.from({ length: maxHeadersPerRecord }, (_, i) => ({ key: `"\\\u0002${i}`.repeat(100), value: '"'.repeat(500) }));
    await produce({ key: '"'.repeat(1000), value: 'v', headers }, (r) => expect(r.headers).toHaveLength(maxHeadersPerRecord));

    // Beside the fetched partition, 999 more entries whose errors name 249-character topics.
    const unknown = Array.from({ length: 999 }, (_, i) => ({
      topic: `${'u'.repeat(240)}${String(i).padStart(9, '0')}`,
      partition: 7,
      offset: 0,
    }));
    for (const { offset, check } of produced) {
      for (const encoding of ['auto', 'base64']) {
        const single = await http.get(`/v1/topics/limits/partitions/0/records?offset=${offset}&maxRecords=1&encoding=${encoding}`);
        expect(single.status, `GET offset ${offset} ${encoding}`).toBe(200);
        expect(single.body.records[0].offset).toBe(offset);
        check(single.body.records[0]);
        const many = await http.post('/v1/fetch', {
          partitions: [{ topic: 'limits', partition: 0, offset }, ...unknown],
          maxRecords: 1,
          encoding,
        });
        expect(many.status, `POST offset ${offset} ${encoding}`).toBe(200);
        expect(many.body.results[0].records[0].offset).toBe(offset);
        check(many.body.results[0].records[0]);
        expect(many.body.results[1].error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
      }
    }
  }, 60_000);
});

describe('records per request', () => {
  it('the largest request has a response within Lambda 6 MB and a stored response within the item limit', () => {
    expect(produceResponseBytesBound(maxRecordsPerRequest)).toBeLessThanOrEqual(responseBudgetBytes);
    expect(storedOffsetsBytesBound(maxRecordsPerRequest, maxPartitionsPerRequest)).toBeLessThanOrEqual(maxStoredResponseBytes);
  });

  it('120,000 empty records are 413 RECORD_LIST_TOO_LARGE before anything is written, with or without a key', async () => {
    await http.post('/v1/topics', { name: 'many', partitions: 2 });
    const records = Array.from({ length: 120_000 }, () => ({}));
    for (const headers of [{}, { 'Idempotency-Key': 'many-1' }] as Record<string, string>[]) {
      const response = await http.post('/v1/topics/many/records', { records }, headers);
      expect(response.status).toBe(413);
      expect(response.body.error).toMatchObject({ code: 'RECORD_LIST_TOO_LARGE', maxRecords: maxRecordsPerRequest });
    }
    const over = await http.post('/v1/topics/many/records', { records: records.slice(0, maxRecordsPerRequest + 1) });
    expect(over.status).toBe(413);
    const described = await http.get('/v1/topics/many');
    expect(described.body.partitions.map((p: { highWatermark: number }) => p.highWatermark)).toEqual([0, 0]);
  });

  it(`${maxRecordsPerRequest} records over many partitions with scattered timestamps: stored and replayed exactly`, async () => {
    await http.post('/v1/topics', { name: 'many-idem', partitions: maxPartitionsPerRequest });
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    const records = Array.from({ length: maxRecordsPerRequest }, (_, i) => ({
      partition: next() % maxPartitionsPerRequest,
      timestamp: 1_600_000_000_000 + (next() % 1_000_000_000),
      ...(i % 3 === 0 ? {} : { value: `v${i}` }),
    }));
    const first = await http.post('/v1/topics/many-idem/records', { records }, { 'Idempotency-Key': 'many-idem-1' });
    expect(first.status).toBe(200);
    expect(first.body.offsets).toHaveLength(maxRecordsPerRequest);
    const replay = await http.post('/v1/topics/many-idem/records', { records }, { 'Idempotency-Key': 'many-idem-1' });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
  }, 60_000);
});
