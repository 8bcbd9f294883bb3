/** What Produce and the group APIs answer for a throttled or pending operation (shared/kafka/errors.ts): codes the clients in use retry. */
import { describe, expect, it } from 'vitest';
import { idempotencyInProgress, invalidRequest, throttled, tooManyGroupConflicts } from '../../shared/errors';
import { KafkaError, kafkaErrorCodes, throttleTimeOf, toGroupError, toKafkaError, toProduceError } from '../../shared/kafka/errors';

describe('toProduceError', () => {
  it('answers a throttled append NOT_ENOUGH_REPLICAS (retried, not persisted) and asks the client to wait', () => {
    const answer = toProduceError(throttled('The partition is hot.', {}, { retryAfterSeconds: 2 }));
    expect(answer).toEqual({
      code: kafkaErrorCodes.NOT_ENOUGH_REPLICAS,
      message: expect.stringContaining('The partition is hot.'),
      throttleTimeMs: 2000,
    });
  });

  it('answers a batch whose first attempt is still appending REQUEST_TIMED_OUT (retried, possibly persisted)', () => {
    const answer = toProduceError(idempotencyInProgress('orders', 3));
    expect(answer).toMatchObject({ code: kafkaErrorCodes.REQUEST_TIMED_OUT, throttleTimeMs: 3000 });
  });

  it('keeps every other error as Kafka names it, with no wait', () => {
    expect(toProduceError(new KafkaError('OUT_OF_ORDER_SEQUENCE_NUMBER', 'skipped'))).toEqual({
      code: kafkaErrorCodes.OUT_OF_ORDER_SEQUENCE_NUMBER,
      message: 'skipped',
      throttleTimeMs: 0,
    });
    expect(toProduceError(invalidRequest('bad')).throttleTimeMs).toBe(0);
  });
});

describe('toGroupError', () => {
  it('answers a group too contended to change COORDINATOR_LOAD_IN_PROGRESS, which group clients retry in place', () => {
    const error = tooManyGroupConflicts('orders-readers', 8);
    expect(toGroupError(error)).toEqual({ code: kafkaErrorCodes.COORDINATOR_LOAD_IN_PROGRESS, message: error.message, unexpected: false });
    expect(toGroupError(invalidRequest('bad')).code).toBe(kafkaErrorCodes.INVALID_REQUEST);
  });
});

describe('AWS throttling as the SDK throws it', () => {
  const sdkThrottling = Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
    name: 'ProvisionedThroughputExceededException',
  });

  it('is throttling everywhere: a wait for Fetch, a retriable code for Produce, never UNKNOWN_SERVER_ERROR', () => {
    expect(throttleTimeOf(sdkThrottling)).toBe(1000);
    expect(toProduceError(sdkThrottling)).toMatchObject({ code: kafkaErrorCodes.NOT_ENOUGH_REPLICAS, throttleTimeMs: 1000 });
    expect(toGroupError(sdkThrottling).code).toBe(kafkaErrorCodes.COORDINATOR_LOAD_IN_PROGRESS);
    expect(toKafkaError(sdkThrottling)).toMatchObject({ code: kafkaErrorCodes.THROTTLING_QUOTA_EXCEEDED, unexpected: false });
    expect(throttleTimeOf(new Error('other'))).toBeUndefined();
  });
});
