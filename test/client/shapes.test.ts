/**
 * The client takes the service's JSON shapes and request limits from shared/ (types only, and
 * import-free constants, so nothing of the server is bundled). These checks make a drift
 * between what the service answers and what the client reads a compile error (`npm test` runs
 * tsc) or a failed test.
 */
import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as client from '../../client/src/index';
import { hasErrorCode, LogwayApiError } from '../../client/src/errors';
import { recordSize as clientRecordSize, toWireRecord, type ProducerMessage } from '../../client/src/records';
import { maxPartitionsPerRequest as clientMaxPartitions, defaultMaxMessageBytes } from '../../client/src/producer';
import type { MultiFetchResult, PartitionFetchResult } from '../../shared/log/fetch';
import { maxPartitionsPerRequest as serviceMaxPartitions, type ProducedOffset, type ProduceResponse } from '../../shared/log/produce';
import { recordSize as serviceRecordSize, toRecordBytes, type ProducedRecord } from '../../shared/log/json';
import { requestLimits } from '../../shared/config';
import { type ErrorCode, isErrorCode } from '../../shared/error-codes';
import { topicConfigDefaults } from '../../shared/topics/configs';
import type { TopicDescription, listTopicsOperation } from '../../shared/topics/operations';

describe('shapes the client shares with the service', () => {
  it('a record the produce schema accepts is a client WireRecord', () => {
    expectTypeOf<ProducedRecord>().toExtend<client.WireRecord>();
  });

  it('what the service answers fits what the client reads', () => {
    expectTypeOf<ProducedOffset>().toEqualTypeOf<client.ProducedOffset>();
    expectTypeOf<ProduceResponse['offsets'][number]>().toExtend<client.ProducedOffset>();
    expectTypeOf<Pick<TopicDescription, 'name' | 'topicId' | 'partitions'>>().toExtend<
      Pick<client.TopicDescription, 'name' | 'topicId' | 'partitions'>
    >();
    expectTypeOf<TopicDescription['config']>().toExtend<client.TopicConfig>();
    expectTypeOf<Awaited<ReturnType<typeof listTopicsOperation>>['topics'][number]>().toEqualTypeOf<client.TopicListing>();
    expectTypeOf<Omit<PartitionFetchResult, 'records'>>().toEqualTypeOf<
      Omit<Extract<client.WireFetchResult, { records: unknown }>, 'records' | 'topic' | 'partition'>
    >();
    expectTypeOf<Extract<MultiFetchResult, { error: unknown }>>().toExtend<Extract<client.WireFetchResult, { error: unknown }>>();
  });
});

describe('limits and defaults the client takes from shared/config.ts', () => {
  it('the partitions per produce request are the service’s', () => {
    expect(clientMaxPartitions).toBe(requestLimits.maxPartitionsPerRequest);
    expect(serviceMaxPartitions).toBe(requestLimits.maxPartitionsPerRequest);
  });

  it('the fallback max.message.bytes is the registry’s default', () => {
    expect(defaultMaxMessageBytes).toBe(topicConfigDefaults['max.message.bytes']);
  });
});

describe('error codes the client shares with the service', () => {
  it('hasErrorCode matches the service’s codes (and only LogwayApiErrors)', () => {
    const error = new LogwayApiError(409, 'FENCED_MEMBER_EPOCH', 'fenced');
    expect(hasErrorCode(error, 'UNKNOWN_MEMBER_ID', 'FENCED_MEMBER_EPOCH')).toBe(true);
    expect(hasErrorCode(error, 'STALE_MEMBER_EPOCH')).toBe(false);
    expect(hasErrorCode(new Error('FENCED_MEMBER_EPOCH'), 'FENCED_MEMBER_EPOCH')).toBe(false);
    expectTypeOf(hasErrorCode).parameter(1).toEqualTypeOf<ErrorCode>();
    expect(isErrorCode('FENCED_MEMBER_EPOCH')).toBe(true);
  });
});

describe('the record size the client checks before sending', () => {
  const bytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
  const text = fc.string({ unit: 'grapheme', maxLength: 20 });
  const headerValue = fc.oneof(text, bytes, fc.constant(null));
  const message: fc.Arbitrary<ProducerMessage> = fc.record(
    {
      key: fc.oneof(text, bytes, fc.constant(null)),
      value: fc.oneof(text, bytes, fc.constant(null), fc.jsonValue({ maxDepth: 2 })),
      headers: fc.oneof(
        fc.array(fc.record({ key: text, value: headerValue }), { maxLength: 4 }),
        fc.dictionary(text, fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 })), { maxKeys: 3 }),
      ),
    },
    { requiredKeys: ['value'] },
  );

  it('is the service’s rule (key, value, header keys and values), for every message', () => {
    fc.assert(
      fc.property(message, (m) => {
        const wire = JSON.parse(JSON.stringify(toWireRecord(m))) as ProducedRecord;
        expect(clientRecordSize(m)).toBe(serviceRecordSize(toRecordBytes(wire)));
      }),
    );
  });
});
