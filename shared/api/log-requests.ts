/**
 * The HTTP API's requests to the log, parsed: path parameters, query strings, JSON bodies and
 * headers become the typed inputs of shared/log, which knows nothing of HTTP. Each function is
 * the "parse" of one route's handler (functions/*.ts): parse -> call the log -> respond.
 */
import { invalidRequest } from '../errors';
import type { HttpRequest } from '../http/handler';
import { type FetchParams, fetchQuerySchema, type MultiFetchRequest, multiFetchSchema } from '../log/fetch';
import { requestHash, validateIdempotencyKey } from '../log/idempotency';
import { toRecordBytes } from '../log/json';
import type { OffsetSpec } from '../log/offsets';
import { type ProduceIdempotency, type ProducibleRecord, produceRequestSchema } from '../log/produce';
import { parseRequest } from './validation';

/** The largest partition number a path may name (a topic has at most this many partitions). */
const maxPartitionParameter = 1_000_000;

export function parsePartitionParameter(value: string | undefined): number {
  if (value === undefined || !/^\d+$/.test(value) || Number(value) > maxPartitionParameter) {
    throw invalidRequest(`partition must be a non-negative integer; got '${value ?? ''}'.`, { field: 'partition' });
  }
  return Number(value);
}

export interface ProduceInput {
  readonly topic: string;
  readonly records: ProducibleRecord[];
  readonly idempotency?: ProduceIdempotency;
}

/** POST /v1/topics/{topic}/records: the body's records as bytes, and the Idempotency-Key with the body's hash. */
export function parseProduce(request: HttpRequest): ProduceInput {
  const topic = request.pathParameters.topic!;
  const body = request.json();
  const parsed = parseRequest(produceRequestSchema, body, 'body');
  const key = request.headers['idempotency-key'];
  if (key !== undefined) validateIdempotencyKey(key);
  return {
    topic,
    records: parsed.records.map((record) => ({ ...toRecordBytes(record), partition: record.partition, timestamp: record.timestamp })),
    ...(key !== undefined ? { idempotency: { key, requestHash: requestHash(topic, body) } } : {}),
  };
}

/** GET /v1/topics/{topic}/partitions/{partition}/records */
export function parseFetchRecords(request: HttpRequest): { topic: string; partition: number; params: FetchParams } {
  const partition = parsePartitionParameter(request.pathParameters.partition);
  return { topic: request.pathParameters.topic!, partition, params: parseRequest(fetchQuerySchema(), request.query, 'query') };
}

/** POST /v1/fetch */
export const parseFetchMany = (request: HttpRequest): MultiFetchRequest => parseRequest(multiFetchSchema(), request.json(), 'body');

/** GET /v1/topics/{topic}/partitions/{partition}/offsets?at= (Kafka's ListOffsets spells latest -1 and earliest -2). */
export function parseListOffsets(request: HttpRequest): { topic: string; partition: number; at: OffsetSpec } {
  const partition = parsePartitionParameter(request.pathParameters.partition);
  const at = request.query.at;
  if (at === undefined) throw invalidRequest("at is required: 'earliest', 'latest' or a timestamp in ms.", { field: 'at' });
  if (at === 'earliest' || at === '-2') return { topic: request.pathParameters.topic!, partition, at: 'earliest' };
  if (at === 'latest' || at === '-1') return { topic: request.pathParameters.topic!, partition, at: 'latest' };
  if (!/^\d+$/.test(at) || !Number.isSafeInteger(Number(at))) {
    throw invalidRequest(`at must be 'earliest', 'latest' or a timestamp in ms; got '${at}'.`, { field: 'at' });
  }
  return { topic: request.pathParameters.topic!, partition, at: { timestamp: Number(at) } };
}
