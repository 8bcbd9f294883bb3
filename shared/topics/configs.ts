/**
 * The topic config registry: every Kafka topic config Logway honours, with its schema, default,
 * documentation and the code that honours it. Validation (create and alter), the effective config
 * of a topic, the OpenAPI document and docs/api.md all come from here; a config that is not in the
 * registry is refused as unknown.
 */
import { z } from 'zod';

/** Kafka configs travel as strings; JSON users send numbers. Both are accepted. */
const longConfig = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .union([
      z.number(),
      z
        .string()
        .regex(/^-?\d+$/)
        .transform(Number),
    ])
    .pipe(z.number().int().min(min).max(max));

export const compressionTypes = ['producer', 'none', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export const cleanupPolicies = ['delete', 'compact', 'compact,delete', 'delete,compact'] as const;
export const timestampTypes = ['CreateTime', 'LogAppendTime'] as const;

/** The largest record a topic may allow: one record must fit in a produce request, which Lambda caps at 6 MB with JSON overhead. */
export const maxMaxMessageBytes = 5 * 1024 * 1024;

interface TopicConfigEntry<S extends z.ZodType> {
  readonly schema: S;
  readonly default: z.output<S>;
  readonly doc: string;
  /** Where the config takes effect, for a reader who wants to know what a value changes. */
  readonly honouredBy: string;
}

const entry = <S extends z.ZodType>(e: TopicConfigEntry<S>) => e;

export const topicConfigRegistry = {
  'retention.ms': entry({
    schema: longConfig(-1),
    default: 7 * 24 * 60 * 60 * 1000,
    doc: 'How long records are kept, by their timestamp; -1 keeps them forever. Applies when cleanup.policy includes delete.',
    honouredBy: 'the retention sweep (shared/log/retention.ts)',
  }),
  'retention.bytes': entry({
    schema: longConfig(-1),
    default: -1,
    doc: 'Bytes of record batches a partition keeps before the oldest are deleted; -1 is unlimited. Applies when cleanup.policy includes delete.',
    honouredBy: 'the retention sweep (shared/log/retention.ts)',
  }),
  'max.message.bytes': entry({
    schema: longConfig(0, maxMaxMessageBytes),
    default: 1_048_576,
    doc: `The largest record (key, value and headers) a producer may append, at most ${maxMaxMessageBytes} bytes.`,
    honouredBy: 'produce (shared/log/produce.ts)',
  }),
  'cleanup.policy': entry({
    schema: z.enum(cleanupPolicies),
    default: 'delete',
    doc: 'delete: drop records past retention; compact: keep the latest record per key; both: compact, then apply retention.',
    honouredBy: 'the retention sweep and compaction (shared/log/retention.ts, shared/log/compaction.ts)',
  }),
  'compression.type': entry({
    schema: z.enum(compressionTypes),
    default: 'producer',
    doc: 'How stored batches are compressed: producer keeps what the producer sent (HTTP producers send uncompressed), or one codec for all.',
    honouredBy: 'produce (shared/log/produce.ts)',
  }),
  'message.timestamp.type': entry({
    schema: z.enum(timestampTypes),
    default: 'CreateTime',
    doc: "CreateTime keeps the producer's timestamp; LogAppendTime stamps each record with the time of its append.",
    honouredBy: 'produce (shared/log/produce.ts)',
  }),
} as const;

export type TopicConfigName = keyof typeof topicConfigRegistry;
export type TopicConfig = { -readonly [K in TopicConfigName]: z.output<(typeof topicConfigRegistry)[K]['schema']> };
export type TopicConfigOverrides = Partial<TopicConfig>;

export const topicConfigNames = Object.keys(topicConfigRegistry) as TopicConfigName[];

export const topicConfigDefaults = Object.fromEntries(
  topicConfigNames.map((name) => [name, topicConfigRegistry[name].default]),
) as TopicConfig;

export const topicConfigSchemas = Object.fromEntries(topicConfigNames.map((name) => [name, topicConfigRegistry[name].schema])) as {
  [K in TopicConfigName]: (typeof topicConfigRegistry)[K]['schema'];
};
