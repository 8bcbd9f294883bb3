/**
 * The Kafka APIs this gateway serves: per API its key, the versions served, the first flexible
 * version and the request and response fields, written from Kafka's published message
 * definitions (clients/src/main/resources/common/message/*.json). One generic codec (codec.ts)
 * reads this table; nothing is encoded by hand per API.
 *
 * Version ranges cover what current clients negotiate (KafkaJS 2.2, librdkafka 2.0, kafka-python
 * 2.0): ApiVersions negotiates the highest version both sides know, so a client newer than a
 * range simply uses its top. Produce starts at v3 and Fetch at v4, the first versions that carry
 * RecordBatch v2 (magic 2), the only record format the log stores.
 */
import { type ApiSchema, array, f, range, struct, structs } from './types';

const api = (
  key: number,
  name: string,
  versions: string,
  flexibleFrom: number,
  request: ApiSchema['request'],
  response: ApiSchema['response'],
): ApiSchema => ({ key, name, versions: range(versions), flexibleFrom, request, response });

export const produce = api(
  0,
  'Produce',
  '3-8',
  9,
  [
    f('transactionalId', 'string', '3+', { nullable: '3+' }),
    f('acks', 'int16', '0+'),
    f('timeoutMs', 'int32', '0+'),
    f(
      'topicData',
      structs(
        f('name', 'string', '0+'),
        f('partitionData', structs(f('index', 'int32', '0+'), f('records', 'records', '0+', { nullable: '0+' })), '0+'),
      ),
      '0+',
    ),
  ],
  [
    f(
      'responses',
      structs(
        f('name', 'string', '0+'),
        f(
          'partitionResponses',
          structs(
            f('index', 'int32', '0+'),
            f('errorCode', 'int16', '0+'),
            f('baseOffset', 'int64', '0+'),
            f('logAppendTimeMs', 'int64', '2+', { default: -1 }),
            f('logStartOffset', 'int64', '5+', { default: -1 }),
            f(
              'recordErrors',
              structs(f('batchIndex', 'int32', '8+'), f('batchIndexErrorMessage', 'string', '8+', { nullable: '8+' })),
              '8+',
            ),
            f('errorMessage', 'string', '8+', { nullable: '8+' }),
          ),
          '0+',
        ),
      ),
      '0+',
    ),
    f('throttleTimeMs', 'int32', '1+'),
  ],
);

export const fetch = api(
  1,
  'Fetch',
  '4-11',
  12,
  [
    f('replicaId', 'int32', '0-14', { default: -1 }),
    f('maxWaitMs', 'int32', '0+'),
    f('minBytes', 'int32', '0+'),
    f('maxBytes', 'int32', '3+', { default: 0x7fffffff }),
    f('isolationLevel', 'int8', '4+'),
    f('sessionId', 'int32', '7+'),
    f('sessionEpoch', 'int32', '7+', { default: -1 }),
    f(
      'topics',
      structs(
        f('topic', 'string', '0-12'),
        f('topicId', 'uuid', '13+'),
        f(
          'partitions',
          structs(
            f('partition', 'int32', '0+'),
            f('currentLeaderEpoch', 'int32', '9+', { default: -1 }),
            f('fetchOffset', 'int64', '0+'),
            f('lastFetchedEpoch', 'int32', '12+', { default: -1 }),
            f('logStartOffset', 'int64', '5+', { default: -1 }),
            f('partitionMaxBytes', 'int32', '0+'),
          ),
          '0+',
        ),
      ),
      '0+',
    ),
    f(
      'forgottenTopicsData',
      structs(f('topic', 'string', '7-12'), f('topicId', 'uuid', '13+'), f('partitions', array('int32'), '7+')),
      '7+',
    ),
    f('rackId', 'string', '11+'),
  ],
  [
    f('throttleTimeMs', 'int32', '1+'),
    f('errorCode', 'int16', '7+'),
    f('sessionId', 'int32', '7+'),
    f(
      'responses',
      structs(
        f('topic', 'string', '0-12'),
        f('topicId', 'uuid', '13+'),
        f(
          'partitions',
          structs(
            f('partitionIndex', 'int32', '0+'),
            f('errorCode', 'int16', '0+'),
            f('highWatermark', 'int64', '0+'),
            f('lastStableOffset', 'int64', '4+', { default: -1 }),
            f('logStartOffset', 'int64', '5+', { default: -1 }),
            f('abortedTransactions', structs(f('producerId', 'int64', '4+'), f('firstOffset', 'int64', '4+')), '4+', { nullable: '4+' }),
            f('preferredReadReplica', 'int32', '11+', { default: -1 }),
            f('records', 'records', '0+', { nullable: '0+' }),
          ),
          '0+',
        ),
      ),
      '0+',
    ),
  ],
);

export const listOffsets = api(
  2,
  'ListOffsets',
  '0-5',
  6,
  [
    f('replicaId', 'int32', '0+'),
    f('isolationLevel', 'int8', '2+'),
    f(
      'topics',
      structs(
        f('name', 'string', '0+'),
        f(
          'partitions',
          structs(
            f('partitionIndex', 'int32', '0+'),
            f('currentLeaderEpoch', 'int32', '4+', { default: -1 }),
            f('timestamp', 'int64', '0+'),
            f('maxNumOffsets', 'int32', '0', { default: 1 }),
          ),
          '0+',
        ),
      ),
      '0+',
    ),
  ],
  [
    f('throttleTimeMs', 'int32', '2+'),
    f(
      'topics',
      structs(
        f('name', 'string', '0+'),
        f(
          'partitions',
          structs(
            f('partitionIndex', 'int32', '0+'),
            f('errorCode', 'int16', '0+'),
            f('oldStyleOffsets', array('int64'), '0'),
            f('timestamp', 'int64', '1+', { default: -1 }),
            f('offset', 'int64', '1+', { default: -1 }),
            f('leaderEpoch', 'int32', '4+', { default: -1 }),
          ),
          '0+',
        ),
      ),
      '0+',
    ),
  ],
);

export const metadata = api(
  3,
  'Metadata',
  '0-8',
  9,
  [
    f('topics', structs(f('name', 'string', '0+')), '0+', { nullable: '1+' }),
    f('allowAutoTopicCreation', 'bool', '4+', { default: true }),
    f('includeClusterAuthorizedOperations', 'bool', '8-10'),
    f('includeTopicAuthorizedOperations', 'bool', '8+'),
  ],
  [
    f('throttleTimeMs', 'int32', '3+'),
    f(
      'brokers',
      structs(
        f('nodeId', 'int32', '0+'),
        f('host', 'string', '0+'),
        f('port', 'int32', '0+'),
        f('rack', 'string', '1+', { nullable: '1+' }),
      ),
      '0+',
    ),
    f('clusterId', 'string', '2+', { nullable: '2+' }),
    f('controllerId', 'int32', '1+', { default: -1 }),
    f(
      'topics',
      structs(
        f('errorCode', 'int16', '0+'),
        f('name', 'string', '0+'),
        f('isInternal', 'bool', '1+'),
        f(
          'partitions',
          structs(
            f('errorCode', 'int16', '0+'),
            f('partitionIndex', 'int32', '0+'),
            f('leaderId', 'int32', '0+'),
            f('leaderEpoch', 'int32', '7+', { default: -1 }),
            f('replicaNodes', array('int32'), '0+'),
            f('isrNodes', array('int32'), '0+'),
            f('offlineReplicas', array('int32'), '5+'),
          ),
          '0+',
        ),
        f('topicAuthorizedOperations', 'int32', '8+', { default: -2147483648 }),
      ),
      '0+',
    ),
    f('clusterAuthorizedOperations', 'int32', '8-10', { default: -2147483648 }),
  ],
);

export const offsetCommit = api(
  8,
  'OffsetCommit',
  '0-7',
  8,
  [
    f('groupId', 'string', '0+'),
    f('generationIdOrMemberEpoch', 'int32', '1+', { default: -1 }),
    f('memberId', 'string', '1+'),
    f('groupInstanceId', 'string', '7+', { nullable: '7+' }),
    f('retentionTimeMs', 'int64', '2-4', { default: -1 }),
    f(
      'topics',
      structs(
        f('name', 'string', '0+'),
        f(
          'partitions',
          structs(
            f('partitionIndex', 'int32', '0+'),
            f('committedOffset', 'int64', '0+'),
            f('committedLeaderEpoch', 'int32', '6+', { default: -1 }),
            f('commitTimestamp', 'int64', '1', { default: -1 }),
            f('committedMetadata', 'string', '0+', { nullable: '0+' }),
          ),
          '0+',
        ),
      ),
      '0+',
    ),
  ],
  [
    f('throttleTimeMs', 'int32', '3+'),
    f(
      'topics',
      structs(f('name', 'string', '0+'), f('partitions', structs(f('partitionIndex', 'int32', '0+'), f('errorCode', 'int16', '0+')), '0+')),
      '0+',
    ),
  ],
);

export const offsetFetch = api(
  9,
  'OffsetFetch',
  '0-5',
  6,
  [
    f('groupId', 'string', '0-7'),
    f('topics', structs(f('name', 'string', '0-7'), f('partitionIndexes', array('int32'), '0-7')), '0-7', { nullable: '2-7' }),
    f('requireStable', 'bool', '7+'),
  ],
  [
    f('throttleTimeMs', 'int32', '3+'),
    f(
      'topics',
      structs(
        f('name', 'string', '0-7'),
        f(
          'partitions',
          structs(
            f('partitionIndex', 'int32', '0-7'),
            f('committedOffset', 'int64', '0-7'),
            f('committedLeaderEpoch', 'int32', '5-7', { default: -1 }),
            f('metadata', 'string', '0-7', { nullable: '0-7' }),
            f('errorCode', 'int16', '0-7'),
          ),
          '0-7',
        ),
      ),
      '0-7',
    ),
    f('errorCode', 'int16', '2-7'),
  ],
);

export const findCoordinator = api(
  10,
  'FindCoordinator',
  '0-2',
  3,
  [f('key', 'string', '0-3'), f('keyType', 'int8', '1+')],
  [
    f('throttleTimeMs', 'int32', '1+'),
    f('errorCode', 'int16', '0-3'),
    f('errorMessage', 'string', '1-3', { nullable: '1-3' }),
    f('nodeId', 'int32', '0-3'),
    f('host', 'string', '0-3'),
    f('port', 'int32', '0-3'),
  ],
);

export const joinGroup = api(
  11,
  'JoinGroup',
  '0-5',
  6,
  [
    f('groupId', 'string', '0+'),
    f('sessionTimeoutMs', 'int32', '0+'),
    f('rebalanceTimeoutMs', 'int32', '1+', { default: -1 }),
    f('memberId', 'string', '0+'),
    f('groupInstanceId', 'string', '5+', { nullable: '5+' }),
    f('protocolType', 'string', '0+'),
    f('protocols', structs(f('name', 'string', '0+'), f('metadata', 'bytes', '0+')), '0+'),
  ],
  [
    f('throttleTimeMs', 'int32', '2+'),
    f('errorCode', 'int16', '0+'),
    f('generationId', 'int32', '0+', { default: -1 }),
    f('protocolName', 'string', '0+', { nullable: '7+' }),
    f('leader', 'string', '0+'),
    f('memberId', 'string', '0+'),
    f(
      'members',
      structs(f('memberId', 'string', '0+'), f('groupInstanceId', 'string', '5+', { nullable: '5+' }), f('metadata', 'bytes', '0+')),
      '0+',
    ),
  ],
);

export const heartbeat = api(
  12,
  'Heartbeat',
  '0-3',
  4,
  [
    f('groupId', 'string', '0+'),
    f('generationId', 'int32', '0+'),
    f('memberId', 'string', '0+'),
    f('groupInstanceId', 'string', '3+', { nullable: '3+' }),
  ],
  [f('throttleTimeMs', 'int32', '1+'), f('errorCode', 'int16', '0+')],
);

export const leaveGroup = api(
  13,
  'LeaveGroup',
  '0-3',
  4,
  [
    f('groupId', 'string', '0+'),
    f('memberId', 'string', '0-2'),
    f('members', structs(f('memberId', 'string', '3+'), f('groupInstanceId', 'string', '3+', { nullable: '3+' })), '3+'),
  ],
  [
    f('throttleTimeMs', 'int32', '1+'),
    f('errorCode', 'int16', '0+'),
    f(
      'members',
      structs(f('memberId', 'string', '3+'), f('groupInstanceId', 'string', '3+', { nullable: '3+' }), f('errorCode', 'int16', '3+')),
      '3+',
    ),
  ],
);

export const syncGroup = api(
  14,
  'SyncGroup',
  '0-3',
  4,
  [
    f('groupId', 'string', '0+'),
    f('generationId', 'int32', '0+'),
    f('memberId', 'string', '0+'),
    f('groupInstanceId', 'string', '3+', { nullable: '3+' }),
    f('assignments', structs(f('memberId', 'string', '0+'), f('assignment', 'bytes', '0+')), '0+'),
  ],
  [f('throttleTimeMs', 'int32', '1+'), f('errorCode', 'int16', '0+'), f('assignment', 'bytes', '0+')],
);

export const describeGroups = api(
  15,
  'DescribeGroups',
  '0-4',
  5,
  [f('groups', array('string'), '0+'), f('includeAuthorizedOperations', 'bool', '3+')],
  [
    f('throttleTimeMs', 'int32', '1+'),
    f(
      'groups',
      structs(
        f('errorCode', 'int16', '0+'),
        f('groupId', 'string', '0+'),
        f('groupState', 'string', '0+'),
        f('protocolType', 'string', '0+'),
        f('protocolData', 'string', '0+'),
        f(
          'members',
          structs(
            f('memberId', 'string', '0+'),
            f('groupInstanceId', 'string', '4+', { nullable: '4+' }),
            f('clientId', 'string', '0+'),
            f('clientHost', 'string', '0+'),
            f('memberMetadata', 'bytes', '0+'),
            f('memberAssignment', 'bytes', '0+'),
          ),
          '0+',
        ),
        f('authorizedOperations', 'int32', '3+', { default: -2147483648 }),
      ),
      '0+',
    ),
  ],
);

export const listGroups = api(
  16,
  'ListGroups',
  '0-2',
  3,
  [],
  [
    f('throttleTimeMs', 'int32', '1+'),
    f('errorCode', 'int16', '0+'),
    f('groups', structs(f('groupId', 'string', '0+'), f('protocolType', 'string', '0+')), '0+'),
  ],
);

export const apiVersions = api(
  18,
  'ApiVersions',
  '0-3',
  3,
  [f('clientSoftwareName', 'string', '3+'), f('clientSoftwareVersion', 'string', '3+')],
  [
    f('errorCode', 'int16', '0+'),
    f('apiKeys', structs(f('apiKey', 'int16', '0+'), f('minVersion', 'int16', '0+'), f('maxVersion', 'int16', '0+')), '0+'),
    f('throttleTimeMs', 'int32', '1+'),
  ],
);

export const createTopics = api(
  19,
  'CreateTopics',
  '0-4',
  5,
  [
    f(
      'topics',
      structs(
        f('name', 'string', '0+'),
        f('numPartitions', 'int32', '0+'),
        f('replicationFactor', 'int16', '0+'),
        f('assignments', structs(f('partitionIndex', 'int32', '0+'), f('brokerIds', array('int32'), '0+')), '0+'),
        f('configs', structs(f('name', 'string', '0+'), f('value', 'string', '0+', { nullable: '0+' })), '0+'),
      ),
      '0+',
    ),
    f('timeoutMs', 'int32', '0+', { default: 60000 }),
    f('validateOnly', 'bool', '1+'),
  ],
  [
    f('throttleTimeMs', 'int32', '2+'),
    f(
      'topics',
      structs(f('name', 'string', '0+'), f('errorCode', 'int16', '0+'), f('errorMessage', 'string', '1+', { nullable: '0+' })),
      '0+',
    ),
  ],
);

export const deleteTopics = api(
  20,
  'DeleteTopics',
  '0-3',
  4,
  [f('topicNames', array('string'), '0-5'), f('timeoutMs', 'int32', '0+')],
  [f('throttleTimeMs', 'int32', '1+'), f('responses', structs(f('name', 'string', '0+'), f('errorCode', 'int16', '0+')), '0+')],
);

export const initProducerId = api(
  22,
  'InitProducerId',
  '0-1',
  2,
  [f('transactionalId', 'string', '0+', { nullable: '0+' }), f('transactionTimeoutMs', 'int32', '0+')],
  [
    f('throttleTimeMs', 'int32', '0+'),
    f('errorCode', 'int16', '0+'),
    f('producerId', 'int64', '0+', { default: -1 }),
    f('producerEpoch', 'int16', '0+'),
  ],
);

export const describeConfigs = api(
  32,
  'DescribeConfigs',
  '0-3',
  4,
  [
    f(
      'resources',
      structs(
        f('resourceType', 'int8', '0+'),
        f('resourceName', 'string', '0+'),
        f('configurationKeys', array('string'), '0+', { nullable: '0+' }),
      ),
      '0+',
    ),
    f('includeSynonyms', 'bool', '1+'),
    f('includeDocumentation', 'bool', '3+'),
  ],
  [
    f('throttleTimeMs', 'int32', '0+'),
    f(
      'results',
      structs(
        f('errorCode', 'int16', '0+'),
        f('errorMessage', 'string', '0+', { nullable: '0+' }),
        f('resourceType', 'int8', '0+'),
        f('resourceName', 'string', '0+'),
        f(
          'configs',
          structs(
            f('name', 'string', '0+'),
            f('value', 'string', '0+', { nullable: '0+' }),
            f('readOnly', 'bool', '0+'),
            f('isDefault', 'bool', '0'),
            f('configSource', 'int8', '1+', { default: -1 }),
            f('isSensitive', 'bool', '0+'),
            f(
              'synonyms',
              structs(f('name', 'string', '1+'), f('value', 'string', '1+', { nullable: '0+' }), f('source', 'int8', '1+')),
              '1+',
            ),
            f('configType', 'int8', '3+'),
            f('documentation', 'string', '3+', { nullable: '0+' }),
          ),
          '0+',
        ),
      ),
      '0+',
    ),
  ],
);

export const createPartitions = api(
  37,
  'CreatePartitions',
  '0-1',
  2,
  [
    f(
      'topics',
      structs(
        f('name', 'string', '0+'),
        f('count', 'int32', '0+'),
        f('assignments', structs(f('brokerIds', array('int32'), '0+')), '0+', { nullable: '0+' }),
      ),
      '0+',
    ),
    f('timeoutMs', 'int32', '0+'),
    f('validateOnly', 'bool', '0+'),
  ],
  [
    f('throttleTimeMs', 'int32', '0+'),
    f(
      'results',
      structs(f('name', 'string', '0+'), f('errorCode', 'int16', '0+'), f('errorMessage', 'string', '0+', { nullable: '0+' })),
      '0+',
    ),
  ],
);

export const alterConfigs = api(
  33,
  'AlterConfigs',
  '0-1',
  2,
  [
    f(
      'resources',
      structs(
        f('resourceType', 'int8', '0+'),
        f('resourceName', 'string', '0+'),
        f('configs', structs(f('name', 'string', '0+'), f('value', 'string', '0+', { nullable: '0+' })), '0+'),
      ),
      '0+',
    ),
    f('validateOnly', 'bool', '0+'),
  ],
  [
    f('throttleTimeMs', 'int32', '0+'),
    f(
      'responses',
      structs(
        f('errorCode', 'int16', '0+'),
        f('errorMessage', 'string', '0+', { nullable: '0+' }),
        f('resourceType', 'int8', '0+'),
        f('resourceName', 'string', '0+'),
      ),
      '0+',
    ),
  ],
);

export const deleteGroups = api(
  42,
  'DeleteGroups',
  '0-1',
  2,
  [f('groupsNames', array('string'), '0+')],
  [f('throttleTimeMs', 'int32', '0+'), f('results', structs(f('groupId', 'string', '0+'), f('errorCode', 'int16', '0+')), '0+')],
);

const topicPartitions = structs(f('topicId', 'uuid', '0+'), f('partitions', array('int32'), '0+'));

export const consumerGroupHeartbeat = api(
  68,
  'ConsumerGroupHeartbeat',
  '0',
  0,
  [
    f('groupId', 'string', '0+'),
    f('memberId', 'string', '0+'),
    f('memberEpoch', 'int32', '0+'),
    f('instanceId', 'string', '0+', { nullable: '0+' }),
    f('rackId', 'string', '0+', { nullable: '0+' }),
    f('rebalanceTimeoutMs', 'int32', '0+', { default: -1 }),
    f('subscribedTopicNames', array('string'), '0+', { nullable: '0+' }),
    f('serverAssignor', 'string', '0+', { nullable: '0+' }),
    f('topicPartitions', topicPartitions, '0+', { nullable: '0+' }),
  ],
  [
    f('throttleTimeMs', 'int32', '0+'),
    f('errorCode', 'int16', '0+'),
    f('errorMessage', 'string', '0+', { nullable: '0+' }),
    f('memberId', 'string', '0+', { nullable: '0+' }),
    f('memberEpoch', 'int32', '0+'),
    f('heartbeatIntervalMs', 'int32', '0+'),
    f('assignment', struct(f('topicPartitions', topicPartitions, '0+')), '0+', { nullable: '0+' }),
  ],
);

/** SASL (KIP-43, KIP-152): the handshake picks the mechanism, then SaslAuthenticate carries its tokens. */
export const saslHandshake = api(
  17,
  'SaslHandshake',
  '0-1',
  Infinity,
  [f('mechanism', 'string', '0+')],
  [f('errorCode', 'int16', '0+'), f('mechanisms', array('string'), '0+')],
);

export const saslAuthenticate = api(
  36,
  'SaslAuthenticate',
  '0-2',
  2,
  [f('authBytes', 'bytes', '0+')],
  [
    f('errorCode', 'int16', '0+'),
    f('errorMessage', 'string', '0+', { nullable: '0+' }),
    f('authBytes', 'bytes', '0+'),
    f('sessionLifetimeMs', 'int64', '1+', { default: 0 }),
  ],
);

/** Every API served, by key. */
export const apis: ReadonlyMap<number, ApiSchema> = new Map(
  [
    produce,
    fetch,
    listOffsets,
    metadata,
    offsetCommit,
    offsetFetch,
    findCoordinator,
    joinGroup,
    heartbeat,
    leaveGroup,
    syncGroup,
    describeGroups,
    listGroups,
    apiVersions,
    createTopics,
    deleteTopics,
    initProducerId,
    describeConfigs,
    alterConfigs,
    createPartitions,
    deleteGroups,
    consumerGroupHeartbeat,
    saslHandshake,
    saslAuthenticate,
  ].map((schema) => [schema.key, schema]),
);

/** Kafka's names of APIs not served, for log lines and error messages. */
export const unservedApiNames: Readonly<Record<number, string>> = {
  4: 'LeaderAndIsr',
  21: 'DeleteRecords',
  23: 'OffsetForLeaderEpoch',
  24: 'AddPartitionsToTxn',
  25: 'AddOffsetsToTxn',
  26: 'EndTxn',
  28: 'TxnOffsetCommit',
  29: 'DescribeAcls',
  44: 'IncrementalAlterConfigs',
  47: 'OffsetDelete',
  60: 'DescribeCluster',
};

/** Every served API with its version range: ApiVersions' answer. */
export function servedVersions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
  return [...apis.values()].map((s) => ({ apiKey: s.key, minVersion: s.versions.min, maxVersion: s.versions.max }));
}
