/**
 * DynamoDB throttling reaches clients as 429 with Retry-After, never 500. Faults are injected
 * with a middleware on the real SDK client: the error DynamoDB would return, in place of the call.
 */
import {
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ThrottlingException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import type { MiddlewareStack } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { dynamo } from '../../shared/runtime/aws';
import { useTestService } from '../support/local-service';

const { http } = useTestService(async (http) => {
  await http.post('/v1/topics', { name: 'busy', partitions: 2 });
  await http.post('/v1/topics/busy/records', { records: [{ value: 'a', partition: 0 }] });
});

const $metadata = { httpStatusCode: 400 };

/** Makes the next `times` calls of `command` fail with `error()`. */
async function throttle<T>(command: string, error: () => Error, body: () => Promise<T>, times = 1): Promise<T> {
  let left = times;
  const stack = dynamo().middlewareStack as MiddlewareStack<any, any>;
  stack.add(
    (next, context) => async (args) => {
      if (left > 0 && context.commandName === command) {
        left--;
        throw error();
      }
      return next(args);
    },
    { step: 'initialize', name: 'injectThrottling' },
  );
  try {
    return await body();
  } finally {
    stack.remove('injectThrottling');
  }
}

const expect429 = (response: { status: number; body: any; headers: Headers }) => {
  expect(response.status).toBe(429);
  expect(response.body.error.code).toBe('THROTTLING_QUOTA_EXCEEDED');
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
};

describe('throttling is 429 with Retry-After', () => {
  it('an append transaction cancelled with a ThrottlingError reason', async () => {
    // A keyed request to two partitions: its claim, then one transaction of both partitions' writes.
    const body = {
      records: [
        { value: 'c', partition: 0 },
        { value: 'b', partition: 1 },
      ],
    };
    const response = await throttle(
      'TransactWriteItemsCommand',
      () =>
        new TransactionCanceledException({
          message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ThrottlingError]',
          $metadata,
          CancellationReasons: [{ Code: 'None' }, { Code: 'ThrottlingError', Message: 'Throughput exceeds the current capacity' }],
        }),
      () => http.post('/v1/topics/busy/records', body, { 'Idempotency-Key': 'throttled-1' }),
    );
    expect429(response);
    // Nothing was appended, and the claim was given back: the retry with the same key appends once, at once.
    const retried = await http.post('/v1/topics/busy/records', body, { 'Idempotency-Key': 'throttled-1' });
    expect(retried.status).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    expect(retried.body.offsets.map((o: { partition: number; offset: number }) => [o.partition, o.offset])).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });

  it('a fetch whose read is ProvisionedThroughputExceeded', async () => {
    const response = await throttle(
      'GetItemCommand',
      () =>
        new ProvisionedThroughputExceededException({
          message: 'The level of configured provisioned throughput for the table was exceeded',
          $metadata,
        }),
      () => http.get('/v1/topics/busy/partitions/0/records?offset=0'),
    );
    expect429(response);
  });

  it('a multi-partition fetch whose BatchGetItem is ThrottlingException', async () => {
    const response = await throttle(
      'BatchGetItemCommand',
      () => new ThrottlingException({ message: 'Rate of requests exceeds the allowed throughput', $metadata }),
      () => http.post('/v1/fetch', { partitions: [{ topic: 'busy', partition: 0, offset: 0 }] }),
    );
    expect429(response);
  });

  it('an offset lookup whose Query is RequestLimitExceeded, and a topic read on any route', async () => {
    expect429(
      await throttle(
        'QueryCommand',
        () => new RequestLimitExceeded({ message: 'Throughput exceeds the current throughput limit for your account', $metadata }),
        () => http.get(`/v1/topics/busy/partitions/0/offsets?at=${Date.now() - 60_000}`),
      ),
    );
    expect429(
      await throttle(
        'GetItemCommand',
        () => new ThrottlingException({ message: 'Rate of requests exceeds the allowed throughput', $metadata }),
        () => http.get('/v1/topics/busy'),
      ),
    );
  });
});
