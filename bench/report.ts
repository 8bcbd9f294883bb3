/**
 * Turns a benchmark run into the derived figures (cost per GB, fractions of the floor) and the
 * printed tables. Pure: everything comes from the result object, which run.ts also writes as JSON.
 */
import { formatCodecBench, type CodecBenchRow } from './codec';
import type { ColdStartResults } from './coldstart';
import {
  GiB,
  kinesisOnDemandAdvantageCost,
  kinesisOnDemandCost,
  kinesisProvisionedCost,
  mskServerlessCost,
  priceUsage,
  storagePerMonth,
  type CostBreakdown,
  type StreamWorkload,
  type Usage,
} from './cost';
import type { AppendShape, AppendShapeCell } from './append-shapes';
import type { DynamoFloorCell, FloorResults, S3FloorCell } from './floor';
import type { CpuUsage } from './server';
import { defaultConsumerMaxBytes } from '../client/src/consumer';
import { layoutV2ModelSection } from './model';
import { median } from './harness';
import { prices } from './prices';
import {
  clientDefaultRecordsPerRequest,
  PRODUCE_PARTITIONS,
  RECORD_VALUE_BYTES,
  SPREAD_PARTITIONS,
  type FetchCell,
  type HotPartitionPair,
  type ProduceCell,
  type WorkloadResults,
} from './workloads';

export interface Environment {
  readonly startedAt: string;
  readonly node: string;
  readonly platform: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly loadAverageBefore: number[];
  readonly loadAverageAfter?: number[];
  readonly commit: string;
  readonly mode: 'full' | 'quick' | 'codec';
}

export interface BenchResults {
  readonly environment: Environment;
  readonly workloads?: WorkloadResults;
  readonly floor?: FloorResults;
  readonly coldStart?: ColdStartResults;
  readonly codec?: {
    rows: CodecBenchRow[];
    crc32c: { native: number | null; js: number };
    crc32cImplementation: string;
    zstdImplementation: string;
  };
  readonly durationSeconds?: number;
}

// ---------------------------------------------------------------------------------------------
// Derived figures

export interface WorkloadCost {
  readonly workload: string;
  readonly requests: number;
  readonly records: number;
  readonly gib: number;
  readonly cost: CostBreakdown;
  readonly perGiB: number;
  readonly perMillionRecords: number;
  readonly storagePerGiBMonth: number;
  readonly perRequest: {
    readonly wru: number;
    readonly rru: number;
    readonly s3Put: number;
    readonly s3Get: number;
    readonly dynamoRequests: number;
    readonly lambdaBilledMs: number;
    readonly apiMeteredRequests: number;
  };
  /** DynamoDB Local's own ConsumedCapacity over our computed units. */
  readonly reportedOverComputed: number;
  readonly cancelledTransactions: number;
}

function workloadCost(workload: string, usage: Usage, records: number, valueBytes: number): WorkloadCost {
  const cost = priceUsage(usage);
  const gib = valueBytes / GiB;
  const requests = usage.apiGateway.requests || 1;
  const d = usage.dynamodb;
  const computed = d.wru + d.gsiWru + d.rru;
  const storage = storagePerMonth(usage);
  return {
    workload,
    requests: usage.apiGateway.requests,
    records,
    gib,
    cost,
    perGiB: gib > 0 ? cost.total / gib : 0,
    perMillionRecords: records > 0 ? (cost.total / records) * 1e6 : 0,
    storagePerGiBMonth: gib > 0 ? storage.total / gib : 0,
    perRequest: {
      wru: (d.wru + d.gsiWru) / requests,
      rru: d.rru / requests,
      s3Put: usage.s3.putRequests / requests,
      s3Get: usage.s3.getRequests / requests,
      dynamoRequests: d.requests / requests,
      lambdaBilledMs: usage.lambda.billedMs / requests,
      apiMeteredRequests: usage.apiGateway.meteredRequests / requests,
    },
    reportedOverComputed: computed > 0 ? d.reportedCapacityUnits / computed : 0,
    cancelledTransactions: d.cancelledTransactions,
  };
}

export const produceLabel = (cell: ProduceCell) =>
  `produce ${cell.recordsPerRequest} rec/req x ${cell.clients}${cell.partitions === 'one' ? ' (1 partition)' : cell.partitions === 'spread' ? ' (each on every partition)' : ''}${cell.idempotent ? ' with Idempotency-Key' : ''}`;
export const fetchLabel = (cell: FetchCell) => `fetch ${cell.writtenWithRecordsPerRequest}-rec batches`;

export function produceCost(cell: ProduceCell): WorkloadCost {
  return workloadCost(produceLabel(cell), cell.usage, cell.records, cell.records * RECORD_VALUE_BYTES);
}

export function fetchCost(cell: FetchCell): WorkloadCost {
  return workloadCost(fetchLabel(cell), cell.usage, cell.records, cell.valueBytes);
}

/** The DynamoDB floor a produce cell is compared with: same number of workers, same item layout. */
export function dynamoFloorFor(
  floor: FloorResults | undefined,
  clients: number,
  partitions: 'distinct' | 'one',
): DynamoFloorCell | undefined {
  if (!floor) return undefined;
  if (clients === 1) return floor.dynamodb.find((c) => c.mode === 'sequential');
  return floor.dynamodb.find(
    (c) => c.clients === clients && c.mode === (partitions === 'one' ? 'one partition item' : 'distinct partition items'),
  );
}

export function s3FloorFor(floor: FloorResults | undefined, recordsPerRequest: number, clients: number): S3FloorCell | undefined {
  return floor?.s3.find((c) => c.recordsPerBatch === recordsPerRequest && c.clients === clients);
}

export interface ComparisonRow {
  readonly volumeGiBPerHour: number;
  readonly logway: { readonly recordsPerRequest: number; readonly total: number }[];
  readonly kinesisOnDemand: number;
  readonly kinesisOnDemandAdvantage: number;
  readonly kinesisProvisioned: number;
  readonly mskServerless: number;
}

/** The same hour of traffic (1 KiB records, written once and read once) on each system. */
export function comparison(results: BenchResults, volumes: readonly number[] = [1, 100]): ComparisonRow[] {
  const w = results.workloads;
  if (!w) return [];
  const shapes = [...new Set(w.produce.map((c) => c.recordsPerRequest))];
  return volumes.map((volume) => {
    const workload: StreamWorkload = {
      records: (volume * GiB) / RECORD_VALUE_BYTES,
      recordBytes: RECORD_VALUE_BYTES,
      hours: 1,
      partitions: PRODUCE_PARTITIONS,
      reads: 1,
    };
    return {
      volumeGiBPerHour: volume,
      logway: shapes.map((recordsPerRequest) => {
        const produce =
          w.produce.find((c) => c.recordsPerRequest === recordsPerRequest && c.clients === 1) ??
          w.produce.find((c) => c.recordsPerRequest === recordsPerRequest)!;
        const fetch = w.fetch.find((c) => c.writtenWithRecordsPerRequest === recordsPerRequest);
        return { recordsPerRequest, total: volume * (produceCost(produce).perGiB + (fetch ? fetchCost(fetch).perGiB : 0)) };
      }),
      kinesisOnDemand: kinesisOnDemandCost(workload).total,
      kinesisOnDemandAdvantage: kinesisOnDemandAdvantageCost(workload).total,
      kinesisProvisioned: kinesisProvisionedCost(workload).total,
      mskServerless: mskServerlessCost(workload).total,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Formatting

const fixed = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const dollars = (n: number) => (n === 0 ? '$0' : n >= 1 ? `$${n.toFixed(2)}` : n >= 0.01 ? `$${n.toFixed(4)}` : `$${n.toPrecision(3)}`);
const pct = (part: number, whole: number | undefined) => (whole ? `${((100 * part) / whole).toFixed(0)}%` : 'n/a');
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

/** A Markdown table: the first `leftColumns` columns left-aligned, the rest right-aligned. */
export function table(header: string[], rows: string[][], leftColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < leftColumns ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** CPU time over wall time, as a percentage of one core (200% = both cores of this machine). */
const cpuShare = (ms: number | null, cpu: CpuUsage) =>
  ms === null || cpu.wallMs <= 0 ? 'n/a' : `${((100 * ms) / cpu.wallMs).toFixed(0)}%`;

function failures(record: Record<string, number>): string {
  const entries = Object.entries(record);
  return entries.length === 0 ? '0' : entries.map(([reason, n]) => `${n} ${reason}`).join(', ');
}

export function formatReport(results: BenchResults): string {
  const out: string[] = [];
  const e = results.environment;
  out.push(
    `Logway benchmark (${e.mode}) ${e.startedAt}, commit ${e.commit}`,
    `Node ${e.node} ${e.platform}; ${e.cores} x ${e.cpu}; ${e.memoryGiB} GiB; load average before ${e.loadAverageBefore.map((l) => l.toFixed(2)).join(' ')}` +
      (e.loadAverageAfter ? `, after ${e.loadAverageAfter.map((l) => l.toFixed(2)).join(' ')}` : ''),
    '',
  );
  const w = results.workloads;
  const floor = results.floor;
  if (w) {
    out.push('## Produce throughput (1 KiB records over HTTP; client i on partition i of a 16-partition topic)', '');
    out.push(
      table(
        [
          'records/req',
          'clients',
          'req/s',
          'records/s',
          'MB/s',
          'p50 ms',
          'p99 ms',
          'failed',
          'DDB tx/s floor',
          'of DDB',
          'S3 PUT/s floor',
          'of S3',
          'gateway CPU',
          'DDB Local CPU',
        ],
        w.produce.map((c) => {
          const ddb = dynamoFloorFor(floor, c.clients, 'distinct');
          const s3 = s3FloorFor(floor, c.recordsPerRequest, c.clients);
          return [
            String(c.recordsPerRequest),
            String(c.clients),
            fixed(c.requestsPerSecond, 1),
            fixed(c.recordsPerSecond),
            fixed(c.megabytesPerSecond, 2),
            ms(c.latency.p50Ms),
            ms(c.latency.p99Ms),
            failures(c.failures),
            ddb ? fixed(ddb.committedPerSecond) : 'n/a',
            pct(c.requestsPerSecond, ddb?.committedPerSecond),
            s3 ? fixed(s3.putsPerSecond) : 'inline',
            s3 ? pct(c.requestsPerSecond, s3.putsPerSecond) : '-',
            cpuShare(c.cpu.serverMs, c.cpu),
            cpuShare(c.cpu.dynamoDbLocalMs, c.cpu),
          ];
        }),
        0,
      ),
      '',
      'Floors: the same number of workers doing the raw primitive with no HTTP (tables below). gateway CPU: the process running the',
      "gateway, every handler and s3rver, one Node thread (~100% is its ceiling); DDB Local CPU: DynamoDB Local's JVM. Both in % of one",
      `core over the cell; this machine has ${results.environment.cores} cores, shared with the load generator.`,
      '',
    );
    if (w.contention.length) {
      out.push(
        '## Contended appends (every client on the same partitions: 1-record requests to one partition, or one record to each of 4 partitions per request)',
        '',
      );
      out.push(
        table(
          [
            'clients',
            'partitions/request',
            'Idempotency-Key',
            'requests/s',
            'p50 ms',
            'p99 ms',
            'failed',
            'cancelled tx',
            'tx per append',
            'DDB calls per append',
            'DDB sequential floor',
            'of it',
            'DDB one item, no backoff',
            'gateway CPU',
            'DDB Local CPU',
          ],
          w.contention.map((c) => {
            const sequential = dynamoFloorFor(floor, 1, 'one');
            const raw = dynamoFloorFor(floor, c.clients, 'one');
            const transactions = c.usage.dynamodb.byOperation.TransactWriteItems?.requests ?? 0;
            return [
              String(c.clients),
              String(c.partitions === 'spread' ? SPREAD_PARTITIONS : 1),
              c.idempotent ? 'yes' : 'no',
              fixed(c.requestsPerSecond, 1),
              ms(c.latency.p50Ms),
              ms(c.latency.p99Ms),
              failures(c.failures),
              fixed(c.usage.dynamodb.cancelledTransactions),
              c.requests ? (transactions / c.requests).toFixed(2) : 'n/a',
              c.requests ? (c.usage.dynamodb.requests / c.requests).toFixed(2) : 'n/a',
              sequential ? fixed(sequential.committedPerSecond) : 'n/a',
              pct(c.requestsPerSecond, sequential?.committedPerSecond),
              raw ? fixed(raw.committedPerSecond) : 'n/a',
              cpuShare(c.cpu.serverMs, c.cpu),
              cpuShare(c.cpu.dynamoDbLocalMs, c.cpu),
            ];
          }),
          0,
        ),
        '',
      );
    }
    if (w.hotPartitionPairs.length) out.push(...hotPartitionPairsSection(w.hotPartitionPairs));
    out.push('## Fetch throughput (one consumer, sequential GETs, maxBytes 1 MiB, partition 0)', '');
    out.push(
      table(
        [
          'data written as',
          'fetches',
          'records/fetch',
          'records/s',
          'MB/s',
          'p50 ms',
          'p99 ms',
          'DDB calls/fetch',
          'S3 GET/fetch',
          'S3 bytes/returned',
          'failed',
          'gateway CPU',
          'DDB Local CPU',
        ],
        w.fetch.map((c) => [
          `${c.writtenWithRecordsPerRequest}-record batches`,
          fixed(c.fetches),
          c.fetches ? fixed(c.records / c.fetches) : '0',
          fixed(c.recordsPerSecond),
          fixed(c.megabytesPerSecond, 2),
          ms(c.latency.p50Ms),
          ms(c.latency.p99Ms),
          c.fetches ? (c.usage.dynamodb.requests / c.fetches).toFixed(1) : 'n/a',
          c.fetches ? (c.usage.s3.getRequests / c.fetches).toFixed(1) : 'n/a',
          c.usage.s3.getBytes && c.valueBytes ? (c.usage.s3.getBytes / c.valueBytes).toFixed(2) : '-',
          String(c.failedFetches),
          cpuShare(c.cpu.serverMs, c.cpu),
          cpuShare(c.cpu.dynamoDbLocalMs, c.cpu),
        ]),
      ),
      '',
    );
    out.push('## Produce-to-consume latency (a long poll waits at the high watermark; one 1 KiB record is produced)', '');
    out.push(
      table(
        [
          'poll',
          'samples',
          'missed',
          'produce p50',
          'produce p99',
          'wake p50',
          'wake p99',
          'after ack p50',
          'after ack p99',
          'idle poll RRU/s',
          'idle poll $/hour',
        ],
        w.latency.map((l) => [
          l.mode,
          String(l.samples),
          String(l.missed),
          ms(l.produce.p50Ms),
          ms(l.produce.p99Ms),
          ms(l.wake.p50Ms),
          ms(l.wake.p99Ms),
          ms(l.wakeAfterAck.p50Ms),
          ms(l.wakeAfterAck.p99Ms),
          (l.idle.usage.dynamodb.rru / (l.idle.elapsedMs / 1000)).toFixed(1),
          dollars(priceUsage(l.idle.usage).total / (l.idle.elapsedMs / 3_600_000)),
        ]),
      ),
      '',
      `idle poll: one poll left waiting ${w.latency[0] ? (w.latency[0].idle.waitMs / 1000).toFixed(0) : '?'} s with nothing produced; its reads per second and what an hour of such waiting costs (reads + Lambda + requests).`,
      'wake = produce request sent -> the waiting poll returned the record (milliseconds). ' +
        `Target: median under 100 ms locally: ${w.latency.every((l) => l.wake.p50Ms < 100) ? 'met' : 'NOT met'}.`,
      '',
    );
  }
  if (floor) {
    out.push("## Floor: DynamoDB Local TransactWriteItems of an append's shape (conditional Update + Put), no HTTP", '');
    out.push(
      table(
        ['items', 'clients', 'committed tx/s', 'attempts/s', 'p50 ms', 'p99 ms', 'cancelled'],
        floor.dynamodb.map((c) => [
          c.mode,
          String(c.clients),
          fixed(c.committedPerSecond),
          fixed(c.attemptsPerSecond),
          ms(c.latency.p50Ms),
          ms(c.latency.p99Ms),
          failures(c.cancelled),
        ]),
      ),
      '',
    );
    if (floor.appendShapes?.length) out.push(...appendShapesSection(floor.appendShapes, results.workloads), '');
    out.push("## Floor: s3rver PutObject of one produce request's segment, no HTTP front end", '');
    out.push(
      table(
        ['segment', 'bytes', 'clients', 'PUT/s', 'MB/s', 'p50 ms', 'p99 ms', 'failed'],
        floor.s3.map((c) => [
          `${c.recordsPerBatch} records`,
          fixed(c.payloadBytes),
          String(c.clients),
          fixed(c.putsPerSecond, 1),
          fixed(c.megabytesPerSecond, 1),
          ms(c.latency.p50Ms),
          ms(c.latency.p99Ms),
          String(c.failed),
        ]),
      ),
      '',
    );
  }
  if (w) {
    const costs = [
      ...w.produce.map(produceCost),
      ...w.contention.map((c) => workloadCost(produceLabel(c), c.usage, c.records, c.records * RECORD_VALUE_BYTES)),
      ...w.fetch.map(fetchCost),
    ];
    out.push(`## AWS cost of each workload as measured (us-east-1 prices as of ${prices.asOf}; GiB = 2^30 bytes of record values)`, '');
    out.push(
      table(
        [
          'workload',
          'requests',
          'WRU/req',
          'RRU/req',
          'DDB calls/req',
          'S3 PUT/req',
          'S3 GET/req',
          'Lambda ms/req',
          'API units/req',
          'DDB Local/ours',
          '$/GiB',
          '$/M records',
          'storage $/GiB-mo',
        ],
        costs.map((c) => [
          c.workload,
          fixed(c.requests),
          c.perRequest.wru.toFixed(1),
          c.perRequest.rru.toFixed(1),
          c.perRequest.dynamoRequests.toFixed(1),
          c.perRequest.s3Put.toFixed(2),
          c.perRequest.s3Get.toFixed(2),
          c.perRequest.lambdaBilledMs.toFixed(1),
          c.perRequest.apiMeteredRequests.toFixed(1),
          c.reportedOverComputed ? c.reportedOverComputed.toFixed(2) : 'n/a',
          dollars(c.perGiB),
          dollars(c.perMillionRecords),
          c.workload.startsWith('fetch') ? '-' : dollars(c.storagePerGiBMonth),
        ]),
      ),
      '',
      `Lambda ms/req is the handler duration measured here, billed at ${prices.lambda.memoryMb} MB, rounded up per invocation to 1 ms; under concurrency it includes`,
      'waiting for the one shared event loop of the local gateway, which Lambda instances do not share. "DDB Local/ours": the',
      "capacity DynamoDB Local reports over the units computed here from AWS's rules (bench/cost.ts), which are what is billed.",
      '',
    );
    const breakdown = w.produce
      .filter((c) => c.clients === 1)
      .map(produceCost)
      .concat(w.fetch.map(fetchCost));
    out.push("Where the money goes (share of each workload's cost):", '');
    out.push(
      table(
        ['workload', 'API Gateway', 'Lambda req', 'Lambda GB-s', 'DDB writes', 'DDB reads', 'S3 requests'],
        breakdown.map((c) => [
          c.workload,
          pct(c.cost.apiGateway, c.cost.total),
          pct(c.cost.lambdaRequests, c.cost.total),
          pct(c.cost.lambdaCompute, c.cost.total),
          pct(c.cost.dynamodbWrites, c.cost.total),
          pct(c.cost.dynamodbReads, c.cost.total),
          pct(c.cost.s3Requests, c.cost.total),
        ]),
      ),
      '',
    );
    const rows = comparison(results);
    if (rows.length) {
      const shapes = rows[0]!.logway.map((l) => l.recordsPerRequest);
      out.push(
        `## The same hour of traffic elsewhere (1 KiB records written once and read once; ${PRODUCE_PARTITIONS} partitions; total $ for the hour)`,
        '',
        table(
          [
            'GiB per hour',
            ...shapes.map((s) => (s === clientDefaultRecordsPerRequest ? `Logway client defaults (${s} rec/req)` : `Logway ${s} rec/req`)),
            'Kinesis on-demand',
            'Kinesis On-demand Advantage',
            'Kinesis provisioned',
            'MSK Serverless',
          ],
          rows.map((r) => [
            fixed(r.volumeGiBPerHour),
            ...r.logway.map((l) => dollars(l.total)),
            dollars(r.kinesisOnDemand),
            dollars(r.kinesisOnDemandAdvantage),
            dollars(r.kinesisProvisioned),
            dollars(r.mskServerless),
          ]),
        ),
        '',
        `Logway: measured $/GiB in (c=1 cell) + $/GiB out (fetch of that shape's batches; at the client's defaults, ${defaultConsumerMaxBytes / 1_048_576} MiB fetches); no hourly charge, storage extra.`,
        ...perGiBRatio(rows),
        `Kinesis on-demand: $${prices.kinesisOnDemand.perStreamHour}/stream-hour + $${prices.kinesisOnDemand.perGbIn}/GB in (records rounded up to 1 KB) + $${prices.kinesisOnDemand.perGbOut}/GB out.`,
        `Kinesis On-demand Advantage: $${prices.kinesisOnDemandAdvantage.perGbIn.toFixed(3)}/GB in + $${prices.kinesisOnDemandAdvantage.perGbOut.toFixed(3)}/GB out (AWS: at least 60% below Standard), no stream-hour charge; its account-wide throughput commitment is not modelled.`,
        `Kinesis provisioned: $${prices.kinesisProvisioned.perShardHour}/shard-hour (shards for the average rate: 1 MB/s or 1000 records/s in, 2 MB/s out each) + $${prices.kinesisProvisioned.perMillionPutPayloadUnits}/M 25 KB PUT units.`,
        `MSK Serverless: $${prices.mskServerless.perClusterHour}/cluster-hour + $${prices.mskServerless.perPartitionHour}/partition-hour + $${prices.mskServerless.perGbIn}/GB in + $${prices.mskServerless.perGbOut}/GB out.`,
        '',
      );
    }
    // What the same shapes cost by layout 2's design, with this run's handler times.
    out.push(...layoutV2ModelSection(w), '');
  }
  const cold = results.coldStart;
  if (cold) {
    out.push(
      `## Cold start: bundle size and import time in a fresh Node process (median of ${cold.runs}; empty node process: ${ms(cold.emptyProcessMs)} ms)`,
      '',
    );
    out.push(
      table(
        ['function', 'bundle KiB', 'map KiB', 'import ms', 'process ms', 'import ms, source maps', 'process ms, source maps'],
        cold.rows.map((r) => [
          r.name,
          fixed(r.bundleBytes / 1024),
          fixed(r.sourceMapBytes / 1024),
          ms(r.importMs),
          ms(r.processMs),
          ms(r.importMsWithSourceMaps),
          ms(r.processMsWithSourceMaps),
        ]),
      ),
      '',
    );
  }
  const codec = results.codec;
  if (codec) {
    out.push(`## Record-batch codec (bench/codec.ts): CRC32C ${codec.crc32cImplementation}, zstd ${codec.zstdImplementation}`, '');
    out.push(
      formatCodecBench(codec.rows),
      '',
      `CRC32C over 1 MiB: native ${codec.crc32c.native === null ? 'n/a' : codec.crc32c.native.toFixed(2)} GB/s, pure JS ${codec.crc32c.js.toFixed(2)} GB/s`,
      '',
    );
  }
  if (results.durationSeconds !== undefined) out.push(`(whole run: ${results.durationSeconds.toFixed(0)} s)`);
  return out.join('\n');
}

/**
 * The hot-partition target, in the form it is stated: appends/s at 16 clients against 4 on one
 * partition over repeated, interleaved runs (bench/workloads.ts, `hotPartitionPairs`).
 */
export function hotPartitionPairsSection(pairs: readonly HotPartitionPair[]): string[] {
  const ratio = (p: HotPartitionPair) => p.sixteen.requestsPerSecond / p.four.requestsPerSecond;
  const summary = [false, true].flatMap((idempotent) => {
    const ratios = pairs.filter((p) => p.idempotent === idempotent).map(ratio);
    if (ratios.length === 0) return [];
    const atLeastOne = ratios.filter((r) => r >= 1).length;
    return [
      `- ${idempotent ? 'With' : 'Without'} an Idempotency-Key: 16:4 median ${median(ratios).toFixed(2)}x, range ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}x, ${atLeastOne} of ${ratios.length} pairs at 1.00x or more.`,
    ];
  });
  return [
    '## The hot partition at 4 and 16 clients, interleaved pairs (1-record requests of 1 KiB, one partition)',
    '',
    table(
      [
        'pair',
        'Idempotency-Key',
        'first',
        '4 clients: appends/s',
        '16 clients: appends/s',
        '16:4',
        '16 clients: p99 ms',
        '16 clients: max ms',
        'failed',
      ],
      pairs.map((p) => [
        String(p.pair),
        p.idempotent ? 'yes' : 'no',
        `${p.firstClients} clients`,
        fixed(p.four.requestsPerSecond, 1),
        fixed(p.sixteen.requestsPerSecond, 1),
        `${ratio(p).toFixed(2)}x`,
        ms(p.sixteen.latency.p99Ms),
        ms(p.sixteen.latency.maxMs),
        String(p.four.failedRequests + p.sixteen.failedRequests),
      ]),
      0,
    ),
    '',
    ...summary,
    '',
  ];
}

/**
 * Today's append transaction beside the layout-v2 chunk append, on one partition, with the
 * targets of the hot-partition work and the cost per million one-record requests each implies.
 */
export function appendShapesSection(cells: readonly AppendShapeCell[], workloads: WorkloadResults | undefined): string[] {
  const out: string[] = [
    "## Append redesign: today's transaction beside layout-v2 chunks (DynamoDB Local, no HTTP, one partition, one 1 KiB record per append, interleaved runs; `partition-per-client` is the bound: the same engine with no item shared)",
    '',
    table(
      [
        'shape',
        'clients',
        'run',
        'appends/s',
        'p50 ms',
        'p99 ms',
        'max ms',
        'WRU/append reported',
        'WRU/append billed',
        'failed writes/append',
        'failed appends',
      ],
      cells.map((c) => [
        c.shape,
        String(c.clients),
        String(c.repetition + 1),
        fixed(c.appendsPerSecond),
        ms(c.latency.p50Ms),
        ms(c.latency.p99Ms),
        ms(c.latency.maxMs),
        fixed(c.reportedWriteUnitsPerAppend, 2),
        fixed(c.billedWriteUnitsPerAppend, 2),
        fixed(c.failedWritesPerAppend, 2),
        String(c.failed),
      ]),
    ),
    '',
  ];
  const clientCounts = [...new Set(cells.map((c) => c.clients))];
  const of = (shape: AppendShape, clients: number) => cells.filter((c) => c.shape === shape && c.clients === clients);
  for (const clients of clientCounts) {
    const today = median(of('transaction', clients).map((c) => c.appendsPerSecond));
    const chunks = median(of('chunks', clients).map((c) => c.appendsPerSecond));
    out.push(
      `- ${clients} client(s): chunks ${fixed(chunks)} appends/s vs transaction ${fixed(today)} (${today > 0 ? (chunks / today).toFixed(1) : '?'}x, medians of ${of('chunks', clients).length} runs); p99 ${ms(median(of('chunks', clients).map((c) => c.latency.p99Ms)))} vs ${ms(median(of('transaction', clients).map((c) => c.latency.p99Ms)))} ms.`,
    );
  }
  const most = Math.max(...clientCounts);
  const four = clientCounts.includes(4) ? 4 : undefined;
  if (four !== undefined && most > four) {
    const at = (clients: number) => median(of('chunks', clients).map((c) => c.appendsPerSecond));
    out.push(`- chunks at ${most} clients vs 4: ${(at(most) / at(four)).toFixed(2)}x the appends/s (target: at least 1).`);
    const bound = (clients: number) => median(of('partition-per-client', clients).map((c) => c.appendsPerSecond));
    if (of('partition-per-client', most).length > 0 && bound(four) > 0)
      out.push(
        `- the bound (each client on a partition of its own, no item shared) at ${most} clients vs 4: ${(bound(most) / bound(four)).toFixed(2)}x; p99 at ${most} clients ${ms(median(of('partition-per-client', most).map((c) => c.latency.p99Ms)))} ms. One partition's chunks reach ${bound(most) > 0 ? (at(most) / bound(most)).toFixed(2) : '?'}x the bound's appends/s at ${most} clients.`,
      );
  }
  const hot = of('chunks', most);
  const p99 = median(hot.map((c) => c.latency.p99Ms));
  const max = Math.max(...hot.map((c) => c.latency.maxMs));
  out.push(
    `- chunks at ${most} clients: p99 ${ms(p99)} ms (target under 100: ${p99 < 100 ? 'met' : 'NOT met'}), max ${ms(max)} ms (target under 500: ${max < 500 ? 'met' : 'NOT met'}), ${hot.reduce((n, c) => n + c.failed, 0)} failed appends.`,
  );
  // Cost per million one-record requests: API Gateway and Lambda as measured for today's handler
  // (1 record per request, 1 client), DynamoDB writes at each shape's uncontended write units.
  const measured = workloads?.produce.find((c) => c.recordsPerRequest === 1 && c.clients === 1);
  const single = (shape: AppendShape) => median(of(shape, 1).map((c) => c.reportedWriteUnitsPerAppend));
  if (measured && of('chunks', 1).length > 0) {
    const cost = priceUsage(measured.usage);
    const requests = measured.usage.apiGateway.requests || 1;
    const front = ((cost.apiGateway + cost.lambdaRequests + cost.lambdaCompute) / requests) * 1e6;
    const writes = (units: number) => units * prices.dynamodb.perMillionWriteUnits;
    out.push(
      `- one 1 KiB record per request, per million records: API Gateway + Lambda ${dollars(front)} (measured, today's handler) + DynamoDB writes: chunks ${fixed(single('chunks'), 2)} WRU = ${dollars(writes(single('chunks')))} -> ${dollars(front + writes(single('chunks')))} (target at most $3.00); transaction ${fixed(single('transaction'), 2)} WRU (+1 time-index GSI entry) = ${dollars(writes(single('transaction') + 1))} -> ${dollars(front + writes(single('transaction') + 1))}.`,
    );
  }
  return out;
}

/**
 * Logway at the client's defaults against Kinesis on-demand per GiB in and out once (its per-GB
 * charges only, no stream-hour): the hot-partition issue's "at least 10x cheaper".
 */
function perGiBRatio(rows: readonly ComparisonRow[]): string[] {
  const largest = rows.at(-1);
  const logway = largest?.logway.find((l) => l.recordsPerRequest === clientDefaultRecordsPerRequest);
  if (!largest || !logway) return [];
  const logwayPerGiB = logway.total / largest.volumeGiBPerHour;
  const kinesisPerGiB = prices.kinesisOnDemand.perGbIn + prices.kinesisOnDemand.perGbOut;
  const advantagePerGiB = prices.kinesisOnDemandAdvantage.perGbIn + prices.kinesisOnDemandAdvantage.perGbOut;
  return [
    `Per GiB in and out once at the client's defaults: Logway ${dollars(logwayPerGiB)}, Kinesis on-demand ${dollars(kinesisPerGiB)} (${(kinesisPerGiB / logwayPerGiB).toFixed(1)}x Logway; target at least 10x), On-demand Advantage ${dollars(advantagePerGiB)} (${(advantagePerGiB / logwayPerGiB).toFixed(1)}x).`,
  ];
}
