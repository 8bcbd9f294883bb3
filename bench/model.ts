/**
 * Layout 2's cost, modelled (bench/cost.ts, "Layout v2, modelled"): the DynamoDB, S3, Lambda and
 * API Gateway charges each request shape implies by the design, from real item sizes (the
 * RecordBatch encoder, the stored-response encoder), beside Kinesis and MSK Serverless per GiB.
 * `npm run bench` prints it with the measured handler times; `npx tsx bench/model.ts` prints it
 * with the times of the last measured run (docs/performance.md). Pure apart from that printing.
 */
import { defaultConsumerMaxBytes } from '../client/src/consumer';
import { serviceDefaults } from '../shared/config';
import { chunkEntryOf, type PreparedBatch } from '../shared/log/append';
import { chunkItem } from '../shared/log/chunk-append';
import { chunkLimits } from '../shared/log/chunk-plan';
import { newWriteId } from '../shared/log/chunks';
import { claimFor } from '../shared/log/exactly-once';
import { encodeStoredOffsets, requestHash, scopedIdempotencyKey } from '../shared/log/idempotency';
import { segmentKey } from '../shared/log/segments';
import { partitionKeyOf } from '../shared/topics/store';
import { encodeRecordBatch } from '../shared/records';
import {
  GiB,
  itemSize,
  kinesisOnDemandAdvantageCost,
  kinesisOnDemandCost,
  layoutV2FetchUnits,
  layoutV2PerGiB,
  layoutV2PollUnits,
  layoutV2ProduceUnits,
  mskServerlessCost,
  perMillionRequests,
  type ModelCost,
  type ModelUnits,
} from './cost';
import { prices } from './prices';
import { clientDefaultRecordsPerRequest, RECORD_VALUE_BYTES, type WorkloadResults } from './workloads';

/** Handler times (ms) of the last measured run (docs/performance.md, 2026-11-25), by records per request. */
export const measuredLambdaMs = {
  produce: { 1: 3.9, 100: 6.7, 1000: 12.6 } as Record<number, number>,
  fetch: { 1: 71.3, 100: 19.3, 1000: 13.7 } as Record<number, number>,
};

/** HTTP bytes per 1 KiB record: in a produce request body, in a fetch response (as measured: ~1.12 MB for 958 records). */
const produceBytesPerRecord = RECORD_VALUE_BYTES + 28;
const fetchBytesPerRecord = 1170;

const now = 1_764_547_200_123;
const topicId = 'a6b1c1de-7d4e-4f5e-9f3a-2b7c8d9e0f11';

/** The RecordBatch of `records` 1 KiB records, as produce encodes it. */
export function modelBatch(records: number, partition = 0, batchesInSegment = 1): PreparedBatch {
  const bytes = encodeRecordBatch({
    records: Array.from({ length: records }, () => ({ value: new Uint8Array(RECORD_VALUE_BYTES), timestamp: now })),
  });
  return {
    partition,
    bytes,
    recordCount: records,
    firstTimestamp: now,
    maxTimestamp: now,
    location:
      bytes.length > serviceDefaults.inlineBatchMaxBytes
        ? { kind: 'segment', key: segmentKey(topicId, new Date(now)), position: 1_048_576, batchesInSegment }
        : { kind: 'inline' },
  };
}

/** The sealed chunk an uncontended append puts for `batch`, built by the append's own builder, at realistic offsets. */
export function modelChunk(batch: PreparedBatch): Record<string, unknown> {
  return chunkItem(partitionKeyOf(topicId, batch.partition), 12_345_678, [chunkEntryOf(batch, now, newWriteId())], {
    sealed: true,
    configVersion: 1,
    lineage: { maxTimestampBefore: now - 1, bytesBefore: 1_234_567_890 },
    limits: chunkLimits,
    now,
  });
}

/** The claim of an Idempotency-Key on a request of `records` records over `partitions` partitions, as the append builds it. */
export function modelClaimItem(records: number, partitions = 1): Record<string, unknown> {
  const template = encodeStoredOffsets(
    Array.from({ length: records }, (_, i) => ({ partition: i % partitions, offset: Math.floor(i / partitions), timestamp: now })),
  );
  const searches = Array.from({ length: partitions }, (_, partition) => ({
    partition,
    partitionKey: partitionKeyOf(topicId, partition),
    searchFrom: 12_345_678,
  }));
  const request = {
    key: scopedIdempotencyKey(topicId, 'order-2026-12-01-000123'),
    requestHash: requestHash('orders', { records: [] }),
    expiresAt: Math.floor(now / 1000) + 86_400,
    template,
  };
  return { ...claimFor(request, newWriteId(), searches, now) };
}

export interface ModelRow {
  readonly shape: string;
  readonly units: ModelUnits;
  readonly perMillion: ModelCost;
}

/** Handler time of a shape: measured in `workloads` if it has it, else the last measured run's, else the nearest. */
function lambdaMs(kind: 'produce' | 'fetch', recordsPerRequest: number, workloads?: WorkloadResults): number {
  const cell =
    kind === 'produce'
      ? workloads?.produce.find((c) => c.clients === 1 && c.partitions === 'distinct' && c.recordsPerRequest === recordsPerRequest)
      : workloads?.fetch.find((c) => c.writtenWithRecordsPerRequest === recordsPerRequest);
  if (cell) {
    const lambda = cell.usage.lambda;
    return lambda.invocations > 0 ? lambda.billedMs / lambda.invocations : 0;
  }
  const known = measuredLambdaMs[kind];
  if (known[recordsPerRequest] !== undefined) return known[recordsPerRequest]!;
  const nearest = Object.keys(known)
    .map(Number)
    .sort((a, b) => Math.abs(Math.log(a / recordsPerRequest)) - Math.abs(Math.log(b / recordsPerRequest)))[0]!;
  return known[nearest]!;
}

/** Per request shape: units and dollars per million requests. */
export function layoutV2Rows(workloads?: WorkloadResults): ModelRow[] {
  const one = modelChunk(modelBatch(1));
  const hundred = modelChunk(modelBatch(100));
  const oneChunk = itemSize(one);
  const hundredChunk = itemSize(hundred);
  const produceFront = (records: number, partitions = 1) => ({
    lambdaMs: lambdaMs('produce', records, workloads),
    apiUnits: Math.max(1, Math.ceil((records * partitions * produceBytesPerRecord) / prices.apiGateway.meteringIncrementBytes)),
  });
  const fetchFront = (records: number) => ({
    lambdaMs: lambdaMs('fetch', records, workloads),
    apiUnits: Math.max(1, Math.ceil((958 * fetchBytesPerRecord) / prices.apiGateway.meteringIncrementBytes)),
  });
  const row = (shape: string, units: ModelUnits, front: { lambdaMs: number; apiUnits: number }): ModelRow => ({
    shape,
    units,
    perMillion: perMillionRequests(units, front),
  });
  return [
    row('produce 1 record (1 KiB), one partition', layoutV2ProduceUnits({ chunks: [one] }), produceFront(1)),
    row('produce 1 record with an Idempotency-Key', layoutV2ProduceUnits({ chunks: [one], claimItem: modelClaimItem(1) }), produceFront(1)),
    row(
      'produce 1 record to each of 2 partitions',
      layoutV2ProduceUnits({ chunks: [modelChunk(modelBatch(1, 0)), modelChunk(modelBatch(1, 1))] }),
      produceFront(1, 2),
    ),
    row('produce 100 records (batch in S3)', layoutV2ProduceUnits({ chunks: [hundred] }), produceFront(100)),
    row(
      'fetch 1 MiB of 1-record chunks (958 chunks)',
      layoutV2FetchUnits(
        Array.from({ length: 958 }, () => oneChunk),
        oneChunk,
      ),
      fetchFront(1),
    ),
    row(
      'fetch 1 MiB of 100-record chunks (10 chunks, 10 GETs)',
      layoutV2FetchUnits(
        Array.from({ length: 10 }, () => hundredChunk),
        hundredChunk,
        10,
      ),
      fetchFront(100),
    ),
    pollRow('one poll of a waiting fetch, last chunk final (every 50 ms)', layoutV2PollUnits('final')),
    pollRow('one poll, last chunk an open 32 KiB chunk (within its join window)', layoutV2PollUnits({ rereadBytes: 32 * 1024 })),
  ];
}

/** A poll is not a request of its own: no API Gateway request or invocation (the waiting function's time is the fetch's). */
function pollRow(shape: string, units: ModelUnits): ModelRow {
  const dynamodb = units.rru * prices.dynamodb.perMillionReadUnits;
  return { shape, units, perMillion: { apiGateway: 0, lambda: 0, dynamodb, s3: 0, total: dynamodb } };
}

export interface PerGiBRow {
  readonly shape: string;
  readonly recordsPerRequest: number;
  readonly logway: number;
  readonly produce: number;
  readonly fetch: number;
}

/** Dollars per GiB of 1 KiB records written once and read once, at 1, 100, 1000 records per request and the client's defaults. */
export function layoutV2PerGiBRows(workloads?: WorkloadResults): PerGiBRow[] {
  return [1, 100, 1000, clientDefaultRecordsPerRequest].map((recordsPerRequest) => {
    const clientDefaults = recordsPerRequest === clientDefaultRecordsPerRequest;
    const fetchMaxBytes = clientDefaults ? defaultConsumerMaxBytes : 1_048_576;
    const recordsPerFetch = Math.floor((fetchMaxBytes * 958) / 1_048_576);
    const model = layoutV2PerGiB({
      recordsPerRequest,
      chunk: modelChunk(modelBatch(recordsPerRequest)),
      produceRequestBytes: recordsPerRequest * produceBytesPerRecord,
      fetchResponseBytes: recordsPerFetch * fetchBytesPerRecord,
      recordsPerFetch,
      produceLambdaMs: lambdaMs('produce', recordsPerRequest, workloads),
      fetchLambdaMs: lambdaMs('fetch', Math.min(recordsPerRequest, 1000), workloads),
    });
    return {
      shape: clientDefaults ? `client defaults (${recordsPerRequest} rec/req, 4 MiB fetches)` : `${recordsPerRequest} rec/req`,
      recordsPerRequest,
      logway: model.total,
      produce: model.produce.total,
      fetch: model.fetch.total,
    };
  });
}

const dollars = (value: number) =>
  value >= 1 ? `$${value.toFixed(2)}` : value >= 0.01 ? `$${value.toFixed(4)}` : `$${value.toPrecision(3)}`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [
    line(header),
    `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`,
    ...rows.map(line),
  ].join('\n');
}

const ratio = (other: number, logway: number) => `${(other / logway).toFixed(other / logway < 1 ? 2 : 1)}x`;

/** The report section: both tables and what they assume. */
export function layoutV2ModelSection(workloads?: WorkloadResults): string[] {
  const rows = layoutV2Rows(workloads);
  const idle = rows.find((r) => r.shape.startsWith('one poll of a waiting fetch'))!;
  const gib = { records: GiB / 1024, recordBytes: 1024, hours: 1, partitions: 16, reads: 1 };
  const kinesis = kinesisOnDemandCost(gib);
  const advantage = kinesisOnDemandAdvantageCost(gib);
  const msk = mskServerlessCost(gib);
  const perGiB = layoutV2PerGiBRows(workloads);
  const kinesisPerGiB = kinesis.ingest + kinesis.retrieval;
  return [
    '## Layout 2, modelled (bench/cost.ts, bench/model.ts: the design priced, uncontended)',
    '',
    table(
      ['request', 'WRU', 'GSI WRU', 'RRU', 'S3 PUT', 'S3 GET', 'API GW $/M', 'Lambda $/M', 'DynamoDB $/M', 'S3 $/M', 'total $/M'],
      rows.map((r) => [
        r.shape,
        String(r.units.wru),
        String(r.units.gsiWru),
        String(r.units.rru),
        String(r.units.s3Puts),
        String(r.units.s3Gets),
        dollars(r.perMillion.apiGateway),
        dollars(r.perMillion.lambda),
        dollars(r.perMillion.dynamodb),
        dollars(r.perMillion.s3),
        dollars(r.perMillion.total),
      ]),
    ),
    '',
    `- one 1 KiB record per request: ${dollars(rows[0]!.perMillion.total)} per million (target at most $3.00).`,
    `- a waiting fetch, per partition: ${idle.units.rru} RRU per poll once the last chunk is final, ${(20 * idle.units.rru).toFixed(0)} RRU/s at the default 50 ms, ${dollars(20 * 3600 * idle.perMillion.total * 1e-6)} per hour in reads (plus the waiting function's time).`,
    '',
    table(
      [
        'per GiB in and out once',
        'Logway layout 2',
        'of which produce',
        'Kinesis on-demand, per-GB only (x Logway)',
        'On-demand Advantage (x Logway)',
        'MSK Serverless, per-GB only',
      ],
      perGiB.map((r) => [
        r.shape,
        dollars(r.logway),
        dollars(r.produce),
        `${dollars(kinesisPerGiB)} (${ratio(kinesisPerGiB, r.logway)})`,
        `${dollars(advantage.total)} (${ratio(advantage.total, r.logway)})`,
        dollars(msk.ingest + msk.retrieval),
      ]),
    ),
    '',
    `Kinesis on-demand also charges $${prices.kinesisOnDemand.perStreamHour} per stream-hour, MSK Serverless $${prices.mskServerless.perClusterHour} per cluster-hour plus $${prices.mskServerless.perPartitionHour} per partition-hour; Logway has no hourly charge.`,
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(layoutV2ModelSection().join('\n'));
