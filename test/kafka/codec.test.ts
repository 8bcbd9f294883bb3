import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeRequestBody,
  decodeRequestHeader,
  decodeResponseBody,
  encodeRequestBody,
  encodeRequestFrame,
  encodeResponseBody,
  isFlexible,
  KafkaDecodeError,
  Reader,
  Writer,
  type Message,
} from '../../shared/kafka/codec';
import { apis, apiVersions, consumerGroupHeartbeat, fetch, metadata, produce } from '../../shared/kafka/schema';
import { type Field, type FieldType, inRange } from '../../shared/kafka/types';

const require = createRequire(import.meta.url);
const kafkajsRequest = (path: string) => require(`kafkajs/src/protocol/requests/${path}`);

/** An arbitrary value of a field's type in one version (nulls where nullable). */
function arbitraryOf(type: FieldType, version: number, nullable: boolean, depth = 0): fc.Arbitrary<unknown> {
  const orNull = (a: fc.Arbitrary<unknown>) => (nullable ? fc.option(a, { nil: null }) : a);
  if (typeof type === 'string') {
    switch (type) {
      case 'int8':
        return fc.integer({ min: -128, max: 127 });
      case 'int16':
        return fc.integer({ min: -32768, max: 32767 });
      case 'uint16':
        return fc.integer({ min: 0, max: 65535 });
      case 'int32':
      case 'varint':
        return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
      case 'uvarint':
        return fc.integer({ min: 0, max: 2 ** 31 - 1 });
      case 'int64':
      case 'varlong':
        return fc.maxSafeInteger();
      case 'float64':
        return fc.double({ noNaN: true });
      case 'bool':
        return fc.boolean();
      case 'uuid':
        return fc.uuid();
      case 'string':
        return orNull(fc.string({ maxLength: 20 }));
      case 'bytes':
      case 'records':
        return orNull(fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)));
    }
  }
  if ('array' in type) return orNull(fc.array(arbitraryOf(type.array, version, false, depth + 1), { maxLength: depth > 1 ? 1 : 3 }));
  return orNull(messageOf(type.struct, version, depth + 1));
}

function messageOf(fields: readonly Field[], version: number, depth = 0): fc.Arbitrary<Message> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of fields) {
    if (!inRange(field.versions, version)) continue;
    shape[field.name] = arbitraryOf(field.type, version, inRange(field.nullable, version), depth);
  }
  return fc.record(shape) as fc.Arbitrary<Message>;
}

/** Keeps only the fields present in `version`, recursively, so a decoded message compares with its input. */
function present(fields: readonly Field[], message: Message, version: number): Message {
  const out: Message = {};
  for (const field of fields) {
    if (!inRange(field.versions, version)) continue;
    out[field.name] = strip(field.type, message[field.name], version);
  }
  return out;
}

function strip(type: FieldType, value: unknown, version: number): unknown {
  if (value === null || typeof type === 'string') return value;
  if ('array' in type) return (value as unknown[]).map((item) => strip(type.array, item, version));
  return present(type.struct, value as Message, version);
}

const everyVersion = [...apis.values()].flatMap((schema) =>
  Array.from({ length: schema.versions.max - schema.versions.min + 1 }, (_, i) => ({ schema, version: schema.versions.min + i })),
);

describe('schema-driven codec', () => {
  it.each(everyVersion.map(({ schema, version }) => [`${schema.name} v${version}`, schema, version] as const))(
    '%s: requests and responses round-trip',
    (_name, schema, version) => {
      fc.assert(
        fc.property(messageOf(schema.request, version), messageOf(schema.response, version), (request, response) => {
          const req = encodeRequestBody(schema, version, request).bytes();
          expect(present(schema.request, decodeRequestBody(schema, version, new Reader(Buffer.from(req))), version)).toEqual(
            present(schema.request, request, version),
          );
          const res = encodeResponseBody(schema, version, response).bytes();
          expect(present(schema.response, decodeResponseBody(schema, version, new Reader(Buffer.from(res))), version)).toEqual(
            present(schema.response, response, version),
          );
        }),
        { numRuns: 30 },
      );
    },
  );

  it('never reads past a truncated or garbage body: it throws KafkaDecodeError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...everyVersion), fc.uint8Array({ maxLength: 64 }), ({ schema, version }, bytes) => {
        try {
          decodeRequestBody(schema, version, new Reader(Buffer.from(bytes)));
        } catch (error) {
          expect(error).toBeInstanceOf(KafkaDecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('encodes compact strings, arrays and tagged fields in flexible versions', () => {
    const body = encodeRequestBody(apiVersions, 3, { clientSoftwareName: 'kcat', clientSoftwareVersion: '1.7' }).bytes();
    // compact string: uvarint(length + 1), then the bytes; then an empty tagged-field section.
    expect(body.toString('hex')).toBe(`05${Buffer.from('kcat').toString('hex')}04${Buffer.from('1.7').toString('hex')}00`);
    const cgh = encodeResponseBody(consumerGroupHeartbeat, 0, { memberId: null, assignment: null, errorMessage: null }).bytes();
    // throttle, error, null compact string (0), null member id (0), epoch, interval, null struct (-1), tags (0)
    expect(cgh.toString('hex')).toBe('00000000' + '0000' + '00' + '00' + '00000000' + '00000000' + 'ff' + '00');
  });

  it('skips unknown tagged fields and decodes known ones', () => {
    const w = new Writer();
    w.uvarint(1); // compact string ''
    w.uvarint(1);
    w.uvarint(1); // one tagged field
    w.uvarint(7); // an unknown tag
    w.uvarint(2);
    w.raw(Buffer.from([1, 2]));
    expect(decodeRequestBody(apiVersions, 3, new Reader(Buffer.from(w.bytes())))).toEqual({
      clientSoftwareName: '',
      clientSoftwareVersion: '',
    });
  });

  it('reads request header v1 and v2', () => {
    const frame = encodeRequestFrame(apiVersions, 3, 42, 'client-1', { clientSoftwareName: 'a', clientSoftwareVersion: 'b' });
    const r = new Reader(frame, 4);
    const header = decodeRequestHeader(r, (key, v) => isFlexible(apis.get(key)!, v));
    expect(header).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 42, clientId: 'client-1' });
    expect(decodeRequestBody(apiVersions, 3, r)).toEqual({ clientSoftwareName: 'a', clientSoftwareVersion: 'b' });
  });
});

describe('agrees with KafkaJS, an independent implementation', () => {
  const decodeKafkajsRequest = async (path: string, args: unknown, schema = metadata) => {
    const request = kafkajsRequest(path)(args);
    const encoded = await request.encode();
    return { version: request.apiVersion as number, message: decodeRequestBody(schema, request.apiVersion, new Reader(encoded.buffer)) };
  };

  it('Metadata v6 request and response', async () => {
    const { message } = await decodeKafkajsRequest('metadata/v6/request', { topics: ['a', 'b'], allowAutoTopicCreation: false });
    expect(message).toMatchObject({ topics: [{ name: 'a' }, { name: 'b' }], allowAutoTopicCreation: false });
    const body = encodeResponseBody(metadata, 6, {
      brokers: [{ nodeId: 0, host: '127.0.0.1', port: 9092, rack: null }],
      clusterId: 'logway',
      controllerId: 0,
      topics: [
        {
          errorCode: 0,
          name: 'a',
          isInternal: false,
          partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 0, replicaNodes: [0], isrNodes: [0], offlineReplicas: [] }],
        },
      ],
    }).bytes();
    const decoded = await kafkajsRequest('metadata/v6/response').decode(Buffer.from(body));
    expect(decoded.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: 9092, rack: null }]);
    expect(decoded.topicMetadata[0]).toMatchObject({ topic: 'a', partitionMetadata: [{ partitionId: 0, leader: 0, replicas: [0] }] });
  });

  it('Produce v7 request carries the RecordBatch bytes as they were', async () => {
    const request = kafkajsRequest('produce/v7/request')({
      acks: -1,
      timeout: 1000,
      compression: 0,
      topicData: [{ topic: 't', partitions: [{ partition: 2, firstSequence: 0, messages: [{ key: 'k', value: 'v', timestamp: 1 }] }] }],
    });
    const message = decodeRequestBody(produce, 7, new Reader((await request.encode()).buffer));
    expect(message).toMatchObject({ transactionalId: null, acks: -1, timeoutMs: 1000 });
    const records = (message.topicData as { partitionData: { index: number; records: Buffer }[] }[])[0]!.partitionData[0]!;
    expect(records.index).toBe(2);
    expect(records.records.readInt8(16)).toBe(2); // magic
  });

  it('Fetch v11 request and response', async () => {
    const request = kafkajsRequest('fetch/v11/request')({
      replicaId: -1,
      maxWaitTime: 500,
      minBytes: 1,
      maxBytes: 1000,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        { topic: 't', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: '5', logStartOffset: '-1', maxBytes: 100 }] },
      ],
      rackId: '',
    });
    const message = decodeRequestBody(fetch, 11, new Reader((await request.encode()).buffer));
    expect(message).toMatchObject({
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 1000,
      isolationLevel: 1,
      topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 5, partitionMaxBytes: 100 }] }],
    });
    const body = encodeResponseBody(fetch, 11, {
      responses: [
        {
          topic: 't',
          partitions: [
            {
              partitionIndex: 0,
              highWatermark: 9,
              lastStableOffset: 9,
              logStartOffset: 0,
              abortedTransactions: [],
              records: Buffer.alloc(0),
            },
          ],
        },
      ],
    }).bytes();
    const decoded = await kafkajsRequest('fetch/v11/response').decode(Buffer.from(body));
    expect(decoded.responses[0].partitions[0]).toMatchObject({ partition: 0, highWatermark: '9', messages: [] });
  });

  it('ApiVersions v2 response', async () => {
    const body = encodeResponseBody(apiVersions, 2, { errorCode: 0, apiKeys: [{ apiKey: 3, minVersion: 0, maxVersion: 8 }] }).bytes();
    const decoded = await kafkajsRequest('apiVersions/v2/response').decode(Buffer.from(body));
    expect(decoded.apiVersions).toEqual([{ apiKey: 3, minVersion: 0, maxVersion: 8 }]);
  });
});
