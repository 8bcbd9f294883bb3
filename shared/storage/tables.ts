/**
 * The one definition of Logway's DynamoDB tables and S3 bucket.
 *
 * The CDK stack builds its tables from this, and the local bootstrap creates the same tables
 * in DynamoDB Local, so keys, indexes and TTL cannot drift between the cloud and a laptop.
 * Handlers find each physical name in the environment variable named here.
 */

export type AttributeType = 'S' | 'N' | 'B';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface GlobalIndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Attributes copied into the index besides the keys (INCLUDE projection). */
  readonly projectedAttributes: readonly string[];
}

export interface TableDefinition {
  /** Logical id: the CDK construct id and the suffix of the local table name. */
  readonly id: string;
  /** Environment variable that carries the physical table name into handlers. */
  readonly envVar: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalIndexes?: readonly GlobalIndexDefinition[];
  /** Attribute holding an epoch-seconds expiry that DynamoDB TTL deletes by. */
  readonly ttlAttribute?: string;
  /**
   * A DynamoDB stream of the table's changes (keys only: readers re-read what they need). The
   * chunks table has one so that trigger dispatchers wake on appends; the triggers table, so
   * that the sweep can wake them without invoking anything.
   */
  readonly stream?: 'KEYS_ONLY';
  readonly description: string;
}

export const tables = {
  topics: {
    id: 'Topics',
    envVar: 'LOGWAY_TOPICS_TABLE',
    partitionKey: { name: 'name', type: 'S' },
    description:
      'One item per live topic name: its topic id, partition count and config. ' +
      'Deleted topics leave a tombstone item keyed by their id until their data is swept.',
  },
  partitions: {
    id: 'Partitions',
    envVar: 'LOGWAY_PARTITIONS_TABLE',
    // Keyed by `<topicId>:<partition>` alone, not (topicId, partition): each partition's head
    // is then its own DynamoDB partition key, so the partitions of a hot topic never share one.
    partitionKey: { name: 'partitionKey', type: 'S' },
    description:
      'One item per partition: log start offset, bytes released by retention and compaction (sizeDelta), ' +
      'compaction marks, the key below which every chunk is already a stub (stubbedBelow), the deletion mark. ' +
      'Appends do not touch it: the head is the last chunk (Chunks).',
  },
  chunks: {
    id: 'Chunks',
    envVar: 'LOGWAY_CHUNKS_TABLE',
    partitionKey: { name: 'partitionKey', type: 'S' },
    // Keyed by base offset: the last chunk is the head, and a writer whose view of the head is
    // stale collides with the chunk that holds the key it aims at (docs/storage.md, layout v2).
    sortKey: { name: 'baseOffset', type: 'N' },
    // Trigger dispatchers wake on appends (a Put or a join of a chunk).
    stream: 'KEYS_ONLY',
    ttlAttribute: 'expiresAt',
    globalIndexes: [
      {
        // Which chunks point at a segment object (sparse: only a chunk holding a batch stored in
        // S3 has a segmentKey; such a batch is alone in its chunk). The retention sweep asks it
        // whether an object it found is referenced at all.
        indexName: 'bySegment',
        partitionKey: { name: 'segmentKey', type: 'S' },
        projectedAttributes: ['segmentPosition'],
      },
    ],
    description:
      'The log (layout v2): a partition is a chain of chunk items keyed by base offset, each holding one or more ' +
      'record batches; the last chunk is the head (its end is the high watermark), so an uncontended append is one ' +
      'conditional Put. Small batches carry their bytes inline; large ones point at a byte range of an S3 segment. ' +
      'Chunks retention removed stay 24 hours as bodiless stubs (TTL on expiresAt). The retention sweep keeps its ' +
      'own bookkeeping here under keys no partition has (`segment-refs#<object key>`, `orphan-cursor#<topicId>`).',
  },
  idempotency: {
    id: 'Idempotency',
    envVar: 'LOGWAY_IDEMPOTENCY_TABLE',
    partitionKey: { name: 'key', type: 'S' },
    ttlAttribute: 'expiresAt',
    description:
      'Produce claims and responses by Idempotency-Key (the claim is written before the append) and Kafka ' +
      "producers' ids and sequence checkpoints (`kafka-producer#<id>`, `kafka-sequence#<id>#<epoch>#<topicId>#<partition>`); " +
      'DynamoDB TTL removes them after the configured retention.',
  },
  groups: {
    id: 'Groups',
    envVar: 'LOGWAY_GROUPS_TABLE',
    partitionKey: { name: 'groupId', type: 'S' },
    description:
      'One item per consumer group: members, epochs, target and current assignment, and a ' +
      'version every state change is conditioned on.',
  },
  offsets: {
    id: 'Offsets',
    envVar: 'LOGWAY_OFFSETS_TABLE',
    partitionKey: { name: 'groupId', type: 'S' },
    sortKey: { name: 'topicPartition', type: 'S' },
    description: 'Committed offsets: one item per group, topic and partition.',
  },
  triggers: {
    id: 'Triggers',
    envVar: 'LOGWAY_TRIGGERS_TABLE',
    partitionKey: { name: 'name', type: 'S' },
    sortKey: { name: 'item', type: 'S' },
    // Wake-up items ('w#<n>') the once-a-minute sweep writes reach the dispatcher through this stream.
    stream: 'KEYS_ONLY',
    globalIndexes: [
      {
        // Sparse: only definition items carry topicId. A dispatcher woken by an append finds the
        // triggers of that topic with one Query.
        indexName: 'byTopicId',
        partitionKey: { name: 'topicId', type: 'S' },
        projectedAttributes: ['enabled'],
      },
    ],
    description:
      "Triggers (Lambda functions invoked with a topic's records): per trigger one definition item " +
      "('#def') and one item per partition ('p#<n>') with its position, retry state, last error and " +
      'the delivery lease (owner, fencing epoch, expiry) every position commit is conditioned on.',
  },
} as const satisfies Record<string, TableDefinition>;

/**
 * The storage layout this code reads and writes. Bumped whenever stored data of the previous
 * layout cannot be read as is; the local runtime refuses a data folder of another layout, and
 * docs/deploy.md says how a deployed stack upgrades.
 *
 * 1: a `Batches` index of one item per batch plus a head item per partition, every append a transaction.
 * 2: a `Chunks` chain per partition, the last chunk the head (docs/storage.md, "Append redesign").
 */
export const storageLayoutVersion = 2;

export type TableId = keyof typeof tables;

export const tableIds = Object.keys(tables) as TableId[];

export const segmentBucket = {
  id: 'Segments',
  envVar: 'LOGWAY_BUCKET',
  /** Every segment object lives under this prefix, followed by the topic id. */
  segmentPrefix: 'segments/',
  description: 'Segment objects holding the bytes of record batches too large to keep inline.',
} as const;
