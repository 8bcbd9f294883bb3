/**
 * The us-east-1 prices the benchmark's cost model uses, with the date they were taken and where
 * from. Prices change: update `asOf` and the figures together, and keep `uncertain` honest.
 *
 * Units are dollars. "GB" in AWS price lists is 2^30 bytes for the per-GB charges used here.
 */
import { defaultFunctionMemoryMB } from '../infra/function-defaults';

export interface PriceSource {
  readonly service: string;
  readonly url: string;
}

export const prices = {
  /** When these figures were read from the pages below (and checked against the brief). */
  asOf: '2026-11-24',
  region: 'us-east-1',
  sources: [
    { service: 'DynamoDB on-demand', url: 'https://aws.amazon.com/dynamodb/pricing/on-demand/' },
    {
      service: 'DynamoDB capacity rules',
      url: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html',
    },
    { service: 'DynamoDB transactions', url: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html' },
    { service: 'S3', url: 'https://aws.amazon.com/s3/pricing/' },
    { service: 'Lambda', url: 'https://aws.amazon.com/lambda/pricing/' },
    { service: 'API Gateway', url: 'https://aws.amazon.com/api-gateway/pricing/' },
    { service: 'Kinesis Data Streams', url: 'https://aws.amazon.com/kinesis/data-streams/pricing/' },
    { service: 'MSK Serverless', url: 'https://aws.amazon.com/msk/pricing/' },
  ] satisfies PriceSource[],

  dynamodb: {
    /** On-demand, per write request unit (price cut of November 2024). */
    perMillionWriteUnits: 0.625,
    perMillionReadUnits: 0.125,
    /** Standard table class; the first 25 GB-month are free (ignored here). */
    storagePerGbMonth: 0.25,
    /** Storage overhead DynamoDB adds to every item and every index entry. */
    storageOverheadBytesPerItem: 100,
  },
  s3: {
    /** PUT, COPY, POST, LIST requests (S3 Standard). */
    perThousandPut: 0.005,
    /** GET, SELECT and all other requests. */
    perThousandGet: 0.0004,
    /** S3 Standard, first 50 TB. */
    storagePerGbMonth: 0.023,
  },
  lambda: {
    /** arm64 (Graviton), first 7.5 billion GB-s per month. */
    perGbSecondArm64: 0.0000133334,
    perMillionRequests: 0.2,
    /** Logway's functions: the stack's default (infra/function-defaults.ts). */
    memoryMb: defaultFunctionMemoryMB,
    /** Billed duration is rounded up to this. */
    billingGranularityMs: 1,
  },
  apiGateway: {
    /** HTTP API, first 300 million requests per month. */
    httpApiPerMillionRequests: 1.0,
    /** HTTP API requests are metered in 512 KB increments (a 513 KB request counts as two). */
    meteringIncrementBytes: 512 * 1024,
  },
  kinesisOnDemand: {
    perStreamHour: 0.04,
    /** Data in, each record's size rounded up to the next 1 KB (1024 bytes). */
    perGbIn: 0.08,
    /** Data retrieved by shared-throughput consumers. */
    perGbOut: 0.04,
    /** Enhanced fan-out retrieval (each EFO consumer), on-demand mode. */
    perGbOutEnhancedFanOut: 0.05,
    recordRoundingBytes: 1024,
    /** Default write capacity of a new on-demand stream; it scales up from its recent peak. */
    initialWriteMBps: 4,
    initialWriteRecordsPerSecond: 4000,
  },
  /**
   * On-demand Advantage: an account-level mode with no per-stream hourly charge and data ingest and
   * retrieval "at least 60% lower than that of On-demand Standard"
   * (docs.aws.amazon.com/streams/latest/dev/how-do-i-size-a-stream.html), against an account-wide
   * minimum throughput commitment (AWS: cost-effective from about 10 MiB/s in aggregate). Priced
   * here at exactly 60% off, an upper bound; the commitment is not modelled.
   */
  kinesisOnDemandAdvantage: {
    perGbIn: 0.08 * 0.4,
    perGbOut: 0.04 * 0.4,
    recordRoundingBytes: 1024,
  },
  kinesisProvisioned: {
    perShardHour: 0.015,
    /** One PUT payload unit per 25 KB chunk of a record. */
    perMillionPutPayloadUnits: 0.014,
    putPayloadUnitBytes: 25 * 1024,
    /** Per shard: 1 MB/s or 1000 records/s in, 2 MB/s out. */
    shardWriteMBps: 1,
    shardWriteRecordsPerSecond: 1000,
    shardReadMBps: 2,
  },
  mskServerless: {
    perClusterHour: 0.75,
    perPartitionHour: 0.0015,
    perGbIn: 0.1,
    perGbOut: 0.05,
    storagePerGbMonth: 0.1,
  },

  /**
   * What this table is unsure of. Each is a judgement the cost model makes; the docs say which way
   * it leans.
   */
  uncertain: [
    'DynamoDB: whether a cancelled TransactWriteItems (failed condition or TransactionConflict) is billed. The model bills it like a committed one (an upper bound), and reports the cancelled count separately.',
    'DynamoDB: a ConditionCheck in a transaction is billed as a transactional write (2 WRU per KB of the checked item), as the brief states and docs/storage.md assumes; the model sizes the checked item by its key. Appends have none since the topic check was removed; offset commits check the group item, which with many members may exceed 1 KB and is then under-billed.',
    'DynamoDB: global secondary index writes caused by a transactional Put are billed as standard writes (1 WRU per KB of the index entry), not doubled. In layout 2 only a chunk holding a batch stored in S3 has an index entry (bySegment).',
    "DynamoDB: AWS bills an UpdateItem (and a failed conditional write) for the larger of the item before and after. The model sees the images only when the call returns them (a chunk join asks for ALL_NEW, a failed condition for ALL_OLD, which the caller passes as the output's Item); otherwise it sizes an update as its key plus the attributes it sets, which under-bills an update of a large item.",
    'DynamoDB: a Query is billed on the whole items it reads, whatever its ProjectionExpression; the measured calls are billed on the items returned, so a projected Query (the head read of the last chunk, header only) is under-billed when the chunk holds more than 4 KB. The layout-2 model (bench/model.ts) bills whole chunks.',
    'API Gateway: the 512 KB metering increment is applied to the larger of the request and the response; AWS does not say whether responses count.',
    'Kinesis on-demand: whether the partition key counts toward the 1 KB rounding; the comparison bills a 1 KiB record as 1 KB (if the key counts, a 1 KiB value plus its key is billed as 2 KB and the ingest charge doubles). On-demand Advantage is priced at 60% off Standard (AWS says "at least 60% lower") with no stream-hour charge; its account-wide minimum throughput commitment is not modelled, so at low volume it costs more than shown.',
    'MSK Serverless: storage at $0.10 per GB-month is from memory of the price page, not re-checked.',
    'All: free tiers, CloudWatch Logs (Lambda log lines and EMF metrics, $0.50 per GB ingested), data transfer out of the region and KMS are not modelled.',
  ],
} as const;

export type Prices = typeof prices;
