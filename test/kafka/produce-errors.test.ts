/** What a Produce partition answers for each failure (shared/kafka/errors.ts, toProduceError): codes the producers in use retry. */
import { describe, expect, it } from 'vitest';
import { idempotencyInProgress, invalidRequest, throttled } from '../../shared/errors';
import { KafkaError, kafkaErrorCodes, toProduceError } from '../../shared/kafka/errors';

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
