/**
 * The benchmark's cost arithmetic (bench/cost.ts): item sizes to DynamoDB capacity units as AWS
 * bills them, and units to dollars. Pure functions; no emulator.
 */
import { describe, expect, it } from 'vitest';
import {
  billDynamoCall,
  emptyUsage,
  GiB,
  itemSize,
  kinesisOnDemandAdvantageCost,
  kinesisOnDemandCost,
  layoutV2FetchUnits,
  layoutV2PollUnits,
  layoutV2ProduceUnits,
  perMillionRequests,
  tableShapeOf,
  lambdaBilledMs,
  meteredApiRequests,
  mskServerlessCost,
  numberSize,
  priceUsage,
  queryReadUnits,
  readUnits,
  updatedAttributes,
  writeUnits,
  type TableShape,
} from '../../bench/cost';
import { layoutV2ModelSection, layoutV2PerGiBRows, layoutV2Rows, modelBatch, modelChunk, modelClaimItem } from '../../bench/model';
import { prices } from '../../bench/prices';
import { clientDefaultRecordsPerRequest } from '../../bench/workloads';
import { appendTransactItems } from '../../bench/layout1';
import type { PreparedBatch } from '../../shared/log/append';
import { chunkHeaderAttributes } from '../../shared/log/chunk-store';
import { emptyHead } from '../../shared/log/partition-heads';
import { tables } from '../../shared/storage/tables';

describe('item size', () => {
  it('counts attribute names and values the way DynamoDB does', () => {
    expect(itemSize({ a: 'abc' })).toBe(1 + 3);
    expect(itemSize({ name: 'é' })).toBe(4 + 2); // UTF-8 bytes
    expect(itemSize({ bytes: new Uint8Array(1000) })).toBe(5 + 1000);
    expect(itemSize({ ok: true, gone: null })).toBe(2 + 1 + 4 + 1);
    // Lists and maps: 3 bytes plus 1 per element; map keys count.
    expect(itemSize({ l: ['ab', 'c'] })).toBe(1 + 3 + (1 + 2) + (1 + 1));
    expect(itemSize({ m: { k: 'v' } })).toBe(1 + 3 + (1 + 1 + 1));
    expect(itemSize({ skipped: undefined })).toBe(0);
  });

  it('sizes numbers by significant digits', () => {
    expect(numberSize(0)).toBe(2);
    expect(numberSize(7)).toBe(2);
    expect(numberSize(123)).toBe(3);
    expect(numberSize(1_700_000_000_123)).toBe(8); // 13 digits
    expect(numberSize(1000)).toBe(2); // trailing zeros are trimmed
    expect(numberSize(-12.5)).toBe(3);
  });
});

describe('capacity units', () => {
  it('writes: 1 WRU per started KB, doubled in a transaction', () => {
    expect(writeUnits(0)).toBe(1);
    expect(writeUnits(1024)).toBe(1);
    expect(writeUnits(1025)).toBe(2);
    expect(writeUnits(1025, true)).toBe(4);
    expect(writeUnits(10 * 1024, true)).toBe(20);
  });

  it('reads: 1 RRU per started 4 KB strongly consistent, half eventually, double transactional', () => {
    expect(readUnits(0, 'strong')).toBe(1); // a missing item still costs a unit
    expect(readUnits(4096, 'strong')).toBe(1);
    expect(readUnits(4097, 'strong')).toBe(2);
    expect(readUnits(4097, 'eventual')).toBe(1);
    expect(readUnits(100, 'eventual')).toBe(0.5);
    expect(readUnits(100, 'transactional')).toBe(2);
  });

  it('Query rounds the sum of the items, not each item', () => {
    expect(queryReadUnits([1500, 1500, 1500], 'strong')).toBe(2);
    expect(queryReadUnits([], 'strong')).toBe(1);
    expect(
      queryReadUnits(
        Array.from({ length: 25 }, () => 1200),
        'eventual',
      ),
    ).toBe(4);
  });
});

describe('one call to units', () => {
  const batches: TableShape = {
    keys: ['partitionKey', 'lastOffset'],
    indexes: [{ partitionKey: 'partitionKey', sortKey: 'maxTimestampSoFar', projected: ['baseOffset'] }],
  };
  const shapes = (name: string) => (name === 'batches' ? batches : { keys: ['k'], indexes: [] });
  const now = 1_700_000_000_000;
  const append = {
    TransactItems: [
      { ConditionCheck: { TableName: 'topics', Key: { name: 'orders' }, ConditionExpression: 'topicId = :id' } },
      {
        Update: {
          TableName: 'partitions',
          Key: { topicId: 'a6b1c1de-7d4e-4f5e-9f3a-2b7c8d9e0f11', partition: 3 },
          UpdateExpression: 'SET highWatermark = :next, logStartOffset = if_not_exists(logStartOffset, :zero) ADD sizeBytes :size',
          ExpressionAttributeValues: { ':next': 42, ':zero': 0, ':size': 1100 },
        },
      },
      {
        Put: {
          TableName: 'batches',
          Item: {
            partitionKey: 'a6b1c1de-7d4e-4f5e-9f3a-2b7c8d9e0f11:3',
            lastOffset: 41,
            baseOffset: 41,
            maxTimestampSoFar: now,
            bytes: new Uint8Array(1100),
          },
        },
      },
    ],
  };

  it('bills an append transaction: 2 WRU per KB per item, ConditionCheck included, plus the time index', () => {
    const bill = billDynamoCall('TransactWriteItemsCommand', append, {}, 'ok', shapes);
    // topic check 2 + partition update 2 + batch item (1.2 KB -> 2 KB) 4; GSI entry 1.
    expect(bill.wru).toBe(8);
    expect(bill.gsiWru).toBe(1);
    expect(bill.rru).toBe(0);
    const batchItemSize = itemSize(append.TransactItems[2]!.Put!.Item);
    expect(bill.storedBytes).toBeGreaterThan(batchItemSize + 100);
  });

  it("bills the append's own transaction (appendTransactItems): 5 WRU with an S3 segment, 7 for a 1 KiB inline batch", () => {
    const appendShapes = (name: string) => (name === 'batches' ? batches : undefined);
    const topicId = 'a6b1c1de-7d4e-4f5e-9f3a-2b7c8d9e0f11';
    const bill = (location: PreparedBatch['location'], bytes: number) => {
      const batch: PreparedBatch = {
        partition: 3,
        bytes: Buffer.alloc(bytes),
        recordCount: 100,
        firstTimestamp: now,
        maxTimestamp: now,
        location,
      };
      const items = appendTransactItems(
        { partitions: 'partitions', batches: 'batches', idempotency: 'idempotency' },
        topicId,
        [batch],
        new Map([[3, { ...emptyHead, highWatermark: 4200 }]]),
        new Map([[3, 4200]]),
        undefined,
      );
      const billed = billDynamoCall('TransactWriteItemsCommand', { TransactItems: items }, {}, 'ok', appendShapes);
      return billed.wru + billed.gsiWru;
    };
    // partition update 2 + batch index item 2 (both < 1 KB, transactional) + time-index entry 1.
    expect(bill({ kind: 'segment', key: `segments/${topicId}/2026-11-25/x`, position: 0, batchesInSegment: 1 }, 103_397)).toBe(5);
    // The batch item carries ~1.1 KB of bytes inline: 2 KB, transactional, 4 WRU.
    expect(bill({ kind: 'inline' }, 1_100)).toBe(7);
  });

  it('bills a cancelled transaction as attempted but stores nothing', () => {
    const bill = billDynamoCall('TransactWriteItemsCommand', append, undefined, 'condition-failed', shapes);
    expect(bill.wru + bill.gsiWru).toBe(9);
    expect(bill.storedBytes).toBe(0);
    expect(billDynamoCall('TransactWriteItemsCommand', append, undefined, 'error', shapes).wru).toBe(0);
  });

  it('sizes an update by its key and the attributes it sets', () => {
    expect(
      updatedAttributes(
        'SET #v = :next, a = if_not_exists(a, :zero) ADD s :size REMOVE old',
        { '#v': 'version' },
        { ':next': 2, ':zero': 0, ':size': 10 },
      ),
    ).toEqual({
      version: 2,
      a: 0,
      s: 10,
    });
  });

  it('bills reads by consistency, BatchGetItem per item and missing keys at one unit', () => {
    const big = { k: 'x', data: 'y'.repeat(5000) };
    expect(billDynamoCall('GetItemCommand', { ConsistentRead: true }, { Item: big }, 'ok').rru).toBe(2);
    expect(billDynamoCall('GetItemCommand', {}, { Item: big }, 'ok').rru).toBe(1);
    expect(billDynamoCall('GetItemCommand', { ConsistentRead: true }, {}, 'ok').rru).toBe(1);
    const batchGet = billDynamoCall(
      'BatchGetItemCommand',
      { RequestItems: { partitions: { Keys: [{ k: 1 }, { k: 2 }, { k: 3 }], ConsistentRead: true } } },
      { Responses: { partitions: [{ k: 1 }] }, UnprocessedKeys: {} },
      'ok',
    );
    expect(batchGet.rru).toBe(3);
    const query = billDynamoCall('QueryCommand', { ConsistentRead: true }, { Items: [big, big] }, 'ok');
    expect(query.rru).toBe(Math.ceil((2 * itemSize(big)) / 4096));
  });
});

describe('dollars', () => {
  it('meters API Gateway in 512 KB steps and Lambda in 1 ms steps', () => {
    expect(meteredApiRequests(100, 100)).toBe(1);
    expect(meteredApiRequests(512 * 1024, 0)).toBe(1);
    expect(meteredApiRequests(512 * 1024 + 1, 0)).toBe(2);
    expect(meteredApiRequests(200, 1_100_000)).toBe(3);
    expect(lambdaBilledMs(10.2)).toBe(11);
    expect(lambdaBilledMs(0.1)).toBe(1);
  });

  it('prices units with the dated table', () => {
    const usage = emptyUsage();
    usage.dynamodb.wru = 1_000_000;
    usage.dynamodb.rru = 1_000_000;
    usage.s3.putRequests = 1000;
    usage.s3.getRequests = 1000;
    usage.lambda.invocations = 1_000_000;
    usage.lambda.billedMs = 2_000_000; // 2000 s at 0.5 GB = 1000 GB-s
    usage.apiGateway.meteredRequests = 1_000_000;
    const cost = priceUsage(usage);
    expect(cost.dynamodbWrites).toBeCloseTo(0.625, 10);
    expect(cost.dynamodbReads).toBeCloseTo(0.125, 10);
    expect(cost.s3Requests).toBeCloseTo(0.005 + 0.0004, 10);
    expect(cost.lambdaRequests).toBeCloseTo(0.2, 10);
    expect(cost.lambdaCompute).toBeCloseTo(0.0133334, 7);
    expect(cost.apiGateway).toBeCloseTo(1, 10);
    expect(cost.total).toBeCloseTo(0.625 + 0.125 + 0.0054 + 0.2 + 0.0133334 + 1, 6);
  });

  it('prices the comparison services', () => {
    const gib = { records: GiB / 1024, recordBytes: 1024, hours: 1, partitions: 16, reads: 1 };
    const kinesis = kinesisOnDemandCost(gib);
    expect(kinesis.ingest).toBeCloseTo(0.08, 10);
    expect(kinesis.retrieval).toBeCloseTo(0.04, 10);
    expect(kinesis.hourly).toBeCloseTo(0.04, 10);
    // A 1025-byte record is billed as 2 KB.
    expect(kinesisOnDemandCost({ ...gib, recordBytes: 1025 }).ingest).toBeCloseTo((2 * 0.08 * (GiB / 1024) * 1024) / GiB, 10);
    const msk = mskServerlessCost(gib);
    expect(msk.total).toBeCloseTo(0.1 + 0.05 + 0.75 + 16 * 0.0015, 10);
  });
});

describe('layout v2, modelled (docs/storage.md, "Append redesign")', () => {
  // Chunks as the append builds them (chunkItem, chunkEntryOf), of real RecordBatches of 1 KiB records.
  const oneBatch = modelBatch(1);
  const one = modelChunk(oneBatch);
  const hundredBatch = modelBatch(100);
  const hundred = modelChunk(hundredBatch);
  /** Handler times as measured for layout 1 (docs/performance.md, "Each workload as measured"). */
  const produceFront = { lambdaMs: 3.9, apiUnits: 1 };

  it("builds the model's chunks with the append's own builder: the format's attributes, the table's own shape", () => {
    const allowed = new Set<string>([...chunkHeaderAttributes, 'batches', 'writeIds', 'segmentKey', 'segmentPosition']);
    for (const item of [one, hundred]) {
      for (const name of Object.keys(item)) expect(allowed, name).toContain(name);
      expect(item).toMatchObject({ sealed: true, batchCount: 1 });
    }
    expect(hundredBatch.location.kind).toBe('segment');
    expect(hundred.segmentKey).toBeDefined();
    expect(one.segmentKey).toBeUndefined();
    expect(tableShapeOf(tables.chunks)).toEqual({
      keys: ['partitionKey', 'baseOffset'],
      indexes: [{ partitionKey: 'segmentKey', projected: ['segmentPosition'] }],
    });
  });

  it('uncontended, one partition, no Idempotency-Key: one PutItem of a sealed chunk, 2 WRU for a 1 KiB record, nothing else', () => {
    expect(oneBatch.bytes.length).toBeGreaterThan(1024);
    const units = layoutV2ProduceUnits({ chunks: [one] });
    expect(units).toEqual({ wru: 2, gsiWru: 0, rru: 0, dynamoCalls: 1, s3Puts: 0, s3Gets: 0 });
    // Layout 1 billed 7 for the same request (partition update 2 + batch item 4 + time index 1; test above).
  });

  it("with an Idempotency-Key: the key's claim (1 WRU) before the same Put; several partitions: a transaction of the same Puts (2x)", () => {
    const keyed = layoutV2ProduceUnits({ chunks: [one], claimItem: modelClaimItem(1) });
    expect(keyed).toMatchObject({ wru: 2 + 1, gsiWru: 0, dynamoCalls: 2 });
    const twoPartitions = layoutV2ProduceUnits({ chunks: [modelChunk(modelBatch(1, 0)), modelChunk(modelBatch(1, 1))] });
    expect(twoPartitions).toMatchObject({ wru: 2 * (2 * 2), gsiWru: 0 });
  });

  it('a batch in S3: a small chunk (1 WRU) and its bySegment index entry (1 WRU), and one PUT', () => {
    expect(hundredBatch.bytes.length).toBeGreaterThan(100 * 1024);
    expect(layoutV2ProduceUnits({ chunks: [hundred] })).toEqual({ wru: 1, gsiWru: 1, rru: 0, dynamoCalls: 1, s3Puts: 1, s3Gets: 0 });
  });

  it('one 1 KiB record per request costs at most $3.00 per million, API Gateway $1.00 and Lambda included', () => {
    const cost = perMillionRequests(layoutV2ProduceUnits({ chunks: [one] }), produceFront);
    expect(cost.apiGateway).toBeCloseTo(1, 10);
    expect(cost.dynamodb).toBeCloseTo(2 * prices.dynamodb.perMillionWriteUnits, 10);
    expect(cost.lambda).toBeCloseTo(0.2 + 1e6 * 0.004 * 0.5 * prices.lambda.perGbSecondArm64, 10);
    expect(cost.total).toBeLessThanOrEqual(3);
    expect(cost.total).toBeCloseTo(2.48, 2);
    // With an Idempotency-Key: 3 WRU, the floor of any design that keeps the key in an item of its own.
    const keyed = perMillionRequests(layoutV2ProduceUnits({ chunks: [one], claimItem: modelClaimItem(1) }), produceFront);
    expect(keyed.total).toBeCloseTo(cost.total + prices.dynamodb.perMillionWriteUnits, 10);
  });

  it('a join is billed at the size of the chunk it joins (the images the call returned), a failed one too', () => {
    const chunk = { partitionKey: 'p', baseOffset: 0, batches: [{ bytes: new Uint8Array(16 * 1024) }] };
    const join = {
      TableName: 'chunks',
      Key: { partitionKey: 'p', baseOffset: 0 },
      UpdateExpression: 'SET batches = list_append(batches, :b), recordCount = recordCount + :n',
      ExpressionAttributeValues: { ':b': [{ bytes: new Uint8Array(1100) }], ':n': 1 },
      ReturnValues: 'ALL_NEW',
    };
    expect(billDynamoCall('UpdateItemCommand', join, {}, 'ok').wru).toBe(2); // what the request alone shows
    expect(billDynamoCall('UpdateItemCommand', join, { Attributes: chunk }, 'ok').wru).toBe(17);
    expect(billDynamoCall('UpdateItemCommand', join, { Item: chunk }, 'condition-failed').wru).toBe(17);
    // A Put that collides with a bigger chunk is billed at that chunk's size.
    expect(billDynamoCall('PutItemCommand', { TableName: 'chunks', Item: { k: 'x' } }, { Item: chunk }, 'condition-failed').wru).toBe(17);
  });

  it('a fetch: topic and head (partition item, last chunk), the chunk at or before the offset, the chunks after', () => {
    const inlineChunk = itemSize(one);
    expect(inlineChunk).toBeGreaterThan(1024);
    expect(inlineChunk).toBeLessThan(1536);
    // 1 MiB of single-record chunks: ~one Query page of 1 MB, then a second.
    const count = Math.floor(1_048_576 / inlineChunk);
    const sizes = Array.from({ length: count }, () => inlineChunk);
    const inline = layoutV2FetchUnits(sizes, inlineChunk);
    const pageOne = Math.floor(1_048_576 / inlineChunk);
    expect(inline.rru).toBe(1 + 1 + 1 + 1 + Math.ceil(((pageOne - 1) * inlineChunk) / 4096) + (count - 1 > pageOne - 1 ? 1 : 0));
    expect(inline.rru).toBeLessThan(350); // layout 1 measured 350 RRU for the same fetch
    // Ten 100-record batches in S3: ten small chunks, ten ranged GETs.
    const s3Chunk = itemSize(hundred);
    expect(
      layoutV2FetchUnits(
        Array.from({ length: 10 }, () => s3Chunk),
        s3Chunk,
        10,
      ),
    ).toEqual({
      wru: 0,
      gsiWru: 0,
      rru: 4 + Math.ceil((9 * s3Chunk) / 4096),
      dynamoCalls: 5,
      s3Puts: 0,
      s3Gets: 10,
    });
  });

  it('a poll of a waiting fetch (pollHead): a key-only Query at the minimum once the last chunk is final, a re-read of it while joinable', () => {
    expect(layoutV2PollUnits('final')).toMatchObject({ rru: 1, dynamoCalls: 1 });
    expect(layoutV2PollUnits({ rereadBytes: itemSize(one) }).rru).toBe(1);
    expect(layoutV2PollUnits({ rereadBytes: 32 * 1024 }).rru).toBe(8);
    // At the default 50 ms: 20 RRU/s per waiting partition, as layout 1's head item read.
    const perHour = 20 * 3600 * layoutV2PollUnits('final').rru * (prices.dynamodb.perMillionReadUnits / 1e6);
    expect(perHour).toBeCloseTo(0.009, 4);
  });

  it('per GiB in and out once (bench/model.ts): at the client defaults at least 10x below Kinesis on-demand, batching decides the bill', () => {
    const gib = { records: GiB / 1024, recordBytes: 1024, hours: 1, partitions: 16, reads: 1 };
    const kinesis = kinesisOnDemandCost(gib).ingest + kinesisOnDemandCost(gib).retrieval;
    expect(kinesis).toBeCloseTo(0.12, 10);
    expect(kinesisOnDemandAdvantageCost(gib).total).toBeCloseTo(0.048, 10);
    const rows = layoutV2PerGiBRows();
    expect(rows.map((r) => r.recordsPerRequest)).toEqual([1, 100, 1000, clientDefaultRecordsPerRequest]);
    const defaults = rows.at(-1)!;
    expect(kinesis / defaults.logway).toBeGreaterThanOrEqual(10);
    expect(defaults.logway).toBeCloseTo(defaults.produce + defaults.fetch, 12);
    // Cheaper with every step of batching; one record per request costs what a million requests do.
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.logway).toBeLessThan(rows[i - 1]!.logway);
    const single = layoutV2Rows()[0]!;
    expect(rows[0]!.produce).toBeCloseTo((single.perMillion.total * (GiB / 1024)) / 1e6, 6);
    // Layout 1 measured $0.098 to produce a GiB at 100 records per request (docs/performance.md): 5 WRU a request, now 2.
    expect(rows[1]!.produce).toBeLessThan(0.098);
  });

  it('the report section prints both tables and the targets', () => {
    const text = layoutV2ModelSection().join('\n');
    expect(text).toMatch(/one 1 KiB record per request: \$2\.\d\d per million \(target at most \$3\.00\)/);
    expect(text).toMatch(/client defaults/);
    expect(text).toMatch(/1 RRU per poll once the last chunk is final, 20 RRU\/s at the default 50 ms/);
  });
});
