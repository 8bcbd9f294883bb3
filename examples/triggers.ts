/**
 * `npm run example -- triggers`: a Lambda function invoked with a topic's records.
 *
 * Logway starts in this process with the example function examples/functions/process-orders.ts
 * served by the local Lambda Invoke API (as `LOGWAY_FUNCTIONS=process-orders=... npm start`
 * does). A trigger delivers the topic `orders` to it; one order has no amount, the function
 * reports it as a batch item failure, and after two retries it lands in `orders-dlq` with headers
 * saying why, while every other order is charged, in order per partition.
 */
import { join } from 'node:path';
import { Logway } from '../client/src';
import { startLocalRuntime } from '../infra/local/runtime';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  process.env.LOGWAY_FUNCTIONS = `process-orders=${join(import.meta.dirname, 'functions', 'process-orders.ts')}`;
  const runtime = await startLocalRuntime({ port: 0 });
  try {
    console.log(`Logway at ${runtime.url}; functions at ${runtime.lambdaEndpoint}`);
    const logway = new Logway({ url: runtime.url });
    const admin = logway.admin();
    await admin.createTopic({ topic: 'orders', numPartitions: 2 });
    await admin.createTopic({ topic: 'orders-dlq' });
    const { trigger } = await admin.putTrigger('charge-orders', {
      topic: 'orders',
      functionName: 'process-orders',
      batchSize: 10,
      maximumRetryAttempts: 2,
      functionResponseTypes: ['ReportBatchItemFailures'],
      onFailure: { topic: 'orders-dlq' },
    });
    console.log(`trigger ${trigger.name}: ${trigger.topic} -> ${trigger.functionName}, starting at ${trigger.startingPosition}`);

    const producer = logway.producer();
    const orders = [
      { id: 'o-1', amount: 30 },
      { id: 'o-2', amount: 12 },
      { id: 'o-3' }, // no amount: the function cannot process it
      { id: 'o-4', amount: 7 },
      { id: 'o-5', amount: 99 },
    ];
    await producer.send({ topic: 'orders', messages: orders.map((order) => ({ key: order.id, value: JSON.stringify(order) })) });
    console.log(`produced ${orders.length} orders`);

    for (let i = 0; i < 100; i++) {
      const status = await admin.describeTrigger('charge-orders');
      if (status.partitions.every((p) => p.lag === 0)) break;
      await sleep(100);
    }
    const status = await admin.describeTrigger('charge-orders');
    for (const p of status.partitions) {
      console.log(
        `partition ${p.partition}: position ${p.position}, lag ${p.lag}${p.lastError ? `, last error ${p.lastError.code}: ${p.lastError.message}` : ''}`,
      );
    }
    const [dlq] = await logway.fetch({ partitions: [{ topic: 'orders-dlq', partition: 0, offset: 0 }] });
    for (const message of dlq && 'messages' in dlq ? dlq.messages : []) {
      const header = (key: string) => message.headerList.find((h) => h.key === key)?.value?.toString() ?? '';
      console.log(
        `orders-dlq: ${message.value} (from ${header('logway.source.topic')}-${header('logway.source.partition')}@${header('logway.source.offset')}: ${header('logway.error.code')})`,
      );
    }
    await producer.disconnect();
  } finally {
    await runtime.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
