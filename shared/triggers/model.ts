/**
 * Triggers: Logway's event source mappings. A trigger reads a topic as a consumer and invokes a
 * Lambda function with batches of its records. This module holds the definition's shape, its
 * request schemas (which validate PUT and reset bodies and generate the OpenAPI document), the
 * defaults, and the errors. Pure: no I/O.
 */
import { z } from 'zod';
import { schemaOnce } from '../api/validation';
import { invalidRequest } from '../errors';
import { groupIdPattern, topicNamePattern } from '../topics/model';

/** A trigger is named as a consumer group is. */
export const triggerNamePattern = groupIdPattern;

export const triggerDefaults = {
  batchSize: 100,
  maximumBatchingWindowMs: 0,
  maximumRetryAttempts: -1,
  maximumRecordAgeMs: -1,
  bisectBatchOnFunctionError: false,
  enabled: true,
} as const;

export const triggerLimits = {
  batchSize: { min: 1, max: 10_000 },
  maximumBatchingWindowMs: { min: 0, max: 300_000 },
  maximumRetryAttempts: { min: 0, max: 10_000 },
  maximumRecordAgeMs: { min: 60_000, max: 604_800_000 },
} as const;

import type { StartingPosition, TriggerSpec, TriggerView } from './json';

export type { FunctionResponseType, StartingPosition, TriggerSpec, TriggerView } from './json';

/** The stored definition item. */
export interface TriggerDefinition extends TriggerSpec {
  readonly name: string;
  /** The topic's id when the trigger was created: a deleted (or deleted and re-created) topic is not this one. */
  readonly topicId: string;
  /** Per partition, where delivery starts (resolved from startingPosition at creation). */
  readonly initialPositions: readonly number[];
  /** A fresh id per creation: state of a deleted trigger of the same name never applies. */
  readonly incarnation: string;
  readonly createdAt: number;
  readonly lastModified: number;
  readonly version: number;
}

export function triggerView(definition: TriggerDefinition): TriggerView {
  const { topicId: _id, initialPositions: _initial, incarnation: _incarnation, version: _version, ...spec } = definition;
  return { ...spec, state: definition.enabled ? 'Enabled' : 'Disabled' };
}

const topicName = () => z.string().regex(topicNamePattern, 'must be a topic name: 1 to 249 of [a-zA-Z0-9._-]');
const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** A Lambda function name, partial or full ARN, optionally with a qualifier (Lambda's own pattern). */
export const functionNamePattern =
  /^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?$/;

function buildPutTriggerSchema() {
  const { batchSize, maximumBatchingWindowMs, maximumRetryAttempts, maximumRecordAgeMs } = triggerLimits;
  return z.strictObject({
    topic: topicName().describe('The topic whose records the function receives'),
    functionName: z
      .string()
      .min(1)
      .max(170)
      .regex(functionNamePattern, 'must be a Lambda function name or ARN')
      .describe('Name or ARN of the Lambda function to invoke'),
    startingPosition: z
      .union([z.enum(['TRIM_HORIZON', 'LATEST']), z.strictObject({ timestamp: int(0, Number.MAX_SAFE_INTEGER) })])
      .optional()
      .describe(
        "Where delivery starts, on create only: 'TRIM_HORIZON' (the oldest record kept), 'LATEST' (the high watermark when the trigger is created; the default) or {timestamp} (the first record at or after it)",
      ),
    batchSize: int(batchSize.min, batchSize.max)
      .optional()
      .describe(`Most records per invocation (default ${triggerDefaults.batchSize}); fewer when 6 MB would be exceeded`),
    maximumBatchingWindowMs: int(maximumBatchingWindowMs.min, maximumBatchingWindowMs.max)
      .optional()
      .describe('How long to gather records before invoking with fewer than batchSize (default 0: at once)'),
    maximumRetryAttempts: z
      .number()
      .int()
      .refine((n) => n === -1 || (n >= maximumRetryAttempts.min && n <= maximumRetryAttempts.max), {
        message: `must be -1 (retry until success or record age) or ${maximumRetryAttempts.min} to ${maximumRetryAttempts.max}`,
      })
      .optional()
      .describe('Retries of a failed batch before its records go to onFailure (default -1: until success)'),
    maximumRecordAgeMs: z
      .number()
      .int()
      .refine((n) => n === -1 || (n >= maximumRecordAgeMs.min && n <= maximumRecordAgeMs.max), {
        message: `must be -1 (no limit) or ${maximumRecordAgeMs.min} to ${maximumRecordAgeMs.max}`,
      })
      .optional()
      .describe('Records appended longer ago than this are not delivered but sent to onFailure (default -1: no limit)'),
    bisectBatchOnFunctionError: z.boolean().optional().describe('Split a failed batch in two and retry each half (default false)'),
    functionResponseTypes: z
      .array(z.literal('ReportBatchItemFailures'))
      .max(1)
      .optional()
      .describe("['ReportBatchItemFailures'] to let the function return the records that failed"),
    onFailure: z
      .strictObject({ topic: topicName().describe('Topic that receives records whose retries or age ran out') })
      .optional()
      .describe('Where records go when their retries or age run out; without it the partition waits'),
    enabled: z.boolean().optional().describe('Deliver (default true); false pauses delivery'),
  });
}

export const putTriggerSchema = schemaOnce(buildPutTriggerSchema);

export type PutTriggerRequest = z.output<ReturnType<typeof buildPutTriggerSchema>>;

function buildResetTriggerSchema() {
  return z.strictObject({
    partition: int(0, 999_999).optional().describe('Only this partition (default: every partition)'),
    to: z
      .union([
        z.enum(['earliest', 'latest']),
        z.strictObject({ timestamp: int(0, Number.MAX_SAFE_INTEGER) }),
        z.strictObject({ offset: int(0, Number.MAX_SAFE_INTEGER) }),
      ])
      .describe(
        "'earliest', 'latest', {timestamp}: the first record at or after it (the end when none), or {offset}: clamped to the partition's range",
      ),
  });
}

export const resetTriggerSchema = schemaOnce(buildResetTriggerSchema);

export type ResetTriggerRequest = z.output<ReturnType<typeof buildResetTriggerSchema>>;

/** The spec a PUT body stands for: omitted fields take their defaults. */
export function specFromRequest(request: PutTriggerRequest, existing?: TriggerSpec): TriggerSpec {
  return {
    topic: request.topic,
    functionName: request.functionName,
    startingPosition: request.startingPosition ?? existing?.startingPosition ?? 'LATEST',
    batchSize: request.batchSize ?? triggerDefaults.batchSize,
    maximumBatchingWindowMs: request.maximumBatchingWindowMs ?? triggerDefaults.maximumBatchingWindowMs,
    maximumRetryAttempts: request.maximumRetryAttempts ?? triggerDefaults.maximumRetryAttempts,
    maximumRecordAgeMs: request.maximumRecordAgeMs ?? triggerDefaults.maximumRecordAgeMs,
    bisectBatchOnFunctionError: request.bisectBatchOnFunctionError ?? triggerDefaults.bisectBatchOnFunctionError,
    functionResponseTypes: request.functionResponseTypes ?? [],
    ...(request.onFailure ? { onFailure: { topic: request.onFailure.topic } } : {}),
    enabled: request.enabled ?? triggerDefaults.enabled,
  };
}

const sameStartingPosition = (a: StartingPosition, b: StartingPosition) => JSON.stringify(a) === JSON.stringify(b);

/** A PUT may not change what was fixed at creation. */
export function checkImmutable(existing: TriggerSpec, request: PutTriggerRequest): void {
  if (request.topic !== existing.topic) {
    throw invalidRequest(`topic: a trigger's topic cannot change (it is '${existing.topic}'); delete the trigger and create it again.`, {
      field: 'topic',
    });
  }
  if (request.startingPosition !== undefined && !sameStartingPosition(request.startingPosition, existing.startingPosition)) {
    throw invalidRequest(
      `startingPosition: it applies on creation only (it is ${JSON.stringify(existing.startingPosition)}); to move a trigger's position, disable it and POST /v1/triggers/{name}/reset.`,
      { field: 'startingPosition' },
    );
  }
}

export function validateTriggerName(name: string): void {
  if (!triggerNamePattern.test(name)) {
    throw invalidRequest(`Trigger name '${name.slice(0, 300)}' is illegal: use 1 to 255 of [a-zA-Z0-9._-].`, { field: 'name' });
  }
}

/** The function part of a name or ARN (`arn:aws:lambda:r:a:function:name:qualifier` → `name`). */
export function functionBaseName(functionName: string): string {
  const match = functionNamePattern.exec(functionName);
  return match?.[7] ?? functionName;
}
