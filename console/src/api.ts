/**
 * The console's calls to the Logway HTTP API, on the page's own origin (the local gateway, or the
 * `logway console` proxy that signs them). Every failure becomes an ApiError carrying the API's
 * own code and message, so the page can show it as the API words it.
 */
import type { FetchedRecord } from './format';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const isApiError = (error: unknown): error is ApiError => error instanceof ApiError;

/** An `{error:{code,message}}` body, API Gateway's own `{message}`, or whatever else came back. */
export function errorFromResponse(status: number, statusText: string, text: string): ApiError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (body && typeof body === 'object') {
    const error = (body as { error?: unknown }).error;
    if (error && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'string') {
      const { code, message, ...details } = error as { code: string; message?: unknown };
      return new ApiError(status, code, typeof message === 'string' ? message : '', details);
    }
    const message = (body as { message?: unknown }).message;
    if (typeof message === 'string') return new ApiError(status, `HTTP_${status}`, message);
  }
  return new ApiError(status, `HTTP_${status}`, text.trim().slice(0, 500) || statusText || 'The API answered without a body.');
}

export async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, 'NETWORK_ERROR', `Could not reach the Logway API (${(error as Error).message}). Is the service still running?`);
  }
  const text = await response.text();
  if (!response.ok) throw errorFromResponse(response.status, response.statusText, text);
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(
      response.status,
      'INVALID_RESPONSE',
      `The API answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
    );
  }
}

const enc = encodeURIComponent;

export type ConfigValue = string | number;

export interface TopicDescription {
  name: string;
  topicId: string;
  config: Record<string, ConfigValue>;
  /** `sizeBytes` when the service reports it. */
  partitions: { partition: number; logStartOffset: number; highWatermark: number; sizeBytes?: number }[];
}

export interface FetchResult {
  records: FetchedRecord[];
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
}

export interface ManyResult {
  topic: string;
  partition: number;
  records?: FetchedRecord[];
  nextOffset?: number;
  highWatermark?: number;
  logStartOffset?: number;
  error?: { code: string; message: string };
}

export interface GroupListing {
  groupId: string;
  state: string;
  memberCount: number;
}

export interface GroupDescription {
  groupId: string;
  state: string;
  groupEpoch: number;
  assignmentEpoch: number;
  members: {
    memberId: string;
    memberEpoch: number;
    subscribedTopics: string[];
    assignment: Record<string, number[]>;
    pendingRevocation: Record<string, number[]>;
    targetAssignment: Record<string, number[]>;
    sessionTimeoutMs: number;
    lastHeartbeat: number;
    joinedAt: number;
  }[];
  partitions: {
    topic: string;
    partition: number;
    memberId: string | null;
    committedOffset: number | null;
    highWatermark: number | null;
    logStartOffset: number | null;
    lag: number | null;
  }[];
}

export type ResetTarget = 'earliest' | 'latest' | { timestamp: number } | { offset: number };

export interface Trigger {
  name: string;
  topic?: string;
  functionName?: string;
  enabled?: boolean;
  state?: string;
  status?: string;
  [field: string]: unknown;
}

export interface TriggerDescription extends Trigger {
  partitions: { partition: number; position: number; highWatermark: number; lag: number; lastError?: unknown }[];
}

export interface ProduceRecord {
  key?: string;
  value?: string;
  /** Bytes that are not text. */
  valueBase64?: string;
  headers?: { key: string; value: string }[];
  partition?: number;
}

export const logway = {
  listTopics: () => call<{ topics: { name: string; partitions: number }[] }>('GET', '/v1/topics'),
  describeTopic: (name: string) => call<TopicDescription>('GET', `/v1/topics/${enc(name)}`),
  createTopic: (body: { name: string; partitions?: number; config?: Record<string, ConfigValue> }) =>
    call<TopicDescription>('POST', '/v1/topics', body),
  alterTopic: (name: string, body: { partitions?: number; config?: Record<string, ConfigValue> }) =>
    call<TopicDescription>('PATCH', `/v1/topics/${enc(name)}`, body),
  deleteTopic: (name: string) => call<void>('DELETE', `/v1/topics/${enc(name)}`),
  produce: (topic: string, records: ProduceRecord[]) =>
    call<{ offsets: { partition: number; offset: number; timestamp: number }[] }>('POST', `/v1/topics/${enc(topic)}/records`, { records }),
  fetch: (topic: string, partition: number, offset: number, maxRecords: number, signal?: AbortSignal) =>
    call<FetchResult>(
      'GET',
      `/v1/topics/${enc(topic)}/partitions/${partition}/records?offset=${offset}&maxRecords=${maxRecords}`,
      undefined,
      signal,
    ),
  fetchMany: (
    partitions: { topic: string; partition: number; offset: number }[],
    options: { maxRecords: number; waitMs?: number },
    signal?: AbortSignal,
  ) => call<{ results: ManyResult[] }>('POST', '/v1/fetch', { partitions, ...options }, signal),
  offsetAt: (topic: string, partition: number, at: 'earliest' | 'latest' | number) =>
    call<{ offset: number | null }>('GET', `/v1/topics/${enc(topic)}/partitions/${partition}/offsets?at=${at}`),
  listGroups: () => call<{ groups: GroupListing[] }>('GET', '/v1/groups'),
  describeGroup: (id: string) => call<GroupDescription>('GET', `/v1/groups/${enc(id)}`),
  resetOffsets: (id: string, topic: string, to: ResetTarget) =>
    call<{ groupId: string; topic: string; offsets: { partition: number; offset: number }[] }>(
      'POST',
      `/v1/groups/${enc(id)}/reset-offsets`,
      {
        topic,
        to,
      },
    ),
  deleteGroup: (id: string) => call<void>('DELETE', `/v1/groups/${enc(id)}`),
  listTriggers: () => call<{ triggers: Trigger[] }>('GET', '/v1/triggers'),
  describeTrigger: (name: string) => call<TriggerDescription>('GET', `/v1/triggers/${enc(name)}`),
  openapi: () => call<OpenApiDocument>('GET', '/v1/openapi.json'),
};

export interface JsonSchema {
  type?: string;
  enum?: string[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  description?: string;
}

interface OpenApiDocument {
  paths?: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
}

export interface ConfigField {
  name: string;
  /** Allowed values, for configs that are an enumeration. */
  choices?: string[];
  numeric: boolean;
}

/**
 * The topic configs a topic may be created with, read from the service's own OpenAPI document
 * (the schema that validates `POST /v1/topics`), so the form offers exactly what the API accepts.
 */
export async function topicConfigFields(): Promise<ConfigField[]> {
  const doc = await logway.openapi();
  const schema = doc.paths?.['/v1/topics']?.post?.requestBody?.content?.['application/json']?.schema;
  const config = schema?.properties?.config?.properties ?? {};
  return Object.entries(config).map(([name, field]) => {
    const choices = field.enum ?? field.anyOf?.find((s) => s.enum)?.enum;
    const numeric =
      field.type === 'number' || field.type === 'integer' || (field.anyOf ?? []).some((s) => s.type === 'number' || s.type === 'integer');
    return { name, numeric, ...(choices ? { choices } : {}) };
  });
}
