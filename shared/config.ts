/**
 * Service defaults: the one place both the CDK stack and the local runtime read them from (topic
 * configs and their defaults are in the registry, shared/topics/configs.ts).
 * Each can be overridden per deployment through the environment variable named beside it.
 */

export const serviceDefaults = {
  /** Batches up to this many encoded bytes live inline in DynamoDB; larger go to S3 (docs/storage.md). */
  inlineBatchMaxBytes: 4 * 1024,
  /** How long a produce response is kept for Idempotency-Key replay. */
  idempotencyTtlHours: 24,
  /** Upper bound of a fetch long poll (docs/api.md: capped at 20 s). */
  maxWaitMs: 20_000,
  /** How often a waiting fetch re-reads the high watermark. */
  longPollIntervalMs: 50,
  defaultMaxRecords: 500,
  defaultMaxBytes: 1_048_576,
  maxMaxBytes: 5 * 1_048_576,
  maxPartitionsPerTopic: 1000,
  sessionTimeoutMs: 45_000,
  minSessionTimeoutMs: 1_000,
  maxSessionTimeoutMs: 300_000,
  heartbeatIntervalMs: 5_000,
  /**
   * Deepest nesting of arrays and objects a JSON request body may have, the envelope included;
   * deeper values overflow the stack of JSON.stringify (docs/api.md, limits).
   */
  maxJsonDepth: 64,
  /** AWS Lambda's synchronous invocation payload limit, request and response. */
  lambdaPayloadLimitBytes: 6 * 1024 * 1024,
} as const;

/** Limits of one request that AWS fixes: not configurable per deployment. */
export const requestLimits = {
  /**
   * DynamoDB transactions take at most 100 items: one idempotency record and two items (partition
   * head, batch index) per partition leave room for 49 partitions per produce request.
   */
  maxPartitionsPerRequest: 49,
} as const;

export type ServiceConfig = { -readonly [K in keyof typeof serviceDefaults]: number };

/** Environment variable that overrides each service setting, e.g. LOGWAY_INLINE_BATCH_MAX_BYTES. */
export function envVarFor(setting: keyof ServiceConfig): string {
  return `LOGWAY_${setting.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/**
 * Settings with an upper bound, and why: an inline batch larger than this would put a chunk item
 * near DynamoDB's 400 KB item limit with its other attributes, found only when the write fails.
 */
const settingMaxima: Partial<Record<keyof ServiceConfig, { readonly max: number; readonly why: string }>> = {
  inlineBatchMaxBytes: { max: 256 * 1024, why: "a chunk holding the batch inline must stay under DynamoDB's 400 KB item limit" },
};

export function loadServiceConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const config = { ...serviceDefaults } as ServiceConfig;
  for (const setting of Object.keys(serviceDefaults) as (keyof ServiceConfig)[]) {
    const raw = env[envVarFor(setting)];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(`${envVarFor(setting)}=${raw} is not a non-negative number`);
    }
    const bound = settingMaxima[setting];
    if (bound && value > bound.max) throw new Error(`${envVarFor(setting)}=${raw} is above ${bound.max}: ${bound.why}`);
    config[setting] = value;
  }
  return config;
}
