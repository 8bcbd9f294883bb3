/**
 * The trigger API's JSON shapes, as types only (no imports), so that the client shares them
 * without bundling anything of the server.
 */

export type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | { timestamp: number };
export type FunctionResponseType = 'ReportBatchItemFailures';

/** A trigger's definition, as PUT /v1/triggers/{name} takes it (omitted fields take their defaults). */
export interface TriggerInput {
  topic: string;
  /** Name or ARN of the Lambda function. */
  functionName: string;
  /** On create only. Default 'LATEST' (the high watermark when the trigger is created). */
  startingPosition?: StartingPosition;
  /** 1 to 10000, default 100. */
  batchSize?: number;
  /** 0 to 300000, default 0. */
  maximumBatchingWindowMs?: number;
  /** -1 (until success, the default) or 0 to 10000. */
  maximumRetryAttempts?: number;
  /** -1 (no limit, the default) or 60000 to 604800000. */
  maximumRecordAgeMs?: number;
  bisectBatchOnFunctionError?: boolean;
  functionResponseTypes?: FunctionResponseType[];
  onFailure?: { topic: string };
  /** Default true. */
  enabled?: boolean;
}

/** What a PUT defines, after defaults. */
export interface TriggerSpec {
  readonly topic: string;
  readonly functionName: string;
  readonly startingPosition: StartingPosition;
  readonly batchSize: number;
  readonly maximumBatchingWindowMs: number;
  readonly maximumRetryAttempts: number;
  readonly maximumRecordAgeMs: number;
  readonly bisectBatchOnFunctionError: boolean;
  readonly functionResponseTypes: readonly FunctionResponseType[];
  readonly onFailure?: { readonly topic: string };
  readonly enabled: boolean;
}

/** A trigger as the API returns it. */
export interface TriggerView extends TriggerSpec {
  readonly name: string;
  readonly state: 'Enabled' | 'Disabled';
  readonly createdAt: number;
  readonly lastModified: number;
}

export interface TriggerError {
  readonly code: string;
  readonly message: string;
  /** When it happened (ms). */
  readonly at: number;
}

export interface PartitionStatus {
  partition: number;
  /** The next offset to deliver. */
  position: number;
  highWatermark: number | null;
  /** highWatermark - position. */
  lag: number | null;
  /** Failed invocations of the batch at the position (throttles are not counted). */
  attempts: number;
  lastError?: TriggerError;
}

export interface TriggerDescription extends TriggerView {
  partitions: PartitionStatus[];
}

export type TriggerResetTarget = 'earliest' | 'latest' | { timestamp: number } | { offset: number };

export interface ResetTriggerResponse {
  name: string;
  partitions: { partition: number; position: number }[];
}
