/**
 * Request schemas of the consumer-group routes: they validate requests (parseRequest → 400
 * naming the field) and generate the OpenAPI document, keyed by route name.
 */
import { z } from 'zod';
import { schemaOnce } from '../api/validation';
import { loadServiceConfig } from '../config';
import { topicNamePattern } from '../topics/model';

/** Kafka's offset.metadata.max.bytes default. */
export const maxOffsetMetadataBytes = 4096;
/** One TransactWriteItems holds 100 actions: one condition on the group plus the offsets. */
export const maxOffsetsPerCommit = 99;
export const memberIdPattern = /^[a-zA-Z0-9._:-]{1,255}$/;

const topicName = () => z.string().regex(topicNamePattern, 'must be a topic name: 1 to 249 of [a-zA-Z0-9._-]').describe('Topic name');
const partitionNumber = () => z.number().int().min(0).max(999_999);
const memberId = () =>
  z
    .string()
    .regex(memberIdPattern, 'must be 1 to 255 of [a-zA-Z0-9._:-]')
    .describe('The member id the service returned on join (or one the client chose, e.g. a UUID, when joining)');

const partitionsByTopic = () =>
  z.record(topicName(), z.array(partitionNumber()).max(10_000)).describe('Partitions by topic, e.g. {"orders": [0, 2]}');

function buildHeartbeatSchema() {
  const config = loadServiceConfig();
  return z.object({
    memberId: memberId().optional(),
    memberEpoch: z
      .number()
      .int()
      .min(-1, 'must be -1 (leave), 0 (join) or the current member epoch')
      .describe('0 to join, the current member epoch to heartbeat, -1 to leave'),
    subscribedTopics: z
      .array(topicName())
      .max(1000)
      .optional()
      .describe('Topics to consume; required to join, optional afterwards (omitted: unchanged)'),
    ownedPartitions: partitionsByTopic()
      .optional()
      .describe('Partitions the member still holds; leaving one out releases it. Omitted: unchanged since the last heartbeat'),
    sessionTimeoutMs: z
      .number()
      .int()
      .min(config.minSessionTimeoutMs)
      .max(config.maxSessionTimeoutMs)
      .optional()
      .describe(`Session timeout in ms (default ${config.sessionTimeoutMs})`),
  });
}

function buildCommitOffsetsSchema() {
  return z.object({
    memberId: memberId().optional().describe('Omit (with memberEpoch) to commit as an admin while the group has no members'),
    memberEpoch: z.number().int().min(-1).optional().describe("The member's current epoch; required with memberId"),
    offsets: z
      .array(
        z.object({
          topic: topicName(),
          partition: partitionNumber(),
          offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('The next offset to consume'),
          metadata: z.string().nullable().optional().describe(`Up to ${maxOffsetMetadataBytes} bytes (UTF-8) kept with the offset`),
        }),
      )
      .min(1, 'commit at least one offset')
      .max(maxOffsetsPerCommit, `at most ${maxOffsetsPerCommit} offsets per commit (one DynamoDB transaction)`),
  });
}

const pageToken = () =>
  z.string().max(2048).optional().describe('nextPageToken of the previous page: listings are paged to stay under 5 MB of JSON');

function buildFetchOffsetsQuerySchema() {
  return z.object({ topic: topicName().optional().describe('Only this topic'), pageToken: pageToken() });
}

function buildDescribeGroupQuerySchema() {
  return z.object({
    pageToken: pageToken().describe('nextPageToken of the previous page: the partitions list is paged to stay under 5 MB'),
  });
}

function buildResetOffsetsSchema() {
  return z.object({
    topic: topicName(),
    to: z
      .union([
        z.enum(['earliest', 'latest']),
        z.object({ timestamp: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }).strict(),
        z.object({ offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }).strict(),
      ])
      .describe(
        "'earliest', 'latest', {timestamp}: the first offset whose timestamp is >= it (the end when none), or {offset}: clamped to the partition's range",
      ),
  });
}

/** The group routes' request schemas, by route name (shared/api/contracts.ts puts them in the route contracts). */
export function requestSchemas() {
  return {
    'group-heartbeat': { body: heartbeatSchema() },
    'commit-offsets': { body: commitOffsetsSchema() },
    'fetch-committed-offsets': { query: fetchOffsetsQuerySchema() },
    'describe-group': { query: describeGroupQuerySchema() },
    'reset-offsets': { body: resetOffsetsSchema() },
  } as const;
}

export const heartbeatSchema = schemaOnce(buildHeartbeatSchema);

export const commitOffsetsSchema = schemaOnce(buildCommitOffsetsSchema);

export const fetchOffsetsQuerySchema = schemaOnce(buildFetchOffsetsQuerySchema);

export const describeGroupQuerySchema = schemaOnce(buildDescribeGroupQuerySchema);

export const resetOffsetsSchema = schemaOnce(buildResetOffsetsSchema);
