import { describe, expect, it } from 'vitest';
import { encodeRequestFrame } from '../../shared/kafka/codec';
import { kafkaErrorCodes } from '../../shared/kafka/errors';
import { apiVersions, consumerGroupHeartbeat, fetch, initProducerId, metadata, produce } from '../../shared/kafka/schema';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { forgetProducerSequences } from '../../shared/log/producer-sequences';
import { dynamo, tableName } from '../../shared/runtime/aws';
import { type ClientStack, isChunkWrite, throttlingNth } from '../support/intercept';
import { encodeRecordBatch } from '../../shared/records';
import { RawClient } from './raw-client';
import { useKafkaService } from './support';

const { http, port } = (() => {
  const service = useKafkaService();
  return { http: service.http, port: () => Number(service.bootstrap().split(':')[1]) };
})();

const batch = (options: { producerId?: number; baseSequence?: number; value?: string; count?: number; isTransactional?: boolean } = {}) =>
  encodeRecordBatch({
    producerId: options.producerId ?? -1,
    producerEpoch: options.producerId === undefined ? -1 : 0,
    baseSequence: options.baseSequence ?? -1,
    isTransactional: options.isTransactional ?? false,
    records: Array.from({ length: options.count ?? 1 }, (_, i) => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.from(options.value ?? `v${i}`),
      timestamp: 1_700_000_000_000 + i,
    })),
  });

const produceBody = (topic: string, records: Buffer, acks = -1) => ({
  transactionalId: null,
  acks,
  timeoutMs: 5000,
  topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
});

/** A Fetch of partition 0 of `topic` from `offset`, 1 MiB limits. */
const fetchBody = (topic: string, offset: number, options: { maxWaitMs: number; isolationLevel?: number }) => ({
  maxWaitMs: options.maxWaitMs,
  minBytes: 1,
  maxBytes: 1 << 20,
  isolationLevel: options.isolationLevel ?? 0,
  topics: [{ topic, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20 }] }],
});

type PartitionResponse = { errorCode: number; baseOffset: number; errorMessage: string | null };
const firstPartition = (body: Record<string, unknown>) =>
  (body.responses as { partitionResponses: PartitionResponse[] }[])[0]!.partitionResponses[0]!;

describe('the Kafka listener', () => {
  it('negotiates with ApiVersions, and answers an unknown version with the versions it serves', async () => {
    const client = await RawClient.open(port());
    const v3 = await client.call(apiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    expect(v3.errorCode).toBe(0);
    expect(v3.apiKeys).toContainEqual({ apiKey: 0, minVersion: 3, maxVersion: 8 });
    // A version above ours: the answer is v0 with UNSUPPORTED_VERSION and the list (KIP-511).
    client.sendRaw(encodeRequestFrame({ ...apiVersions, versions: { min: 0, max: 9 } }, 9, 7, 'x', {}));
    const fallback = await client.receive(apiVersions, 0);
    expect(fallback.correlationId).toBe(7);
    expect(fallback.body.errorCode).toBe(kafkaErrorCodes.UNSUPPORTED_VERSION);
    expect((fallback.body.apiKeys as unknown[]).length).toBeGreaterThan(10);
    client.close();
  });

  it('answers an unserved API, an unsupported version and a body that does not decode, and keeps the connection', async () => {
    const client = await RawClient.open(port());
    // DescribeAcls (29) is not served.
    client.sendRaw(Buffer.from([0, 0, 0, 10, 0, 29, 0, 1, 0, 0, 0, 5, 0xff, 0xff]));
    const unserved = await client.nextFrame();
    expect(unserved.readInt32BE(0)).toBe(5);
    expect(unserved.readInt16BE(4)).toBe(kafkaErrorCodes.UNSUPPORTED_VERSION);
    // Metadata v1 whose topic array claims 1000 entries.
    client.sendRaw(Buffer.from([0, 0, 0, 14, 0, 3, 0, 1, 0, 0, 0, 6, 0xff, 0xff, 0, 0, 0x03, 0xe8]));
    const garbled = await client.nextFrame();
    expect(garbled.readInt32BE(0)).toBe(6);
    const ok = await client.call(metadata, 1, { topics: null });
    expect(ok.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: port(), rack: null }]);
    expect(client.closed).toBe(false);
    client.close();
  });

  it('reassembles frames split into single bytes and several frames in one chunk', async () => {
    const client = await RawClient.open(port());
    const one = encodeRequestFrame(apiVersions, 3, 1, 'a', { clientSoftwareName: 'x', clientSoftwareVersion: 'y' });
    for (const byte of one) {
      client.sendRaw(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    expect((await client.receive(apiVersions, 3)).correlationId).toBe(1);
    client.sendRaw(
      Buffer.concat([encodeRequestFrame(apiVersions, 2, 2, 'a', {}), encodeRequestFrame(metadata, 1, 3, 'a', { topics: [] })]),
    );
    expect((await client.receive(apiVersions, 2)).correlationId).toBe(2);
    expect((await client.receive(metadata, 1)).correlationId).toBe(3);
    client.close();
  });

  it('answers pipelined requests in order, a long-polling fetch included', async () => {
    await http.post('/v1/topics', { name: 'pipe', partitions: 1 });
    const client = await RawClient.open(port());
    const started = Date.now();
    const ids = [
      client.send(fetch, 11, fetchBody('pipe', 0, { maxWaitMs: 300 })),
      client.send(apiVersions, 2, {}),
      client.send(metadata, 8, { topics: [{ name: 'pipe' }] }),
    ];
    const answers = [await client.receive(fetch, 11), await client.receive(apiVersions, 2), await client.receive(metadata, 8)];
    expect(answers.map((a) => a.correlationId)).toEqual(ids);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    client.close();
  });

  it('answers a fetch of an unknown partition or an offset out of range at once, with the bounds', async () => {
    await http.post('/v1/topics', { name: 'bounds', partitions: 1 });
    await http.post('/v1/topics/bounds/records', { records: [{ value: 'a' }, { value: 'b' }] });
    const client = await RawClient.open(port());
    const started = Date.now();
    const body = (topic: string, offset: number) => fetchBody(topic, offset, { maxWaitMs: 5000, isolationLevel: 1 });
    type Partition = { errorCode: number; highWatermark: number; logStartOffset: number; records: Buffer };
    const partitionOf = (r: Record<string, unknown>) => (r.responses as { partitions: Partition[] }[])[0]!.partitions[0]!;
    expect(partitionOf(await client.call(fetch, 11, body('missing', 0))).errorCode).toBe(kafkaErrorCodes.UNKNOWN_TOPIC_OR_PARTITION);
    expect(partitionOf(await client.call(fetch, 11, body('bounds', 9)))).toMatchObject({
      errorCode: kafkaErrorCodes.OFFSET_OUT_OF_RANGE,
      highWatermark: 2,
      logStartOffset: 0,
    });
    expect(Date.now() - started).toBeLessThan(2000);
    const data = partitionOf(await client.call(fetch, 4, body('bounds', 1)));
    expect(data).toMatchObject({ errorCode: 0, highWatermark: 2 });
    expect(data.records.readInt8(16)).toBe(2); // a whole stored batch, magic 2
    client.close();
  });

  it('answers a throttled fetch as a broker over its fetch quota does: no data, no error, throttle_time_ms', async () => {
    await http.post('/v1/topics', { name: 'throttled-reads', partitions: 1 });
    await http.post('/v1/topics/throttled-reads/records', { records: [{ value: 'a' }] });
    const client = await RawClient.open(port());
    const body = fetchBody('throttled-reads', 0, { maxWaitMs: 100 });
    // The first DynamoDB read of the fetch (the partition's head) is throttled.
    const { result: throttled } = await throttlingNth(
      dynamo().middlewareStack as ClientStack,
      () => true,
      1,
      () => client.call(fetch, 11, body),
    );
    expect(throttled).toMatchObject({ errorCode: 0, responses: [] });
    expect(throttled.throttleTimeMs).toBeGreaterThanOrEqual(1000);
    // The consumer's next fetch gets the data.
    const next = (await client.call(fetch, 11, body)).responses as { partitions: { errorCode: number; records: Buffer }[] }[];
    expect(next[0]!.partitions[0]!.errorCode).toBe(0);
    expect(next[0]!.partitions[0]!.records.length).toBeGreaterThan(0);
    client.close();
  });

  it('appends a retried idempotent batch once, answering with the first offset', async () => {
    await http.post('/v1/topics', { name: 'idem', partitions: 1 });
    const client = await RawClient.open(port());
    const first = batch({ producerId: 77, baseSequence: 0, count: 3 });
    const a = firstPartition(await client.call(produce, 7, produceBody('idem', first)));
    const b = firstPartition(await client.call(produce, 7, produceBody('idem', first)));
    expect(a).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect(b).toMatchObject({ errorCode: 0, baseOffset: 0 });
    const next = firstPartition(await client.call(produce, 8, produceBody('idem', batch({ producerId: 77, baseSequence: 3 }))));
    expect(next).toMatchObject({ errorCode: 0, baseOffset: 3 });
    const reused = firstPartition(await client.call(produce, 8, produceBody('idem', batch({ producerId: 77, baseSequence: 3, count: 2 }))));
    expect(reused.errorCode).toBe(kafkaErrorCodes.DUPLICATE_SEQUENCE_NUMBER);
    const described = await http.get('/v1/topics/idem');
    expect(described.body.partitions[0].highWatermark).toBe(4);
    client.close();
  });

  it('refuses a batch that skips sequences (OUT_OF_ORDER_SEQUENCE_NUMBER), and answers a throttled append with a retriable error', async () => {
    await http.post('/v1/topics', { name: 'sequenced', partitions: 1 });
    const client = await RawClient.open(port());
    const init = await client.call(initProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60000 });
    expect(init.errorCode).toBe(0);
    const producerId = Number(init.producerId);
    const send = async (baseSequence: number, count = 1) =>
      firstPartition(await client.call(produce, 8, produceBody('sequenced', batch({ producerId, baseSequence, count }))));
    // A new producer's first batch is sequence 0: anything else skips batches it never sent.
    expect((await send(3)).errorCode).toBe(kafkaErrorCodes.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await send(0, 2)).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect((await send(3)).errorCode).toBe(kafkaErrorCodes.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await send(2)).toMatchObject({ errorCode: 0, baseOffset: 2 });
    // A retry of an appended batch still answers its offset.
    expect(await send(0, 2)).toMatchObject({ errorCode: 0, baseOffset: 0 });

    // DynamoDB throttles the batch at sequence 3: retriable (librdkafka, KafkaJS and kafka-python
    // all retry NOT_ENOUGH_REPLICAS; THROTTLING_QUOTA_EXCEEDED would drop the batch), and the
    // response asks the client to wait.
    const { result: throttledResponse } = await throttlingNth(dynamo().middlewareStack as ClientStack, isChunkWrite, 1, () =>
      client.call(produce, 8, produceBody('sequenced', batch({ producerId, baseSequence: 3 }))),
    );
    expect(firstPartition(throttledResponse)).toMatchObject({ errorCode: kafkaErrorCodes.NOT_ENOUGH_REPLICAS, baseOffset: -1 });
    expect(throttledResponse.throttleTimeMs).toBeGreaterThanOrEqual(1000);
    // The batch in flight behind it must not land first.
    expect((await send(4)).errorCode).toBe(kafkaErrorCodes.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await send(3)).toMatchObject({ errorCode: 0, baseOffset: 3 });
    expect(await send(4)).toMatchObject({ errorCode: 0, baseOffset: 4 });

    // Another gateway process, which remembers nothing, finds batches 0-4 from their claims (no
    // checkpoint is written before 32 batches), including batch 3's second attempt.
    forgetProducerSequences();
    expect(await send(5)).toMatchObject({ errorCode: 0, baseOffset: 5 });
    forgetProducerSequences();
    expect((await send(7)).errorCode).toBe(kafkaErrorCodes.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await send(6)).toMatchObject({ errorCode: 0, baseOffset: 6 });
    expect((await http.get('/v1/topics/sequenced')).body.partitions[0].highWatermark).toBe(7);
    client.close();
  });

  it('checkpoints a producer partition every 32 batches; a checkpoint DynamoDB throttles costs nothing but a longer walk', async () => {
    await http.post('/v1/topics', { name: 'checkpointed', partitions: 1 });
    const client = await RawClient.open(port());
    const init = await client.call(initProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60000 });
    const producerId = Number(init.producerId);
    const send = async (baseSequence: number) =>
      firstPartition(await client.call(produce, 8, produceBody('checkpointed', batch({ producerId, baseSequence }))));
    const checkpoint = async () => {
      const topicId = (await http.get('/v1/topics/checkpointed')).body.topicId as string;
      const { Item } = await dynamo().send(
        new GetCommand({
          TableName: tableName('idempotency'),
          Key: { key: `kafka-sequence#${producerId}#0#${topicId}#0` },
          ConsistentRead: true,
        }),
      );
      return Item?.lastSequence as number | undefined;
    };
    const isCheckpoint = (commandName: string, input: any) =>
      commandName === 'PutItemCommand' && String(input.Item?.key).startsWith('kafka-sequence#');
    const { throttled } = await throttlingNth(dynamo().middlewareStack as ClientStack, isCheckpoint, 1, async () => {
      for (let sequence = 0; sequence < 32; sequence++) expect(await send(sequence)).toMatchObject({ errorCode: 0, baseOffset: sequence });
    });
    // The 32nd batch's checkpoint was throttled and the batch answered all the same.
    expect(throttled).toBe(true);
    expect(await checkpoint()).toBeUndefined();
    // The next batch writes it.
    expect(await send(32)).toMatchObject({ errorCode: 0, baseOffset: 32 });
    expect(await checkpoint()).toBe(32);
    expect(await send(33)).toMatchObject({ errorCode: 0, baseOffset: 33 });
    // A process that remembers nothing walks from the checkpoint: batch 33's claim, then the batch.
    forgetProducerSequences();
    expect(await send(34)).toMatchObject({ errorCode: 0, baseOffset: 34 });
    forgetProducerSequences();
    expect((await send(36)).errorCode).toBe(kafkaErrorCodes.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await checkpoint()).toBe(32);
    client.close();
  });

  it('refuses corrupt, oversized and transactional batches with Kafka errors, and sends nothing for acks=0', async () => {
    await http.post('/v1/topics', { name: 'strict', partitions: 1, config: { 'max.message.bytes': 200 } });
    const client = await RawClient.open(port());
    const corrupt = Buffer.from(batch());
    corrupt[corrupt.length - 1]! ^= 0xff;
    expect(firstPartition(await client.call(produce, 8, produceBody('strict', corrupt))).errorCode).toBe(kafkaErrorCodes.CORRUPT_MESSAGE);
    const magic1 = Buffer.from(batch());
    magic1[16] = 1;
    expect(firstPartition(await client.call(produce, 8, produceBody('strict', magic1))).errorCode).toBe(kafkaErrorCodes.CORRUPT_MESSAGE);
    const large = firstPartition(await client.call(produce, 8, produceBody('strict', batch({ value: 'x'.repeat(300) }))));
    expect(large.errorCode).toBe(kafkaErrorCodes.MESSAGE_TOO_LARGE);
    expect(large.errorMessage).toContain('max.message.bytes=200');
    const txn = firstPartition(
      await client.call(produce, 8, produceBody('strict', batch({ isTransactional: true, producerId: 5, baseSequence: 0 }))),
    );
    expect(txn.errorCode).toBe(kafkaErrorCodes.INVALID_RECORD);
    expect(firstPartition(await client.call(produce, 8, produceBody('nope', batch()))).errorCode).toBe(
      kafkaErrorCodes.UNKNOWN_TOPIC_OR_PARTITION,
    );

    client.send(produce, 8, produceBody('strict', batch(), 0));
    const after = client.send(apiVersions, 2, {});
    expect((await client.receive(apiVersions, 2)).correlationId).toBe(after);
    expect((await http.get('/v1/topics/strict')).body.partitions[0].highWatermark).toBe(1);
    client.close();
  });

  it('maps ConsumerGroupHeartbeat (KIP-848) onto the server-side groups', async () => {
    const created = await http.post('/v1/topics', { name: 'cgh', partitions: 2 });
    const topicId: string = created.body.topicId;
    const client = await RawClient.open(port());
    const join = await client.call(consumerGroupHeartbeat, 0, {
      groupId: 'g848',
      memberId: '',
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 30000,
      subscribedTopicNames: ['cgh'],
      serverAssignor: null,
      topicPartitions: [],
    });
    expect(join).toMatchObject({ errorCode: 0, memberEpoch: 1, assignment: { topicPartitions: [{ topicId, partitions: [0, 1] }] } });
    const memberId = join.memberId as string;
    const described = await http.get('/v1/groups/g848');
    expect(described.body.members).toMatchObject([{ memberId, memberEpoch: 1, assignment: { cgh: [0, 1] } }]);
    const beat = await client.call(consumerGroupHeartbeat, 0, {
      groupId: 'g848',
      memberId,
      memberEpoch: 1,
      subscribedTopicNames: null,
      topicPartitions: [{ topicId, partitions: [0, 1] }],
    });
    expect(beat).toMatchObject({ errorCode: 0, memberEpoch: 1 });
    const fenced = await client.call(consumerGroupHeartbeat, 0, {
      groupId: 'g848',
      memberId,
      memberEpoch: 7,
      subscribedTopicNames: null,
      topicPartitions: null,
    });
    expect(fenced.errorCode).toBe(kafkaErrorCodes.FENCED_MEMBER_EPOCH);
    const leave = await client.call(consumerGroupHeartbeat, 0, {
      groupId: 'g848',
      memberId,
      memberEpoch: -1,
      subscribedTopicNames: null,
      topicPartitions: null,
    });
    expect(leave).toMatchObject({ errorCode: 0, memberEpoch: -1 });
    expect((await http.get('/v1/groups/g848')).body.members).toEqual([]);
    client.close();
  });
});
