/**
 * The cost model: what AWS would bill for the requests a workload made, computed from the
 * requests themselves (item sizes, transaction rules, payload sizes, handler durations), never
 * from DynamoDB Local's own ConsumedCapacity (which follows different rules; the benchmark
 * reports it beside ours for comparison only).
 *
 * Everything here is pure: no SDK, no emulator, so test/bench/cost.test.ts runs in milliseconds.
 *
 * DynamoDB capacity rules applied (docs: "Read/write capacity units", "Transactions"):
 * - item size = for each attribute, its name's UTF-8 bytes plus its value's size: strings their
 *   UTF-8 bytes, binary its bytes, numbers 1 byte per two significant digits plus 1, booleans and
 *   null 1 byte, lists and maps 3 bytes plus 1 byte per element plus the elements;
 * - a write: 1 WRU per 1 KB (rounded up, at least 1); a transactional write (Put, Update, Delete
 *   or ConditionCheck inside TransactWriteItems): 2 WRU per KB; an UpdateItem (and a failed
 *   conditional write) is sized as the larger of the item before and after, as far as the call
 *   shows it: the images it returned (ALL_NEW, or ALL_OLD on a failed condition, which the caller
 *   passes as the output's `Item`), else its key and the attributes it sets;
 * - a write that adds or changes an item in a global secondary index: 1 WRU per KB of the index
 *   entry (table keys, index keys, projected attributes);
 * - a read: 1 RRU per 4 KB strongly consistent, 0.5 eventually consistent, 2 transactional, at
 *   least one unit even for a missing item; BatchGetItem rounds each item on its own; Query and
 *   Scan round the sum of the items' sizes once.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { tableIds, tables as tableDefinitions, type TableDefinition } from '../shared/storage/tables';
import { prices as defaultPrices, type Prices } from './prices';

export const GiB = 2 ** 30;
const KB = 1024;
const READ_UNIT_BYTES = 4 * KB;

// ---------------------------------------------------------------------------------------------
// Item sizes

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

/** Bytes DynamoDB counts for a number: 1 byte per two significant digits, plus 1. */
export function numberSize(value: number | bigint | string): number {
  // Leading and trailing zeros are trimmed; the exponent of 1e+21-style text is not a digit.
  const mantissa = String(value).replace(/^-/, '').split(/e/i)[0]!;
  const significant = mantissa.replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, significant.length) / 2) + 1;
}

/** Size of one attribute value as the DocumentClient hands it over (native JS). */
export function valueSize(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return utf8(value);
  if (typeof value === 'number' || typeof value === 'bigint') return numberSize(value);
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof ArrayBuffer) return value.byteLength;
  if (value instanceof Set) {
    let size = 0;
    for (const element of value) size += valueSize(element);
    return size;
  }
  if (Array.isArray(value)) {
    let size = 3;
    for (const element of value) size += 1 + valueSize(element);
    return size;
  }
  if (typeof value === 'object') {
    // NumberValue of @aws-sdk/lib-dynamodb keeps the number as text.
    if ('value' in value && Object.keys(value).length === 1 && typeof (value as { value: unknown }).value === 'string') {
      return numberSize((value as { value: string }).value);
    }
    let size = 3;
    for (const [name, element] of Object.entries(value)) {
      if (element === undefined) continue;
      size += 1 + utf8(name) + valueSize(element);
    }
    return size;
  }
  return 0;
}

/** Size of an item: every attribute's name plus its value. */
export function itemSize(item: Readonly<Record<string, unknown>> | undefined): number {
  if (!item) return 0;
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += utf8(name) + valueSize(value);
  }
  return size;
}

// ---------------------------------------------------------------------------------------------
// Capacity units

export type ReadConsistency = 'eventual' | 'strong' | 'transactional';
const readFactor: Record<ReadConsistency, number> = { eventual: 0.5, strong: 1, transactional: 2 };

/** WRU for writing one item of `sizeBytes`. */
export function writeUnits(sizeBytes: number, transactional = false): number {
  return Math.max(1, Math.ceil(sizeBytes / KB)) * (transactional ? 2 : 1);
}

/** RRU for reading one item of `sizeBytes` (0 for a missing item, which still costs one unit). */
export function readUnits(sizeBytes: number, consistency: ReadConsistency): number {
  return Math.max(1, Math.ceil(sizeBytes / READ_UNIT_BYTES)) * readFactor[consistency];
}

/** RRU of a Query or Scan page: the items' sizes are summed, then rounded up to 4 KB once. */
export function queryReadUnits(itemSizes: readonly number[], consistency: ReadConsistency): number {
  const total = itemSizes.reduce((sum, size) => sum + size, 0);
  return Math.max(1, Math.ceil(total / READ_UNIT_BYTES)) * readFactor[consistency];
}

// ---------------------------------------------------------------------------------------------
// One DynamoDB call -> billed units

export interface IndexShape {
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly projected: readonly string[];
}

export interface TableShape {
  readonly keys: readonly string[];
  readonly indexes: readonly IndexShape[];
}

export interface DynamoBill {
  /** Table writes (transactional ones doubled). */
  wru: number;
  /** Global secondary index writes. */
  gsiWru: number;
  rru: number;
  /** Bytes added to storage (items and index entries, each with DynamoDB's 100-byte overhead). */
  storedBytes: number;
}

type Item = Record<string, unknown>;

/**
 * The attributes an UpdateExpression sets (SET and ADD actions), with the value each gets: the
 * largest placeholder in its right-hand side (`if_not_exists(a, :zero)` -> `:zero`).
 */
export function updatedAttributes(
  expression: string,
  names: Readonly<Record<string, string>> = {},
  values: Readonly<Record<string, unknown>> = {},
): Item {
  const result: Item = {};
  const clauses = expression.split(/\b(SET|ADD|REMOVE|DELETE)\b/i);
  for (let i = 1; i < clauses.length; i += 2) {
    const kind = clauses[i]!.toUpperCase();
    const body = clauses[i + 1] ?? '';
    if (kind !== 'SET' && kind !== 'ADD') continue;
    for (const action of splitTopLevel(body)) {
      const match = kind === 'SET' ? /^\s*([^=\s]+)\s*=\s*(.+)$/s.exec(action) : /^\s*(\S+)\s+(.+)$/s.exec(action);
      if (!match) continue;
      const path = match[1]!.replace(/#\w+/g, (placeholder) => names[placeholder] ?? placeholder);
      const placeholders = match[2]!.match(/:\w+/g) ?? [];
      let chosen: unknown;
      for (const placeholder of placeholders) {
        const candidate = values[placeholder];
        if (chosen === undefined || valueSize(candidate) > valueSize(chosen)) chosen = candidate;
      }
      if (chosen !== undefined) result[path] = chosen;
    }
  }
  return result;
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.filter((p) => p.trim().length > 0);
}

/** The entries a written item puts into the table's global secondary indexes. */
function indexEntries(item: Item, shape: TableShape | undefined): Item[] {
  if (!shape) return [];
  const entries: Item[] = [];
  for (const index of shape.indexes) {
    if (item[index.partitionKey] === undefined) continue;
    if (index.sortKey && item[index.sortKey] === undefined) continue;
    const entry: Item = {};
    for (const name of [...shape.keys, index.partitionKey, ...(index.sortKey ? [index.sortKey] : []), ...index.projected]) {
      if (item[name] !== undefined) entry[name] = item[name];
    }
    entries.push(entry);
  }
  return entries;
}

interface WriteRequest {
  readonly table: string;
  /** The item as written (Put), the key plus set attributes (Update), or just the key. */
  readonly item: Item;
  /** Whether it adds a new item to storage (a Put). */
  readonly stores: boolean;
  /** Whether it can write index entries (Put, Update). */
  readonly indexed: boolean;
  /**
   * Bytes billed when more than `item` is known: AWS bills an update (and a failed conditional
   * write) for the larger of the item before and after, which the returned images show.
   */
  readonly billedBytes?: number;
}

/** The largest size among an item as written and the images a call returned (ALL_NEW, ALL_OLD). */
function billedBytesOf(item: Item, ...images: unknown[]): number {
  return Math.max(itemSize(item), ...images.map((image) => (image && typeof image === 'object' ? itemSize(image as Item) : 0)));
}

function billWrite(
  bill: DynamoBill,
  request: WriteRequest,
  transactional: boolean,
  tables: (name: string) => TableShape | undefined,
  committed: boolean,
): void {
  const size = itemSize(request.item);
  bill.wru += writeUnits(Math.max(size, request.billedBytes ?? 0), transactional);
  if (!request.indexed) return;
  for (const entry of indexEntries(request.item, tables(request.table))) {
    const entrySize = itemSize(entry);
    bill.gsiWru += writeUnits(entrySize);
    if (committed && request.stores) bill.storedBytes += entrySize + defaultPrices.dynamodb.storageOverheadBytesPerItem;
  }
  if (committed && request.stores) bill.storedBytes += size + defaultPrices.dynamodb.storageOverheadBytesPerItem;
}

function updateItem(update: {
  Key?: Item;
  UpdateExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Item;
}): Item {
  return {
    ...(update.UpdateExpression
      ? updatedAttributes(update.UpdateExpression, update.ExpressionAttributeNames, update.ExpressionAttributeValues)
      : {}),
    ...update.Key,
  };
}

/**
 * A DynamoDB call that threw, as `billDynamoCall` takes it: a failed condition (or a cancelled
 * transaction) is billed, at the size of the item it failed on when the failure returned it
 * (ReturnValuesOnConditionCheckFailure: ALL_OLD); any other error is not.
 */
export function failedCall(error: unknown): { output: { Item: Item } | undefined; outcome: 'condition-failed' | 'error' } {
  const name = (error as Error).name;
  const failedOn = (error as { Item?: Record<string, AttributeValue> }).Item;
  return {
    output: failedOn ? { Item: unmarshall(failedOn) } : undefined,
    outcome: name === 'TransactionCanceledException' || name === 'ConditionalCheckFailedException' ? 'condition-failed' : 'error',
  };
}

/**
 * Billed units of one DynamoDB call, from its (DocumentClient, native) input and output.
 * `failed` calls that AWS still bills (a failed condition, a cancelled transaction) are billed
 * as attempted; see prices.uncertain.
 */
export function billDynamoCall(
  command: string,
  input: any,
  output: any,
  outcome: 'ok' | 'condition-failed' | 'error',
  tables: (name: string) => TableShape | undefined = () => undefined,
): DynamoBill {
  const bill: DynamoBill = { wru: 0, gsiWru: 0, rru: 0, storedBytes: 0 };
  if (outcome === 'error') return bill;
  const committed = outcome === 'ok';
  const consistency = (consistent: unknown): ReadConsistency => (consistent ? 'strong' : 'eventual');
  switch (command.replace(/Command$/, '')) {
    case 'GetItem':
      bill.rru += readUnits(itemSize(output?.Item), consistency(input.ConsistentRead));
      break;
    case 'Query':
    case 'Scan':
      bill.rru += queryReadUnits(((output?.Items ?? []) as Item[]).map(itemSize), consistency(input.ConsistentRead));
      break;
    case 'BatchGetItem':
      for (const [table, request] of Object.entries(
        (input.RequestItems ?? {}) as Record<string, { Keys?: Item[]; ConsistentRead?: boolean }>,
      )) {
        const returned = ((output?.Responses?.[table] ?? []) as Item[]).map(itemSize);
        const unprocessed = (output?.UnprocessedKeys?.[table]?.Keys ?? []).length as number;
        const missing = Math.max(0, (request.Keys ?? []).length - returned.length - unprocessed);
        for (const size of returned) bill.rru += readUnits(size, consistency(request.ConsistentRead));
        bill.rru += missing * readUnits(0, consistency(request.ConsistentRead));
      }
      break;
    case 'TransactGetItems':
      for (const response of (output?.Responses ?? []) as { Item?: Item }[])
        bill.rru += readUnits(itemSize(response.Item), 'transactional');
      break;
    case 'PutItem': {
      // A failed condition returns the item it met (ReturnValuesOnConditionCheckFailure ALL_OLD).
      const item = input.Item ?? {};
      const billedBytes = billedBytesOf(item, output?.Attributes, output?.Item);
      billWrite(bill, { table: input.TableName, item, stores: true, indexed: true, billedBytes }, false, tables, committed);
      break;
    }
    case 'UpdateItem': {
      // A join of a chunk returns it whole (ALL_NEW; a failed one ALL_OLD): billed at the chunk's size.
      const item = updateItem(input);
      const billedBytes = billedBytesOf(item, output?.Attributes, output?.Item);
      billWrite(bill, { table: input.TableName, item, stores: false, indexed: true, billedBytes }, false, tables, committed);
      break;
    }
    case 'DeleteItem':
      billWrite(bill, { table: input.TableName, item: input.Key ?? {}, stores: false, indexed: false }, false, tables, committed);
      break;
    case 'BatchWriteItem':
      for (const [table, requests] of Object.entries(
        (input.RequestItems ?? {}) as Record<string, { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }[]>,
      )) {
        for (const request of requests) {
          if (request.PutRequest)
            billWrite(bill, { table, item: request.PutRequest.Item, stores: true, indexed: true }, false, tables, committed);
          else if (request.DeleteRequest)
            billWrite(bill, { table, item: request.DeleteRequest.Key, stores: false, indexed: false }, false, tables, committed);
        }
      }
      break;
    case 'TransactWriteItems':
      for (const action of (input.TransactItems ?? []) as any[]) {
        if (action.Put)
          billWrite(
            bill,
            { table: action.Put.TableName, item: action.Put.Item ?? {}, stores: true, indexed: true },
            true,
            tables,
            committed,
          );
        else if (action.Update)
          billWrite(
            bill,
            { table: action.Update.TableName, item: updateItem(action.Update), stores: false, indexed: true },
            true,
            tables,
            committed,
          );
        else if (action.Delete)
          billWrite(
            bill,
            { table: action.Delete.TableName, item: action.Delete.Key ?? {}, stores: false, indexed: false },
            true,
            tables,
            committed,
          );
        else if (action.ConditionCheck)
          billWrite(
            bill,
            { table: action.ConditionCheck.TableName, item: action.ConditionCheck.Key ?? {}, stores: false, indexed: false },
            true,
            tables,
            committed,
          );
      }
      break;
    default:
      // Control-plane and describe calls: no capacity units.
      break;
  }
  return bill;
}

// ---------------------------------------------------------------------------------------------
// Usage of a workload and its price

export interface OperationUsage {
  requests: number;
  wru: number;
  rru: number;
}

export interface DynamoUsage {
  requests: number;
  /** Calls that failed with anything but a condition failure or cancellation (not billed). */
  errors: number;
  /** TransactWriteItems cancelled (condition failed or TransactionConflict); billed as attempted. */
  cancelledTransactions: number;
  wru: number;
  gsiWru: number;
  rru: number;
  /** What DynamoDB Local reported as ConsumedCapacity (its own rules; not billed). */
  reportedCapacityUnits: number;
  storedBytes: number;
  byOperation: Record<string, OperationUsage>;
}

export interface S3Usage {
  putRequests: number;
  getRequests: number;
  otherRequests: number;
  putBytes: number;
  getBytes: number;
}

export interface FunctionUsage {
  invocations: number;
  billedMs: number;
  p50Ms: number;
  p99Ms: number;
}

export interface LambdaUsage {
  invocations: number;
  durationMs: number;
  billedMs: number;
  byFunction: Record<string, FunctionUsage>;
}

export interface ApiGatewayUsage {
  requests: number;
  /** Requests as billed: each counts once per started 512 KB. */
  meteredRequests: number;
  requestBytes: number;
  responseBytes: number;
}

export interface Usage {
  dynamodb: DynamoUsage;
  s3: S3Usage;
  lambda: LambdaUsage;
  apiGateway: ApiGatewayUsage;
}

export function emptyUsage(): Usage {
  return {
    dynamodb: {
      requests: 0,
      errors: 0,
      cancelledTransactions: 0,
      wru: 0,
      gsiWru: 0,
      rru: 0,
      reportedCapacityUnits: 0,
      storedBytes: 0,
      byOperation: {},
    },
    s3: { putRequests: 0, getRequests: 0, otherRequests: 0, putBytes: 0, getBytes: 0 },
    lambda: { invocations: 0, durationMs: 0, billedMs: 0, byFunction: {} },
    apiGateway: { requests: 0, meteredRequests: 0, requestBytes: 0, responseBytes: 0 },
  };
}

/** API Gateway HTTP API requests as metered: one per started 512 KB of the larger direction. */
export function meteredApiRequests(requestBytes: number, responseBytes: number, p: Prices = defaultPrices): number {
  return Math.max(1, Math.ceil(Math.max(requestBytes, responseBytes) / p.apiGateway.meteringIncrementBytes));
}

/** Lambda's billed duration: rounded up to the billing granularity (1 ms). */
export function lambdaBilledMs(durationMs: number, p: Prices = defaultPrices): number {
  const step = p.lambda.billingGranularityMs;
  return Math.max(step, Math.ceil(durationMs / step) * step);
}

export interface CostBreakdown {
  apiGateway: number;
  lambdaRequests: number;
  lambdaCompute: number;
  dynamodbWrites: number;
  dynamodbReads: number;
  s3Requests: number;
  total: number;
}

/** Dollars for a workload's requests (storage is separate: see storagePerMonth). */
export function priceUsage(usage: Usage, p: Prices = defaultPrices): CostBreakdown {
  const gbSeconds = (usage.lambda.billedMs / 1000) * (p.lambda.memoryMb / 1024);
  const cost = {
    apiGateway: (usage.apiGateway.meteredRequests / 1e6) * p.apiGateway.httpApiPerMillionRequests,
    lambdaRequests: (usage.lambda.invocations / 1e6) * p.lambda.perMillionRequests,
    lambdaCompute: gbSeconds * p.lambda.perGbSecondArm64,
    dynamodbWrites: ((usage.dynamodb.wru + usage.dynamodb.gsiWru) / 1e6) * p.dynamodb.perMillionWriteUnits,
    dynamodbReads: (usage.dynamodb.rru / 1e6) * p.dynamodb.perMillionReadUnits,
    s3Requests:
      (usage.s3.putRequests / 1000) * p.s3.perThousandPut + ((usage.s3.getRequests + usage.s3.otherRequests) / 1000) * p.s3.perThousandGet,
  };
  return { ...cost, total: Object.values(cost).reduce((a, b) => a + b, 0) };
}

/** Dollars per month to keep what the workload stored. */
export function storagePerMonth(usage: Usage, p: Prices = defaultPrices): { dynamodb: number; s3: number; total: number } {
  const dynamodb = (usage.dynamodb.storedBytes / GiB) * p.dynamodb.storagePerGbMonth;
  const s3 = (usage.s3.putBytes / GiB) * p.s3.storagePerGbMonth;
  return { dynamodb, s3, total: dynamodb + s3 };
}

// ---------------------------------------------------------------------------------------------
// The same workload on Kinesis Data Streams and MSK Serverless

export interface StreamWorkload {
  /** Records written in the period. */
  readonly records: number;
  /** Payload bytes per record. */
  readonly recordBytes: number;
  /** How long the stream/cluster exists (hours billed). */
  readonly hours: number;
  /** Kafka partitions (MSK) for the topic. */
  readonly partitions: number;
  /** How many times the data is read in full. */
  readonly reads: number;
}

export interface ServiceCost {
  /** Per-GB and per-request charges for writing. */
  readonly ingest: number;
  /** Per-GB charges for reading. */
  readonly retrieval: number;
  /** Hourly charges (stream-hours, shard-hours, cluster- and partition-hours). */
  readonly hourly: number;
  readonly total: number;
  readonly notes: string;
}

const gib = (w: StreamWorkload) => (w.records * w.recordBytes) / GiB;

export function kinesisOnDemandCost(w: StreamWorkload, p: Prices = defaultPrices): ServiceCost {
  const k = p.kinesisOnDemand;
  const billedIn = (w.records * Math.ceil(w.recordBytes / k.recordRoundingBytes) * k.recordRoundingBytes) / GiB;
  const ingest = billedIn * k.perGbIn;
  const retrieval = gib(w) * w.reads * k.perGbOut;
  const hourly = w.hours * k.perStreamHour;
  return { ingest, retrieval, hourly, total: ingest + retrieval + hourly, notes: '1 on-demand stream, shared-throughput consumers' };
}

export function kinesisOnDemandAdvantageCost(w: StreamWorkload, p: Prices = defaultPrices): ServiceCost {
  const k = p.kinesisOnDemandAdvantage;
  const billedIn = (w.records * Math.ceil(w.recordBytes / k.recordRoundingBytes) * k.recordRoundingBytes) / GiB;
  const ingest = billedIn * k.perGbIn;
  const retrieval = gib(w) * w.reads * k.perGbOut;
  return {
    ingest,
    retrieval,
    hourly: 0,
    total: ingest + retrieval,
    notes: 'account-level mode; its minimum throughput commitment not modelled',
  };
}

export function kinesisProvisionedCost(w: StreamWorkload, p: Prices = defaultPrices): ServiceCost {
  const k = p.kinesisProvisioned;
  const seconds = w.hours * 3600;
  const inMBps = (w.records * w.recordBytes) / 1e6 / seconds;
  const shards = Math.max(
    1,
    Math.ceil(inMBps / k.shardWriteMBps),
    Math.ceil(w.records / seconds / k.shardWriteRecordsPerSecond),
    Math.ceil((inMBps * w.reads) / k.shardReadMBps),
  );
  const units = w.records * Math.ceil(w.recordBytes / k.putPayloadUnitBytes);
  const ingest = (units / 1e6) * k.perMillionPutPayloadUnits;
  const hourly = shards * w.hours * k.perShardHour;
  return { ingest, retrieval: 0, hourly, total: ingest + hourly, notes: `${shards} shard(s) sized for the average rate` };
}

export function mskServerlessCost(w: StreamWorkload, p: Prices = defaultPrices): ServiceCost {
  const m = p.mskServerless;
  const ingest = gib(w) * m.perGbIn;
  const retrieval = gib(w) * w.reads * m.perGbOut;
  const hourly = w.hours * (m.perClusterHour + w.partitions * m.perPartitionHour);
  return { ingest, retrieval, hourly, total: ingest + retrieval + hourly, notes: `1 cluster, ${w.partitions} partitions` };
}

// ---------------------------------------------------------------------------------------------
// Layout v2, modelled: what each request costs in DynamoDB by the design (docs/storage.md,
// "Append redesign (layout v2)"), billed with the same rules as the measured calls above. The
// benchmark measures the real requests; this says what they should come to, shape by shape.

/** The billing shape (keys, sparse indexes) of one of the tables of shared/storage/tables.ts. */
export function tableShapeOf(definition: TableDefinition): TableShape {
  return {
    keys: [definition.partitionKey.name, ...(definition.sortKey ? [definition.sortKey.name] : [])],
    indexes: (definition.globalIndexes ?? []).map((index) => ({
      partitionKey: index.partitionKey.name,
      ...(index.sortKey ? { sortKey: index.sortKey.name } : {}),
      projected: index.projectedAttributes,
    })),
  };
}

const modelTables: Record<string, TableShape> = Object.fromEntries(
  tableIds.map((id) => [id, tableShapeOf(tableDefinitions[id] as TableDefinition)]),
);
const modelShapes = (name: string) => modelTables[name];

export interface ModelProduce {
  /** The chunk items the request puts, one per partition, as the append builds them (shared/log/chunk-append.ts `chunkItem`). */
  readonly chunks: readonly Item[];
  /** The claim of the request's Idempotency-Key (a PutItem before the append), when it carries one. */
  readonly claimItem?: Item;
}

export interface ModelUnits {
  /** Table writes (transactional ones doubled). */
  readonly wru: number;
  /** Global secondary index writes (bySegment, for a batch stored in S3). */
  readonly gsiWru: number;
  readonly rru: number;
  readonly dynamoCalls: number;
  readonly s3Puts: number;
  readonly s3Gets: number;
}

/**
 * One uncontended produce request in layout 2: one conditional PutItem of a sealed chunk (one
 * partition, no Idempotency-Key), or a TransactWriteItems of the same Puts plus the idempotency
 * record (several partitions, or a key): 2x. No partition-item write, no time-index entry; the
 * bySegment index gets an entry only for a chunk whose batch is in S3 (one segment object per
 * request). The head is cached (a writer re-reads it at most once a minute): nothing is read.
 */
export function layoutV2ProduceUnits(request: ModelProduce): ModelUnits {
  const puts = request.chunks.map((Item) => ({ TableName: 'chunks', Item }));
  const s3Puts = request.chunks.some((chunk) => chunk.segmentKey !== undefined) ? 1 : 0;
  const append =
    puts.length > 1
      ? billDynamoCall('TransactWriteItems', { TransactItems: puts.map((put) => ({ Put: put })) }, {}, 'ok', modelShapes)
      : billDynamoCall('PutItem', puts[0]!, {}, 'ok', modelShapes);
  const claim = request.claimItem
    ? billDynamoCall('PutItem', { TableName: 'idempotency', Item: request.claimItem }, {}, 'ok', modelShapes)
    : { wru: 0, gsiWru: 0 };
  return {
    wru: append.wru + claim.wru,
    gsiWru: append.gsiWru + claim.gsiWru,
    rru: 0,
    dynamoCalls: request.claimItem ? 2 : 1,
    s3Puts,
    s3Gets: 0,
  };
}

/** Bytes of the topic item and of a partition item (log start, released bytes, compaction marks) as read. */
const modelTopicItemBytes = 300;
const modelPartitionItemBytes = 120;

/**
 * One fetch in layout 2 of `chunkBytes` (the whole sizes of the chunks it reads, in order; the
 * first holds the offset): the topic (GetItem) and the head (the partition item's GetItem and a
 * Query of the last chunk), then the chunk at or before the offset (Query, Limit 1) and the
 * chunks after it (one Query per 1 MB page), all strongly consistent. A Query is billed on the
 * whole items it reads, whatever its projection. `lastChunkBytes`: the size of the partition's
 * last chunk (a sealed 1-record chunk is ~1.3 KB; an open chunk up to its 32 KiB cap).
 */
export function layoutV2FetchUnits(chunkBytes: readonly number[], lastChunkBytes: number, s3Gets = 0): ModelUnits {
  const [first = 0, ...after] = chunkBytes;
  let rru = readUnits(modelTopicItemBytes, 'strong') + readUnits(modelPartitionItemBytes, 'strong');
  rru += queryReadUnits([lastChunkBytes], 'strong') + queryReadUnits([first], 'strong');
  let calls = 4;
  // Pages of at most 1 MB; the first page may be empty (nothing after the first chunk).
  const pages: number[][] = [[]];
  let pageBytes = 0;
  for (const size of after) {
    if (pageBytes + size > 1_048_576 && pages.at(-1)!.length > 0) {
      pages.push([]);
      pageBytes = 0;
    }
    pages.at(-1)!.push(size);
    pageBytes += size;
  }
  for (const page of pages) {
    rru += queryReadUnits(page, 'strong');
    calls++;
  }
  return { wru: 0, gsiWru: 0, rru, dynamoCalls: calls, s3Puts: 0, s3Gets };
}

/**
 * One poll of a waiting fetch in layout 2, per partition (shared/log/partition-heads.ts
 * `pollHead`): once the last chunk is final, a key-only Query for a chunk after it, billed at the
 * minimum (1 RRU) while there is none; while it is still joinable (open, within its join window)
 * or is a fence, a re-read of the last chunk, billed on the whole chunk (`lastChunkBytes`).
 */
export function layoutV2PollUnits(lastChunk: 'final' | { readonly rereadBytes: number }): ModelUnits {
  const rru = lastChunk === 'final' ? queryReadUnits([], 'strong') : queryReadUnits([lastChunk.rereadBytes], 'strong');
  return { wru: 0, gsiWru: 0, rru, dynamoCalls: 1, s3Puts: 0, s3Gets: 0 };
}

/** Dollars per million requests of what Lambda and API Gateway add to a request's DynamoDB and S3 units. */
export interface ModelFront {
  /** Handler time per request (billed at the functions' memory). */
  readonly lambdaMs: number;
  /** API Gateway requests as metered (512 KB steps of the larger of request and response). */
  readonly apiUnits: number;
}

export interface ModelCost {
  readonly apiGateway: number;
  readonly lambda: number;
  readonly dynamodb: number;
  readonly s3: number;
  readonly total: number;
}

/** Dollars per million requests of the given units. */
export function perMillionRequests(units: ModelUnits, front: ModelFront, p: Prices = defaultPrices): ModelCost {
  const apiGateway = front.apiUnits * p.apiGateway.httpApiPerMillionRequests;
  const lambda =
    p.lambda.perMillionRequests + 1e6 * (lambdaBilledMs(front.lambdaMs, p) / 1000) * (p.lambda.memoryMb / 1024) * p.lambda.perGbSecondArm64;
  const dynamodb = (units.wru + units.gsiWru) * p.dynamodb.perMillionWriteUnits + units.rru * p.dynamodb.perMillionReadUnits;
  const s3 = units.s3Puts * 1000 * p.s3.perThousandPut + units.s3Gets * 1000 * p.s3.perThousandGet;
  return { apiGateway, lambda, dynamodb, s3, total: apiGateway + lambda + dynamodb + s3 };
}

/** A workload shape for the per-GiB model: 1 KiB records, produced and fetched in these sizes. */
export interface ModelShape {
  readonly recordsPerRequest: number;
  /** The chunk one request puts (shared/log/chunk-append.ts `chunkItem`). */
  readonly chunk: Item;
  /** HTTP bytes of one produce request and of one fetch response (API Gateway meters the larger per 512 KB). */
  readonly produceRequestBytes: number;
  readonly fetchResponseBytes: number;
  /** Records one fetch returns (its maxBytes over the record size). */
  readonly recordsPerFetch: number;
  readonly produceLambdaMs: number;
  readonly fetchLambdaMs: number;
}

export interface ModelPerGiB {
  readonly produceRequests: number;
  readonly fetches: number;
  /** Dollars to produce 1 GiB of 1 KiB records, and to fetch it once. */
  readonly produce: ModelCost;
  readonly fetch: ModelCost;
  readonly total: number;
}

const scaled = (cost: ModelCost, requests: number): ModelCost => ({
  apiGateway: (cost.apiGateway * requests) / 1e6,
  lambda: (cost.lambda * requests) / 1e6,
  dynamodb: (cost.dynamodb * requests) / 1e6,
  s3: (cost.s3 * requests) / 1e6,
  total: (cost.total * requests) / 1e6,
});

/**
 * Dollars per GiB of 1 KiB records written once and read once, in layout 2, uncontended, one
 * partition per request, no Idempotency-Key: each request one chunk; each fetch reads the chunks
 * holding its records (and one ranged GET per batch in S3). No hourly charge; storage extra.
 */
export function layoutV2PerGiB(shape: ModelShape, p: Prices = defaultPrices): ModelPerGiB {
  const records = GiB / 1024;
  const inS3 = shape.chunk.segmentKey !== undefined;
  const produceRequests = records / shape.recordsPerRequest;
  const produce = perMillionRequests(
    layoutV2ProduceUnits({ chunks: [shape.chunk] }),
    { lambdaMs: shape.produceLambdaMs, apiUnits: meteredApiRequests(shape.produceRequestBytes, 0, p) },
    p,
  );
  const fetches = records / shape.recordsPerFetch;
  const chunkBytes = itemSize(shape.chunk);
  const chunksPerFetch = Math.max(1, Math.ceil(shape.recordsPerFetch / shape.recordsPerRequest));
  const fetchUnits = layoutV2FetchUnits(
    Array.from({ length: chunksPerFetch }, () => chunkBytes),
    chunkBytes,
    inS3 ? chunksPerFetch : 0,
  );
  const fetch = perMillionRequests(
    fetchUnits,
    { lambdaMs: shape.fetchLambdaMs, apiUnits: meteredApiRequests(0, shape.fetchResponseBytes, p) },
    p,
  );
  const producePerGiB = scaled(produce, produceRequests);
  const fetchPerGiB = scaled(fetch, fetches);
  return { produceRequests, fetches, produce: producePerGiB, fetch: fetchPerGiB, total: producePerGiB.total + fetchPerGiB.total };
}
