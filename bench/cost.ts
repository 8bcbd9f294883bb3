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
 *   or ConditionCheck inside TransactWriteItems): 2 WRU per KB;
 * - a write that adds or changes an item in a global secondary index: 1 WRU per KB of the index
 *   entry (table keys, index keys, projected attributes);
 * - a read: 1 RRU per 4 KB strongly consistent, 0.5 eventually consistent, 2 transactional, at
 *   least one unit even for a missing item; BatchGetItem rounds each item on its own; Query and
 *   Scan round the sum of the items' sizes once.
 */
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
}

function billWrite(
  bill: DynamoBill,
  request: WriteRequest,
  transactional: boolean,
  tables: (name: string) => TableShape | undefined,
  committed: boolean,
): void {
  const size = itemSize(request.item);
  bill.wru += writeUnits(size, transactional);
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
    case 'PutItem':
      billWrite(bill, { table: input.TableName, item: input.Item ?? {}, stores: true, indexed: true }, false, tables, committed);
      break;
    case 'UpdateItem':
      billWrite(bill, { table: input.TableName, item: updateItem(input), stores: false, indexed: true }, false, tables, committed);
      break;
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
